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
		reqs[i] = payout.Request{Ref: fmt.Sprintf("LEDGER-%02d", i), Amount: payments.MustMoney("100", "RUB"),
			To: payout.Destination{Kind: payout.Card, Account: "4111111111111111"}}
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

// TestLedgerWaitsBeforeTrustingNotFound: RoyalPay does not dedupe, so a
// payout whose create never landed (a 503 before processing) is sent again
// only after Options.NotFoundGrace: a lookup that lagged its create would
// otherwise pay twice. Then it is paid once.
func TestLedgerWaitsBeforeTrustingNotFound(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
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
	const grace = 400 * time.Millisecond
	l, err := ledger.New(store, ledger.Options{PollInterval: 5 * time.Millisecond, Idle: 5 * time.Millisecond,
		Backoff: 5 * time.Millisecond, NotFoundGrace: grace, OnError: func(error) {}}, client)
	if err != nil {
		t.Fatal(err)
	}
	req := payout.Request{Ref: "GRACE-1", Amount: payments.MustMoney("100", "RUB"),
		To: payout.Destination{Kind: payout.Card, Account: "4111111111111111"}}
	srv.FailPayoutNext(1, 503, `{"detail":"busy"}`)
	if _, err := l.Submit(ctx, req); err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	ran := make(chan error, 1)
	go func() { ran <- l.Run(runCtx) }()
	defer func() { stop(); <-ran }()

	time.Sleep(grace / 2)
	if got := srv.Count(royalpaytest.OpPayoutCreate); got != 1 {
		t.Fatalf("%d creates within the grace, want 1", got)
	}
	rec, err := l.Get(ctx, req.Ref)
	if err != nil || rec.Status != ledger.InFlight || rec.Polls == 0 {
		t.Fatalf("within the grace: %+v, %v; want InFlight and polled", rec, err)
	}
	for {
		rec, err = l.Get(ctx, req.Ref)
		if err == nil && rec.Status.Final() {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("not final: %+v", rec)
		case <-time.After(5 * time.Millisecond):
		}
	}
	if rec.Status != ledger.Succeeded || rec.Sends != 2 {
		t.Fatalf("final %+v: want succeeded after 2 sends", rec)
	}
	if got := len(srv.PayoutsByOutterID(req.Ref)); got != 1 {
		t.Fatalf("%d payouts at the fake, want 1", got)
	}
	if waited := rec.FinalAt.Sub(rec.SentAt); waited < grace {
		t.Fatalf("sent again %s after the first send, before the grace of %s", waited, grace)
	}
}
