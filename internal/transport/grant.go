package transport

import (
	"context"
	"sync/atomic"
	"time"
)

// GrantTTL is how long a Grant stays good after it was taken. A token spent
// later than that would let the request leave closer to the next grant than
// the limiter spaced them (as a network delay of that size would), so an
// attempt finding an older Grant ignores it and waits for a token of its own:
// the old token is lost, never used late.
const GrantTTL = 20 * time.Millisecond

// Grant is one token of a Client's limiter, taken ahead of the request it is
// for: a caller that must decide what to send when its token comes (the
// popolni Batcher fills its batch then) takes the token with Acquire, then
// hands it to Do with WithGrant. The first attempt Do makes for the same
// Client under that context spends it instead of waiting; every later
// attempt, and every other request, waits for its own. A Grant is spent at
// most once.
type Grant struct {
	c      *Client
	at     time.Time
	waited time.Duration
	spent  atomic.Bool
}

type grantKey struct{}

// Acquire waits for one token of c's limiter (as an attempt would) and
// returns it. The error is the limiter's (ctx ended, a shared limiter
// unreachable): nothing was taken.
func (c *Client) Acquire(ctx context.Context) (*Grant, error) {
	start := time.Now()
	if err := c.limiter.Wait(ctx); err != nil {
		return nil, err
	}
	now := time.Now()
	return &Grant{c: c, at: now, waited: now.Sub(start)}, nil
}

// WithGrant returns ctx carrying g, for the next attempt Do makes on g's
// Client under it. A nil g returns ctx.
func WithGrant(ctx context.Context, g *Grant) context.Context {
	if g == nil {
		return ctx
	}
	return context.WithValue(ctx, grantKey{}, g)
}

// spend reports whether ctx carries an unspent, fresh Grant of c, and
// spends it: the attempt goes without waiting. The wait it reports is the
// one Acquire took.
func (c *Client) spend(ctx context.Context) (time.Duration, bool) {
	g, ok := ctx.Value(grantKey{}).(*Grant)
	if !ok || g.c != c || time.Since(g.at) > GrantTTL || !g.spent.CompareAndSwap(false, true) {
		return 0, false
	}
	return g.waited, true
}
