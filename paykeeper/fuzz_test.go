package paykeeper

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/jarcoal/httpmock"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/internal/testcheck"
	"github.com/paysdk/payments/internal/transport"
)

// FuzzClientAnswers sends any status and body a server could answer (the
// token endpoint excepted) through reads, a refund, an invoice and an export:
// nothing panics, every error is typed, a refund or an invoice that got a
// 2xx it cannot read is outcome-unknown, no password leaks.
func FuzzClientAnswers(f *testing.F) {
	for _, name := range []string{"payments_byid.json", "invoice_byid.json", "payments_bydatecount.txt", "refunds_bypaymentid.json"} {
		f.Add(200, []byte(fixture(f, name)))
	}
	f.Add(200, []byte(`{"result":"fail","msg":"x","error_code":67}`))
	f.Add(200, []byte(`{"invoice_id":"1","invoice_url":"u","invoice":"<p>"}`))
	f.Add(401, []byte(`<html>login</html>`))
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		if status < 100 || status > 999 {
			return
		}
		mock := httpmock.NewMockTransport()
		mock.RegisterNoResponder(func(r *http.Request) (*http.Response, error) {
			if r.URL.Path == "/info/settings/token/" {
				return httpmock.NewStringResponse(200, `{"token":"0123456789abcdef0123456789abcdef"}`), nil
			}
			return httpmock.NewBytesResponse(status, body), nil
		})
		c, err := New(Credentials{User: "demo", Password: "fuzz-secret-pw"}, payments.WithBaseURL(base), payments.WithTransport(mock),
			payments.WithLimiter(payments.Unlimited()), payments.WithRetry(payments.RetryPolicy{MaxAttempts: 2, BaseDelay: time.Microsecond, MaxDelay: time.Microsecond}))
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		ok2xx := status >= 200 && status < 300
		_, err = c.GetPayment(ctx, "1")
		testcheck.TypedError(t, err, "fuzz-secret-pw")
		_, err = c.GetInvoice(ctx, "1")
		testcheck.TypedError(t, err, "fuzz-secret-pw")
		_, err = c.CountPayments(ctx, PaymentFilter{Start: day1, End: day2})
		testcheck.TypedError(t, err, "fuzz-secret-pw")
		_, err = c.Refunds(ctx, "1")
		testcheck.TypedError(t, err, "fuzz-secret-pw")
		err = c.RefundPayment(ctx, RefundParams{PaymentID: "1", Amount: payments.MustDecimal("1")})
		testcheck.TypedError(t, err, "fuzz-secret-pw")
		if err != nil && ok2xx && transport.IsMalformed(err) && !errors.Is(err, payments.ErrOutcomeUnknown) {
			t.Fatalf("a 2xx refund answer we cannot read must be outcome unknown: %v", err)
		}
		_, err = c.CreateInvoice(ctx, InvoiceParams{Amount: payments.MustDecimal("1"), OrderID: "A"})
		testcheck.TypedError(t, err, "fuzz-secret-pw")
		var buf bytes.Buffer
		_, err = c.ExportPayments(ctx, &buf, ExportFilter{PaymentFilter: PaymentFilter{Start: day1, End: day2, Statuses: AllPaymentStatuses, PaymentSystemIDs: []string{"1"}}, Limit: 10})
		testcheck.TypedError(t, err, "fuzz-secret-pw")
	})
}
