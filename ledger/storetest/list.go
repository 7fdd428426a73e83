package storetest

import (
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/ledger"
)

func testGet(t *testing.T, open Opener) {
	t.Run("NotFound", func(t *testing.T) {
		s := open(t)
		mustInsert(t, s, t0, newRecord("a"))
		for _, ref := range []string{"b", "A", "a ", ""} {
			_, err := s.Get(bg, ref)
			require.ErrorIs(t, err, payments.ErrNotFound, "Get(%q)", ref)
		}
	})

	t.Run("Found", func(t *testing.T) {
		s := open(t)
		r := fullRecord("a")
		mustInsert(t, s, t0, r)
		unchanged(t, s, inserted(r, t0), "Get")
	})
}

// listFixture inserts records of every status and reported flag under two
// providers, refs "r00".."rNN" inserted in shuffled order, and returns them
// sorted by ref as stored.
func listFixture(t *testing.T, s ledger.Store) []ledger.Record {
	t.Helper()
	var rs []ledger.Record
	i := 0
	for _, prov := range []string{"popolni", "qiwi"} {
		for _, st := range ledger.Statuses {
			for _, reported := range []bool{false, true} {
				r := fullRecord(fmt.Sprintf("r%02d", (i*7)%20))
				r.Provider, r.Status, r.Reported = prov, st, reported
				rs = append(rs, r)
				i++
			}
		}
	}
	mustInsert(t, s, t0, rs...)
	want := make([]ledger.Record, len(rs))
	for i, r := range rs {
		want[i] = inserted(r, t0)
	}
	sort.Slice(want, func(i, j int) bool { return want[i].Ref < want[j].Ref })
	return want
}

// selects is the contract's Filter, the model the stores are checked against.
func selects(f ledger.Filter, r ledger.Record) bool {
	if len(f.Status) > 0 {
		ok := false
		for _, st := range f.Status {
			ok = ok || r.Status == st
		}
		if !ok {
			return false
		}
	}
	if f.Provider != "" && r.Provider != f.Provider {
		return false
	}
	if len(f.Refs) > 0 {
		ok := false
		for _, ref := range f.Refs {
			ok = ok || r.Ref == ref
		}
		if !ok {
			return false
		}
	}
	if f.Open && r.Status.Final() && r.Reported {
		return false
	}
	if f.After != "" && r.Ref <= f.After {
		return false
	}
	return true
}

func model(f ledger.Filter, all []ledger.Record) []string {
	out := []string{}
	for _, r := range all {
		if f.Limit > 0 && len(out) == f.Limit {
			break
		}
		if selects(f, r) {
			out = append(out, r.Ref)
		}
	}
	return out
}

