package config

import "strings"

// expand replaces ${VAR}, ${VAR:-default} and ${VAR:-} in s, the value at
// path, using p.lookup. As in the shell, ":-" applies the default when VAR
// is unset or empty; a bare ${VAR} that is unset is a problem naming VAR
// (never its value). Only "${" is special: $VAR and $$ stay as written, so
// a secret holding "$" needs no escaping. Values from POLLERD_* variables
// are used as they are.
func (p *parser) expand(path, s string) (string, bool) {
	if p.literal[path] || !strings.Contains(s, "${") {
		return s, true
	}
	var b strings.Builder
	ok := true
	for {
		i := strings.Index(s, "${")
		if i < 0 {
			b.WriteString(s)
			break
		}
		b.WriteString(s[:i])
		end := strings.IndexByte(s[i:], '}')
		if end < 0 {
			p.add(path, "unterminated ${ (write ${NAME} or ${NAME:-default})")
			return "", false
		}
		name, def, hasDef := strings.Cut(s[i+2:i+end], ":-")
		s = s[i+end+1:]
		if !validVarName(name) {
			p.add(path, "${%s}: not a variable name", name)
			ok = false
			continue
		}
		val, found := p.lookup(name)
		switch {
		case hasDef && val == "":
			val = def
		case !found:
			p.add(path, "${%s} is not set (write ${%s:-} to allow empty)", name, name)
			ok = false
		}
		b.WriteString(val)
	}
	return b.String(), ok
}

// validVarName reports whether name is a shell-style variable name.
func validVarName(name string) bool {
	if name == "" {
		return false
	}
	for i, r := range name {
		switch {
		case r == '_', 'A' <= r && r <= 'Z', 'a' <= r && r <= 'z':
		case '0' <= r && r <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}
