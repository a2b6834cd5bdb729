// Package store owns pollerd's durable state in one SQLite file
// (state_dir/pollerd.db): target states and counters, incidents, the outbox
// of deliveries, and probe history (per minute for 48 h, per hour and per day
// for the retention). It
// applies its embedded migrations at open, refuses files it cannot trust
// (corrupt, or written by a newer pollerd) with one clear error, and batches
// the per-probe writes so a probe never costs a transaction.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// FileName is the database's name inside the state directory.
const FileName = "pollerd.db"

// Open's faults. Each is wrapped in an error that names the path, so the
// caller can print it as is and test for it with errors.Is.
var (
	// ErrNotWritable means the state directory cannot be created or written.
	ErrNotWritable = errors.New("not writable")
	// ErrCorrupt means the file is not a SQLite database or fails its
	// integrity check. pollerd never replaces it with a fresh one: an
	// operator decides.
	ErrCorrupt = errors.New("database is corrupt")
	// ErrNewerSchema means the file was migrated by a newer pollerd, whose
	// schema this binary cannot be sure to read or write correctly.
	ErrNewerSchema = errors.New("database schema is newer than this pollerd")
)

// Options configure a DB. The zero value is usable.
type Options struct {
	// Now returns the current time; tests set it. Default time.Now.
	Now func() time.Time
	// FlushInterval is how often Run writes the buffered probe records.
	// Default 1s.
	FlushInterval time.Duration
	// Retention is how long history and delivered outbox rows are kept.
	// Default 90 days.
	Retention time.Duration
	// Logger receives write failures (once per distinct error) and
	// recoveries. Default: no logging.
	Logger *zap.Logger
	// MaxBuckets caps the (target, minute) buckets buffered while the disk
	// cannot be written; beyond it new buckets are dropped and counted.
	// Default 100,000.
	MaxBuckets int

	// fullCheckMaxBytes overrides fullCheckMaxBytes in tests.
	fullCheckMaxBytes int64
}

func (o *Options) setDefaults() {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.FlushInterval <= 0 {
		o.FlushInterval = time.Second
	}
	if o.Retention <= 0 {
		o.Retention = 90 * 24 * time.Hour
	}
	if o.Logger == nil {
		o.Logger = zap.NewNop()
	}
	if o.MaxBuckets <= 0 {
		o.MaxBuckets = 100_000
	}
}

// closeFlushTimeout bounds the final flush in Close and at the end of Run, so
// a dead disk cannot hold up shutdown.
const closeFlushTimeout = 5 * time.Second

// DB is pollerd's store. Its methods are safe for concurrent use. The caller
// owns the background loop: it runs Run in a goroutine, cancels it, then
// calls Close.
type DB struct {
	sql  *sql.DB
	path string
	opts Options
	log  *zap.Logger

	buf     buffer       // probe records not yet flushed
	flushMu sync.Mutex   // one flush at a time
	lastErr atomic.Value // errBox: the last write error, or nil
	errText string       // last logged write error; guarded by flushMu

	closeOnce sync.Once
	closeErr  error
}

// errBox lets atomic.Value hold a nil error.
type errBox struct{ err error }

// Open opens (creating it if needed) dir/pollerd.db, checks it, and applies
// the migrations it lacks. dir is created with mode 0700 when missing.
func Open(ctx context.Context, dir string, opts Options) (*DB, error) {
	return open(ctx, dir, opts, migrations)
}

// open is Open with the migrations to apply, so tests can build a database
// at an older schema.
func open(ctx context.Context, dir string, opts Options, migs []migration) (*DB, error) {
	if dir == "" {
		return nil, errors.New("state dir: empty path")
	}
	opts.setDefaults()
	if err := checkWritable(dir); err != nil {
		return nil, &openError{msg: fmt.Sprintf("state dir %s: not writable: %v", dir, err), kind: ErrNotWritable, err: err}
	}
	path := filepath.Join(dir, FileName)
	if f, err := os.OpenFile(path, os.O_RDWR, 0); err == nil {
		f.Close()
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, &openError{msg: fmt.Sprintf("database %s: not writable: %v", path, err), kind: ErrNotWritable, err: err}
	}

	sqldb, err := sql.Open("sqlite", dsn(path))
	if err != nil {
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	db := &DB{sql: sqldb, path: path, opts: opts, log: opts.Logger}
	db.buf.init(opts.MaxBuckets)
	db.lastErr.Store(errBox{})
	if err := db.check(ctx); err != nil {
		sqldb.Close()
		return nil, err
	}
	if err := db.migrate(ctx, migs); err != nil {
		sqldb.Close()
		return nil, err
	}
	return db, nil
}

// dsn sets, on every connection the pool opens: a busy timeout so a writer
// waits for another instead of failing; WAL so readers (the status API) do
// not block the writer; foreign keys; NORMAL sync, which in WAL mode loses at
// most the last transactions on power loss, never consistency; and
// IMMEDIATE transactions, so a transaction that reads then writes takes the
// write lock up front instead of failing with SQLITE_BUSY halfway.
//
// The path is escaped for SQLite's URI syntax, where %, ? and # are special.
func dsn(path string) string {
	return "file:" + uriPathEscaper.Replace(path) +
		"?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)" +
		"&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)&_txlock=immediate"
}

var uriPathEscaper = strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23")

// checkWritable creates dir if needed and proves it writable by creating and
// removing a probe file: SQLite would otherwise fail later, and less clearly,
// when it first creates its WAL or journal.
func checkWritable(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, ".pollerd-write-probe-*")
	if err != nil {
		return err
	}
	name := f.Name()
	cerr := f.Close()
	if err := os.Remove(name); err != nil {
		return err
	}
	return cerr
}

