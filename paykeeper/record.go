package paykeeper

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // Europe/Moscow without the host's tzdata

	"github.com/paysdk/payments"
)

// moscow is the zone of every PayKeeper date ("YYYY-MM-DD HH:MM:SS", no
// offset). Loaded from the tzdata embedded in the binary, so dates before
// 2014 (UTC+4) convert right too.
var moscow = func() *time.Location {
	loc, err := time.LoadLocation("Europe/Moscow")
	if err != nil {
		return time.FixedZone("MSK", 3*3600)
	}
	return loc
}()

const dateTimeLayout = "2006-01-02 15:04:05"

// record is one JSON object read leniently: numbers may arrive as strings
// and strings as numbers, null and "" are absent. The first error met is
// kept in err.
type record struct {
	m   map[string]json.RawMessage
	err error
}

func newRecord(m map[string]json.RawMessage) *record { return &record{m: m} }

func (r *record) fail(k string, err error) {
	if r.err == nil {
		r.err = fmt.Errorf("%s: %w", k, err)
	}
}

// str returns a string, the text of a number or a boolean, or "" for
// null and absent.
func (r *record) str(keys ...string) string {
	for _, k := range keys {
		raw, ok := r.m[k]
		if !ok {
			continue
		}
		raw = bytes.TrimSpace(raw)
		switch {
		case len(raw) == 0 || string(raw) == "null":
			continue
		case raw[0] == '"':
			s, ok := "", false
			if len(raw) >= 2 && raw[len(raw)-1] == '"' {
				s, ok = plainString(raw)
			}
			if !ok {
				if err := json.Unmarshal(raw, &s); err != nil {
					r.fail(k, err)
					return ""
				}
			}
			if s == "" {
				continue
			}
			return s
		case raw[0] == '{' || raw[0] == '[':
			r.fail(k, fmt.Errorf("expected a scalar"))
			return ""
		default:
			return string(raw)
		}
	}
	return ""
}

func (r *record) dec(k string) payments.Decimal {
	s := strings.TrimSpace(r.str(k))
	if s == "" {
		return payments.Decimal{}
	}
	d, err := payments.ParseDecimal(s)
	if err != nil {
		r.fail(k, err)
	}
	return d
}

func (r *record) int(k string) int64 {
	s := strings.TrimSpace(r.str(k))
	if s == "" {
		return 0
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		r.fail(k, fmt.Errorf("%q is not an integer", clip(s)))
	}
	return n
}

func (r *record) bool(k string) bool {
	switch strings.ToLower(strings.TrimSpace(r.str(k))) {
	case "true", "1", "on", "yes":
		return true
	}
	return false
}

func (r *record) time(k string) time.Time {
	s := strings.TrimSpace(r.str(k))
	if s == "" || s == "0000-00-00 00:00:00" {
		return time.Time{}
	}
	t, err := time.ParseInLocation(dateTimeLayout, s, moscow)
	if err != nil {
		if t, err = time.ParseInLocation("2006-01-02", s, moscow); err != nil {
			r.fail(k, fmt.Errorf("%q is not YYYY-MM-DD HH:MM:SS", clip(s)))
		}
	}
	return t
}

// objects reads a JSON array of objects; a single object is read as a
// one-element array (PayKeeper wraps some answers, not others).
func objects(body []byte) ([]map[string]json.RawMessage, error) {
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return nil, fmt.Errorf("empty body")
	}
	if json.Valid(body) {
		if list, ok := walkObjects(body); ok {
			return list, nil
		}
	}
	// Not JSON, or not objects: encoding/json says what is wrong.
	if body[0] == '{' {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(body, &m); err != nil {
			return nil, err
		}
		return []map[string]json.RawMessage{m}, nil
	}
	var list []map[string]json.RawMessage
	if err := json.Unmarshal(body, &list); err != nil {
		return nil, err
	}
	return list, nil
}

// object reads one JSON object, or the first element of an array of them.
func object(body []byte) (map[string]json.RawMessage, error) {
	list, err := objects(body)
	if err != nil {
		return nil, err
	}
	if len(list) == 0 || list[0] == nil {
		return nil, fmt.Errorf("empty answer")
	}
	return list[0], nil
}

func clip(s string) string {
	if len(s) > 40 {
		s = s[:40] + "…"
	}
	return payments.MaskPAN(s)
}

func date(t time.Time) string { return t.In(moscow).Format("2006-01-02") }
