package paykeeper

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

var errBadPoint = errors.New("a point is not [timestamp, amount]")

// jsonNumberDecode decodes keeping numbers as json.Number (exact).
func jsonNumberDecode(b []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	return d.Decode(v)
}

// numText is the text of a json.Number or a string.
func numText(v any) string {
	switch x := v.(type) {
	case json.Number:
		return x.String()
	case string:
		return x
	}
	return fmt.Sprint(v)
}

var (
	errEmptyExport = errors.New("empty export")
	errNotXLSX     = errors.New("the export is JSON, not an xlsx file")
)
