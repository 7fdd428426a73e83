package payments

import (
	"context"
	"math/rand/v2"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/time/rate"
)

// strictServer stands in for popolni's rate limit at its strictest: it
// counts arrivals (refused ones too) in a sliding window, both ends
// included, and refuses any arrival that makes the window hold more than
// limit.
type strictServer struct {
	limit  int
	window time.Duration

	mu       sync.Mutex
	arrivals []time.Time // the arrivals within the last window, oldest first
	ok       int
	refused  int
}

func newStrictServer() *strictServer {
	return &strictServer{limit: DefaultRate, window: time.Second}
}

// arrive records an arrival now and reports whether it was served.
func (s *strictServer) arrive() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	i := 0
	for i < len(s.arrivals) && now.Sub(s.arrivals[i]) > s.window {
		i++
	}
	s.arrivals = append(s.arrivals[i:], now)
	if len(s.arrivals) > s.limit {
		s.refused++
		return false
	}
	s.ok++
	return true
}

// proofResult is one run's figures.
type proofResult struct {
	ok, refused int
	elapsed     time.Duration
}

// refusedPct is the share of arrivals answered 503.
func (r proofResult) refusedPct() float64 {
	if r.ok+r.refused == 0 {
		return 0
	}
	return 100 * float64(r.refused) / float64(r.ok+r.refused)
}

// capPct is the served requests a second as a share of the provider's cap.
func (r proofResult) capPct() float64 {
	return 100 * float64(r.ok) / r.elapsed.Seconds() / DefaultRate
}

// runAgainstStrictServer has callers goroutines send through lim to a
// strict server for d. Each request travels a random one-way delay in
// [0, maxDelay] there and another back (the network); a refused one tells
// lim (when it is a RefusalObserver) and is sent again, as the transport
// does with popolni's 503.
func runAgainstStrictServer(lim Limiter, callers int, d, maxDelay time.Duration) proofResult {
	srv := newStrictServer()
	obs, _ := lim.(RefusalObserver)
	delay := func() {
		if maxDelay > 0 {
			time.Sleep(rand.N(maxDelay + 1))
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	start := time.Now()
	var wg sync.WaitGroup
	for range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for lim.Wait(ctx) == nil {
				delay()
				served := srv.arrive()
				delay()
				if !served && obs != nil {
					obs.Refused()
				}
			}
		}()
	}
	wg.Wait()
	srv.mu.Lock()
	defer srv.mu.Unlock()
	return proofResult{ok: srv.ok, refused: srv.refused, elapsed: time.Since(start)}
}

// TestLimiterNeverSendsASixthInASecond is the guarantee: 50 callers share
// one NewLimiter(5, 1) and a strict server never sees a sixth arrival in a
// second. (A plain rate.NewLimiter(5, 1) in its place fails this test: a
// late waker's successor starts early.)
func TestLimiterNeverSendsASixthInASecond(t *testing.T) {
	t.Parallel()
	lim, err := NewLimiter(DefaultRate, DefaultBurst)
	require.NoError(t, err)
	r := runAgainstStrictServer(lim, 50, 3*time.Second, 0)
	t.Logf("NewLimiter(5, 1), 50 callers, %v, loopback: %d served, %d refused (%.1f %%), %.1f %% of the cap",
		r.elapsed.Round(time.Millisecond), r.ok, r.refused, r.refusedPct(), r.capPct())
	assert.Zero(t, r.refused, "a strict server saw a sixth request in one second")
	assert.Positive(t, r.ok)
}

// NewLimiterWithMargin refuses a margin outside 0..1s; its figures (no
// margin on loopback: the whole cap, no refusal) come from the long runs,
// since in a 3 s run on a loaded machine a goroutine scheduled late after
// its grant is the only margin it has.
func TestLimiterWithMarginArguments(t *testing.T) {
	for _, m := range []time.Duration{-time.Millisecond, 2 * time.Second} {
		_, err := NewLimiterWithMargin(5, 1, m)
		assert.ErrorIs(t, err, ErrInvalidRequest, "%v", m)
	}
	l, err := NewLimiterWithMargin(5, 1, 0)
	require.NoError(t, err)
	assert.InDelta(t, 5.0, l.(*adaptiveLimiter).ceiling(), 1e-9, "no margin: the whole cap")
	l, err = NewLimiterWithMargin(5, 1, NetworkMargin)
	require.NoError(t, err)
	assert.InDelta(t, 5/1.05, l.(*adaptiveLimiter).ceiling(), 1e-9)
}

// TestLimiterSpacesFromTheActualGrant: a grant let go later than the bucket
// planned (a late waker) holds the next one a whole window after it, even
// though the bucket already has a token for it.
func TestLimiterSpacesFromTheActualGrant(t *testing.T) {
	l, err := NewLimiter(20, 1)
	require.NoError(t, err)
	al := l.(*adaptiveLimiter)
	window := time.Duration(float64(time.Second) / al.ceiling())
	al.grants[al.next] = time.Now() // as if a late waker had just been let go
	start := time.Now()
	require.GreaterOrEqual(t, al.bucket.TokensAt(start), 1.0, "the bucket alone would let it go at once")
	require.NoError(t, l.Wait(context.Background()))
	assert.GreaterOrEqual(t, time.Since(start), window-time.Millisecond)
}

// deaf hides a limiter's RefusalObserver: what the feedback buys.
type deaf struct{ Limiter }

// TestLimiterLongRuns is the 20 s runs; the figures go in the
// README. Run with PAYMENTS_LONG=1 go test -run LimiterLongRuns -v .
func TestLimiterLongRuns(t *testing.T) {
	if os.Getenv("PAYMENTS_LONG") != "1" {
		t.Skip("20 s runs: set PAYMENTS_LONG=1")
	}
	d := 20 * time.Second
	type run struct {
		name     string
		lim      Limiter
		maxDelay time.Duration
	}
	mine := func() Limiter { l, _ := NewLimiter(DefaultRate, DefaultBurst); return l }
	runs := []run{
		{"NewLimiter(5, 1), loopback", mine(), 0},
		{"NewLimiterWithMargin(5, 1, 0), loopback", func() Limiter { l, _ := NewLimiterWithMargin(DefaultRate, DefaultBurst, 0); return l }(), 0},
		{"rate.NewLimiter(5, 1), loopback", rate.NewLimiter(5, 1), 0},
		{"NewLimiter(5, 1), 0-50 ms delay", mine(), 50 * time.Millisecond},
		{"rate.NewLimiter(5, 1), 0-50 ms delay", rate.NewLimiter(5, 1), 50 * time.Millisecond},
		{"NewLimiter(5, 1), 0-150 ms delay (beyond the margin)", mine(), 150 * time.Millisecond},
		{"NewLimiter(5, 1), 0-150 ms delay, refusals not told", deaf{mine()}, 150 * time.Millisecond},
		{"rate.NewLimiter(5, 1), 0-150 ms delay", rate.NewLimiter(5, 1), 150 * time.Millisecond},
	}
	results := make([]proofResult, len(runs))
	var wg sync.WaitGroup
	for i, r := range runs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = runAgainstStrictServer(r.lim, 50, d, r.maxDelay)
		}()
	}
	wg.Wait()
	for i, r := range runs {
		res := results[i]
		t.Logf("%-55s 50 callers %v: %4d served, %3d answered 503 (%5.2f %%), %5.1f %% of the cap",
			r.name, d, res.ok, res.refused, res.refusedPct(), res.capPct())
	}
	assert.Zero(t, results[0].refused, "the guarantee on loopback")
}
