package ledger_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/ledger"
	"github.com/paysdk/payments/payout"
)

// TestRoutersShareBindingsThroughTheStore is item 7: two Routers (two
// processes: each its own clients and store handle) route one Ref. The
// first loses its answer at popolni, where the payout landed; the second is
// refused there (403, IP). Through the store's bindings the second keeps
// the Ref at popolni: one payout, QIWI never paid.
func TestRoutersShareBindingsThroughTheStore(t *testing.T) {
	eachStore(t, func(t *testing.T, b backend) {
		psrv, pc1 := popolniFakeWith(t, []payments.Option{payments.WithRetry(payments.RetryPolicy{MaxAttempts: 1})})
		qsrv, qc := qiwiFake(t)
		s1 := b.open(t)
		s2 := b.again(t, s1)
		pc2 := payout.NewClient(pc1.Driver())
		r1, err := payout.NewRouter(pc1, qc)
		require.NoError(t, err)
		r1, err = r1.WithBindings(ledger.RouterBindings(s1))
		require.NoError(t, err)
		r2, err := payout.NewRouter(pc2, qc)
		require.NoError(t, err)
		r2, err = r2.WithBindings(ledger.RouterBindings(s2))
		require.NoError(t, err)

		req := payout.Request{Ref: "1000003001", Amount: rub(15000), To: payout.Destination{Kind: payout.Wallet, Account: "79161234567"}}
		psrv.DropNext(1)
		_, err = payout.NewClient(r1).Send(context.Background(), req)
		require.ErrorIs(t, err, payments.ErrOutcomeUnknown)
		require.NoError(t, psrv.SetAllowedIPs("192.0.2.1"))
		_, err = payout.NewClient(r2).Send(context.Background(), req)
		require.ErrorIs(t, err, payments.ErrForbidden)
		require.NoError(t, psrv.SetAllowedIPs())
		assert.Len(t, psrv.Payments(), 1)
		assert.Empty(t, qsrv.Payments(), "paid a second time at QIWI")
		prov, _ := r2.Provider("1000003001")
		assert.Equal(t, "popolni", prov)

		// A restarted router over the same store settles the Ref at popolni.
		r3, err := payout.NewRouter(payout.NewClient(pc1.Driver()), qc)
		require.NoError(t, err)
		r3, err = r3.WithBindings(ledger.RouterBindings(b.again(t, s1)))
		require.NoError(t, err)
		p, err := payout.NewClient(r3).Get(context.Background(), "1000003001")
		require.NoError(t, err)
		assert.Equal(t, "popolni", p.Provider)
	})
}

// TestLedgerRouterSettlesTheLedgersRefs: a Router made from the ledger
// after a restart finds each Ref where the ledger bound it, and never moves
// a Ref the ledger has a record of, even on a first-send refusal.
func TestLedgerRouterSettlesTheLedgersRefs(t *testing.T) {
	eachStore(t, func(t *testing.T, b backend) {
		psrv, pc := popolniFake(t)
		qsrv, qc := qiwiFake(t)
		s := b.open(t)
		l, err := ledger.New(s, fast(ledger.Options{}), pc, qc)
		require.NoError(t, err)
		reqs := requests(1_000_004_001, 3)
		_, err = l.Submit(context.Background(), reqs...)
		require.NoError(t, err)
		stop := running(t, l)
		waitFinal(t, s, 30*time.Second)
		stop()

		// A restart: a new ledger on the same store, and its Router.
		l2, err := ledger.New(b.again(t, s), fast(ledger.Options{}), pc, qc)
		require.NoError(t, err)
		r, err := l2.Router()
		require.NoError(t, err)
		c := payout.NewClient(r)
		for _, req := range reqs {
			prov, bound := r.Provider(req.Ref)
			assert.True(t, bound)
			assert.Equal(t, "popolni", prov)
			p, err := c.Get(context.Background(), req.Ref)
			require.NoError(t, err)
			assert.Equal(t, "popolni", p.Provider)
			assert.Equal(t, payments.StateSucceeded, p.State)
		}
		// popolni refuses by IP: a ledger-owned Ref still never moves.
		require.NoError(t, psrv.SetAllowedIPs("192.0.2.1"))
		_, err = c.Send(context.Background(), reqs[0])
		require.ErrorIs(t, err, payments.ErrForbidden)
		require.NoError(t, psrv.SetAllowedIPs())
		assert.Len(t, psrv.Payments(), 3)
		assert.Empty(t, qsrv.Payments())
	})
}
