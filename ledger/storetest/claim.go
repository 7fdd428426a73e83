package storetest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/paysdk/payments/ledger"
)

func testClaim(t *testing.T, open Opener) {
	t.Run("OnlyDue", func(t *testing.T) {
		s := open(t)
		mustInsert(t, s, at(2*time.Second), newRecord("later"))
		mustInsert(t, s, at(time.Second), newRecord("soon"))
		requireClaimed(t, s, "a", t0, time.Minute, 10)
		requireClaimed(t, s, "a", at(time.Second-time.Microsecond), time.Minute, 10)
		requireClaimed(t, s, "a", at(time.Second), time.Minute, 10, "soon") // NextAt == now is due
		requireClaimed(t, s, "a", at(3*time.Second), time.Minute, 10, "later")
	})

	t.Run("EarliestNextAtFirst", func(t *testing.T) {
		s := open(t)
		// Refs in the opposite order of NextAt, so ref order is not enough.
		for i, ref := range []string{"e", "d", "c", "b", "a"} {
			mustInsert(t, s, at(time.Duration(i)*time.Second), newRecord(ref))
		}
		requireClaimed(t, s, "a", at(time.Minute), time.Minute, 10, "e", "d", "c", "b", "a")
	})

	t.Run("Limit", func(t *testing.T) {
		s := open(t)
		var all []string
		for i := 0; i < 10; i++ {
			ref := fmt.Sprintf("r%02d", 9-i)
			all = append(all, ref)
			mustInsert(t, s, at(time.Duration(i)*time.Millisecond), newRecord(ref))
		}
		now := at(time.Minute)
		requireClaimed(t, s, "a", now, time.Minute, 0) // up to 0: none
		requireClaimed(t, s, "a", now, time.Minute, 3, all[0:3]...)
		requireClaimed(t, s, "b", now, time.Minute, 3, all[3:6]...)
		requireClaimed(t, s, "a", now, time.Minute, 1, all[6:7]...)
		requireClaimed(t, s, "c", now, time.Minute, 100, all[7:]...)
		requireClaimed(t, s, "c", now, time.Minute, 100)
	})

	t.Run("OnlyOpen", func(t *testing.T) {
		s := open(t)
		var rs []ledger.Record
		var want []string
		for _, st := range ledger.Statuses {
			for _, reported := range []bool{false, true} {
				r := newRecord(fmt.Sprintf("%s-%v", st, reported))
				r.Status, r.Reported = st, reported
				rs = append(rs, r)
				if !st.Final() || !reported {
					want = append(want, r.Ref)
				}
			}
		}
		mustInsert(t, s, t0, rs...)
		got := mustClaim(t, s, "a", at(time.Second), time.Minute, 100)
		require.ElementsMatch(t, want, refs(got), "the work queue: not final, or final and not Reported")
	})

	t.Run("ClaimedRecordsAreStored", func(t *testing.T) {
		s := open(t)
		r := fullRecord("r")
		r.Status, r.Reported = ledger.InFlight, false
		mustInsert(t, s, t0, r)
		got := mustClaim(t, s, "a", t0, time.Minute, 1)
		require.Len(t, got, 1)
		requireRecord(t, inserted(r, t0), got[0], "Claim")
		requireRecord(t, mustGet(t, s, "r"), got[0], "Claim and Get agree")
	})

	t.Run("LeasedNotClaimedAgain", func(t *testing.T) {
		s := open(t)
		mustInsert(t, s, t0, newRecord("r"))
		requireClaimed(t, s, "a", t0, 10*time.Second, 10, "r")
		requireClaimed(t, s, "b", t0, 10*time.Second, 10)
		requireClaimed(t, s, "b", at(5*time.Second), 10*time.Second, 10)
		// Not even to its own owner: the lease lasts whoever asks.
		requireClaimed(t, s, "a", at(5*time.Second), 10*time.Second, 10)
		requireClaimed(t, s, "b", at(10*time.Second-time.Microsecond), 10*time.Second, 10)
	})

	t.Run("LeaseEndingAtNowIsClaimable", func(t *testing.T) {
		s := open(t)
		mustInsert(t, s, t0, newRecord("r"))
		requireClaimed(t, s, "a", t0, 10*time.Second, 10, "r")
		requireClaimed(t, s, "b", at(10*time.Second), 10*time.Second, 10, "r")
		// Now b holds it: a cannot claim it back, nor save over it.
		requireClaimed(t, s, "a", at(15*time.Second), 10*time.Second, 10)
		lost, err := s.Save(bg, "a", at(16*time.Second), 0, []ledger.Record{newRecord("r")})
		require.NoError(t, err)
		require.Equal(t, []string{"r"}, lost)
	})

	t.Run("ExpiredLeaseClaimableByAnother", func(t *testing.T) {
		s := open(t)
		mustInsert(t, s, t0, newRecord("r"))
		requireClaimed(t, s, "a", t0, time.Second, 10, "r")
		requireClaimed(t, s, "b", at(time.Hour), time.Second, 10, "r")
	})

	t.Run("ConcurrentDifferentOwners", func(t *testing.T) { claimConcurrently(t, open, false) })
	t.Run("ConcurrentSameOwner", func(t *testing.T) { claimConcurrently(t, open, true) })
	t.Run("ConcurrentWorkQueue", func(t *testing.T) { workConcurrently(t, open) })
}

