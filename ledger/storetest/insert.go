package storetest

import (
	"errors"
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/ledger"
	"github.com/paysdk/payments/payout"
)

func testInsert(t *testing.T, open Opener) {
	t.Run("SetsCreatedUpdatedNextToNow", func(t *testing.T) {
		s := open(t)
		r := fullRecord("r1")
		n, err := s.Insert(bg, t0, []ledger.Record{r}, nil)
		require.NoError(t, err)
		require.Equal(t, 1, n)
		got := mustGet(t, s, "r1")
		requireRecord(t, inserted(r, t0), got)
		// The given CreatedAt, UpdatedAt and NextAt are not what is stored.
		require.False(t, got.CreatedAt.Equal(us(r.CreatedAt)))
	})

	t.Run("RoundTripsEveryField", func(t *testing.T) {
		s := open(t)
		now := t0.Add(789 * time.Nanosecond) // stored as t0
		var rs []ledger.Record
		add := func(r ledger.Record) { rs = append(rs, r) }
		add(fullRecord("full"))
		add(newRecord("minimal")) // zero times, empty strings, zero counters
		for i, st := range ledger.Statuses {
			r := fullRecord(fmt.Sprintf("status-%d", i))
			r.Status, r.Reported = st, i%2 == 0
			add(r)
		}
		for i, m := range []payments.Money{
			payments.MustMoney("0.01", "RUB"),
			payments.MustMoney("12.3", "RUB"), // one digit after the point stays one
			payments.MustMoney("100", "RUB"),
			payments.MustMoney("100.00", "RUB"),
			payments.MustMoney("99999999999999.99", "USD"),
			payments.MustMoney("5000", "JPY"),
			payments.MustMoney("0.10", "EUR"),
		} {
			r := newRecord(fmt.Sprintf("money-%d", i))
			r.Amount = m
			add(r)
		}
		for i, d := range []payout.Destination{
			{Kind: payout.Mobile, Account: "79161234567"},
			{Kind: payout.Wallet, Account: "79031234567"},
			{Kind: payout.Card, Account: "4111111111111111"},
			{Kind: payout.SBP, Account: "79161234567", Bank: "100000000111"},
		} {
			r := newRecord(fmt.Sprintf("dest-%d", i))
			r.To = d
			add(r)
		}
		odd := fullRecord("odd strings ' \" ; -- %_ \\ é")
		odd.Code, odd.Message, odd.LastError = `'); DROP TABLE payouts; --`, "tab\tand\r\nnewline", "日本語"
		add(odd)
		big := fullRecord("big-counters")
		big.Sends, big.Polls = 1<<31-1, 1<<30
		add(big)

		n, err := s.Insert(bg, now, rs, nil)
		require.NoError(t, err)
		require.Equal(t, len(rs), n)
		want := make([]ledger.Record, len(rs))
		for i, r := range rs {
			want[i] = inserted(r, now)
			requireRecord(t, want[i], mustGet(t, s, r.Ref), "Get")
		}
		sort.Slice(want, func(i, j int) bool { return want[i].Ref < want[j].Ref })
		all, err := s.List(bg, ledger.Filter{})
		require.NoError(t, err)
		requireRecords(t, want, all, "List")
	})

	t.Run("ReturnsCountAndKeepsExisting", func(t *testing.T) {
		s := open(t)
		a, b := fullRecord("a"), fullRecord("b")
		mustInsert(t, s, t0, a, b)

		a2, c := newRecord("a"), newRecord("c")
		a2.Amount, a2.Provider, a2.Status = payments.MustMoney("99.99", "RUB"), "other", ledger.Failed
		b2 := newRecord("b")
		calls := 0
		var seen []ledger.Record
		n, err := s.Insert(bg, at(time.Minute), []ledger.Record{a2, c, b2}, func(existing []ledger.Record) error {
			calls++
			seen = append([]ledger.Record(nil), existing...)
			return nil
		})
		require.NoError(t, err)
		require.Equal(t, 1, n, "only c is new")
		require.Equal(t, 1, calls, "check is called once per Insert")
		sort.Slice(seen, func(i, j int) bool { return seen[i].Ref < seen[j].Ref })
		requireRecords(t, []ledger.Record{inserted(a, t0), inserted(b, t0)}, seen, "check's existing records are the stored ones")

		unchanged(t, s, inserted(a, t0), "an existing ref is not overwritten")
		unchanged(t, s, inserted(b, t0), "an existing ref is not overwritten")
		unchanged(t, s, inserted(c, at(time.Minute)), "a new ref is inserted")
	})

	t.Run("CheckErrorRollsBackWholeBatchUnwrapped", func(t *testing.T) {
		s := open(t)
		a := newRecord("a")
		mustInsert(t, s, t0, a)

		sentinel := errors.New("conflict on a")
		conflict := fmt.Errorf("%w: a", ledger.ErrConflict)
		typed := &checkError{ref: "a"}
		for _, want := range []error{sentinel, conflict, typed} {
			a2 := newRecord("a")
			a2.Amount = payments.MustMoney("1.00", "RUB")
			batch := []ledger.Record{newRecord("b"), a2, newRecord("c")}
			n, err := s.Insert(bg, at(time.Minute), batch, func([]ledger.Record) error { return want })
			require.Error(t, err)
			require.True(t, err == want, "check's error is returned as it is: got %#v (%v)", err, err)
			require.ErrorIs(t, err, want)
			require.False(t, errors.Is(err, ledger.ErrStore), "check's error is not wrapped in a StoreError")
			require.Zero(t, n)
			for _, ref := range []string{"b", "c"} {
				_, err := s.Get(bg, ref)
				require.ErrorIs(t, err, payments.ErrNotFound, "%s must not be inserted: check failed", ref)
			}
			unchanged(t, s, inserted(a, t0), "check failed")
		}
		var ce *checkError
		_, err := s.Insert(bg, t0, []ledger.Record{newRecord("a")}, func([]ledger.Record) error { return typed })
		require.ErrorAs(t, err, &ce)
		require.Same(t, typed, ce)

		counts, err := s.Count(bg)
		require.NoError(t, err)
		require.Equal(t, map[ledger.Status]int{ledger.Recorded: 1}, counts)
	})

	t.Run("NilCheck", func(t *testing.T) {
		s := open(t)
		mustInsert(t, s, t0, newRecord("a"))
		n, err := s.Insert(bg, at(time.Second), []ledger.Record{newRecord("a"), newRecord("b")}, nil)
		require.NoError(t, err)
		require.Equal(t, 1, n)
		unchanged(t, s, inserted(newRecord("b"), at(time.Second)), "nil check")
	})

	t.Run("Empty", func(t *testing.T) {
		s := open(t)
		n, err := s.Insert(bg, t0, nil, nil)
		require.NoError(t, err)
		require.Zero(t, n)
	})

	t.Run("DuplicateRefInBatchRefused", func(t *testing.T) {
		// The contract rules a repeated ref out. Safest reading: refuse the
		// batch, since inserting either copy hides which details were meant.
		s := open(t)
		a2 := newRecord("a")
		a2.Amount = payments.MustMoney("999.00", "RUB")
		n, err := s.Insert(bg, t0, []ledger.Record{newRecord("a"), newRecord("b"), a2}, nil)
		require.Error(t, err)
		require.ErrorIs(t, err, ledger.ErrStore)
		require.Zero(t, n)
		counts, err := s.Count(bg)
		require.NoError(t, err)
		require.Empty(t, counts, "nothing of a refused batch")
	})

	t.Run("NoLease", func(t *testing.T) {
		s := open(t)
		mustInsert(t, s, t0, newRecord("a"))
		requireClaimed(t, s, "someone", t0, time.Minute, 10, "a")
	})

	t.Run("Batch5000", func(t *testing.T) {
		s := open(t)
		rs := seq("batch", 5000)
		mustInsert(t, s, t0, rs...)
		counts, err := s.Count(bg)
		require.NoError(t, err)
		require.Equal(t, map[ledger.Status]int{ledger.Recorded: 5000}, counts)

		// Again with one more: check sees all 5,000, one is inserted.
		more := append(append([]ledger.Record(nil), rs...), newRecord("batch-05000"))
		seen := 0
		n, err := s.Insert(bg, at(time.Second), more, func(existing []ledger.Record) error {
			seen = len(existing)
			return nil
		})
		require.NoError(t, err)
		require.Equal(t, 1, n)
		require.Equal(t, 5000, seen)

		// And a failing check rolls back a large batch of new ones too.
		fresh := seq("fresh", 1500)
		fresh = append(fresh, newRecord("batch-00000"))
		boom := errors.New("boom")
		_, err = s.Insert(bg, at(time.Second), fresh, func([]ledger.Record) error { return boom })
		require.True(t, err == boom, "got %v", err)

		counts, err = s.Count(bg)
		require.NoError(t, err)
		require.Equal(t, map[ledger.Status]int{ledger.Recorded: 5001}, counts, "nothing of the failed batch")
		last, err := s.List(bg, ledger.Filter{After: "batch-04997"})
		require.NoError(t, err)
		require.Equal(t, []string{"batch-04998", "batch-04999", "batch-05000"}, refs(last))
		unchanged(t, s, inserted(newRecord("batch-00000"), t0), "the first of 5,000")
		unchanged(t, s, inserted(newRecord("batch-04999"), t0), "the last of 5,000")
		unchanged(t, s, inserted(newRecord("batch-05000"), at(time.Second)), "the one added later")
	})
}

type checkError struct{ ref string }

func (e *checkError) Error() string { return "check refused " + e.ref }
