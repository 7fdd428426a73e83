package royalpay

import (
	"bytes"
	"encoding/json"
	"errors"
	"unicode/utf8"

	"github.com/paysdk/payments/internal/jsonscan"
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

// members calls f with the key and the raw value of each member of the
// JSON object obj, in order. obj must be valid JSON (json.Valid) and an
// object (first non-space byte '{'); see jsonscan.Members.
func members(obj []byte, f func(key []byte, val []byte)) {
	jsonscan.Members(obj, jsonscan.SkipSpace(obj, 0), f)
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
