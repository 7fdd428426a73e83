package royalpay

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/jarcoal/httpmock"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/internal/testcheck"
)

// FuzzPayoutCallback: no bytes panic the payout callback parser; what it
// accepts has a positive id and a status, and any error wraps ErrBadCallback.
func FuzzPayoutCallback(f *testing.F) {
	f.Add([]byte(`{"id":2673,"status":"wait_confirm","amount":1500,"outter_id":"ORD123","receipts":["https://x"]}`))
	f.Add([]byte(`{"id":"2673","status":"completed","amount":"1500.00","receipt":"https://r","X-Request-Id":"abc"}`))
	f.Add([]byte(`{"id":-1}`))
	f.Add([]byte(`[1,2]`))
	f.Add([]byte(`{"id":1,"status":"x","receipts":{"a":1}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		cb, err := ParsePayoutCallback(body)
		if err != nil {
			if !errors.Is(err, ErrBadCallback) {
				t.Fatalf("untyped error: %v", err)
			}
			return
		}
		if cb.ID <= 0 || cb.Status == "" {
			t.Fatalf("accepted %q as %+v", body, cb)
		}
	})
}

// FuzzPayoutAnswers sends any status and body through CreatePayout and
// PayoutByOutterID: nothing panics, errors are typed and carry no token, a
// create succeeds only on a 2xx payout object with a positive id and our
// outter_id (in the answer when it has no status: then pending), and a
// lookup is "not found" only for an empty list or a 404.
func FuzzPayoutAnswers(f *testing.F) {
	f.Add(201, []byte(`{"id": 2688, "bank": "Tinkoff", "nspk_code": null, "requisite": "79161234567", "status": "pending", "outter_id": "O-1"}`))
	f.Add(200, []byte(`[{"id":1,"status":"completed","outter_id":"O-1"}]`))
	f.Add(200, []byte(`{"results":[]}`))
	f.Add(200, []byte(`[]`))
	f.Add(200, []byte(`[{"id":1,"status":"completed","outter_id":"O-2"}]`))
	f.Add(400, []byte(`{"amount":["bad"],"requisite":"x"}`))
	f.Add(503, []byte(`Authorization: Token fuzz-payout-token`))
	f.Add(200, []byte(`{"results":[],"next":null}`))
	f.Add(200, []byte(`[[]]`))
	f.Add(200, []byte(`{"id":1,"status":"completed","outter_id":"O-1","results":[]}`))
	f.Add(404, []byte(`[]`))
	f.Add(201, []byte(`{"id": 2688, "bank": "Tinkoff", "nspk_code": null, "requisite": "79161234567", "outter_id": "O-1"}`))
	f.Add(201, []byte(`{"id": 2688, "bank": "Tinkoff", "nspk_code": null, "requisite": "79161234567"}`))
	f.Add(201, []byte(`{"id": 2688, "status": null, "outter_id": "O-2"}`))
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		if status < 100 || status > 999 {
			return
		}
		mock := httpmock.NewMockTransport()
		mock.RegisterNoResponder(func(*http.Request) (*http.Response, error) { return httpmock.NewBytesResponse(status, body), nil })
		c, err := New(Credentials{PayoutToken: "fuzz-payout-token"}, payments.WithBaseURL(base), payments.WithTransport(mock), payments.WithTestTiming())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		ok2xx := status >= 200 && status < 300
		p, err := c.CreatePayout(context.Background(), PayoutParams{Method: PayoutInterbank, Requisite: "4111111111111111",
			Amount: payments.MustDecimal("10"), OutterID: "O-1"})
		testcheck.TypedError(t, err, "fuzz-payout-token")
		if err == nil && (!ok2xx || p.ID <= 0 || p.OutterID != "O-1") {
			t.Fatalf("create: success from %d %q: %+v", status, body, p)
		}
		// The decided shape without a status: our outter_id in the answer
		// itself, and then pending, never final.
		if err == nil && p.Status == "" && (answerOutterID(body) != "O-1" || p.State() != payments.StatePending) {
			t.Fatalf("create: success without a status from %d %q: %+v, state %v", status, body, p, p.State())
		}
		if err == nil && p.Status != "" && p.State() != p.Status.State() {
			t.Fatalf("create: state %v for status %q", p.State(), p.Status)
		}
		if err != nil && ok2xx && !errors.Is(err, payments.ErrOutcomeUnknown) {
			t.Fatalf("create: a 2xx we cannot read must be outcome unknown: %v", err)
		}
		got, err := c.PayoutByOutterID(context.Background(), "O-1")
		testcheck.TypedError(t, err, "fuzz-payout-token")
		if err == nil && (!ok2xx || got.OutterID != "O-1" || got.ID <= 0 || got.Status == "") {
			t.Fatalf("lookup: success from %d %q: %+v", status, body, got)
		}
		// ErrNoPayout lets payout/royalpaypayout create: only an empty list.
		if errors.Is(err, ErrNoPayout) && !(ok2xx && emptyPayoutList(body)) {
			t.Fatalf("lookup: ErrNoPayout from %d %q", status, body)
		}
		if errors.Is(err, payments.ErrNotFound) && status != http.StatusNotFound && !errors.Is(err, ErrNoPayout) {
			t.Fatalf("lookup: not found from %d %q: %v", status, body, err)
		}
	})
}

// answerOutterID is the answer's "outter_id" when it is a JSON object whose
// outter_id is a string, else "".
func answerOutterID(body []byte) string {
	var m map[string]json.RawMessage
	if json.Unmarshal(body, &m) != nil {
		return ""
	}
	var s string
	if json.Unmarshal(m["outter_id"], &s) != nil {
		return ""
	}
	return s
}

// emptyPayoutList reports whether body is the lookup's empty answer: a JSON
// array with no element, or an object whose "results" is one.
func emptyPayoutList(body []byte) bool {
	var list []json.RawMessage
	if json.Unmarshal(body, &list) == nil {
		return list != nil && len(list) == 0
	}
	var page map[string]json.RawMessage
	if json.Unmarshal(body, &page) != nil || page == nil {
		return false
	}
	res, ok := page["results"]
	return ok && json.Unmarshal(res, &list) == nil && len(list) == 0
}

// FuzzPayoutCallbackHandler posts any body to a PayoutCallbackHandler whose
// API has one payout (id 7, outter_id PO-1, pending): Handle is called, and
// 200 answered, only for a callback naming that payout by both ids, and
// Handle sees the API's status and amount whatever the body says.
func FuzzPayoutCallbackHandler(f *testing.F) {
	f.Add([]byte(`{"id":7,"status":"completed","amount":999999,"outter_id":"PO-1"}`))
	f.Add([]byte(`{"id":"7","status":"wait_confirm","outter_id":"PO-1"}`))
	f.Add([]byte(`{"id":7,"status":"completed","outter_id":"PO-2"}`))
	f.Add([]byte(`{"id":8,"status":"completed","outter_id":"PO-1"}`))
	f.Add([]byte(`{"id":7.0,"status":"completed","outter_id":"PO-1","receipts":null}`))
	mock := httpmock.NewMockTransport()
	mock.RegisterNoResponder(func(r *http.Request) (*http.Response, error) {
		if r.URL.Query().Get("outter_id") == "PO-1" {
			return httpmock.NewStringResponse(200, `[{"id":7,"status":"pending","amount":1500,"outter_id":"PO-1"}]`), nil
		}
		return httpmock.NewStringResponse(200, `[]`), nil
	})
	c, err := New(Credentials{PayoutToken: "t"}, payments.WithBaseURL(base), payments.WithTransport(mock),
		payments.WithTestTiming(), payments.WithLimiter(payments.Unlimited()))
	if err != nil {
		f.Fatal(err)
	}
	defer c.Close()
	f.Fuzz(func(t *testing.T, body []byte) {
		var handled []PayoutEvent
		h := &PayoutCallbackHandler{Client: c, AllowUnauthenticated: true, ConfirmRate: 1e6, MaxConfirmations: 4,
			Handle: func(_ context.Context, e PayoutEvent) error { handled = append(handled, e); return nil }}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body)))
		if (w.Code == http.StatusOK) != (len(handled) == 1) {
			t.Fatalf("answered %d, Handle called %d times", w.Code, len(handled))
		}
		if len(handled) == 0 {
			return
		}
		e := handled[0]
		if e.Callback.ID != 7 || e.Callback.OutterID != "PO-1" || e.Payout.ID != 7 || e.Payout.OutterID != "PO-1" {
			t.Fatalf("%q handled as %+v", body, e)
		}
		if e.Status() != PayoutPending || e.Payout.Amount.String() != "1500" || e.NeedsConfirmation() {
			t.Fatalf("%q: Handle saw %s %s, not the API's pending 1500", body, e.Status(), e.Payout.Amount)
		}
	})
}
