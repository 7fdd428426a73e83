package paykeeper_test

// The client against the fake PayKeeper cabinet, over real TLS on loopback.

import (
	"bytes"
	"context"
	"log/slog"
	"net/http/httptest"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/paykeeper"
	"github.com/paysdk/payments/paykeeper/paykeepertest"
)

func newClient(t testing.TB, srv *paykeepertest.Server, extra ...payments.Option) *paykeeper.Client {
	t.Helper()
	opts := append(srv.ClientOptions(), payments.WithLimiter(payments.Unlimited()),
		payments.WithRetry(payments.RetryPolicy{MaxAttempts: 2, BaseDelay: time.Millisecond, MaxDelay: time.Millisecond}))
	c, err := paykeeper.New(paykeeper.Credentials{User: paykeepertest.DefaultUser, Password: paykeepertest.DefaultPassword}, append(opts, extra...)...)
	require.NoError(t, err)
	return c
}

func week() (time.Time, time.Time) { return time.Now().AddDate(0, 0, -7), time.Now() }

func systemIDs(t testing.TB, c *paykeeper.Client) []string {
	systems, err := c.PaymentSystems(context.Background())
	require.NoError(t, err)
	require.NotEmpty(t, systems)
	var ids []string
	for _, s := range systems {
		ids = append(ids, s.ID)
	}
	return ids
}

func TestRefundsAgainstTheFake(t *testing.T) {
	srv := paykeepertest.NewServer(paykeepertest.WithT(t))
	c := newClient(t, srv)
	ctx := context.Background()
	id := srv.AddPayment(paykeepertest.PaymentSpec{Amount: "1000.00", OrderID: "A-1"})

	require.NoError(t, c.RefundPayment(ctx, paykeeper.RefundParams{PaymentID: id, Amount: payments.MustDecimal("300")}))
	p, err := c.GetPayment(ctx, id)
	require.NoError(t, err)
	assert.Equal(t, paykeeper.PaymentPartiallyRefunded, p.Status)
	assert.Equal(t, "300.00", p.RefundAmount.String())

	err = c.RefundPayment(ctx, paykeeper.RefundParams{PaymentID: id, Amount: payments.MustDecimal("800")})
	assert.ErrorIs(t, err, payments.ErrDeclined, "beyond what is left")
	var api *payments.APIError
	require.ErrorAs(t, err, &api)
	assert.NotEmpty(t, api.Message)

	require.NoError(t, c.RefundPayment(ctx, paykeeper.RefundParams{PaymentID: id, Amount: payments.MustDecimal("700")}))
	refunds, err := c.Refunds(ctx, id)
	require.NoError(t, err)
	require.Len(t, refunds, 2)
	assert.Equal(t, "0.00", refunds[1].Remainder.String())
	p, _ = c.GetPayment(ctx, id)
	assert.Equal(t, paykeeper.PaymentRefunded, p.Status)

	srv.SetRefundAllowed(false)
	other := srv.AddPayment(paykeepertest.PaymentSpec{Amount: "10.00"})
	assert.ErrorIs(t, c.RefundPayment(ctx, paykeeper.RefundParams{PaymentID: other, Full: true}), payments.ErrDeclined, "no refund rights")
}

func TestLostRefundIsNeverResent(t *testing.T) {
	srv := paykeepertest.NewServer(paykeepertest.WithT(t))
	c := newClient(t, srv)
	ctx := context.Background()
	id := srv.AddPayment(paykeepertest.PaymentSpec{Amount: "1000.00"})
	require.NoError(t, c.ResetNotificationCounter(ctx, id)) // the token is cached now
	srv.DropNext(1)                                         // the refund is carried out, its answer lost
	err := c.RefundPayment(ctx, paykeeper.RefundParams{PaymentID: id, Amount: payments.MustDecimal("100")})
	assert.ErrorIs(t, err, payments.ErrOutcomeUnknown)
	assert.Equal(t, 1, srv.Count(paykeepertest.OpReverse), "sent once")
	refunds, err := c.Refunds(ctx, id)
	require.NoError(t, err)
	require.Len(t, refunds, 1, "the refunds list tells what happened")
	assert.Equal(t, "100.00", refunds[0].Amount.String())
}

