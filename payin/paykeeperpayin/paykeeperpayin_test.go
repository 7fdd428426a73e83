package paykeeperpayin_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/payin"
	"github.com/paysdk/payments/payin/payintest"
	"github.com/paysdk/payments/payin/paykeeperpayin"
	"github.com/paysdk/payments/paykeeper"
	"github.com/paysdk/payments/paykeeper/paykeepertest"
	"github.com/paysdk/payments/payout/payouttest"
)

// secret is the fake cabinet's informer_seed.
const secret = "informer-seed-s3cr3t"

var nextOrder atomic.Int64

func request() payin.Request {
	return payin.Request{
		OrderRef:    "ORD-" + strconv.FormatInt(nextOrder.Add(1), 10),
		Amount:      payments.MustMoney("1500.00", "RUB"),
		Description: "Доставка документов",
		Customer:    payin.Customer{Name: "Иванов Иван", Email: "ivanov@example.com", Phone: "+79254973590"},
		ReturnURL:   "https://shop.example/return",
		CallbackURL: "https://shop.example/notify/paykeeper", // not PayKeeper's: ignored
	}
}

// newFake starts a fake cabinet whose POST informer signs with secret; Pay
// points its informer_url at the endpoint under test.
func newFake(t *testing.T) *paykeepertest.Server {
	return paykeepertest.NewServer(paykeepertest.WithT(t),
		paykeepertest.WithNotifications("http://127.0.0.1:1/not-set-yet", secret))
}

func newDriver(t *testing.T, srv *paykeepertest.Server, o paykeeperpayin.Options, opts ...payments.Option) *paykeeperpayin.Driver {
	t.Helper()
	c, err := paykeeper.New(paykeeper.Credentials{User: paykeepertest.DefaultUser, Password: paykeepertest.DefaultPassword},
		append(srv.ClientOptions(), opts...)...)
	require.NoError(t, err)
	d := paykeeperpayin.New(c, o)
	t.Cleanup(func() { d.Close() })
	return d
}

// pay makes the fake's payer pay the invoice: PayKeeper then POSTs its
// notification to the informer_url, here endpoint, and the fake records the
// answer. It returns that answer's status.
func pay(t *testing.T, srv *paykeepertest.Server, co payin.Checkout, endpoint string) int {
	t.Helper()
	srv.SetSetting("informer_url", endpoint)
	id, err := srv.PayInvoice(co.ID)
	require.NoError(t, err)
	for _, n := range srv.Notifications() {
		if n.PaymentID != id {
			continue
		}
		if n.Err != nil {
			t.Fatalf("the notification of payment %s was not delivered: %v", id, n.Err)
		}
		if n.Status == http.StatusOK && !n.Acknowledged {
			t.Errorf("notification answered 200 but not acknowledged: %q", n.Body)
		}
		return n.Status
	}
	t.Fatalf("no notification sent for payment %s", id)
	return 0
}

func postForm(t *testing.T, endpoint string, form url.Values) int {
	t.Helper()
	resp, err := http.PostForm(endpoint, form)
	require.NoError(t, err)
	resp.Body.Close()
	return resp.StatusCode
}

