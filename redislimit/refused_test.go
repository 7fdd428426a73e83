package redislimit_test

import (
	"context"
	"strconv"
	"strings"
	"sync"
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

// crc16 is Redis Cluster's key hash (CRC-16/XMODEM).
func crc16(s string) uint16 {
	var crc uint16
	for i := 0; i < len(s); i++ {
		crc ^= uint16(s[i]) << 8
		for b := 0; b < 8; b++ {
			if crc&0x8000 != 0 {
				crc = crc<<1 ^ 0x1021
			} else {
				crc <<= 1
			}
		}
	}
	return crc
}

// slot is the Redis Cluster slot of key: the hash of its hash tag (the
// first "{...}" with something inside), else of the whole key.
func slot(key string) uint16 {
	if i := strings.IndexByte(key, '{'); i >= 0 {
		if j := strings.IndexByte(key[i+1:], '}'); j > 0 {
			key = key[i+1 : i+1+j]
		}
	}
	return crc16(key) % 16384
}

// The slow-down's state lives in the key's Cluster slot, hash tag or not.
func TestStateKeySharesTheSlot(t *testing.T) {
	require.Equal(t, uint16(0x31C3), crc16("123456789"), "CRC-16/XMODEM's check value")
	for _, key := range []string{
		"payments:limit:popolni:acct",
		"{payments:limit:popolni:acct}",
		"payments:limit:{popolni:acct}:x",
		"a{b",  // an unclosed brace is no tag
		"{}a",  // an empty tag is no tag
		"a{}b", // likewise
	} {
		sk := redislimit.StateKey(key)
		assert.NotEqual(t, key, sk)
		if strings.Contains(key, "}") && !strings.Contains(sk, key+"}") && sk == key+":cut" && slot(key) != slot(sk) {
			continue // "}" without a tag: documented, give it a hash tag
		}
		assert.Equal(t, slot(key), slot(sk), "%q and %q", key, sk)
	}
	assert.Equal(t, "{payments:limit:popolni:acct}:cut", redislimit.StateKey("{payments:limit:popolni:acct}"))
	assert.Equal(t, "{payments:limit:popolni:acct}:cut", redislimit.StateKey("payments:limit:popolni:acct"))
}

// serverMicros is the Redis server's clock, µs.
func serverMicros(t *testing.T, c *redis.Client) int64 {
	t.Helper()
	tm, err := c.Time(context.Background()).Result()
	require.NoError(t, err)
	return tm.UnixMicro()
}

// setState writes the slow-down's state of key: factor f cut ago before
// the server's now.
func setState(t *testing.T, c *redis.Client, key string, f float64, ago time.Duration) {
	t.Helper()
	at := serverMicros(t, c) - ago.Microseconds()
	require.NoError(t, c.HSet(context.Background(), redislimit.StateKey(key),
		"f", strconv.FormatFloat(f, 'g', -1, 64), "t", strconv.FormatInt(at, 10)).Err())
	require.NoError(t, c.PExpire(context.Background(), redislimit.StateKey(key), time.Minute).Err())
}

// assertRate checks l's shared rate: factor want of the ceiling, plus at
// most the creep over the time since the state was set (measured, not
// assumed: since is when the test set it).
func assertRate(t *testing.T, l *redislimit.Limiter, want float64, since time.Time) {
	t.Helper()
	got, err := l.Rate(context.Background())
	require.NoError(t, err)
	creep := redislimit.CreepPerSecond * (time.Since(since).Seconds() + 0.001)
	f := got / l.Ceiling()
	assert.GreaterOrEqual(t, f, want-1e-9, "factor")
	assert.LessOrEqual(t, f, min(1, want+creep)+1e-9, "factor (creep allowed for %v)", time.Since(since))
}

// A key with no cut state: no state key appears, the full rate, and the
// waits and the key's life as before the slow-down existed.
func TestNoStateAsBefore(t *testing.T) {
	t.Parallel()
	addr := redisAddr(t)
	key := randomKey(t, addr)
	c := newClient(t, addr)
	ctx := context.Background()
	l, err := redislimit.New(c, key, 0.1, 1) // one grant per 10.2 s with the margin
	require.NoError(t, err)
	window := 10200 * time.Millisecond
	w, err := l.Ask(ctx)
	require.NoError(t, err)
	require.Zero(t, w)
	w, err = l.Ask(ctx)
	require.NoError(t, err)
	assert.Positive(t, w)
	assert.LessOrEqual(t, w, window)
	ttl, err := c.PTTL(ctx, key).Result()
	require.NoError(t, err)
	assert.LessOrEqual(t, ttl, window+time.Second, "the key's life as before")
	n, err := c.Exists(ctx, redislimit.StateKey(key)).Result()
	require.NoError(t, err)
	assert.Zero(t, n, "a state key without a refusal")
	r, err := l.Rate(ctx)
	require.NoError(t, err)
	assert.InDelta(t, 0.1/1.02, r, 1e-12)
	assert.Equal(t, r, l.Ceiling())

	// The same key cut to half: the window doubles.
	set := time.Now()
	setState(t, c, key, 0.5, 0)
	w, err = l.Ask(ctx)
	require.NoError(t, err)
	assert.Greater(t, w, window, "the window stretched by 1/f (unless %v passed)", time.Since(set))
	assert.LessOrEqual(t, w, 2*window)
}

// A refusal seen by one replica slows another on the same key (another
// client, as another process would have), through Redis alone.
func TestRefusalSlowsEveryReplica(t *testing.T) {
	t.Parallel()
	addr := redisAddr(t)
	key := randomKey(t, addr)
	ctx := context.Background()
	// One grant per 102 s: a wait stretched by 1/0.8 (127.5 s) is told
	// apart from the plain one whatever the machine's load.
	refused, err := redislimit.New(newClient(t, addr), key, 0.01, 1)
	require.NoError(t, err)
	other, err := redislimit.New(newClient(t, addr), key, 0.01, 1)
	require.NoError(t, err)
	window := 102 * time.Second
	w, err := other.Ask(ctx)
	require.NoError(t, err)
	require.Zero(t, w)
	w, err = other.Ask(ctx)
	require.NoError(t, err)
	assert.LessOrEqual(t, w, window)

	start := time.Now()
	refused.Refused()
	refused.WaitRefusals()
	assert.Equal(t, int64(1), refused.Exchanges())
	assertRate(t, other, redislimit.CutFactor, start)
	w, err = other.Ask(ctx)
	require.NoError(t, err)
	assert.Greater(t, w, window, "the other replica did not slow down")
	assert.LessOrEqual(t, w, time.Duration(float64(window)/redislimit.CutFactor))
	ttl, err := newClient(t, addr).PTTL(ctx, redislimit.StateKey(key)).Result()
	require.NoError(t, err)
	back := time.Duration((1 - redislimit.CutFactor) / redislimit.CreepPerSecond * float64(time.Second))
	assert.Greater(t, ttl, back-5*time.Second, "the state lives until the rate is back")
	assert.LessOrEqual(t, ttl, back+time.Second)
}

// Refusals from three replicas within the cooldown cut once; one after it
// cuts again, from the crept rate.
func TestCooldownIsShared(t *testing.T) {
	t.Parallel()
	addr := redisAddr(t)
	key := randomKey(t, addr)
	ctx := context.Background()
	var lims []*redislimit.Limiter
	for i := 0; i < 3; i++ {
		l, err := redislimit.New(newClient(t, addr), key, 5, 1)
		require.NoError(t, err)
		lims = append(lims, l)
	}
	start := time.Now()
	cut, err := lims[0].Cut(ctx)
	require.NoError(t, err)
	require.True(t, cut, "the first refusal cuts")
	cuts := []bool{}
	for _, l := range lims[1:] {
		cut, err := l.Cut(ctx)
		require.NoError(t, err)
		cuts = append(cuts, cut)
	}
	// Async, as the transport calls it: this process has no record yet, so
	// it asks Redis once, learns of the cut, and skips the next refusal.
	before := lims[2].Exchanges()
	lims[2].Refused()
	lims[2].WaitRefusals()
	lims[2].Refused()
	lims[2].WaitRefusals()
	if elapsed := time.Since(start); elapsed < redislimit.CutCooldown {
		assert.Equal(t, []bool{false, false}, cuts, "a second cut within the cooldown")
		assertRate(t, lims[1], redislimit.CutFactor, start)
		assert.Equal(t, int64(1), lims[2].Exchanges()-before, "the local record skips a refusal within the cooldown")
	} else {
		t.Logf("the machine took %v for three exchanges: the cooldown is not checked this time", elapsed)
	}

	// Past the cooldown: cut again, 0.8 of the crept rate.
	c := newClient(t, addr)
	set := time.Now()
	setState(t, c, key, 0.8, 1200*time.Millisecond)
	cut, err = lims[1].Cut(ctx)
	require.NoError(t, err)
	require.True(t, cut, "a refusal after the cooldown cuts")
	want := (0.8 + 1.2*redislimit.CreepPerSecond) * redislimit.CutFactor
	assertRate(t, lims[2], want, set)
}

// The creep brings the rate back by 1 % of the ceiling a second, never
// above it; a cut never goes below the floor; a cut time ahead of the
// server's clock creeps from now.
func TestCreepAndFloor(t *testing.T) {
	t.Parallel()
	addr := redisAddr(t)
	key := randomKey(t, addr)
	c := newClient(t, addr)
	ctx := context.Background()
	l, err := redislimit.New(c, key, 5, 1)
	require.NoError(t, err)

	set := time.Now()
	setState(t, c, key, 0.5, 30*time.Second)
	assertRate(t, l, 0.8, set)

	setState(t, c, key, 0.5, 60*time.Second)
	r, err := l.Rate(ctx)
	require.NoError(t, err)
	assert.Equal(t, l.Ceiling(), r, "back at the ceiling, not above")

	set = time.Now()
	setState(t, c, key, 0.5, -time.Hour) // the server's clock went back an hour
	assertRate(t, l, 0.5, set)

	floor := 1.0 / redislimit.FloorDivisor
	set = time.Now()
	setState(t, c, key, floor, 1500*time.Millisecond)
	cut, err := l.Cut(ctx)
	require.NoError(t, err)
	require.True(t, cut)
	assertRate(t, l, floor, set)
	ttl, err := c.PTTL(ctx, redislimit.StateKey(key)).Result()
	require.NoError(t, err)
	back := time.Duration((1 - floor) / redislimit.CreepPerSecond * float64(time.Second))
	assert.Greater(t, ttl, back-5*time.Second)
	assert.LessOrEqual(t, ttl, back+time.Second)

	// At the floor the grants are 16 times as far apart, and the grants'
	// list lives as long.
	_, err = l.Ask(ctx)
	require.NoError(t, err)
	w, err := l.Ask(ctx)
	require.NoError(t, err)
	assert.Greater(t, w, 204*time.Millisecond, "a grant at the full rate's spacing while at the floor")
	ttl, err = c.PTTL(ctx, key).Result()
	require.NoError(t, err)
	assert.Greater(t, ttl, 16*time.Second)
}

// lostRefusals reads payments.limiter.refusals.lost by reason.
func lostRefusals(t *testing.T, reader *sdkmetric.ManualReader) map[string]int64 {
	t.Helper()
	var rm metricdata.ResourceMetrics
	require.NoError(t, reader.Collect(context.Background(), &rm))
	got := map[string]int64{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name != "payments.limiter.refusals.lost" {
				continue
			}
			for _, p := range m.Data.(metricdata.Sum[int64]).DataPoints {
				require.Equal(t, 1, p.Attributes.Len(), "attributes %v", p.Attributes.ToSlice())
				r, _ := p.Attributes.Value("payments.reason")
				got[r.AsString()] += p.Value
			}
		}
	}
	return got
}

