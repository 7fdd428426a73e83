package payout_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/payout"
)

func lost(provider string) error {
	return &payments.OutcomeUnknownError{Provider: provider, Op: "pay",
		Err: &payments.TransportError{Provider: provider, Written: true, Err: errors.New("EOF")}}
}

var forbidden = &payments.APIError{Provider: "a", HTTPStatus: 403, Code: "403", Message: "IP not allowed", Category: payments.ErrForbidden}

// Two processes, one Ref: the first loses its answer at a (the payout
// landed), the second is refused by a. With memory of its own the second
// router moves the Ref to b and pays it twice; with the first's bindings it
// stays at a.
func TestTwoRoutersShareBindings(t *testing.T) {
	for _, shared := range []bool{false, true} {
		a, b := newMem("a", payout.Mobile), newMem("b", payout.Mobile)
		r1, err := payout.NewRouter(payout.NewClient(a), payout.NewClient(b))
		require.NoError(t, err)
		r2, err := payout.NewRouter(payout.NewClient(a), payout.NewClient(b))
		require.NoError(t, err)
		if shared {
			bs := payout.NewMemoryBindings()
			r1, err = r1.WithBindings(bs)
			require.NoError(t, err)
			r2, err = r2.WithBindings(bs)
			require.NoError(t, err)
		}
		a.err = lost("a")
		_, err = payout.NewClient(r1).Send(context.Background(), req("500"))
		require.ErrorIs(t, err, payments.ErrOutcomeUnknown)
		a.err = forbidden
		_, err = payout.NewClient(r2).Send(context.Background(), req("500"))
		paid := a.held("500") + b.held("500")
		if !shared {
			// What the issue saw: the Ref paid at both providers.
			require.NoError(t, err)
			assert.Equal(t, 2, paid, "without shared bindings two processes pay twice")
			continue
		}
		require.ErrorIs(t, err, payments.ErrForbidden)
		assert.Equal(t, 1, paid, "paid once")
		assert.Zero(t, b.sends, "b never asked")
		prov, _ := r2.Provider("500")
		assert.Equal(t, "a", prov)
	}
}

// One process: a send whose answer was lost, then a resend refused before
// processing (403, a 503 rate limit, a refused connection): the refusal of
// the resend proves nothing about the first send, so the Ref stays.
func TestRouterRefusedResendNeverMovesOn(t *testing.T) {
	for name, refusal := range map[string]error{
		"403 ip":  forbidden,
		"503":     &payments.APIError{Provider: "a", HTTPStatus: 503, Category: payments.ErrRateLimited},
		"no dial": &payments.TransportError{Provider: "a", Written: false, Err: errors.New("connection refused")},
	} {
		a, b := newMem("a", payout.Mobile), newMem("b", payout.Mobile)
		r, _ := payout.NewRouter(payout.NewClient(a), payout.NewClient(b))
		c := payout.NewClient(r)
		a.err = lost("a")
		_, err := c.Send(context.Background(), req("600"))
		require.ErrorIs(t, err, payments.ErrOutcomeUnknown, name)
		a.err = refusal
		for i := 0; i < 3; i++ {
			_, err = c.Send(context.Background(), req("600"))
			require.ErrorIs(t, err, refusal, name)
		}
		assert.Zero(t, b.sends, "%s: b never asked", name)
		assert.Equal(t, 1, a.held("600"), name)
	}
}

// Many routers sharing bindings race to send one Ref while the first
// provider refuses everything before processing: exactly one provider ends
// up paying, at most once.
func TestSharedBindingsUnderRace(t *testing.T) {
	a, b := newMem("a", payout.Mobile), newMem("b", payout.Mobile)
	a.err = forbidden
	bs := payout.NewMemoryBindings()
	var wg sync.WaitGroup
	for i := 0; i < 16; i++ {
		r, err := payout.NewRouter(payout.NewClient(a), payout.NewClient(b))
		require.NoError(t, err)
		r, err = r.WithBindings(bs)
		require.NoError(t, err)
		wg.Add(1)
		go func() { defer wg.Done(); _, _ = payout.NewClient(r).Send(context.Background(), req("700")) }()
	}
	wg.Wait()
	assert.Equal(t, 0, a.held("700"))
	assert.Equal(t, 1, b.held("700"))
}

func TestMemoryBindingsContract(t *testing.T) {
	ctx := context.Background()
	bs := payout.NewMemoryBindings()
	p, n, err := bs.Acquire(ctx, "1", "a")
	require.NoError(t, err)
	assert.Equal(t, "a", p)
	assert.Equal(t, 1, n)
	p, n, _ = bs.Acquire(ctx, "1", "b")
	assert.Equal(t, "a", p, "the first binding wins")
	assert.Equal(t, 2, n)
	ok, _ := bs.Move(ctx, "1", "a", "b", 1)
	assert.False(t, ok, "a second send was counted: no move")
	ok, _ = bs.Move(ctx, "1", "b", "c", 2)
	assert.False(t, ok, "not bound to b")
	ok, _ = bs.Move(ctx, "1", "a", "b", 2)
	assert.True(t, ok)
	got, _ := bs.Lookup(ctx, "1")
	assert.Equal(t, "b", got)
	_, n, _ = bs.Acquire(ctx, "1", "a")
	assert.Equal(t, 1, n, "a moved binding counts anew")
	ok, _ = bs.Move(ctx, "1", "b", "", 1)
	assert.True(t, ok)
	got, _ = bs.Lookup(ctx, "1")
	assert.Empty(t, got)
	_, err = (&payout.Router{}).WithBindings(nil)
	assert.ErrorIs(t, err, payments.ErrInvalidRequest)
}

func TestRouterRefusesTwoClientsOfOneProvider(t *testing.T) {
	a := newMem("a", payout.Mobile)
	_, err := payout.NewRouter(payout.NewClient(a), payout.NewClient(a))
	assert.ErrorIs(t, err, payments.ErrInvalidRequest)
}

func TestNewRefusesANilDriver(t *testing.T) {
	var typed *memDriver
	for name, d := range map[string]payout.Driver{"nil": nil, "typed nil": typed} {
		_, err := payout.New(d)
		assert.ErrorIs(t, err, payments.ErrInvalidRequest, name)
		assert.PanicsWithValue(t, "payout.NewClient: payments: invalid driver: nil: open a driver first (Open, or a driver package's New)",
			func() { payout.NewClient(d) }, name)
	}
	c, err := payout.New(newMem("a", payout.Mobile))
	require.NoError(t, err)
	assert.Equal(t, "a", c.Provider())
}

// A send whose caller gave up before anything left unbinds only a binding
// that it made itself: after an earlier send that may have landed, the Ref
// stays.
func TestNotSentKeepsAnEarlierBinding(t *testing.T) {
	a, b := newMem("a", payout.Mobile), newMem("b", payout.Mobile)
	r, _ := payout.NewRouter(payout.NewClient(a), payout.NewClient(b))
	c := payout.NewClient(r)
	a.err = lost("a")
	_, err := c.Send(context.Background(), req("800"))
	require.ErrorIs(t, err, payments.ErrOutcomeUnknown)
	a.err = context.Canceled
	_, err = c.Send(context.Background(), req("800"))
	require.ErrorIs(t, err, context.Canceled)
	prov, bound := r.Provider("800")
	assert.True(t, bound)
	assert.Equal(t, "a", prov)
	a.err = forbidden
	_, err = c.Send(context.Background(), req("800"))
	require.ErrorIs(t, err, payments.ErrForbidden)
	assert.Zero(t, b.sends, "b never asked")
}