// forge posts what an attacker can make for co's order: a notification with
// a wrong key; a genuine notification re-cut (id 301 of 100.00 becomes id
// 30 of 1100.00, the same key) as the paykeeper package documents; and a
// validly signed notification of a payment of the order whose money was not
// taken (a leaked secret).
func forge(t *testing.T, srv *paykeepertest.Server, co payin.Checkout, endpoint string) []int {
	t.Helper()
	sum, err := co.Amount.Fixed()
	require.NoError(t, err)
	// A genuine paid payment of the order whose id does not end in 0, so
	// that its last digit moved into the sum gives a well-formed sum.
	var genuine string
	for genuine == "" || strings.HasSuffix(genuine, "0") {
		genuine = srv.AddPayment(paykeepertest.PaymentSpec{Amount: "15.00", OrderID: co.OrderRef})
	}
	fields := map[string]string{"id": genuine, "sum": "15.00", "orderid": co.OrderRef}

	var sts []int
	// 1. A wrong key.
	sts = append(sts, postForm(t, endpoint, paykeepertest.NotificationForm(fields, "not-the-secret")))

	// 2. The re-cut: same key, id one digit shorter, that digit in front of
	// the sum.
	recut := paykeepertest.NotificationForm(fields, secret)
	last := len(genuine) - 1
	recut.Set("id", genuine[:last])
	recut.Set("sum", genuine[last:]+"15.00")
	require.Equal(t, paykeepertest.SignNotification(recut.Get("id"), recut.Get("sum"), "", co.OrderRef, secret), recut.Get("key"),
		"the re-cut must be validly signed")
	sts = append(sts, postForm(t, endpoint, recut))

	// 3. A payment of the order, in full, whose money was not taken,
	// reported paid with a valid key.
	unpaid := srv.AddPayment(paykeepertest.PaymentSpec{Amount: sum, OrderID: co.OrderRef, Status: paykeepertest.StatusPending})
	sts = append(sts, postForm(t, endpoint, paykeepertest.NotificationForm(
		map[string]string{"id": unpaid, "sum": sum, "orderid": co.OrderRef}, secret)))
	return sts
}

func fixture(t *testing.T, opts ...payments.Option) payintest.Fixture {
	srv := newFake(t)
	d := newDriver(t, srv, paykeeperpayin.Options{Secret: secret}, opts...)
	return payintest.Fixture{
		Driver: d,
		// Only the invoice creation: the client's token fetch before its
		// first POST is answered.
		LoseAnswers: func(n int) { srv.DropNextOp(paykeepertest.OpInvoicePreview, n) },
		Requests:    func() int { return len(srv.Requests()) },
		Pay: func(t *testing.T, co payin.Checkout, endpoint string) int {
			return pay(t, srv, co, endpoint)
		},
		Forge: func(t *testing.T, co payin.Checkout, endpoint string) []int {
			return forge(t, srv, co, endpoint)
		},
	}
}

func TestConformance(t *testing.T) {
	payintest.RunConformanceTests(t, payintest.Harness{
		New:            fixture,
		Request:        request,
		ProviderClient: new(*paykeeper.Client),
	})
}

// suiteOpts are the client options of the suite: test timing and a fast retry.
func suiteOpts() []payments.Option {
	return []payments.Option{payments.WithTestTiming(),
		payments.WithRetry(payments.RetryPolicy{MaxAttempts: payouttest.Attempts, BaseDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond})}
}

// setup is a portable client over a fresh fake, and an endpoint serving its
// notifications into events.
type setup struct {
	srv      *paykeepertest.Server
	c        *payin.Client
	endpoint string

	mu     sync.Mutex
	events []payin.Event
}

func newSetup(t *testing.T, o paykeeperpayin.Options) *setup {
	s := &setup{srv: newFake(t)}
	s.c = payin.NewClient(newDriver(t, s.srv, o, suiteOpts()...))
	if o.Secret != "" {
		h, err := payin.NewHandler(func(_ context.Context, e payin.Event) error {
			s.mu.Lock()
			defer s.mu.Unlock()
			s.events = append(s.events, e)
			return nil
		}, s.c)
		require.NoError(t, err)
		hs := httptest.NewServer(h)
		t.Cleanup(hs.Close)
		s.endpoint = hs.URL + "/notify/paykeeper"
	}
	return s
}

func (s *setup) paid(t *testing.T, r payin.Request) payin.Checkout {
	t.Helper()
	co, err := s.c.Create(context.Background(), r)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, pay(t, s.srv, co, s.endpoint))
	return co
}

func (s *setup) all() []payin.Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]payin.Event(nil), s.events...)
}

// env is an OpenEnv lookup over m.
func env(m map[string]string) payments.OpenOption {
	return payments.OpenEnv(func(k string) (string, bool) { v, ok := m[k]; return v, ok })
}