// Refused never waits for Redis: with Redis frozen, a thousand refusals
// from fifty goroutines return while the one exchange they started is
// still waiting on it; with Redis gone, the failed exchange is counted.
// No goroutine outlives WaitRefusals.
func TestRefusedNeverBlocks(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	srv := startPrivateRedis(t)
	// A client that waits for the frozen server as long as it takes: were
	// Refused to wait on the exchange, it would never return.
	c := redis.NewClient(&redis.Options{Addr: srv.addr(), ReadTimeout: -1, WriteTimeout: -1})
	defer c.Close()
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	key := "redislimit-test:neverblocks"
	// The exchange's timeout outlasts the freeze however slowly a loaded
	// machine runs the thousand calls: the one exchange is still in flight
	// when they have all returned.
	l, err := redislimit.New(c, key, 5, 1, redislimit.WithMeterProvider(mp), redislimit.WithTimeout(time.Minute))
	require.NoError(t, err)
	ctx := context.Background()
	require.NoError(t, c.Ping(ctx).Err())

	require.NoError(t, srv.cmd.Process.Signal(syscall.SIGSTOP))
	var wg sync.WaitGroup
	for g := 0; g < 50; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 20; i++ {
				l.Refused()
			}
		}()
	}
	returned := make(chan struct{})
	go func() { wg.Wait(); close(returned) }()
	select {
	case <-returned:
	case <-time.After(30 * time.Second): // a guard against a hang, not a timing
		require.NoError(t, srv.cmd.Process.Signal(syscall.SIGCONT))
		t.Fatal("Refused blocked on a frozen Redis")
	}
	assert.Equal(t, int64(1), l.Exchanges(), "one exchange in flight for a thousand refusals")
	assert.Empty(t, lostRefusals(t, reader), "the exchange has not ended yet")
	require.NoError(t, srv.cmd.Process.Signal(syscall.SIGCONT))
	l.WaitRefusals()
	// The late answer either cut (it reached Redis) or was counted lost.
	r, err := l.Rate(ctx)
	require.NoError(t, err)
	lost := lostRefusals(t, reader)
	t.Logf("after the thaw: rate %.3f of %.3f, lost %v", r, l.Ceiling(), lost)
	if r < l.Ceiling() {
		assert.Empty(t, lost)
	} else {
		assert.Equal(t, int64(1), lost["timeout"]+lost["error"])
	}

	// Redis gone: Refused returns, the exchange fails and is counted.
	srv.kill()
	l2, err := redislimit.New(c, key, 5, 1, redislimit.WithMeterProvider(mp), redislimit.WithTimeout(200*time.Millisecond))
	require.NoError(t, err)
	before := lostRefusals(t, reader)
	l2.Refused()
	l2.WaitRefusals()
	after := lostRefusals(t, reader)
	assert.Equal(t, int64(1), after["error"]+after["timeout"]-before["error"]-before["timeout"], "the failed exchange, counted")
	assert.ErrorIs(t, l2.Wait(ctx), payments.ErrUnavailable, "Wait still fails closed")
	_, err = l2.Rate(ctx)
	assert.Error(t, err)
}