// claimConcurrently has 8 goroutines claim 500 due records in small bites
// until none is left: every record must be claimed exactly once.
func claimConcurrently(t *testing.T, open Opener, sameOwner bool) {
	s := open(t)
	const records, workers = 500, 8
	mustInsert(t, s, t0, seq("c", records)...)
	now := at(time.Second)

	var (
		mu      sync.Mutex
		claimed = map[string]string{}
		errs    []error
		wg      sync.WaitGroup
	)
	for w := 0; w < workers; w++ {
		owner := fmt.Sprintf("worker-%d", w)
		if sameOwner {
			owner = "the-one-owner"
		}
		limit := 3 + w%5
		wg.Add(1)
		go func() {
			defer wg.Done()
			// A store that hands records out twice never runs dry: the
			// loop ends at the first double claim, or after as many
			// claims as there are records.
			for i := 0; i < records; i++ {
				rs, err := s.Claim(bg, owner, now, time.Hour, limit)
				mu.Lock()
				if err != nil {
					errs = append(errs, err)
				}
				if len(rs) > limit {
					errs = append(errs, fmt.Errorf("claim of %d returned %d", limit, len(rs)))
				}
				for _, r := range rs {
					if prev, dup := claimed[r.Ref]; dup {
						errs = append(errs, fmt.Errorf("%s claimed by %s while leased to %s", r.Ref, owner, prev))
					}
					claimed[r.Ref] = owner
				}
				stop := len(errs) > 0
				mu.Unlock()
				if stop || len(rs) == 0 {
					return
				}
			}
		}()
	}
	wg.Wait()
	require.Empty(t, errs, joinErrs(errs))
	require.Len(t, claimed, records, "every due record is claimed")
}

// workConcurrently runs 8 workers that claim, finish and save released, as
// the ledger's loop does: every record is worked exactly once.
func workConcurrently(t *testing.T, open Opener) {
	s := open(t)
	const records, workers = 300, 8
	mustInsert(t, s, t0, seq("w", records)...)
	now := at(time.Second)

	var (
		mu     sync.Mutex
		worked = map[string]int{}
		errs   []error
		wg     sync.WaitGroup
	)
	fail := func(err error) {
		mu.Lock()
		errs = append(errs, err)
		mu.Unlock()
	}
	for w := 0; w < workers; w++ {
		owner := fmt.Sprintf("worker-%d", w)
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Bounded, as in claimConcurrently: a broken store fails
			// rather than loops.
			for i := 0; i < records; i++ {
				mu.Lock()
				stop := len(errs) > 0 || len(worked) > records
				mu.Unlock()
				if stop {
					return
				}
				rs, err := s.Claim(bg, owner, now, time.Minute, 4)
				if err != nil {
					fail(err)
					return
				}
				if len(rs) == 0 {
					return
				}
				for i := range rs {
					rs[i].Status, rs[i].Reported, rs[i].FinalAt = ledger.Succeeded, true, now
					rs[i].Sends++
				}
				lost, err := s.Save(bg, owner, now, 0, rs)
				if err != nil {
					fail(err)
					return
				}
				if len(lost) > 0 {
					fail(fmt.Errorf("%s lost %v", owner, lost))
				}
				mu.Lock()
				for _, r := range rs {
					worked[r.Ref]++
					if worked[r.Ref] > 1 {
						errs = append(errs, fmt.Errorf("%s worked again by %s", r.Ref, owner))
					}
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	require.Empty(t, errs, joinErrs(errs))
	require.Len(t, worked, records)
	for ref, n := range worked {
		require.Equal(t, 1, n, "%s worked %d times", ref, n)
	}
	counts, err := s.Count(bg)
	require.NoError(t, err)
	require.Equal(t, map[ledger.Status]int{ledger.Succeeded: records}, counts)
	for _, r := range []string{"w-00000", "w-00299"} {
		got := mustGet(t, s, r)
		require.Equal(t, 1, got.Sends)
		require.True(t, got.Reported)
	}
	requireClaimed(t, s, "late", at(time.Hour), time.Minute, 10)
}
