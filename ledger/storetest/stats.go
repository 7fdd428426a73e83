package storetest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/paysdk/payments/ledger"
)

// testStats checks ledger.StatsStore, for a store that implements it: the
// work queue (not final, or final and not Reported) by provider and
// status, with the oldest CreatedAt of each, ordered by provider, then
// status; nothing of the records that are done.
func testStats(t *testing.T, open Opener) {
	stats := func(t *testing.T, s ledger.Store) []ledger.Stat {
		t.Helper()
		ss, ok := s.(ledger.StatsStore)
		if !ok {
			t.Skipf("%T is not a ledger.StatsStore: the ledger reports no gauges from it", s)
		}
		st, err := ss.Stats(bg)
		require.NoError(t, err, "Stats")
		return st
	}
	with := func(ref, provider string, status ledger.Status, reported bool) ledger.Record {
		r := newRecord(ref)
		r.Provider, r.Status, r.Reported = provider, status, reported
		return r
	}

	t.Run("Empty", func(t *testing.T) {
		require.Empty(t, stats(t, open(t)))
	})

	t.Run("QueueByProviderAndStatus", func(t *testing.T) {
		s := open(t)
		stats(t, s) // skips a store without Stats
		// Done long ago: out of the queue, whatever their age.
		mustInsert(t, s, at(-48*time.Hour),
			with("done-1", "popolni", ledger.Succeeded, true),
			with("done-2", "qiwi", ledger.Failed, true))
		// Final, not yet reported: still in the queue.
		mustInsert(t, s, at(-2*time.Hour), with("unreported", "qiwi", ledger.Failed, false))
		mustInsert(t, s, t0,
			with("rec-1", "popolni", ledger.Recorded, false),
			with("rec-2", "popolni", ledger.Recorded, false),
			// Not final: in the queue whatever Reported says.
			with("pend", "popolni", ledger.Pending, true))
		mustInsert(t, s, at(time.Minute),
			with("rec-3", "popolni", ledger.Recorded, false),
			with("fly", "popolni", ledger.InFlight, false),
			with("q-rec", "qiwi", ledger.Recorded, false))

		want := []ledger.Stat{
			{Provider: "popolni", Status: ledger.InFlight, Count: 1, Oldest: at(time.Minute)},
			{Provider: "popolni", Status: ledger.Pending, Count: 1, Oldest: t0},
			{Provider: "popolni", Status: ledger.Recorded, Count: 3, Oldest: t0},
			{Provider: "qiwi", Status: ledger.Failed, Count: 1, Oldest: at(-2 * time.Hour)},
			{Provider: "qiwi", Status: ledger.Recorded, Count: 1, Oldest: at(time.Minute)},
		}
		requireStats(t, want, stats(t, s), "after the inserts")

		// Reporting the final record takes it out of the queue; a send
		// moves a record from recorded to in_flight.
		r := mustClaim(t, s, "a", at(time.Hour), time.Minute, 10)
		require.ElementsMatch(t, []string{"unreported", "pend", "rec-1", "rec-2", "fly", "q-rec", "rec-3"}, refs(r), "Claim")
		for i := range r {
			switch r[i].Ref {
			case "unreported":
				r[i].Reported = true
			case "rec-1":
				r[i].Status = ledger.InFlight
			}
		}
		mustSave(t, s, "a", at(time.Hour), 0, r...)
		want = []ledger.Stat{
			{Provider: "popolni", Status: ledger.InFlight, Count: 2, Oldest: t0},
			{Provider: "popolni", Status: ledger.Pending, Count: 1, Oldest: t0},
			{Provider: "popolni", Status: ledger.Recorded, Count: 2, Oldest: t0},
			{Provider: "qiwi", Status: ledger.Recorded, Count: 1, Oldest: at(time.Minute)},
		}
		requireStats(t, want, stats(t, s), "after a report and a send")
	})
}

// requireStats requires got to be want, in order, times to the microsecond.
func requireStats(t *testing.T, want, got []ledger.Stat, why string) {
	t.Helper()
	require.Len(t, got, len(want), "Stats %s: %v", why, got)
	for i := range want {
		w, g := want[i], got[i]
		require.Equal(t, w.Provider, g.Provider, "Stats %s: line %d: %v", why, i, got)
		require.Equal(t, w.Status, g.Status, "Stats %s: line %d: %v", why, i, got)
		require.Equal(t, w.Count, g.Count, "Stats %s: line %d (%s %s)", why, i, w.Provider, w.Status)
		requireTime(t, w.Oldest, g.Oldest, "Stats oldest", "%s: %s %s", why, w.Provider, w.Status)
	}
}
