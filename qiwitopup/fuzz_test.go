package qiwitopup

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
// every call: nothing panics, every error is typed, a pay never fails
// without a payment (doubt is ErrOutcomeUnknown), no password leaks.
func FuzzClientAnswers(f *testing.F) {
	for _, name := range []string{"topup_ru_02_response.xml", "topup-status_ru_02_response.xml", "topup_sbp_ru_02_response.xml", "check-deposit_ru_03_response.xml", "get-balance_ru_02_response.xml", "topup_mobile_ru_05_response.xml"} {
		f.Add(200, fixture(f, name))
	}
	f.Add(500, []byte("<html>"))
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		if status < 100 || status > 999 {
			return
		}
		mock := httpmock.NewMockTransport()
		mock.RegisterNoResponder(func(*http.Request) (*http.Response, error) { return httpmock.NewBytesResponse(status, body), nil })
		c, err := New(PasswordAuth("123", "fuzz-secret-pw"), payments.WithTransport(mock), payments.WithLimiter(payments.Unlimited()),
			payments.WithRetry(payments.RetryPolicy{MaxAttempts: 2, BaseDelay: time.Microsecond, MaxDelay: time.Microsecond}))
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		p, err := c.PayWallet(ctx, WalletPayment{Common: Common{TransactionNumber: "12345678", Amount: 100}, Phone: "79181234567", NonCash: true})
		testcheck.TypedError(t, err, "fuzz-secret-pw")
		if err != nil && !errors.Is(err, payments.ErrOutcomeUnknown) && !errors.Is(err, ErrAuth) && !errors.Is(err, ErrIPBlocked) {
			t.Fatalf("pay error that is neither outcome-unknown nor a definite refusal: %v", err)
		}
		if err == nil && p.TransactionNumber != "12345678" {
			t.Fatalf("pay answered another payment: %v", p)
		}
		_, err = c.Status(ctx, StatusQuery{TransactionNumber: "12345678"})
		testcheck.TypedError(t, err, "fuzz-secret-pw")
		_, err = c.CheckDepositPossible(ctx, "79181234567", true, "")
		testcheck.TypedError(t, err, "fuzz-secret-pw")
		_, err = c.CheckUser(ctx, "79181234567", "")
		testcheck.TypedError(t, err, "fuzz-secret-pw")
		_, err = c.Ping(ctx)
		testcheck.TypedError(t, err, "fuzz-secret-pw")
		_, err = c.ProviderByPhone(ctx, "9161234567")
		testcheck.TypedError(t, err, "fuzz-secret-pw")
	})
}
