package transport

import (
	"context"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/time/rate"

	"github.com/paysdk/payments"
)

// observingLimiter is a Limiter that counts the refusals it is told of.
type observingLimiter struct {
	countingLimiter
	mu      sync.Mutex
	refused int
}

func (l *observingLimiter) Refused() { l.mu.Lock(); l.refused++; l.mu.Unlock() }

func (l *observingLimiter) refusals() int { l.mu.Lock(); defer l.mu.Unlock(); return l.refused }

var _ payments.RefusalObserver = (*observingLimiter)(nil)

func TestDocumentedRateRefusalIsToldToTheLimiter(t *testing.T) {
	for _, kind := range []Kind{Read, IdempotentWrite, UnsafeWrite} {
		lim := &observingLimiter{}
		m := newMock(t, payments.WithLimiter(lim))
		m.c.cfg.Unprocessed = func(st int) bool { return st == 503 }
		m.respond(503, 503, 200)
		_, err := m.c.Do(context.Background(), req(kind))
		require.NoError(t, err)
		assert.Equal(t, 2, lim.refusals(), "one refusal per 503 the document calls unprocessed")
		assert.Equal(t, 3, lim.count(), "and still one token per attempt")
	}
}

func TestOtherAnswersAreNotRefusals(t *testing.T) {
	for _, c := range []struct {
		name        string
		unprocessed func(int) bool
		statuses    []int
	}{
		{"undocumented 503", nil, []int{503, 200}},
		{"429 the document does not call unprocessed", func(st int) bool { return st == 503 }, []int{429, 200}},
		{"server error", func(st int) bool { return st == 503 }, []int{500, 200}},
		{"client error", func(st int) bool { return st == 503 }, []int{400}},
		{"success", func(st int) bool { return st == 503 }, []int{200}},
	} {
		lim := &observingLimiter{}
		m := newMock(t, payments.WithLimiter(lim))
		m.c.cfg.Unprocessed = c.unprocessed
		m.respond(c.statuses...)
		_, _ = m.c.Do(context.Background(), req(Read))
		assert.Zero(t, lim.refusals(), c.name)
	}
}

func TestALimiterThatDoesNotListenIsNotTold(t *testing.T) {
	// A merchant's *rate.Limiter has no Refused: the call goes on as before.
	m := newMock(t, payments.WithLimiter(rate.NewLimiter(rate.Inf, 1)))
	m.c.cfg.Unprocessed = func(st int) bool { return st == 503 }
	m.respond(503, 200)
	resp, err := m.c.Do(context.Background(), req(UnsafeWrite))
	require.NoError(t, err)
	assert.Equal(t, 2, resp.Attempts)
}
