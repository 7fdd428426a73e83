package paykeeper_test

// The payment form, the recurring charge and the new reads against the fake.

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/paykeeper"
	"github.com/paysdk/payments/paykeeper/paykeepertest"
)

// noRedirect is the fake's own client, stopping at the first answer.
func noRedirect(srv *paykeepertest.Server) *http.Client {
	hc := *srv.Client()
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &hc
}

// The signed form is accepted by the fake (POSTed and as a GET link), opens
// an invoice, and paying it notifies the shop: the form flow end to end, no
// cabinet login involved on the shop's side.
func TestFormEndToEndOnTheFake(t *testing.T) {
	var (
		mu  sync.Mutex
		got []paykeeper.Notification
	)
	handler := &paykeeper.NotificationHandler{Secret: "seed-word", Handle: func(_ context.Context, n paykeeper.Notification) error {
		mu.Lock()
		got = append(got, n)
		mu.Unlock()
		return nil
	}}
	hook := httptest.NewServer(handler)
	defer hook.Close()
	srv := paykeepertest.NewServer(paykeepertest.WithT(t), paykeepertest.WithNotifications(hook.URL, "seed-word"),
		paykeepertest.WithFormSecret("form-s3cret"))
	handler.Client = newClient(t, srv) // the notification is confirmed through the API

	signer, err := paykeeper.NewFormSigner(srv.URL(), "form-s3cret")
	require.NoError(t, err)
	form := paykeeper.Form{Amount: payments.MustDecimal("990"), OrderID: "A-9", ClientID: "Сидоров", ServiceName: "Подписка",
		Email: "client@example.com"}
	v, err := signer.Values(form)
	require.NoError(t, err)
	resp, err := noRedirect(srv).PostForm(signer.Action(), v)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusFound, resp.StatusCode)
	loc := resp.Header.Get("Location")
	require.Contains(t, loc, "/bill/")
	invID := strings.Trim(strings.TrimPrefix(loc, srv.URL()+"/bill/"), "/")
	inv, ok := srv.Invoice(invID)
	require.True(t, ok)
	assert.Equal(t, "990.00", inv.Amount)
	assert.Equal(t, "A-9", inv.OrderID)

	paymentID, err := srv.PayInvoice(invID)
	require.NoError(t, err)
	mu.Lock()
	require.Len(t, got, 1)
	assert.Equal(t, paymentID, got[0].ID)
	assert.Equal(t, "A-9", got[0].OrderID)
	require.NotNil(t, got[0].Payment, "confirmed through the API")
	mu.Unlock()

	link, err := signer.URL(form)
	require.NoError(t, err)
	resp, err = srv.Client().Get(link) // follows to the bill page
	require.NoError(t, err)
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Contains(t, string(page), "990.00")
	assert.Equal(t, 2, srv.Count(paykeepertest.OpForm))
}

// A form with a wrong sign, a tampered field or a sign of another secret is
// refused by the fake and creates nothing.
func TestFormWithABadSignIsRefusedByTheFake(t *testing.T) {
	srv := paykeepertest.NewServer(paykeepertest.WithT(t), paykeepertest.WithFormSecret("form-s3cret"))
	good, err := paykeeper.NewFormSigner(srv.URL(), "form-s3cret")
	require.NoError(t, err)
	other, err := paykeeper.NewFormSigner(srv.URL(), "another-secret")
	require.NoError(t, err)
	form := paykeeper.Form{Amount: payments.MustDecimal("100"), OrderID: "B-1"}
	tampered, _ := good.Values(form)
	tampered.Set("sum", "1.00")
	wrong, _ := other.Values(form)
	unsigned, _ := good.Values(form)
	unsigned.Del("sign")
	for name, v := range map[string]url.Values{"tampered sum": tampered, "other secret": wrong, "no sign": unsigned} {
		resp, err := noRedirect(srv).PostForm(good.Action(), v)
		require.NoError(t, err, name)
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		assert.Equal(t, http.StatusBadRequest, resp.StatusCode, name)
		assert.Contains(t, string(body), paykeepertest.MsgFormBadSign, name)
	}
	assert.Empty(t, srv.Invoices(), "nothing created")
}

// A recurring charge on the fake: one payment for the order; a lost answer is
// outcome-unknown with exactly one charge made; 429 and 503 are not resent.
func TestChargeBindingOnTheFake(t *testing.T) {
	srv := paykeepertest.NewServer(paykeepertest.WithT(t))
	c := newClient(t, srv)
	ctx := context.Background()
	bank := srv.AddBinding()

	id, err := c.ChargeBinding(ctx, paykeeper.BindingCharge{BankID: bank, OrderID: "R-1", Amount: payments.MustDecimal("299"), Email: "a@example.com"})
	require.NoError(t, err)
	p, err := c.GetPayment(ctx, id)
	require.NoError(t, err)
	assert.Equal(t, "R-1", p.OrderID)
	assert.Equal(t, "299.00", p.Amount.String())

	_, err = c.ChargeBinding(ctx, paykeeper.BindingCharge{BankID: "999", OrderID: "R-2", Amount: payments.MustDecimal("1")})
	assert.ErrorIs(t, err, paykeeper.ErrRefused, "an unknown binding")
	assert.NotErrorIs(t, err, payments.ErrOutcomeUnknown)

	before := len(srv.Payments())
	srv.DropNextOp(paykeepertest.OpBindingExecute, 1) // charged, then the answer is lost
	_, err = c.ChargeBinding(ctx, paykeeper.BindingCharge{BankID: bank, OrderID: "R-3", Amount: payments.MustDecimal("299")})
	assert.ErrorIs(t, err, payments.ErrOutcomeUnknown)
	var ou *payments.OutcomeUnknownError
	require.ErrorAs(t, err, &ou)
	assert.Equal(t, "R-3", ou.Ref)
	assert.Len(t, srv.Payments(), before+1, "exactly one charge at the fake")
	assert.Equal(t, 1, countOrder(srv, "R-3"))

	for _, st := range []int{http.StatusTooManyRequests, http.StatusServiceUnavailable} {
		srv.Reset()
		srv.FailNext(1, st, "busy")
		_, err = c.ChargeBinding(ctx, paykeeper.BindingCharge{BankID: bank, OrderID: "R-4", Amount: payments.MustDecimal("299")})
		assert.ErrorIs(t, err, payments.ErrOutcomeUnknown, "%d", st)
		assert.Equal(t, 1, srv.Count(paykeepertest.OpBindingExecute), "%d: sent once", st)
	}
	assert.Zero(t, countOrder(srv, "R-4"), "the fake refused both before charging")
}

