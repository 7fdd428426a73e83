package paykeeper

import (
	"bytes"
	"encoding/json"
	"unicode/utf8"

	"github.com/paysdk/payments/internal/jsonscan"
)

// The registry's answers (a list of payments, one payment) are read in one
// pass over the body instead of through encoding/json's reflection into
// []map[string]json.RawMessage: json.Valid checks the whole body first
// (nothing is read from a body it refuses), then the array and its objects
// are walked. The maps hold what json.Unmarshal would put there: keys by
// their unescaped text, the last of duplicate keys, values as they were
// sent (slices of the body, which nothing writes to).

// internedKeys are the keys of the registry's payment objects, whose
// strings walkObject reuses instead of allocating them for every object.
var internedKeys = func() map[string]string {
	m := map[string]string{}
	for _, k := range []string{"id", "pay_amount", "refund_amount", "clientid", "orderid", "payment_system_id",
		"unique_id", "status", "repeat_counter", "pending_datetime", "obtain_datetime", "success_datetime",
		"system_description", "site_description", "result", "msg"} {
		m[k] = k
	}
	return m
}()

// walkObject reads the JSON object at b[i] (valid JSON) into a map, as
// json.Unmarshal would, and returns the index just past it.
func walkObject(b []byte, i int) (map[string]json.RawMessage, int) {
	// Room for a payment's keys, or for the few of a write's short answer.
	m := make(map[string]json.RawMessage, min(16, (len(b)-i)/16))
	end := jsonscan.Members(b, i, func(k, v []byte) {
		key, ok := internedKeys[string(k)] // no allocation for the keys every payment has
		if !ok {
			key = string(k)
		}
		m[key] = v
	})
	return m, end
}

// walkObjects reads body (valid JSON, trimmed) as objects does: an object,
// an array of objects (a null element is a nil map) or null. ok is false
// for anything else, which json.Unmarshal refuses.
func walkObjects(body []byte) (list []map[string]json.RawMessage, ok bool) {
	switch body[0] {
	case '{':
		m, _ := walkObject(body, 0)
		return []map[string]json.RawMessage{m}, true
	case 'n':
		return nil, true
	case '[':
	default:
		return nil, false
	}
	list = []map[string]json.RawMessage{}
	i := jsonscan.SkipSpace(body, 1)
	for i < len(body) && body[i] != ']' {
		switch body[i] {
		case '{':
			var m map[string]json.RawMessage
			m, i = walkObject(body, i)
			list = append(list, m)
		case 'n':
			list = append(list, nil)
			i += len("null")
		default:
			return nil, false
		}
		i = jsonscan.SkipSpace(body, i)
		if i < len(body) && body[i] == ',' {
			i = jsonscan.SkipSpace(body, i+1)
		}
	}
	return list, true
}

// plainString is the text of the raw JSON string raw when it needs no
// unescaping (no backslash, valid UTF-8: encoding/json would return it as
// it is), and false otherwise.
func plainString(raw []byte) (string, bool) {
	inner := raw[1 : len(raw)-1]
	if bytes.IndexByte(inner, '\\') >= 0 || !utf8.Valid(inner) {
		return "", false
	}
	return string(inner), true
}

// isJSONString reports whether raw is a JSON string whose text is want
// (escaped or not).
func isJSONString(raw []byte, want string) bool {
	raw = bytes.TrimSpace(raw)
	if len(raw) < 2 || raw[0] != '"' {
		return false
	}
	if inner := raw[1 : len(raw)-1]; bytes.IndexByte(inner, '\\') < 0 {
		// As it is, or with bytes that are not UTF-8 (encoding/json makes
		// them U+FFFD): equal to want (UTF-8, no U+FFFD) only as it is.
		return string(inner) == want
	}
	var s string
	return json.Unmarshal(raw, &s) == nil && s == want
}