func TestTokenRotationIsInvisible(t *testing.T) {
	srv := paykeepertest.NewServer(paykeepertest.WithT(t))
	c := newClient(t, srv)
	ctx := context.Background()
	id := srv.AddPayment(paykeepertest.PaymentSpec{Amount: "50.00"})
	require.NoError(t, c.ResetNotificationCounter(ctx, id))
	srv.RotateToken()
	require.NoError(t, c.ResetNotificationCounter(ctx, id), "error 67, a fresh token, the POST once more")
	assert.Equal(t, 2, srv.TokenFetches())

	var wg sync.WaitGroup
	c2 := newClient(t, srv)
	for i := 0; i < 100; i++ {
		wg.Add(1)
		go func() { defer wg.Done(); assert.NoError(t, c2.ResetNotificationCounter(ctx, id)) }()
	}
	wg.Wait()
	assert.Equal(t, 3, srv.TokenFetches(), "100 concurrent POSTs of a new client: one fetch")
}

func TestInvoiceLifecycleAndNotification(t *testing.T) {
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
	srv := paykeepertest.NewServer(paykeepertest.WithT(t), paykeepertest.WithNotifications(hook.URL, "seed-word"))
	c := newClient(t, srv)
	handler.Client = c // confirms each notification through the API
	ctx := context.Background()

	inv, err := c.CreateInvoice(ctx, paykeeper.InvoiceParams{Amount: payments.MustDecimal("990"), ClientID: "Сидоров", OrderID: "A-7",
		Service: paykeeper.ServiceName{Name: "Подписка", UserResultCallback: "https://shop.example/done"}})
	require.NoError(t, err)
	assert.NotEmpty(t, inv.URL)
	i, err := c.GetInvoice(ctx, inv.ID)
	require.NoError(t, err)
	assert.Equal(t, paykeeper.InvoiceCreated, i.Status)
	require.NoError(t, c.SendInvoice(ctx, inv.ID))
	i, _ = c.GetInvoice(ctx, inv.ID)
	assert.Equal(t, paykeeper.InvoiceSent, i.Status)

	paymentID, err := srv.PayInvoice(inv.ID)
	require.NoError(t, err)
	i, _ = c.GetInvoice(ctx, inv.ID)
	assert.Equal(t, paykeeper.InvoicePaid, i.Status)
	assert.Equal(t, paymentID, i.PaymentID)

	mu.Lock()
	require.Len(t, got, 1)
	assert.Equal(t, paymentID, got[0].ID)
	sum, _ := got[0].Sum.StringFixed(2)
	assert.Equal(t, "990.00", sum)
	assert.Equal(t, "A-7", got[0].OrderID)
	require.NotNil(t, got[0].Payment, "confirmed through the API")
	assert.Equal(t, paymentID, got[0].Payment.ID)
	mu.Unlock()
	res := srv.Notifications()
	require.Len(t, res, 1)
	assert.True(t, res[0].Acknowledged, "the handler's reply is the one PayKeeper accepts")

	_, err = c.GetInvoice(ctx, "12345678901234567")
	assert.ErrorIs(t, err, paykeeper.ErrInvoiceNotFound)
}

func TestWrongCredentialsAreUnauthorized(t *testing.T) {
	srv := paykeepertest.NewServer(paykeepertest.WithT(t))
	c, err := paykeeper.New(paykeeper.Credentials{User: "demo", Password: "wrong-pw-123"}, append(srv.ClientOptions(), payments.WithLimiter(payments.Unlimited()))...)
	require.NoError(t, err)
	var logs bytes.Buffer
	_, err = c.UserSettings(context.Background())
	assert.ErrorIs(t, err, payments.ErrUnauthorized)
	assert.NotContains(t, err.Error(), "wrong-pw-123")
	slog.New(slog.NewTextHandler(&logs, nil)).Info("x", "cred", paykeeper.Credentials{User: "demo", Password: "wrong-pw-123"})
	assert.NotContains(t, logs.String(), "wrong-pw-123")
}

