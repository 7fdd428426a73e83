package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/ledger"
)

// testHistory checks ledger.HistoryStore, for a store that implements it:
// one step per Insert and per Save that changes Status, Provider, Code,
// Message or LastError, none for any other Save nor for a Save by an owner
// that lost the record, the cap (HistoryFirst, HistoryLast) holding, and an
// unknown ref not found.
func testHistory(t *testing.T, open Opener) {
	skipWithout := func(t *testing.T, s ledger.Store) {
		t.Helper()
		if _, ok := s.(ledger.HistoryStore); !ok {
			t.Skipf("%T is not a ledger.HistoryStore: no record timeline", s)
		}
	}
	history := func(t *testing.T, s ledger.Store, ref string) []ledger.Step {
		t.Helper()
		skipWithout(t, s)
		steps, err := s.(ledger.HistoryStore).History(bg, ref)
		require.NoError(t, err, "History %q", ref)
		return steps
	}
	stepOf := func(seq int, now time.Time, r ledger.Record) ledger.Step {
		return ledger.Step{Seq: seq, At: now, Status: r.Status, Provider: r.Provider, Code: r.Code,
			Message: r.Message, LastError: r.LastError, Sends: r.Sends, Polls: r.Polls}
	}

	t.Run("StepsOfChangesOnly", func(t *testing.T) {
		s := open(t)
		skipWithout(t, s)
		r := newRecord("r")
		r.Code, r.Message = "NEW", "recorded by the test"
		mustInsert(t, s, t0, r)
		mustInsert(t, s, at(time.Millisecond), newRecord("other"))
		want := []ledger.Step{stepOf(1, t0, r)}
		requireSteps(t, want, history(t, s, "r"), "after Insert")

		// A send: status and counts change.
		r = requireClaimed(t, s, "a", at(time.Second), time.Hour, 1, "r")[0]
		t1 := at(time.Second + 1500*time.Nanosecond) // off the microsecond
		r.Status, r.Sends, r.NextAt = ledger.InFlight, 1, at(time.Minute)
		mustSave(t, s, "a", t1, time.Hour, r)
		want = append(want, stepOf(2, t1, r))
		requireSteps(t, want, history(t, s, "r"), "after a Save changing Status")

		// The lease renewed, NextAt moved, the ProviderID, times and
		// counts written, a poll with the same answer: no step.
		for i := range 3 {
			r.Polls++
			r.NextAt = at(time.Duration(i+2) * time.Minute)
			r.ProviderID, r.SentAt, r.Reported = "prov-1", t1, i == 2
			mustSave(t, s, "a", at(time.Duration(i+2)*time.Second), time.Hour, r)
			lost, err := s.Renew(bg, "a", at(time.Duration(i+2)*time.Second), time.Hour, []string{"r"})
			require.NoError(t, err)
			require.Empty(t, lost)
		}
		requireSteps(t, want, history(t, s, "r"), "after Saves with the same answer")
		require.Equal(t, 3, mustGet(t, s, "r").Polls, "the Saves without a step were written")

		// Each of the five fields alone makes a step, with the counts.
		change := []struct {
			field string
			set   func(*ledger.Record)
		}{
			{"Status", func(r *ledger.Record) { r.Status = ledger.Pending }},
			{"Provider", func(r *ledger.Record) { r.Provider = "qiwi" }},
			{"Code", func(r *ledger.Record) { r.Code = "ACCEPTED" }},
			{"Message", func(r *ledger.Record) { r.Message = "Платёж принят ✓" }},
			{"LastError", func(r *ledger.Record) { r.LastError = "read tcp: connection reset" }},
			{"LastError cleared", func(r *ledger.Record) { r.LastError = "" }},
		}
		for i, c := range change {
			now := at(time.Duration(10+i) * time.Second)
			r.Polls++
			c.set(&r)
			mustSave(t, s, "a", now, time.Hour, r)
			want = append(want, stepOf(3+i, now, r))
			requireSteps(t, want, history(t, s, "r"), "after a Save changing %s", c.field)
		}

		// A Save by an owner that lost the record writes no step.
		requireClaimed(t, s, "b", at(2*time.Hour), time.Hour, 10, "other", "r")
		r.Status, r.Code = ledger.Failed, "LATE"
		lost, err := s.Save(bg, "a", at(2*time.Hour+time.Second), 0, []ledger.Record{r})
		require.NoError(t, err)
		require.Equal(t, []string{"r"}, lost)
		requireSteps(t, want, history(t, s, "r"), "after a lost Save")

		// Steps are per record.
		requireSteps(t, []ledger.Step{stepOf(1, at(time.Millisecond), newRecord("other"))}, history(t, s, "other"), "the other record")
	})

	t.Run("InsertBatchAndExisting", func(t *testing.T) {
		s := open(t)
		skipWithout(t, s)
		mustInsert(t, s, t0, newRecord("r"))
		// An Insert that finds r stored writes no step for it.
		n, err := s.Insert(bg, at(time.Second), []ledger.Record{newRecord("r"), newRecord("s")}, nil)
		require.NoError(t, err)
		require.Equal(t, 1, n)
		requireSteps(t, []ledger.Step{stepOf(1, t0, newRecord("r"))}, history(t, s, "r"), "r")
		requireSteps(t, []ledger.Step{stepOf(1, at(time.Second), newRecord("s"))}, history(t, s, "s"), "s")
		// Nor does an Insert whose check refused the batch.
		_, err = s.Insert(bg, at(2*time.Second), []ledger.Record{newRecord("refused")}, func([]ledger.Record) error {
			return ledger.ErrConflict
		})
		require.ErrorIs(t, err, ledger.ErrConflict)
		_, err = s.(ledger.HistoryStore).History(bg, "refused")
		require.ErrorIs(t, err, payments.ErrNotFound, "a refused Insert")
	})

	t.Run("Cap", func(t *testing.T) {
		s := open(t)
		skipWithout(t, s)
		mustInsert(t, s, t0, newRecord("busy"), newRecord("calm"))
		busy := requireClaimed(t, s, "a", t0, time.Hour, 1, "busy")[0]
		const changes = 2*(ledger.HistoryFirst+ledger.HistoryLast) + 5
		all := []ledger.Step{stepOf(1, t0, busy)}
		for i := range changes {
			now := at(time.Duration(i+1) * time.Second)
			busy.Code, busy.Polls = fmt.Sprintf("C%03d", i), i+1
			mustSave(t, s, "a", now, time.Hour, busy)
			all = append(all, stepOf(i+2, now, busy))
			if i == ledger.HistoryFirst+ledger.HistoryLast-2 {
				// 64 steps: none dropped yet.
				requireSteps(t, all, history(t, s, "busy"), "at the cap")
			}
		}
		want := append(append([]ledger.Step(nil), all[:ledger.HistoryFirst]...), all[len(all)-ledger.HistoryLast:]...)
		requireSteps(t, want, history(t, s, "busy"), "past the cap")
		requireSteps(t, []ledger.Step{stepOf(1, t0, newRecord("calm"))}, history(t, s, "calm"), "another record")
	})

	t.Run("UnknownRef", func(t *testing.T) {
		s := open(t)
		skipWithout(t, s)
		mustInsert(t, s, t0, newRecord("r"))
		_, err := s.(ledger.HistoryStore).History(bg, "nope")
		require.ErrorIs(t, err, payments.ErrNotFound)
		_, err = s.(ledger.HistoryStore).History(bg, "")
		require.ErrorIs(t, err, payments.ErrNotFound)
	})
}

// requireSteps requires got to be want as a store keeps it: every field
// equal, At to the microsecond.
func requireSteps(t *testing.T, want, got []ledger.Step, msgAndArgs ...any) {
	t.Helper()
	m := fmtMsg(msgAndArgs)
	seqs := func(ss []ledger.Step) []int {
		out := make([]int, len(ss))
		for i, s := range ss {
			out[i] = s.Seq
		}
		return out
	}
	require.Equal(t, seqs(want), seqs(got), "steps' Seq %s", m)
	for i := range want {
		w, g := want[i], got[i]
		requireTime(t, w.At, g.At, fmt.Sprintf("At of step %d", w.Seq), msgAndArgs...)
		w.At, g.At = time.Time{}, time.Time{}
		require.Equal(t, w, g, "step %d %s", w.Seq, m)
	}
}
