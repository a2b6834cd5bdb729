package probe

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/big"
	"strconv"
	"strings"
)

// checkJSON decodes body once and checks every expectation against it.
func checkJSON(want []JSONExpect, body []byte) string {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber() // keep numbers as written: 1.10 stays 1.10, big ids stay exact
	var doc any
	if err := dec.Decode(&doc); err != nil {
		return "body is not json"
	}
	for _, w := range want {
		v, ok := lookup(doc, w.Path)
		if !ok {
			return fmt.Sprintf("json %s missing", w.Path)
		}
		got := jsonString(v)
		if !jsonEqual(v, got, w.Value) {
			return fmt.Sprintf("json %s = %q, want %q", w.Path, truncate(got), truncate(w.Value))
		}
	}
	return ""
}

// lookup walks a dotted path. Object keys match case-insensitively because
// config keys arrive lower-cased (viper folds them), preferring an exact match;
// a numeric segment indexes an array. An empty path is the whole document.
func lookup(v any, path string) (any, bool) {
	if path == "" {
		return v, true
	}
	for seg := range strings.SplitSeq(path, ".") {
		switch node := v.(type) {
		case map[string]any:
			next, ok := node[seg]
			if !ok {
				next, ok = foldKey(node, seg)
			}
			if !ok {
				return nil, false
			}
			v = next
		case []any:
			i, err := strconv.Atoi(seg)
			if err != nil || i < 0 || i >= len(node) {
				return nil, false
			}
			v = node[i]
		default:
			return nil, false
		}
	}
	return v, true
}

// foldKey finds seg among m's keys ignoring case. When several keys fold to
// seg, the smallest wins, so the answer does not depend on map order.
func foldKey(m map[string]any, seg string) (any, bool) {
	best, found := "", false
	for k := range m {
		if strings.EqualFold(k, seg) && (!found || k < best) {
			best, found = k, true
		}
	}
	if !found {
		return nil, false
	}
	return m[best], true
}

// jsonString is the string form a value is compared as: strings unquoted,
// numbers as written in the body, true/false, null, and compact JSON for
// objects and arrays.
func jsonString(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case string:
		return x
	case json.Number:
		return x.String()
	case bool:
		return strconv.FormatBool(x)
	default:
		b, err := json.Marshal(x)
		if err != nil {
			return fmt.Sprint(x)
		}
		return string(b)
	}
}

// jsonEqual compares a value's string form with the expected one; a number
// also equals any numeral of the same exact value (1, 1.0, 1e0), since the
// config cannot know how the server formats it.
func jsonEqual(v any, got, want string) bool {
	if got == want {
		return true
	}
	if _, ok := v.(json.Number); !ok {
		return false
	}
	want = strings.TrimSpace(want)
	if len(got) > maxNumeral || len(want) > maxNumeral {
		return false
	}
	if strings.ContainsAny(got+want, "eE") {
		// An exponent could ask big.Rat for 10^huge; floats are exact enough here.
		a, errA := strconv.ParseFloat(got, 64)
		b, errB := strconv.ParseFloat(want, 64)
		return errA == nil && errB == nil && a == b
	}
	a, okA := new(big.Rat).SetString(got)
	b, okB := new(big.Rat).SetString(want)
	return okA && okB && a.Cmp(b) == 0
}

// maxNumeral bounds the numerals compared by value; a longer one from a
// probed body only compares as a string.
const maxNumeral = 64
