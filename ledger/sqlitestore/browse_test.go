package sqlitestore

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/ledger"
)

// queryPlan is SQLite's plan of q, one line per step.
func queryPlan(t *testing.T, s *Store, q string, args ...any) []string {
	t.Helper()
	rows, err := s.w.Query(`EXPLAIN QUERY PLAN `+q, args...)
	require.NoError(t, err)
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		require.NoError(t, rows.Scan(&id, &parent, &unused, &detail))
		plan = append(plan, detail)
	}
	require.NoError(t, rows.Err())
	return plan
}

// TestBrowseUsesIndexes: each query of ledger.BrowseStore reads its index,
// never the whole table, and those that return pages need no sort (a sort
// would read every row the WHERE keeps before the first one comes out).
// The table holds rows of every kind and is ANALYZEd, so the planner
// chooses with statistics, as on a real file.
func TestBrowseUsesIndexes(t *testing.T) {
	s := openTemp(t)
	seedBrowse(t, s, 2000)
	_, err := s.w.Exec(`ANALYZE`)
	require.NoError(t, err)
	for _, c := range []struct {
		name, q, index string
		args           []any
		sortAllowed    bool
	}{
		{"Counts", countsSQL, "payouts_provider_status", nil, false},
		{"Unfinished", unfinishedSQL, "payouts_unfinished", []any{50}, false},
		{"UnfinishedAfter", unfinishedAfterSQL, "payouts_unfinished", []any{t0.UnixMicro(), "r", 50}, false},
		// Grouping by minute sorts the finals since since: those only.
		{"Finals", finalsSQL, "payouts_final", []any{t0.UnixMicro()}, true},
		{"RecentEvents", recentEventsSQL, "events_received", []any{noLimit, 50}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			plan := queryPlan(t, s, c.q, c.args...)
			t.Logf("plan: %q", plan)
			text := strings.Join(plan, "\n")
			require.Regexp(t, `(SCAN|SEARCH) (payouts|events) USING (COVERING )?INDEX `+c.index+`\b`, text)
			for _, line := range plan {
				if strings.HasPrefix(line, "SCAN ") {
					require.Contains(t, line, " USING ", "a full scan of the table: %q", plan)
				}
			}
			if !c.sortAllowed {
				require.NotContains(t, text, "TEMP B-TREE", "a sort: %q", plan)
			}
		})
	}
}

