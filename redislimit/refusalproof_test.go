package redislimit_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/paysdk/payments/redislimit"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"
)

// The child side of TestRefusalSlowdownAcrossProcesses: set in a
// re-executed test binary, never by hand.
const (
	envOutageChild = "REDISLIMIT_TEST_OUTAGE_CHILD" // "told" or "silent"
	envCreep       = "REDISLIMIT_TEST_CREEP"        // another creep (told only), for the comparison
)

// outageStandIn is strictStandIn (every arrival counts, 503 to one that
// finds capRate within the last second) that also refuses every request
// from from to to, as a provider refusing all for a while does.
type outageStandIn struct {
	from, to time.Time

	mu       sync.Mutex
	arrivals []time.Time
	served   []bool
}

func (s *outageStandIn) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	now := time.Now()
	s.mu.Lock()
	in := 0
	for i := len(s.arrivals) - 1; i >= 0 && now.Sub(s.arrivals[i]) < time.Second; i-- {
		in++
	}
	refuse := in >= capRate || (!now.Before(s.from) && now.Before(s.to))
	s.arrivals = append(s.arrivals, now)
	s.served = append(s.served, !refuse)
	s.mu.Unlock()
	if refuse {
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	w.WriteHeader(http.StatusOK)
}

// outageFigures is one run's account.
type outageFigures struct {
	ok, refused                 int
	refusedBefore, refusedIn    int
	refusedAfter                int
	baseline                    float64   // served a second before the outage
	recovery                    float64   // s from the outage's end until 5 s served at ≥ 95 % of baseline; <0: never
	capPct                      float64   // served a second over the whole run, % of the cap
	afterPct                    []float64 // served a second in each 5 s after the outage, % of baseline
	lastPct                     float64   // served a second in the run's last 5 s, % of baseline
	runFrom, runUntil, from, to time.Time
}

// servedIn counts the served arrivals in [a, b).
func (s *outageStandIn) servedIn(a, b time.Time) int {
	n := 0
	for i, t := range s.arrivals {
		if s.served[i] && !t.Before(a) && t.Before(b) {
			n++
		}
	}
	return n
}

func (s *outageStandIn) figures(start, until time.Time) outageFigures {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := outageFigures{runFrom: start, runUntil: until, from: s.from, to: s.to}
	for i, t := range s.arrivals {
		switch {
		case s.served[i]:
			f.ok++
		case t.Before(s.from):
			f.refused++
			f.refusedBefore++
		case t.Before(s.to):
			f.refused++
			f.refusedIn++
		default:
			f.refused++
			f.refusedAfter++
		}
	}
	// The steady rate before the outage: the served arrivals' rate from
	// the first to the last (a count over a few seconds alone is off by
	// the grant at its start).
	var first, last time.Time
	n := 0
	for i, t := range s.arrivals {
		if s.served[i] && t.Before(s.from) {
			if n == 0 {
				first = t
			}
			last = t
			n++
		}
	}
	if n > 1 {
		f.baseline = float64(n-1) / last.Sub(first).Seconds()
	}
	const win = 5 * time.Second
	f.recovery = -1
	for at := s.to; !at.Add(win).After(until); at = at.Add(100 * time.Millisecond) {
		if float64(s.servedIn(at, at.Add(win)))/win.Seconds() >= 0.95*f.baseline {
			f.recovery = at.Sub(s.to).Seconds()
			break
		}
	}
	for at := s.to; !at.Add(win).After(until); at = at.Add(win) {
		f.afterPct = append(f.afterPct, 100*float64(s.servedIn(at, at.Add(win)))/win.Seconds()/f.baseline)
	}
	f.lastPct = 100 * float64(s.servedIn(until.Add(-win), until)) / win.Seconds() / f.baseline
	f.capPct = 100 * float64(f.ok) / until.Sub(start).Seconds() / capRate
	return f
}

