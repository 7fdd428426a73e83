package pgstore_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/internal/pgtest"
	"github.com/paysdk/payments/ledger"
	"github.com/paysdk/payments/ledger/pgstore"
	"github.com/paysdk/payments/ledger/storetest"
	"github.com/paysdk/payments/payout"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var bg = context.Background()

// t0 is the tests' clock origin.
var t0 = time.Date(2025, 3, 14, 9, 0, 0, 0, time.UTC)

func open(t testing.TB, dsn string, opts pgstore.Options) *pgstore.Store {
	t.Helper()
	s, err := pgstore.Open(bg, dsn, opts)
	require.NoError(t, err, "Open")
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
	pgtest.DSN(t) // skip here, once, without a database
	storetest.Run(t, func(t *testing.T) ledger.Store {
		return open(t, pgtest.DSN(t), pgstore.Options{})
	})
}

// TestTwoReplicasClaim: two Stores (two pools, as two replicas) claim
// concurrently in small bites from 1,000 due records: no record is returned
// twice, and together they get all.
func TestTwoReplicasClaim(t *testing.T) {
	dsn := pgtest.DSN(t)
	a, b := open(t, dsn, pgstore.Options{PoolSize: 4}), open(t, dsn, pgstore.Options{PoolSize: 4})
	const n = 1000
	n0, err := a.Insert(bg, t0, records("r", n), nil)
	require.NoError(t, err)
	require.Equal(t, n, n0)

	now := t0.Add(time.Second)
	var (
		mu      sync.Mutex
		claimed = map[string]string{}
		total   int // records returned, duplicates included: bounds the loop if leases fail
		errs    []error
		wg      sync.WaitGroup
	)
	for i, s := range []*pgstore.Store{a, b, a, b, a, b, a, b} {
		owner := fmt.Sprintf("replica-%d", i%2)
		limit := 1 + i%7
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				rs, err := s.Claim(bg, owner, now, time.Hour, limit)
				mu.Lock()
				if err != nil {
					errs = append(errs, err)
				}
				for _, r := range rs {
					if prev, dup := claimed[r.Ref]; dup {
						errs = append(errs, fmt.Errorf("%s claimed by %s, already leased to %s", r.Ref, owner, prev))
					}
					claimed[r.Ref] = owner
				}
				total += len(rs)
				runaway := total > 2*n
				mu.Unlock()
				if err != nil || len(rs) == 0 || runaway {
					return
				}
			}
		}()
	}
	wg.Wait()
	if len(errs) > 5 {
		errs = append(errs[:5], fmt.Errorf("and %d more", len(errs)-5))
	}
	require.Empty(t, errs)
	require.Len(t, claimed, n, "together they claim every due record")
	perOwner := map[string]int{}
	for _, o := range claimed {
		perOwner[o]++
	}
	t.Logf("claimed per replica: %v", perOwner)
}

// TestExpiredLeaseTakenOver: a replica that stops renewing loses the record
// to the other one once its lease ends, and its late Save is refused.
func TestExpiredLeaseTakenOver(t *testing.T) {
	dsn := pgtest.DSN(t)
	a, b := open(t, dsn, pgstore.Options{}), open(t, dsn, pgstore.Options{})
	_, err := a.Insert(bg, t0, []ledger.Record{record("r")}, nil)
	require.NoError(t, err)

	ra, err := a.Claim(bg, "a", t0, 10*time.Second, 10)
	require.NoError(t, err)
	require.Len(t, ra, 1)
	rb, err := b.Claim(bg, "b", t0.Add(9*time.Second), 10*time.Second, 10)
	require.NoError(t, err)
	require.Empty(t, rb, "a's lease still lasts")
	rb, err = b.Claim(bg, "b", t0.Add(10*time.Second), 10*time.Second, 10)
	require.NoError(t, err)
	require.Len(t, rb, 1, "a's lease ended: b takes the record over")

	ra[0].Status = ledger.Failed
	lost, err := a.Save(bg, "a", t0.Add(11*time.Second), 0, ra)
	require.NoError(t, err)
	require.Equal(t, []string{"r"}, lost)
	lost, err = a.Renew(bg, "a", t0.Add(11*time.Second), time.Minute, []string{"r"})
	require.NoError(t, err)
	require.Equal(t, []string{"r"}, lost)

	rb[0].Status = ledger.Pending
	lost, err = b.Save(bg, "b", t0.Add(12*time.Second), 0, rb)
	require.NoError(t, err)
	require.Empty(t, lost)
	got, err := a.Get(bg, "r")
	require.NoError(t, err)
	require.Equal(t, ledger.Pending, got.Status)
}

