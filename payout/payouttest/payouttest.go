// Package payouttest is the conformance suite every payout driver runs
// against its fake, in the style of gocloud.dev's drivertest: one set of
// tests that says what the portable contract is. A merchant's own driver can
// run it too: fill a [Harness] and call [RunConformanceTests].
package payouttest

import (
	"context"
	"errors"
	"testing"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/internal/portable/portabletest"
	"github.com/paysdk/payments/payout"
)

// Fixture is one driver connected to one fresh fake, with the fake's
// switches and counters the suite needs.
type Fixture struct {
	Driver payout.Driver
	// LoseAnswers makes the fake carry out the next n payout requests (pay,
	// not the reads a driver may make around it) and drop each connection
	// before answering: the answer lost in flight. The suite asks for
	// Attempts, every attempt of one call.
	LoseAnswers func(n int)
	// Held is how many payouts the fake holds under ref: never more than one.
	Held func(ref string) int
	// Payouts is how many payouts the fake holds in all, under any id: a
	// driver that paid a resend under a new id shows here.
	Payouts func() int
	// Requests is how many requests the fake has received so far.
	Requests func() int
	// Settle makes every payout the fake holds final (succeeded), so Wait ends.
	Settle func()
}

// Attempts is the retry policy's attempts in the suite's clients
// (payments.WithRetry): what LoseAnswers must swallow to exhaust one call.
const Attempts = portabletest.Attempts

// Harness tells the suite how to make fixtures and valid inputs.
type Harness struct {
	// New makes a fixture whose provider client is built with opts (the
	// suite passes a counting limiter and test timing). Clean up with
	// t.Cleanup.
	New func(t *testing.T, opts ...payments.Option) Fixture
	// Destination returns a destination of kind that the fake pays, for
	// every kind the driver's Capabilities claim.
	Destination func(kind payout.Kind) payout.Destination
	// Amount is an amount the provider takes.
	Amount payments.Money
	// NewRef returns a fresh Ref the driver maps.
	NewRef func() string
	// BadRef is a non-empty Ref the driver cannot map to the provider's id.
	BadRef string
	// ProviderClient is a pointer to the provider's client type (for
	// example new(*popolni.Client)): As must fill it. Required.
	ProviderClient any
}

// CountingLimiter counts the tokens taken; it never waits.
type CountingLimiter = portabletest.CountingLimiter

type env struct {
	Fixture
	c   *payout.Client
	lim *CountingLimiter
}

func (h Harness) setup(t *testing.T) env {
	t.Helper()
	lim := &CountingLimiter{}
	f := h.New(t, portabletest.ClientOptions(lim)...)
	return env{Fixture: f, c: payout.NewClient(f.Driver), lim: lim}
}

func (h Harness) request(kind payout.Kind) payout.Request {
	return payout.Request{Ref: h.NewRef(), Amount: h.Amount, To: h.Destination(kind)}
}

// RunConformanceTests runs the suite.
func RunConformanceTests(t *testing.T, h Harness) {
	t.Run("Capabilities", func(t *testing.T) { testCapabilities(t, h) })
	t.Run("SendEveryKindThenGet", func(t *testing.T) { testSendGet(t, h) })
	t.Run("ResendSameRefPaysOnce", func(t *testing.T) { testResend(t, h) })
	t.Run("GetUnknownRefIsNotFound", func(t *testing.T) { testUnknown(t, h) })
	t.Run("LostAnswerIsOutcomeUnknownAndSettles", func(t *testing.T) { testLost(t, h) })
	t.Run("ValidationBeforeSend", func(t *testing.T) { testValidation(t, h) })
	t.Run("ContextCanceledBeforeSend", func(t *testing.T) { testCanceled(t, h) })
	t.Run("LimiterTokenPerRequest", func(t *testing.T) { testLimiter(t, h) })
	t.Run("WaitUntilFinal", func(t *testing.T) { testWait(t, h) })
	t.Run("Balance", func(t *testing.T) { testBalance(t, h) })
	t.Run("As", func(t *testing.T) { testAs(t, h) })
}

func testCapabilities(t *testing.T, h Harness) {
	e := h.setup(t)
	caps := e.c.Capabilities()
	if caps.Provider == "" || len(caps.Kinds) == 0 || caps.StatusBatch < 1 || caps.RefForm == "" {
		t.Fatalf("incomplete capabilities: %+v", caps)
	}
	if _, ok := caps.Limits[h.Amount.Currency]; !ok {
		t.Fatalf("capabilities have no limit entry for %s", h.Amount.Currency)
	}
}

