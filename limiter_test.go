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
	}
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
}

func TestLimiterSlowsDownOnRefusalAndCreepsBack(t *testing.T) {
	l, err := NewLimiter(5, 1)
	require.NoError(t, err)
	al := l.(*adaptiveLimiter)
	ceiling := al.ceiling

	al.Refused()
	cut := al.lastCut
	assert.InDelta(t, ceiling*0.8, al.rateAt(cut), 1e-9, "a refusal lowers the rate to 80 %")
	assert.InDelta(t, ceiling*0.8, float64(al.bucket.Limit()), 1e-9, "on the bucket itself")

	al.Refused() // a second refusal within the second: the same burst of requests
	assert.Equal(t, cut, al.lastCut)
	assert.InDelta(t, ceiling*0.8, al.rateAt(cut), 1e-9, "one cut per second")

	assert.InDelta(t, ceiling*0.85, al.rateAt(cut.Add(5*time.Second)), 1e-9, "creeps back 1 % of the ceiling a second")
	assert.InDelta(t, ceiling*0.85, float64(al.bucket.Limit()), 1e-9)
	assert.Equal(t, ceiling, al.rateAt(cut.Add(time.Hour)), "never above the ceiling")

	// Refusals that keep coming bring it down to the floor, not to zero.
	for i := 0; i < 100; i++ {
		al.mu.Lock()
		al.lastCut = time.Now().Add(-cutCooldown)
		al.cutTo = al.cur
		al.mu.Unlock()
		al.Refused()
	}
	assert.InDelta(t, ceiling/16, float64(al.bucket.Limit()), ceiling/16*0.05)
	assert.GreaterOrEqual(t, float64(al.bucket.Limit()), ceiling/16)
}

func TestLimiterRefusalWidensTheSpacing(t *testing.T) {
	l, err := NewLimiter(20, 1) // 52.5 ms apart
	require.NoError(t, err)
	l.(RefusalObserver).Refused() // 65.6 ms apart
	start := time.Now()
	for i := 0; i < 4; i++ {
		require.NoError(t, l.Wait(context.Background()))
	}
	assert.GreaterOrEqual(t, time.Since(start), 3*65*time.Millisecond, "3 gaps at the lowered rate")
}
