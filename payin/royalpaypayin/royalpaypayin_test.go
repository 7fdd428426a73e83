package royalpaypayin_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/payin"
	"github.com/paysdk/payments/payin/payintest"
	"github.com/paysdk/payments/payin/royalpaypayin"
	"github.com/paysdk/payments/payout/payouttest"
	"github.com/paysdk/payments/royalpay"
	"github.com/paysdk/payments/royalpay/royalpaytest"
)

// cbToken is the static bearer token the fake's callbacks carry (set by the
// provider's admins in production).
const cbToken = "callback-static-t0ken"

var nextOrder atomic.Int64

func request() payin.Request {
	return payin.Request{
		OrderRef:    "ORD-" + strconv.FormatInt(nextOrder.Add(1), 10),
		Amount:      payments.MustMoney("1500", "RUB"),
		Description: "Доставка документов", // not RoyalPay's: ignored
		Customer:    payin.Customer{Name: "Иванов Иван", Email: "ivanov@example.com", Phone: "+79254973590"},
		// The payment's callback_url. The fake's callbacks are routed by the
		// relay to wherever the test serves its handler.
		CallbackURL: "https://shop.example/notify/royalpay",
		Method:      payin.SBP,
		Bank:        "Tinkoff",
	}
}

// relay is the fake's callback client: it delivers every callback, headers
// and body as the fake made them, to the endpoint under test instead of the
// payment's callback_url (which was fixed at create time, before the
// endpoint existed).
type relay struct {
	mu     sync.Mutex
	target string
	tr     *http.Transport
}

func (r *relay) set(endpoint string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.target = endpoint
}

func (r *relay) RoundTrip(req *http.Request) (*http.Response, error) {
	r.mu.Lock()
	target := r.target
	r.mu.Unlock()
	if target == "" {
		return nil, errors.New("relay: no endpoint set")
	}
	u, err := url.Parse(target)
	if err != nil {
		return nil, err
	}
	out := req.Clone(req.Context())
	out.URL, out.Host = u, ""
	return r.tr.RoundTrip(out)
}

// newFake starts a fake RoyalPay whose callbacks carry cbToken and go
// through the returned relay.
func newFake(t *testing.T) (*royalpaytest.Server, *relay) {
	rl := &relay{tr: &http.Transport{}}
	t.Cleanup(rl.tr.CloseIdleConnections)
	srv := royalpaytest.NewServer(royalpaytest.WithT(t), royalpaytest.WithCallbackToken(cbToken),
		royalpaytest.WithCallbackClient(&http.Client{Transport: rl, Timeout: 5 * time.Second,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}))
	return srv, rl
}

// fastOptions authenticate callbacks with cbToken and let confirmations run
// at once: the default budget (one a second) would refuse a test's
// consecutive callbacks with 503.
func fastOptions() royalpaypayin.Options {
	return royalpaypayin.Options{BearerToken: cbToken, ConfirmRate: 1000, MaxConfirmations: 4}
}

func newDriver(t *testing.T, srv *royalpaytest.Server, o royalpaypayin.Options, opts ...payments.Option) *royalpaypayin.Driver {
	t.Helper()
	c, err := royalpay.New(royalpay.Credentials{Token: srv.Token()}, append(srv.ClientOptions(), opts...)...)
	require.NoError(t, err)
	d := royalpaypayin.New(c, o)
	t.Cleanup(func() { d.Close() })
	return d
}

func paymentID(t *testing.T, co payin.Checkout) int64 {
	t.Helper()
	id, err := strconv.ParseInt(co.ID, 10, 64)
	require.NoError(t, err, "checkout id %q", co.ID)
	return id
}

// pay makes the fake's payer pay: the payment moves to "completed" and the
// fake POSTs its genuine callback (bearer token included) to endpoint. It
// returns the answer's status.
func pay(t *testing.T, srv *royalpaytest.Server, rl *relay, co payin.Checkout, endpoint string) int {
	t.Helper()
	rl.set(endpoint)
	res, err := srv.Complete(paymentID(t, co))
	require.NoError(t, err)
	if res.URL == "" {
		t.Fatalf("payment %s has no callback_url: nothing sent", co.ID)
	}
	if res.Err != nil {
		t.Fatalf("the callback of payment %s was not delivered: %v", co.ID, res.Err)
	}
	return res.Status
}

