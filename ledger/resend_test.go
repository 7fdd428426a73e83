package ledger_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/ledger"
	"github.com/paysdk/payments/payout"
	"github.com/paysdk/payments/popolni"
	"github.com/paysdk/payments/popolni/popolnitest"
)

// oneStatusTrusted is popolni's driver as it was read before the 125 rule:
// its Get takes a single 125 for "not found". Its Send arms a refusal at the
// fake around every send after the first, as the adversarial runs
// saw: a resend refused before processing.
type oneStatusTrusted struct {
	payout.Driver
	c      *popolni.Client
	sends  atomic.Int32
	arm    func()
	disarm func()
}

func (d *oneStatusTrusted) Get(ctx context.Context, qs []payout.Query) ([]payout.Payout, error) {
	ids := make([]int64, len(qs))
	for i, q := range qs {
		ids[i], _ = strconv.ParseInt(q.Ref, 10, 64)
	}
	res, err := d.c.Status(ctx, ids...)
	if err != nil {
		return nil, err
	}
	out := make([]payout.Payout, len(qs))
	for i, r := range res {
		out[i] = payout.Payout{Ref: qs[i].Ref, Provider: "popolni", State: r.Status.State(), Code: strconv.Itoa(int(r.Status)), Err: r.Err()}
		if r.Status == popolni.StatusNotFound {
			out[i].State = payments.StateUnknown
		}
	}
	return out, nil
}

func (d *oneStatusTrusted) Send(ctx context.Context, r payout.Request) (payout.Payout, error) {
	if d.sends.Add(1) == 1 {
		return d.Driver.Send(ctx, r)
	}
	d.arm()
	defer d.disarm()
	return d.Driver.Send(ctx, r)
}

// TestRefusedResendNeverFailsOver is item 6 of the issue: popolni took the
// payout and its answer was lost; its next status answered 125 once; the
// ledger resent; popolni refused the resend before processing (outside the
// schedule, the IP, 503 ten times). The refusal of a resend proves nothing
// about the first send: the Ref stays at popolni, whose status settles it.
// Before the fix the Ref moved to QIWI and was paid there too.
func TestRefusedResendNeverFailsOver(t *testing.T) {
	refusals := map[string]struct{ arm, disarm func(*popolnitest.Server) }{
		"403 outside the schedule": {func(s *popolnitest.Server) { s.SetInSchedule(false) }, func(s *popolnitest.Server) { s.SetInSchedule(true) }},
		"403 ip not allowed": {func(s *popolnitest.Server) { require.NoError(t, s.SetAllowedIPs("192.0.2.1")) },
			func(s *popolnitest.Server) { require.NoError(t, s.SetAllowedIPs()) }},
		"503 ten times": {func(s *popolnitest.Server) { s.FailNext(10, 503, "") }, func(*popolnitest.Server) {}},
	}
	for name, rf := range refusals {
		t.Run(name, func(t *testing.T) {
			eachStore(t, func(t *testing.T, b backend) {
				// One attempt a call: the lost answer is not retried away.
				psrv, pc := popolniFakeWith(t, []payments.Option{payments.WithRetry(payments.RetryPolicy{MaxAttempts: 1})})
				qsrv, qc := qiwiFake(t)
				var pop *popolni.Client
				require.True(t, pc.As(&pop))
				d := &oneStatusTrusted{Driver: pc.Driver(), c: pop,
					arm: func() { rf.arm(psrv) }, disarm: func() { rf.disarm(psrv) }}
				s := b.open(t)
				l, err := ledger.New(s, fast(ledger.Options{}), payout.NewClient(d), qc)
				require.NoError(t, err)
				req := payout.Request{Ref: "1000000601", Amount: rub(15000), To: payout.Destination{Kind: payout.Wallet, Account: "79161234567"}}
				psrv.DropNext(1)              // the pay lands, its answer is lost
				psrv.NotFoundOnce(1000000601) // the first status: 125, once
				_, err = l.Submit(context.Background(), req)
				require.NoError(t, err)
				running(t, l)
				all := waitFinal(t, s, 60*time.Second)
				require.Len(t, all, 1)
				assert.Equal(t, "popolni", all[0].Provider, "%v", all[0])
				assert.Equal(t, ledger.Succeeded, all[0].Status)
				assert.Len(t, psrv.Payments(), 1)
				assert.Empty(t, qsrv.Payments(), "paid a second time at QIWI")
				assert.GreaterOrEqual(t, int(d.sends.Load()), 2, "the resend happened")
			})
		})
	}
}

// scripted answers every Send with its err and state, and Get with "the
// provider has it, pending", so a record that was wrongly made final shows.
type scripted struct {
	payout.Driver
	err   error
	state payments.State
	sends atomic.Int32
}

func (d *scripted) Send(context.Context, payout.Request) (payout.Payout, error) {
	d.sends.Add(1)
	return payout.Payout{State: d.state, Code: "x", Message: "driver's state"}, d.err
}

