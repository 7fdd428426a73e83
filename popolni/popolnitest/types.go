package popolnitest

import (
	"bytes"
	"encoding/json"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// PaymentRecord is what the server holds about one payment.
type PaymentRecord struct {
	TransactionID int64
	Amount        int64 // kopecks; 0 if the item's amount was not a valid integer
	Msisdn        string
	MsisdnNotice  string // as sent; "" if absent
	TemplateID    int64  // 0 if absent
	Status        int    // current status
	Polls         int    // status queries that included this payment
	Created       time.Time
}

type payment struct {
	PaymentRecord
	// flip alternates the answers of a payment that stays in 423: true means
	// the last status query answered 125.
	flip bool
}

// Request is one request the server received.
type Request struct {
	// Op is OpPay, OpStatus, OpBalance, OpInvalid (a POST to /api whose body
	// is neither a payment batch nor a status query) or OpUnknown (a route
	// popolni.club does not have), whatever the request's outcome.
	Op         string
	Method     string
	Path       string
	RawQuery   string
	Header     http.Header // as received, without Authorization
	Body       []byte
	RemoteAddr string
	Time       time.Time
	// Answered is the HTTP status sent, or 0 if the connection was dropped
	// (or the client went away) without an answer, or the request is still
	// being handled.
	Answered int
}

// Values of [Request.Op] and arguments of [Server.Count].
const (
	OpPay     = "pay"
	OpStatus  = "status"
	OpBalance = "balance"
	OpInvalid = "invalid"
	OpUnknown = "unknown"
)

// item is one object of a POST body's array.
type item map[string]json.RawMessage

// parseItems decodes a POST body read whole (ok). It returns the items and
// OpPay or OpStatus when the body is a non-empty JSON array of objects all of
// one kind, and nil and OpInvalid otherwise.
func parseItems(body []byte, ok bool) ([]item, string) {
	var items []item
	if !ok || json.Unmarshal(body, &items) != nil || len(items) == 0 {
		return nil, OpInvalid
	}
	op := kindOf(items[0])
	for _, it := range items {
		if k := kindOf(it); k != op || k == OpInvalid {
			return nil, OpInvalid
		}
	}
	return items, op
}

// kindOf tells a payment item (it has amount or msisdn) from a status query
// item (transactionId without either); OpInvalid for neither.
func kindOf(it item) string {
	_, a := it["amount"]
	_, m := it["msisdn"]
	if a || m {
		return OpPay
	}
	if _, ok := it["transactionId"]; ok {
		return OpStatus
	}
	return OpInvalid
}

type valueKind int

const (
	valueMissing valueKind = iota // absent or null
	valueOK
	valueBad // present with the wrong JSON type, or not an integer
)

// parseInteger reads a JSON integer. Integral floats (100.0, 1e2) count,
// because the public PHP clients send round()ed floats; anything else that is
// not an integer fitting int64 is valueBad. It returns 0 unless valueOK.
func parseInteger(raw json.RawMessage) (int64, valueKind) {
	s := strings.TrimSpace(string(raw))
	if s == "" || s == "null" {
		return 0, valueMissing
	}
	if c := s[0]; c != '-' && (c < '0' || c > '9') {
		return 0, valueBad
	}
	if v, err := strconv.ParseInt(s, 10, 64); err == nil {
		return v, valueOK
	}
	if !strings.ContainsAny(s, "eE") {
		if intPart, frac, ok := strings.Cut(s, "."); ok && strings.Trim(frac, "0") == "" {
			if v, err := strconv.ParseInt(intPart, 10, 64); err == nil {
				return v, valueOK
			}
		}
		return 0, valueBad
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f != math.Trunc(f) || math.Abs(f) > 1<<53 {
		return 0, valueBad
	}
	return int64(f), valueOK
}

// parseString reads a JSON string; "" unless valueOK.
func parseString(raw json.RawMessage) (string, valueKind) {
	s := strings.TrimSpace(string(raw))
	if s == "" || s == "null" {
		return "", valueMissing
	}
	var v string
	if s[0] != '"' || json.Unmarshal([]byte(s), &v) != nil {
		return "", valueBad
	}
	return v, valueOK
}

// echoID renders a transactionId that is not a valid integer as it was sent
// (compacted), or null if it was absent.
func echoID(raw json.RawMessage) string {
	var b bytes.Buffer
	if len(raw) == 0 || json.Compact(&b, raw) != nil {
		return "null"
	}
	return b.String()
}