// TestInsertRaceSameRef: two replicas Insert the same new ref with different
// amounts at once, each with a check refusing a stored record that differs.
// Exactly one inserts; the other's check sees the winner's record and
// refuses: it never returns "0 inserted, no error" for a record it did not
// see.
func TestInsertRaceSameRef(t *testing.T) {
	dsn := pgtest.DSN(t)
	a, b := open(t, dsn, pgstore.Options{}), open(t, dsn, pgstore.Options{})
	for round := 0; round < 30; round++ {
		ref := fmt.Sprintf("race-%d", round)
		var (
			wg      sync.WaitGroup
			results [2]error
			counts  [2]int
		)
		start := make(chan struct{})
		for i, s := range []*pgstore.Store{a, b} {
			r := record(ref)
			r.Amount = payments.MustMoney(fmt.Sprintf("%d.00", i+1), "RUB")
			// Other refs in the batch, to widen the race.
			batch := append(records(fmt.Sprintf("%s-%d", ref, i), 50), r)
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				counts[i], results[i] = s.Insert(bg, t0, batch, func(existing []ledger.Record) error {
					for _, e := range existing {
						if e.Ref == ref && !e.Amount.Equal(r.Amount) {
							return fmt.Errorf("%w: %s", ledger.ErrConflict, ref)
						}
					}
					return nil
				})
			}()
		}
		close(start)
		wg.Wait()
		ok := 0
		for i := range results {
			switch {
			case results[i] == nil:
				require.Equal(t, 51, counts[i], "round %d: the winner inserts its whole batch", round)
				ok++
			default:
				require.ErrorIs(t, results[i], ledger.ErrConflict, "round %d", round)
			}
		}
		require.Equal(t, 1, ok, "round %d: exactly one Insert of %s wins: %v", round, ref, results)
	}
}

// TestCutAndRestore: when the database vanishes every operation fails with
// ledger.ErrStore within a bounded time, and when it is back the same Store
// works again.
func TestCutAndRestore(t *testing.T) {
	dsn := pgtest.DSN(t)
	p := pgtest.NewProxy(t, pgtest.Target(dsn))
	s := open(t, p.DSN(dsn), pgstore.Options{PoolSize: 4, OpTimeout: 2 * time.Second, ConnectTimeout: time.Second})
	_, err := s.Insert(bg, t0, records("r", 10), nil)
	require.NoError(t, err)
	_, _, err = s.AddEvent(bg, t0, ledger.Event{Provider: "p", ProviderID: "1", State: payments.StatePending})
	require.NoError(t, err)

	ops := map[string]func() error{
		"Insert": func() error { _, err := s.Insert(bg, t0, records("new", 3), nil); return err },
		"Claim":  func() error { _, err := s.Claim(bg, "a", t0, time.Minute, 5); return err },
		"Save": func() error {
			_, err := s.Save(bg, "a", t0, 0, records("r", 2))
			return err
		},
		"Renew":  func() error { _, err := s.Renew(bg, "a", t0, time.Minute, []string{"r-000000"}); return err },
		"Get":    func() error { _, err := s.Get(bg, "r-000001"); return err },
		"List":   func() error { _, err := s.List(bg, ledger.Filter{Open: true}); return err },
		"Count":  func() error { _, err := s.Count(bg); return err },
		"Events": func() error { _, err := s.Events(bg, 0); return err },
		"AddEvent": func() error {
			_, _, err := s.AddEvent(bg, t0, ledger.Event{Provider: "p", ProviderID: "2"})
			return err
		},
		"HandleEvent": func() error {
			return s.HandleEvent(bg, t0, ledger.Event{Provider: "p", ProviderID: "1", State: payments.StatePending})
		},
	}
	for round := 0; round < 2; round++ {
		p.Cut()
		for name, op := range ops {
			start := time.Now()
			err := op()
			took := time.Since(start)
			require.Error(t, err, "%s with the database gone", name)
			require.ErrorIs(t, err, ledger.ErrStore, name)
			require.Less(t, took, 5*time.Second, "%s took %v to fail", name, took)
		}
		p.Restore()
		for name, op := range ops {
			require.NoError(t, op(), "%s after the database came back (round %d)", name, round)
		}
	}
	counts, err := s.Count(bg)
	require.NoError(t, err)
	require.Equal(t, 13, counts[ledger.Recorded])
}

