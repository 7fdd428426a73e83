package sqlitestore

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/ledger"
	"github.com/paysdk/payments/ledger/storetest"
	"github.com/paysdk/payments/payout"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var bg = context.Background()

// t0 is the tests' clock.
var t0 = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

// openTemp opens a store on a new file in t's temporary folder.
func openTemp(t testing.TB) *Store {
	t.Helper()
	return openAt(t, filepath.Join(t.TempDir(), "ledger.db"))
}

func openAt(t testing.TB, path string) *Store {
	t.Helper()
	s, err := Open(bg, path)
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	return s
}

func record(ref string) ledger.Record {
	return ledger.Record{
		Ref:      ref,
		Provider: "popolni",
		Amount:   payments.MustMoney("12.34", "RUB"),
		To:       payout.Destination{Kind: payout.Mobile, Account: "79161234567"},
		Status:   ledger.Recorded,
	}
}

func records(prefix string, n int) []ledger.Record {
	rs := make([]ledger.Record, n)
	for i := range rs {
		rs[i] = record(fmt.Sprintf("%s-%06d", prefix, i))
	}
	return rs
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) ledger.Store { return openTemp(t) })
}

// TestConformanceInMemory: the in-memory ledger keeps the whole contract.
func TestConformanceInMemory(t *testing.T) {
	storetest.Run(t, func(t *testing.T) ledger.Store { return openAt(t, Memory) })
}

// rawDB opens the file without the store, as another program would.
func rawDB(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	require.NoError(t, err)
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { db.Close() })
	return db
}

func TestDurablePragmas(t *testing.T) {
	s := openTemp(t)
	for name, db := range map[string]*sql.DB{"writer": s.w, "reader": s.r} {
		var mode string
		var syncMode, busy, fk int
		require.NoError(t, db.QueryRow("PRAGMA journal_mode").Scan(&mode))
		require.NoError(t, db.QueryRow("PRAGMA synchronous").Scan(&syncMode))
		require.NoError(t, db.QueryRow("PRAGMA busy_timeout").Scan(&busy))
		require.NoError(t, db.QueryRow("PRAGMA foreign_keys").Scan(&fk))
		require.Equal(t, "wal", mode, name)
		require.Equal(t, 2, syncMode, "%s: synchronous=FULL", name)
		require.Equal(t, int(BusyTimeout/time.Millisecond), busy, name)
		require.Equal(t, 1, fk, name)
	}
}

// TestWriteLockAtBegin: a write transaction holds the file's write lock
// from BEGIN, so another connection (another process) cannot start one: a
// Claim's read and update are one atomic step.
func TestWriteLockAtBegin(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ledger.db")
	s := openAt(t, path)
	tx, err := s.w.BeginTx(bg, nil)
	require.NoError(t, err)
	defer tx.Rollback()

	other := rawDB(t, path+"?_pragma=busy_timeout(0)")
	_, err = other.Exec("BEGIN IMMEDIATE")
	require.Error(t, err, "another connection got the write lock while a store transaction was open")
	require.Contains(t, err.Error(), "locked")
}

// TestClaimUsesQueueIndex: Claim's scan is the partial index on the work
// queue, not the whole table.
func TestClaimUsesQueueIndex(t *testing.T) {
	s := openTemp(t)
	rows, err := s.w.Query(`EXPLAIN QUERY PLAN SELECT ref FROM payouts
		WHERE `+queueTerm+` AND next_at <= ?1 AND (lease_owner = '' OR lease_until <= ?1)
		ORDER BY next_at, ref LIMIT 10`, 1)
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
	require.Contains(t, strings.Join(plan, "\n"), "USING INDEX payouts_queue", "plan: %v", plan)
}

// TestStatsUsesQueueIndex: the gauges' query reads the partial index on
// the work queue, not the whole table.
func TestStatsUsesQueueIndex(t *testing.T) {
	s := openTemp(t)
	rows, err := s.w.Query(`EXPLAIN QUERY PLAN ` + statsSQL)
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
	require.Contains(t, strings.Join(plan, "\n"), "USING INDEX payouts_queue", "plan: %v", plan)
	t.Logf("plan: %v", plan)
}

