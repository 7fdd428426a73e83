package royalpay

import (
	"context"
	"errors"
	"net/http"
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
// create succeeds only on a 2xx payout object with a positive id, and a
// lookup is "not found" only for an empty list or a 404.
func FuzzPayoutAnswers(f *testing.F) {
	f.Add(201, []byte(`{"id": 2688, "bank": "Tinkoff", "nspk_code": null, "requisite": "79161234567", "status": "pending", "outter_id": "O-1"}`))
	f.Add(200, []byte(`[{"id":1,"status":"completed","outter_id":"O-1"}]`))
	f.Add(200, []byte(`{"results":[]}`))
	f.Add(200, []byte(`[]`))
	f.Add(200, []byte(`[{"id":1,"status":"completed","outter_id":"O-2"}]`))
	f.Add(400, []byte(`{"amount":["bad"],"requisite":"x"}`))
	f.Add(503, []byte(`Authorization: Token fuzz-payout-token`))
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
		if err == nil && (!ok2xx || p.ID <= 0 || p.Status == "" || p.OutterID != "O-1") {
			t.Fatalf("create: success from %d %q: %+v", status, body, p)
		}
		if err != nil && ok2xx && !errors.Is(err, payments.ErrOutcomeUnknown) {
			t.Fatalf("create: a 2xx we cannot read must be outcome unknown: %v", err)
		}
		got, err := c.PayoutByOutterID(context.Background(), "O-1")
		testcheck.TypedError(t, err, "fuzz-payout-token")
		if err == nil && (!ok2xx || got.OutterID != "O-1" || got.ID <= 0) {
			t.Fatalf("lookup: success from %d %q: %+v", status, body, got)
		}
	})
}
