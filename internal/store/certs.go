package store

import (
	"context"
	"fmt"
	"time"

	"github.com/pollerd/pollerd/internal/incident"
)

// CertNotices returns the certificate notices recorded per target (Commit
// writes them), for the alert pipeline's certificate watch at start.
func (db *DB) CertNotices(ctx context.Context) ([]incident.CertNotice, error) {
	rows, err := db.sql.QueryContext(ctx,
		`SELECT target, not_after, threshold_ms, noticed_at FROM cert_notices ORDER BY target`)
	if err != nil {
		return nil, fmt.Errorf("read cert notices: %w", err)
	}
	defer rows.Close()
	var out []incident.CertNotice
	for rows.Next() {
		var n incident.CertNotice
		var notAfter, threshold, at int64
		if err := rows.Scan(&n.Target, &notAfter, &threshold, &at); err != nil {
			return nil, fmt.Errorf("read cert notices: %w", err)
		}
		n.NotAfter, n.Threshold, n.At = timeOf(notAfter), time.Duration(threshold)*time.Millisecond, timeOf(at)
		out = append(out, n)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read cert notices: %w", err)
	}
	return out, nil
}