// TestRestartFailsOneOperation: when every connection breaks at once (a
// restarted server, a dropped link) and the database is back at once, only
// the operation that met the first broken connection fails: the idle
// connections are pinged before reuse, not handed out one failure each.
func TestRestartFailsOneOperation(t *testing.T) {
	dsn := pgtest.DSN(t)
	p := pgtest.NewProxy(t, pgtest.Target(dsn))
	s := open(t, p.DSN(dsn), pgstore.Options{PoolSize: 4, OpTimeout: 2 * time.Second, ConnectTimeout: time.Second})
	// Open several connections: concurrent operations.
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 20 {
				_, err := s.Count(bg)
				assert.NoError(t, err)
			}
		}()
	}
	wg.Wait()

	p.Cut()
	p.Restore()
	failed := 0
	for range 8 {
		if _, err := s.Count(bg); err != nil {
			require.ErrorIs(t, err, ledger.ErrStore)
			failed++
		}
	}
	require.LessOrEqual(t, failed, 1, "operations failed after the database came back")
}

// TestStallAndRestore: when the database stops answering without closing
// anything (a network partition), operations fail with ledger.ErrStore
// within OpTimeout and a little more, and the Store works again when the
// network is back.
func TestStallAndRestore(t *testing.T) {
	dsn := pgtest.DSN(t)
	p := pgtest.NewProxy(t, pgtest.Target(dsn))
	const opTimeout = 500 * time.Millisecond
	s := open(t, p.DSN(dsn), pgstore.Options{PoolSize: 2, OpTimeout: opTimeout, ConnectTimeout: 300 * time.Millisecond})
	_, err := s.Insert(bg, t0, records("r", 3), nil)
	require.NoError(t, err)

	p.Stall()
	for name, op := range map[string]func() error{
		"Claim": func() error { _, err := s.Claim(bg, "a", t0, time.Minute, 5); return err },
		"Get":   func() error { _, err := s.Get(bg, "r-000001"); return err },
		"Insert": func() error {
			_, err := s.Insert(bg, t0, records("new", 2), nil)
			return err
		},
	} {
		start := time.Now()
		err := op()
		took := time.Since(start)
		require.ErrorIs(t, err, ledger.ErrStore, name)
		require.ErrorIs(t, err, context.DeadlineExceeded, name)
		// OpTimeout, then up to a second for the server to cancel the
		// statement before the connection is given up.
		require.Less(t, took, opTimeout+2*time.Second, "%s took %v to fail", name, took)
		t.Logf("%s failed after %v: %v", name, took, err)
	}
	p.Restore()
	require.Eventually(t, func() bool {
		_, err := s.Count(bg)
		return err == nil
	}, 5*time.Second, 50*time.Millisecond, "the Store works again after the network is back")
	c, err := s.Count(bg)
	require.NoError(t, err)
	require.Equal(t, 3, c[ledger.Recorded], "nothing of the failed Insert was committed")
}

