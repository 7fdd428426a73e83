package royalpay

import (
	"bytes"
	"encoding/json"
	"errors"
	"unicode/utf8"
)

// The answers the SDK reads most (a payment object, a callback) are read in
// one pass over the body instead of through a map of json.RawMessage and a
// json.Unmarshal per field: json.Valid checks the whole body first (nothing
// is read from a body it refuses), then members walks the object it now
// knows is well-formed. What is read is what the map would hold: keys by
// their exact unescaped text, the last of duplicate keys, values as they
// were sent.

// errNotObject is the error of a valid JSON value that is not an object.
var errNotObject = errors.New("not a JSON object")

// isSpace reports the white space JSON allows between tokens.
func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func skipSpace(b []byte, i int) int {
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	return i
}

// stringEnd returns the index just past the closing quote of the JSON
// string that starts at b[i] (a quote), and whether it holds an escape.
func stringEnd(b []byte, i int) (int, bool) {
	escaped := false
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			escaped = true
			j++
		case '"':
			return j + 1, escaped
		}
	}
	return len(b), escaped
}

// valueEnd returns the index just past the JSON value that starts at b[i];
// b is valid JSON.
func valueEnd(b []byte, i int) int {
	switch b[i] {
	case '"':
		end, _ := stringEnd(b, i)
		return end
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				end, _ := stringEnd(b, j)
				j = end - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1
				}
			}
		}
		return len(b)
	}
	j := i
	for j < len(b) && b[j] != ',' && b[j] != '}' && b[j] != ']' && !isSpace(b[j]) {
		j++
	}
	return j
}

// members calls f with the key and the raw value of each member of the
// JSON object obj, in order. obj must be valid JSON (json.Valid) and an
// object (first non-space byte '{'). A key is passed unescaped: one that
// holds an escape or bytes that are not UTF-8 is read by encoding/json, as
// a map key would be.
func members(obj []byte, f func(key []byte, val []byte)) {
	i := skipSpace(obj, 0) + 1
	i = skipSpace(obj, i)
	for i < len(obj) && obj[i] == '"' {
		end, escaped := stringEnd(obj, i)
		key := obj[i+1 : end-1]
		if escaped || !utf8.Valid(key) {
			var s string
			_ = json.Unmarshal(obj[i:end], &s) // valid: cannot fail
			key = []byte(s)
		}
		i = skipSpace(obj, skipSpace(obj, end)+1) // past the colon
		vend := valueEnd(obj, i)
		f(key, obj[i:vend])
		i = skipSpace(obj, vend)
		if i < len(obj) && obj[i] == ',' {
			i = skipSpace(obj, i+1)
			continue
		}
		return
	}
}

// flexOf is the text of a raw JSON value, as flex.UnmarshalJSON reads it:
// a string unescaped, a number or a boolean as written, null (or nil, an
// absent member) empty; an object or an array is an error. raw is valid
// JSON.
func flexOf(raw []byte) (flex, error) {
	if len(raw) == 0 {
		return "", nil
	}
	switch c := raw[0]; {
	case c == '"':
		inner := raw[1 : len(raw)-1]
		if bytes.IndexByte(inner, '\\') < 0 && utf8.Valid(inner) {
			return flex(inner), nil
		}
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return "", err
		}
		return flex(s), nil
	case c == 'n':
		return "", nil
	case c == '-' || (c >= '0' && c <= '9') || c == 't' || c == 'f':
		return flex(raw), nil
	}
	return "", errors.New("expected a string or a number")
}

// invalidJSON is the error of a body json.Valid refused, as a decoder
// reading one value sees it: the syntax error, or data after the value.
func invalidJSON(body []byte) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	var raw json.RawMessage
	if err := dec.Decode(&raw); err != nil {
		return err
	}
	return errors.New("data after the JSON object")
}
