package ledger_test

import (
	"context"
	"errors"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/ledger"
	"github.com/paysdk/payments/payin"
	"github.com/paysdk/payments/payout"
	"github.com/paysdk/payments/popolni"
	"github.com/paysdk/payments/popolni/popolnitest"
)

// TestEveryIntentPaidOnceAndFinal: 300 payouts submitted reach one final
// record each, paid once with the right amount, every step stamped, told
// to OnFinal once, in a handful of provider requests under the
// provider's cap of 5 a second.
func TestEveryIntentPaidOnceAndFinal(t *testing.T) {
	eachStore(t, func(t *testing.T, b backend) {
		srv, pc := popolniFakeCapped(t)
		s := b.open(t)
		var f finals
		l, err := ledger.New(s, fast(ledger.Options{OnFinal: f.on}), pc)
		require.NoError(t, err)
		reqs := requests(1_000_000_001, 300)
		n, err := l.Submit(context.Background(), reqs...)
		require.NoError(t, err)
		require.Equal(t, 300, n)
		require.Empty(t, srv.Payments(), "Submit sends nothing")

		running(t, l)
		all := waitFinal(t, s, 30*time.Second)
		require.Len(t, all, 300)
		paidOncePopolni(t, srv, reqs)
		for _, r := range all {
			require.Equal(t, ledger.Succeeded, r.Status, "%v", r)
			require.Equal(t, "popolni", r.Provider)
			require.True(t, r.Reported)
			require.Empty(t, r.LastError)
			require.Equal(t, 1, r.Sends, "%v", r)
			require.NotEmpty(t, r.Code, "the provider's code is kept")
			require.False(t, r.SentAt.IsZero() || r.AcceptedAt.IsZero() || r.FinalAt.IsZero(), "%+v", r)
			require.False(t, r.SentAt.Before(r.CreatedAt) || r.AcceptedAt.Before(r.SentAt) || r.FinalAt.Before(r.AcceptedAt), "steps in order: %+v", r)
		}
		refs, calls := f.count()
		assert.Equal(t, 300, refs)
		assert.Equal(t, 300, calls, "OnFinal once per payout")
		pays, status := srv.Count(popolnitest.OpPay), srv.Count(popolnitest.OpStatus)
		t.Logf("%s: 300 payouts in %d pay and %d status requests", b.name, pays, status)
		assert.LessOrEqual(t, pays, 10, "sends are coalesced (one a payout would be 300)")
		assert.LessOrEqual(t, status, 20, "polls are batched (one a payout would be 600)")
	})
}

// TestSubmitIsIdempotentAndRefusesConflicts: a job resubmitting its input
// records nothing twice; a ref recorded with another amount or destination
// is refused and nothing of its batch is recorded; bad input is refused
// before the store sees it.
func TestSubmitIsIdempotentAndRefusesConflicts(t *testing.T) {
	eachStore(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		_, pc := popolniFake(t)
		s := b.open(t)
		l, err := ledger.New(s, fast(ledger.Options{}), pc)
		require.NoError(t, err)
		reqs := requests(500, 3)
		n, err := l.Submit(ctx, reqs...)
		require.NoError(t, err)
		require.Equal(t, 3, n)
		n, err = l.Submit(ctx, reqs...)
		require.NoError(t, err)
		require.Equal(t, 0, n, "the same payouts again are no new intents")

		changed := reqs[1]
		changed.Amount = payments.Money{Amount: changed.Amount.Amount.Add(payments.DecimalFromMinor(1, 2)), Currency: "RUB"}
		moved := reqs[2]
		moved.To.Account = "79990000000"
		fresh := requests(900, 1)[0]
		n, err = l.Submit(ctx, fresh, changed, reqs[0], moved)
		require.ErrorIs(t, err, ledger.ErrConflict)
		var ce *ledger.ConflictError
		require.ErrorAs(t, err, &ce)
		require.Equal(t, []string{changed.Ref, moved.Ref}, ce.Refs)
		require.Zero(t, n)
		_, err = l.Get(ctx, fresh.Ref)
		require.ErrorIs(t, err, payments.ErrNotFound, "a refused batch records nothing")
		got, err := l.Get(ctx, changed.Ref)
		require.NoError(t, err)
		require.True(t, got.Amount.Equal(reqs[1].Amount), "the recorded amount stands")

		for name, bad := range map[string][]payout.Request{
			"ref popolni cannot map": {{Ref: "0123", Amount: reqs[0].Amount, To: reqs[0].To}},
			"amount below minimum":   {{Ref: "901", Amount: rub(1), To: reqs[0].To}},
			"dollars":                {{Ref: "902", Amount: payments.MustMoney("10.00", "USD"), To: reqs[0].To}},
			"ref twice":              {fresh, fresh},
		} {
			_, err := l.Submit(ctx, bad...)
			var v *payments.ValidationError
			require.ErrorAs(t, err, &v, name)
		}
		all, err := l.List(ctx, ledger.Filter{})
		require.NoError(t, err)
		require.Len(t, all, 3, "nothing bad was recorded")
	})
}