// post sends a callback body to endpoint with "Authorization: Bearer
// <token>" (none when token is "") and returns the answer's status.
func post(t *testing.T, endpoint, token string, body map[string]any) int {
	t.Helper()
	st, err := send(endpoint, token, body)
	require.NoError(t, err)
	return st
}

// send is post for any goroutine.
func send(endpoint, token string, body map[string]any) (int, error) {
	b, err := json.Marshal(body)
	if err != nil {
		return 0, err
	}
	req, err := http.NewRequest(http.MethodPost, endpoint, bytes.NewReader(b))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

// forge posts what an attacker can make for co's unpaid payment: its
// genuine-looking "completed" callback without the bearer token and with a
// wrong one; a correctly authenticated one (a leaked token) claiming
// "completed" with a changed sum; one claiming the payment's real status
// under another order's outter_id; and one for a payment id the merchant
// never created.
func forge(t *testing.T, srv *royalpaytest.Server, co payin.Checkout, endpoint string) []int {
	t.Helper()
	id := paymentID(t, co)
	sum, err := co.Amount.Fixed()
	require.NoError(t, err)
	completed := map[string]any{"id": id, "status": "completed", "amount": sum, "method": "sbp_number", "outter_id": co.OrderRef}
	changed := map[string]any{"id": id, "status": "completed", "amount": "99999.00", "method": "sbp_number", "outter_id": co.OrderRef}
	otherOrder := map[string]any{"id": id, "status": "created", "amount": sum, "method": "sbp_number", "outter_id": "SOMEONE-ELSE-1"}
	var last int64
	for _, p := range srv.Payments() {
		last = max(last, p.ID)
	}
	never := map[string]any{"id": last + 1000, "status": "completed", "amount": sum, "method": "sbp_number", "outter_id": co.OrderRef}
	return []int{
		post(t, endpoint, "", completed),
		post(t, endpoint, "not-the-token", completed),
		post(t, endpoint, cbToken, changed),
		post(t, endpoint, cbToken, otherOrder),
		post(t, endpoint, cbToken, never),
	}
}

func fixture(t *testing.T, opts ...payments.Option) payintest.Fixture {
	srv, rl := newFake(t)
	d := newDriver(t, srv, fastOptions(), opts...)
	return payintest.Fixture{
		Driver: d,
		// The fake's create fault queue is consumed by creates only: reads
		// are not lost.
		LoseAnswers: srv.DropNext,
		Requests:    func() int { return len(srv.Requests()) },
		Pay: func(t *testing.T, co payin.Checkout, endpoint string) int {
			return pay(t, srv, rl, co, endpoint)
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
		ProviderClient: new(*royalpay.Client),
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
	srv      *royalpaytest.Server
	rl       *relay
	c        *payin.Client
	endpoint string

	mu     sync.Mutex
	events []payin.Event
}

func newSetup(t *testing.T, o royalpaypayin.Options) *setup {
	s := &setup{}
	s.srv, s.rl = newFake(t)
	s.c = payin.NewClient(newDriver(t, s.srv, o, suiteOpts()...))
	h, err := payin.NewHandler(func(_ context.Context, e payin.Event) error {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.events = append(s.events, e)
		return nil
	}, s.c)
	require.NoError(t, err)
	hs := httptest.NewServer(h)
	t.Cleanup(hs.Close)
	s.endpoint = hs.URL + "/notify/royalpay"
	s.rl.set(s.endpoint)
	return s
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
	srv, rl := newFake(t)
	full := map[string]string{"ROYALPAY_TOKEN": srv.Token(), "ROYALPAY_URL": srv.URL()}
	// The fake's TLS settings (its CA, Host pinned to its address), without
	// which no request would reach it. They include a base URL, so tests of
	// a missing base URL leave them out.
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
	refused := func(t *testing.T, field, url string, opts ...payments.OpenOption) *payments.ValidationError {
		t.Helper()
		_, err := payin.Open(ctx, url, opts...)
		var v *payments.ValidationError
		require.ErrorAs(t, err, &v)
		assert.Equal(t, field, v.Field, "%v", err)
		return v
	}
	noop := func(context.Context, payin.Event) error { return nil }

	t.Run("MissingTokenIsNamed", func(t *testing.T) {
		v := refused(t, "ROYALPAY_TOKEN", "royalpay://", env(without("ROYALPAY_TOKEN")), fake)
		assert.Contains(t, v.Reason, "ROYALPAY_TOKEN")
	})
	t.Run("NoServerIsNamed", func(t *testing.T) {
		// No base_url, no ROYALPAY_URL, no WithBaseURL among the options.
		v := refused(t, "ROYALPAY_URL", "royalpay://", env(without("ROYALPAY_URL")))
		assert.Contains(t, v.Reason, "no single production host")
		assert.Contains(t, v.Reason, "base_url")
	})
	t.Run("UnknownParameterRefused", func(t *testing.T) {
		refused(t, "url", "royalpay://?base_url="+url.QueryEscape(srv.URL())+"&callback_token=x", env(full))
		refused(t, "url", "royalpay://?token=x", env(full))
		refused(t, "url", "royalpay://user:pw@", env(full))
		refused(t, "url", "royalpay://?confirm_rate=2&confirm_rate=3", env(full))
		for _, bad := range []string{"telepathy", "SBP", "any"} {
			refused(t, "default_method", "royalpay://?default_method="+bad, env(full))
		}
		for _, bad := range []string{"0", "-1", "x", "Inf", "NaN"} {
			refused(t, "confirm_rate", "royalpay://?confirm_rate="+bad, env(full))
		}
		refused(t, "callback_sources", "royalpay://?callback_sources=example.com", env(full))
		refused(t, "callback_sources", "royalpay://?callback_sources=10.0.0.1,", env(full))
		refused(t, "allow_unauthenticated", "royalpay://?allow_unauthenticated=maybe", env(full))
	})
	t.Run("WrongCredentialsType", func(t *testing.T) {
		refused(t, "credentials", "royalpay://", env(full), payments.OpenCredentials("rp-test-token"))
	})
	t.Run("NoCallbackAuthNoNotifications", func(t *testing.T) {
		c, err := payin.Open(ctx, "royalpay://", env(full), fake)
		require.NoError(t, err)
		defer c.Close()
		_, err = payin.NewHandler(noop, c)
		var v *payments.ValidationError
		require.ErrorAs(t, err, &v)
		assert.Equal(t, "ROYALPAY_CALLBACK_TOKEN", v.Field)
		assert.Contains(t, v.Reason, "AllowUnauthenticated")
		// Everything else works without it.
		co, err := c.Create(ctx, request())
		require.NoError(t, err)
		_, err = c.Get(ctx, co.ID)
		require.NoError(t, err)
	})
	t.Run("ExplicitlyUnauthenticated", func(t *testing.T) {
		for _, u := range []string{"royalpay://?allow_unauthenticated=true", "royalpay://?callback_sources=127.0.0.1,::1"} {
			c, err := payin.Open(ctx, u, env(full), fake)
			require.NoError(t, err)
			_, err = payin.NewHandler(noop, c)
			require.NoError(t, err, u)
			c.Close()
		}
	})
	t.Run("OpensAndWorks", func(t *testing.T) {
		m := map[string]string{"ROYALPAY_CALLBACK_TOKEN": cbToken}
		for k, v := range full {
			m[k] = v
		}
		c, err := payin.Open(ctx, "royalpay://?default_method=card&confirm_rate=100&base_url="+url.QueryEscape(srv.URL()), env(m), fake)
		require.NoError(t, err)
		defer c.Close()
		assert.Equal(t, "royalpay", c.Provider())
		var rp *royalpay.Client
		require.True(t, c.As(&rp))
		assert.NotNil(t, rp)

		var got []payin.Event
		var mu sync.Mutex
		h, err := payin.NewHandler(func(_ context.Context, e payin.Event) error {
			mu.Lock()
			defer mu.Unlock()
			got = append(got, e)
			return nil
		}, c)
		require.NoError(t, err)
		hs := httptest.NewServer(h)
		defer hs.Close()

		r := request()
		r.Method = payin.AnyMethod // default_method=card
		co, err := c.Create(ctx, r)
		require.NoError(t, err)
		rec, ok := srv.Payment(paymentID(t, co))
		require.True(t, ok)
		assert.Equal(t, "to_card_number", rec.Type)
		// The token from ROYALPAY_CALLBACK_TOKEN authenticates the genuine
		// callback.
		assert.Equal(t, http.StatusOK, pay(t, srv, rl, co, hs.URL+"/notify/royalpay"))
		mu.Lock()
		defer mu.Unlock()
		require.Len(t, got, 1)
		assert.Equal(t, payments.StateSucceeded, got[0].State)
	})
	t.Run("ExplicitCredentials", func(t *testing.T) {
		c, err := payin.Open(ctx, "royalpay://", env(map[string]string{}), fake,
			payments.OpenCredentials(royalpay.Credentials{Token: srv.Token()}))
		require.NoError(t, err)
		defer c.Close()
		_, err = c.Create(ctx, request())
		require.NoError(t, err)
	})
}

// TestCreateMapsMethods: each portable method becomes the document's type,
// and the answer's requisites become the checkout's.
func TestCreateMapsMethods(t *testing.T) {
	s := newSetup(t, fastOptions())
	ctx := context.Background()
	for m, typ := range map[payin.Method]string{
		payin.SBP: "to_sbp_number", payin.Card: "to_card_number", payin.QR: "nspk", payin.Account: "to_account_number",
	} {
		t.Run(string(m), func(t *testing.T) {
			r := request()
			r.Method = m
			co, err := s.c.Create(ctx, r)
			require.NoError(t, err)
			rec, ok := s.srv.Payment(paymentID(t, co))
			require.True(t, ok)

			// What reached RoyalPay.
			assert.Equal(t, typ, rec.Type)
			assert.Equal(t, "1500.00", rec.Sum)
			assert.Equal(t, "Tinkoff", rec.Bank)
			assert.Equal(t, r.OrderRef, rec.OutterID)
			assert.Equal(t, r.CallbackURL, rec.CallbackURL)
			assert.Equal(t, r.Customer.Email, rec.ClientID, "client_id is the first of Email, Phone, Name")
			assert.Equal(t, "Россия", rec.Geo, "geo is not sent: the default")

			// What came back.
			assert.Equal(t, "royalpay", co.Provider)
			assert.Equal(t, strconv.FormatInt(rec.ID, 10), co.ID)
			assert.Equal(t, r.OrderRef, co.OrderRef)
			assert.True(t, co.Amount.Equal(r.Amount), "%v", co.Amount)
			assert.Equal(t, payments.StatePending, co.State)
			p, ok := co.Raw.(royalpay.Payment)
			require.True(t, ok, "Raw is %T", co.Raw)
			assert.Equal(t, rec.ID, p.ID)
			require.NotNil(t, co.Requisites)
			rq := *co.Requisites
			assert.Equal(t, rec.RussifiedName, rq.Bank)
			assert.Equal(t, "Т-Банк", rq.Bank)
			assert.Equal(t, rec.FullName, rq.Holder)
			assert.NotEmpty(t, rq.Holder)
			assert.Equal(t, rec.DeeplinkURL, rq.Deeplink)
			switch m {
			case payin.SBP:
				assert.Equal(t, rec.SBPPhoneNumber, rq.Phone)
				assert.NotEmpty(t, rq.Phone)
				assert.Empty(t, rq.Card+rq.Account+rq.QR)
				assert.Equal(t, rec.DeeplinkURL, co.PaymentURL)
			case payin.Card:
				assert.Equal(t, rec.CardNumber, rq.Card)
				assert.Len(t, rq.Card, 16)
				assert.Empty(t, rq.Phone+rq.Account+rq.QR)
				assert.Equal(t, rec.DeeplinkURL, co.PaymentURL)
			case payin.QR:
				assert.Equal(t, rec.QRCode, rq.QR)
				assert.NotEmpty(t, rq.QR)
				assert.Equal(t, rec.NSPKURL, co.PaymentURL, "the direct NSPK link first")
				assert.NotEmpty(t, co.PaymentURL)
			case payin.Account:
				assert.Equal(t, rec.AccountNumber, rq.Account)
				assert.Len(t, rq.Account, 20)
				assert.Empty(t, rq.Phone+rq.Card+rq.QR)
			}
			// Formatting never shows the requisites.
			for _, secret := range []string{rec.CardNumber, rec.SBPPhoneNumber, rec.AccountNumber} {
				if secret != "" {
					assert.NotContains(t, fmt.Sprintf("%+v", co), secret)
				}
			}
		})
	}
}

// TestCreateRefusedBeforeSending: AnyMethod without a default, a method or
// currency RoyalPay lacks, an order reference with spaces at its ends.
func TestCreateRefusedBeforeSending(t *testing.T) {
	s := newSetup(t, fastOptions())
	d := s.c.Driver()
	ctx := context.Background()
	before := len(s.srv.Requests())
	for name, f := range map[string]func(r *payin.Request){
		"any method":        func(r *payin.Request) { r.Method = payin.AnyMethod },
		"unknown method":    func(r *payin.Request) { r.Method = "telepathy" },
		"not roubles":       func(r *payin.Request) { r.Amount = payments.MustMoney("10", "USD") },
		"order ref spaces":  func(r *payin.Request) { r.OrderRef = " ORD-1" },
		"bank control char": func(r *payin.Request) { r.Bank = "Sber\x01" },
	} {
		r := request()
		f(&r)
		// The driver refuses on its own, whatever the portable client checks.
		_, err := d.Create(ctx, r)
		var v *payments.ValidationError
		assert.ErrorAs(t, err, &v, name)
		_, err = s.c.Create(ctx, r)
		assert.ErrorAs(t, err, &v, name)
	}
	assert.Equal(t, before, len(s.srv.Requests()), "nothing may be sent")

	// A bad DefaultMethod is refused the same way.
	d2 := newDriver(t, s.srv, royalpaypayin.Options{DefaultMethod: "telepathy"})
	r := request()
	r.Method = payin.AnyMethod
	_, err := d2.Create(ctx, r)
	var v *payments.ValidationError
	require.ErrorAs(t, err, &v)
	assert.Equal(t, before, len(s.srv.Requests()))
}

// TestCreateRefusals: the document's refusals stay typed; a lost answer is
// outcome-unknown carrying the order reference, and the create is sent once.
func TestCreateRefusals(t *testing.T) {
	s := newSetup(t, fastOptions())
	ctx := context.Background()
	s.srv.NoCardsNext(1)
	_, err := s.c.Create(ctx, request())
	assert.ErrorIs(t, err, royalpay.ErrNoAvailableCards)
	assert.NotErrorIs(t, err, payments.ErrOutcomeUnknown)

	s.srv.ServerTimeoutNext(1)
	r := request()
	before := s.srv.Count(royalpaytest.OpCreate)
	_, err = s.c.Create(ctx, r)
	require.ErrorIs(t, err, payments.ErrOutcomeUnknown)
	var ou *payments.OutcomeUnknownError
	require.ErrorAs(t, err, &ou)
	assert.Equal(t, r.OrderRef, ou.Ref)
	assert.Equal(t, 1, s.srv.Count(royalpaytest.OpCreate)-before)
}

// TestGetMapsStates: every status of the document, ids refused before
// sending, an unknown id.
func TestGetMapsStates(t *testing.T) {
	s := newSetup(t, fastOptions())
	ctx := context.Background()
	for _, tc := range []struct {
		move func(int64) (royalpaytest.CallbackResult, error)
		want payments.State
	}{
		{nil, payments.StatePending},
		{s.srv.Complete, payments.StateSucceeded},
		{s.srv.Cancel, payments.StateCanceled},
		{s.srv.Delete, payments.StateCanceled},
		{s.srv.Refund, payments.StateRefunded},
	} {
		r := request()
		r.CallbackURL = "" // no callbacks
		co, err := s.c.Create(ctx, r)
		require.NoError(t, err)
		if tc.move != nil {
			_, err := tc.move(paymentID(t, co))
			require.NoError(t, err)
		}
		got, err := s.c.Get(ctx, co.ID)
		require.NoError(t, err)
		assert.Equal(t, tc.want, got.State)
		assert.Equal(t, co.ID, got.ID)
		assert.Equal(t, r.OrderRef, got.OrderRef)
		assert.True(t, got.Amount.Equal(r.Amount))
		assert.Equal(t, co.Requisites, got.Requisites)
		assert.IsType(t, royalpay.Payment{}, got.Raw)
	}

	before := len(s.srv.Requests())
	for _, bad := range []string{"abc", "0", "-1", "007", "1.5", "+5", "99999999999999999999", " 1"} {
		_, err := s.c.Driver().Get(ctx, bad)
		var v *payments.ValidationError
		assert.ErrorAs(t, err, &v, bad)
	}
	assert.Equal(t, before, len(s.srv.Requests()), "nothing may be sent for a bad id")

	_, err := s.c.Get(ctx, "999999999")
	assert.ErrorIs(t, err, payments.ErrNotFound)
}

func TestRefundNotSupported(t *testing.T) {
	s := newSetup(t, fastOptions())
	ctx := context.Background()
	co, err := s.c.Create(ctx, request())
	require.NoError(t, err)
	before := len(s.srv.Requests())
	assert.False(t, s.c.Capabilities().Refunds)
	_, err = s.c.Driver().Refund(ctx, payin.RefundRequest{ID: co.ID, Full: true})
	assert.ErrorIs(t, err, payments.ErrNotSupported, "the driver itself")
	_, err = s.c.Refund(ctx, payin.RefundRequest{ID: co.ID, Amount: payments.MustMoney("1", "RUB")})
	assert.ErrorIs(t, err, payments.ErrNotSupported, "the portable client")
	assert.Equal(t, before, len(s.srv.Requests()), "nothing may be sent")
}

// TestEvent: what handle gets, taken from the API's answer, never from the
// callback body.
func TestEvent(t *testing.T) {
	s := newSetup(t, fastOptions())
	ctx := context.Background()
	r := request()
	co, err := s.c.Create(ctx, r)
	require.NoError(t, err)
	id := paymentID(t, co)
	require.Equal(t, http.StatusOK, pay(t, s.srv, s.rl, co, s.endpoint))
	evs := s.all()
	require.Len(t, evs, 1)
	e := evs[0]
	assert.Equal(t, "royalpay", e.Provider)
	assert.Equal(t, co.ID, e.ProviderID)
	assert.Equal(t, co.ID, e.CheckoutID)
	assert.Equal(t, r.OrderRef, e.OrderRef)
	assert.Equal(t, payments.StateSucceeded, e.State)
	assert.True(t, e.Amount.Equal(r.Amount), "%v", e.Amount)
	raw, ok := e.Raw.(royalpay.Event)
	require.True(t, ok, "Raw is %T", e.Raw)
	require.NotNil(t, raw.Payment, "the event carries what the API confirmed")
	assert.Equal(t, royalpay.StatusCompleted, raw.Payment.Status)

	// The provider's authenticated callback with another amount (or in
	// another unit): the event carries the API's sum.
	res, err := s.srv.SendCallback(id, []byte(fmt.Sprintf(`{"id":%d,"status":"completed","amount":150000,"outter_id":%q}`, id, r.OrderRef)))
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, res.Status)
	evs = s.all()
	require.Len(t, evs, 2)
	assert.True(t, evs[1].Amount.Equal(r.Amount), "the amount is the API's, not the callback's: %v", evs[1].Amount)

	// A refund moves it on.
	res, err = s.srv.Refund(id)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, res.Status)
	evs = s.all()
	require.Len(t, evs, 3)
	assert.Equal(t, payments.StateRefunded, evs[2].State)

	// A stale callback (it says completed; the API says refund) is refused:
	// the refund's own callback carried the news.
	res, err = s.srv.SendCallback(id, []byte(fmt.Sprintf(`{"id":%d,"status":"completed","amount":"1500.00"}`, id)))
	require.NoError(t, err)
	assert.Equal(t, http.StatusBadRequest, res.Status)
	assert.Len(t, s.all(), 3)
}

// TestForgeriesRefusedForTheirReason: a missing or wrong token is refused
// before any API call; the others cost one confirmation each and are
// refused by what the API says.
func TestForgeriesRefusedForTheirReason(t *testing.T) {
	s := newSetup(t, fastOptions())
	co, err := s.c.Create(context.Background(), request())
	require.NoError(t, err)
	before := s.srv.Count(royalpaytest.OpGet)
	sts := forge(t, s.srv, co, s.endpoint)
	assert.Equal(t, []int{http.StatusUnauthorized, http.StatusUnauthorized, http.StatusBadRequest, http.StatusBadRequest, http.StatusBadRequest}, sts)
	assert.Equal(t, 3, s.srv.Count(royalpaytest.OpGet)-before, "no API call for a bad token")
	assert.Empty(t, s.all())
	rec, _ := s.srv.Payment(paymentID(t, co))
	assert.Equal(t, royalpaytest.StatusCreated, rec.Status)
}

// TestKnown: Options.Known sees the checkout id and order reference, and a
// payment it does not know is refused without an API call.
func TestKnown(t *testing.T) {
	var mu sync.Mutex
	mine := map[string]bool{}
	var asked [][2]string
	o := fastOptions()
	o.Known = func(_ context.Context, id, orderRef string) (bool, error) {
		mu.Lock()
		defer mu.Unlock()
		asked = append(asked, [2]string{id, orderRef})
		return mine[id], nil
	}
	s := newSetup(t, o)
	ctx := context.Background()
	r := request()
	co, err := s.c.Create(ctx, r)
	require.NoError(t, err)

	gets := s.srv.Count(royalpaytest.OpGet)
	assert.Equal(t, http.StatusBadRequest, pay(t, s.srv, s.rl, co, s.endpoint), "not stored yet: unknown")
	assert.Equal(t, gets, s.srv.Count(royalpaytest.OpGet), "refused before any API call")
	assert.Empty(t, s.all())

	mu.Lock()
	mine[co.ID] = true
	mu.Unlock()
	assert.Equal(t, http.StatusOK, pay(t, s.srv, s.rl, co, s.endpoint))
	require.Len(t, s.all(), 1)
	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, [2]string{co.ID, r.OrderRef}, asked[0])
}

