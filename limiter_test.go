package payments

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
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
	}{{0, 1}, {-1, 1}, {5, 0}} {
		_, err := NewLimiter(c.rate, c.burst)
		assert.Error(t, err)
	}
}