// TestLostAnswersSettleUnderTheSameRef: pay answers lost after popolni
// processed them leave the payouts InFlight; the status settles them and
// no payout is ever sent under another id.
func TestLostAnswersSettleUnderTheSameRef(t *testing.T) {
	eachStore(t, func(t *testing.T, b backend) {
		// One attempt a request: each of the first ten requests lands and
		// its answer is lost, however many the Batcher has in flight.
		srv, pc := popolniFakeWith(t, []payments.Option{payments.WithTestTiming(),
			payments.WithRetry(payments.RetryPolicy{MaxAttempts: 1})})
		s := b.open(t)
		var errs atomic.Int32
		l, err := ledger.New(s, fast(ledger.Options{OnError: func(err error) {
			if errors.Is(err, payments.ErrOutcomeUnknown) {
				errs.Add(1)
			}
		}}), pc)
		require.NoError(t, err)
		reqs := requests(2_000_000_001, 40)
		srv.DropNext(10) // the first requests land, their answers are lost
		_, err = l.Submit(context.Background(), reqs...)
		require.NoError(t, err)
		running(t, l)
		all := waitFinal(t, s, 30*time.Second)
		paidOncePopolni(t, srv, reqs)
		require.Positive(t, errs.Load(), "answers were lost")
		for _, r := range all {
			require.Equal(t, ledger.Succeeded, r.Status, "%v", r)
		}
	})
}

// TestNotFoundIsResentUnderTheSameRef: a payout marked InFlight that never
// reached the provider (the process died between the mark and the send) is
// found missing by the status and sent again under its own Ref, once.
func TestResumeAfterACrash(t *testing.T) {
	eachStore(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		srv, pc := popolniFake(t)
		s := b.open(t)
		reqs := requests(3_000_000_001, 100)
		first, err := ledger.New(s, fast(ledger.Options{}), pc)
		require.NoError(t, err)
		_, err = first.Submit(ctx, reqs...)
		require.NoError(t, err)

		// A replica that died mid-work: it claimed everything, marked it
		// InFlight and sent half before it was killed.
		now := time.Now().Truncate(time.Microsecond)
		claimed, err := s.Claim(ctx, "dead-replica", now, 300*time.Millisecond, 1000)
		require.NoError(t, err)
		require.Len(t, claimed, 100)
		for i := range claimed {
			claimed[i].Status = ledger.InFlight
			claimed[i].Sends = 1
			claimed[i].SentAt = now
		}
		lost, err := s.Save(ctx, "dead-replica", now, 300*time.Millisecond, claimed)
		require.NoError(t, err)
		require.Empty(t, lost)
		var pop *popolni.Client
		require.True(t, pc.As(&pop))
		var half []popolni.Payment
		for _, r := range reqs[:50] {
			id, _ := strconv.ParseInt(r.Ref, 10, 64)
			kop, _ := r.Amount.Minor()
			half = append(half, popolni.Payment{ID: id, Amount: kop, Account: r.To.Account})
		}
		_, err = pop.Pay(ctx, half)
		require.NoError(t, err)

		// The next process: it waits out the dead replica's lease, then
		// settles everything.
		var f finals
		next, err := ledger.New(s, fast(ledger.Options{OnFinal: f.on}), pc)
		require.NoError(t, err)
		start := time.Now()
		running(t, next)
		all := waitFinal(t, s, 30*time.Second)
		require.GreaterOrEqual(t, time.Since(start), 250*time.Millisecond, "the dead replica's lease was respected")
		paidOncePopolni(t, srv, reqs)
		resent := 0
		for _, r := range all {
			require.Equal(t, ledger.Succeeded, r.Status, "%v", r)
			if r.Sends > 1 {
				resent++
			}
		}
		require.Equal(t, 50, resent, "the 50 that never landed were sent again, the 50 that did were only polled")
		refs, _ := f.count()
		require.Equal(t, 100, refs)
	})
}