func countOrder(srv *paykeepertest.Server, order string) int {
	n := 0
	for _, p := range srv.Payments() {
		if p.OrderID == order {
			n++
		}
	}
	return n
}

// Receipts on the fake: printed, listed back; a lost answer is
// outcome-unknown with exactly one receipt printed, and never resent.
func TestReceiptsOnTheFake(t *testing.T) {
	srv := paykeepertest.NewServer(paykeepertest.WithT(t))
	c := newClient(t, srv)
	ctx := context.Background()
	id := srv.AddPayment(paykeepertest.PaymentSpec{Amount: "1500.00", OrderID: "A-1", ClientEmail: "a@example.com"})

	first, err := c.PostSaleReceipt(ctx, id)
	require.NoError(t, err)
	cart := []paykeeper.CartItem{{Name: "Доставка", Price: payments.MustDecimal("1500"), Quantity: payments.MustDecimal("1"), Sum: payments.MustDecimal("1500"), Tax: "none"}}
	second, err := c.PrintReceipt(ctx, paykeeper.ReceiptParams{PaymentID: id, Type: paykeeper.ReceiptRefund, Amount: payments.MustDecimal("1500"),
		Contact: "a@example.com", Cart: cart, ReceiptKey: "A-1-refund"})
	require.NoError(t, err)
	rs, err := c.Receipts(ctx, id)
	require.NoError(t, err)
	require.Len(t, rs, 2)
	assert.Equal(t, first, rs[0].ID)
	assert.Equal(t, second, rs[1].ID)
	assert.Equal(t, "refund", rs[1].Fields["type"])
	assert.Equal(t, "A-1-refund", rs[1].Fields["receipt_key"])

	_, err = c.PostSaleReceipt(ctx, "1")
	assert.ErrorIs(t, err, paykeeper.ErrPaymentNotFound)

	srv.DropNextOp(paykeepertest.OpReceiptPrint, 1)
	_, err = c.PrintReceipt(ctx, paykeeper.ReceiptParams{PaymentID: id, Type: paykeeper.ReceiptSale, Amount: payments.MustDecimal("1500"), Cart: cart})
	assert.ErrorIs(t, err, payments.ErrOutcomeUnknown)
	assert.Len(t, srv.Receipts(id), 3, "printed once, its answer lost")
	srv.Reset()
	srv.FailNext(1, http.StatusServiceUnavailable, "busy")
	_, err = c.PostSaleReceipt(ctx, id)
	assert.ErrorIs(t, err, payments.ErrOutcomeUnknown)
	assert.Equal(t, 1, srv.Count(paykeepertest.OpPostSaleReceipt), "503: not resent")
}

func TestDetailsErrorTotalsAndFullRefundCartOnTheFake(t *testing.T) {
	srv := paykeepertest.NewServer(paykeepertest.WithT(t))
	c := newClient(t, srv)
	ctx := context.Background()
	id := srv.AddPayment(paykeepertest.PaymentSpec{Amount: "700.00", OrderID: "A-2", ClientEmail: "b@example.com"})
	srv.AddPayment(paykeepertest.PaymentSpec{Amount: "5.00", Status: paykeepertest.StatusFailed})

	d, err := c.GetPaymentDetails(ctx, id)
	require.NoError(t, err)
	assert.Equal(t, "700.00", d.Amount.String())
	assert.Equal(t, "A-2", d.OrderID)
	assert.JSONEq(t, `"b@example.com"`, string(d.Extra["client_email"]))
	assert.Equal(t, "true", srv.Requests()[len(srv.Requests())-1].Query.Get("advanced"))

	e, err := c.ErrorTotals(ctx)
	require.NoError(t, err)
	assert.EqualValues(t, 1, e.Total)
	require.Len(t, e.Groups, 1)
	assert.EqualValues(t, 1, e.Groups[0].Total)

	cart := []paykeeper.CartItem{{Name: "Товар", Price: payments.MustDecimal("700"), Quantity: payments.MustDecimal("1"), Sum: payments.MustDecimal("700"), Tax: "vat20"}}
	require.NoError(t, c.RefundPayment(ctx, paykeeper.RefundParams{PaymentID: id, Full: true, Cart: cart, SBPRefundTo: "79161234567"}))
	p, _ := srv.Payment(id)
	require.Len(t, p.Refunds, 1)
	assert.Equal(t, `[{"name":"Товар","price":700.00,"quantity":1,"sum":700.00,"tax":"vat20"}]`, p.Refunds[0].RefundCart)
	assert.Equal(t, "79161234567", p.Refunds[0].SBPRefundTo)
	assert.Equal(t, "700.00", p.Refunds[0].Amount)
}
