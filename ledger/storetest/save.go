package storetest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/ledger"
	"github.com/paysdk/payments/payout"
)

func testSave(t *testing.T, open Opener) {
	t.Run("WritesLedgerFieldsOnly", func(t *testing.T) {
		s := open(t)
		orig := newRecord("r")
		mustInsert(t, s, t0, orig)
		r := requireClaimed(t, s, "a", t0, time.Minute, 1, "r")[0]

		t1 := at(time.Second + 777*time.Nanosecond)
		r.Provider, r.Status, r.ProviderID = "qiwi", ledger.Pending, "prov-42"
		r.Code, r.Message, r.LastError = "ACCEPTED", "принят", "EOF"
		r.Sends, r.Polls = 1, 2
		r.SentAt = at(100 * time.Millisecond)
		r.AcceptedAt = at(900*time.Millisecond + 1500*time.Nanosecond)
		r.FinalAt = at(time.Second)
		r.NextAt = at(5 * time.Minute)
		r.Reported = true
		// What Save must not write:
		r.Amount = payments.MustMoney("1.00", "USD")
		r.To = payout.Destination{Kind: payout.Card, Account: "4111111111111111"}
		r.CreatedAt, r.UpdatedAt = at(-24*time.Hour), at(-48*time.Hour)
		mustSave(t, s, "a", t1, 0, r)

		want := r
		want.Amount, want.To = orig.Amount, orig.To
		want.CreatedAt, want.UpdatedAt = t0, t1
		unchanged(t, s, want, "after Save")

		// Saving the zero values back writes them too.
		r = requireClaimed(t, s, "b", at(5*time.Minute), time.Minute, 1, "r")[0]
		r.Provider, r.Status, r.ProviderID, r.Code, r.Message, r.LastError = "", ledger.Recorded, "", "", "", ""
		r.Sends, r.Polls = 0, 0
		r.SentAt, r.AcceptedAt, r.FinalAt = time.Time{}, time.Time{}, time.Time{}
		r.NextAt, r.Reported = at(6*time.Minute), false
		mustSave(t, s, "b", at(5*time.Minute), 0, r)
		want = r
		want.UpdatedAt = at(5 * time.Minute)
		unchanged(t, s, want, "after saving zero values")
	})

	t.Run("HoldKeepsLease", func(t *testing.T) {
		s := open(t)
		mustInsert(t, s, t0, newRecord("r"))
		r := requireClaimed(t, s, "a", t0, time.Minute, 1, "r")[0]
		t1 := at(time.Second)
		r.NextAt = t1 // due, but held
		mustSave(t, s, "a", t1, 30*time.Second, r)
		requireClaimed(t, s, "b", t1, time.Minute, 10)
		requireClaimed(t, s, "a", t1.Add(10*time.Second), time.Minute, 10)
		// Still a's: it can save again, holding until t1+5s+30s.
		mustSave(t, s, "a", t1.Add(5*time.Second), 30*time.Second, r)
		requireClaimed(t, s, "b", t1.Add(35*time.Second-time.Microsecond), time.Minute, 10)
		requireClaimed(t, s, "b", t1.Add(35*time.Second), time.Minute, 10, "r")
	})

	t.Run("HoldShorterThanLease", func(t *testing.T) {
		s := open(t)
		mustInsert(t, s, t0, newRecord("r"))
		r := requireClaimed(t, s, "a", t0, time.Hour, 1, "r")[0]
		mustSave(t, s, "a", at(time.Second), time.Second, r)
		requireClaimed(t, s, "b", at(2*time.Second), time.Minute, 10, "r")
	})

	t.Run("ZeroHoldReleases", func(t *testing.T) {
		s := open(t)
		mustInsert(t, s, t0, newRecord("due"), newRecord("later"))
		rs := requireClaimed(t, s, "a", t0, time.Hour, 10, "due", "later")
		t1 := at(time.Second)
		rs[0].NextAt = t1
		rs[1].NextAt = at(time.Hour)
		mustSave(t, s, "a", t1, 0, rs...)
		requireClaimed(t, s, "b", t1, time.Hour, 10, "due")

		// Released means a no longer holds "later" either: its Save and
		// Renew are refused, though nobody else has claimed it.
		rs[1].Status = ledger.Failed
		lost, err := s.Save(bg, "a", at(2*time.Second), 0, rs[1:])
		require.NoError(t, err)
		require.Equal(t, []string{"later"}, lost, "a Save after release")
		require.Equal(t, ledger.Recorded, mustGet(t, s, "later").Status, "a lost Save writes nothing")
		lost, err = s.Renew(bg, "a", at(2*time.Second), time.Hour, []string{"later"})
		require.NoError(t, err)
		require.Equal(t, []string{"later"}, lost, "a Renew after release")
		requireClaimed(t, s, "c", at(time.Hour), time.Hour, 10, "later")
	})

	t.Run("LostToAnotherOwner", func(t *testing.T) {
		s := open(t)
		mustInsert(t, s, t0, newRecord("r"))
		ra := requireClaimed(t, s, "a", t0, 10*time.Second, 1, "r")[0]
		rb := requireClaimed(t, s, "b", at(10*time.Second), 10*time.Second, 1, "r")[0]
		before := mustGet(t, s, "r")

		ra.Status, ra.ProviderID, ra.NextAt = ledger.Failed, "from-a", at(time.Hour)
		lost, err := s.Save(bg, "a", at(11*time.Second), 0, []ledger.Record{ra})
		require.NoError(t, err)
		require.Equal(t, []string{"r"}, lost)
		unchanged(t, s, before, "a's Save after b claimed")

		// b still holds it, whatever a tried.
		requireClaimed(t, s, "c", at(15*time.Second), time.Minute, 10)
		rb.Status, rb.ProviderID = ledger.Pending, "from-b"
		mustSave(t, s, "b", at(12*time.Second), 0, rb)
		got := mustGet(t, s, "r")
		require.Equal(t, "from-b", got.ProviderID)
	})

	t.Run("UnknownRefLost", func(t *testing.T) {
		s := open(t)
		mustInsert(t, s, t0, newRecord("r"))
		r := requireClaimed(t, s, "a", t0, time.Minute, 1, "r")[0]
		r.ProviderID = "written"
		lost, err := s.Save(bg, "a", at(time.Second), 0, []ledger.Record{newRecord("nope"), r})
		require.NoError(t, err)
		require.Equal(t, []string{"nope"}, lost)
		require.Equal(t, "written", mustGet(t, s, "r").ProviderID)
		_, err = s.Get(bg, "nope")
		require.ErrorIs(t, err, payments.ErrNotFound, "Save does not create records")
	})

	t.Run("MixedBatch", func(t *testing.T) {
		s := open(t)
		mustInsert(t, s, t0, newRecord("mine"))
		mustInsert(t, s, at(time.Millisecond), newRecord("theirs"))
		mustInsert(t, s, at(2*time.Millisecond), newRecord("free"))
		mine := requireClaimed(t, s, "a", at(time.Second), time.Minute, 1, "mine")[0]
		requireClaimed(t, s, "b", at(time.Second), time.Minute, 1, "theirs")
		theirs, free := mustGet(t, s, "theirs"), mustGet(t, s, "free")

		batch := []ledger.Record{theirs, mine, free, newRecord("nope")}
		for i := range batch {
			batch[i].Status, batch[i].Code = ledger.Succeeded, "by-a"
		}
		lost, err := s.Save(bg, "a", at(2*time.Second), 0, batch)
		require.NoError(t, err)
		require.ElementsMatch(t, []string{"theirs", "free", "nope"}, lost)
		require.Equal(t, "by-a", mustGet(t, s, "mine").Code)
		unchanged(t, s, theirs, "held by b")
		unchanged(t, s, free, "held by nobody")
	})

	t.Run("ExpiredLeaseNotReclaimedStillSaves", func(t *testing.T) {
		s := open(t)
		mustInsert(t, s, t0, newRecord("r"))
		r := requireClaimed(t, s, "a", t0, time.Second, 1, "r")[0]
		r.Status = ledger.Pending
		mustSave(t, s, "a", at(time.Hour), 0, r)
		require.Equal(t, ledger.Pending, mustGet(t, s, "r").Status)
	})

	t.Run("NeverClaimedNotWritten", func(t *testing.T) {
		s := open(t)
		r := newRecord("r")
		mustInsert(t, s, t0, r)
		w := r
		w.Status = ledger.Succeeded
		lost, err := s.Save(bg, "a", at(time.Second), 0, []ledger.Record{w})
		require.NoError(t, err)
		require.Equal(t, []string{"r"}, lost, "a record nobody leased is not owner's to write")
		unchanged(t, s, inserted(r, t0), "a lost Save")
	})

	t.Run("EmptyOwnerNeverWritesUnleased", func(t *testing.T) {
		s := open(t)
		r := newRecord("r")
		mustInsert(t, s, t0, r)
		w := r
		w.Status = ledger.Succeeded
		lost, err := s.Save(bg, "", at(time.Second), 0, []ledger.Record{w})
		if err == nil {
			require.Equal(t, []string{"r"}, lost)
		}
		unchanged(t, s, inserted(r, t0), "Save with an empty owner")
	})
}

