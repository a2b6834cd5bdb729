package alert

import (
	"strings"
	"unicode/utf8"
)

var mrkdwnEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

// EscapeMrkdwn escapes untrusted text for Slack mrkdwn, so that it can never
// mention @channel/@here (<!channel>), a user (<@U…>) or forge a link (<url|x>).
// Slack asks for exactly these three characters to be escaped.
func EscapeMrkdwn(s string) string { return mrkdwnEscaper.Replace(s) }

// truncMarker ends a cut text, so a reader sees that something is missing.
const truncMarker = "… [truncated]"

// Truncate cuts s to at most max bytes, on a rune boundary and never inside
// an escape entity (&amp; &lt; &gt;), ending it with a visible marker when it
// cut anything.
func Truncate(s string, max int) string {
	if len(s) <= max {
		return s
	}
	cut := max - len(truncMarker)
	if cut < 0 {
		cut = 0
	}
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	// Do not leave half an entity such as "&am".
	if i := strings.LastIndexByte(s[:cut], '&'); i >= 0 && !strings.Contains(s[i:cut], ";") && cut-i < len("&amp;") {
		cut = i
	}
	return s[:cut] + truncMarker
}
