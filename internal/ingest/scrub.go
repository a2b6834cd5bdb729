package ingest

import (
	"regexp"
	"strings"

	"github.com/pollerd/pollerd/internal/alert"
)

// redacted replaces every secret value.
const redacted = "[redacted]"

// secretWords make a field, header or query parameter secret when its name
// contains one of them, whatever the case. Over-redacting ("author",
// "keyboard") costs a word in an alert; under-redacting leaks a credential.
var secretWords = []string{
	"token", "secret", "password", "passwd", "pwd", "auth", "key",
	"session", "jwt", "cookie", "credential", "signature",
}

// secretName reports whether a field, header or parameter named name holds
// a secret (Authorization, Cookie, X-Api-Key, access_token, …).
func secretName(name string) bool {
	if len(name) > 256 {
		return true // no honest field name is this long
	}
	lower := strings.ToLower(name)
	for _, w := range secretWords {
		if strings.Contains(lower, w) {
			return true
		}
	}
	return false
}

// secretNamePattern matches a name holding one of secretWords.
var secretNamePattern = `[a-z0-9_\-.]*(?:` + strings.Join(secretWords, "|") + `)[a-z0-9_\-.]*`

// Text rules, applied in order to free text (a report's message, an opaque
// description, a URL). Each pass only replaces, so a later pass never
// undoes an earlier one.
var (
	// scheme://user:pass@host → scheme://[redacted]@host
	reUserinfo = regexp.MustCompile(`(?i)([a-z][a-z0-9+.\-]*://)[^/\s@?#"'<>\\]*@`)
	// A header line: everything after "Authorization:" up to the line end.
	reHeaderLine = regexp.MustCompile(`(?i)\b((?:proxy-)?authorization|(?:set-)?cookie|x-api-key|api-key)(\s*:[ \t]*)([^\r\n\\]+)`)
	// name=value, name: value, "name":"value", \"name\":\"value\" where the
	// name looks secret. Group 3 is the value, quoted or bare.
	reKeyValue = regexp.MustCompile(`(?i)(` + secretNamePattern + `)((?:\\?["'])?\s*[:=]\s*)` +
		`(\\"(?:[^"\\]|\\[^"])*(?:\\"|$)|"(?:[^"\\]|\\.)*(?:"|$)|'[^']*(?:'|$)|(?:bearer\s+|basic\s+)?[^\s"'\\&,;<>]+)`)
	// Authorization schemes wherever they appear.
	reBearer = regexp.MustCompile(`(?i)\b(bearer)(?:\s+|%20|\+)[^\s"'\\&,;<>]+|\b(basic)\s+[A-Za-z0-9+/]{8,}={0,2}`)
	// JWT-shaped strings (base64url of `{"` starts every JWT header).
	reJWT = regexp.MustCompile(`eyJ[A-Za-z0-9_\-]{6,}(?:\.[A-Za-z0-9_\-]*)*`)
)

// scrubText removes secrets from free text by name and by shape. Each rule
// runs only when the text holds what the rule needs to match (cheap
// substring checks), so ordinary messages and paths skip the regexps.
func scrubText(s string) string {
	if s == "" {
		return s
	}
	lower := strings.ToLower(s)
	if strings.Contains(s, "://") && strings.Contains(s, "@") {
		s = reUserinfo.ReplaceAllString(s, "${1}"+redacted+"@")
	}
	if hasSecretWord(lower) && strings.ContainsAny(s, ":=") {
		s = reHeaderLine.ReplaceAllString(s, "${1}${2}"+redacted)
		s = replaceKeyValues(s)
	}
	if strings.Contains(lower, "bearer") || strings.Contains(lower, "basic") {
		s = reBearer.ReplaceAllStringFunc(s, func(m string) string {
			scheme, _, _ := strings.Cut(m, " ")
			if len(scheme) > 6 { // "Bearer%20x", "Bearer+x"
				scheme = m[:6]
			}
			return scheme + " " + redacted
		})
	}
	if strings.Contains(s, "eyJ") {
		s = reJWT.ReplaceAllString(s, redacted)
	}
	return s
}

// hasSecretWord reports whether lower-cased text holds a word that can make
// a name secret (the stems of secretNamePattern).
func hasSecretWord(lower string) bool {
	for _, w := range secretWords {
		if strings.Contains(lower, w) {
			return true
		}
	}
	return false
}

// replaceKeyValues redacts the values of secret-named pairs, keeping the
// value's quotes so JSON-looking text still reads as JSON.
func replaceKeyValues(s string) string {
	idx := reKeyValue.FindAllStringSubmatchIndex(s, -1)
	if idx == nil {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	last := 0
	for _, m := range idx {
		vs, ve := m[6], m[7]
		b.WriteString(s[last:vs])
		v := s[vs:ve]
		switch {
		case strings.HasPrefix(v, `\"`):
			b.WriteString(`\"` + redacted + `\"`)
		case strings.HasPrefix(v, `"`):
			b.WriteString(`"` + redacted + `"`)
		case strings.HasPrefix(v, `'`):
			b.WriteString(`'` + redacted + `'`)
		default:
			b.WriteString(redacted)
		}
		last = ve
	}
	b.WriteString(s[last:])
	return b.String()
}

// scrubWindow scrubs at most window bytes of s, then cuts the result to max
// bytes with a visible marker. Before scrubbing, a cut text loses its last
// partial word: a secret split at the window's edge might no longer match
// any rule, so it is dropped whole.
func scrubWindow(s string, window, max int) string {
	if len(s) > window {
		s = s[:window]
		if i := strings.LastIndexAny(s, " \t\r\n"); i >= 0 {
			s = s[:i]
		} else {
			s = ""
		}
		s += " …"
	}
	return alert.Truncate(scrubText(s), max)
}

// scrubJSON redacts, in a decoded JSON value, every value held under a
// secret-named key (the whole subtree). Strings, keys included, are
// scrubbed later, as text, once the value is encoded again.
func scrubJSON(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, val := range t {
			if secretName(k) {
				t[k] = redacted
				continue
			}
			t[k] = scrubJSON(val)
		}
	case []any:
		for i := range t {
			t[i] = scrubJSON(t[i])
		}
	}
	return v
}