func testRenew(t *testing.T, open Opener) {
	t.Run("Extends", func(t *testing.T) {
		s := open(t)
		mustInsert(t, s, t0, newRecord("r"))
		requireClaimed(t, s, "a", t0, 10*time.Second, 1, "r")
		lost, err := s.Renew(bg, "a", at(5*time.Second), 20*time.Second, []string{"r"})
		require.NoError(t, err)
		require.Empty(t, lost)
		requireClaimed(t, s, "b", at(10*time.Second), time.Minute, 10)
		requireClaimed(t, s, "b", at(25*time.Second-time.Microsecond), time.Minute, 10)
		requireClaimed(t, s, "b", at(25*time.Second), time.Minute, 10, "r")
		lost, err = s.Renew(bg, "a", at(26*time.Second), time.Hour, []string{"r"})
		require.NoError(t, err)
		require.Equal(t, []string{"r"}, lost, "b claimed it")
	})

	t.Run("LostForOthersAndUnknown", func(t *testing.T) {
		s := open(t)
		mustInsert(t, s, t0, newRecord("mine"))
		mustInsert(t, s, at(time.Millisecond), newRecord("theirs"))
		mustInsert(t, s, at(2*time.Millisecond), newRecord("free"))
		requireClaimed(t, s, "a", at(time.Second), 10*time.Second, 1, "mine")
		requireClaimed(t, s, "b", at(time.Second), 10*time.Second, 1, "theirs")
		lost, err := s.Renew(bg, "a", at(2*time.Second), time.Hour, []string{"mine", "theirs", "nope", "free"})
		require.NoError(t, err)
		require.ElementsMatch(t, []string{"theirs", "nope", "free"}, lost)
		// a's Renew did not extend b's lease, nor lease "free" to a.
		requireClaimed(t, s, "c", at(11*time.Second), 2*time.Hour, 10, "theirs", "free")
		requireClaimed(t, s, "c", at(time.Hour), time.Minute, 10)
		_, err = s.Get(bg, "nope")
		require.ErrorIs(t, err, payments.ErrNotFound, "Renew does not create records")
	})

	t.Run("ExpiredLeaseNotReclaimedRenews", func(t *testing.T) {
		s := open(t)
		mustInsert(t, s, t0, newRecord("r"))
		requireClaimed(t, s, "a", t0, time.Second, 1, "r")
		lost, err := s.Renew(bg, "a", at(time.Minute), time.Minute, []string{"r"})
		require.NoError(t, err)
		require.Empty(t, lost)
		requireClaimed(t, s, "b", at(90*time.Second), time.Minute, 10)
		requireClaimed(t, s, "b", at(2*time.Minute), time.Minute, 10, "r")
	})

	t.Run("Empty", func(t *testing.T) {
		s := open(t)
		lost, err := s.Renew(bg, "a", t0, time.Minute, nil)
		require.NoError(t, err)
		require.Empty(t, lost)
	})
}