// TestStateBesideAnErrorIsNotAVerdict is item 4: whatever State a driver
// returns beside an error, an error that says the outcome is unknown, or
// that nothing was received, never makes the record Failed.
func TestStateBesideAnErrorIsNotAVerdict(t *testing.T) {
	cases := map[string]struct {
		err  error
		want ledger.Status
	}{
		"outcome unknown": {&payments.OutcomeUnknownError{Provider: "popolni", Op: "pay", Err: errors.New("EOF")}, ledger.InFlight},
		"not written":     {&payments.TransportError{Provider: "popolni", Op: "pay", Err: errors.New("dial: refused")}, ledger.Recorded},
		"rate limited":    {&payments.APIError{Provider: "popolni", HTTPStatus: 503, Category: payments.ErrRateLimited}, ledger.Recorded},
		"server error":    {&payments.APIError{Provider: "popolni", HTTPStatus: 500, Category: payments.ErrUnavailable}, ledger.InFlight},
		"unclassified":    {errors.New("the merchant's driver failed somehow"), ledger.InFlight},
		"context ended":   {context.DeadlineExceeded, ledger.InFlight},
		"declined":        {&payments.APIError{Provider: "popolni", Code: "101", Category: payments.ErrDeclined}, ledger.Failed},
	}
	for name, tc := range cases {
		_, pc := popolniFake(t)
		d := &scripted{Driver: pc.Driver(), err: tc.err, state: payments.StateFailed}
		s := eachStoreSQLite(t)
		l, err := ledger.New(s, fast(ledger.Options{PollInterval: time.Hour, Backoff: time.Hour, MaxBackoff: time.Hour}), payout.NewClient(d))
		require.NoError(t, err)
		_, err = l.Submit(context.Background(), requests(1_000_000_700, 1)...)
		require.NoError(t, err)
		stop := running(t, l)
		require.Eventually(t, func() bool { return d.sends.Load() >= 1 }, 20*time.Second, 2*time.Millisecond, name)
		var r ledger.Record
		require.Eventually(t, func() bool {
			r, err = l.Get(context.Background(), "1000000700")
			return err == nil && r.Sends == 1 && (r.Status != ledger.InFlight || r.LastError != "" || r.Status.Final())
		}, 20*time.Second, 2*time.Millisecond, name)
		stop()
		assert.Equal(t, tc.want, r.Status, "%s: %v", name, r)
	}
}

// TestLedgerTakesARouterApart is item 3: a ledger given
// payout.NewClient(router) keeps each provider's own name, pace and
// binding.
func TestLedgerTakesARouterApart(t *testing.T) {
	psrv, pc := popolniFake(t)
	_, qc := qiwiFake(t)
	router, err := payout.NewRouter(pc, qc)
	require.NoError(t, err)
	s := eachStoreSQLite(t)
	l, err := ledger.New(s, fast(ledger.Options{}), payout.NewClient(router))
	require.NoError(t, err)
	reqs := requests(1_000_000_800, 3)
	sbp := payout.Request{Ref: "1000000899", Amount: rub(20000), To: payout.Destination{Kind: payout.SBP, Account: "79161234567", Bank: "100000000111"}}
	_, err = l.Submit(context.Background(), append(reqs, sbp)...)
	require.NoError(t, err)
	running(t, l)
	all := waitFinal(t, s, 30*time.Second)
	require.Len(t, all, 4)
	byProvider, err := l.List(context.Background(), ledger.Filter{Provider: "popolni"})
	require.NoError(t, err)
	assert.Len(t, byProvider, 3, "Filter.Provider finds popolni's")
	q, err := l.List(context.Background(), ledger.Filter{Provider: "qiwitopup"})
	require.NoError(t, err)
	require.Len(t, q, 1)
	assert.Equal(t, "1000000899", q[0].Ref)
	assert.Len(t, psrv.Payments(), 3)
	for _, r := range all {
		assert.NotContains(t, r.Provider, "router")
	}
}

// TestPanickingOnFinalIsAnError is item 12: a panicking OnFinal does not
// take the process down; it is reported through OnError and retried.
func TestPanickingOnFinalIsAnError(t *testing.T) {
	_, pc := popolniFake(t)
	s := eachStoreSQLite(t)
	var mu sync.Mutex
	var errs []error
	var calls atomic.Int32
	l, err := ledger.New(s, fast(ledger.Options{
		OnFinal: func(context.Context, ledger.Record) error {
			if calls.Add(1) <= 3 {
				panic("the merchant's bug 4111111111111111")
			}
			return nil
		},
		OnError: func(err error) { mu.Lock(); errs = append(errs, err); mu.Unlock() },
	}), pc)
	require.NoError(t, err)
	_, err = l.Submit(context.Background(), requests(1_000_000_900, 1)...)
	require.NoError(t, err)
	running(t, l)
	all := waitFinal(t, s, 30*time.Second)
	require.Eventually(t, func() bool {
		r, err := l.Get(context.Background(), all[0].Ref)
		return err == nil && r.Reported
	}, 30*time.Second, 5*time.Millisecond)
	assert.GreaterOrEqual(t, int(calls.Load()), 4)
	mu.Lock()
	defer mu.Unlock()
	var found bool
	for _, e := range errs {
		assert.NotContains(t, e.Error(), "4111111111111111")
		found = found || (strings.Contains(e.Error(), "OnFinal panicked") && strings.Contains(e.Error(), "411111******1111"))
	}
	assert.True(t, found, "the panic went to OnError, masked: %v", errs)
}