// TestPollsAreCoalesced: 1,000 outstanding payouts cost tens of status
// requests (popolni takes 100 ids a request), not a thousand.
func TestPollsAreCoalesced(t *testing.T) {
	eachStore(t, func(t *testing.T, b backend) {
		srv, pc := popolniFake(t, popolnitest.WithStepsPerPoll(1))
		s := b.open(t)
		l, err := ledger.New(s, fast(ledger.Options{Batch: 1000, PollInterval: 50 * time.Millisecond}), pc)
		require.NoError(t, err)
		reqs := requests(4_000_000_001, 1000)
		_, err = l.Submit(context.Background(), reqs...)
		require.NoError(t, err)
		running(t, l)
		// 1.4 s idle; minutes with the race detector, two CPU hogs and the
		// rest of make test beside it.
		waitFinal(t, s, 240*time.Second)
		paidOncePopolni(t, srv, reqs)
		status := srv.Count(popolnitest.OpStatus)
		t.Logf("%s: 1,000 payouts settled with %d status requests", b.name, status)
		// Each payout needs two polls (pending, then final): 20 requests
		// of 100 at best.
		require.LessOrEqual(t, status, 60)
	})
}

// TestTwoReplicasShareTheWork: two ledgers on one store pay every payout
// once between them, and both do some of the work.
func TestTwoReplicasShareTheWork(t *testing.T) {
	eachStore(t, func(t *testing.T, b backend) {
		srv, pc := popolniFake(t)
		s1 := b.open(t)
		s2 := b.again(t, s1)
		var f1, f2 finals
		l1, err := ledger.New(s1, fast(ledger.Options{Owner: "replica-1", Batch: 20, OnFinal: f1.on}), pc)
		require.NoError(t, err)
		l2, err := ledger.New(s2, fast(ledger.Options{Owner: "replica-2", Batch: 20, OnFinal: f2.on}), pc)
		require.NoError(t, err)
		reqs := requests(5_000_000_001, 400)
		_, err = l1.Submit(context.Background(), reqs...)
		require.NoError(t, err)
		running(t, l1)
		running(t, l2)
		waitFinal(t, s1, 60*time.Second)
		paidOncePopolni(t, srv, reqs)
		r1, c1 := f1.count()
		r2, c2 := f2.count()
		t.Logf("%s: replica 1 finished %d, replica 2 %d", b.name, r1, r2)
		require.Positive(t, r1, "replica 1 worked")
		require.Positive(t, r2, "replica 2 worked")
		require.Equal(t, 400, c1+c2, "each final told once")
	})
}

// TestRefusalsAreFinal: a payout the provider refuses ends Failed with the
// provider's code and text; the others succeed.
func TestRefusalsAreFinal(t *testing.T) {
	eachStore(t, func(t *testing.T, b backend) {
		srv, pc := popolniFake(t)
		s := b.open(t)
		l, err := ledger.New(s, fast(ledger.Options{}), pc)
		require.NoError(t, err)
		reqs := requests(6_000_000_001, 10)
		srv.Blacklist(reqs[3].To.Account)
		_, err = l.Submit(context.Background(), reqs...)
		require.NoError(t, err)
		running(t, l)
		all := waitFinal(t, s, 30*time.Second)
		for _, r := range all {
			if r.Ref == reqs[3].Ref {
				require.Equal(t, ledger.Failed, r.Status, "%v", r)
				require.Equal(t, "423", r.Code, "%v", r)
				require.NotEmpty(t, r.Message)
				require.False(t, r.FinalAt.IsZero())
				continue
			}
			require.Equal(t, ledger.Succeeded, r.Status, "%v", r)
		}
	})
}