// TestHandleErrorIs500: a failing handle is not acknowledged.
func TestHandleErrorIs500(t *testing.T) {
	srv, rl := newFake(t)
	c := payin.NewClient(newDriver(t, srv, fastOptions(), suiteOpts()...))
	h, err := payin.NewHandler(func(context.Context, payin.Event) error { return errors.New("database down") }, c)
	require.NoError(t, err)
	hs := httptest.NewServer(h)
	defer hs.Close()
	co, err := c.Create(context.Background(), request())
	require.NoError(t, err)
	assert.Equal(t, http.StatusInternalServerError, pay(t, srv, rl, co, hs.URL+"/notify/royalpay"))
}

// TestConfirmBudget: Options.ConfirmRate reaches the handler: a burst of
// callbacks beyond the budget (one confirmation running, one waiting) is
// answered 503 with Retry-After before any API call.
func TestConfirmBudget(t *testing.T) {
	srv, _ := newFake(t)
	d := newDriver(t, srv, royalpaypayin.Options{BearerToken: cbToken, ConfirmRate: 4}, suiteOpts()...)
	c := payin.NewClient(d)
	h, err := d.Notifications(func(context.Context, payin.Event) error { return nil })
	require.NoError(t, err)
	hs := httptest.NewServer(h)
	defer hs.Close()
	// Six payments: callbacks of one payment would share one confirmation.
	bodies := make([]map[string]any, 6)
	for i := range bodies {
		co, err := c.Create(context.Background(), request())
		require.NoError(t, err)
		bodies[i] = map[string]any{"id": paymentID(t, co), "status": "created", "outter_id": co.OrderRef}
	}
	gets := srv.Count(royalpaytest.OpGet)
	var wg sync.WaitGroup
	sts := make([]int, len(bodies))
	for i := range bodies {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st, err := send(hs.URL, cbToken, bodies[i])
			if err != nil {
				t.Error(err)
			}
			sts[i] = st
		}()
	}
	wg.Wait()
	refused := 0
	for _, st := range sts {
		switch st {
		case http.StatusServiceUnavailable:
			refused++
		case http.StatusOK:
		default:
			t.Errorf("answered %d", st)
		}
	}
	assert.Positive(t, refused, "%v", sts)
	assert.Contains(t, sts, http.StatusOK, "%v", sts)
	assert.Equal(t, len(sts)-refused, srv.Count(royalpaytest.OpGet)-gets, "no API call for a refused callback")
}

