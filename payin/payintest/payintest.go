// Package payintest is the conformance suite every pay-in driver runs
// against its fake. A merchant's own driver can run it too: fill a
// [Harness] and call [RunConformanceTests].
package payintest

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/internal/portable/portabletest"
	"github.com/paysdk/payments/payin"
)

// Fixture is one driver connected to one fresh fake.
type Fixture struct {
	Driver payin.Driver
	// LoseAnswers makes the fake carry out the next n requests that create
	// something and drop each connection before answering; n <= 0 clears
	// what is still queued, where the fake can.
	LoseAnswers func(n int)
	// Requests is how many requests the fake has received so far.
	Requests func() int
	// Pay makes the fake's payer pay the checkout in full, and the fake
	// deliver the provider's genuine notification to endpoint (an http URL
	// served by the handler under test). It returns when the delivery was
	// answered, with the answer's status.
	Pay func(t *testing.T, co payin.Checkout, endpoint string) int
	// Forge posts to endpoint notifications an attacker could make for co
	// (a wrong signature or token, a changed amount, an unpaid payment
	// reported paid) and returns each answer's status.
	Forge func(t *testing.T, co payin.Checkout, endpoint string) []int
}

// Harness tells the suite how to make fixtures and valid inputs.
type Harness struct {
	New func(t *testing.T, opts ...payments.Option) Fixture
	// Request returns a valid checkout request with a fresh OrderRef.
	Request func() payin.Request
	// ProviderClient is a pointer to the provider's client type (for
	// example new(*royalpay.Client)): As must fill it. Required.
	ProviderClient any
}

type env struct {
	Fixture
	c   *payin.Client
	lim *portabletest.CountingLimiter
}

func (h Harness) setup(t *testing.T) env {
	lim := &portabletest.CountingLimiter{}
	f := h.New(t, portabletest.ClientOptions(lim)...)
	return env{Fixture: f, c: payin.NewClient(f.Driver), lim: lim}
}

// RunConformanceTests runs the suite.
func RunConformanceTests(t *testing.T, h Harness) {
	t.Run("CreateThenGet", func(t *testing.T) { testCreateGet(t, h) })
	t.Run("GetUnknownIsNotFound", func(t *testing.T) { testUnknown(t, h) })
	t.Run("LostAnswerIsOutcomeUnknownNotResent", func(t *testing.T) { testLost(t, h) })
	t.Run("ValidationBeforeSend", func(t *testing.T) { testValidation(t, h) })
	t.Run("ContextCanceledBeforeSend", func(t *testing.T) { testCanceled(t, h) })
	t.Run("LimiterTokenPerRequest", func(t *testing.T) { testLimiter(t, h) })
	t.Run("Refund", func(t *testing.T) { testRefund(t, h) })
	t.Run("NotificationAcceptedOnce", func(t *testing.T) { testNotify(t, h) })
	t.Run("ForgedNotificationRefused", func(t *testing.T) { testForged(t, h) })
	t.Run("As", func(t *testing.T) { testAs(t, h) })
}

func testCreateGet(t *testing.T, h Harness) {
	e := h.setup(t)
	ctx := context.Background()
	r := h.Request()
	co, err := e.c.Create(ctx, r)
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	caps := e.c.Capabilities()
	if co.ID == "" || co.OrderRef != r.OrderRef || !co.Amount.Equal(r.Amount) || co.Provider != caps.Provider {
		t.Errorf("create returned %+v for %+v", co, r)
	}
	if caps.PaymentURL && co.PaymentURL == "" {
		t.Error("no payment URL")
	}
	if caps.Requisites && co.Requisites == nil {
		t.Error("no requisites")
	}
	if co.State.Final() {
		t.Errorf("a new checkout is %v", co.State)
	}
	got, err := e.c.Get(ctx, co.ID)
	if err != nil {
		t.Fatalf("get: %v", err)
	}
	if got.ID != co.ID || !got.Amount.Equal(r.Amount) {
		t.Errorf("get returned %v", got)
	}
}

func testUnknown(t *testing.T, h Harness) {
	e := h.setup(t)
	_, err := e.c.Get(context.Background(), "999999999")
	if !errors.Is(err, payments.ErrNotFound) {
		t.Fatalf("get unknown: %v, want ErrNotFound", err)
	}
}

func testLost(t *testing.T, h Harness) {
	e := h.setup(t)
	e.LoseAnswers(1)
	before := e.Requests()
	_, err := e.c.Create(context.Background(), h.Request())
	if !errors.Is(err, payments.ErrOutcomeUnknown) {
		t.Fatalf("lost answer: %v, want ErrOutcomeUnknown", err)
	}
	e.LoseAnswers(0)
	// Requests made before the create (a token fetch) may count; the create
	// itself is sent once.
	if sent := e.Requests() - before; sent < 1 || sent > 2 {
		t.Fatalf("%d requests for one create whose answer was lost", sent)
	}
}

