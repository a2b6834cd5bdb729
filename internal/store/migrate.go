package store

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"

	"go.uber.org/zap"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// migration is one embedded file, migrations/NNNN_name.sql; its version is
// NNNN. Versions start at 1 and have no gaps.
type migration struct {
	version int
	name    string
	sql     string
}

// migrations is every embedded migration in version order.
var migrations = mustLoadMigrations(migrationFS)

func mustLoadMigrations(fsys fs.FS) []migration {
	migs, err := loadMigrations(fsys)
	if err != nil {
		panic(err) // embedded at build time: a bad file is a programming error
	}
	return migs
}

func loadMigrations(fsys fs.FS) ([]migration, error) {
	names, err := fs.Glob(fsys, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	var migs []migration
	for _, name := range names {
		base := path.Base(name)
		prefix, _, ok := strings.Cut(base, "_")
		v, err := strconv.Atoi(prefix)
		if !ok || err != nil || v < 1 {
			return nil, fmt.Errorf("migration %s: name must be NNNN_name.sql", base)
		}
		buf, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, err
		}
		migs = append(migs, migration{version: v, name: base, sql: string(buf)})
	}
	sort.Slice(migs, func(i, j int) bool { return migs[i].version < migs[j].version })
	for i, m := range migs {
		if m.version != i+1 {
			return nil, fmt.Errorf("migration %s: expected version %d", m.name, i+1)
		}
	}
	return migs, nil
}

// SchemaVersion is the schema version this binary migrates to.
func SchemaVersion() int { return len(migrations) }

// migrate refuses a database newer than migs, then applies the missing
// migrations in order, each with its version row in one transaction, so a
// failed migration leaves the previous version intact.
func (db *DB) migrate(ctx context.Context, migs []migration) error {
	if _, err := db.sql.ExecContext(ctx,
		`CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY)`); err != nil {
		return fmt.Errorf("migrate database %s: %w", db.path, err)
	}
	var current int
	if err := db.sql.QueryRowContext(ctx,
		`SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&current); err != nil {
		return fmt.Errorf("migrate database %s: %w", db.path, err)
	}
	if current > len(migs) {
		return &openError{
			msg: fmt.Sprintf("database %s has schema version %d, newer than this pollerd (%d): refusing to start",
				db.path, current, len(migs)),
			kind: ErrNewerSchema,
		}
	}
	for _, m := range migs[current:] {
		if current > 0 { // an upgrade: some rewrite the history, which takes a while once
			db.log.Info("migrating database", zap.String("path", db.path), zap.String("migration", m.name))
		}
		if err := db.applyMigration(ctx, m); err != nil {
			return fmt.Errorf("migrate database %s: %s: %w", db.path, m.name, err)
		}
		db.log.Info("database migrated", zap.String("path", db.path), zap.Int("version", m.version))
	}
	return nil
}

func (db *DB) applyMigration(ctx context.Context, m migration) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, m.sql); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version) VALUES (?)`, m.version)
		return err
	})
}

// inTx runs fn in a transaction and commits it, or rolls back when fn fails.
func (db *DB) inTx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := db.sql.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit()
}