func TestMigrationsIdempotent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ledger.db")
	s, err := Open(bg, path)
	require.NoError(t, err)
	_, err = s.Insert(bg, t0, []ledger.Record{record("kept")}, nil)
	require.NoError(t, err)
	require.NoError(t, s.Close())

	for i := 0; i < 2; i++ {
		s, err = Open(bg, path)
		require.NoError(t, err, "reopen %d", i)
		got, err := s.Get(bg, "kept")
		require.NoError(t, err)
		require.Equal(t, "kept", got.Ref)
		var n, max int
		require.NoError(t, s.w.QueryRow(`SELECT COUNT(*), MAX(version) FROM ledger_migrations`).Scan(&n, &max))
		require.Equal(t, SchemaVersion(), n, "each migration recorded once")
		require.Equal(t, SchemaVersion(), max)
		require.NoError(t, s.Close())
	}
	require.GreaterOrEqual(t, SchemaVersion(), 1)
}

func TestConcurrentFirstOpen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ledger.db")
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := Open(bg, path)
			if err == nil {
				err = s.Close()
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	for _, err := range errs {
		require.NoError(t, err)
	}
	db := rawDB(t, path)
	var n int
	require.NoError(t, db.QueryRow(`SELECT COUNT(*) FROM ledger_migrations`).Scan(&n))
	require.Equal(t, SchemaVersion(), n)
}

func TestNewerSchemaRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ledger.db")
	s, err := Open(bg, path)
	require.NoError(t, err)
	require.NoError(t, s.Close())
	db := rawDB(t, path)
	_, err = db.Exec(`INSERT INTO ledger_migrations (version, applied_at) VALUES (?, 0)`, SchemaVersion()+1)
	require.NoError(t, err)

	_, err = Open(bg, path)
	require.Error(t, err)
	require.ErrorIs(t, err, ErrNewerSchema)
	require.ErrorIs(t, err, ledger.ErrStore)
	var se *ledger.StoreError
	require.ErrorAs(t, err, &se)
	require.Equal(t, "migrate", se.Op)
	require.Contains(t, err.Error(), path)
	require.Contains(t, err.Error(), fmt.Sprintf("schema version %d", SchemaVersion()+1))
}

func TestBadPaths(t *testing.T) {
	dir := t.TempDir()
	notDB := filepath.Join(dir, "notes.txt")
	require.NoError(t, os.WriteFile(notDB, bytes.Repeat([]byte("this is not a database\n"), 200), 0o600))
	aFile := filepath.Join(dir, "plain")
	require.NoError(t, os.WriteFile(aFile, []byte("x"), 0o600))

	for _, c := range []struct {
		name, path, says string
	}{
		{"directory", dir, "is a directory"},
		{"missing folder", filepath.Join(dir, "no", "such", "ledger.db"), "does not exist"},
		{"folder is a file", filepath.Join(aFile, "ledger.db"), "is not a folder"},
		{"not a database", notDB, "is not a SQLite database"},
	} {
		t.Run(c.name, func(t *testing.T) {
			s, err := Open(bg, c.path)
			require.Error(t, err)
			require.Nil(t, s)
			require.ErrorIs(t, err, ledger.ErrStore)
			var se *ledger.StoreError
			require.ErrorAs(t, err, &se)
			require.Equal(t, "open", se.Op)
			require.Contains(t, err.Error(), c.path, "the error names the path")
			require.Contains(t, err.Error(), c.says)
		})
	}

	_, err := Open(bg, "")
	require.ErrorIs(t, err, ledger.ErrStore)
	require.Contains(t, err.Error(), "no path")

	b, err := os.ReadFile(notDB)
	require.NoError(t, err)
	require.True(t, bytes.HasPrefix(b, []byte("this is not")), "Open left the foreign file alone")
}

// TestPathCharacters: the path is a file: URI inside the driver, so the
// characters a URI gives meaning to must still name the file.
func TestPathCharacters(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a dir?x=1", "we?ird #name%20&_txlock=deferred.db")
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o700))
	s := openAt(t, path)
	_, err := s.Insert(bg, t0, []ledger.Record{record("r")}, nil)
	require.NoError(t, err)
	_, err = os.Stat(path)
	require.NoError(t, err, "the file is where the path says")
	require.Contains(t, s.String(), path)
}

