package sqlitestore

import (
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/paysdk/payments/ledger"
)

func reportRecords(b *testing.B, perOp int) {
	b.ReportMetric(float64(b.N*perOp)/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkInsertSingle is one record per Insert: one durable commit (an
// fsync of the WAL) each.
func BenchmarkInsertSingle(b *testing.B) {
	s := openTemp(b)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := s.Insert(bg, t0, []ledger.Record{record(fmt.Sprintf("r-%09d", i))}, nil); err != nil {
			b.Fatal(err)
		}
	}
	reportRecords(b, 1)
}

// BenchmarkInsertBatch100 is 100 records per Insert, one commit.
func BenchmarkInsertBatch100(b *testing.B) {
	s := openTemp(b)
	batch := make([]ledger.Record, 100)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for j := range batch {
			batch[j] = record(fmt.Sprintf("r-%09d-%03d", i, j))
		}
		if _, err := s.Insert(bg, t0, batch, nil); err != nil {
			b.Fatal(err)
		}
	}
	reportRecords(b, 100)
}

// BenchmarkClaimSave is the work loop's step: claim 100 due records, then
// save them released, due again later, out of a queue of 1,000.
func BenchmarkClaimSave(b *testing.B) {
	s := openTemp(b)
	if _, err := s.Insert(bg, t0, records("q", 1000), nil); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		now := t0.Add(time.Duration(i+1) * time.Second)
		rs, err := s.Claim(bg, "bench", now, time.Minute, 100)
		if err != nil {
			b.Fatal(err)
		}
		if len(rs) != 100 {
			b.Fatalf("claimed %d, want 100", len(rs))
		}
		for j := range rs {
			rs[j].Polls++
			rs[j].Status = ledger.Pending
			rs[j].NextAt = now.Add(5 * time.Second)
		}
		lost, err := s.Save(bg, "bench", now, 0, rs)
		if err != nil || len(lost) > 0 {
			b.Fatal(err, lost)
		}
	}
	reportRecords(b, 100)
}

// BenchmarkSave is Save of n claimed records, held, on a file and in
// memory. "before" is the Save of the release before the history (Save's
// step reading and writing off) and "same" this release's, both changing only
// NextAt and Polls (a poll with the same answer: no step); "changed"
// changes the Code each time (one step per record, the cap's deletion
// included once a record has 64 steps). changed/before is what the history
// costs a Save that writes a step; same/before, one that does not.
func BenchmarkSave(b *testing.B) {
	for _, where := range []string{"file", "memory"} {
		for _, n := range []int{1, 100} {
			for _, mode := range []string{"before", "same", "changed"} {
				b.Run(fmt.Sprintf("%s/n=%d/%s", where, n, mode), func(b *testing.B) {
					var s *Store
					if where == "file" {
						s = openTemp(b)
					} else {
						s = openAt(b, Memory)
					}
					s.noSteps = mode == "before"
					if _, err := s.Insert(bg, t0, records("s", n), nil); err != nil {
						b.Fatal(err)
					}
					rs, err := s.Claim(bg, "bench", t0, time.Hour, n)
					if err != nil || len(rs) != n {
						b.Fatal(err, len(rs))
					}
					b.ReportAllocs()
					b.ResetTimer()
					for i := 0; i < b.N; i++ {
						now := t0.Add(time.Duration(i+1) * time.Millisecond)
						for j := range rs {
							rs[j].Polls++
							rs[j].NextAt = now.Add(5 * time.Second)
							if mode == "changed" {
								rs[j].Code = fmt.Sprint("C", i%2)
							}
						}
						lost, err := s.Save(bg, "bench", now, time.Hour, rs)
						if err != nil || len(lost) > 0 {
							b.Fatal(err, lost)
						}
					}
					reportRecords(b, n)
				})
			}
		}
	}
}

// BenchmarkBrowse times the queries of ledger.BrowseStore, a dashboard's
// page, on a file of 100,000 records (and 1,000,000 with
// PAYMENTS_LOADTEST=1: seeding them takes minutes), as seedBrowse makes
// them: a twentieth each recorded, in flight, pending, the rest final over
// the last day; a tenth as many events. Count, the Store's count by status
// (every row of payouts_status), is the baseline in the same run. Pages
// are of 50; Finals is over the last hour (about 1/24 of the finals).
func BenchmarkBrowse(b *testing.B) {
	sizes := []int{100000}
	if os.Getenv("PAYMENTS_LOADTEST") == "1" {
		sizes = append(sizes, 1000000)
	}
	for _, n := range sizes {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			s := openTemp(b)
			start := time.Now()
			seedBrowse(b, s, n)
			if _, err := s.w.Exec(`ANALYZE`); err != nil {
				b.Fatal(err)
			}
			b.Logf("seeded %d records in %v", n, time.Since(start).Round(time.Millisecond))
			// A cursor halfway through the unfinished records.
			mid, err := s.Unfinished(bg, time.Time{}, "", n/20*3/2)
			if err != nil || len(mid) == 0 {
				b.Fatal(err, len(mid))
			}
			cursor := mid[len(mid)-1]
			for _, q := range []struct {
				name string
				run  func() (int, error)
			}{
				{"Count", func() (int, error) { m, err := s.Count(bg); return len(m), err }},
				{"Counts", func() (int, error) { st, err := s.Counts(bg); return len(st), err }},
				{"Unfinished", func() (int, error) { rs, err := s.Unfinished(bg, time.Time{}, "", 50); return len(rs), err }},
				{"UnfinishedAfter", func() (int, error) {
					rs, err := s.Unfinished(bg, cursor.CreatedAt, cursor.Ref, 50)
					return len(rs), err
				}},
				{"Finals1h", func() (int, error) { bs, err := s.Finals(bg, t0.Add(-time.Hour)); return len(bs), err }},
				{"RecentEvents", func() (int, error) { es, err := s.RecentEvents(bg, time.Time{}, 50); return len(es), err }},
			} {
				b.Run(q.name, func(b *testing.B) {
					b.ReportAllocs()
					for i := 0; i < b.N; i++ {
						if got, err := q.run(); err != nil || got == 0 {
							b.Fatal(err, got)
						}
					}
				})
			}
		})
	}
}
