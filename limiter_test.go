package payments

import (
	"context"
	"errors"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/time/rate"
)

// A merchant's own *rate.Limiter is still a Limiter; NewLimiter's listens to
// refusals.
var (
	_ Limiter         = (*rate.Limiter)(nil)
	_ Limiter         = (*adaptiveLimiter)(nil)
	_ RefusalObserver = (*adaptiveLimiter)(nil)
)

func TestLimiterSpacesGrants(t *testing.T) {
	l, err := NewLimiter(20, 1) // 50 ms apart
	require.NoError(t, err)
	start := time.Now()
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			assert.NoError(t, l.Wait(context.Background()))
		}()
	}
	wg.Wait()
	// A lower bound only: never a timed upper bound on a loaded machine.
	assert.GreaterOrEqual(t, time.Since(start), 350*time.Millisecond, "8 grants, 7 gaps of 50 ms")
}

func TestLimiterBurst(t *testing.T) {
	l, err := NewLimiter(10, 3) // 3 grants in any 300 ms
	require.NoError(t, err)
	start := time.Now()
	for i := 0; i < 4; i++ {
		require.NoError(t, l.Wait(context.Background()))
	}
	assert.GreaterOrEqual(t, time.Since(start), 299*time.Millisecond, "the fourth waited for the first to age a window")
}

func TestLimiterWaitEndsWithTheContext(t *testing.T) {
	l, err := NewLimiter(0.1, 1) // one grant per 10 s
	require.NoError(t, err)
	require.NoError(t, l.Wait(context.Background()))
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	assert.ErrorIs(t, l.Wait(ctx), context.DeadlineExceeded)

	// A waiter queued behind it is not stuck either.
	ctx2, cancel2 := context.WithCancel(context.Background())
	cancel2()
	assert.ErrorIs(t, l.Wait(ctx2), context.Canceled)
	assert.ErrorIs(t, Unlimited().Wait(ctx2), context.Canceled)
	require.NoError(t, Unlimited().Wait(context.Background()))
}

func TestNewLimiterRefusesNonsense(t *testing.T) {
	for _, c := range []struct {
		rate  float64
		burst int
	}{{0, 1}, {-1, 1}, {math.NaN(), 1}, {math.Inf(1), 1}, {5, 0}, {5, -1}} {
		_, err := NewLimiter(c.rate, c.burst)
		var ve *ValidationError
		assert.True(t, errors.As(err, &ve), "rate %v burst %d: %v", c.rate, c.burst, err)
		assert.ErrorIs(t, err, ErrInvalidRequest)
		l, err := NewLearningLimiter(c.rate, c.burst)
		assert.True(t, errors.As(err, &ve), "learning: rate %v burst %d: %v", c.rate, c.burst, err)
		assert.True(t, l == nil, "no typed nil in the interface")
	}
	l, err := NewLearningLimiter(5, 1)
	require.NoError(t, err)
	_, learns := l.(RefusalObserver)
	assert.True(t, learns, "it is told of refusals")
	assert.Equal(t, minMargin, l.(*adaptiveLimiter).margin(), "the learning limiter")
}

func TestLimiterNilContext(t *testing.T) {
	l, err := NewLimiter(5, 1)
	require.NoError(t, err)
	//lint:ignore SA1012 a nil context is what is tested
	assert.ErrorIs(t, l.Wait(nil), ErrNilContext)
}

func TestLimiterIsARateLimiterWithAMargin(t *testing.T) {
	l, err := NewLimiter(5, 1)
	require.NoError(t, err)
	al := l.(*adaptiveLimiter)
	assert.InDelta(t, 5/1.05, float64(al.bucket.Limit()), 1e-9, "5 a second less the 50 ms network margin: 210 ms apart")
	assert.Equal(t, 1, al.bucket.Burst())
	assert.Equal(t, NetworkMargin, al.margin())

	al, err = newLearningLimiter(5, 1)
	require.NoError(t, err)
	assert.InDelta(t, 5/1.005, float64(al.bucket.Limit()), 1e-9, "5 a second less the 5 ms starting margin: 201 ms apart")
	assert.Equal(t, minMargin, al.margin())
}

// ceiling is the rate the limiter's margin allows now.
func (l *adaptiveLimiter) ceiling() float64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.ceilingLocked()
}

// outOfCooldown makes the next refusal count, as if the last had come a
// cooldown ago.
func (l *adaptiveLimiter) outOfCooldown() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lastRefusal = time.Now().Add(-cutCooldown)
}