// TestHangingServerTimesOut: a server that accepts and never answers (a
// black hole) fails Open within the connect timeout, and operations of an
// open Store within OpTimeout.
func TestHangingServerTimesOut(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	var (
		conns []net.Conn
		mu    sync.Mutex
		done  = make(chan struct{})
	)
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	defer func() {
		ln.Close()
		<-done
		for _, c := range conns {
			c.Close()
		}
	}()
	start := time.Now()
	_, err = pgstore.Open(bg, "postgres://postgres@"+ln.Addr().String()+"/test?sslmode=disable", pgstore.Options{ConnectTimeout: 500 * time.Millisecond})
	took := time.Since(start)
	require.ErrorIs(t, err, ledger.ErrStore)
	require.Less(t, took, 3*time.Second, "Open against a black hole took %v", took)
	t.Logf("Open against a black hole: %v after %v", err, took)
}

// TestMigrationsConcurrent: four replicas opening a fresh schema at once all
// succeed, and the schema is migrated once.
func TestMigrationsConcurrent(t *testing.T) {
	dsn := pgtest.DSN(t)
	var wg sync.WaitGroup
	stores := make([]*pgstore.Store, 4)
	errs := make([]error, 4)
	for i := range stores {
		wg.Add(1)
		go func() {
			defer wg.Done()
			stores[i], errs[i] = pgstore.Open(bg, dsn, pgstore.Options{PoolSize: 2})
		}()
	}
	wg.Wait()
	for i, s := range stores {
		require.NoError(t, errs[i], "Open %d", i)
		defer s.Close()
	}
	_, err := stores[0].Insert(bg, t0, records("r", 4), nil)
	require.NoError(t, err)
	for _, s := range stores {
		c, err := s.Count(bg)
		require.NoError(t, err)
		require.Equal(t, 4, c[ledger.Recorded])
	}
	conn := connect(t, dsn)
	var versions, rows int
	require.NoError(t, conn.QueryRow(bg, "SELECT count(DISTINCT version), count(*) FROM ledger_migrations").Scan(&versions, &rows))
	require.Equal(t, versions, rows, "each migration recorded once")
	require.GreaterOrEqual(t, versions, 1)
}

func connect(t *testing.T, dsn string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(bg, dsn)
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close(bg) })
	return conn
}

// TestNewerSchemaRefused: a schema migrated by a newer release of the code is
// refused at Open, clearly.
func TestNewerSchemaRefused(t *testing.T) {
	dsn := pgtest.DSN(t)
	open(t, dsn, pgstore.Options{}).Close()
	_, err := connect(t, dsn).Exec(bg, "INSERT INTO ledger_migrations (version) VALUES (999)")
	require.NoError(t, err)
	_, err = pgstore.Open(bg, dsn, pgstore.Options{})
	require.ErrorIs(t, err, ledger.ErrStore)
	var se *ledger.StoreError
	require.ErrorAs(t, err, &se)
	require.Equal(t, "migrate", se.Op)
	require.Contains(t, err.Error(), "version 999, newer than this code knows")
}

// TestSchemaOption: Options.Schema creates the schema and keeps the tables
// there, whatever the DSN's search_path.
func TestSchemaOption(t *testing.T) {
	dsn := pgtest.DSN(t) // the fresh schema is dropped at the end; ours too, below
	schema := fmt.Sprintf("opt_%d", time.Now().UnixNano())
	conn := connect(t, dsn)
	t.Cleanup(func() { _, _ = conn.Exec(bg, "DROP SCHEMA IF EXISTS "+schema+" CASCADE") })
	s := open(t, dsn, pgstore.Options{Schema: schema})
	_, err := s.Insert(bg, t0, records("r", 2), nil)
	require.NoError(t, err)
	var n int
	require.NoError(t, conn.QueryRow(bg, "SELECT count(*) FROM "+schema+".payouts").Scan(&n))
	require.Equal(t, 2, n)
	require.NoError(t, conn.QueryRow(bg, "SELECT count(*) FROM information_schema.tables WHERE table_name = 'payouts' AND table_schema = current_schema()").Scan(&n))
	require.Zero(t, n, "nothing in the DSN's schema")
}