func testSendGet(t *testing.T, h Harness) {
	e := h.setup(t)
	ctx := context.Background()
	for _, kind := range e.c.Capabilities().Kinds {
		r := h.request(kind)
		p, err := e.c.Send(ctx, r)
		if err != nil {
			t.Fatalf("%s: send: %v", kind, err)
		}
		if p.Ref != r.Ref || p.Provider != e.c.Provider() {
			t.Errorf("%s: send returned ref %q provider %q", kind, p.Ref, p.Provider)
		}
		if p.State != payments.StatePending && p.State != payments.StateSucceeded {
			t.Errorf("%s: accepted payout in state %v", kind, p.State)
		}
		got, err := e.c.Get(ctx, r.Ref)
		if err != nil {
			t.Fatalf("%s: get: %v", kind, err)
		}
		if got.Ref != r.Ref || got.State == payments.StateUnknown {
			t.Errorf("%s: get returned ref %q state %v", kind, got.Ref, got.State)
		}
		if n := e.Held(r.Ref); n != 1 {
			t.Errorf("%s: the fake holds %d payouts for the ref, want 1", kind, n)
		}
	}
}

func testResend(t *testing.T, h Harness) {
	e := h.setup(t)
	ctx := context.Background()
	r := h.request(e.c.Capabilities().Kinds[0])
	before := e.Payouts()
	first, err := e.c.Send(ctx, r)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		again, err := e.c.Send(ctx, r)
		if err != nil {
			t.Fatalf("resend %d of the same ref: %v (a resend must answer with the payout the provider has)", i, err)
		}
		if again.Ref != first.Ref {
			t.Fatalf("resend answered ref %q", again.Ref)
		}
		if again.State != payments.StatePending && again.State != payments.StateSucceeded {
			t.Fatalf("resend %d of an accepted payout answered state %v (%v): it must be the payout the provider holds", i, again.State, again.Err)
		}
	}
	if n := e.Held(r.Ref); n != 1 {
		t.Fatalf("the fake holds %d payouts after 4 sends of one ref, want 1", n)
	}
	if n := e.Payouts() - before; n != 1 {
		t.Fatalf("4 sends of one ref made %d payouts at the fake, want 1", n)
	}
}

func testUnknown(t *testing.T, h Harness) {
	e := h.setup(t)
	_, err := e.c.Get(context.Background(), h.NewRef())
	if !errors.Is(err, payments.ErrNotFound) {
		t.Fatalf("get of an unknown ref: %v, want ErrNotFound", err)
	}
	ps, err := e.c.GetMany(context.Background(), []payout.Query{{Ref: h.NewRef()}, {Ref: h.NewRef()}})
	if err != nil {
		t.Fatalf("get many unknown: %v", err)
	}
	for _, p := range ps {
		if p.State != payments.StateUnknown || !errors.Is(p.Err, payments.ErrNotFound) {
			t.Errorf("unknown ref: state %v err %v", p.State, p.Err)
		}
	}
}

func testLost(t *testing.T, h Harness) {
	e := h.setup(t)
	ctx := context.Background()
	r := h.request(e.c.Capabilities().Kinds[0])
	before := e.Payouts()
	e.LoseAnswers(Attempts) // every attempt of the call
	_, err := e.c.Send(ctx, r)
	if !errors.Is(err, payments.ErrOutcomeUnknown) {
		t.Fatalf("every answer lost: %v, want ErrOutcomeUnknown", err)
	}
	var ou *payments.OutcomeUnknownError
	if !errors.As(err, &ou) {
		t.Fatalf("not an *OutcomeUnknownError: %T", err)
	}
	got, err := e.c.Get(ctx, r.Ref)
	if err != nil {
		t.Fatalf("settling by get: %v", err)
	}
	if got.State == payments.StateUnknown {
		t.Fatalf("the fake carried the payout out, get says %v", got.State)
	}
	if _, err := e.c.Send(ctx, r); err != nil {
		t.Fatalf("resend of the same ref after outcome-unknown: %v", err)
	}
	if n := e.Held(r.Ref); n != 1 {
		t.Fatalf("the fake holds %d payouts, want exactly 1", n)
	}
	if n := e.Payouts() - before; n != 1 {
		t.Fatalf("a lost answer, a get and a resend made %d payouts, want 1", n)
	}
}