func testValidation(t *testing.T, h Harness) {
	e := h.setup(t)
	good := h.Request()
	cases := map[string]func(r *payin.Request){
		"no order ref":   func(r *payin.Request) { r.OrderRef = "" },
		"huge order ref": func(r *payin.Request) { r.OrderRef = string(make([]byte, 10000)) },
		"zero amount":    func(r *payin.Request) { r.Amount = payments.Money{Currency: r.Amount.Currency} },
		"fraction of a kopeck": func(r *payin.Request) {
			r.Amount = payments.Money{Amount: payments.MustDecimal("1.001"), Currency: r.Amount.Currency}
		},
		"unknown currency": func(r *payin.Request) { r.Amount = payments.Money{Amount: r.Amount.Amount, Currency: "XYZ"} },
		"bad callback":     func(r *payin.Request) { r.CallbackURL = "javascript:alert(1)" },
		"unknown method":   func(r *payin.Request) { r.Method = "telepathy" },
	}
	before := e.Requests()
	for name, f := range cases {
		r := good
		f(&r)
		_, err := e.c.Create(context.Background(), r)
		var v *payments.ValidationError
		if !errors.As(err, &v) {
			t.Errorf("%s: %v, want *payments.ValidationError", name, err)
		}
	}
	if !e.c.Capabilities().Refunds {
		if _, err := e.c.Refund(context.Background(), payin.RefundRequest{ID: "1", Full: true}); !errors.Is(err, payments.ErrNotSupported) {
			t.Errorf("refund at a provider without refunds: %v, want ErrNotSupported", err)
		}
	}
	if _, err := e.c.Refund(context.Background(), payin.RefundRequest{ID: "1"}); err == nil {
		t.Error("a refund with neither amount nor Full was accepted")
	}
	if after := e.Requests(); after != before {
		t.Errorf("%d requests sent for refused input", after-before)
	}
}

func testCanceled(t *testing.T, h Harness) {
	e := h.setup(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	before := e.Requests()
	_, err := e.c.Create(ctx, h.Request())
	if !errors.Is(err, context.Canceled) || errors.Is(err, payments.ErrOutcomeUnknown) {
		t.Errorf("create with a canceled context: %v", err)
	}
	if after := e.Requests(); after != before {
		t.Errorf("%d requests sent with a canceled context", after-before)
	}
}

func testLimiter(t *testing.T, h Harness) {
	e := h.setup(t)
	r0, t0 := e.Requests(), e.lim.Count()
	co, err := e.c.Create(context.Background(), h.Request())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.c.Get(context.Background(), co.ID); err != nil {
		t.Fatal(err)
	}
	sent, tokens := e.Requests()-r0, e.lim.Count()-t0
	if sent == 0 || tokens != sent {
		t.Fatalf("%d requests took %d limiter tokens: want one per request", sent, tokens)
	}
}

func testRefund(t *testing.T, h Harness) {
	e := h.setup(t)
	if !e.c.Capabilities().Refunds {
		t.Skip("the provider has no refunds (ErrNotSupported is checked in ValidationBeforeSend)")
	}
	ctx := context.Background()
	co, err := e.c.Create(ctx, h.Request())
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(mustHandler(t, e.c, func(context.Context, payin.Event) error { return nil }))
	defer srv.Close()
	if st := e.Pay(t, co, srv.URL+"/notify/"+e.c.Provider()); st != http.StatusOK {
		t.Fatalf("notification answered %d", st)
	}
	if e.c.Capabilities().PartialRefunds {
		part := payments.Money{Amount: payments.MustDecimal("1.00"), Currency: co.Amount.Currency}
		if _, err := e.c.Refund(ctx, payin.RefundRequest{ID: co.ID, Amount: part}); err != nil {
			t.Fatalf("partial refund: %v", err)
		}
	}
	if _, err := e.c.Refund(ctx, payin.RefundRequest{ID: co.ID, Full: true}); err != nil {
		t.Fatalf("full refund: %v", err)
	}
}

func mustHandler(t *testing.T, c *payin.Client, handle payin.Handle) http.Handler {
	t.Helper()
	h, err := payin.NewHandler(handle, c)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

type recorder struct {
	mu     sync.Mutex
	events []payin.Event
}

func (r *recorder) handle(_ context.Context, e payin.Event) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
	return nil
}

func (r *recorder) all() []payin.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]payin.Event(nil), r.events...)
}

func testNotify(t *testing.T, h Harness) {
	e := h.setup(t)
	ctx := context.Background()
	req := h.Request()
	co, err := e.c.Create(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	srv := httptest.NewServer(mustHandler(t, e.c, rec.handle))
	defer srv.Close()
	if st := e.Pay(t, co, srv.URL+"/notify/"+e.c.Provider()); st < 200 || st > 299 {
		t.Fatalf("genuine notification answered %d", st)
	}
	evs := rec.all()
	if len(evs) != 1 {
		t.Fatalf("%d events for one notification", len(evs))
	}
	ev := evs[0]
	if ev.Provider != e.c.Provider() || ev.OrderRef != req.OrderRef || ev.State != payments.StateSucceeded ||
		!ev.Amount.Equal(req.Amount) || ev.ProviderID == "" || ev.Raw == nil {
		t.Fatalf("event %+v for order %s of %v", ev, req.OrderRef, req.Amount)
	}
	if ev.CheckoutID != "" && ev.CheckoutID != co.ID {
		t.Fatalf("event says checkout %q, the checkout is %q", ev.CheckoutID, co.ID)
	}
	resp, err := http.Post(srv.URL+"/notify/nosuchprovider", "text/plain", nil)
	if err == nil {
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("unknown provider path answered %d", resp.StatusCode)
		}
	}
}

func testForged(t *testing.T, h Harness) {
	e := h.setup(t)
	ctx := context.Background()
	co, err := e.c.Create(ctx, h.Request())
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	srv := httptest.NewServer(mustHandler(t, e.c, rec.handle))
	defer srv.Close()
	sts := e.Forge(t, co, srv.URL+"/notify/"+e.c.Provider())
	if len(sts) == 0 {
		t.Fatal("Forge made no attempt")
	}
	for i, st := range sts {
		if st >= 200 && st <= 299 {
			t.Errorf("forgery %d answered %d", i, st)
		}
	}
	if evs := rec.all(); len(evs) != 0 {
		t.Fatalf("forged notifications reached the merchant: %+v", evs)
	}
}

func testAs(t *testing.T, h Harness) {
	e := h.setup(t)
	portabletest.TestAs(t, e.c.As, h.ProviderClient)
}