func TestOpen(t *testing.T) {
	ctx := context.Background()
	srv := newFake(t)
	full := map[string]string{"PAYKEEPER_USER": paykeepertest.DefaultUser, "PAYKEEPER_PASSWORD": paykeepertest.DefaultPassword,
		"PAYKEEPER_URL": srv.URL()}
	fake := payments.OpenClientOptions(append(srv.ClientOptions(), suiteOpts()...)...)
	without := func(k string) map[string]string {
		m := map[string]string{}
		for x, v := range full {
			if x != k {
				m[x] = v
			}
		}
		return m
	}
	refused := func(t *testing.T, field, url string, opts ...payments.OpenOption) {
		t.Helper()
		_, err := payin.Open(ctx, url, opts...)
		var v *payments.ValidationError
		require.ErrorAs(t, err, &v)
		assert.Equal(t, field, v.Field, "%v", err)
	}

	t.Run("MissingCredentialIsNamed", func(t *testing.T) {
		refused(t, "PAYKEEPER_PASSWORD", "paykeeper://", env(without("PAYKEEPER_PASSWORD")))
		refused(t, "PAYKEEPER_USER", "paykeeper://", env(without("PAYKEEPER_USER")))
	})
	t.Run("NoServerIsNamed", func(t *testing.T) {
		// No base_url, no PAYKEEPER_URL, no WithBaseURL among the options.
		refused(t, "PAYKEEPER_URL", "paykeeper://", env(without("PAYKEEPER_URL")))
	})
	t.Run("UnknownParameterRefused", func(t *testing.T) {
		refused(t, "url", "paykeeper://?base_url="+url.QueryEscape(srv.URL())+"&secret=x", env(full))
		refused(t, "url", "paykeeper://?expiry=3", env(full))
		refused(t, "url", "paykeeper://user:pw@", env(full))
		for _, bad := range []string{"0", "-1", "x", "367"} {
			refused(t, "expiry_days", "paykeeper://?expiry_days="+bad, env(full))
		}
	})
	t.Run("WrongCredentialsType", func(t *testing.T) {
		refused(t, "credentials", "paykeeper://", env(full), payments.OpenCredentials("demo:demo"))
	})
	t.Run("NoSecretNoNotifications", func(t *testing.T) {
		c, err := payin.Open(ctx, "paykeeper://", env(full), fake)
		require.NoError(t, err)
		defer c.Close()
		_, err = payin.NewHandler(func(context.Context, payin.Event) error { return nil }, c)
		var v *payments.ValidationError
		require.ErrorAs(t, err, &v)
		assert.Equal(t, "PAYKEEPER_SECRET", v.Field)
		// Everything else works without it.
		_, err = c.Create(ctx, request())
		require.NoError(t, err)
	})
	t.Run("OpensAndWorks", func(t *testing.T) {
		m := map[string]string{"PAYKEEPER_SECRET": secret}
		for k, v := range full {
			m[k] = v
		}
		c, err := payin.Open(ctx, "paykeeper://?expiry_days=3&base_url="+url.QueryEscape(srv.URL()), env(m), fake)
		require.NoError(t, err)
		defer c.Close()
		assert.Equal(t, "paykeeper", c.Provider())
		var pk *paykeeper.Client
		require.True(t, c.As(&pk))
		_, err = payin.NewHandler(func(context.Context, payin.Event) error { return nil }, c)
		require.NoError(t, err)
		co, err := c.Create(ctx, request())
		require.NoError(t, err)
		inv, ok := srv.Invoice(co.ID)
		require.True(t, ok)
		// Payable today and the next two days: the expiry is midnight (Moscow)
		// three days from now.
		want := time.Now().In(paykeepertest.Moscow).AddDate(0, 0, 3)
		assert.Equal(t, time.Date(want.Year(), want.Month(), want.Day(), 0, 0, 0, 0, paykeepertest.Moscow).Unix(), inv.Expiry.Unix())
	})
	t.Run("ExplicitCredentials", func(t *testing.T) {
		c, err := payin.Open(ctx, "paykeeper://", env(map[string]string{}), fake,
			payments.OpenCredentials(paykeeper.Credentials{User: paykeepertest.DefaultUser, Password: paykeepertest.DefaultPassword}))
		require.NoError(t, err)
		defer c.Close()
		_, err = c.Create(ctx, request())
		require.NoError(t, err)
	})
}

