package payments

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
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
	lateRefused int // refused in the second half of the run: after learning
	elapsed     time.Duration
	margin      time.Duration // at the end, when the limiter reports one; -1 if not
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
	return runSenders(newStrictServer(), lim, callers, d, maxDelay)
}

// runSenders is runAgainstStrictServer against srv, which other senders
// may share; the figures are this sender's.
func runSenders(srv *strictServer, lim Limiter, callers int, d, maxDelay time.Duration) proofResult {
	obs, _ := lim.(RefusalObserver)
	delay := func() {
		if maxDelay > 0 {
			time.Sleep(rand.N(maxDelay + 1))
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	start := time.Now()
	var (
		mu  sync.Mutex
		res proofResult
	)
	var wg sync.WaitGroup
	for range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for lim.Wait(ctx) == nil {
				delay()
				served := srv.arrive()
				delay()
				mu.Lock()
				if served {
					res.ok++
				} else {
					res.refused++
					if time.Since(start) > d/2 {
						res.lateRefused++
					}
				}
				mu.Unlock()
				if !served && obs != nil {
					obs.Refused()
				}
			}
		}()
	}
	wg.Wait()
	res.elapsed = time.Since(start)
	res.margin = -1
	if mr, ok := lim.(interface{ margin() time.Duration }); ok {
		res.margin = mr.margin()
	}
	return res
}

// TestLimiterNeverSendsASixthInASecond is the guarantee: 50 callers share
// one NewLimiter(5, 1) and a strict server never sees a sixth arrival in a
// second; nor with the learning limiter, whose margin starts at 5 ms.
// (A plain rate.NewLimiter(5, 1) in its place fails this test: a late
// waker's successor starts early.)
func TestLimiterNeverSendsASixthInASecond(t *testing.T) {
	t.Parallel()
	lim, err := NewLimiter(DefaultRate, DefaultBurst)
	require.NoError(t, err)
	learning, err := newLearningLimiter(DefaultRate, DefaultBurst)
	require.NoError(t, err)
	for _, c := range []struct {
		name string
		lim  Limiter
	}{{"NewLimiter(5, 1)", lim}, {"newLearningLimiter(5, 1)", learning}} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			r := runAgainstStrictServer(c.lim, 50, 3*time.Second, 0)
			t.Logf("%s, 50 callers, %v, loopback: %d served, %d refused (%.1f %%), %.1f %% of the cap",
				c.name, r.elapsed.Round(time.Millisecond), r.ok, r.refused, r.refusedPct(), r.capPct())
			assert.Zero(t, r.refused, "a strict server saw a sixth request in one second")
			assert.Positive(t, r.ok)
		})
	}
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

// widensAndCuts is newLearningLimiter that also cuts its rate to 80 % on every
// refusal that counts, as the static limiter does: the long runs measure
// whether the cut is worth keeping beside the learned margin.
type widensAndCuts struct{ *adaptiveLimiter }

