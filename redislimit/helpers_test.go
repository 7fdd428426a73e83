package redislimit_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/paysdk/payments/redislimit"
	"github.com/redis/go-redis/v9"
)

var skipOnce sync.Once

// redisAddr is the Redis the tests use: PAYMENTS_TEST_REDIS, or the
// machine's own. Where none answers the test skips with one loud line, or
// fails under CI=true.
func redisAddr(t testing.TB) string {
	t.Helper()
	addr := os.Getenv("PAYMENTS_TEST_REDIS")
	if addr == "" {
		addr = "127.0.0.1:6379"
	}
	c := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, DialTimeout: time.Second})
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("no Redis at %s (PAYMENTS_TEST_REDIS) under CI=true: %v", addr, err)
		}
		loud := false
		skipOnce.Do(func() { loud = true })
		if loud {
			t.Skipf("SKIP: no Redis at %s (set PAYMENTS_TEST_REDIS); the shared-limiter tests did not run: %v", addr, err)
		}
		t.Skip("no Redis (said once above)")
	}
	return addr
}

// newClient is a client closed when the test ends.
func newClient(t testing.TB, addr string) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// randomKey is a key of this test's own, deleted when it ends with the
// slow-down's state beside it.
func randomKey(t testing.TB, addr string) string {
	t.Helper()
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	key := "redislimit-test:" + hex.EncodeToString(b)
	t.Cleanup(func() {
		c := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1})
		defer c.Close()
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = c.Del(ctx, key, redislimit.StateKey(key)).Err()
	})
	return key
}

// span is when a caller asked for a token (start) and when Wait returned
// it (end): the grant in Redis happened somewhere in between.
type span struct{ start, end time.Time }

// provenViolations counts the grants that are certainly the (cap+1)-th in
// some window: cap+1 grants whose spans all fit in less than window. Times
// taken by the callers are late by their scheduling (seconds, on a loaded
// machine), so only what the spans prove counts; a limiter that lets
// grants through at once gives tight spans, and fails.
func provenViolations(spans []span, cap int, window time.Duration) int {
	n := 0
	for j, last := range spans {
		var starts []time.Time
		for i, o := range spans {
			if i != j && !o.end.After(last.end) {
				starts = append(starts, o.start)
			}
		}
		if len(starts) < cap {
			continue
		}
		// The cap others most likely inside the window: the latest starts.
		sort.Slice(starts, func(a, b int) bool { return starts[a].After(starts[b]) })
		first := last.start
		for _, st := range starts[:cap] {
			if st.Before(first) {
				first = st
			}
		}
		if last.end.Sub(first) < window {
			n++
		}
	}
	return n
}

// recorder collects grant times from many goroutines.
type recorder struct {
	mu    sync.Mutex
	times []time.Time
	spans []span
}

func (r *recorder) addSpan(start, end time.Time) {
	r.mu.Lock()
	r.times = append(r.times, end)
	r.spans = append(r.spans, span{start, end})
	r.mu.Unlock()
}

func (r *recorder) allSpans() []span {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]span(nil), r.spans...)
}

func (r *recorder) all() []time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]time.Time(nil), r.times...)
}

// privateRedis is a redis-server of the test's own, on a port of its own,
// that the test can stop, freeze and start again on the same port.
type privateRedis struct {
	t    testing.TB
	bin  string
	dir  string
	port int
	cmd  *exec.Cmd
}

func startPrivateRedis(t testing.TB) *privateRedis {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("redis-server not found under CI=true: %v", err)
		}
		t.Skipf("SKIP: no redis-server binary (install Debian's redis-server); the fail-closed tests did not run: %v", err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	_ = l.Close()
	p := &privateRedis{t: t, bin: bin, dir: t.TempDir(), port: port}
	p.start()
	t.Cleanup(p.kill)
	return p
}

func (p *privateRedis) addr() string { return "127.0.0.1:" + strconv.Itoa(p.port) }

func (p *privateRedis) start() {
	p.t.Helper()
	p.cmd = exec.Command(p.bin, "--port", strconv.Itoa(p.port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", p.dir,
		"--logfile", filepath.Join(p.dir, "redis.log"))
	if err := p.cmd.Start(); err != nil {
		p.t.Fatalf("start redis-server: %v", err)
	}
	c := redis.NewClient(&redis.Options{Addr: p.addr(), MaxRetries: -1})
	defer c.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		err := c.Ping(ctx).Err()
		cancel()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("private redis-server on %s does not answer: %v", p.addr(), err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (p *privateRedis) kill() {
	if p.cmd == nil || p.cmd.Process == nil {
		return
	}
	_ = p.cmd.Process.Kill()
	_ = p.cmd.Wait()
	p.cmd = nil
}