// TestCreateSendsTheInvoiceFields: what reaches PayKeeper for a checkout.
func TestCreateSendsTheInvoiceFields(t *testing.T) {
	s := newSetup(t, paykeeperpayin.Options{Secret: secret})
	r := request()
	co, err := s.c.Create(context.Background(), r)
	require.NoError(t, err)
	assert.Equal(t, payments.StatePending, co.State)
	assert.Equal(t, s.srv.URL()+"/bill/"+co.ID+"/", co.PaymentURL)
	require.IsType(t, paykeeper.CreatedInvoice{}, co.Raw)

	inv, ok := s.srv.Invoice(co.ID)
	require.True(t, ok)
	assert.Equal(t, "1500.00", inv.Amount)
	assert.Equal(t, r.OrderRef, inv.OrderID)
	assert.Equal(t, r.Customer.Name, inv.ClientID)
	assert.Equal(t, r.Customer.Email, inv.ClientEmail)
	assert.Equal(t, r.Customer.Phone, inv.ClientPhone)
	assert.JSONEq(t, `{"service_name":"Доставка документов","user_result_callback":"https://shop.example/return"}`, inv.ServiceName)
	assert.NotContains(t, inv.ServiceName, r.CallbackURL, "PayKeeper's informer_url is the cabinet's, not the request's")

	// Methods the API cannot pick are refused before sending.
	before := len(s.srv.Requests())
	r = request()
	r.Method = payin.Card
	_, err = s.c.Create(context.Background(), r)
	var v *payments.ValidationError
	require.ErrorAs(t, err, &v)
	assert.Equal(t, before, len(s.srv.Requests()))
}

func TestGetMapsInvoiceStates(t *testing.T) {
	s := newSetup(t, paykeeperpayin.Options{Secret: secret})
	ctx := context.Background()

	co, err := s.c.Create(ctx, request())
	require.NoError(t, err)
	got, err := s.c.Get(ctx, co.ID)
	require.NoError(t, err)
	assert.Equal(t, payments.StatePending, got.State, "created")
	require.True(t, s.srv.ExpireInvoice(co.ID))
	got, err = s.c.Get(ctx, co.ID)
	require.NoError(t, err)
	assert.Equal(t, payments.StateCanceled, got.State, "expired")
	assert.Equal(t, co.OrderRef, got.OrderRef)
	assert.True(t, got.Amount.Equal(payments.MustMoney("1500", "RUB")))

	paid := s.paid(t, request())
	got, err = s.c.Get(ctx, paid.ID)
	require.NoError(t, err)
	assert.Equal(t, payments.StateSucceeded, got.State, "paid")
	inv, ok := got.Raw.(paykeeper.Invoice)
	require.True(t, ok, "Raw is %T", got.Raw)
	assert.NotEmpty(t, inv.PaymentID)

	_, err = s.c.Get(ctx, "12345678901234567")
	assert.ErrorIs(t, err, payments.ErrNotFound)
}

