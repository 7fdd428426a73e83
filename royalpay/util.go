package royalpay

import (
	"bytes"
	"encoding/json"
)

// jsonString encodes s as a JSON string without HTML escaping, so Cyrillic
// and URLs go on the wire as they are written.
func jsonString(s string) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)
	return bytes.TrimRight(b.Bytes(), "\n")
}