// TestTwoStoresOneFile: two *Store on one file, as two processes would
// have, claim concurrently and never get the same record.
func TestTwoStoresOneFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ledger.db")
	stores := []*Store{openAt(t, path), openAt(t, path)}
	const n = 400
	_, err := stores[0].Insert(bg, t0, records("r", n), nil)
	require.NoError(t, err)

	var (
		mu      sync.Mutex
		claimed = map[string]string{}
		errs    []error
		wg      sync.WaitGroup
	)
	for i := 0; i < 6; i++ {
		s, owner := stores[i%2], fmt.Sprintf("store%d-worker%d", i%2, i)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < n; i++ { // bounded: a double claim ends it below
				rs, err := s.Claim(bg, owner, t0.Add(time.Second), time.Hour, 5)
				mu.Lock()
				if err != nil {
					errs = append(errs, err)
				}
				for _, r := range rs {
					if prev, dup := claimed[r.Ref]; dup {
						errs = append(errs, fmt.Errorf("%s claimed by %s and %s", r.Ref, prev, owner))
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
	require.Empty(t, errs)
	require.Len(t, claimed, n)

	// One file: a lease taken through one store binds the other.
	rs, err := stores[1].Claim(bg, "late", t0.Add(2*time.Second), time.Hour, 10)
	require.NoError(t, err)
	require.Empty(t, rs)
	for ref, owner := range claimed {
		lost, err := stores[0].Save(bg, owner, t0.Add(3*time.Second), 0, []ledger.Record{record(ref)})
		require.NoError(t, err)
		require.Empty(t, lost, "%s saved by its owner %s through the other store", ref, owner)
		break
	}
}

const (
	helperPath  = "SQLITESTORE_HELPER_PATH"
	helperOwner = "SQLITESTORE_HELPER_OWNER"
)

// TestClaimHelperProcess is one claiming process of TestProcessesClaim; it
// is skipped when run by itself.
func TestClaimHelperProcess(t *testing.T) {
	path := os.Getenv(helperPath)
	if path == "" {
		t.Skip("a helper of TestProcessesClaim")
	}
	owner := os.Getenv(helperOwner)
	s, err := Open(bg, path)
	require.NoError(t, err)
	defer s.Close()
	w := bufio.NewWriter(os.Stdout)
	defer w.Flush()
	for i := 0; i < 1000; i++ { // bounded: a broken Claim never runs dry
		rs, err := s.Claim(bg, owner, t0.Add(time.Second), time.Hour, 3)
		require.NoError(t, err)
		if len(rs) == 0 {
			return
		}
		for _, r := range rs {
			fmt.Fprintf(w, "claimed %s\n", r.Ref)
		}
	}
}

// TestProcessesClaim: three processes claim from one file at once (the
// ledger's replicas and its crash-restart test) and never get the same
// record; all are claimed.
func TestProcessesClaim(t *testing.T) {
	if os.Getenv(helperPath) != "" {
		t.Skip("in a helper")
	}
	path := filepath.Join(t.TempDir(), "ledger.db")
	s := openAt(t, path)
	const n = 300
	_, err := s.Insert(bg, t0, records("p", n), nil)
	require.NoError(t, err)

	outs := make([]bytes.Buffer, 3)
	var cmds []*exec.Cmd
	for i := range outs {
		cmd := exec.Command(os.Args[0], "-test.run=^TestClaimHelperProcess$", "-test.count=1")
		cmd.Env = append(os.Environ(), helperPath+"="+path, fmt.Sprintf("%s=process-%d", helperOwner, i))
		cmd.Stdout = &outs[i]
		cmd.Stderr = &outs[i]
		require.NoError(t, cmd.Start())
		cmds = append(cmds, cmd)
	}
	for i, cmd := range cmds {
		require.NoError(t, cmd.Wait(), "process %d:\n%s", i, outs[i].String())
	}
	claimed := map[string]int{}
	for i := range outs {
		got := 0
		for _, line := range strings.Split(outs[i].String(), "\n") {
			if ref, ok := strings.CutPrefix(line, "claimed "); ok {
				require.NotContains(t, claimed, ref, "%s claimed by process %d and %d", ref, claimed[ref], i)
				claimed[ref] = i
				got++
			}
		}
		t.Logf("process %d claimed %d", i, got)
	}
	require.Len(t, claimed, n)
}

func TestCloseTwice(t *testing.T) {
	s := openTemp(t)
	require.NoError(t, s.Close())
	require.NoError(t, s.Close())
}

func TestEmptyOwnerRefused(t *testing.T) {
	s := openTemp(t)
	_, err := s.Insert(bg, t0, []ledger.Record{record("r")}, nil)
	require.NoError(t, err)
	_, err = s.Claim(bg, "", t0, time.Minute, 10)
	require.ErrorIs(t, err, ledger.ErrStore)
	_, err = s.Save(bg, "", t0, 0, []ledger.Record{record("r")})
	require.ErrorIs(t, err, ledger.ErrStore)
	_, err = s.Renew(bg, "", t0, time.Minute, []string{"r"})
	require.ErrorIs(t, err, ledger.ErrStore)
}

func TestNotFoundIsStoreError(t *testing.T) {
	s := openTemp(t)
	_, err := s.Get(bg, "nope")
	require.ErrorIs(t, err, payments.ErrNotFound)
	require.ErrorIs(t, err, ledger.ErrStore)
	err = s.HandleEvent(bg, t0, ledger.Event{Provider: "p", ProviderID: "1", State: payments.StatePending})
	require.ErrorIs(t, err, payments.ErrNotFound)
	require.True(t, errors.Is(err, ledger.ErrStore))
}

// TestOtherWritersNotStarved: while this process writes back to back from
// many goroutines, another connection to the file (another process: a
// replica, a restarted ledger) still gets the write lock well within its
// busy timeout.
func TestOtherWritersNotStarved(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ledger.db")
	s := openAt(t, path)
	ctx, stop := context.WithCancel(bg)
	var wg sync.WaitGroup
	var writes atomic.Int64
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ctx.Err() == nil; i++ {
				_, err := s.Insert(ctx, t0, []ledger.Record{record(fmt.Sprintf("g%d-%d", g, i))}, nil)
				if err != nil && ctx.Err() == nil {
					t.Error(err)
					return
				}
				writes.Add(1)
			}
		}()
	}
	defer func() { stop(); wg.Wait() }()
	time.Sleep(200 * time.Millisecond) // the store's writes are back to back by now

	other := rawDB(t, path+"?_pragma=busy_timeout(5000)")
	conn, err := other.Conn(bg)
	require.NoError(t, err)
	defer conn.Close()
	// Several times, so the other's busy handler has ramped up to its
	// longest sleeps between tries.
	for round := 0; round < 5; round++ {
		start := time.Now()
		before := writes.Load()
		_, err = conn.ExecContext(bg, "BEGIN EXCLUSIVE")
		waited := time.Since(start)
		require.NoError(t, err, "round %d: the other connection got no write lock in %v", round, waited)
		time.Sleep(20 * time.Millisecond) // the store's writers queue up meanwhile
		_, err = conn.ExecContext(bg, "ROLLBACK")
		require.NoError(t, err)
		t.Logf("round %d: the other writer waited %v; the store wrote %d times meanwhile", round, waited, writes.Load()-before)
		require.Less(t, waited, 3*time.Second, "round %d: well within its busy timeout", round)
		time.Sleep(150 * time.Millisecond)
	}
}

// TestDeadlineBoundsTheBusyWait: a write waiting for another process's
// write lock gives up when its context's deadline passes, not after the
// 5 s busy timeout, and says its deadline passed. Then it works again.
func TestDeadlineBoundsTheBusyWait(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ledger.db")
	s := openAt(t, path)
	other := rawDB(t, path)
	conn, err := other.Conn(bg)
	require.NoError(t, err)
	defer conn.Close()
	_, err = conn.ExecContext(bg, "BEGIN IMMEDIATE") // another process's write
	require.NoError(t, err)

	const wait = 500 * time.Millisecond
	for _, op := range []string{"Insert", "Claim"} {
		ctx, cancel := context.WithTimeout(bg, wait)
		start := time.Now()
		if op == "Insert" {
			_, err = s.Insert(ctx, t0, []ledger.Record{record("r")}, nil)
		} else {
			_, err = s.Claim(ctx, "a", t0, time.Minute, 10)
		}
		took := time.Since(start)
		cancel()
		require.ErrorIs(t, err, ledger.ErrStore, op)
		require.ErrorIs(t, err, context.DeadlineExceeded, op)
		require.Contains(t, err.Error(), "context deadline exceeded while waiting for another connection's write lock", op)
		require.Less(t, took, wait+2*time.Second, "%s with a %v deadline waited %v", op, wait, took)
	}

	_, err = conn.ExecContext(bg, "ROLLBACK")
	require.NoError(t, err)
	// The busy timeout is the whole 5 s again for a call without deadline,
	// and the store writes.
	n, err := s.Insert(bg, t0, []ledger.Record{record("r")}, nil)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	var busy int
	require.NoError(t, s.w.QueryRow("PRAGMA busy_timeout").Scan(&busy))
	require.Equal(t, int(BusyTimeout/time.Millisecond), busy)
}

// TestBindingsAcrossStores: two Stores on one file (two writer
// connections, as two processes have) acquire one ref at once: one
// provider wins and the counts are 1..n, each once.
func TestBindingsAcrossStores(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ledger.db")
	stores := []*Store{openAt(t, path), openAt(t, path)}
	const workers, each = 8, 10
	var (
		mu     sync.Mutex
		bounds = map[string]int{}
		counts = map[int]int{}
		wg     sync.WaitGroup
	)
	for w := 0; w < workers; w++ {
		s, provider := stores[w%2], fmt.Sprintf("p%d", w)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				bound, sends, err := s.AcquireBinding(bg, t0, "r", provider)
				if !assert.NoError(t, err) {
					return
				}
				mu.Lock()
				bounds[bound]++
				counts[sends]++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	require.Len(t, bounds, 1, "one provider for every acquire: %v", bounds)
	require.Len(t, counts, workers*each, "every count once")
	for n := 1; n <= workers*each; n++ {
		require.Equal(t, 1, counts[n], "count %d", n)
	}
}

// TestMigrateFromVersion1: a file of the first release (schema 1, a
// payout in it) is brought to this release's schema: the payout stays,
// bindings work.
func TestMigrateFromVersion1(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ledger.db")
	v1, err := migrationFiles.ReadFile("migrations/0001_init.sql")
	require.NoError(t, err)
	db := rawDB(t, path)
	for _, q := range []string{
		`CREATE TABLE ledger_migrations (version INTEGER NOT NULL PRIMARY KEY, applied_at INTEGER NOT NULL) STRICT`,
		string(v1),
		`INSERT INTO ledger_migrations VALUES (1, 0)`,
		`INSERT INTO payouts (ref, provider, amount, currency, kind, account, bank, status, provider_id, code, message,
			last_error, sends, polls, created_at, sent_at, accepted_at, final_at, updated_at, next_at, reported)
			VALUES ('old', 'qiwi', '1.50', 'RUB', 'mobile', '79161234567', '', 'pending', 'q-1', '', '', '', 1, 0, 1, 1, 1, 0, 1, 1, 0)`,
	} {
		_, err := db.Exec(q)
		require.NoError(t, err)
	}
	require.NoError(t, db.Close())

	s := openAt(t, path)
	r, err := s.Get(bg, "old")
	require.NoError(t, err)
	require.Equal(t, ledger.Pending, r.Status)
	bound, sends, err := s.AcquireBinding(bg, t0, "old", "royalpay")
	require.NoError(t, err)
	require.Equal(t, "royalpay", bound)
	require.Equal(t, 1, sends)
	var max int
	require.NoError(t, s.w.QueryRow(`SELECT MAX(version) FROM ledger_migrations`).Scan(&max))
	require.Equal(t, SchemaVersion(), max)
	require.GreaterOrEqual(t, max, 2)
}

// TestMemory: ":memory:" is a database of the Store's own, shared by its
// writer and readers, written in no file, gone at Close; two in-memory
// Stores see nothing of each other.
func TestMemory(t *testing.T) {
	dir := t.TempDir()
	chdir(t, dir)
	a, b := openAt(t, Memory), openAt(t, Memory)
	_, err := a.Insert(bg, t0, []ledger.Record{record("r")}, nil)
	require.NoError(t, err)
	// The writer connection discarded (as after a failed transaction),
	// before any reader connection was opened: the database outlives it.
	sc, err := a.w.Conn(bg)
	require.NoError(t, err)
	a.discard(sc)
	_ = sc.Close()             // closed by discard already
	got, err := a.Get(bg, "r") // a reader sees the writer's commit
	require.NoError(t, err, "the records outlive a replaced writer connection")
	require.Equal(t, "r", got.Ref)
	_, err = a.Insert(bg, t0, []ledger.Record{record("s")}, nil)
	require.NoError(t, err)
	_, err = b.Get(bg, "r")
	require.ErrorIs(t, err, payments.ErrNotFound, "another in-memory Store sees the first one's records")
	require.Equal(t, "sqlite :memory:", a.String())

	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Empty(t, entries, "an in-memory Store wrote files")

	require.NoError(t, a.Close())
	c := openAt(t, Memory)
	_, err = c.Get(bg, "r")
	require.ErrorIs(t, err, payments.ErrNotFound)
}

// TestURIRefused: a SQLite URI is not a path; Open says so and creates
// nothing.
func TestURIRefused(t *testing.T) {
	dir := t.TempDir()
	chdir(t, dir)
	for _, p := range []string{"file:ledger.db", "FILE:ledger.db?mode=memory", "file::memory:?cache=shared"} {
		s, err := Open(bg, p)
		require.Nil(t, s, p)
		require.ErrorIs(t, err, ledger.ErrStore, p)
		require.Contains(t, err.Error(), "pass a file path", p)
	}
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Empty(t, entries, "a refused URI created files")
}

// TestFormatIsTheName: every verb prints the store's name, never its
// fields.
func TestFormatIsTheName(t *testing.T) {
	s := openTemp(t)
	for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
		require.Equal(t, s.String(), fmt.Sprintf(verb, s), verb)
	}
}

// chdir makes dir the working directory until t ends (the tests using it
// are not parallel).
func chdir(t *testing.T, dir string) {
	t.Helper()
	old, err := os.Getwd()
	require.NoError(t, err)
	require.NoError(t, os.Chdir(dir))
	t.Cleanup(func() { require.NoError(t, os.Chdir(old)) })
}

// TestDump: storetest.DumpSQLite shows every table of the file, every
// column as text.
func TestDump(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ledger.db")
	s := openAt(t, path)
	r := record("r")
	r.To = payout.Destination{Kind: payout.Card, Account: "4111111111111111"}
	r.LastError = "the provider said: card 5500000000000004 refused"
	_, err := s.Insert(bg, t0, []ledger.Record{r}, nil)
	require.NoError(t, err)
	_, _, err = s.AddEvent(bg, t0, ledger.Event{Provider: "paykeeper", ProviderID: "77", State: payments.StatePending,
		OrderRef: "order-77", Amount: payments.MustMoney("5.00", "RUB")})
	require.NoError(t, err)
	_, _, err = s.AcquireBinding(bg, t0, "bound-ref", "royalpay")
	require.NoError(t, err)

	dump := storetest.DumpSQLite(t, path)
	t.Log(dump)
	var tables []string
	for _, line := range strings.Split(dump, "\n") {
		if name, ok := strings.CutPrefix(line, "== "); ok {
			tables = append(tables, strings.Fields(name)[0])
		}
	}
	require.Equal(t, []string{"bindings", "events", "ledger_migrations", "payout_steps", "payouts"}, tables)
	for _, want := range []string{"4111111111111111", "5500000000000004", "order-77", "bound-ref | royalpay | 1 | ",
		fmt.Sprint(t0.UnixMicro()), "12.34"} {
		require.Contains(t, dump, want)
	}
}
