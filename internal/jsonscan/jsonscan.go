// Package jsonscan walks JSON that encoding/json's json.Valid has already
// accepted, without reflection: the providers' hot answers (a RoyalPay
// payment or callback, PayKeeper's registry) are read in one pass over the
// body instead of into a map of json.RawMessage and a json.Unmarshal per
// field. Every function assumes valid JSON: call json.Valid first, and read
// nothing from a body it refuses. What a walk yields is what json.Unmarshal
// into a map would hold: keys by their exact unescaped text, every member in
// order (the caller keeps the last of duplicate keys), values as they were
// sent.
package jsonscan

import (
	"encoding/json"
	"unicode/utf8"
)

// IsSpace reports the white space JSON allows between tokens.
func IsSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// SkipSpace returns the index of the first byte at or after i that is not
// white space (len(b) if none).
func SkipSpace(b []byte, i int) int {
	for i < len(b) && IsSpace(b[i]) {
		i++
	}
	return i
}

// StringEnd returns the index just past the closing quote of the JSON
// string that starts at b[i] (a quote), and whether it holds an escape.
func StringEnd(b []byte, i int) (int, bool) {
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

// ValueEnd returns the index just past the JSON value that starts at b[i].
func ValueEnd(b []byte, i int) int {
	switch b[i] {
	case '"':
		end, _ := StringEnd(b, i)
		return end
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				end, _ := StringEnd(b, j)
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
	for j < len(b) && b[j] != ',' && b[j] != '}' && b[j] != ']' && !IsSpace(b[j]) {
		j++
	}
	return j
}

// Members calls f with the key and the raw value of each member of the JSON
// object that starts at b[i] (a '{'), in order, and returns the index just
// past its closing brace. A key is passed unescaped: one that holds an
// escape or bytes that are not UTF-8 is read by encoding/json, as a map key
// would be. val is a slice of b; f must not write to it.
func Members(b []byte, i int, f func(key, val []byte)) int {
	i = SkipSpace(b, i+1)
	for i < len(b) && b[i] == '"' {
		end, escaped := StringEnd(b, i)
		key := b[i+1 : end-1]
		if escaped || !utf8.Valid(key) {
			var s string
			_ = json.Unmarshal(b[i:end], &s) // valid: cannot fail
			key = []byte(s)
		}
		i = SkipSpace(b, SkipSpace(b, end)+1) // past the colon
		vend := ValueEnd(b, i)
		f(key, b[i:vend:vend])
		i = SkipSpace(b, vend)
		if i < len(b) && b[i] == ',' {
			i = SkipSpace(b, i+1)
			continue
		}
		break
	}
	return i + 1 // past the closing brace
}
