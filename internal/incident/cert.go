package incident

import "time"

// CertNotice records the certificate notices sent for a target: the
// certificate (by its NotAfter) and the smallest cert_warn threshold
// announced for it. One row per target, written with the notice's outbox
// rows, so a notice is neither lost nor repeated across a restart; a
// certificate with another NotAfter (renewed) starts afresh.
type CertNotice struct {
	Target    string
	NotAfter  time.Time
	Threshold time.Duration
	At        time.Time // when the notice was decided
}
