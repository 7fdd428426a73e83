package payout_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/payout"
)

// memDriver is a scripted provider: err is what Send answers (nil pays).
type memDriver struct {
	name  string
	kinds []payout.Kind
	mu    sync.Mutex
	err   error
	paid  map[string]int
	// refused refs are known as a refusal that moved no money (popolni's 101)
	refused map[string]bool
	sends   int
}

func newMem(name string, kinds ...payout.Kind) *memDriver {
	return &memDriver{name: name, kinds: kinds, paid: map[string]int{}}
}

func (m *memDriver) Capabilities() payout.Capabilities {
	return payout.Capabilities{Provider: m.name, Kinds: m.kinds, StatusBatch: 10, RefForm: "any",
		Limits: map[string]payout.Limit{"RUB": {Min: payments.MustMoney("1", "RUB"), Max: payments.MustMoney("15000", "RUB")}}}
}
func (m *memDriver) CheckRef(string) error { return nil }
func (m *memDriver) Send(_ context.Context, r payout.Request) (payout.Payout, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sends++
	if m.err != nil {
		if errors.Is(m.err, payments.ErrOutcomeUnknown) {
			m.paid[r.Ref]++ // it landed, the answer did not
		}
		return payout.Payout{Ref: r.Ref, Provider: m.name}, m.err
	}
	if m.paid[r.Ref] == 0 {
		m.paid[r.Ref]++
	}
	return payout.Payout{Ref: r.Ref, Provider: m.name, State: payments.StatePending}, nil
}
func (m *memDriver) Get(_ context.Context, qs []payout.Query) ([]payout.Payout, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]payout.Payout, len(qs))
	for i, q := range qs {
		ref := q.Ref
		out[i] = payout.Payout{Ref: ref, Provider: m.name}
		if m.refused[ref] {
			out[i].State = payments.StateFailed
			out[i].Err = &payments.APIError{Provider: m.name, Code: "101", Category: payments.ErrInsufficientFunds}
		} else if m.paid[ref] > 0 {
			out[i].State = payments.StateSucceeded
		} else {
			out[i].Err = &payments.APIError{Provider: m.name, Op: "get", Category: payments.ErrNotFound}
		}
	}
	return out, nil
}
func (m *memDriver) Wait(ctx context.Context, q payout.Query) (payout.Payout, error) {
	ps, err := m.Get(ctx, []payout.Query{q})
	return ps[0], err
}
func (m *memDriver) Balance(context.Context) (payments.Money, error) {
	return payments.MustMoney("100", "RUB"), nil
}
func (m *memDriver) As(any) bool  { return false }
func (m *memDriver) Close() error { return nil }
func (m *memDriver) held(ref string) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.paid[ref]
}

func req(ref string) payout.Request {
	return payout.Request{Ref: ref, Amount: payments.MustMoney("50", "RUB"), To: payout.Destination{Kind: payout.Mobile, Account: "79161234567"}}
}

func TestRouterMovesOnOnlyWhenNeverReceived(t *testing.T) {
	refused := map[string]error{
		"nothing written":    &payments.TransportError{Provider: "a", Op: "pay", Written: false, Err: errors.New("dial: refused")},
		"rate limited (503)": &payments.APIError{Provider: "a", HTTPStatus: 503, Category: payments.ErrRateLimited},
		"insufficient funds": &payments.APIError{Provider: "a", Code: "101", Category: payments.ErrInsufficientFunds},
		"unauthorized":       &payments.APIError{Provider: "a", HTTPStatus: 403, Category: payments.ErrUnauthorized},
		"ip not allowed":     &payments.APIError{Provider: "a", HTTPStatus: 403, Category: payments.ErrForbidden},
		"validation":         &payments.ValidationError{Field: "x", Reason: "y"},
	}
	for name, cause := range refused {
		a, b := newMem("a", payout.Mobile), newMem("b", payout.Mobile)
		a.err = cause
		r, err := payout.NewRouter(payout.NewClient(a), payout.NewClient(b))
		require.NoError(t, err)
		c := payout.NewClient(r)
		p, err := c.Send(context.Background(), req("1"))
		require.NoError(t, err, name)
		assert.Equal(t, "b", p.Provider, name)
		assert.Equal(t, 1, b.held("1"), name)
		prov, _ := r.Provider("1")
		assert.Equal(t, "b", prov, name)
	}
}

func TestRouterNeverFailsOverAfterAPossibleDelivery(t *testing.T) {
	landed := map[string]error{
		"outcome unknown": &payments.OutcomeUnknownError{Provider: "a", Op: "pay", Ref: "1",
			Err: &payments.TransportError{Provider: "a", Written: true, Err: errors.New("EOF")}},
		"outcome unknown over a 503": &payments.OutcomeUnknownError{Provider: "a", Op: "pay",
			Err: &payments.APIError{HTTPStatus: 503, Category: payments.ErrRateLimited}},
		"written, no answer": &payments.TransportError{Provider: "a", Written: true, Err: errors.New("EOF")},
		"declined":           &payments.APIError{Provider: "a", Category: payments.ErrDeclined},
		"duplicate":          &payments.APIError{Provider: "a", Category: payments.ErrDuplicate},
		"server error":       &payments.APIError{Provider: "a", HTTPStatus: 500, Category: payments.ErrUnavailable},
		"canceled":           fmt.Errorf("a pay: %w", context.Canceled),
	}
	for name, cause := range landed {
		a, b := newMem("a", payout.Mobile), newMem("b", payout.Mobile)
		a.err = cause
		r, err := payout.NewRouter(payout.NewClient(a), payout.NewClient(b))
		require.NoError(t, err)
		c := payout.NewClient(r)
		_, err = c.Send(context.Background(), req("1"))
		require.ErrorIs(t, err, cause, name)
		assert.Zero(t, b.sends, "%s: the second provider must never be asked", name)
		// Sending the same ref again goes to a only, even once a answers.
		a.mu.Lock()
		a.err = nil
		a.mu.Unlock()
		p, err := c.Send(context.Background(), req("1"))
		require.NoError(t, err, name)
		assert.Equal(t, "a", p.Provider, name)
		assert.Zero(t, b.sends, name)
		assert.LessOrEqual(t, a.held("1"), 1, name)
		got, err := c.Get(context.Background(), "1")
		require.NoError(t, err, name)
		assert.Equal(t, "a", got.Provider, name)
	}
}

