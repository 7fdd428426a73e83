package sqlitestore

import (
	"fmt"
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