func TestNotificationsNeedAuth(t *testing.T) {
	srv, _ := newFake(t)
	noop := func(context.Context, payin.Event) error { return nil }
	_, err := newDriver(t, srv, royalpaypayin.Options{}).Notifications(noop)
	var v *payments.ValidationError
	require.ErrorAs(t, err, &v)
	assert.Equal(t, "ROYALPAY_CALLBACK_TOKEN", v.Field)

	for name, o := range map[string]royalpaypayin.Options{
		"token":           {BearerToken: cbToken},
		"sources":         {AllowedSources: []netip.Prefix{netip.MustParsePrefix("134.209.192.8/32")}},
		"unauthenticated": {AllowUnauthenticated: true},
	} {
		_, err := newDriver(t, srv, o).Notifications(noop)
		assert.NoError(t, err, name)
	}
	// The royalpay handler's own checks come through.
	for name, o := range map[string]royalpaypayin.Options{
		"token with spaces": {BearerToken: " " + cbToken},
		"negative rate":     {BearerToken: cbToken, ConfirmRate: -1},
		"invalid source":    {AllowedSources: []netip.Prefix{{}}},
	} {
		_, err := newDriver(t, srv, o).Notifications(noop)
		assert.ErrorAs(t, err, &v, name)
	}
	_, err = newDriver(t, srv, fastOptions()).Notifications(nil)
	assert.ErrorAs(t, err, &v)
}