// memWriter discards what it gets and samples the heap as it goes.
type memWriter struct {
	n, next, peak uint64
}

func (w *memWriter) Write(p []byte) (int, error) {
	w.n += uint64(len(p))
	if w.n >= w.next {
		w.next += 1 << 20
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		if ms.HeapAlloc > w.peak {
			w.peak = ms.HeapAlloc
		}
	}
	return len(p), nil
}

func TestExportStreamsWithFlatMemory(t *testing.T) {
	const size = 64 << 20
	srv := paykeepertest.NewServer(paykeepertest.WithT(t), paykeepertest.WithExportSize(size))
	c := newClient(t, srv)
	start, end := week()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	w := &memWriter{}
	n, err := c.ExportPayments(context.Background(), w, paykeeper.ExportFilter{
		PaymentFilter: paykeeper.PaymentFilter{Start: start, End: end, Statuses: paykeeper.AllPaymentStatuses, PaymentSystemIDs: systemIDs(t, c)}, Limit: 1000})
	require.NoError(t, err)
	assert.EqualValues(t, size, n)
	assert.Less(t, int64(w.peak)-int64(ms.HeapAlloc), int64(16<<20), "64 MiB streamed, heap grew by less than 16 MiB")
}

func TestPaymentsIteratorPagesAgainstTheFake(t *testing.T) {
	srv := paykeepertest.NewServer(paykeepertest.WithT(t))
	c := newClient(t, srv)
	for i := 0; i < 25; i++ {
		srv.AddPayment(paykeepertest.PaymentSpec{Amount: "10.00"})
	}
	start, end := week()
	n := 0
	total := payments.Decimal{}
	for p, err := range c.Payments(context.Background(), paykeeper.PaymentFilter{Start: start, End: end, Statuses: paykeeper.AllPaymentStatuses, PaymentSystemIDs: systemIDs(t, c), PageSize: 10}) {
		require.NoError(t, err)
		n++
		total = total.Add(p.Amount)
	}
	assert.Equal(t, 25, n)
	assert.Equal(t, "250.00", total.String())
	assert.Equal(t, 3, srv.Count(paykeepertest.OpPaymentsByDate), "pages of 10, 10, 5")
}

// TestRefundAndInvoiceAreSentOnceOn429And503: against the fake, a refund
// and an invoice creation answered 429 or 503 are sent once and reported
// outcome-unknown with the status: the document does not say such an
// answer means "not processed".
func TestRefundAndInvoiceAreSentOnceOn429And503(t *testing.T) {
	srv := paykeepertest.NewServer(paykeepertest.WithT(t))
	c := newClient(t, srv, payments.WithTestTiming())
	ctx := context.Background()
	id := srv.AddPayment(paykeepertest.PaymentSpec{Amount: "1000.00"})
	require.NoError(t, c.ResetNotificationCounter(ctx, id)) // the token is cached now
	for _, st := range []int{429, 503} {
		srv.Reset()
		srv.FailNext(1, st, "<html><body>busy</body></html>")
		err := c.RefundPayment(ctx, paykeeper.RefundParams{PaymentID: id, Amount: payments.MustDecimal("10")})
		assert.ErrorIs(t, err, payments.ErrOutcomeUnknown)
		var api *payments.APIError
		require.ErrorAs(t, err, &api)
		assert.Equal(t, st, api.HTTPStatus)
		assert.Equal(t, 1, srv.Count(paykeepertest.OpReverse), "%d: sent exactly once", st)

		srv.FailNext(1, st, "<html><body>busy</body></html>")
		_, err = c.CreateInvoice(ctx, paykeeper.InvoiceParams{Amount: payments.MustDecimal("990"), OrderID: "A-1"})
		assert.ErrorIs(t, err, payments.ErrOutcomeUnknown)
		require.ErrorAs(t, err, &api)
		assert.Equal(t, st, api.HTTPStatus)
		assert.Equal(t, 1, srv.Count(paykeepertest.OpInvoicePreview), "%d: sent exactly once", st)
	}
}