func testValidation(t *testing.T, h Harness) {
	e := h.setup(t)
	ctx := context.Background()
	kind := e.c.Capabilities().Kinds[0]
	good := h.request(kind)
	bad := map[string]payout.Request{}
	add := func(name string, f func(r *payout.Request)) {
		r := good
		r.Ref = h.NewRef()
		f(&r)
		bad[name] = r
	}
	add("empty ref", func(r *payout.Request) { r.Ref = "" })
	if h.BadRef != "" {
		add("unmappable ref", func(r *payout.Request) { r.Ref = h.BadRef })
	}
	add("zero amount", func(r *payout.Request) { r.Amount = payments.Money{Currency: h.Amount.Currency} })
	add("negative amount", func(r *payout.Request) { r.Amount = payments.MustMoney("-1", h.Amount.Currency) })
	add("fraction of a minor unit", func(r *payout.Request) {
		r.Amount = payments.Money{Amount: h.Amount.Amount.Add(payments.MustDecimal("0.001")), Currency: h.Amount.Currency}
	})
	add("unknown currency", func(r *payout.Request) { r.Amount = payments.Money{Amount: h.Amount.Amount, Currency: "XYZ"} })
	add("no currency", func(r *payout.Request) { r.Amount = payments.Money{Amount: h.Amount.Amount} })
	add("huge amount", func(r *payout.Request) {
		r.Amount = payments.Money{Amount: payments.MustDecimal("100000000000000000000"), Currency: h.Amount.Currency}
	})
	add("no destination", func(r *payout.Request) { r.To = payout.Destination{} })
	add("bad account", func(r *payout.Request) { r.To.Account = "12ab" })
	for _, k := range []payout.Kind{payout.Mobile, payout.Wallet, payout.Card, payout.SBP} {
		if !e.c.Capabilities().Supports(k) {
			add("unsupported kind "+string(k), func(r *payout.Request) {
				r.To = payout.Destination{Kind: k, Account: "79161234567"}
				if k == payout.Card {
					r.To.Account = "4111111111111111"
				}
				if k == payout.SBP {
					r.To.Bank = "100000000111"
				}
			})
		}
	}
	before := e.Requests()
	for name, r := range bad {
		_, err := e.c.Send(ctx, r)
		var v *payments.ValidationError
		if !errors.As(err, &v) || !errors.Is(err, payments.ErrInvalidRequest) {
			t.Errorf("%s: %v, want a *payments.ValidationError", name, err)
		}
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
	_, err := e.c.Send(ctx, h.request(e.c.Capabilities().Kinds[0]))
	if !errors.Is(err, context.Canceled) {
		t.Errorf("send with a canceled context: %v", err)
	}
	if errors.Is(err, payments.ErrOutcomeUnknown) {
		t.Errorf("nothing was sent, yet outcome unknown: %v", err)
	}
	if _, err := e.c.Get(ctx, h.NewRef()); !errors.Is(err, context.Canceled) {
		t.Errorf("get with a canceled context: %v", err)
	}
	if after := e.Requests(); after != before {
		t.Errorf("%d requests sent with a canceled context", after-before)
	}
	//lint:ignore SA1012 the point is a nil context
	if _, err := e.c.Send(nil, h.request(e.c.Capabilities().Kinds[0])); !errors.Is(err, payments.ErrNilContext) { //nolint:staticcheck
		t.Errorf("nil context: %v", err)
	}
}

func testLimiter(t *testing.T, h Harness) {
	e := h.setup(t)
	ctx := context.Background()
	r0, t0 := e.Requests(), e.lim.Count()
	if _, err := e.c.Send(ctx, h.request(e.c.Capabilities().Kinds[0])); err != nil {
		t.Fatal(err)
	}
	if _, err := e.c.Balance(ctx); err != nil {
		t.Fatal(err)
	}
	sent, tokens := e.Requests()-r0, e.lim.Count()-t0
	if sent == 0 || tokens != sent {
		t.Fatalf("%d requests took %d limiter tokens: want one token per request", sent, tokens)
	}
}

func testWait(t *testing.T, h Harness) {
	e := h.setup(t)
	ctx := context.Background()
	r := h.request(e.c.Capabilities().Kinds[0])
	if _, err := e.c.Send(ctx, r); err != nil {
		t.Fatal(err)
	}
	e.Settle()
	p, err := e.c.Wait(ctx, payout.Query{Ref: r.Ref, To: r.To})
	if err != nil {
		t.Fatalf("wait: %v", err)
	}
	if !p.State.Final() {
		t.Fatalf("wait returned a state that is not final: %v", p.State)
	}
}

func testBalance(t *testing.T, h Harness) {
	e := h.setup(t)
	b, err := e.c.Balance(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if b.Currency == "" {
		t.Fatalf("balance without currency: %v", b)
	}
}

func testAs(t *testing.T, h Harness) {
	e := h.setup(t)
	portabletest.TestAs(t, e.c.As, h.ProviderClient)
}
