package paykeeper_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/paykeeper"
	"github.com/paysdk/payments/paykeeper/paykeepertest"
)

// TestUnknownPaymentIsNotFound: the cabinet answers [] for an id it does not
// know; that is ErrNotFound, not a failure to retry.
func TestUnknownPaymentIsNotFound(t *testing.T) {
	srv := paykeepertest.NewServer(paykeepertest.WithT(t))
	c := newClient(t, srv)
	_, err := c.GetPayment(context.Background(), "12345")
	assert.ErrorIs(t, err, payments.ErrNotFound)
	assert.ErrorIs(t, err, paykeeper.ErrPaymentNotFound)
	assert.NotErrorIs(t, err, payments.ErrUnavailable)
	assert.Equal(t, 1, srv.Count(paykeepertest.OpPaymentByID), "asked once, not retried")

	err = c.RefundPayment(context.Background(), paykeeper.RefundParams{PaymentID: "12345", Full: true})
	assert.ErrorIs(t, err, payments.ErrNotFound, "the fail object says so too")
	assert.NotErrorIs(t, err, payments.ErrOutcomeUnknown)
}

// TestOverlongInputsAreRefusedBeforeSending: ids and order ids the document
// would not hold never leave the client, with the reason that applies.
func TestOverlongInputsAreRefusedBeforeSending(t *testing.T) {
	srv := paykeepertest.NewServer(paykeepertest.WithT(t))
	c := newClient(t, srv)
	ctx := context.Background()
	long := strings.Repeat("9", 10000)

	for name, call := range map[string]func() error{
		"GetPayment":    func() error { _, err := c.GetPayment(ctx, long); return err },
		"RefundPayment": func() error { return c.RefundPayment(ctx, paykeeper.RefundParams{PaymentID: long, Full: true}) },
		"Refunds":       func() error { _, err := c.Refunds(ctx, long); return err },
		"GetInvoice":    func() error { _, err := c.GetInvoice(ctx, long); return err },
		"SendInvoice":   func() error { return c.SendInvoice(ctx, long) },
		"DeleteUser":    func() error { return c.DeleteUser(ctx, long) },
	} {
		err := call()
		var ve *payments.ValidationError
		require.ErrorAs(t, err, &ve, name)
		assert.Contains(t, ve.Reason, "too long", "%s: not %q", name, ve.Reason)
		assert.NotContains(t, ve.Reason, "required", name)
		assert.Less(t, len(err.Error()), 200, "%s: the id is not quoted", name)
	}
	for _, id := range []string{"12a", " 1", "-1", "1.0", "１２"} {
		_, err := c.GetPayment(ctx, id)
		var ve *payments.ValidationError
		require.ErrorAs(t, err, &ve, id)
		assert.Contains(t, ve.Reason, "digits", id)
	}
	_, err := c.GetPayment(ctx, "")
	assert.ErrorContains(t, err, "required")

	for name, p := range map[string]paykeeper.InvoiceParams{
		"OrderID":  {Amount: payments.MustDecimal("1"), OrderID: strings.Repeat("Z", 10000)},
		"ClientID": {Amount: payments.MustDecimal("1"), ClientID: strings.Repeat("Я", 256)},
		"Email":    {Amount: payments.MustDecimal("1"), Email: strings.Repeat("a", 300) + "@example.com"},
		"Phone":    {Amount: payments.MustDecimal("1"), Phone: strings.Repeat("1", 256)},
	} {
		_, err := c.CreateInvoice(ctx, p)
		var ve *payments.ValidationError
		require.ErrorAs(t, err, &ve, name)
		assert.Equal(t, name, ve.Field)
		assert.Contains(t, ve.Reason, "too long", name)
	}
	_, err = c.CreateInvoice(ctx, paykeeper.InvoiceParams{Amount: payments.MustDecimal("1"), OrderID: strings.Repeat("Я", 255)})
	assert.NoError(t, err, "255 characters (not bytes) are fine")
	assert.Equal(t, 1, srv.Count(paykeepertest.OpInvoicePreview), "nothing over the limits was sent")
	assert.Zero(t, srv.Count(paykeepertest.OpPaymentByID)+srv.Count(paykeepertest.OpReverse)+srv.Count(paykeepertest.OpInvoiceByID))
}

