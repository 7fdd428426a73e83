package qiwipayout_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/payout"
	"github.com/paysdk/payments/payout/popolnipayout"
	"github.com/paysdk/payments/payout/qiwipayout"
	"github.com/paysdk/payments/popolni"
	"github.com/paysdk/payments/popolni/popolnitest"
	"github.com/paysdk/payments/qiwitopup/qiwitopuptest"
)

// failover is a router over popolni (preferred) and QIWI, each on its fake,
// with the suite's retry policy (3 attempts).
type failover struct {
	router *payout.Router
	c      *payout.Client
	pop    *popolnitest.Server
	qiwi   *qiwitopuptest.Server
}

func newFailover(t *testing.T) failover {
	t.Helper()
	pop := popolnitest.NewServer(popolnitest.WithT(t), popolnitest.WithBalance(100_000_00, 0), popolnitest.WithRateLimit(10000))
	pc, err := popolni.New(popolni.Credentials{Login: pop.Login(), Password: pop.Password()}, append(pop.ClientOptions(), testOpts()...)...)
	require.NoError(t, err)
	pd := popolnipayout.New(pc, popolnipayout.Options{PollInterval: time.Millisecond})
	qiwi := newFake(t)
	qd := newDriver(t, qiwi, qiwipayout.Options{}, testOpts()...)
	r, err := payout.NewRouter(payout.NewClient(pd), payout.NewClient(qd))
	require.NoError(t, err)
	t.Cleanup(func() { r.Close() })
	return failover{router: r, c: payout.NewClient(r), pop: pop, qiwi: qiwi}
}

// request is a card payout both providers take.
func (f failover) request() payout.Request {
	return payout.Request{Ref: newRef(), Amount: payments.MustMoney("50.00", "RUB"), To: destination(payout.Card)}
}

func (f failover) popHolds(t *testing.T, ref string) (popolnitest.PaymentRecord, bool) {
	id, err := strconv.ParseInt(ref, 10, 64)
	require.NoError(t, err)
	return f.pop.Payment(id)
}

func (f failover) provider(t *testing.T, ref string) string {
	p, ok := f.router.Provider(ref)
	require.True(t, ok, "the ref is bound")
	return p
}

// A refusal that proves popolni never processed the payout moves it to QIWI,
// where it is paid once; popolni pays nothing.
func TestRouterFailsOverWhenPopolniRefusesUnprocessed(t *testing.T) {
	ctx := context.Background()
	t.Run("IPNotAllowed", func(t *testing.T) {
		f := newFailover(t)
		require.NoError(t, f.pop.SetAllowedIPs("203.0.113.10")) // not 127.0.0.1: 403 "IP is not allowed"
		r := f.request()
		p, err := f.c.Send(ctx, r)
		require.NoError(t, err)
		assert.Equal(t, "qiwitopup", p.Provider)
		assert.Equal(t, "qiwitopup", f.provider(t, r.Ref))
		assert.Equal(t, 1, f.pop.Count(popolnitest.OpPay), "popolni was asked and refused")
		_, held := f.popHolds(t, r.Ref)
		assert.False(t, held, "popolni holds nothing")
		_, paid := f.qiwi.Payment(r.Ref)
		assert.True(t, paid)

		// popolni is back, but the Ref is QIWI's now: a resend goes there
		// and finds the same payment.
		require.NoError(t, f.pop.SetAllowedIPs())
		again, err := f.c.Send(ctx, r)
		require.NoError(t, err)
		assert.Equal(t, p.ProviderID, again.ProviderID)
		assert.Equal(t, 1, f.pop.Count(popolnitest.OpPay))
		assert.Len(t, f.qiwi.Payments(), 1)
		got, err := f.c.Get(ctx, r.Ref)
		require.NoError(t, err)
		assert.Equal(t, "qiwitopup", got.Provider)
	})
	t.Run("InsufficientFunds", func(t *testing.T) {
		f := newFailover(t)
		f.pop.SetBalance(0, 0) // status 101: refused, nothing debited
		r := f.request()
		p, err := f.c.Send(ctx, r)
		require.NoError(t, err)
		assert.Equal(t, "qiwitopup", p.Provider)
		assert.Equal(t, "qiwitopup", f.provider(t, r.Ref))
		rec, held := f.popHolds(t, r.Ref)
		require.True(t, held, "popolni keeps its refusal under the id")
		assert.Equal(t, int(popolni.StatusInsufficientFunds), rec.Status, "final failure at popolni: not paid there")
		cur, _ := f.pop.Balance()
		assert.Zero(t, cur)
		_, paid := f.qiwi.Payment(r.Ref)
		assert.True(t, paid)
		assert.Len(t, f.qiwi.Payments(), 1)
		assert.Equal(t, 1, f.qiwi.Count(qiwitopuptest.OpPay))
	})
}

// An answer lost in flight binds the payout to popolni: outcome unknown,
// QIWI never gets a pay, and a later Send of the Ref settles at popolni,
// which holds exactly one payment.
func TestRouterStaysBoundAfterOutcomeUnknown(t *testing.T) {
	ctx := context.Background()
	f := newFailover(t)
	f.pop.DropNext(3) // every attempt of the suite's retry policy
	r := f.request()
	_, err := f.c.Send(ctx, r)
	require.ErrorIs(t, err, payments.ErrOutcomeUnknown)
	assert.False(t, payout.NeverReceived(err))
	assert.Equal(t, 3, f.pop.Count(popolnitest.OpPay))
	assert.Equal(t, "popolni", f.provider(t, r.Ref))
	assert.Zero(t, f.qiwi.Count(qiwitopuptest.OpPay), "QIWI never receives a pay")
	assert.Empty(t, f.qiwi.Requests())

	p, err := f.c.Send(ctx, r)
	require.NoError(t, err)
	assert.Equal(t, "popolni", p.Provider)
	_, held := f.popHolds(t, r.Ref)
	assert.True(t, held)
	assert.Len(t, f.pop.Payments(), 1, "popolni holds exactly one payment")
	assert.Zero(t, f.qiwi.Count(qiwitopuptest.OpPay))

	got, err := f.c.Get(ctx, r.Ref)
	require.NoError(t, err)
	assert.Equal(t, "popolni", got.Provider)
	assert.Empty(t, f.qiwi.Requests(), "only popolni's status settles it")
}