// The static limiter (NewLimiterWithMargin) answers a refusal with a rate
// cut, as NewLimiter did before it learned its margin.
func TestLimiterSlowsDownOnRefusalAndCreepsBack(t *testing.T) {
	l, err := NewLimiterWithMargin(5, 1, NetworkMargin)
	require.NoError(t, err)
	al := l.(*adaptiveLimiter)
	ceiling := al.ceiling()

	al.Refused()
	cut := al.lastCut
	assert.InDelta(t, ceiling*0.8, al.rateAt(cut), 1e-9, "a refusal lowers the rate to 80 %")
	assert.InDelta(t, ceiling*0.8, float64(al.bucket.Limit()), 1e-9, "on the bucket itself")
	assert.Equal(t, NetworkMargin, al.margin(), "a static margin stays")

	al.Refused() // a second refusal within the second: the same burst of requests
	assert.Equal(t, cut, al.lastCut)
	assert.InDelta(t, ceiling*0.8, al.rateAt(cut), 1e-9, "one cut per second")

	assert.InDelta(t, ceiling*0.85, al.rateAt(cut.Add(5*time.Second)), 1e-9, "creeps back 1 % of the ceiling a second")
	assert.InDelta(t, ceiling*0.85, float64(al.bucket.Limit()), 1e-9)
	assert.Equal(t, ceiling, al.rateAt(cut.Add(time.Hour)), "never above the ceiling")

	// Refusals that keep coming bring it down to the floor, not to zero.
	for i := 0; i < 100; i++ {
		al.mu.Lock()
		al.lastRefusal = time.Now().Add(-cutCooldown)
		al.lastCut = time.Now()
		al.cutTo = al.cur
		al.mu.Unlock()
		al.Refused()
	}
	assert.InDelta(t, ceiling/16, float64(al.bucket.Limit()), ceiling/16*0.05)
	assert.GreaterOrEqual(t, float64(al.bucket.Limit()), ceiling/16)
}

func TestLimiterRefusalWidensTheSpacing(t *testing.T) {
	l, err := NewLimiterWithMargin(20, 1, NetworkMargin) // 52.5 ms apart
	require.NoError(t, err)
	l.(RefusalObserver).Refused() // 65.6 ms apart
	start := time.Now()
	for i := 0; i < 4; i++ {
		require.NoError(t, l.Wait(context.Background()))
	}
	assert.GreaterOrEqual(t, time.Since(start), 3*65*time.Millisecond, "3 gaps at the lowered rate")
}

// The learned margin's arithmetic, step by step: no clock, no timer.
func TestMarginStateWidensAndNarrows(t *testing.T) {
	s := marginState{margin: minMargin}

	s, ok := s.refused()
	require.True(t, ok)
	assert.Equal(t, marginState{margin: 10 * time.Millisecond, refusedAt: 5 * time.Millisecond, step: widenStep}, s, "the first refusal: one step")

	s, _ = s.refused() // no paced grant since: that widening was not enough
	assert.Equal(t, 20*time.Millisecond, s.margin, "a quick refusal doubles the step")
	for range quickGrants - 1 {
		s = s.paced()
	}
	s, _ = s.refused()
	// 20 ms, 10 ms above the 10 ms refused: the first 5 of the 24 grants
	// narrowed it fast to 15 ms, the other 19 by 5 µs each; the refusal,
	// still quick, adds 20 ms.
	assert.Equal(t, 15*time.Millisecond-19*slowNarrow+20*time.Millisecond, s.margin, "still quick within quickGrants paced grants: 20 ms more")
	for range quickGrants {
		s = s.paced()
	}
	m := s.margin
	s, _ = s.refused()
	assert.Equal(t, m+widenStep, s.margin, "a refusal after a quiet spell: one step again")
	assert.Equal(t, m, s.refusedAt)

	// Back from an overshoot: fast down to one step above the margin last
	// refused, then slowly.
	s = marginState{margin: 80 * time.Millisecond, refusedAt: 40 * time.Millisecond, step: 40 * time.Millisecond}
	n := int((80*time.Millisecond - 45*time.Millisecond) / fastNarrow)
	for range n {
		s = s.paced()
	}
	assert.Equal(t, 45*time.Millisecond, s.margin, "%d paced grants at %v", n, fastNarrow)
	s = s.paced()
	assert.Equal(t, 45*time.Millisecond-slowNarrow, s.margin, "then %v a grant", slowNarrow)
	assert.Equal(t, n+1, s.sinceWiden)
}