// TestErrorsNameTheStoreNeverThePassword: failures at Open name the store as
// "postgres host:port/db" and never show the DSN or its password.
func TestErrorsNameTheStoreNeverThePassword(t *testing.T) {
	const secret = "s3cr3t-Pa55"
	for _, dsn := range []string{
		"postgres://payer:" + secret + "@127.0.0.1:1/ledger?sslmode=disable&connect_timeout=1",
		"host=127.0.0.1 port=1 user=payer password=" + secret + " dbname=ledger sslmode=disable connect_timeout=1",
		"postgres://payer:" + secret + "@127.0.0.1:notaport/ledger",
		"postgres://payer:" + secret + "@127.0.0.1:1/ledger?sslmode=bogus",
	} {
		s, err := pgstore.Open(bg, dsn, pgstore.Options{})
		if s != nil {
			s.Close()
		}
		require.Error(t, err, "Open(%s)", dsn)
		require.ErrorIs(t, err, ledger.ErrStore)
		var se *ledger.StoreError
		require.ErrorAs(t, err, &se)
		require.Equal(t, "open", se.Op)
		for _, text := range []string{err.Error(), fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", se.Store)} {
			require.NotContains(t, text, secret)
			require.NotContains(t, text, dsn)
		}
		t.Logf("%v", err)
	}
	// An unreachable server: the error says which store and why.
	_, err := pgstore.Open(bg, "postgres://payer:"+secret+"@127.0.0.1:1/ledger?sslmode=disable", pgstore.Options{})
	require.ErrorIs(t, err, ledger.ErrStore)
	require.True(t, strings.HasPrefix(err.Error(), "ledger store postgres 127.0.0.1:1/ledger: open: "), err.Error())
	require.Contains(t, err.Error(), "connection refused")

	// A real server, a wrong database: named, no password.
	dsn := pgtest.DSN(t)
	cfg, err := pgx.ParseConfig(dsn)
	require.NoError(t, err)
	bad := fmt.Sprintf("postgres://%s:%s@%s:%d/no_such_db_%d?sslmode=disable", cfg.User, secret, cfg.Host, cfg.Port, time.Now().UnixNano())
	_, err = pgstore.Open(bg, bad, pgstore.Options{})
	require.ErrorIs(t, err, ledger.ErrStore)
	require.NotContains(t, err.Error(), secret)
	require.Contains(t, err.Error(), "does not exist")
}

// TestOpsErrorsAreStoreErrors: a store error during an operation (here a
// dropped table) is a *ledger.StoreError naming the operation.
func TestOpsErrorsAreStoreErrors(t *testing.T) {
	dsn := pgtest.DSN(t)
	s := open(t, dsn, pgstore.Options{})
	_, err := connect(t, dsn).Exec(bg, "DROP TABLE payouts CASCADE") // payout_steps refers to it
	require.NoError(t, err)
	_, err = s.Claim(bg, "a", t0, time.Minute, 1)
	var se *ledger.StoreError
	require.ErrorAs(t, err, &se)
	require.Equal(t, "claim", se.Op)
	require.Contains(t, err.Error(), "payouts")
	_, err = s.Get(bg, "x")
	require.ErrorIs(t, err, ledger.ErrStore)
	require.False(t, errors.Is(err, payments.ErrNotFound), "a broken table is not a missing record")
}

