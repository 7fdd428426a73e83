package royalpay

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/jarcoal/httpmock"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/internal/testcheck"
)

// FuzzClientAnswers sends any status and body a server could answer through
// CreatePayment and GetPayment. Nothing panics, every error is typed, no
// token leaks; and, the other way round, success comes only from the
// document's success answer: a 2xx whose body is a JSON object with a
// positive integer "id", a positive "sum" and one of the five statuses (for
// a read: the id asked, a sum that is not negative and a status). A create
// that got any other 2xx is outcome-unknown; one that got a non-2xx is
// outcome-unknown only for a 5xx, 429 or 503 without a refusal code.
func FuzzClientAnswers(f *testing.F) {
	f.Add(200, fixture(f, "create_response_sbp.json"))
	f.Add(201, []byte(`{"id":"10442449","sum":1500,"status":"created"}`))
	f.Add(200, []byte(`{"ID":10442449,"SUM":1500,"STATUS":"created"}`))
	f.Add(200, []byte(`{"id":10442449,"sum":"1500.00","status":"created","id":0}`))
	f.Add(200, []byte(`{}`))
	f.Add(200, []byte(`{"result":"ok"}`))
	f.Add(400, []byte(`{"error": "No available cards.", "code": 40005}`))
	f.Add(403, []byte(`{"error": {"code": 10401, "msg": "x"}}`))
	f.Add(500, []byte(`{"error": "Request timed out.", "code": 50020}`))
	f.Add(503, []byte(`{"error": "Payment creation failed", "code": "30002"}`))
	f.Add(429, []byte(`Authorization: Token fuzz-secret-token`))
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		if status < 100 || status > 999 {
			return
		}
		mock := httpmock.NewMockTransport()
		mock.RegisterNoResponder(func(*http.Request) (*http.Response, error) { return httpmock.NewBytesResponse(status, body), nil })
		c, err := New(Credentials{Token: "fuzz-secret-token"}, payments.WithBaseURL(base), payments.WithTransport(mock), payments.WithTestTiming())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		ok2xx := status >= 200 && status < 300

		_, err = c.CreatePayment(context.Background(), CreateParams{Sum: payments.MustDecimal("100"), Type: TypeSBP, OutterID: "O-1"})
		testcheck.TypedError(t, err, "fuzz-secret-token")
		unknown := errors.Is(err, payments.ErrOutcomeUnknown)
		switch {
		case err == nil && !(ok2xx && documentedPayment(body, 0)):
			t.Fatalf("create: success from %d %q, not the document's success answer", status, body)
		case err != nil && ok2xx && !unknown:
			t.Fatalf("create: a 2xx we cannot read must be outcome unknown: %v", err)
		case status >= 400 && status < 500 && status != 429 && unknown:
			t.Fatalf("create: a %d is a refusal, not outcome unknown: %v", status, err)
		case !ok2xx && unknown && refusalCode(body):
			t.Fatalf("create: %d %q carries a refusal code: not outcome unknown: %v", status, body, err)
		}

		_, err = c.GetPayment(context.Background(), 10442449)
		testcheck.TypedError(t, err, "fuzz-secret-token")
		if err == nil && !(ok2xx && documentedPayment(body, 10442449)) {
			t.Fatalf("get: success from %d %q, not a payment answer", status, body)
		}
		if errors.Is(err, payments.ErrOutcomeUnknown) {
			t.Fatalf("get: a read is never outcome unknown: %v", err)
		}
	})
}

// documentedPayment is the fuzz test's own reading of the document's
// success answer, independent of decodePayment: a JSON object (exact keys)
// with a positive integer id (a number or a digit string), a sum (or
// amount) and a status. For a create (wantID 0) the sum is positive and the
// status one of the document's five; for a read the id is wantID and the
// sum not negative.
func documentedPayment(body []byte, wantID int64) bool {
	dec := json.NewDecoder(bytes.NewReader(body))
	var m map[string]json.RawMessage
	if dec.Decode(&m) != nil || m == nil {
		return false
	}
	if _, err := dec.Token(); err == nil {
		return false // data after the object
	}
	text := func(k string) (string, bool) { return jsonText(m, k) }
	idText, ok := text("id")
	if !ok {
		return false
	}
	id, err := payments.ParseDecimal(idText)
	if err != nil || id.Sign() <= 0 {
		return false
	}
	n, err := id.Minor(0)
	if err != nil || (wantID != 0 && n != wantID) {
		return false
	}
	sumText, ok := text("sum")
	if !ok || sumText == "" {
		sumText, ok = text("amount")
	}
	if !ok || sumText == "" {
		return false
	}
	sum, err := payments.ParseDecimal(strings.TrimSpace(sumText))
	if err != nil || sum.Sign() < 0 || (wantID == 0 && sum.Sign() == 0) {
		return false
	}
	status, ok := text("status")
	if !ok || status == "" {
		return false
	}
	if wantID == 0 {
		switch status {
		case "created", "canceled", "refund", "completed", "deleted":
		default:
			return false
		}
	}
	return true
}

// jsonText is the text of m[k] when it is a string, a number or a boolean.
func jsonText(m map[string]json.RawMessage, k string) (string, bool) {
	raw, ok := m[k]
	if !ok {
		return "", false
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s, true
	}
	var n json.Number
	if json.Unmarshal(raw, &n) == nil {
		return n.String(), true
	}
	var b bool
	if json.Unmarshal(raw, &b) == nil {
		return string(bytes.TrimSpace(raw)), true
	}
	return "", false
}

// refusalCode reports whether body is one of the document's error objects,
// {"error": "<text>", "code": C} or {"error": {"code": C, ...}}, with a code
// C that says nothing was created: 40005, 40006, 30002, 50000 or 10401.
func refusalCode(body []byte) bool {
	var m map[string]json.RawMessage
	if json.Unmarshal(body, &m) != nil || m == nil {
		return false
	}
	raw, ok := m["error"]
	if !ok {
		return false
	}
	code, _ := jsonText(m, "code")
	var text string
	var nested map[string]json.RawMessage
	switch {
	case json.Unmarshal(raw, &text) == nil:
	case json.Unmarshal(raw, &nested) == nil && nested != nil:
		if c, ok := jsonText(nested, "code"); ok && c != "" {
			code = c
		}
	default:
		return false
	}
	switch code {
	case "40005", "40006", "30002", "50000", "10401":
		return true
	}
	return false
}