func TestRefundFullAndPartial(t *testing.T) {
	s := newSetup(t, paykeeperpayin.Options{Secret: secret})
	ctx := context.Background()
	co := s.paid(t, request())
	inv, _ := s.srv.Invoice(co.ID)

	part, err := s.c.Refund(ctx, payin.RefundRequest{ID: co.ID, Amount: payments.MustMoney("100.50", "RUB")})
	require.NoError(t, err)
	assert.True(t, part.Amount.Equal(payments.MustMoney("100.50", "RUB")), "%v", part.Amount)
	assert.Equal(t, payments.StateRefunded, part.State, "the fake's refunds are done at once")
	assert.Equal(t, co.ID, part.CheckoutID)
	assert.IsType(t, paykeeper.Refund{}, part.Raw)

	full, err := s.c.Refund(ctx, payin.RefundRequest{ID: co.ID, Full: true})
	require.NoError(t, err)
	assert.True(t, full.Amount.Equal(payments.MustMoney("1399.50", "RUB")), "the full refund returns what was left: %v", full.Amount)

	// What reached PayKeeper: the payment's id, partial=true with the amount,
	// then partial=false without one.
	var forms []url.Values
	for _, r := range s.srv.Requests() {
		if r.Op == paykeepertest.OpReverse {
			forms = append(forms, r.Form)
		}
	}
	require.Len(t, forms, 2)
	assert.Equal(t, inv.PaymentID, forms[0].Get("id"))
	assert.Equal(t, "true", forms[0].Get("partial"))
	assert.Equal(t, "100.50", forms[0].Get("amount"))
	assert.Equal(t, inv.PaymentID, forms[1].Get("id"))
	assert.Equal(t, "false", forms[1].Get("partial"))
	assert.Empty(t, forms[1]["amount"])
	p, _ := s.srv.Payment(inv.PaymentID)
	assert.Equal(t, paykeepertest.StatusRefunded, p.Status)
	assert.Equal(t, "1500.00", p.RefundAmount)

	// Nothing left: PayKeeper's refusal comes through, nothing refunded.
	_, err = s.c.Refund(ctx, payin.RefundRequest{ID: co.ID, Amount: payments.MustMoney("1.00", "RUB")})
	assert.ErrorIs(t, err, paykeeper.ErrRefused)
}

func TestRefundOfAnUnpaidOrUnknownCheckout(t *testing.T) {
	s := newSetup(t, paykeeperpayin.Options{Secret: secret})
	ctx := context.Background()
	co, err := s.c.Create(ctx, request())
	require.NoError(t, err)
	_, err = s.c.Refund(ctx, payin.RefundRequest{ID: co.ID, Full: true})
	assert.ErrorIs(t, err, payments.ErrInvalidRequest)
	_, err = s.c.Refund(ctx, payin.RefundRequest{ID: "12345678901234567", Full: true})
	assert.ErrorIs(t, err, payments.ErrNotFound)
	assert.Zero(t, s.srv.Count(paykeepertest.OpReverse), "no refund may be sent")
}

// TestRefundLostAnswer: a refund whose answer is lost is outcome-unknown and
// sent once.
func TestRefundLostAnswer(t *testing.T) {
	s := newSetup(t, paykeeperpayin.Options{Secret: secret})
	co := s.paid(t, request())
	s.srv.DropNextOp(paykeepertest.OpReverse, 1)
	_, err := s.c.Refund(context.Background(), payin.RefundRequest{ID: co.ID, Amount: payments.MustMoney("10.00", "RUB")})
	assert.ErrorIs(t, err, payments.ErrOutcomeUnknown)
	assert.Equal(t, 1, s.srv.Count(paykeepertest.OpReverse))
}

// TestEvent: what the merchant's handle gets for a genuine notification,
// and for a two-stage payment that is only authorised.
func TestEvent(t *testing.T) {
	s := newSetup(t, paykeeperpayin.Options{Secret: secret})
	r := request()
	co := s.paid(t, r)
	inv, _ := s.srv.Invoice(co.ID)
	evs := s.all()
	require.Len(t, evs, 1)
	e := evs[0]
	assert.Equal(t, "paykeeper", e.Provider)
	assert.Equal(t, inv.PaymentID, e.ProviderID, "the payment id, not the invoice id")
	assert.Equal(t, r.OrderRef, e.OrderRef)
	assert.Equal(t, payments.StateSucceeded, e.State)
	assert.True(t, e.Amount.Equal(r.Amount))
	n, ok := e.Raw.(paykeeper.Notification)
	require.True(t, ok, "Raw is %T", e.Raw)
	require.NotNil(t, n.Payment, "the event carries what the API confirmed")

	hold := s.srv.AddPayment(paykeepertest.PaymentSpec{Amount: "200.00", OrderID: "ORD-HOLD", Hold: true})
	res, err := s.srv.Notify(hold)
	require.NoError(t, err)
	require.True(t, res.Acknowledged, "%d %q", res.Status, res.Body)
	evs = s.all()
	require.Len(t, evs, 2)
	assert.Equal(t, payments.StatePending, evs[1].State, "authorised, not captured")
	assert.Equal(t, hold, evs[1].ProviderID)
}

