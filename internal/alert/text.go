package alert

import (
	"strings"
	"unicode/utf8"
)

// truncMarker ends a cut text, so a reader sees that something is missing.
const truncMarker = "… [truncated]"

// Truncate cuts s to at most max bytes, on a rune boundary and never inside
// an escape entity (&amp; &lt; &gt;) a channel may have put in, ending it
// with a visible marker when it cut anything.
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