// TestFailoverOnlyWhenNeverReceived: popolni refusing every request before
// processing it (its API switched off: 403) moves the payouts to QIWI,
// durably rebound; each is paid once, at QIWI.
func TestFailoverOnlyWhenNeverReceived(t *testing.T) {
	eachStore(t, func(t *testing.T, b backend) {
		psrv, pc := popolniFake(t)
		qsrv, qc := qiwiFake(t)
		psrv.SetAPIEnabled(false)
		s := b.open(t)
		l, err := ledger.New(s, fast(ledger.Options{}), pc, qc)
		require.NoError(t, err)
		reqs := requests(7_000_000_001, 20)
		for i := range reqs {
			// Wallets: QIWI pays them without an operator lookup.
			reqs[i].To = payout.Destination{Kind: payout.Wallet, Account: "7916" + reqs[i].Ref[3:]}
		}
		_, err = l.Submit(context.Background(), reqs...)
		require.NoError(t, err)
		running(t, l)
		all := waitFinal(t, s, 30*time.Second)
		require.Empty(t, psrv.Payments())
		require.Len(t, qsrv.Payments(), 20)
		for _, r := range all {
			require.Equal(t, "qiwitopup", r.Provider, "%v", r)
			require.NotEqual(t, ledger.Recorded, r.Status)
			p, ok := qsrv.Payment(r.Ref)
			require.True(t, ok, r.Ref)
			require.Equal(t, r.Amount.Amount.String(), p.Amount)
		}
	})
}

// TestOnFinalIsRetriedUntilItAccepts: a final result the merchant's
// callback refused is handed to it again; the record is marked reported
// only once it is accepted.
func TestOnFinalIsRetriedUntilItAccepts(t *testing.T) {
	eachStore(t, func(t *testing.T, b backend) {
		_, pc := popolniFake(t)
		s := b.open(t)
		var f finals
		var refused atomic.Int32
		l, err := ledger.New(s, fast(ledger.Options{OnFinal: func(ctx context.Context, r ledger.Record) error {
			if refused.Add(1) <= 5 {
				return errors.New("the merchant's database is down")
			}
			return f.on(ctx, r)
		}}), pc)
		require.NoError(t, err)
		_, err = l.Submit(context.Background(), requests(8_000_000_001, 5)...)
		require.NoError(t, err)
		running(t, l)
		all := waitFinal(t, s, 30*time.Second)
		refs, calls := f.count()
		require.Equal(t, 5, refs)
		require.Equal(t, 5, calls, "accepted once each")
		for _, r := range all {
			require.True(t, r.Reported)
		}
	})
}

// TestNotificationsRecordedOnce: a repeated pay-in notification makes one
// event and one call of the merchant's handler; a handler that failed is
// called again on the next delivery; the provider is acknowledged only
// once the event is durable.
func TestNotificationsRecordedOnce(t *testing.T) {
	eachStore(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		s := b.open(t)
		var calls atomic.Int32
		fail := atomic.Bool{}
		h := ledger.Notifications(s, func(ctx context.Context, e payin.Event) error {
			calls.Add(1)
			if fail.Load() {
				return errors.New("merchant busy")
			}
			return nil
		})
		ev := payin.Event{Provider: "paykeeper", ProviderID: "123", OrderRef: "order-1", State: payments.StateSucceeded,
			Amount: payments.MustMoney("100.00", "RUB")}
		for range 3 {
			require.NoError(t, h(ctx, ev))
		}
		require.EqualValues(t, 1, calls.Load())
		evs, err := s.Events(ctx, 0)
		require.NoError(t, err)
		require.Len(t, evs, 1)
		require.True(t, evs[0].Handled())
		require.Equal(t, "order-1", evs[0].OrderRef)
		require.True(t, evs[0].Amount.Equal(ev.Amount))

		refund := ev
		refund.State = payments.StateRefunded
		fail.Store(true)
		require.Error(t, h(ctx, refund), "not acknowledged: the provider delivers again")
		fail.Store(false)
		require.NoError(t, h(ctx, refund))
		require.NoError(t, h(ctx, refund))
		require.EqualValues(t, 3, calls.Load(), "the failed delivery's handler ran again, once")
		evs, err = s.Events(ctx, 0)
		require.NoError(t, err)
		require.Len(t, evs, 2)

		require.NoError(t, s.Close())
		other := ev
		other.ProviderID = "124"
		err = h(ctx, other)
		require.ErrorIs(t, err, ledger.ErrStore, "no store, no acknowledgement")
		require.EqualValues(t, 3, calls.Load(), "nor a call of the handler")
	})
}
