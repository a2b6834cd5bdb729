package alert

import "time"

// Report is one accepted client report, already scrubbed and fingerprinted by
// ingest. Every string in it is untrusted text with secrets removed, not yet
// escaped for mrkdwn.
type Report struct {
	Service     string
	Channels    []string // narrows the configured channels; empty: all
	Fingerprint string   // stable dedup key
	Method      string   // GET
	Host        string   // may be empty (browsers send relative URLs)
	Path        string   // normalised: /api/stores/:id
	Status      int      // 0 when no response
	StatusText  string   // Bad Gateway
	Code        string   // ERR_BAD_RESPONSE, ECONNREFUSED
	Message     string   // Request failed with status code 502
	Opaque      string   // the scrubbed description when it was not an axios error
	At          time.Time
}
