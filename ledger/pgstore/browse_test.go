package pgstore_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/paysdk/payments/internal/pgtest"
	"github.com/paysdk/payments/ledger"
	"github.com/paysdk/payments/ledger/pgstore"
)

// TestBrowseUsesIndexes: each query of ledger.BrowseStore can be answered
// by its index: with sequential scans priced out (enable_seqscan off, on an
// ANALYZEd table of 5,000 records of every kind), the plan names the index
// and scans no table; the paged ones need no sort (a sort reads every row
// the WHERE keeps before the first comes out).
func TestBrowseUsesIndexes(t *testing.T) {
	dsn := pgtest.DSN(t)
	s := open(t, dsn, pgstore.Options{})
	rs := records("r", 5000)
	for i := range rs {
		switch i % 20 {
		case 0:
		case 1:
			rs[i].Status = ledger.Pending
		default:
			rs[i].Status, rs[i].Reported = ledger.Succeeded, true
			rs[i].FinalAt = t0.Add(-time.Duration(i%1440) * time.Minute)
		}
		rs[i].Provider = []string{"popolni", "qiwi", "royalpay"}[i%3]
	}
	_, err := s.Insert(bg, t0, rs, nil)
	require.NoError(t, err)
	conn := connect(t, dsn)
	for i := 0; i < 500; i++ {
		_, err := conn.Exec(bg, `INSERT INTO events (provider, provider_id, state, amount, received_at) VALUES ('paykeeper', $1, 3, '1.00', $2)`,
			fmt.Sprint(i), t0.Add(time.Duration(i)*time.Second).UnixMicro())
		require.NoError(t, err)
	}
	_, err = conn.Exec(bg, "ANALYZE")
	require.NoError(t, err)

	for _, c := range []struct {
		name, q, index string
		args           []any
		sortAllowed    bool
	}{
		{"Counts", pgstore.CountsSQL, "payouts_provider_status", nil, false},
		{"Unfinished", pgstore.UnfinishedSQL, "payouts_unfinished", []any{50}, false},
		{"UnfinishedAfter", pgstore.UnfinishedAfterSQL, "payouts_unfinished", []any{t0.UnixMicro(), "r", 50}, false},
		// Grouping by minute sorts the finals since since: those only.
		{"Finals", pgstore.FinalsSQL, "payouts_final", []any{t0.Add(-time.Hour).UnixMicro()}, true},
		{"RecentEvents", pgstore.RecentEventsSQL, "events_received", []any{pgstore.NoLimit, 50}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			plan := explain(t, conn, c.q, c.args...)
			t.Logf("plan:\n%s", plan)
			require.Contains(t, plan, " "+c.index+" ", "the plan does not read %s", c.index)
			require.NotContains(t, plan, "Seq Scan", "a scan of the table")
			if !c.sortAllowed {
				require.NotContains(t, plan, "Sort", "a sort")
			}
		})
	}
}

// TestBrowseAfterUpgrade: a schema of the release before BrowseStore
// (versions 1 to 3), with payouts in it, is migrated at Open: the indexes
// are built over the rows already there, and the queries answer from them.
// A schema a newer release migrated past this one's version is still
// refused.
func TestBrowseAfterUpgrade(t *testing.T) {
	dsn := pgtest.DSN(t)
	conn := connect(t, dsn)
	_, err := conn.Exec(bg, `CREATE TABLE ledger_migrations (version INT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())`)
	require.NoError(t, err)
	for v := 1; v <= 3; v++ {
		q := pgstore.MigrationSQL(v)
		require.NotEmpty(t, q, "migration %d", v)
		_, err := conn.Exec(bg, q)
		require.NoError(t, err, "migration %d", v)
		_, err = conn.Exec(bg, `INSERT INTO ledger_migrations (version) VALUES ($1)`, v)
		require.NoError(t, err)
	}
	insert := func(ref, status string, created, final time.Time) {
		t.Helper()
		var finalAt int64
		if !final.IsZero() {
			finalAt = final.UnixMicro()
		}
		_, err := conn.Exec(bg, `INSERT INTO payouts (ref, provider, amount, currency, kind, account, status,
			created_at, final_at, updated_at, next_at, reported)
			VALUES ($1, 'qiwi', '1.50', 'RUB', 'mobile', '79161234567', $2, $3, $4, $3, $3, $5)`,
			ref, status, created.UnixMicro(), finalAt, finalAt != 0)
		require.NoError(t, err)
	}
	insert("old-done", "succeeded", t0.Add(-2*time.Hour), t0.Add(-time.Hour+time.Second))
	insert("old-pending", "pending", t0.Add(-3*time.Hour), time.Time{})
	insert("old-recorded", "recorded", t0.Add(-time.Hour), time.Time{})

	s := open(t, dsn, pgstore.Options{})
	var version int
	require.NoError(t, conn.QueryRow(bg, `SELECT max(version) FROM ledger_migrations`).Scan(&version))
	require.Equal(t, pgstore.SchemaVersion(), version)
	require.Equal(t, 4, version, "this test builds schema 3 by hand: a new version needs a look at it")
	for _, index := range []string{"payouts_provider_status", "payouts_unfinished", "payouts_final"} {
		var n int
		require.NoError(t, conn.QueryRow(bg, `SELECT count(*) FROM pg_indexes WHERE schemaname = current_schema() AND indexname = $1`, index).Scan(&n))
		require.Equal(t, 1, n, index)
	}

	counts, err := s.Counts(bg)
	require.NoError(t, err)
	require.Equal(t, []ledger.Stat{
		{Provider: "qiwi", Status: ledger.Pending, Count: 1, Oldest: t0.Add(-3 * time.Hour)},
		{Provider: "qiwi", Status: ledger.Recorded, Count: 1, Oldest: t0.Add(-time.Hour)},
		{Provider: "qiwi", Status: ledger.Succeeded, Count: 1, Oldest: t0.Add(-2 * time.Hour)},
	}, counts)
	rs, err := s.Unfinished(bg, time.Time{}, "", 10)
	require.NoError(t, err)
	require.Len(t, rs, 2)
	require.Equal(t, []string{"old-pending", "old-recorded"}, []string{rs[0].Ref, rs[1].Ref})
	bs, err := s.Finals(bg, t0.Add(-2*time.Hour))
	require.NoError(t, err)
	require.Equal(t, []ledger.Bucket{{Minute: t0.Add(-time.Hour).Truncate(time.Minute), Provider: "qiwi", Status: ledger.Succeeded, Count: 1}}, bs)
	require.NoError(t, s.Close())

	_, err = conn.Exec(bg, `INSERT INTO ledger_migrations (version) VALUES ($1)`, pgstore.SchemaVersion()+1)
	require.NoError(t, err)
	_, err = pgstore.Open(bg, dsn, pgstore.Options{})
	require.ErrorIs(t, err, ledger.ErrStore)
	require.ErrorContains(t, err, "newer than this code knows")
}
