package ledger_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/paysdk/payments/internal/pgtest"
	"github.com/paysdk/payments/ledger"
	"github.com/paysdk/payments/ledger/pgstore"
	"github.com/paysdk/payments/ledger/sqlitestore"
	"github.com/paysdk/payments/payout"
	"github.com/paysdk/payments/popolni/popolnitest"
)

// benchStores gives a fresh store of each kind per call.
func benchStores(b *testing.B) map[string]func(b *testing.B) ledger.Store {
	return map[string]func(b *testing.B) ledger.Store{
		"sqlite": func(b *testing.B) ledger.Store {
			s, err := sqlitestore.Open(context.Background(), filepath.Join(b.TempDir(), "bench.db"))
			require.NoError(b, err)
			b.Cleanup(func() { s.Close() })
			return s
		},
		"postgres": func(b *testing.B) ledger.Store {
			s, err := pgstore.Open(context.Background(), pgtest.DSN(b), pgstore.Options{})
			require.NoError(b, err)
			b.Cleanup(func() { s.Close() })
			return s
		},
	}
}

// BenchmarkSubmit: intents recorded per second, each Submit a durable
// commit: one payout per Submit, and 100 per Submit.
func BenchmarkSubmit(b *testing.B) {
	for _, kind := range []string{"sqlite", "postgres"} {
		for _, per := range []int{1, 100} {
			b.Run(fmt.Sprintf("%s/per=%d", kind, per), func(b *testing.B) {
				_, pc := popolniFake(b)
				s := benchStores(b)[kind](b)
				l, err := ledger.New(s, ledger.Options{Cards: testCards}, pc)
				require.NoError(b, err)
				reqs := requests(1_000_000_001, b.N*per)
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					if _, err := l.Submit(context.Background(), reqs[i*per:(i+1)*per]...); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.N*per)/b.Elapsed().Seconds(), "intents/s")
			})
		}
	}
}

// BenchmarkSettle: payouts recorded, sent, polled and settled per second,
// end to end against the popolni fake with no rate limit: the store's and
// the loop's own ceiling, to set against the provider's cap of 5 requests
// a second (up to 1,250 payouts a second with popolni's batches of 250).
func BenchmarkSettle(b *testing.B) {
	const n = 1000
	for _, kind := range []string{"sqlite", "postgres"} {
		b.Run(kind, func(b *testing.B) {
			var total time.Duration
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				_, pc := popolniFake(b)
				s := benchStores(b)[kind](b)
				l, err := ledger.New(s, fast(ledger.Options{Batch: n}), pc)
				require.NoError(b, err)
				reqs := requests(1_000_000_001, n)
				ctx, cancel := context.WithCancel(context.Background())
				b.StartTimer()
				start := time.Now()
				_, err = l.Submit(ctx, reqs...)
				require.NoError(b, err)
				done := make(chan error, 1)
				go func() { done <- l.Run(ctx) }()
				for {
					open, err := s.List(ctx, ledger.Filter{Open: true, Limit: 1})
					require.NoError(b, err)
					if len(open) == 0 {
						break
					}
					time.Sleep(time.Millisecond)
				}
				total += time.Since(start)
				b.StopTimer()
				cancel()
				<-done
				b.StartTimer()
			}
			b.ReportMetric(float64(b.N*n)/total.Seconds(), "payouts/s")
		})
	}
}

// BenchmarkResume10k: a replica starts on a store holding 10,000
// unfinished payouts (InFlight, their owner dead, its leases over): the time
// until every one of them has been claimed and asked about at the provider.
func BenchmarkResume10k(b *testing.B) {
	const n = 10_000
	for _, kind := range []string{"sqlite", "postgres"} {
		b.Run(kind, func(b *testing.B) {
			var total time.Duration
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				srv, pc := popolniFake(b, popolnitest.WithStepsPerPoll(0))
				s := benchStores(b)[kind](b)
				l, err := ledger.New(s, fast(ledger.Options{PollInterval: time.Hour}), pc)
				require.NoError(b, err)
				ctx, cancel := context.WithCancel(context.Background())
				_, err = l.Submit(ctx, requests(1_000_000_001, n)...)
				require.NoError(b, err)
				// A replica claimed everything, marked it InFlight, and died:
				// its leases end a millisecond later.
				now := time.Now().Truncate(time.Microsecond)
				rs, err := s.Claim(ctx, "dead", now, time.Hour, n)
				require.NoError(b, err)
				require.Len(b, rs, n)
				for j := range rs {
					rs[j].Status = ledger.InFlight
					rs[j].Sends = 1
					rs[j].SentAt = now
					rs[j].NextAt = now
				}
				_, err = s.Save(ctx, "dead", now, time.Millisecond, rs)
				require.NoError(b, err)
				time.Sleep(5 * time.Millisecond)
				if srv.Count(popolnitest.OpPay) != 0 {
					b.Fatal("the setup paid")
				}
				b.StartTimer()
				start := time.Now()
				done := make(chan error, 1)
				go func() { done <- l.Run(ctx) }()
				for srv.Count(popolnitest.OpStatus) < n/100 {
					time.Sleep(time.Millisecond)
				}
				total += time.Since(start)
				b.StopTimer()
				cancel()
				<-done
				b.StartTimer()
			}
			b.ReportMetric(float64(total.Milliseconds())/float64(b.N), "ms/resume")
		})
	}
}

// oneAtATime is a driver whose status asks one payout a request: the
// baseline of BenchmarkStatusRequests.
type oneAtATime struct{ payout.Driver }

func (d oneAtATime) Capabilities() payout.Capabilities {
	c := d.Driver.Capabilities()
	c.StatusBatch = 1
	return c
}

// BenchmarkStatusRequests: status requests to settle 1,000 outstanding
// payouts, batched (popolni's 100 a request) against one a payout.
func BenchmarkStatusRequests(b *testing.B) {
	const n = 1000
	for _, mode := range []string{"batched", "one-per-payout"} {
		b.Run(mode, func(b *testing.B) {
			var requests int
			for i := 0; i < b.N; i++ {
				srv, pc := popolniFake(b)
				if mode == "one-per-payout" {
					pc = payout.NewClient(oneAtATime{pc.Driver()})
				}
				s := benchStores(b)["sqlite"](b)
				l, err := ledger.New(s, fast(ledger.Options{Batch: n, PollInterval: 20 * time.Millisecond}), pc)
				require.NoError(b, err)
				ctx, cancel := context.WithCancel(context.Background())
				_, err = l.Submit(ctx, requestsFrom(n)...)
				require.NoError(b, err)
				done := make(chan error, 1)
				go func() { done <- l.Run(ctx) }()
				for {
					open, err := s.List(ctx, ledger.Filter{Open: true, Limit: 1})
					require.NoError(b, err)
					if len(open) == 0 {
						break
					}
					time.Sleep(time.Millisecond)
				}
				cancel()
				<-done
				requests += srv.Count(popolnitest.OpStatus)
			}
			b.ReportMetric(float64(requests)/float64(b.N), "status-requests/1000-payouts")
		})
	}
}

func requestsFrom(n int) []payout.Request { return requests(1_000_000_001, n) }
