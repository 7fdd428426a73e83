package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/paysdk/payments/internal/pgtest"
	"github.com/paysdk/payments/ledger"
	"github.com/paysdk/payments/ledger/pgstore"
	"github.com/paysdk/payments/ledger/storetest"
)

// replicaOut is what one replica (a child job) printed.
type replicaOut struct {
	newRows int             // "N new in the ledger"
	finals  map[string]bool // refs of its "final:" lines
	summary string          // its "payouts: all ..." line
}

var newLine = regexp.MustCompile(`(?m)^payouts: \d+ rows, (\d+) new in the ledger`)

func parseReplica(t testing.TB, c *child) replicaOut {
	t.Helper()
	out := c.out.String()
	r := replicaOut{finals: map[string]bool{}}
	m := newLine.FindStringSubmatch(out)
	require.NotNil(t, m, "no 'new in the ledger' line; its output:\n%s", out)
	r.newRows, _ = strconv.Atoi(m[1])
	for _, line := range strings.Split(out, "\n") {
		if rest, ok := strings.CutPrefix(line, "final: "); ok {
			ref := strings.Fields(rest)[0]
			if r.finals[ref] {
				t.Errorf("%s reported twice by one replica", ref)
			}
			r.finals[ref] = true
		}
		if strings.HasPrefix(line, "payouts: all ") {
			r.summary = line
		}
	}
	return r
}

// listPG reads every record of the PostgreSQL store at dsn.
func listPG(t testing.TB, dsn string) []ledger.Record {
	t.Helper()
	ctx := context.Background()
	st, err := pgstore.Open(ctx, dsn, pgstore.Options{})
	require.NoError(t, err)
	defer st.Close()
	recs, err := st.List(ctx, ledger.Filter{})
	require.NoError(t, err)
	return recs
}

// Two replicas on one PostgreSQL ledger work one file at once: both end
// with every row final, each row is sent to the provider exactly once (the
// leases, not the provider's refusal of a repeated transactionId, keep
// them apart), and both did part of the work.
func TestReplicasShareTheWork(t *testing.T) {
	const nRows = 200
	dsn := pgtest.DSN(t)
	srv := newFake(t)
	srv.DelayNext(1_000_000, 5*time.Millisecond)
	rows := crashRows(3000000001, nRows, 0, "")
	dir := t.TempDir()
	spec := childSpec{
		file:   filepath.Join(dir, "payouts.csv"),
		store:  dsn,
		caFile: writeCA(t, srv),
		srv:    srv,
		sends:  4,
		batch:  10, // small claims, so that one replica cannot take the whole file at once
		// Both jobs start together, whatever the time each process takes
		// to come up.
		barrier: t.TempDir(),
	}
	writeCSV(t, spec.file, rows)

	a, b := startChild(t, spec), startChild(t, spec)
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(time.Millisecond) {
		ready, err := filepath.Glob(filepath.Join(spec.barrier, "ready-*"))
		require.NoError(t, err)
		if len(ready) == 2 {
			break
		}
		require.True(t, time.Now().Before(deadline), "the replicas never got ready:\nA:\n%s\nB:\n%s", a.out, b.out)
	}
	start := time.Now()
	require.NoError(t, os.WriteFile(filepath.Join(spec.barrier, "go"), nil, 0o600))
	a.wait(t, 60*time.Second)
	b.wait(t, 60*time.Second)
	require.NoError(t, a.err, "replica A failed; its output:\n%s", a.out)
	require.NoError(t, b.err, "replica B failed; its output:\n%s", b.out)
	t.Logf("both replicas done in %v (A %v, B %v)", time.Since(start).Round(time.Millisecond), a.took.Round(time.Millisecond), b.took.Round(time.Millisecond))

	assertNoFullCard(t, a.out.String()+b.out.String(), rows, false)
	ra, rb := parseReplica(t, a), parseReplica(t, b)
	assert.Equal(t, nRows, ra.newRows+rb.newRows, "the rows recorded by A and by B")
	want := fmt.Sprintf("payouts: all %d rows final: %d succeeded, 0 failed", nRows, nRows)
	assert.Equal(t, want, ra.summary)
	assert.Equal(t, want, rb.summary)
	for _, row := range rows {
		if ra.finals[row.ref] == rb.finals[row.ref] {
			t.Errorf("row %s: reported by A %v, by B %v; want by one of them", row.ref, ra.finals[row.ref], rb.finals[row.ref])
		}
	}
	t.Logf("A recorded %d rows and reported %d final, B recorded %d and reported %d", ra.newRows, len(ra.finals), rb.newRows, len(rb.finals))
	assert.NotEmpty(t, ra.finals, "A did none of the work")
	assert.NotEmpty(t, rb.finals, "B did none of the work")

	assertPaidOnce(t, srv, rows, nil)
	st := requestStats(t, srv)
	assert.Equal(t, nRows, st.payItems, "payouts sent: each row exactly once")
	assert.Zero(t, st.resent, "ids sent by both replicas")
	assertLedgerFinal(t, opened(t, listPG(t, dsn), mustKeys(t, testCardKeys)), rows, nil)
	assertNoCardAtRest(t, storetest.DumpPostgres(t, dsn), rows)
}

// lease is a lease as pgstore keeps it.
type lease struct {
	ref   string
	owner string
	until time.Time
}

