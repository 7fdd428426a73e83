package sqlitestore

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/ledger"
)

// TestHistoryAfterUpgrade: a file of the release before the history
// (schema 2), with a payout in it, is migrated at Open; the old payout's
// history is one step made from the record until it changes, then that
// step, stored, and the change's.
func TestHistoryAfterUpgrade(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ledger.db")
	db := rawDB(t, path)
	_, err := db.Exec(`CREATE TABLE ledger_migrations (version INTEGER NOT NULL PRIMARY KEY, applied_at INTEGER NOT NULL) STRICT`)
	require.NoError(t, err)
	for v, name := range []string{"0001_init.sql", "0002_bindings.sql"} {
		q, err := migrationFiles.ReadFile("migrations/" + name)
		require.NoError(t, err)
		_, err = db.Exec(string(q))
		require.NoError(t, err, name)
		_, err = db.Exec(`INSERT INTO ledger_migrations VALUES (?, 0)`, v+1)
		require.NoError(t, err)
	}
	old := t0.Add(-time.Hour)
	_, err = db.Exec(`INSERT INTO payouts (ref, provider, amount, currency, kind, account, bank, status, provider_id, code, message,
		last_error, sends, polls, created_at, sent_at, accepted_at, final_at, updated_at, next_at, reported)
		VALUES ('old', 'qiwi', '1.50', 'RUB', 'mobile', '79161234567', '', 'pending', 'q-1', 'WAIT', 'в обработке', '', 1, 7, ?, ?, 0, 0, ?, ?, 0)`,
		old.Add(-time.Minute).UnixMicro(), old.Add(-time.Minute).UnixMicro(), old.UnixMicro(), old.UnixMicro())
	require.NoError(t, err)
	require.NoError(t, db.Close())

	s := openAt(t, path)
	var version int
	require.NoError(t, s.w.QueryRow(`SELECT MAX(version) FROM ledger_migrations`).Scan(&version))
	require.Equal(t, SchemaVersion(), version)

	was := ledger.Step{Seq: 1, At: old, Status: ledger.Pending, Provider: "qiwi", Code: "WAIT", Message: "в обработке", Sends: 1, Polls: 7}
	steps, err := s.History(bg, "old")
	require.NoError(t, err)
	require.Equal(t, []ledger.Step{was}, steps, "before any change: the record as a step")

	r := claimOne(t, s, "old")
	r.Polls++
	r.NextAt = t0.Add(time.Minute)
	saveOne(t, s, t0, r)
	steps, err = s.History(bg, "old")
	require.NoError(t, err)
	// Still made from the record: its counts and its UpdatedAt (the latest
	// write, all the record tells) are the Save's.
	was.Polls, was.At = 8, t0
	require.Equal(t, []ledger.Step{was}, steps, "after a Save with the same answer")

	r = claimOne(t, s, "old")
	r.Status, r.Code, r.Message, r.Polls = ledger.Succeeded, "OK", "", 9
	saveOne(t, s, t0.Add(time.Hour), r)
	steps, err = s.History(bg, "old")
	require.NoError(t, err)
	require.Equal(t, []ledger.Step{
		was,
		{Seq: 2, At: t0.Add(time.Hour), Status: ledger.Succeeded, Provider: "qiwi", Code: "OK", Sends: 1, Polls: 9},
	}, steps, "after the first change: the state before it, then the change")

	_, err = s.History(bg, "nope")
	require.ErrorIs(t, err, payments.ErrNotFound)
	require.ErrorIs(t, err, ledger.ErrStore)
}

// TestHistoryGoesWithItsRecord: the steps of a record deleted (by hand:
// the store never deletes) go with it, and a record inserted again under
// its ref starts a history of its own.
func TestHistoryGoesWithItsRecord(t *testing.T) {
	s := openTemp(t)
	_, err := s.Insert(bg, t0, []ledger.Record{record("r")}, nil)
	require.NoError(t, err)
	r := claimOne(t, s, "r")
	r.Status = ledger.InFlight
	saveOne(t, s, t0.Add(time.Second), r)
	steps, err := s.History(bg, "r")
	require.NoError(t, err)
	require.Len(t, steps, 2)

	_, err = s.w.Exec(`DELETE FROM payouts WHERE ref = 'r'`)
	require.NoError(t, err)
	var n int
	require.NoError(t, s.w.QueryRow(`SELECT COUNT(*) FROM payout_steps WHERE ref = 'r'`).Scan(&n))
	require.Zero(t, n, "steps left behind")
	_, err = s.History(bg, "r")
	require.ErrorIs(t, err, payments.ErrNotFound)

	_, err = s.Insert(bg, t0.Add(time.Minute), []ledger.Record{record("r")}, nil)
	require.NoError(t, err)
	steps, err = s.History(bg, "r")
	require.NoError(t, err)
	require.Equal(t, []ledger.Step{{Seq: 1, At: t0.Add(time.Minute), Status: ledger.Recorded, Provider: "popolni"}}, steps)
}

func claimOne(t *testing.T, s *Store, ref string) ledger.Record {
	t.Helper()
	rs, err := s.Claim(bg, "a", t0.Add(24*time.Hour), time.Minute, 10)
	require.NoError(t, err)
	require.Len(t, rs, 1)
	require.Equal(t, ref, rs[0].Ref)
	return rs[0]
}

func saveOne(t *testing.T, s *Store, now time.Time, r ledger.Record) {
	t.Helper()
	lost, err := s.Save(bg, "a", now, 0, []ledger.Record{r})
	require.NoError(t, err)
	require.Empty(t, lost)
}