func testList(t *testing.T, open Opener) {
	t.Run("Filters", func(t *testing.T) {
		s := open(t)
		all := listFixture(t, s)
		got, err := s.List(bg, ledger.Filter{})
		require.NoError(t, err)
		requireRecords(t, all, got, "List of everything")

		filters := []ledger.Filter{
			{Status: []ledger.Status{}},
			{Status: []ledger.Status{ledger.Recorded, ledger.Failed}},
			{Status: ledger.Statuses},
			{Status: []ledger.Status{"no-such-status"}},
			{Provider: "qiwi"},
			{Provider: "popolni"},
			{Provider: "nobody"},
			{Refs: []string{"r13", "r02", "nope", "r02", "r19"}},
			{Refs: []string{"nope"}},
			{Open: true},
			{After: "r05"},
			{After: "r05x"},
			{After: "r19"},
			{After: " "},
			{Limit: 3},
			{Limit: 100},
			{Status: []ledger.Status{ledger.Pending, ledger.Succeeded}, Provider: "qiwi"},
			{Status: []ledger.Status{ledger.Succeeded, ledger.Failed}, Open: true},
			{Open: true, Provider: "popolni", After: "r03", Limit: 2},
			{Refs: []string{"r01", "r03", "r05", "r07", "r09", "r11"}, Status: []ledger.Status{ledger.Recorded, ledger.Pending, ledger.Failed}, Limit: 2},
			{Refs: []string{"r01", "r03", "r05", "r07", "r09", "r11"}, After: "r04", Open: true},
			{Status: []ledger.Status{ledger.InFlight}, Provider: "qiwi", Refs: []string{"r00", "r01", "r02", "r03", "r04", "r05", "r06", "r07", "r08", "r09", "r10", "r11", "r12", "r13", "r14", "r15", "r16", "r17", "r18", "r19"}, Open: true, After: "r00", Limit: 1},
		}
		for _, f := range filters {
			want := model(f, all)
			got, err := s.List(bg, f)
			require.NoError(t, err, "List(%+v)", f)
			require.Equal(t, want, refs(got), "List(%+v)", f)
			require.NotEmpty(t, all)
		}
		// The filters above must not all be vacuous.
		require.NotEmpty(t, model(filters[1], all))
		require.NotEmpty(t, model(filters[18], all))
	})

	t.Run("Pages", func(t *testing.T) {
		s := open(t)
		all := listFixture(t, s)
		for _, f := range []ledger.Filter{{Limit: 3}, {Limit: 1, Open: true}, {Limit: 4, Provider: "qiwi"}} {
			var got []string
			for pages := 0; ; pages++ {
				require.Less(t, pages, 100, "the cursor does not advance")
				page, err := s.List(bg, f)
				require.NoError(t, err)
				require.LessOrEqual(t, len(page), f.Limit)
				if len(page) == 0 {
					break
				}
				got = append(got, refs(page)...)
				f.After = page[len(page)-1].Ref
			}
			f.After, f.Limit = "", 0
			require.Equal(t, model(f, all), got, "paging %+v", f)
		}
	})

	t.Run("ManyRefs", func(t *testing.T) {
		s := open(t)
		rs := seq("m", 1200)
		for i := range rs {
			if i%3 == 0 {
				rs[i].Status = ledger.Pending
			}
		}
		mustInsert(t, s, t0, rs...)
		var ask []string
		for i := len(rs) - 1; i >= 0; i -= 2 { // 600 refs, in reverse order
			ask = append(ask, rs[i].Ref)
		}
		ask = append(ask, "m-99999", "absent")
		all := make([]ledger.Record, len(rs))
		for i, r := range rs {
			all[i] = inserted(r, t0)
		}
		for _, f := range []ledger.Filter{
			{Refs: ask},
			{Refs: ask, Limit: 450},
			{Refs: ask, After: "m-00401", Limit: 250},
			{Refs: ask, Status: []ledger.Status{ledger.Pending}},
		} {
			got, err := s.List(bg, f)
			require.NoError(t, err)
			want := model(f, all)
			require.NotEmpty(t, want)
			require.Equal(t, want, refs(got), "List with %d refs, After %q, Limit %d", len(f.Refs), f.After, f.Limit)
		}
	})

	t.Run("Empty", func(t *testing.T) {
		s := open(t)
		got, err := s.List(bg, ledger.Filter{})
		require.NoError(t, err)
		require.Empty(t, got)
	})
}

func testCount(t *testing.T, open Opener) {
	t.Run("Empty", func(t *testing.T) {
		s := open(t)
		counts, err := s.Count(bg)
		require.NoError(t, err)
		require.Empty(t, counts)
	})

	t.Run("PerStatus", func(t *testing.T) {
		s := open(t)
		var rs []ledger.Record
		for i := 0; i < 7; i++ {
			r := newRecord(fmt.Sprintf("p%d", i))
			r.Status = ledger.Pending
			rs = append(rs, r)
		}
		for i := 0; i < 2; i++ {
			r := newRecord(fmt.Sprintf("f%d", i))
			r.Status, r.Reported = ledger.Failed, i == 0
			rs = append(rs, r)
		}
		mustInsert(t, s, at(time.Second), rs...)
		mustInsert(t, s, t0, newRecord("rec"))
		counts, err := s.Count(bg)
		require.NoError(t, err)
		require.Equal(t, map[ledger.Status]int{ledger.Pending: 7, ledger.Failed: 2, ledger.Recorded: 1}, counts)

		// Save moves a record between statuses.
		r := requireClaimed(t, s, "a", t0, time.Minute, 1, "rec")[0]
		r.Status = ledger.InFlight
		mustSave(t, s, "a", t0, 0, r)
		counts, err = s.Count(bg)
		require.NoError(t, err)
		require.Equal(t, map[ledger.Status]int{ledger.Pending: 7, ledger.Failed: 2, ledger.InFlight: 1}, counts)
	})
}