// seedBrowse fills s with n records, in Inserts of up to 10,000 made an
// hour apart (CreatedAt), and n/10 events, one a second before t0: a
// twentieth of the records recorded, in flight or pending each, the rest
// final (reported), final in the day before t0, spread over the minutes;
// three providers.
func seedBrowse(tb testing.TB, s *Store, n int) {
	tb.Helper()
	const batch = 10000
	providers := []string{"popolni", "qiwi", "royalpay"}
	rs := make([]ledger.Record, 0, batch)
	for start := 0; start < n; start += batch {
		rs = rs[:0]
		for i := start; i < min(start+batch, n); i++ {
			r := record(fmt.Sprintf("r-%08d", i))
			r.Provider = providers[i%3]
			switch k := i % 20; {
			case k == 0:
				r.Status = ledger.Recorded
			case k == 1:
				r.Status = ledger.InFlight
			case k == 2:
				r.Status = ledger.Pending
			case k < 14:
				r.Status = ledger.Succeeded
			default:
				r.Status = ledger.Failed
			}
			if r.Status.Final() {
				r.Reported = true
				r.FinalAt = t0.Add(-time.Duration(i%1440) * time.Minute)
			}
			rs = append(rs, r)
		}
		now := t0.Add(-time.Duration((n-start)/batch+1) * time.Hour)
		if _, err := s.Insert(bg, now, rs, nil); err != nil {
			tb.Fatal(err)
		}
	}
	tx, err := s.w.Begin()
	if err != nil {
		tb.Fatal(err)
	}
	defer tx.Rollback()
	for i := 0; i < n/10; i++ {
		if _, err := tx.Exec(`INSERT INTO events (`+eventCols+`) VALUES (?, ?, ?, ?, '', '1.00', 'RUB', ?, 0)`,
			providers[i%3], fmt.Sprintf("p-%08d", i), int(payments.StateSucceeded), fmt.Sprintf("o-%08d", i),
			t0.Add(-time.Duration(n/10-i)*time.Second).UnixMicro()); err != nil {
			tb.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		tb.Fatal(err)
	}
}

// TestBrowseAfterUpgrade: a file of the release before BrowseStore (schema
// 3), with payouts in it, is migrated at Open: the indexes are built over
// the rows already there, and the queries answer from them. A file a newer
// release migrated past this one's version is still refused.
func TestBrowseAfterUpgrade(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ledger.db")
	db := rawDB(t, path)
	_, err := db.Exec(`CREATE TABLE ledger_migrations (version INTEGER NOT NULL PRIMARY KEY, applied_at INTEGER NOT NULL) STRICT`)
	require.NoError(t, err)
	for v, name := range []string{"0001_init.sql", "0002_bindings.sql", "0003_history.sql"} {
		q, err := migrationFiles.ReadFile("migrations/" + name)
		require.NoError(t, err)
		_, err = db.Exec(string(q))
		require.NoError(t, err, name)
		_, err = db.Exec(`INSERT INTO ledger_migrations VALUES (?, 0)`, v+1)
		require.NoError(t, err)
	}
	insert := func(ref, status string, created, final time.Time) {
		t.Helper()
		var finalAt int64
		if !final.IsZero() {
			finalAt = final.UnixMicro()
		}
		_, err := db.Exec(`INSERT INTO payouts (ref, provider, amount, currency, kind, account, bank, status, provider_id, code, message,
			last_error, sends, polls, created_at, sent_at, accepted_at, final_at, updated_at, next_at, reported)
			VALUES (?, 'qiwi', '1.50', 'RUB', 'mobile', '79161234567', '', ?, '', '', '', '', 1, 0, ?, 0, 0, ?, ?, ?, ?)`,
			ref, status, created.UnixMicro(), finalAt, created.UnixMicro(), created.UnixMicro(), boolInt(finalAt != 0))
		require.NoError(t, err)
	}
	insert("old-done", "succeeded", t0.Add(-2*time.Hour), t0.Add(-time.Hour+time.Second))
	insert("old-pending", "pending", t0.Add(-3*time.Hour), time.Time{})
	insert("old-recorded", "recorded", t0.Add(-time.Hour), time.Time{})
	require.NoError(t, db.Close())

	s := openAt(t, path)
	var version int
	require.NoError(t, s.w.QueryRow(`SELECT MAX(version) FROM ledger_migrations`).Scan(&version))
	require.Equal(t, SchemaVersion(), version)
	require.Equal(t, 4, version, "this test builds schema 3 by hand: a new version needs a look at it")
	for _, index := range []string{"payouts_provider_status", "payouts_unfinished", "payouts_final"} {
		var n int
		require.NoError(t, s.w.QueryRow(`SELECT COUNT(*) FROM sqlite_schema WHERE type = 'index' AND name = ?`, index).Scan(&n))
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
	require.Equal(t, []string{"old-pending", "old-recorded"}, []string{rs[0].Ref, rs[1].Ref})
	require.Len(t, rs, 2)
	bs, err := s.Finals(bg, t0.Add(-2*time.Hour))
	require.NoError(t, err)
	require.Equal(t, []ledger.Bucket{{Minute: t0.Add(-time.Hour).Truncate(time.Minute), Provider: "qiwi", Status: ledger.Succeeded, Count: 1}}, bs)
	require.NoError(t, s.Close())

	db = rawDB(t, path)
	_, err = db.Exec(`INSERT INTO ledger_migrations (version, applied_at) VALUES (?, 0)`, SchemaVersion()+1)
	require.NoError(t, err)
	require.NoError(t, db.Close())
	_, err = Open(bg, path)
	require.ErrorIs(t, err, ErrNewerSchema)
}