// TestRefusalSlowdownAcrossProcesses is the proof of the shared slow-down,
// opt-in (PAYMENTS_LONG=1; about 65 s): 3 processes × 20 callers on one
// key, against a strict stand-in that also refuses every request from the
// 5th to the 10th second of a 30 s run. Run twice, one after the other,
// each on a key and stand-in of its own: the children calling Refused on a
// 503 and sending again, as the transport does, then the same children not
// telling. PAYMENTS_SLOW_CREEP=0.05 adds a third run with that creep. The
// figures are logged, not asserted.
func TestRefusalSlowdownAcrossProcesses(t *testing.T) {
	if mode := os.Getenv(envOutageChild); mode != "" {
		runOutageChild(t, mode)
		return
	}
	if os.Getenv("PAYMENTS_LONG") != "1" {
		t.Skip("the long proof of the shared slow-down: PAYMENTS_LONG=1")
	}
	addr := redisAddr(t)
	run := 30 * time.Second
	outFrom, outTo := 5*time.Second, 10*time.Second
	modes := []string{"told", "silent"}
	if os.Getenv("PAYMENTS_SLOW_CREEP") != "" {
		modes = append(modes, "told creep="+os.Getenv("PAYMENTS_SLOW_CREEP"))
	}
	for _, mode := range modes {
		key := randomKey(t, addr)
		start := time.Now().Add(time.Second) // every child started and ready by then
		until := start.Add(run)
		srv := &outageStandIn{from: start.Add(outFrom), to: start.Add(outTo)}
		hs := httptest.NewServer(srv)
		child, creep, _ := strings.Cut(mode, " creep=")
		type result struct {
			out string
			err error
		}
		results := make(chan result, procs)
		for p := 0; p < procs; p++ {
			cmd := exec.Command(os.Args[0], "-test.run=^TestRefusalSlowdownAcrossProcesses$", "-test.count=1")
			cmd.Env = append(os.Environ(),
				envOutageChild+"="+child, envURL+"="+hs.URL, envKey+"="+key, "PAYMENTS_TEST_REDIS="+addr,
				envCreep+"="+creep,
				envStart+"="+strconv.FormatInt(start.UnixNano(), 10),
				envUntil+"="+strconv.FormatInt(until.UnixNano(), 10))
			var out bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &out
			require.NoError(t, cmd.Start())
			go func() {
				err := cmd.Wait()
				results <- result{out.String(), err}
			}()
		}
		var told, sent, lost int
		for p := 0; p < procs; p++ {
			r := <-results
			require.NoError(t, r.err, "child (%s) failed:\n%s", mode, r.out)
			found := false
			sc := bufio.NewScanner(strings.NewReader(r.out))
			for sc.Scan() {
				var s, tl, e int
				if _, err := fmt.Sscanf(sc.Text(), "CHILD sent=%d told=%d errors=%d", &s, &tl, &e); err == nil {
					found = true
					sent += s
					told += tl
					lost += e
				}
			}
			require.True(t, found, "child (%s) printed no result:\n%s", mode, r.out)
		}
		hs.Close()
		f := srv.figures(start, until)
		t.Logf("%s: %d processes × %d callers, %v, every request refused from %v to %v:", mode, procs, callers, run, outFrom, outTo)
		t.Logf("  %d sent, %d served, %d answered 503 (%d before the outage, %d during, %d after); %d Refused calls, %d errors",
			sent, f.ok, f.refused, f.refusedBefore, f.refusedIn, f.refusedAfter, told, lost)
		rec := "never within the run"
		if f.recovery >= 0 {
			rec = fmt.Sprintf("%.1f s", f.recovery)
		}
		pcts := make([]string, len(f.afterPct))
		for i, p := range f.afterPct {
			pcts[i] = fmt.Sprintf("%.0f %%", p)
		}
		t.Logf("  before: %.2f served/s; recovery (5 s at ≥ 95 %% of it after the outage): %s; after the outage, each 5 s: %s; the last 5 s: %.0f %%; overall %.1f %% of the cap",
			f.baseline, rec, strings.Join(pcts, ", "), f.lastPct, f.capPct)
	}
}

// runOutageChild is one process of 20 callers: wait on the shared
// limiter, send, and on a 503 tell the limiter (mode "told") and send
// again, until the end. It prints what it sent and told.
func runOutageChild(t *testing.T, mode string) {
	startNS, _ := strconv.ParseInt(os.Getenv(envStart), 10, 64)
	untilNS, _ := strconv.ParseInt(os.Getenv(envUntil), 10, 64)
	url := os.Getenv(envURL)
	c := redis.NewClient(&redis.Options{Addr: os.Getenv("PAYMENTS_TEST_REDIS")})
	defer c.Close()
	lim, err := redislimit.New(c, os.Getenv(envKey), capRate, 1)
	require.NoError(t, err)
	if s := os.Getenv(envCreep); s != "" {
		creep, err := strconv.ParseFloat(s, 64)
		require.NoError(t, err)
		lim.SetCreep(creep)
	}
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: callers}}
	defer hc.CloseIdleConnections()
	time.Sleep(time.Until(time.Unix(0, startNS)))
	ctx, cancel := context.WithDeadline(context.Background(), time.Unix(0, untilNS))
	defer cancel()
	var sent, told, errs atomic.Int64
	var wg sync.WaitGroup
	for g := 0; g < callers; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for lim.Wait(ctx) == nil {
				resp, err := hc.Get(url)
				sent.Add(1)
				if err != nil {
					errs.Add(1)
					t.Logf("request: %v", err)
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				_ = resp.Body.Close()
				if resp.StatusCode == http.StatusServiceUnavailable && mode == "told" {
					lim.Refused()
					told.Add(1)
				}
			}
			if ctx.Err() == nil {
				errs.Add(1)
			}
		}()
	}
	wg.Wait()
	lim.WaitRefusals()
	fmt.Printf("CHILD sent=%d told=%d errors=%d\n", sent.Load(), told.Load(), errs.Load())
}