// TestHandleErrorIsRedelivered: a failing handle is not acknowledged, so
// PayKeeper delivers again.
func TestHandleErrorIsRedelivered(t *testing.T) {
	srv := newFake(t)
	c := payin.NewClient(newDriver(t, srv, paykeeperpayin.Options{Secret: secret}, suiteOpts()...))
	h, err := payin.NewHandler(func(context.Context, payin.Event) error { return errors.New("database down") }, c)
	require.NoError(t, err)
	hs := httptest.NewServer(h)
	defer hs.Close()
	co, err := c.Create(context.Background(), request())
	require.NoError(t, err)
	assert.Equal(t, http.StatusInternalServerError, pay(t, srv, co, hs.URL+"/notify/paykeeper"))
	inv, _ := srv.Invoice(co.ID)
	p, _ := srv.Payment(inv.PaymentID)
	assert.Equal(t, paykeepertest.StatusStuck, p.Status)
}

func TestNotificationsNeedSecret(t *testing.T) {
	d := newDriver(t, newFake(t), paykeeperpayin.Options{})
	_, err := d.Notifications(func(context.Context, payin.Event) error { return nil })
	var v *payments.ValidationError
	require.ErrorAs(t, err, &v)
	assert.Equal(t, "PAYKEEPER_SECRET", v.Field)

	d = newDriver(t, newFake(t), paykeeperpayin.Options{Secret: secret})
	_, err = d.Notifications(nil)
	require.ErrorAs(t, err, &v)
}

func TestSecretNeverPrints(t *testing.T) {
	o := paykeeperpayin.Options{Secret: secret, ExpiryDays: 2}
	d := newDriver(t, newFake(t), o)
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%d", "%x", "%q"} {
		for _, v := range []any{o, &o, d} {
			out := fmt.Sprintf(verb, v)
			assert.NotContains(t, out, secret, verb)
			assert.NotContains(t, out, paykeepertest.DefaultPassword, verb)
		}
	}
}

// TestForgeriesRefusedForTheirReason: the wrong key is refused before any
// API request (forgeries do not spend the rate limit); the re-cut and the
// unpaid payment pass the key and are refused by the API's answer.
func TestForgeriesRefusedForTheirReason(t *testing.T) {
	s := newSetup(t, paykeeperpayin.Options{Secret: secret})
	co, err := s.c.Create(context.Background(), request())
	require.NoError(t, err)
	lookups := func() int { return s.srv.Count(paykeepertest.OpPaymentByID) }
	before := lookups()
	sts := forge(t, s.srv, co, s.endpoint)
	assert.Equal(t, []int{http.StatusForbidden, http.StatusForbidden, http.StatusForbidden}, sts)
	assert.Equal(t, 2, lookups()-before, "one API lookup each for the re-cut and the unpaid payment, none for the wrong key")
	assert.Empty(t, s.all())
}

// TestRefundDoneButUnreadable: when the refund was accepted but its record
// cannot be read, Refund still reports success (pending), so that nobody
// refunds again.
func TestRefundDoneButUnreadable(t *testing.T) {
	s := newSetup(t, paykeeperpayin.Options{Secret: secret})
	co := s.paid(t, request())
	s.srv.DropNextOp(paykeepertest.OpRefundsByPaymentID, 100)
	defer s.srv.DropNextOp(paykeepertest.OpRefundsByPaymentID, 0)
	rf, err := s.c.Refund(context.Background(), payin.RefundRequest{ID: co.ID, Full: true})
	require.NoError(t, err)
	assert.Equal(t, payments.StatePending, rf.State)
	assert.Nil(t, rf.Raw)
	assert.True(t, rf.Amount.IsZero() && rf.Amount.Currency == "RUB", "%v", rf.Amount)
	assert.Equal(t, 1, s.srv.Count(paykeepertest.OpReverse))
	assert.Positive(t, s.srv.Count(paykeepertest.OpRefundsByPaymentID))
}
