package pgstore_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/internal/pgtest"
	"github.com/paysdk/payments/ledger"
	"github.com/paysdk/payments/ledger/pgstore"
)

// TestHistoryAfterUpgrade: a schema of the release before the history
// (versions 1 and 2), with a payout in it, is migrated at Open; the old
// payout's history is one step made from the record until it changes, then
// that step, stored, and the change's.
func TestHistoryAfterUpgrade(t *testing.T) {
	dsn := pgtest.DSN(t)
	conn := connect(t, dsn)
	_, err := conn.Exec(bg, `CREATE TABLE ledger_migrations (version INT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())`)
	require.NoError(t, err)
	for v := 1; v <= 2; v++ {
		q := pgstore.MigrationSQL(v)
		require.NotEmpty(t, q, "migration %d", v)
		_, err := conn.Exec(bg, q)
		require.NoError(t, err, "migration %d", v)
		_, err = conn.Exec(bg, `INSERT INTO ledger_migrations (version) VALUES ($1)`, v)
		require.NoError(t, err)
	}
	old := t0.Add(-time.Hour)
	_, err = conn.Exec(bg, `INSERT INTO payouts (ref, provider, amount, currency, kind, account, status, provider_id,
		code, message, sends, polls, created_at, sent_at, updated_at, next_at)
		VALUES ('old', 'qiwi', '1.50', 'RUB', 'mobile', '79161234567', 'pending', 'q-1', 'WAIT', 'в обработке', 1, 7, $1, $1, $2, $2)`,
		old.Add(-time.Minute).UnixMicro(), old.UnixMicro())
	require.NoError(t, err)

	s := open(t, dsn, pgstore.Options{})
	var version int
	require.NoError(t, conn.QueryRow(bg, `SELECT max(version) FROM ledger_migrations`).Scan(&version))
	require.Equal(t, pgstore.SchemaVersion(), version)

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
	// Still made from the record: its counts and its UpdatedAt (the
	// latest write, all the record tells) are the Save's.
	was.Polls, was.At = 8, t0
	require.Equal(t, []ledger.Step{was}, steps, "after a Save with the same answer")

	r = claimOne(t, s, "old")
	r.Status, r.Code, r.Message, r.Polls = ledger.Succeeded, "OK", "", 9
	saveOne(t, s, t0.Add(time.Hour), r)
	steps, err = s.History(bg, "old")
	require.NoError(t, err)
	require.Equal(t, []ledger.Step{
		{Seq: 1, At: t0, Status: ledger.Pending, Provider: "qiwi", Code: "WAIT", Message: "в обработке", Sends: 1, Polls: 8},
		{Seq: 2, At: t0.Add(time.Hour), Status: ledger.Succeeded, Provider: "qiwi", Code: "OK", Sends: 1, Polls: 9},
	}, steps, "after the first change: the state before it, then the change")

	_, err = s.History(bg, "nope")
	require.ErrorIs(t, err, payments.ErrNotFound)
	require.ErrorIs(t, err, ledger.ErrStore)
}

func claimOne(t *testing.T, s *pgstore.Store, ref string) ledger.Record {
	t.Helper()
	rs, err := s.Claim(bg, "a", t0.Add(24*time.Hour), time.Minute, 10)
	require.NoError(t, err)
	require.Len(t, rs, 1)
	require.Equal(t, ref, rs[0].Ref)
	return rs[0]
}

func saveOne(t *testing.T, s *pgstore.Store, now time.Time, r ledger.Record) {
	t.Helper()
	lost, err := s.Save(bg, "a", now, 0, []ledger.Record{r})
	require.NoError(t, err)
	require.Empty(t, lost)
}

// TestHistoryGoesWithItsRecord: the steps of a record deleted (by hand: the
// store never deletes) go with it.
func TestHistoryGoesWithItsRecord(t *testing.T) {
	dsn := pgtest.DSN(t)
	s := open(t, dsn, pgstore.Options{})
	_, err := s.Insert(bg, t0, []ledger.Record{record("r"), record("kept")}, nil)
	require.NoError(t, err)
	conn := connect(t, dsn)
	_, err = conn.Exec(bg, `DELETE FROM payouts WHERE ref = 'r'`)
	require.NoError(t, err)
	var refs []string
	rows, err := conn.Query(bg, `SELECT ref FROM payout_steps`)
	require.NoError(t, err)
	for rows.Next() {
		var ref string
		require.NoError(t, rows.Scan(&ref))
		refs = append(refs, ref)
	}
	require.NoError(t, rows.Err())
	require.Equal(t, []string{"kept"}, refs)
	_, err = s.History(bg, "r")
	require.ErrorIs(t, err, payments.ErrNotFound)
}