// TestClaimUsesQueueIndex: the claim query can use the partial index on the
// work queue (its predicate matches the index's).
func TestClaimUsesQueueIndex(t *testing.T) {
	dsn := pgtest.DSN(t)
	s := open(t, dsn, pgstore.Options{})
	rs := records("r", 2000)
	for i := range rs[:1900] {
		rs[i].Status, rs[i].Reported = ledger.Succeeded, true // done: out of the queue
	}
	_, err := s.Insert(bg, t0, rs, nil)
	require.NoError(t, err)
	conn := connect(t, dsn)
	_, err = conn.Exec(bg, "ANALYZE payouts")
	require.NoError(t, err)
	plan := explain(t, conn, pgstore.ClaimSQL(), "x", int64(1), t0.UnixMicro(), 10)
	require.Contains(t, plan, "payouts_queue", plan)
	plan = explain(t, conn, pgstore.ListSQL(ledger.Filter{Status: []ledger.Status{ledger.Pending}}), []string{"pending"})
	require.Contains(t, plan, "payouts_status", plan)
}

// TestStatsUsesQueueIndex: the gauges' query reads the partial index on
// the work queue, not the whole history, once the history dwarfs the
// queue (here 20,000 done, 100 open; the planner's own choice, seq scans
// allowed).
func TestStatsUsesQueueIndex(t *testing.T) {
	dsn := pgtest.DSN(t)
	s := open(t, dsn, pgstore.Options{})
	rs := records("r", 20100)
	for i := range rs[:20000] {
		rs[i].Status, rs[i].Reported = ledger.Succeeded, true // done: out of the queue
	}
	_, err := s.Insert(bg, t0, rs, nil)
	require.NoError(t, err)
	conn := connect(t, dsn)
	_, err = conn.Exec(bg, "ANALYZE payouts")
	require.NoError(t, err)
	rows, err := conn.Query(bg, "EXPLAIN "+pgstore.StatsSQL())
	require.NoError(t, err)
	lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	plan := strings.Join(lines, "\n")
	t.Logf("plan:\n%s", plan)
	require.Contains(t, plan, "payouts_queue", plan)
	require.NotContains(t, plan, "Seq Scan", plan)
}

func explain(t *testing.T, conn *pgx.Conn, q string, args ...any) string {
	t.Helper()
	tx, err := conn.Begin(bg)
	require.NoError(t, err)
	defer tx.Rollback(bg)
	_, err = tx.Exec(bg, "SET LOCAL enable_seqscan = off")
	require.NoError(t, err)
	rows, err := tx.Query(bg, "EXPLAIN "+q, args...)
	require.NoError(t, err)
	lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	return strings.Join(lines, "\n")
}

// TestInsertBatch10000: a batch of 10,000 goes in fast, and again fast when
// they are all there already.
func TestInsertBatch10000(t *testing.T) {
	s := open(t, pgtest.DSN(t), pgstore.Options{})
	rs := records("big", 10000)
	start := time.Now()
	n, err := s.Insert(bg, t0, rs, nil)
	took := time.Since(start)
	require.NoError(t, err)
	require.Equal(t, 10000, n)
	start = time.Now()
	seen := 0
	n, err = s.Insert(bg, t0, rs, func(existing []ledger.Record) error { seen = len(existing); return nil })
	again := time.Since(start)
	require.NoError(t, err)
	require.Zero(t, n)
	require.Equal(t, 10000, seen)
	t.Logf("10,000 records: inserted in %v, checked again in %v", took, again)
	require.Less(t, took, 10*time.Second)
}

// TestInsertDuplicateRefRefused: a batch naming one ref twice (which the
// contract rules out) is refused whole, not half inserted.
func TestInsertDuplicateRefRefused(t *testing.T) {
	s := open(t, pgtest.DSN(t), pgstore.Options{})
	rs := append(records("r", 3), record("r-000001"))
	n, err := s.Insert(bg, t0, rs, nil)
	require.ErrorIs(t, err, ledger.ErrStore)
	require.Contains(t, err.Error(), `"r-000001" appears twice`)
	require.Zero(t, n)
	c, err := s.Count(bg)
	require.NoError(t, err)
	require.Empty(t, c)
}