func (l widensAndCuts) Refused() {
	l.mu.Lock()
	counts := l.lastRefusal.IsZero() || time.Since(l.lastRefusal) >= cutCooldown
	l.mu.Unlock()
	l.adaptiveLimiter.Refused()
	if !counts {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	l.rateLocked(now)
	if l.lastCut.Equal(l.lastRefusal) {
		return // the margin was at 1 s: Refused cut already
	}
	l.cur = max(l.cur*cutFactor, 1.0/floorDivisor)
	l.cutTo, l.lastCut = l.cur, now
	l.bucket.SetLimitAt(now, rate.Limit(l.ceilingLocked()*l.cur))
}

// TestLimiterLongRuns is the runs, 20 s and a longer one to show
// the steady state (PAYMENTS_LONG_SECONDS, 120 by default); the figures go
// in the README. Run with PAYMENTS_LONG=1 go test -run LimiterLongRuns -v .
// (PAYMENTS_LONG_ONLY=text runs only the rows whose name contains it.)
func TestLimiterLongRuns(t *testing.T) {
	if os.Getenv("PAYMENTS_LONG") != "1" {
		t.Skip("20 s and 120 s runs: set PAYMENTS_LONG=1")
	}
	long := 120 * time.Second
	if v := os.Getenv("PAYMENTS_LONG_SECONDS"); v != "" {
		n, err := strconv.Atoi(v)
		require.NoError(t, err, "PAYMENTS_LONG_SECONDS")
		long = time.Duration(n) * time.Second
	}
	learns := func() Limiter { l, _ := newLearningLimiter(DefaultRate, DefaultBurst); return l }
	mine := func() Limiter { l, _ := NewLimiter(DefaultRate, DefaultBurst); return l }
	static := func(m time.Duration) func() Limiter {
		return func() Limiter { l, _ := NewLimiterWithMargin(DefaultRate, DefaultBurst, m); return l }
	}
	learnsAndCuts := func() Limiter { l, _ := newLearningLimiter(DefaultRate, DefaultBurst); return widensAndCuts{l} }
	bucket := func() Limiter { return rate.NewLimiter(DefaultRate, DefaultBurst) }
	type run struct {
		limiter, network string
		lim              func() Limiter
		maxDelay         time.Duration
		other            bool // another sender on the account: 2 a second, 5 callers
	}
	var runs []run
	for _, n := range []struct {
		name     string
		maxDelay time.Duration
	}{{"loopback", 0}, {"0-50 ms", 50 * time.Millisecond}, {"0-150 ms", 150 * time.Millisecond}} {
		runs = append(runs,
			run{"NewLimiter(5, 1) (50 ms)", n.name, mine, n.maxDelay, false},
			run{"learning margin", n.name, learns, n.maxDelay, false},
			run{"NewLimiterWithMargin(5, 1, 0)", n.name, static(0), n.maxDelay, false},
			run{"rate.NewLimiter(5, 1)", n.name, bucket, n.maxDelay, false},
		)
	}
	runs = append(runs,
		run{"NewLimiter(5, 1), refusals not told", "0-150 ms", func() Limiter { return deaf{mine()} }, 150 * time.Millisecond, false},
		run{"learning margin + 80 % cut on a refusal", "0-50 ms", learnsAndCuts, 50 * time.Millisecond, false},
		run{"learning margin + 80 % cut on a refusal", "0-150 ms", learnsAndCuts, 150 * time.Millisecond, false},
		run{"NewLimiter(5, 1), another sender at 2/s", "loopback", mine, 0, true},
		run{"learning margin, another sender at 2/s", "loopback", learns, 0, true},
		run{"learning margin + 80 % cut, another sender at 2/s", "loopback", learnsAndCuts, 0, true},
	)
	if only := os.Getenv("PAYMENTS_LONG_ONLY"); only != "" {
		var kept []run
		for _, r := range runs {
			if strings.Contains(r.limiter+" "+r.network, only) {
				kept = append(kept, r)
			}
		}
		runs = kept
	}
	for _, d := range []time.Duration{20 * time.Second, long} {
		results := make([]proofResult, len(runs))
		others := make([]proofResult, len(runs))
		var wg sync.WaitGroup
		for i, r := range runs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				srv := newStrictServer()
				if r.other {
					other, _ := NewLimiterWithMargin(2, 1, 0)
					wg.Add(1)
					go func() { defer wg.Done(); others[i] = runSenders(srv, other, 5, d, r.maxDelay) }()
				}
				results[i] = runSenders(srv, r.lim(), 50, d, r.maxDelay)
			}()
		}
		wg.Wait()
		t.Logf("50 callers, %v, all rows side by side:", d)
		t.Logf("| limiter | network | answered 503 | in the second half | %% of the cap | margin at the end |")
		for i, r := range runs {
			res := results[i]
			margin := "-"
			if res.margin >= 0 {
				margin = res.margin.Round(100 * time.Microsecond).String()
			}
			if r.other {
				o := others[i]
				margin += fmt.Sprintf(" (the other sender: %d served, %d answered 503, %.1f %% of the cap)", o.ok, o.refused, o.capPct())
			}
			t.Logf("| %s | %s | %d (%.2f %%) | %d | %.1f %% | %s |",
				r.limiter, r.network, res.refused, res.refusedPct(), res.lateRefused, res.capPct(), margin)
		}
		for i, r := range runs {
			if r.network == "loopback" && !r.other && !strings.HasPrefix(r.limiter, "rate.") {
				assert.Zero(t, results[i].refused, "the guarantee on loopback: %s", r.limiter)
			}
		}
	}
}
