package royalpaypayout_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/ledger"
	"github.com/paysdk/payments/ledger/sqlitestore"
	"github.com/paysdk/payments/payout"
	"github.com/paysdk/payments/royalpay/royalpaytest"
)

// TestLedgerPaysEachRefOnce: the payout ledger, unchanged, over the embedded
// store and this driver, pays 20 payouts, one of whose create answers is
// lost in flight (the fake made it, the driver got ErrOutcomeUnknown):
// every Ref ends final, and the fake holds exactly one payout per Ref.
func TestLedgerPaysEachRefOnce(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	srv := royalpaytest.NewServer(royalpaytest.WithT(t), royalpaytest.WithPayoutCompleteAfterPolls(2))
	// Unlimited: the default 5 requests a second would make this a
	// 16-second test (20 lookups, 20 creates and the polls).
	client := payout.NewClient(newDriver(t, srv, payments.WithLimiter(payments.Unlimited())))
	store, err := sqlitestore.Open(ctx, filepath.Join(t.TempDir(), "payouts.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()

	const n = 20
	var mu sync.Mutex
	final := map[string]ledger.Status{}
	done := make(chan struct{})
	l, err := ledger.New(store, ledger.Options{PollInterval: 5 * time.Millisecond, Idle: 5 * time.Millisecond,
		OnFinal: func(_ context.Context, r ledger.Record) error {
			mu.Lock()
			defer mu.Unlock()
			if _, seen := final[r.Ref]; !seen {
				final[r.Ref] = r.Status
				if len(final) == n {
					close(done)
				}
			}
			return nil
		}}, client)
	if err != nil {
		t.Fatal(err)
	}
	reqs := make([]payout.Request, n)
	for i := range reqs {
		// SBP: the ledger stores phone numbers as given (card numbers
		// need Options.Cards, which this test is not about).
		reqs[i] = payout.Request{Ref: fmt.Sprintf("LEDGER-%02d", i), Amount: payments.MustMoney("100", "RUB"),
			To: payout.Destination{Kind: payout.SBP, Account: "79161234567", Bank: "100000000004"}}
	}
	srv.DropPayoutNext(1) // the first create's answer is lost
	if _, err := l.Submit(ctx, reqs...); err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	ran := make(chan error, 1)
	go func() { ran <- l.Run(runCtx) }()
	select {
	case <-done:
	case <-ctx.Done():
		mu.Lock()
		t.Fatalf("only %d of %d payouts final", len(final), n)
	}
	stop()
	<-ran

	for _, r := range reqs {
		if got := len(srv.PayoutsByOutterID(r.Ref)); got != 1 {
			t.Errorf("%s: %d payouts at the fake, want 1", r.Ref, got)
		}
		if final[r.Ref] != ledger.Succeeded {
			t.Errorf("%s: final state %v", r.Ref, final[r.Ref])
		}
	}
	if got := len(srv.Payouts()); got != n {
		t.Errorf("%d payouts at the fake for %d Refs", got, n)
	}
	if again, _ := l.Submit(ctx, reqs...); again != 0 {
		t.Errorf("a second submit recorded %d new intents", again)
	}
}

// testClock is the ledger's Options.Now: it moves only when the test moves
// it, so what the ledger does within and after NotFoundGrace depends on
// the test's steps, never on how fast a loaded machine runs.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *testClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t.After(c.t) {
		c.t = t
	}
}

