package storetest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/ledger"
)

// testBrowse checks ledger.BrowseStore, for a store that implements it:
// Counts over every record, Unfinished's order and keyset cursor, Finals'
// minutes and since bound, RecentEvents newest first with its before bound,
// the limits, and an empty store.
func testBrowse(t *testing.T, open Opener) {
	browse := func(t *testing.T, s ledger.Store) ledger.BrowseStore {
		t.Helper()
		bs, ok := s.(ledger.BrowseStore)
		if !ok {
			t.Skipf("%T is not a ledger.BrowseStore", s)
		}
		return bs
	}
	with := func(ref, provider string, status ledger.Status) ledger.Record {
		r := newRecord(ref)
		r.Provider, r.Status = provider, status
		if status.Final() {
			r.Reported = true
		}
		return r
	}

	t.Run("Empty", func(t *testing.T) {
		s := browse(t, open(t))
		counts, err := s.Counts(bg)
		require.NoError(t, err, "Counts")
		require.Empty(t, counts, "Counts")
		rs, err := s.Unfinished(bg, time.Time{}, "", 10)
		require.NoError(t, err, "Unfinished")
		require.Empty(t, rs, "Unfinished")
		rs, err = s.Unfinished(bg, t0, "x", 10)
		require.NoError(t, err, "Unfinished after a cursor")
		require.Empty(t, rs, "Unfinished after a cursor")
		bs, err := s.Finals(bg, time.Time{})
		require.NoError(t, err, "Finals")
		require.Empty(t, bs, "Finals")
		es, err := s.RecentEvents(bg, time.Time{}, 10)
		require.NoError(t, err, "RecentEvents")
		require.Empty(t, es, "RecentEvents")
	})

	t.Run("LimitBelowOneRefused", func(t *testing.T) {
		s := browse(t, open(t))
		mustInsert(t, s, t0, newRecord("r"))
		mustAdd(t, s, t0, eventOf("paykeeper", "1", payments.StateSucceeded))
		for _, limit := range []int{0, -1} {
			_, err := s.Unfinished(bg, time.Time{}, "", limit)
			require.ErrorIs(t, err, ledger.ErrStore, "Unfinished with limit %d: a *StoreError", limit)
			_, err = s.RecentEvents(bg, time.Time{}, limit)
			require.ErrorIs(t, err, ledger.ErrStore, "RecentEvents with limit %d: a *StoreError", limit)
		}
	})

	t.Run("CountsEveryRecord", func(t *testing.T) {
		s := browse(t, open(t))
		// Final and reported long ago: out of Stats' queue, in Counts.
		mustInsert(t, s, at(-48*time.Hour),
			with("done-1", "popolni", ledger.Succeeded),
			with("done-2", "qiwi", ledger.Failed))
		mustInsert(t, s, at(-time.Hour),
			with("done-3", "popolni", ledger.Succeeded),
			with("rec-1", "popolni", ledger.Recorded))
		mustInsert(t, s, t0,
			with("rec-2", "popolni", ledger.Recorded),
			with("pend", "popolni", ledger.Pending),
			with("q-fly", "qiwi", ledger.InFlight))
		want := []ledger.Stat{
			{Provider: "popolni", Status: ledger.Pending, Count: 1, Oldest: t0},
			{Provider: "popolni", Status: ledger.Recorded, Count: 2, Oldest: at(-time.Hour)},
			{Provider: "popolni", Status: ledger.Succeeded, Count: 2, Oldest: at(-48 * time.Hour)},
			{Provider: "qiwi", Status: ledger.Failed, Count: 1, Oldest: at(-48 * time.Hour)},
			{Provider: "qiwi", Status: ledger.InFlight, Count: 1, Oldest: t0},
		}
		got, err := s.Counts(bg)
		require.NoError(t, err, "Counts")
		requireStats(t, want, got, "Counts")

		// A send moves rec-1 (the oldest recorded) to in_flight.
		r := mustClaim(t, s, "a", at(time.Hour), time.Minute, 10)
		for i := range r {
			if r[i].Ref == "rec-1" {
				r[i].Status = ledger.InFlight
			}
		}
		mustSave(t, s, "a", at(time.Hour), 0, r...)
		want = []ledger.Stat{
			{Provider: "popolni", Status: ledger.InFlight, Count: 1, Oldest: at(-time.Hour)},
			{Provider: "popolni", Status: ledger.Pending, Count: 1, Oldest: t0},
			{Provider: "popolni", Status: ledger.Recorded, Count: 1, Oldest: t0},
			{Provider: "popolni", Status: ledger.Succeeded, Count: 2, Oldest: at(-48 * time.Hour)},
			{Provider: "qiwi", Status: ledger.Failed, Count: 1, Oldest: at(-48 * time.Hour)},
			{Provider: "qiwi", Status: ledger.InFlight, Count: 1, Oldest: t0},
		}
		got, err = s.Counts(bg)
		require.NoError(t, err, "Counts")
		requireStats(t, want, got, "Counts after a send")
	})

	t.Run("UnfinishedOldestFirstByKey", func(t *testing.T) {
		s := browse(t, open(t))
		unfinished := func(afterCreated time.Time, afterRef string, limit int) []ledger.Record {
			t.Helper()
			rs, err := s.Unfinished(bg, afterCreated, afterRef, limit)
			require.NoError(t, err, "Unfinished after (%v, %q) limit %d", afterCreated, afterRef, limit)
			return rs
		}
		// Final records, older than all: never listed.
		mustInsert(t, s, at(-72*time.Hour), with("a-done", "popolni", ledger.Succeeded), with("z-done", "qiwi", ledger.Failed))
		// Inserted in one batch: the same CreatedAt, ordered by Ref.
		mustInsert(t, s, at(-2*time.Hour), with("m-2", "popolni", ledger.Recorded), with("m-1", "qiwi", ledger.Pending),
			with("m-3", "popolni", ledger.InFlight), with("m-4", "popolni", ledger.Succeeded))
		// Older, though its Ref sorts last: first.
		mustInsert(t, s, at(-3*time.Hour), with("z-old", "popolni", ledger.Recorded))
		// Every field, a FinalAt set (not final: still listed).
		full := fullRecord("b-full")
		mustInsert(t, s, at(-time.Hour), full)
		mustInsert(t, s, t0, with("a-new", "qiwi", ledger.Recorded))

		all := []string{"z-old", "m-1", "m-2", "m-3", "b-full", "a-new"}
		rs := unfinished(time.Time{}, "", 100)
		require.Equal(t, all, refs(rs), "Unfinished: oldest CreatedAt first, then by Ref; no final record")
		requireRecord(t, inserted(full, at(-time.Hour)), rs[4], "Unfinished returns whole records")
		require.Equal(t, all[:1], refs(unfinished(time.Time{}, "", 1)), "limit 1")

		// Pages of 2, each after the last of the one before: every record
		// once, in order, a page boundary inside the batch of one time.
		var paged []string
		var afterCreated time.Time
		afterRef := ""
		for page := 0; ; page++ {
			require.Less(t, page, 10, "pagination does not end: %v", paged)
			rs := unfinished(afterCreated, afterRef, 2)
			if len(rs) == 0 {
				break
			}
			require.LessOrEqual(t, len(rs), 2, "limit 2")
			paged = append(paged, refs(rs)...)
			last := rs[len(rs)-1]
			afterCreated, afterRef = last.CreatedAt, last.Ref
		}
		require.Equal(t, all, paged, "pages of 2")

		// The cursor is (CreatedAt, Ref): after (m-1's time, "m-1") come
		// the rest of its batch, then the later ones; not the refs after
		// "m-1" at any time, nor those at its time at any ref.
		require.Equal(t, []string{"m-2", "m-3", "b-full"}, refs(unfinished(at(-2*time.Hour), "m-1", 3)), "after m-1")
		require.Equal(t, []string{"m-1", "m-2", "m-3", "b-full", "a-new"}, refs(unfinished(at(-2*time.Hour), "a", 100)),
			"after (m-1's time, \"a\")")
		require.Equal(t, []string{"a-new"}, refs(unfinished(at(-time.Hour), "b-full", 100)), "after b-full")
		require.Empty(t, unfinished(t0, "a-new", 100), "after the last")
		require.Empty(t, unfinished(at(time.Hour), "a", 100), "after a later time")

		// A record made final leaves the list.
		r := mustClaim(t, s, "a", at(time.Hour), time.Minute, 100)
		for i := range r {
			if r[i].Ref == "m-2" {
				r[i].Status, r[i].FinalAt = ledger.Failed, at(time.Hour)
			}
		}
		mustSave(t, s, "a", at(time.Hour), 0, r...)
		require.Equal(t, []string{"z-old", "m-1", "m-3", "b-full", "a-new"}, refs(unfinished(time.Time{}, "", 100)),
			"after m-2 failed")
	})

	t.Run("FinalsPerMinuteSince", func(t *testing.T) {
		s := browse(t, open(t))
		finals := func(since time.Time) []ledger.Bucket {
			t.Helper()
			bs, err := s.Finals(bg, since)
			require.NoError(t, err, "Finals since %v", since)
			return bs
		}
		m := t0.Truncate(time.Minute) // t0's minute
		final := func(ref, provider string, status ledger.Status, finalAt time.Time) ledger.Record {
			r := with(ref, provider, status)
			r.FinalAt = finalAt
			return r
		}
		mustInsert(t, s, at(-24*time.Hour),
			final("old", "popolni", ledger.Succeeded, m.Add(-time.Hour)),
			final("s-1", "popolni", ledger.Succeeded, m.Add(time.Second)),
			final("s-2", "popolni", ledger.Succeeded, m.Add(59*time.Second+999999*time.Microsecond)),
			final("f-1", "popolni", ledger.Failed, m.Add(30*time.Second)),
			final("q-1", "qiwi", ledger.Succeeded, m),
			final("s-3", "popolni", ledger.Succeeded, m.Add(time.Minute)),
			final("f-2", "qiwi", ledger.Failed, m.Add(3*time.Minute+time.Microsecond)),
			// Not final: never counted, whatever its FinalAt says.
			final("open", "popolni", ledger.Pending, m.Add(time.Second)),
			with("rec", "popolni", ledger.Recorded))
		since := []ledger.Bucket{
			{Minute: m, Provider: "popolni", Status: ledger.Failed, Count: 1},
			{Minute: m, Provider: "popolni", Status: ledger.Succeeded, Count: 2},
			{Minute: m, Provider: "qiwi", Status: ledger.Succeeded, Count: 1},
			{Minute: m.Add(time.Minute), Provider: "popolni", Status: ledger.Succeeded, Count: 1},
			{Minute: m.Add(3 * time.Minute), Provider: "qiwi", Status: ledger.Failed, Count: 1},
		}
		requireBuckets(t, since, finals(m), "since m (q-1 final at m exactly)")
		requireBuckets(t, []ledger.Bucket{since[0], since[1], since[3], since[4]}, finals(m.Add(time.Microsecond)), "since m+1µs: q-1 out; f-1, s-1, s-2 still in m's minute")
		requireBuckets(t, since[4:], finals(m.Add(3*time.Minute+time.Microsecond)), "since f-2 exactly")
		require.Empty(t, finals(m.Add(3*time.Minute+2*time.Microsecond)), "since after the last")
		all := append([]ledger.Bucket{{Minute: m.Add(-time.Hour), Provider: "popolni", Status: ledger.Succeeded, Count: 1}}, since...)
		requireBuckets(t, all, finals(time.Time{}), "since the zero time: every final record")

		// A record the ledger makes final (Save) counts at its FinalAt.
		r := mustClaim(t, s, "a", at(time.Hour), time.Minute, 10)
		for i := range r {
			if r[i].Ref == "rec" {
				r[i].Status, r[i].FinalAt = ledger.Failed, m.Add(3*time.Minute+59*time.Second)
			}
		}
		mustSave(t, s, "a", at(time.Hour), 0, r...)
		since = append(since[:4:4], ledger.Bucket{Minute: m.Add(3 * time.Minute), Provider: "popolni", Status: ledger.Failed, Count: 1}, since[4])
		requireBuckets(t, since, finals(m), "after rec failed")
	})

	t.Run("RecentEventsNewestFirst", func(t *testing.T) {
		s := browse(t, open(t))
		recent := func(before time.Time, limit int) []ledger.Event {
			t.Helper()
			es, err := s.RecentEvents(bg, before, limit)
			require.NoError(t, err, "RecentEvents before %v limit %d", before, limit)
			return es
		}
		e1 := mustAdd(t, s, at(time.Second), eventOf("paykeeper", "1", payments.StateSucceeded))
		e2 := mustAdd(t, s, at(2*time.Second), eventOf("paykeeper", "2", payments.StateSucceeded))
		// Three in one microsecond: the reverse of Events' order.
		e3a := mustAdd(t, s, at(3*time.Second), eventOf("alfa", "3", payments.StateSucceeded))
		e3b := mustAdd(t, s, at(3*time.Second), eventOf("paykeeper", "3", payments.StatePending))
		e3c := mustAdd(t, s, at(3*time.Second), eventOf("paykeeper", "3", payments.StateSucceeded))
		e4 := mustAdd(t, s, at(4*time.Second), eventOf("paykeeper", "4", payments.StateFailed))
		require.NoError(t, s.HandleEvent(bg, at(5*time.Second), e2))
		e2.HandledAt = at(5 * time.Second)

		newest := []ledger.Event{e4, e3c, e3b, e3a, e2, e1}
		requireEvents(t, newest, recent(time.Time{}, 100), "every event, newest first")
		requireEvents(t, newest[:2], recent(time.Time{}, 2), "limit 2")
		requireEvents(t, newest[1:], recent(at(4*time.Second), 100), "before e4's time: strictly before")
		requireEvents(t, newest[1:3], recent(at(4*time.Second), 2), "before e4's time, limit 2")
		requireEvents(t, newest[4:], recent(at(3*time.Second), 100), "before the three's time")
		requireEvents(t, newest[4:], recent(at(2*time.Second+time.Microsecond), 100), "before e2's time + 1µs")
		require.Empty(t, recent(at(time.Second), 100), "before the first")
	})
}

// requireBuckets requires got to be want, in order, minutes in UTC.
func requireBuckets(t *testing.T, want, got []ledger.Bucket, why string) {
	t.Helper()
	require.Len(t, got, len(want), "Finals %s: %v", why, got)
	for i := range want {
		w, g := want[i], got[i]
		require.True(t, w.Minute.Equal(g.Minute), "Finals %s: line %d: minute %v, want %v", why, i, g.Minute, w.Minute)
		require.Equal(t, time.UTC, g.Minute.Location(), "Finals %s: line %d: minute in UTC", why, i)
		require.Equal(t, w.Provider, g.Provider, "Finals %s: line %d: %v", why, i, got)
		require.Equal(t, w.Status, g.Status, "Finals %s: line %d: %v", why, i, got)
		require.Equal(t, w.Count, g.Count, "Finals %s: line %d (%v %s %s)", why, i, w.Minute, w.Provider, w.Status)
	}
}