// TestOpTimeoutBoundsABlockedOperation: an operation stuck behind a lock
// fails at OpTimeout with ledger.ErrStore, is canceled at the server (it
// does not commit later), and the Store works on.
func TestOpTimeoutBoundsABlockedOperation(t *testing.T) {
	dsn := pgtest.DSN(t)
	s := open(t, dsn, pgstore.Options{PoolSize: 2, OpTimeout: 500 * time.Millisecond})
	_, err := s.Insert(bg, t0, []ledger.Record{record("r")}, nil)
	require.NoError(t, err)
	rs, err := s.Claim(bg, "a", t0, time.Hour, 1)
	require.NoError(t, err)
	require.Len(t, rs, 1)

	blocker, err := connect(t, dsn).Begin(bg)
	require.NoError(t, err)
	_, err = blocker.Exec(bg, "SELECT 1 FROM payouts WHERE ref = 'r' FOR UPDATE")
	require.NoError(t, err)

	rs[0].Status = ledger.Failed
	start := time.Now()
	_, err = s.Save(bg, "a", t0, 0, rs)
	took := time.Since(start)
	require.ErrorIs(t, err, ledger.ErrStore)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.Less(t, took, 2*time.Second)
	t.Logf("blocked Save failed after %v: %v", took, err)

	require.NoError(t, blocker.Rollback(bg))
	time.Sleep(200 * time.Millisecond) // a Save not canceled would commit now
	got, err := s.Get(bg, "r")
	require.NoError(t, err)
	require.Equal(t, ledger.Recorded, got.Status, "the timed-out Save was canceled at the server, not committed late")

	lost, err := s.Save(bg, "a", t0, 0, rs)
	require.NoError(t, err)
	require.Empty(t, lost)
	got, err = s.Get(bg, "r")
	require.NoError(t, err)
	require.Equal(t, ledger.Failed, got.Status)
}

// TestBindingsAcrossReplicas: two Stores (two pools, as two replicas)
// acquire one ref at once: one provider wins and the counts are 1..n,
// each once.
func TestBindingsAcrossReplicas(t *testing.T) {
	dsn := pgtest.DSN(t)
	stores := []*pgstore.Store{open(t, dsn, pgstore.Options{PoolSize: 4}), open(t, dsn, pgstore.Options{PoolSize: 4})}
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

// TestStorePrintsItsName: a Store prints as "postgres host:port/db" with
// every verb, never with its password (the server trusts the test user,
// so a DSN with a password connects).
func TestStorePrintsItsName(t *testing.T) {
	const secret = "s3cr3t-Pa55"
	dsn := pgtest.DSN(t)
	cfg, err := pgx.ParseConfig(dsn)
	require.NoError(t, err)
	withPW := fmt.Sprintf("postgres://%s:%s@%s:%d/%s?sslmode=disable&search_path=%s",
		cfg.User, secret, cfg.Host, cfg.Port, cfg.Database, cfg.RuntimeParams["search_path"])
	s := open(t, withPW, pgstore.Options{})
	want := fmt.Sprintf("postgres %s:%d/%s", cfg.Host, cfg.Port, cfg.Database)
	require.Equal(t, want, s.String())
	require.Equal(t, want, s.Name())
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%d"} {
		got := fmt.Sprintf(verb, s)
		require.Equal(t, want, got, verb)
		require.NotContains(t, got, secret, verb)
	}
}

// TestDump: storetest.DumpPostgres shows every table of the test's schema,
// every column as text.
func TestDump(t *testing.T) {
	dsn := pgtest.DSN(t)
	s := open(t, dsn, pgstore.Options{})
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

	dump := storetest.DumpPostgres(t, dsn)
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