// liveLeases reads, straight from pgstore's table, the leases that have
// not ended.
func liveLeases(t testing.TB, conn *pgx.Conn) []lease {
	t.Helper()
	rows, err := conn.Query(context.Background(),
		`SELECT ref, lease_owner, lease_until FROM payouts WHERE lease_owner <> '' AND lease_until > $1 ORDER BY ref`,
		time.Now().UnixMicro())
	require.NoError(t, err)
	defer rows.Close()
	var out []lease
	for rows.Next() {
		var l lease
		var us int64
		require.NoError(t, rows.Scan(&l.ref, &l.owner, &us))
		l.until = time.UnixMicro(us)
		out = append(out, l)
	}
	require.NoError(t, rows.Err())
	return out
}

// A replica killed (SIGKILL) mid-run while it holds leases: the other
// replica, running alongside, finishes the whole file, taking the dead
// one's records once their leases end, and pays each row exactly once.
func TestReplicaKilledHoldingLeases(t *testing.T) {
	const (
		nRows    = 200
		leaseFor = 2 * time.Second
	)
	dsn := pgtest.DSN(t)
	srv := newFake(t)
	srv.DelayNext(1_000_000, 5*time.Millisecond)
	rows := crashRows(4000000001, nRows, 0, "")
	dir := t.TempDir()
	spec := childSpec{
		file:   filepath.Join(dir, "payouts.csv"),
		store:  dsn,
		caFile: writeCA(t, srv),
		srv:    srv,
		sends:  4,
		batch:  20,
		lease:  leaseFor,
	}
	writeCSV(t, spec.file, rows)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	require.NoError(t, err)
	defer conn.Close(ctx)

	// Each replica names its connections, so that the test can tell when
	// the server is done with the dead one's last statement.
	specA, specB := spec, spec
	specA.store = withAppName(t, dsn, "payouts-A")
	specB.store = withAppName(t, dsn, "payouts-B")
	a := startChild(t, specA)
	var b *child
	owner := fmt.Sprintf("-%d-", a.cmd.Process.Pid) // Options.Owner is host-pid-random
	var held []lease
	deadline := time.Now().Add(60 * time.Second)
	for held == nil {
		select {
		case <-a.done:
			t.Fatalf("replica A ended before its kill; its output:\n%s", a.out)
		case <-time.After(2 * time.Millisecond):
		}
		require.True(t, time.Now().Before(deadline), "replica A never got going; its output:\n%s", a.out)
		paid := len(srv.Payments())
		if b == nil && paid > 0 {
			b = startChild(t, specB) // B joins while A works
		}
		if paid < nRows/4 {
			continue
		}
		var mine int
		for _, l := range liveLeases(t, conn) {
			if strings.Contains(l.owner, owner) {
				mine++
			}
		}
		if mine == 0 {
			continue
		}
		a.kill()
		// A statement A sent before it died still runs to its commit: wait
		// until the server has closed A's connections, then read what A
		// held.
		for backends(t, conn, "payouts-A") > 0 {
			time.Sleep(5 * time.Millisecond)
		}
		for _, l := range liveLeases(t, conn) {
			if strings.Contains(l.owner, owner) {
				held = append(held, l)
			}
		}
		require.NotEmpty(t, held, "A let go of its leases just before its kill")
	}
	killedAt := time.Now()
	paidAtKill := len(srv.Payments())
	b.wait(t, 60*time.Second)
	require.NoError(t, b.err, "replica B failed; its output:\n%s", b.out)
	t.Logf("A killed after %v holding %d leases (up to %v later), with %d of %d rows paid; B ended %v after the kill",
		a.took.Round(time.Millisecond), len(held), held[0].until.Sub(killedAt).Round(time.Millisecond), paidAtKill, nRows, time.Since(killedAt).Round(time.Millisecond))

	rb := parseReplica(t, b)
	assert.Equal(t, fmt.Sprintf("payouts: all %d rows final: %d succeeded, 0 failed", nRows, nRows), rb.summary)
	assertPaidOnce(t, srv, rows, nil)
	recs := opened(t, listPG(t, dsn), mustKeys(t, testCardKeys))
	assertLedgerFinal(t, recs, rows, nil)
	byRef := map[string]ledger.Record{}
	for _, r := range recs {
		byRef[r.Ref] = r
	}
	for _, l := range held {
		// A had not saved it reported (that releases the lease): B took it
		// over, only once A's lease had ended, and told of it.
		r := byRef[l.ref]
		if !r.FinalAt.Before(killedAt) && r.FinalAt.Before(l.until) {
			p, _ := srv.Payment(mustInt(l.ref))
			t.Errorf("%s: made final at %v, before A's lease (%s) ended at %v; killed at %v; record %s sends %d polls %d sent %v accepted %v updated %v; payment created %v",
				l.ref, r.FinalAt, l.owner, l.until, killedAt, r, r.Sends, r.Polls, r.SentAt, r.AcceptedAt, r.UpdatedAt, p.Created)
		}
		if !rb.finals[l.ref] {
			t.Errorf("%s: leased by A at its death, but B did not report it", l.ref)
		}
	}
	st := requestStats(t, srv)
	t.Logf("the fake got %d payouts in %d pay requests, %d ids sent twice (answered 124); %d pay requests lost to the kill",
		st.payItems, st.pays, st.resent, st.lostPays)
}

func mustInt(s string) int64 {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		panic(err)
	}
	return n
}

func withAppName(t testing.TB, dsn, name string) string {
	t.Helper()
	out, err := pgtest.WithParam(dsn, "application_name", name)
	require.NoError(t, err)
	return out
}

// backends counts the server's connections named name.
func backends(t testing.TB, conn *pgx.Conn, name string) int {
	t.Helper()
	var n int
	require.NoError(t, conn.QueryRow(context.Background(),
		`SELECT count(*) FROM pg_stat_activity WHERE application_name = $1`, name).Scan(&n))
	return n
}
