package popolni_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/paysdk/payments/popolni"
	"github.com/paysdk/payments/popolni/popolnitest"
)

// BenchmarkBatcherVsOnePerRequest is the coalescing proof of issue 10: the
// fake's real cap (popolnitest.DefaultRateLimit, 5 requests a second) and the
// client's default limiter, both sides in the same run, each on a fresh fake.
//
//   - one per request: 15 concurrent callers, each Client.Pay of one payment
//     (15 are enough to measure a rate of 5 a second);
//   - batched: 1,000 concurrent callers, each Batcher.Pay of one payment.
//
// Reported: payouts/s of each side, their ratio, and the per-payout latency
// (median and p99, from the call to its own result) of each. Run with
//
//	go test -run '^$' -bench BatcherVsOnePerRequest -benchtime 1x ./popolni/
func BenchmarkBatcherVsOnePerRequest(b *testing.B) {
	for i := 0; i < b.N; i++ {
		single, sLat := measure(b, 15, false)
		batched, bLat := measure(b, 1000, true)
		b.ReportMetric(single, "single-payouts/s")
		b.ReportMetric(batched, "batched-payouts/s")
		b.ReportMetric(batched/single, "ratio")
		b.ReportMetric(ms(pct(sLat, 50)), "single-p50-ms")
		b.ReportMetric(ms(pct(sLat, 99)), "single-p99-ms")
		b.ReportMetric(ms(pct(bLat, 50)), "batched-p50-ms")
		b.ReportMetric(ms(pct(bLat, 99)), "batched-p99-ms")
		if batched/single < 100 {
			b.Logf("ratio %.1f is below the issue's 100", batched/single)
		}
	}
	b.ReportMetric(0, "ns/op")
}

// measure pays n payouts from n goroutines at once against a fresh fake at
// its default 5 requests a second, and returns payouts per second (n over
// the time from the start to the last answer) and each payout's latency.
func measure(b *testing.B, n int, batched bool) (float64, []time.Duration) {
	b.Helper()
	srv := popolnitest.NewServer(popolnitest.WithT(b), popolnitest.WithBalance(1e12, 0))
	defer srv.Close()
	c, err := popolni.New(popolni.Credentials{Login: srv.Login(), Password: srv.Password()}, srv.ClientOptions()...)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	bt := popolni.NewBatcher(c, popolni.BatchOptions{})
	defer bt.Close()

	lat := make([]time.Duration, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := popolni.Payment{ID: 1_000_000_000 + int64(i), Amount: 500, Account: "380991234567"}
			<-start
			t0 := time.Now()
			var err error
			if batched {
				_, err = bt.Pay(context.Background(), p)
			} else {
				_, err = c.Pay(context.Background(), []popolni.Payment{p})
			}
			lat[i] = time.Since(t0)
			if err != nil {
				b.Error(err)
			}
		}()
	}
	t0 := time.Now()
	close(start)
	wg.Wait()
	elapsed := time.Since(t0)
	if got := len(srv.Payments()); got != n {
		b.Fatalf("the fake holds %d payments, want %d", got, n)
	}
	b.Logf("batched=%v: %d payouts, %d pay requests, %v", batched, n, srv.Count(popolnitest.OpPay), elapsed)
	return float64(n) / elapsed.Seconds(), lat
}

func pct(d []time.Duration, p int) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	i := (len(s)*p + 99) / 100
	return s[max(0, min(len(s)-1, i-1))]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// BenchmarkBatcherAtLatency is the pipelining proof of issue 21: popolnitest
// as the strict arrival-window stand-in (5 requests in any sliding second,
// 503 to the sixth, no short-term allowance) with 300 ms and 600 ms of
// server latency, the client's default limiter, 5,000 concurrent
// Batcher.Pay calls; in one run, today's pipelining (DefaultMaxInFlight)
// beside one request in flight (MaxInFlight 1, the Batcher before it).
// Reported per side: payouts a second, pay requests a second as a share of
// the cap, and the 503s answered (the stand-in counts every arrival).
//
//	go test -run '^$' -bench BatcherAtLatency -benchtime 1x ./popolni/
func BenchmarkBatcherAtLatency(b *testing.B) {
	for _, lat := range []time.Duration{300 * time.Millisecond, 600 * time.Millisecond} {
		b.Run(lat.String(), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				one := atLatency(b, lat, 1)
				piped := atLatency(b, lat, 0)
				b.ReportMetric(one.payouts, "one-in-flight-payouts/s")
				b.ReportMetric(piped.payouts, "pipelined-payouts/s")
				b.ReportMetric(piped.payouts/one.payouts, "ratio")
				b.ReportMetric(one.capPct, "one-in-flight-%cap")
				b.ReportMetric(piped.capPct, "pipelined-%cap")
				b.ReportMetric(float64(one.refused+piped.refused), "503s")
			}
			b.ReportMetric(0, "ns/op")
		})
	}
}

type latencyRun struct {
	payouts float64 // payouts a second, from the first call to the last answer
	capPct  float64 // pay requests a second, first arrival to last, over the cap
	refused int     // requests answered 503
}

func atLatency(b *testing.B, lat time.Duration, maxInFlight int) latencyRun {
	b.Helper()
	const n = 5000
	srv := popolnitest.NewServer(popolnitest.WithT(b), popolnitest.WithBalance(1e12, 0), popolnitest.WithLatency(lat))
	defer srv.Close()
	c, err := popolni.New(popolni.Credentials{Login: srv.Login(), Password: srv.Password()}, srv.ClientOptions()...)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	bt := popolni.NewBatcher(c, popolni.BatchOptions{MaxInFlight: maxInFlight})
	defer bt.Close()
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			if _, err := bt.Pay(context.Background(), popolni.Payment{ID: 2_000_000_000 + int64(i), Amount: 500, Account: "380991234567"}); err != nil {
				b.Error(err)
			}
		}()
	}
	t0 := time.Now()
	close(start)
	wg.Wait()
	elapsed := time.Since(t0)
	if got := len(srv.Payments()); got != n {
		b.Fatalf("the fake holds %d payments, want %d", got, n)
	}
	var r latencyRun
	var first, last time.Time
	pays := 0
	for _, rq := range srv.Requests() {
		if rq.Answered == 503 {
			r.refused++
		}
		if rq.Op != popolnitest.OpPay {
			continue
		}
		pays++
		if first.IsZero() || rq.Time.Before(first) {
			first = rq.Time
		}
		if rq.Time.After(last) {
			last = rq.Time
		}
	}
	r.payouts = n / elapsed.Seconds()
	if pays > 1 {
		// n requests span n-1 gaps: the rate they arrived at.
		r.capPct = 100 * float64(pays-1) / last.Sub(first).Seconds() / popolnitest.DefaultRateLimit
	}
	b.Logf("latency %v, MaxInFlight %d: %d payouts in %d pay requests, %v, %d answered 503", lat, maxInFlight, n, pays, elapsed.Round(time.Millisecond), r.refused)
	return r
}