// fullCheckMaxBytes is the largest database that check reads whole: at
// ~60 MB/s for quick_check on a small VM, about half a second. That covers a
// full 90-day history of about 130 targets.
const fullCheckMaxBytes = 32 << 20

// historyTables grow with the number of targets and the retention; check
// reads them whole only when the file is small.
var historyTables = map[string]bool{"history": true, "history_hourly": true, "history_daily": true}

// check connects (which applies the DSN pragmas, the first reads of the
// file), reads the schema, and runs an integrity check whose cost does not
// grow with history, so a damaged file stops pollerd at start with its path
// rather than failing one write at a time later:
//
//   - a file up to fullCheckMaxBytes gets PRAGMA quick_check, all of it;
//   - a larger one gets PRAGMA integrity_check of every table but the
//     history tables (state, incidents, outbox: what alerting rests on,
//     whose size follows the targets and incidents, not the history), and
//     a read of the first and last rows of each history table, which walks
//     their b-trees' edges. Damage inside the history pages is then found
//     when a query or the rollup reads them (SQLITE_CORRUPT, logged and
//     shown on /readyz), not at start.
func (db *DB) check(ctx context.Context) error {
	corrupt := func(err error) error {
		return &openError{msg: fmt.Sprintf("database %s is corrupt: %v", db.path, err), kind: ErrCorrupt, err: err}
	}
	fail := func(what string, err error) error {
		if isCorrupt(err) {
			return corrupt(err)
		}
		return fmt.Errorf("%s database %s: %w", what, db.path, err)
	}
	if err := db.sql.PingContext(ctx); err != nil {
		return fail("open", err)
	}
	var pages, pageSize int64
	if err := db.sql.QueryRowContext(ctx, `PRAGMA page_count`).Scan(&pages); err != nil {
		return fail("check", err)
	}
	if err := db.sql.QueryRowContext(ctx, `PRAGMA page_size`).Scan(&pageSize); err != nil {
		return fail("check", err)
	}
	tables, err := db.tables(ctx)
	if err != nil {
		return fail("check", err)
	}
	maxBytes := db.opts.fullCheckMaxBytes
	if maxBytes == 0 {
		maxBytes = fullCheckMaxBytes
	}
	var problems []string
	if pages*pageSize <= maxBytes {
		if problems, err = db.integrity(ctx, `PRAGMA quick_check`); err != nil {
			return fail("check", err)
		}
	} else {
		for _, t := range tables {
			if historyTables[t] {
				if err := db.touchEdges(ctx, t); err != nil {
					return fail("check", err)
				}
				continue
			}
			p, err := db.integrity(ctx, `PRAGMA integrity_check(`+quoteIdent(t)+`)`)
			if err != nil {
				return fail("check", err)
			}
			problems = append(problems, p...)
		}
	}
	if len(problems) > 0 {
		return corrupt(fmt.Errorf("integrity check: %v", problems[:min(len(problems), 3)]))
	}
	return nil
}

// tables lists the database's tables, which reads the schema.
func (db *DB) tables(ctx context.Context) ([]string, error) {
	return queryStrings(ctx, db.sql,
		`SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name`)
}

// integrity runs an integrity_check or quick_check pragma and returns the
// problems it lists ("ok" is none).
func (db *DB) integrity(ctx context.Context, pragma string) ([]string, error) {
	lines, err := queryStrings(ctx, db.sql, pragma)
	return slices.DeleteFunc(lines, func(s string) bool { return s == "ok" }), err
}

// touchEdges reads the first and the last row of a history table: the pages
// on the b-tree's left and right edges, a few per table.
func (db *DB) touchEdges(ctx context.Context, table string) error {
	for _, order := range []string{"ASC", "DESC"} {
		var target string
		err := db.sql.QueryRowContext(ctx,
			`SELECT target FROM `+quoteIdent(table)+` ORDER BY target `+order+` LIMIT 1`).Scan(&target)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
	}
	return nil
}

func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// isCorrupt reports whether err is SQLite saying the file is not a database
// or is malformed.
func isCorrupt(err error) bool {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return false
	}
	switch se.Code() & 0xff {
	case sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB:
		return true
	}
	return false
}

// openError is an Open fault: its message is complete on its own (what and
// where), and it unwraps to both its sentinel and its cause.
type openError struct {
	msg  string
	kind error
	err  error
}

func (e *openError) Error() string { return e.msg }
func (e *openError) Unwrap() []error {
	if e.err == nil {
		return []error{e.kind}
	}
	return []error{e.kind, e.err}
}

// Path returns the database file's path.
func (db *DB) Path() string { return db.path }

// Close flushes the buffered probe records (for at most 5 s) and closes the
// database. Stop Run before calling it. It is safe to call more than once.
func (db *DB) Close() error {
	db.closeOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), closeFlushTimeout)
		defer cancel()
		ferr := db.Flush(ctx)
		if ferr != nil {
			ferr = fmt.Errorf("final flush: %w", ferr)
		}
		db.closeErr = errors.Join(ferr, db.sql.Close())
	})
	return db.closeErr
}

// now returns the clock's time in UTC.
func (db *DB) now() time.Time { return db.opts.Now().UTC() }