func TestMarginStateBounds(t *testing.T) {
	s := marginState{margin: minMargin}
	for range 1000 {
		s = s.paced()
	}
	assert.Equal(t, minMargin, s.margin, "never narrower than the starting margin")

	s = marginState{margin: minMargin, refusedAt: 990 * time.Millisecond}
	for range 100 {
		s = s.paced()
	}
	assert.Equal(t, minMargin, s.margin, "nor when the last refusal was wide")

	for range 20 { // quick refusals: the step doubles
		var ok bool
		if s, ok = s.refused(); !ok {
			break
		}
		assert.LessOrEqual(t, s.margin, maxMargin)
	}
	assert.Equal(t, maxMargin, s.margin, "at most 1 s")
	_, ok := s.refused()
	assert.False(t, ok, "a refusal at 1 s is the rate cut's")
}

// newLearningLimiter widens its margin on a refusal, once per cooldown, and cuts
// the rate only when the margin is at 1 s.
func TestLimiterLearnsItsMarginFromRefusals(t *testing.T) {
	al, err := newLearningLimiter(5, 1)
	require.NoError(t, err)

	al.Refused()
	assert.Equal(t, 10*time.Millisecond, al.margin(), "a refusal widens by one step")
	assert.InDelta(t, 5/1.01, float64(al.bucket.Limit()), 1e-9, "on the bucket itself")
	al.Refused()
	al.Refused()
	assert.Equal(t, 10*time.Millisecond, al.margin(), "the refusals of requests already on their way count once")
	assert.True(t, al.lastCut.IsZero(), "no rate cut while the margin can widen")

	al.outOfCooldown()
	al.Refused()
	assert.Equal(t, 20*time.Millisecond, al.margin(), "out of the cooldown, a quick refusal doubles the step")

	for al.margin() < maxMargin {
		al.outOfCooldown()
		al.Refused()
	}
	assert.InDelta(t, 2.5, float64(al.bucket.Limit()), 1e-9, "1 s of margin: half the cap")
	al.outOfCooldown()
	al.Refused()
	assert.InDelta(t, 2.0, float64(al.bucket.Limit()), 1e-9, "then the rate is cut to 80 %")
	for range 100 {
		al.mu.Lock()
		al.lastRefusal = time.Now().Add(-cutCooldown)
		al.lastCut = time.Now()
		al.cutTo = al.cur
		al.mu.Unlock()
		al.Refused()
	}
	assert.InDelta(t, 2.5/16, float64(al.bucket.Limit()), 1e-9, "never below a sixteenth of the ceiling")
}

// A grant that waited for its turn (sent at the limit) narrows the margin;
// one that did not wait tells nothing.
func TestLimiterNarrowsOnPacedGrantsOnly(t *testing.T) {
	al, err := newLearningLimiter(50, 1) // 20 ms apart
	require.NoError(t, err)
	l := Limiter(al)
	al.Refused() // 10 ms, one step above the 5 ms refused
	require.Equal(t, 10*time.Millisecond, al.margin())

	require.NoError(t, l.Wait(context.Background())) // the bucket's first token: no wait
	assert.Equal(t, 10*time.Millisecond, al.margin(), "an unpaced grant does not narrow")
	for range 5 {
		require.NoError(t, l.Wait(context.Background()))
	}
	assert.Less(t, al.margin(), 10*time.Millisecond, "paced grants narrow")
	assert.GreaterOrEqual(t, al.margin(), 10*time.Millisecond-5*slowNarrow, "by at most %v each", slowNarrow)
	assert.InDelta(t, 50/(1+al.margin().Seconds()), float64(al.bucket.Limit()), 1e-9, "on the bucket itself")

	// A wait that ends with its context narrows nothing.
	m := al.margin()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	assert.ErrorIs(t, l.Wait(ctx), context.Canceled)
	assert.Equal(t, m, al.margin())
}

// Waits, refusals and readers at once (run with -race): the margin stays in
// its bounds and the rate never above the cap.
func TestLimiterLearnsConcurrently(t *testing.T) {
	al, err := newLearningLimiter(2000, 2)
	require.NoError(t, err)
	l := Limiter(al)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 50 {
				switch (i + j) % 4 {
				case 0:
					al.Refused()
				case 1:
					m := al.margin()
					assert.True(t, m >= minMargin && m <= maxMargin, "%v", m)
				default:
					assert.NoError(t, l.Wait(ctx))
				}
			}
		}()
	}
	wg.Wait()
	cancel()
	assert.ErrorIs(t, l.Wait(ctx), context.Canceled)
	m := al.margin()
	assert.True(t, m >= minMargin && m <= maxMargin, "%v", m)
	assert.LessOrEqual(t, float64(al.bucket.Limit()), 2000.0)
}
