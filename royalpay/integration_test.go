package royalpay_test

// The client and the callback handler against the fake RoyalPay, over real
// TLS on loopback.

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/royalpay"
	"github.com/paysdk/payments/royalpay/royalpaytest"
)

func newClient(t testing.TB, srv *royalpaytest.Server, extra ...payments.Option) *royalpay.Client {
	t.Helper()
	opts := append(srv.ClientOptions(), payments.WithLimiter(payments.Unlimited()),
		payments.WithRetry(payments.RetryPolicy{MaxAttempts: 3, BaseDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond}))
	c, err := royalpay.New(royalpay.Credentials{Token: srv.Token()}, append(opts, extra...)...)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func params(typ royalpay.TransferType, outter string) royalpay.CreateParams {
	return royalpay.CreateParams{Sum: payments.MustDecimal("1500"), Type: typ, OutterID: outter, Geo: royalpay.GeoRussia}
}

func TestCreateEveryTypeGivesItsRequisites(t *testing.T) {
	srv := royalpaytest.NewServer(royalpaytest.WithT(t))
	c := newClient(t, srv)
	check := map[royalpay.TransferType]func(royalpay.Payment) bool{
		royalpay.TypeSBP:             func(p royalpay.Payment) bool { return p.SBPPhoneNumber != "" },
		royalpay.TypeCard:            func(p royalpay.Payment) bool { return len(p.CardNumber) == 16 },
		royalpay.TypeAccount:         func(p royalpay.Payment) bool { return len(p.AccountNumber) == 20 },
		royalpay.TypeTransgranNumber: func(p royalpay.Payment) bool { return p.CardNumber != "" && p.TPayLink != "" },
		royalpay.TypeTransgranSBP:    func(p royalpay.Payment) bool { return p.SBPPhoneNumber != "" && p.TPayLink != "" },
		royalpay.TypeYandexTips:      func(p royalpay.Payment) bool { return p.TipsID != "" && p.NSPKURL != "" && p.SBPPhoneNumber != "" },
		royalpay.TypeNSPK:            func(p royalpay.Payment) bool { return p.QRCode != "" },
		royalpay.TypeMobileCommerce:  func(p royalpay.Payment) bool { return p.SBPPhoneNumber != "" },
		royalpay.TypeQRCode:          func(p royalpay.Payment) bool { return p.QRCodeLink != "" && p.AccountNumber != "" },
		royalpay.TypeQuasiEcom:       func(p royalpay.Payment) bool { return p.ID > 0 },
	}
	for typ, ok := range check {
		p, err := c.CreatePayment(context.Background(), params(typ, "ORD-"+string(typ)))
		require.NoError(t, err, typ)
		assert.True(t, ok(p), "%s: %v", typ, p)
		assert.Equal(t, royalpay.StatusCreated, p.Status)
		assert.Equal(t, typ, p.Type)
		assert.Equal(t, "1500.00", p.Sum.String())
		require.NotNil(t, p.Detail)
		assert.Positive(t, p.Detail.AmountInUSDT.Sign())
		got, err := c.GetPayment(context.Background(), p.ID)
		require.NoError(t, err)
		assert.Equal(t, p.ID, got.ID)
		assert.Equal(t, "ORD-"+string(typ), got.OutterID)
	}
}

func TestCreateIsNeverSentTwice(t *testing.T) {
	srv := royalpaytest.NewServer(royalpaytest.WithT(t))
	c := newClient(t, srv)
	inject := map[string]func(){
		"drop":     func() { srv.DropNext(1) },
		"timeout":  func() { srv.ServerTimeoutNext(1) },
		"502 html": func() { srv.GarbageNext(1) },
		"truncate": func() { srv.TruncateNext(1) },
		"500":      func() { srv.FailNext(1, 500, "Internal Server Error") },
	}
	for name, f := range inject {
		before := srv.Count(royalpaytest.OpCreate)
		f()
		_, err := c.CreatePayment(context.Background(), params(royalpay.TypeSBP, "ORD-"+name))
		assert.ErrorIs(t, err, payments.ErrOutcomeUnknown, name)
		var ou *payments.OutcomeUnknownError
		require.ErrorAs(t, err, &ou, name)
		assert.Equal(t, "ORD-"+name, ou.Ref, name)
		assert.Equal(t, before+1, srv.Count(royalpaytest.OpCreate), "%s: sent exactly once", name)
	}
	_, err := c.CreatePayment(context.Background(), params(royalpay.TypeSBP, "ORD-x"))
	require.NoError(t, err)
}

func TestProviderTimeoutHeader(t *testing.T) {
	srv := royalpaytest.NewServer(royalpaytest.WithT(t))
	c := newClient(t, srv)
	srv.DelayNext(1, 3*time.Second)
	p := params(royalpay.TypeSBP, "ORD-slow")
	p.RequestTimeout = time.Second
	_, err := c.CreatePayment(context.Background(), p)
	assert.ErrorIs(t, err, royalpay.ErrServerTimeout)
	assert.ErrorIs(t, err, payments.ErrOutcomeUnknown, "the payment was created behind the timeout")
	assert.Len(t, srv.Payments(), 1)
}

func TestRefusalsCreateNothing(t *testing.T) {
	srv := royalpaytest.NewServer(royalpaytest.WithT(t))
	c := newClient(t, srv)
	srv.NoCardsNext(1)
	_, err := c.CreatePayment(context.Background(), params(royalpay.TypeCard, "A"))
	assert.ErrorIs(t, err, royalpay.ErrNoAvailableCards)
	assert.NotErrorIs(t, err, payments.ErrOutcomeUnknown)
	srv.NoCards40006Next(1)
	_, err = c.CreatePayment(context.Background(), params(royalpay.TypeCard, "B"))
	assert.ErrorIs(t, err, royalpay.ErrNoAvailableCards)
	srv.CreationFailedNext(1)
	_, err = c.CreatePayment(context.Background(), params(royalpay.TypeCard, "C"))
	assert.ErrorIs(t, err, royalpay.ErrCreationFailed)
	srv.BlockClient("spam")
	_, err = c.CreatePayment(context.Background(), params(royalpay.TypeCard, "D"))
	assert.ErrorIs(t, err, royalpay.ErrClientBlocked)
	assert.ErrorIs(t, err, payments.ErrForbidden)
	assert.ErrorContains(t, err, "Reason: spam")
	srv.BlockClient("")
	assert.Empty(t, srv.Payments())

	bad, err := royalpay.New(royalpay.Credentials{Token: "wrong-token"}, append(srv.ClientOptions(), payments.WithLimiter(payments.Unlimited()))...)
	require.NoError(t, err)
	_, err = bad.CreatePayment(context.Background(), params(royalpay.TypeCard, "E"))
	assert.ErrorIs(t, err, payments.ErrUnauthorized)
	assert.NotContains(t, err.Error(), "wrong-token")
	_, err = c.GetPayment(context.Background(), 999)
	assert.ErrorIs(t, err, payments.ErrNotFound)
}

func TestCallbacksEndToEnd(t *testing.T) {
	srv := royalpaytest.NewServer(royalpaytest.WithT(t), royalpaytest.WithCallbackToken("cb-static-token"))
	c := newClient(t, srv)
	var (
		mu     sync.Mutex
		events []royalpay.Event
	)
	hook := httptest.NewServer(&royalpay.CallbackHandler{Client: c, BearerToken: "cb-static-token", ConfirmRate: 1000,
		Handle: func(_ context.Context, e royalpay.Event) error {
			mu.Lock()
			events = append(events, e)
			mu.Unlock()
			return nil
		}})
	defer hook.Close()

	p := params(royalpay.TypeSBP, "ORD-cb")
	p.CallbackURL = hook.URL + "/cb"
	p.AllowAnotherAmount = true
	pay, err := c.CreatePayment(context.Background(), p)
	require.NoError(t, err)

	require.NoError(t, srv.SetAmount(pay.ID, "1499.50"))
	res, err := srv.Complete(pay.ID)
	require.NoError(t, err)
	assert.Equal(t, 200, res.Status)
	assert.JSONEq(t, `{"ok":true}`, string(res.Body))
	res, err = srv.Refund(pay.ID)
	require.NoError(t, err)
	assert.Equal(t, 200, res.Status)

	mu.Lock()
	defer mu.Unlock()
	require.Len(t, events, 2)
	assert.Equal(t, royalpay.StatusCompleted, events[0].Status())
	assert.Equal(t, "1499.50", events[0].Payment.Sum.String(), "the changed amount, from the API")
	assert.Equal(t, "ORD-cb", events[0].Callback.OutterID)
	assert.Equal(t, royalpay.StatusRefund, events[1].Status())
	assert.Equal(t, payments.StateRefunded, events[1].Status().State())
	assert.Equal(t, 2, srv.Count(royalpaytest.OpGet), "each callback confirmed through the API")

	// Without the bearer token the callback is refused, so the provider retries.
	plain := royalpaytest.NewServer(royalpaytest.WithT(t))
	c2 := newClient(t, plain)
	hook2 := httptest.NewServer(&royalpay.CallbackHandler{Client: c2, BearerToken: "cb-static-token", Handle: func(context.Context, royalpay.Event) error { return nil }})
	defer hook2.Close()
	p.CallbackURL = hook2.URL
	pay2, err := c2.CreatePayment(context.Background(), p)
	require.NoError(t, err)
	res, err = plain.Complete(pay2.ID)
	require.NoError(t, err)
	assert.Equal(t, http.StatusUnauthorized, res.Status)
}

func TestNoTokenInLogsOrErrors(t *testing.T) {
	srv := royalpaytest.NewServer(royalpaytest.WithT(t), royalpaytest.WithToken("rp-live-SECRET-42"))
	var logs bytes.Buffer
	c := newClient(t, srv, payments.WithLogger(slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))))
	srv.FailNext(1, 500, "oops")
	_, err := c.CreatePayment(context.Background(), params(royalpay.TypeCard, "ORD-log"))
	require.Error(t, err)
	p, err := c.CreatePayment(context.Background(), params(royalpay.TypeCard, "ORD-log2"))
	require.NoError(t, err)
	slog.New(slog.NewTextHandler(&logs, nil)).Info("payment", "p", p, "creds", royalpay.Credentials{Token: "rp-live-SECRET-42"})
	assert.NotContains(t, logs.String(), "SECRET")
	assert.NotContains(t, logs.String(), p.CardNumber)
	assert.Contains(t, logs.String(), "op=create")
}

func TestCallbackDecodeOfTheFakesPayload(t *testing.T) {
	srv := royalpaytest.NewServer(royalpaytest.WithT(t), royalpaytest.WithCallbackToken("cb-static-token"))
	c := newClient(t, srv)
	got := make(chan royalpay.Callback, 1)
	hook := httptest.NewServer(&royalpay.CallbackHandler{SkipConfirm: true, BearerToken: "cb-static-token", Handle: func(_ context.Context, e royalpay.Event) error {
		got <- e.Callback
		return nil
	}})
	defer hook.Close()
	p := params(royalpay.TypeCard, "ORD-raw")
	p.CallbackURL = hook.URL
	pay, err := c.CreatePayment(context.Background(), p)
	require.NoError(t, err)
	_, err = srv.Cancel(pay.ID)
	require.NoError(t, err)
	select {
	case cb := <-got:
		assert.Equal(t, pay.ID, cb.ID)
		assert.Equal(t, royalpay.StatusCanceled, cb.Status)
		assert.Equal(t, "1500.00", cb.Amount.String())
		assert.Equal(t, "card_number", cb.Method)
	case <-time.After(60 * time.Second):
		t.Fatal("no callback")
	}
}
