package redislimit_test

import (
	"context"
	"errors"
	"math"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/redislimit"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.uber.org/goleak"
)

func TestNewRefusesNonsense(t *testing.T) {
	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"}) // never dialled
	defer c.Close()
	for _, tc := range []struct {
		name   string
		client redis.UniversalClient
		key    string
		rate   float64
		burst  int
		opts   []redislimit.Option
		field  string
	}{
		{"nil client", nil, "k", 5, 1, nil, "client"},
		{"empty key", c, "", 5, 1, nil, "key"},
		{"zero rate", c, "k", 0, 1, nil, "perSecond"},
		{"negative rate", c, "k", -1, 1, nil, "perSecond"},
		{"NaN rate", c, "k", math.NaN(), 1, nil, "perSecond"},
		{"infinite rate", c, "k", math.Inf(1), 1, nil, "perSecond"},
		{"rate over MaxRate", c, "k", redislimit.MaxRate + 1, 1, nil, "perSecond"},
		{"zero burst", c, "k", 5, 0, nil, "burst"},
		{"burst over MaxBurst", c, "k", 5, redislimit.MaxBurst + 1, nil, "burst"},
		{"zero timeout", c, "k", 5, 1, []redislimit.Option{redislimit.WithTimeout(0)}, "timeout"},
		{"negative margin", c, "k", 5, 1, []redislimit.Option{redislimit.WithMargin(-time.Millisecond)}, "margin"},
		{"margin of a second", c, "k", 5, 1, []redislimit.Option{redislimit.WithMargin(time.Second)}, "margin"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, err := redislimit.New(tc.client, tc.key, tc.rate, tc.burst, tc.opts...)
			assert.Nil(t, l)
			var ve *payments.ValidationError
			require.ErrorAs(t, err, &ve)
			assert.Equal(t, tc.field, ve.Field)
			assert.ErrorIs(t, err, payments.ErrInvalidRequest)
		})
	}
	l, err := redislimit.New(c, "k", 0.5, 1, redislimit.WithMargin(0), redislimit.WithTimeout(time.Second))
	require.NoError(t, err)
	//lint:ignore SA1012 a nil context is what is tested
	assert.ErrorIs(t, l.Wait(nil), payments.ErrNilContext)
}

// Many goroutines on two clients (two processes' worth) share one key: the
// grants, counted on a strict one-second window, never exceed the rate.
func TestSpacingAcrossGoroutinesAndClients(t *testing.T) {
	t.Parallel()
	addr := redisAddr(t)
	key := randomKey(t, addr)
	const rate = 20 // 50 ms apart (51 with the margin)
	var lims []*redislimit.Limiter
	for i := 0; i < 2; i++ {
		l, err := redislimit.New(newClient(t, addr), key, rate, 1)
		require.NoError(t, err)
		lims = append(lims, l)
	}
	var rec recorder
	var wg sync.WaitGroup
	start := time.Now()
	for _, l := range lims {
		for g := 0; g < 4; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < 3; i++ {
					t0 := time.Now()
					if !assert.NoError(t, l.Wait(context.Background())) {
						return
					}
					rec.addSpan(t0, time.Now())
				}
			}()
		}
	}
	wg.Wait()
	got := rec.all()
	require.Len(t, got, 24)
	// Lower bounds only: never a timed upper bound on a loaded machine.
	assert.GreaterOrEqual(t, time.Since(start), 23*50*time.Millisecond, "24 grants, 23 gaps of at least 50 ms")
	assert.Zero(t, provenViolations(rec.allSpans(), rate, time.Second), "a strict server saw more than %d in a second", rate)
}

// A burst goes at once; then neither the burst window nor the one-second
// rule is ever broken, even where the burst does not divide the rate.
func TestSlidingWindowNeverExceedsCap(t *testing.T) {
	t.Parallel()
	addr := redisAddr(t)
	for _, tc := range []struct {
		name  string
		rate  float64
		burst int
	}{
		{"rate 10 burst 5", 10, 5},
		{"rate 5 burst 2", 5, 2}, // a burst window of 400 ms alone would let 6 in 800 ms
		{"rate 8 burst 1", 8, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			key := randomKey(t, addr)
			var rec recorder
			var wg sync.WaitGroup
			ctx, cancel := context.WithTimeout(context.Background(), 1600*time.Millisecond)
			defer cancel()
			for c := 0; c < 2; c++ {
				l, err := redislimit.New(newClient(t, addr), key, tc.rate, tc.burst)
				require.NoError(t, err)
				for g := 0; g < 5; g++ {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for {
							start := time.Now()
							err := l.Wait(ctx)
							if err != nil {
								assert.ErrorIs(t, err, context.DeadlineExceeded)
								return
							}
							rec.addSpan(start, time.Now())
						}
					}()
				}
			}
			wg.Wait()
			got := rec.all()
			window := time.Duration(float64(tc.burst) / tc.rate * float64(time.Second))
			t.Logf("%d grants in 1.6 s", len(got))
			assert.GreaterOrEqual(t, len(got), tc.burst, "the first burst goes at once")
			// The times are the callers', each late by its scheduling after
			// the grant in Redis (up to seconds with CPU hogs beside the
			// test): only what the spans of the calls prove counts.
			spans := rec.allSpans()
			assert.Zero(t, provenViolations(spans, int(tc.rate), time.Second), "over the rate in one second")
			assert.Zero(t, provenViolations(spans, tc.burst, window), "over the burst in its window")
		})
	}
}

