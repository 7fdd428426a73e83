package mempayout_test

import (
	"context"
	"errors"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/payout"
	"github.com/paysdk/payments/payout/mempayout"
	"github.com/paysdk/payments/payout/payouttest"
)

var nextRef atomic.Int64

func newRef() string { return "ref-" + strconv.FormatInt(nextRef.Add(1), 10) }

func fixture(t *testing.T, o mempayout.Options, opts ...payments.Option) (payouttest.Fixture, *mempayout.Driver) {
	t.Helper()
	d, err := mempayout.New(o, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return fixtureOf(d), d
}

// fixtureOf is the suite's view of d.
func fixtureOf(d *mempayout.Driver) payouttest.Fixture {
	return payouttest.Fixture{
		Driver:      d,
		LoseAnswers: d.LoseAnswers,
		Held: func(ref string) int {
			if _, ok := d.Payout(ref); ok {
				return 1
			}
			return 0
		},
		Payouts:  func() int { return len(d.Payouts()) },
		Requests: d.Requests,
		Settle:   d.Settle,
	}
}

func harness(o mempayout.Options) payouttest.Harness {
	return payouttest.Harness{
		New: func(t *testing.T, opts ...payments.Option) payouttest.Fixture {
			f, _ := fixture(t, o, opts...)
			return f
		},
		Destination: func(kind payout.Kind) payout.Destination {
			switch kind {
			case payout.Card:
				return payout.Destination{Kind: kind, Account: "4111111111111111"}
			case payout.SBP:
				return payout.Destination{Kind: kind, Account: "79161234567", Bank: "100000000111"}
			}
			return payout.Destination{Kind: kind, Account: "79161234567"}
		},
		Amount:         payments.MustMoney("50.00", "RUB"),
		NewRef:         newRef,
		BadRef:         "has space",
		ProviderClient: new(*mempayout.Driver),
	}
}

func TestConformance(t *testing.T) { payouttest.RunConformanceTests(t, harness(mempayout.Options{})) }

// TestConformanceManual: payouts that stay pending until settled keep the
// contract too.
func TestConformanceManual(t *testing.T) {
	payouttest.RunConformanceTests(t, harness(mempayout.Options{Manual: true}))
}

// TestConformanceOpened runs the suite on drivers made by payout.Open.
func TestConformanceOpened(t *testing.T) {
	h := harness(mempayout.Options{})
	h.New = func(t *testing.T, opts ...payments.Option) payouttest.Fixture {
		c, err := payout.Open(context.Background(), "mem://?settle=manual&poll_interval=1ms", payments.OpenClientOptions(opts...))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		var d *mempayout.Driver
		if !c.As(&d) {
			t.Fatal("As(**mempayout.Driver) = false")
		}
		return fixtureOf(d)
	}
	payouttest.RunConformanceTests(t, h)
}

func client(t *testing.T, o mempayout.Options) (*payout.Client, *mempayout.Driver) {
	t.Helper()
	_, d := fixture(t, o)
	return payout.NewClient(d), d
}

func request(ref string) payout.Request {
	return payout.Request{Ref: ref, Amount: payments.MustMoney("100.00", "RUB"), To: payout.Destination{Kind: payout.Mobile, Account: "79161234567"}}
}

func TestRefuseDeclineHoldsAFailedPayout(t *testing.T) {
	c, d := client(t, mempayout.Options{})
	ctx := context.Background()
	detail := errors.New("the payee's operator refused")
	d.Refuse("r1", detail)
	p, err := c.Send(ctx, request("r1"))
	var ae *payments.APIError
	if !errors.As(err, &ae) || !errors.Is(err, payments.ErrDeclined) || !errors.Is(err, detail) {
		t.Fatalf("refused send: %v", err)
	}
	if p.State != payments.StateFailed || !errors.Is(p.Err, detail) {
		t.Fatalf("refused payout: %+v", p)
	}
	if payout.NeverReceived(err) {
		t.Fatal("a decline counted as never received")
	}
	d.Refuse("r1", nil)
	again, err := c.Send(ctx, request("r1"))
	if !errors.Is(err, payments.ErrDeclined) || again.State != payments.StateFailed {
		t.Fatalf("a resend of a declined Ref must answer the failed payout it holds: %v %v", again.State, err)
	}
	got, err := c.Get(ctx, "r1")
	if err != nil || got.State != payments.StateFailed {
		t.Fatalf("get of the declined payout: %v %v", got.State, err)
	}
}

func TestRefuseNeverReceivedHoldsNothing(t *testing.T) {
	c, d := client(t, mempayout.Options{})
	ctx := context.Background()
	d.RefuseNext(2, payments.ErrRateLimited)
	for i := 0; i < 2; i++ {
		_, err := c.Send(ctx, request("r"+strconv.Itoa(i)))
		if !errors.Is(err, payments.ErrRateLimited) || !payout.NeverReceived(err) {
			t.Fatalf("send %d: %v", i, err)
		}
		if _, err := c.Get(ctx, "r"+strconv.Itoa(i)); !errors.Is(err, payments.ErrNotFound) {
			t.Fatalf("a refusal before processing left a payout: %v", err)
		}
	}
	if p, err := c.Send(ctx, request("r0")); err != nil || p.State != payments.StateSucceeded {
		t.Fatalf("the third send (no refusal left): %v %v", p.State, err)
	}
}

func TestInsufficientFunds(t *testing.T) {
	c, d := client(t, mempayout.Options{Balance: payments.MustMoney("150.00", "RUB")})
	ctx := context.Background()
	if _, err := c.Send(ctx, request("a")); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Send(ctx, request("b")); !errors.Is(err, payments.ErrInsufficientFunds) {
		t.Fatalf("100.00 out of 50.00 left: %v", err)
	}
	if b, _ := c.Balance(ctx); !b.Equal(payments.MustMoney("50.00", "RUB")) {
		t.Fatalf("balance %v, want 50.00 RUB", b)
	}
	d.SetBalance(payments.MustMoney("1000.00", "RUB"))
	if _, err := c.Send(ctx, request("b")); err != nil {
		t.Fatalf("after a top-up: %v", err)
	}
}

func TestLoseNextAnswerPaysOnce(t *testing.T) {
	c, d := client(t, mempayout.Options{})
	ctx := context.Background()
	d.LoseNextAnswer()
	_, err := c.Send(ctx, request("lost"))
	var ou *payments.OutcomeUnknownError
	if !errors.As(err, &ou) || ou.Ref != "lost" {
		t.Fatalf("lost answer: %v", err)
	}
	if p, ok := d.Payout("lost"); !ok || p.State != payments.StateSucceeded {
		t.Fatalf("the payout must have landed: %+v %v", p, ok)
	}
	if p, err := c.Send(ctx, request("lost")); err != nil || p.State != payments.StateSucceeded {
		t.Fatalf("resend: %v %v", p.State, err)
	}
	if n := len(d.Payouts()); n != 1 {
		t.Fatalf("%d payouts for one Ref", n)
	}
	if b, _ := c.Balance(ctx); !b.Equal(payments.MustMoney("9999900.00", "RUB")) {
		t.Fatalf("balance %v: paid more than once", b)
	}
}

func TestLoseAnswersFewerThanAttemptsAreResent(t *testing.T) {
	d, err := mempayout.New(mempayout.Options{}, payments.WithRetry(payments.RetryPolicy{MaxAttempts: 3}))
	if err != nil {
		t.Fatal(err)
	}
	c := payout.NewClient(d)
	d.LoseAnswers(2)
	r0 := d.Requests()
	if p, err := c.Send(context.Background(), request("x")); err != nil || p.State != payments.StateSucceeded {
		t.Fatalf("two lost answers of three attempts: %v %v", p.State, err)
	}
	if n := d.Requests() - r0; n != 3 {
		t.Fatalf("%d attempts, want 3", n)
	}
}

func TestManualCompleteAndFail(t *testing.T) {
	c, d := client(t, mempayout.Options{Manual: true})
	ctx := context.Background()
	for _, ref := range []string{"ok", "ko"} {
		if p, err := c.Send(ctx, request(ref)); err != nil || p.State != payments.StatePending {
			t.Fatalf("%s: %v %v", ref, p.State, err)
		}
	}
	done := make(chan payout.Payout, 1)
	go func() {
		p, _ := c.Wait(ctx, payout.Query{Ref: "ok"})
		done <- p
	}()
	if err := d.Complete("ok"); err != nil {
		t.Fatal(err)
	}
	select {
	case p := <-done:
		if p.State != payments.StateSucceeded {
			t.Fatalf("wait after complete: %v", p.State)
		}
	case <-time.After(time.Minute):
		t.Fatal("Wait did not end after Complete")
	}
	if err := d.Fail("ko", payments.ErrDeclined); err != nil {
		t.Fatal(err)
	}
	p, err := c.Get(ctx, "ko")
	if err != nil || p.State != payments.StateFailed || !errors.Is(p.Err, payments.ErrDeclined) {
		t.Fatalf("failed payout: %v %v %v", p.State, p.Err, err)
	}
	if b, _ := c.Balance(ctx); !b.Equal(payments.MustMoney("9999900.00", "RUB")) {
		t.Fatalf("balance %v: the failed payout's amount must come back", b)
	}
	if err := d.Complete("ok"); err == nil {
		t.Fatal("Complete of a final payout succeeded")
	}
	if err := d.Complete("nope"); !errors.Is(err, payments.ErrNotFound) {
		t.Fatalf("Complete of an unknown ref: %v", err)
	}
}

func TestWaitEndsWithContext(t *testing.T) {
	c, _ := client(t, mempayout.Options{Manual: true})
	if _, err := c.Send(context.Background(), request("p")); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	p, err := c.Wait(ctx, payout.Query{Ref: "p"})
	if !errors.Is(err, context.Canceled) || p.Ref != "p" {
		t.Fatalf("wait with an ended context: %v %v", p, err)
	}
}

func TestClosed(t *testing.T) {
	c, d := client(t, mempayout.Options{})
	if _, err := c.Send(context.Background(), request("a")); err != nil {
		t.Fatal(err)
	}
	c.Close()
	if _, err := c.Send(context.Background(), request("b")); !errors.Is(err, mempayout.ErrClosed) || errors.Is(err, payments.ErrOutcomeUnknown) {
		t.Fatalf("send after close: %v", err)
	}
	if len(d.Payouts()) != 1 {
		t.Fatal("the payouts made must stay readable")
	}
}

func TestOpenParameters(t *testing.T) {
	ctx := context.Background()
	c, err := payout.Open(ctx, "mem://?provider=mem-b&balance=500.00&poll_interval=5ms")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	caps := c.Capabilities()
	if caps.Provider != "mem-b" || caps.PollInterval != 5*time.Millisecond || !caps.Dedupes {
		t.Fatalf("capabilities %+v", caps)
	}
	if b, _ := c.Balance(ctx); !b.Equal(payments.MustMoney("500.00", "RUB")) {
		t.Fatalf("balance %v", b)
	}
	for _, bad := range []string{"mem://?settle=later", "mem://?poll_interval=0s", "mem://?balance=lots", "mem://?typo=1"} {
		if _, err := payout.Open(ctx, bad); !errors.Is(err, payments.ErrInvalidRequest) {
			t.Errorf("%s: %v", bad, err)
		}
	}
	if _, err := payout.Open(ctx, "mem://", payments.OpenCredentials("secret")); !errors.Is(err, payments.ErrInvalidRequest) {
		t.Errorf("credentials accepted: %v", err)
	}
}