// TestAllowedSources: a source allowlist stands in for the token.
func TestAllowedSources(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		src  string
		want int
	}{{"127.0.0.1/32", http.StatusOK}, {"134.209.192.8/32", http.StatusForbidden}} {
		srv, rl := newFake(t)
		d := newDriver(t, srv, royalpaypayin.Options{AllowedSources: []netip.Prefix{netip.MustParsePrefix(tc.src)}, ConfirmRate: 1000}, suiteOpts()...)
		c := payin.NewClient(d)
		h, err := payin.NewHandler(func(context.Context, payin.Event) error { return nil }, c)
		require.NoError(t, err)
		hs := httptest.NewServer(h)
		co, err := c.Create(ctx, request())
		require.NoError(t, err)
		assert.Equal(t, tc.want, pay(t, srv, rl, co, hs.URL+"/notify/royalpay"), tc.src)
		hs.Close()
	}
}

func TestCapabilities(t *testing.T) {
	srv, _ := newFake(t)
	c := payin.NewClient(newDriver(t, srv, royalpaypayin.Options{}))
	caps := c.Capabilities()
	assert.Equal(t, "royalpay", caps.Provider)
	assert.ElementsMatch(t, []payin.Method{payin.SBP, payin.Card, payin.QR, payin.Account}, caps.Methods)
	assert.Equal(t, []string{"RUB"}, caps.Currencies)
	assert.False(t, caps.Refunds)
	assert.False(t, caps.PartialRefunds)
	assert.True(t, caps.Requisites)
	assert.False(t, caps.PaymentURL, "the document allows a null link")
}

func TestTokensNeverPrint(t *testing.T) {
	srv, _ := newFake(t)
	o := fastOptions()
	d := newDriver(t, srv, o)
	h, err := d.Notifications(func(context.Context, payin.Event) error { return nil })
	require.NoError(t, err)
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%d", "%x", "%q"} {
		for _, v := range []any{o, &o, d, h} {
			out := fmt.Sprintf(verb, v)
			assert.NotContains(t, out, cbToken, verb)
			assert.NotContains(t, out, srv.Token(), verb)
		}
	}
}