// TestFullRefundIsExplicit: no amount means nothing, not everything.
func TestFullRefundIsExplicit(t *testing.T) {
	srv := paykeepertest.NewServer(paykeepertest.WithT(t))
	c := newClient(t, srv)
	ctx := context.Background()
	id := srv.AddPayment(paykeepertest.PaymentSpec{Amount: "1500.00"})

	err := c.RefundPayment(ctx, paykeeper.RefundParams{PaymentID: id})
	var ve *payments.ValidationError
	require.ErrorAs(t, err, &ve)
	assert.Equal(t, "Amount", ve.Field)
	err = c.RefundPayment(ctx, paykeeper.RefundParams{PaymentID: id, Full: true, Amount: payments.MustDecimal("1500")})
	assert.ErrorIs(t, err, payments.ErrInvalidRequest, "Full with an amount is ambiguous")
	assert.Zero(t, srv.Count(paykeepertest.OpReverse), "refused before sending")
	p, _ := srv.Payment(id)
	assert.Equal(t, "0.00", p.RefundAmount, "nothing refunded")

	require.NoError(t, c.RefundPayment(ctx, paykeeper.RefundParams{PaymentID: id, Full: true}))
	got, err := c.GetPayment(ctx, id)
	require.NoError(t, err)
	assert.Equal(t, paykeeper.PaymentRefunded, got.Status)
	assert.Equal(t, "1500.00", got.RefundAmount.String())
	req := srv.Requests()
	last := req[len(req)-1]
	for _, r := range req {
		if r.Op == paykeepertest.OpReverse {
			last = r
		}
	}
	assert.Equal(t, "false", last.Form.Get("partial"))
	assert.NotContains(t, last.Form, "amount", "a full refund gives no amount (the document)")
}

// TestInvoiceExpiryIsADate: the document's expiry is YYYY-MM-DD, exclusive.
func TestInvoiceExpiryIsADate(t *testing.T) {
	srv := paykeepertest.NewServer(paykeepertest.WithT(t))
	c := newClient(t, srv)
	ctx := context.Background()
	expiry := paykeeper.DateOf(time.Now().AddDate(0, 0, 3))
	inv, err := c.CreateInvoice(ctx, paykeeper.InvoiceParams{Amount: payments.MustDecimal("990"), OrderID: "A-9", Expiry: expiry})
	require.NoError(t, err)
	var sent string
	for _, r := range srv.Requests() {
		if r.Op == paykeepertest.OpInvoicePreview {
			sent = r.Form.Get("expiry")
		}
	}
	assert.Regexp(t, `^\d{4}-\d\d-\d\d$`, sent)
	assert.Equal(t, expiry.String(), sent)
	got, err := c.GetInvoice(ctx, inv.ID)
	require.NoError(t, err)
	assert.True(t, got.Expiry.Equal(expiry.Start()), "valid until the start of that Moscow day: %v", got.Expiry)

	_, err = c.CreateInvoice(ctx, paykeeper.InvoiceParams{Amount: payments.MustDecimal("1"), Expiry: paykeeper.Date{Year: 2026, Month: 2, Day: 30}})
	assert.ErrorIs(t, err, payments.ErrInvalidRequest)
}

// TestLostInvoiceAdviceWorks: the answer to an invoice creation is lost; the
// invoice exists but, "created", is not in the invoice list — so the error
// must not send the merchant there, and says what does work.
func TestLostInvoiceAdviceWorks(t *testing.T) {
	srv := paykeepertest.NewServer(paykeepertest.WithT(t))
	c := newClient(t, srv)
	ctx := context.Background()
	_, err := c.PaymentSystems(ctx)
	require.NoError(t, err)
	_, err = c.Users(ctx) // a token is not needed for reads; fetch one for the POST below
	require.NoError(t, err)
	require.NoError(t, c.ChangeSetting(ctx, "support_email", "support@example.com"))

	srv.DropNext(1)
	_, err = c.CreateInvoice(ctx, paykeeper.InvoiceParams{Amount: payments.MustDecimal("990"), OrderID: "A-LOST"})
	require.ErrorIs(t, err, payments.ErrOutcomeUnknown)
	var ou *payments.OutcomeUnknownError
	require.ErrorAs(t, err, &ou)
	assert.Equal(t, "A-LOST", ou.Ref)
	assert.Equal(t, 1, srv.Count(paykeepertest.OpInvoicePreview), "sent once")

	// The invoice was created, and the invoice list indeed does not show it.
	all := srv.Invoices()
	require.Len(t, all, 1)
	assert.Equal(t, paykeepertest.InvoiceCreated, all[0].Status)
	start, end := week()
	n := 0
	for _, err := range c.Invoices(ctx, paykeeper.InvoiceFilter{Start: start, End: end,
		Statuses: []paykeeper.InvoiceStatus{paykeeper.InvoiceSent, paykeeper.InvoicePaid, paykeeper.InvoiceExpired}}) {
		require.NoError(t, err)
		n++
	}
	assert.Zero(t, n, "the document: created invoices are not returned by the history")
	for _, err := range c.Invoices(ctx, paykeeper.InvoiceFilter{Start: start, End: end, Statuses: []paykeeper.InvoiceStatus{paykeeper.InvoiceCreated}}) {
		assert.ErrorIs(t, err, payments.ErrInvalidRequest, "asking the list for created invoices is refused")
	}
	assert.Contains(t, err.Error(), "not returned by the invoice list")
	assert.Contains(t, err.Error(), "create a new invoice")
}