// TestLedgerWaitsBeforeTrustingNotFound: RoyalPay does not dedupe, so a
// payout whose create never landed (a 503 before processing) is sent again
// only after Options.NotFoundGrace: a lookup that lagged its create would
// otherwise pay twice. Then it is paid once.
//
// The ledger's clock is a test clock: the test moves it to each record's
// NextAt once the ledger has scheduled it, so every poll happens at a known
// time, and waits on the ledger's records with a generous real-time bound.
func TestLedgerWaitsBeforeTrustingNotFound(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	srv := royalpaytest.NewServer(royalpaytest.WithT(t), royalpaytest.WithPayoutCompleteAfterPolls(1))
	client := payout.NewClient(newDriver(t, srv, payments.WithLimiter(payments.Unlimited())))
	if client.Capabilities().Dedupes {
		t.Fatal("RoyalPay documents no dedup on outter_id")
	}
	store, err := sqlitestore.Open(ctx, filepath.Join(t.TempDir(), "payouts.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	clock := &testClock{t: t0}
	const (
		grace = 10 * time.Minute // on the test clock
		poll  = time.Second      // on the test clock
	)
	l, err := ledger.New(store, ledger.Options{PollInterval: poll, Idle: 2 * time.Millisecond, Backoff: poll,
		Lease: 24 * time.Hour, NotFoundGrace: grace, Now: clock.Now, OnError: func(error) {}}, client)
	if err != nil {
		t.Fatal(err)
	}
	req := payout.Request{Ref: "GRACE-1", Amount: payments.MustMoney("100", "RUB"),
		To: payout.Destination{Kind: payout.SBP, Account: "79161234567", Bank: "100000000004"}}
	srv.FailPayoutNext(1, 503, `{"detail":"busy"}`)
	if _, err := l.Submit(ctx, req); err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	ran := make(chan error, 1)
	go func() { ran <- l.Run(runCtx) }()
	defer func() { stop(); <-ran }()

	// await returns the record once done says so, moving the clock to the
	// record's NextAt whenever the ledger has scheduled it later (never
	// past limit): a real-time wait on conditions only.
	await := func(what string, limit time.Time, done func(ledger.Record) bool) ledger.Record {
		t.Helper()
		for {
			rec, err := l.Get(ctx, req.Ref)
			if err == nil && done(rec) {
				return rec
			}
			if err == nil && rec.NextAt.After(clock.Now()) && !rec.NextAt.After(limit) {
				clock.Set(rec.NextAt)
			}
			select {
			case <-ctx.Done():
				t.Fatalf("waiting for %s: %+v, %v (clock %s after the send)", what, rec, err, clock.Now().Sub(t0))
			case <-time.After(2 * time.Millisecond):
			}
		}
	}
	beforeGrace := t0.Add(grace - time.Millisecond)

	// The 503 answered: in flight, sent once at t0.
	rec := await("the first send", t0, func(r ledger.Record) bool { return r.Sends == 1 && r.LastError != "" })
	if rec.Status != ledger.InFlight || !rec.SentAt.Equal(t0) {
		t.Fatalf("after the 503: %+v", rec)
	}
	// Polled within the grace, "not found" each time: not sent again.
	rec = await("two polls within the grace", beforeGrace, func(r ledger.Record) bool { return r.Polls >= 2 })
	// And once more a millisecond before the grace ends.
	polls := rec.Polls
	clock.Set(beforeGrace)
	rec = await("a poll just before the grace ends", beforeGrace, func(r ledger.Record) bool { return r.Polls > polls })
	if got := srv.Count(royalpaytest.OpPayoutCreate); got != 1 || rec.Status != ledger.InFlight || rec.Sends != 1 {
		t.Fatalf("within the grace: %d creates, %+v; want 1 create, InFlight", got, rec)
	}

	// The grace over, the next "not found" sends the Ref again; the payout
	// then completes at its first lookup.
	clock.Set(t0.Add(grace))
	rec = await("the final record", t0.Add(24*time.Hour), func(r ledger.Record) bool { return r.Status.Final() })
	if rec.Status != ledger.Succeeded || rec.Sends != 2 {
		t.Fatalf("final %+v: want succeeded after 2 sends", rec)
	}
	if got := srv.Count(royalpaytest.OpPayoutCreate); got != 2 {
		t.Fatalf("%d creates, want 2 (the 503 and the resend)", got)
	}
	if got := len(srv.PayoutsByOutterID(req.Ref)); got != 1 {
		t.Fatalf("%d payouts at the fake, want 1", got)
	}
	if waited := rec.FinalAt.Sub(rec.SentAt); waited < grace {
		t.Fatalf("sent again %s after the first send, before the grace of %s", waited, grace)
	}
}