func TestRouterPicksByCapability(t *testing.T) {
	a, b := newMem("a", payout.Mobile), newMem("b", payout.Wallet)
	r, err := payout.NewRouter(payout.NewClient(a), payout.NewClient(b))
	require.NoError(t, err)
	c := payout.NewClient(r)
	w := req("7")
	w.To.Kind = payout.Wallet
	p, err := c.Send(context.Background(), w)
	require.NoError(t, err)
	assert.Equal(t, "b", p.Provider)
	assert.Zero(t, a.sends)

	big := req("8")
	big.Amount = payments.MustMoney("20000", "RUB") // over both maxima
	_, err = c.Send(context.Background(), big)
	assert.ErrorIs(t, err, payments.ErrInvalidRequest)
	assert.Zero(t, a.sends+b.sends-1)
}

func TestRouterSerializesOneRef(t *testing.T) {
	a := newMem("a", payout.Mobile)
	r, err := payout.NewRouter(payout.NewClient(a))
	require.NoError(t, err)
	c := payout.NewClient(r)
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() { defer wg.Done(); _, _ = c.Send(context.Background(), req("9")) }()
	}
	wg.Wait()
	assert.Equal(t, 1, a.held("9"))
}

func TestRouterAllRefused(t *testing.T) {
	a, b := newMem("a", payout.Mobile), newMem("b", payout.Mobile)
	a.err = &payments.APIError{Provider: "a", Category: payments.ErrInsufficientFunds}
	b.err = &payments.TransportError{Provider: "b", Err: errors.New("dial")}
	r, _ := payout.NewRouter(payout.NewClient(a), payout.NewClient(b))
	_, err := payout.NewClient(r).Send(context.Background(), req("3"))
	assert.ErrorIs(t, err, payments.ErrInsufficientFunds)
	assert.ErrorIs(t, err, payments.ErrUnavailable)
	assert.NotErrorIs(t, err, payments.ErrOutcomeUnknown)
	_, bound := r.Provider("3")
	assert.False(t, bound)
	_, err = payout.NewClient(r).Balance(context.Background())
	assert.ErrorIs(t, err, payments.ErrNotSupported)
}

func TestGetUnknownAcrossRouter(t *testing.T) {
	a, b := newMem("a", payout.Mobile), newMem("b", payout.Mobile)
	r, _ := payout.NewRouter(payout.NewClient(a), payout.NewClient(b))
	_, err := payout.NewClient(r).Get(context.Background(), "404")
	assert.ErrorIs(t, err, payments.ErrNotFound)
	b.paid["55"] = 1
	p, err := payout.NewClient(r).Get(context.Background(), "55")
	require.NoError(t, err)
	assert.Equal(t, "b", p.Provider)
	prov, _ := r.Provider("55")
	assert.Equal(t, "b", prov, "found is bound")
}

// After a failover from a refusal, a restarted router (nothing bound) must
// find the live payout, not the refusal, and bind to the live one.
func TestUnboundGetPrefersTheLivePayoutOverARefusal(t *testing.T) {
	a, b := newMem("a", payout.Mobile), newMem("b", payout.Mobile)
	a.refused = map[string]bool{"77": true}
	b.paid["77"] = 1
	r, _ := payout.NewRouter(payout.NewClient(a), payout.NewClient(b))
	p, err := payout.NewClient(r).Get(context.Background(), "77")
	require.NoError(t, err)
	assert.Equal(t, "b", p.Provider)
	prov, _ := r.Provider("77")
	assert.Equal(t, "b", prov)

	// Known only as a refusal: reported, not bound (a Send may still fail over).
	a.refused["78"] = true
	p, err = payout.NewClient(r).Get(context.Background(), "78")
	require.NoError(t, err)
	assert.Equal(t, payments.StateFailed, p.State)
	_, bound := r.Provider("78")
	assert.False(t, bound)
}

// A context that ended before anything was sent binds the Ref nowhere: a
// later Send may still fail over.
func TestRouterDoesNotBindWhatWasNeverSent(t *testing.T) {
	a, b := newMem("a", payout.Mobile), newMem("b", payout.Mobile)
	r, _ := payout.NewRouter(payout.NewClient(a), payout.NewClient(b))
	c := payout.NewClient(r)
	a.err = fmt.Errorf("a pay: %w", context.Canceled) // the caller left while a waited for its token
	_, err := c.Send(context.Background(), req("90"))
	require.ErrorIs(t, err, context.Canceled)
	assert.Zero(t, b.sends, "a dead context is not a failover")
	_, bound := r.Provider("90")
	assert.False(t, bound, "nothing was sent: nothing to bind")
	a.err = &payments.APIError{Provider: "a", Category: payments.ErrInsufficientFunds}
	p, err := c.Send(context.Background(), req("90"))
	require.NoError(t, err)
	assert.Equal(t, "b", p.Provider, "the failover is still open")
}
