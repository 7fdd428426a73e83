package pgstore_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/paysdk/payments/internal/pgtest"
	"github.com/paysdk/payments/ledger"
	"github.com/paysdk/payments/ledger/pgstore"
)

// BenchmarkInsertSingle: one record per Insert (one transaction each), with
// a check, as Submit does.
func BenchmarkInsertSingle(b *testing.B) {
	s := open(b, pgtest.DSN(b), pgstore.Options{})
	rs := records("single", b.N)
	check := func([]ledger.Record) error { return nil }
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := s.Insert(bg, t0, rs[i:i+1], check); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkInsertBatch100: 100 records per Insert.
func BenchmarkInsertBatch100(b *testing.B) {
	s := open(b, pgtest.DSN(b), pgstore.Options{})
	check := func([]ledger.Record) error { return nil }
	batches := make([][]ledger.Record, b.N)
	for i := range batches {
		batches[i] = records(fmt.Sprintf("batch%d", i), 100)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if n, err := s.Insert(bg, t0, batches[i], check); err != nil || n != 100 {
			b.Fatal(n, err)
		}
	}
	b.ReportMetric(float64(100*b.N)/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkClaimSave: one work-loop cycle over 100 records: Claim 100, Save
// them back released with NextAt a second later, so they are due again in
// the next cycles' clock.
func BenchmarkClaimSave(b *testing.B) {
	s := open(b, pgtest.DSN(b), pgstore.Options{})
	const per = 100
	if _, err := s.Insert(bg, t0, records("cs", 10*per), nil); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		now := t0.Add(time.Duration(i+1) * time.Second)
		rs, err := s.Claim(bg, "bench", now, time.Minute, per)
		if err != nil || len(rs) != per {
			b.Fatal(len(rs), err)
		}
		for j := range rs {
			rs[j].Polls++
			rs[j].NextAt = now.Add(10 * time.Second)
		}
		if lost, err := s.Save(bg, "bench", now, 0, rs); err != nil || len(lost) > 0 {
			b.Fatal(lost, err)
		}
	}
	b.ReportMetric(float64(per*b.N)/b.Elapsed().Seconds(), "records/s")
}
