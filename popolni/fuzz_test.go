package popolni

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

// FuzzClientAnswers feeds any status and body a server could send to Pay,
// Status and Balance: nothing panics, every error is one of the typed ones,
// a Pay without error has one result per payment, and no error leaks the
// password.
func FuzzClientAnswers(f *testing.F) {
	for _, name := range []string{"pay_response.json", "status_response.json", "balance_response.json"} {
		f.Add(200, fixture(f, name))
	}
	f.Add(403, []byte("IP is not allowed"))
	f.Add(503, []byte(""))
	f.Add(200, []byte(`[{"transactionId":1000000001,"status":124}]`))
	f.Add(500, []byte("<html><title>x</title>"))
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		if status < 100 || status > 999 {
			return
		}
		mock := httpmock.NewMockTransport()
		mock.RegisterNoResponder(func(*http.Request) (*http.Response, error) {
			return httpmock.NewBytesResponse(status, body), nil
		})
		c, err := New(Credentials{Login: "partner", Password: "fuzz-secret-pw"},
			payments.WithTransport(mock), payments.WithLimiter(payments.Unlimited()),
			payments.WithRetry(payments.RetryPolicy{MaxAttempts: 2, BaseDelay: time.Microsecond, MaxDelay: time.Microsecond}))
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		batch := []Payment{{ID: 1000000001, Amount: 500, Account: "380991234567"}}
		res, err := c.Pay(ctx, batch)
		testcheck.TypedError(t, err, "fuzz-secret-pw")
		if err == nil && len(res) != len(batch) {
			t.Fatalf("Pay: %d results for %d payments", len(res), len(batch))
		}
		if status == 200 && err != nil && !errors.Is(err, payments.ErrOutcomeUnknown) {
			t.Fatalf("Pay: a 200 we cannot read must be outcome unknown, got %v", err)
		}
		_, err = c.Status(ctx, 1000000001)
		testcheck.TypedError(t, err, "fuzz-secret-pw")
		_, err = c.Balance(ctx)
		testcheck.TypedError(t, err, "fuzz-secret-pw")
	})
}