func TestWaitEndsWithTheContext(t *testing.T) {
	t.Parallel()
	addr := redisAddr(t)
	key := randomKey(t, addr)
	l, err := redislimit.New(newClient(t, addr), key, 0.1, 1) // one grant per 10 s
	require.NoError(t, err)
	require.NoError(t, l.Wait(context.Background()))

	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // holds the turn, waiting on Redis's answer
		defer wg.Done()
		assert.ErrorIs(t, l.Wait(ctx), context.DeadlineExceeded)
	}()
	time.Sleep(20 * time.Millisecond)
	// A waiter queued behind it is not stuck either.
	ctx2, cancel2 := context.WithCancel(context.Background())
	go func() { time.Sleep(20 * time.Millisecond); cancel2() }()
	assert.ErrorIs(t, l.Wait(ctx2), context.Canceled)
	wg.Wait()

	done, cancel3 := context.WithCancel(context.Background())
	cancel3()
	assert.ErrorIs(t, l.Wait(done), context.Canceled)
}

// Redis frozen, then killed: Wait fails closed with ErrUnavailable and
// grants nothing; Redis back on the same port: Wait works again, with no
// reset.
func TestFailClosedAndRecovers(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	srv := startPrivateRedis(t)
	c := redis.NewClient(&redis.Options{Addr: srv.addr()})
	defer c.Close()
	const timeout = 200 * time.Millisecond
	reader := sdkmetric.NewManualReader()
	l, err := redislimit.New(c, "redislimit-test:failclosed", 50, 1, redislimit.WithTimeout(timeout),
		redislimit.WithMeterProvider(sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))))
	require.NoError(t, err)
	ctx := context.Background()
	require.NoError(t, l.Wait(ctx))

	var failures sync.Map // reason → *atomic.Int64: every Wait that failed closed
	checkUnavailable := func(err error) {
		t.Helper()
		reason := "error"
		if errors.Is(err, context.DeadlineExceeded) {
			reason = "timeout"
		}
		n, _ := failures.LoadOrStore(reason, new(atomic.Int64))
		n.(*atomic.Int64).Add(1)
		require.Error(t, err, "a grant without Redis")
		assert.ErrorIs(t, err, redislimit.ErrUnavailable)
		assert.ErrorIs(t, err, payments.ErrUnavailable)
		var ue *redislimit.UnavailableError
		assert.ErrorAs(t, err, &ue)
		assert.Contains(t, err.Error(), "limiter")
		assert.Contains(t, err.Error(), "nothing was sent")
	}

	// Slow: the server stops answering.
	require.NoError(t, srv.cmd.Process.Signal(syscall.SIGSTOP))
	start := time.Now()
	err = l.Wait(ctx)
	t.Logf("Redis frozen: %v", err)
	checkUnavailable(err)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.GreaterOrEqual(t, time.Since(start), timeout)
	require.NoError(t, srv.cmd.Process.Signal(syscall.SIGCONT))
	require.NoError(t, l.Wait(ctx), "answers again once thawed")

	// Gone: every caller is refused, none is let through.
	srv.kill()
	var wg sync.WaitGroup
	var mu sync.Mutex
	granted := 0
	for g := 0; g < 5; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 3; i++ {
				err := l.Wait(ctx)
				if err == nil {
					mu.Lock()
					granted++
					mu.Unlock()
					continue
				}
				checkUnavailable(err)
			}
		}()
	}
	wg.Wait()
	assert.Zero(t, granted, "grants while Redis was down")
	err = l.Wait(ctx)
	t.Logf("Redis killed: %v", err)
	checkUnavailable(err)

	// Back on the same port: works again by itself.
	srv.start()
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := l.Wait(ctx)
		if err == nil {
			break
		}
		checkUnavailable(err)
		require.True(t, time.Now().Before(deadline), "no recovery within 10 s: %v", err)
		time.Sleep(50 * time.Millisecond)
	}
	for i := 0; i < 3; i++ {
		require.NoError(t, l.Wait(ctx))
	}

	// Each failure was counted once on payments.limiter.unavailable, by
	// reason; the key (an account) is not an attribute.
	var rm metricdata.ResourceMetrics
	require.NoError(t, reader.Collect(ctx, &rm))
	counted := map[string]int64{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name != "payments.limiter.unavailable" {
				continue
			}
			for _, p := range m.Data.(metricdata.Sum[int64]).DataPoints {
				require.Equal(t, 1, p.Attributes.Len(), "attributes %v", p.Attributes.ToSlice())
				r, _ := p.Attributes.Value("payments.reason")
				counted[r.AsString()] += p.Value
			}
		}
	}
	want := map[string]int64{}
	failures.Range(func(k, v any) bool { want[k.(string)] = v.(*atomic.Int64).Load(); return true })
	assert.Equal(t, want, counted)
	assert.Positive(t, counted["timeout"], "the frozen Redis")
}

// Grants recorded ahead of the server's clock (the clock went back) hold
// the next grant for the longest window (here the one-second rule's), not
// until the clock catches up an hour later.
func TestServerClockWentBack(t *testing.T) {
	t.Parallel()
	addr := redisAddr(t)
	key := randomKey(t, addr)
	c := newClient(t, addr)
	ctx := context.Background()
	tm, err := c.Time(ctx).Result()
	require.NoError(t, err)
	ahead := tm.Add(time.Hour).UnixMicro()
	require.NoError(t, c.LPush(ctx, key, ahead).Err())
	l, err := redislimit.New(c, key, 20, 1) // 51 ms apart
	require.NoError(t, err)
	wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	start := time.Now()
	require.NoError(t, l.Wait(wctx), "waited for the clock to catch up")
	assert.GreaterOrEqual(t, time.Since(start), time.Second, "a whole second after the jump")
	require.NoError(t, l.Wait(wctx))
}
