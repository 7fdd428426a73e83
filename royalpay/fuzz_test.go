package royalpay

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/jarcoal/httpmock"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/internal/testcheck"
)

// FuzzClientAnswers sends any status and body a server could answer through
// CreatePayment and GetPayment: nothing panics, every error is typed, a
// create that got a 2xx it cannot read is outcome-unknown, no token leaks.
func FuzzClientAnswers(f *testing.F) {
	f.Add(200, fixture(f, "create_response_sbp.json"))
	f.Add(400, []byte(`{"error": "No available cards.", "code": 40005}`))
	f.Add(403, []byte(`{"error": {"code": 10401, "msg": "x"}}`))
	f.Add(500, []byte(`{"error": "Request timed out.", "code": 50020}`))
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		if status < 100 || status > 999 {
			return
		}
		mock := httpmock.NewMockTransport()
		mock.RegisterNoResponder(func(*http.Request) (*http.Response, error) { return httpmock.NewBytesResponse(status, body), nil })
		c, err := New(Credentials{Token: "fuzz-secret-token"}, payments.WithBaseURL(base), payments.WithTransport(mock),
			payments.WithLimiter(payments.Unlimited()), payments.WithRetry(payments.RetryPolicy{MaxAttempts: 2, BaseDelay: time.Microsecond, MaxDelay: time.Microsecond}))
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.CreatePayment(context.Background(), CreateParams{Sum: payments.MustDecimal("100"), Type: TypeSBP, OutterID: "O-1"})
		testcheck.TypedError(t, err, "fuzz-secret-token")
		if err != nil && status >= 200 && status < 300 && !errors.Is(err, payments.ErrOutcomeUnknown) {
			t.Fatalf("a 2xx create we cannot read must be outcome unknown: %v", err)
		}
		_, err = c.GetPayment(context.Background(), 1)
		testcheck.TypedError(t, err, "fuzz-secret-token")
	})
}
