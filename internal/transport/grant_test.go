package transport

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A token taken ahead is spent by the first attempt of the request it is
// handed to, and by nothing else: a second request under the same context,
// and a retry, each wait for their own.
func TestGrantIsSpentOnceByTheFirstAttempt(t *testing.T) {
	m := newMock(t)
	m.respond(200)
	g, err := m.c.Acquire(context.Background())
	require.NoError(t, err)
	require.Equal(t, 1, m.lim.count(), "Acquire takes one token")
	ctx := WithGrant(context.Background(), g)

	_, err = m.c.Do(ctx, req(IdempotentWrite))
	require.NoError(t, err)
	assert.Equal(t, 1, m.lim.count(), "the first attempt spent the grant: no second token")

	_, err = m.c.Do(ctx, req(IdempotentWrite))
	require.NoError(t, err)
	assert.Equal(t, 2, m.lim.count(), "a grant is spent once: the next request waits")
}

func TestGrantCoversOnlyTheFirstAttempt(t *testing.T) {
	m := newMock(t)
	m.c.cfg.Unprocessed = func(st int) bool { return st == 503 }
	m.respond(503, 200)
	g, err := m.c.Acquire(context.Background())
	require.NoError(t, err)
	resp, err := m.c.Do(WithGrant(context.Background(), g), req(IdempotentWrite))
	require.NoError(t, err)
	assert.Equal(t, 2, resp.Attempts)
	assert.Equal(t, 2, m.lim.count(), "Acquire's token for attempt 1, a token of its own for the retry")
}

func TestGrantOfAnotherClientOrStaleIsNotSpent(t *testing.T) {
	other := newMock(t)
	m := newMock(t)
	m.respond(200)
	g, err := other.c.Acquire(context.Background())
	require.NoError(t, err)
	_, err = m.c.Do(WithGrant(context.Background(), g), req(Read))
	require.NoError(t, err)
	assert.Equal(t, 1, m.lim.count(), "another client's token is not this client's")

	g, err = m.c.Acquire(context.Background())
	require.NoError(t, err)
	g.at = time.Now().Add(-2 * GrantTTL)
	_, err = m.c.Do(WithGrant(context.Background(), g), req(Read))
	require.NoError(t, err)
	assert.Equal(t, 3, m.lim.count(), "a token older than GrantTTL is lost, never used late")
}

func TestAcquireFailsWithTheLimiter(t *testing.T) {
	m := newMock(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	g, err := m.c.Acquire(ctx)
	assert.Nil(t, g)
	assert.ErrorIs(t, err, context.Canceled)
	assert.Equal(t, ctx, WithGrant(ctx, nil), "no grant, the context as it was")
}
