package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/ledger"
	"github.com/paysdk/payments/ledger/storetest"
	"github.com/paysdk/payments/popolni/popolnitest"
)

// The job as a real child process: TestCrashChild runs it when a test of
// this file or of replicas_test.go starts this test binary again with
// childEnv set; the parent kills it with SIGKILL whenever it likes.
const (
	childEnv       = "PAYOUTS_CRASH_CHILD"
	childFile      = "PAYOUTS_CHILD_FILE"    // the CSV
	childCA        = "PAYOUTS_CHILD_CA"      // a PEM file: the fake's CA
	childLease     = "PAYOUTS_CHILD_LEASE"   // ledger Options.Lease (a duration), optional
	childSends     = "PAYOUTS_CHILD_SENDS"   // ledger Options.Sends, optional
	childBatch     = "PAYOUTS_CHILD_BATCH"   // ledger Options.Batch, optional
	childBarrier   = "PAYOUTS_CHILD_BARRIER" // a folder: say ready there, start when it has "go", optional
	childEnvPrefix = "PAYOUTS_CHILD_ENV_"    // + a name: the job's environment (its env func)
)

// TestCrashChild is the job in a child process; it does nothing unless
// started by a parent test with childEnv set.
func TestCrashChild(t *testing.T) {
	if os.Getenv(childEnv) != "1" {
		t.Skip("the child process of TestCrash* and TestReplicas*: runs only when they start it")
	}
	var h hooks
	if path := os.Getenv(childCA); path != "" { // else the job's embedded fake
		ca, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		h.client = []payments.Option{payments.WithRootCAsPEM(ca), payments.WithResolve(popolnitest.Host, "127.0.0.1"), payments.WithTestTiming()}
	}
	lease, _ := time.ParseDuration(os.Getenv(childLease))
	sends, _ := strconv.Atoi(os.Getenv(childSends))
	batch, _ := strconv.Atoi(os.Getenv(childBatch))
	h.ledger = func(o *ledger.Options) {
		fastLedger(o)
		o.Lease, o.Sends, o.Batch = lease, sends, batch // 0: the default
	}
	if dir := os.Getenv(childBarrier); dir != "" {
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("ready-%d", os.Getpid())), nil, 0o600); err != nil {
			t.Fatal(err)
		}
		for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(time.Millisecond) {
			if _, err := os.Stat(filepath.Join(dir, "go")); err == nil {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("no go from the parent")
			}
		}
	}
	env := func(k string) string { return os.Getenv(childEnvPrefix + k) }
	code := run(context.Background(), []string{os.Getenv(childFile)}, env, os.Stdout, os.Stderr, h)
	fmt.Printf("child: exit %d\n", code)
	if code != exitOK {
		t.Fatalf("the job exited %d", code)
	}
}

// childSpec says how to start a child job.
type childSpec struct {
	file, store, caFile string
	srv                 *popolnitest.Server
	lease               time.Duration
	sends, batch        int
	barrier             string // a folder, for children that start their jobs together
	// demo: the job as make demo runs it, paying its embedded fake, its
	// only variable PAYMENTS_STORE (srv and caFile unused).
	demo bool
}

// child is a running child job.
type child struct {
	cmd   *exec.Cmd
	out   *bytes.Buffer // stdout and stderr; read only after done
	start time.Time
	done  chan struct{}
	err   error         // Wait's, after done
	took  time.Duration // after done
}

// writeCA writes srv's CA certificate for the children.
func writeCA(t testing.TB, srv *popolnitest.Server) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "ca.pem")
	require.NoError(t, os.WriteFile(path, srv.CACertPEM(), 0o600))
	return path
}

func startChild(t testing.TB, s childSpec) *child {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1", "-test.timeout=60s")
	env := []string{
		childEnv + "=1",
		childFile + "=" + s.file,
		childEnvPrefix + "PAYMENTS_STORE=" + s.store,
	}
	if !s.demo {
		env = append(env,
			childCA+"="+s.caFile,
			childEnvPrefix+"POPOLNI_LOGIN="+s.srv.Login(),
			childEnvPrefix+"POPOLNI_PASSWORD="+s.srv.Password(),
			childEnvPrefix+"POPOLNI_URL="+s.srv.URL(),
			childEnvPrefix+cardKeysEnv+"="+testCardKeys, // replicas share the keys
		)
	}
	if s.lease > 0 {
		env = append(env, childLease+"="+s.lease.String())
	}
	if s.barrier != "" {
		env = append(env, childBarrier+"="+s.barrier)
	}
	if s.sends > 0 {
		env = append(env, childSends+"="+strconv.Itoa(s.sends))
	}
	if s.batch > 0 {
		env = append(env, childBatch+"="+strconv.Itoa(s.batch))
	}
	// The race detector sleeps a second before a race-enabled binary
	// exits (GORACE atexit_sleep_ms, default 1000): not in the children.
	gorace := "atexit_sleep_ms=0"
	for _, kv := range os.Environ() {
		switch {
		case strings.HasPrefix(kv, "PAYOUTS_"):
		case strings.HasPrefix(kv, "GORACE="):
			gorace = strings.TrimPrefix(kv, "GORACE=") + " " + gorace
		default:
			env = append(env, kv)
		}
	}
	env = append(env, "GORACE="+gorace)
	cmd.Env = env
	c := &child{cmd: cmd, out: &bytes.Buffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = c.out, c.out
	c.start = time.Now()
	require.NoError(t, cmd.Start())
	go func() {
		c.err = cmd.Wait()
		c.took = time.Since(c.start)
		close(c.done)
	}()
	return c
}

// kill kills the child with SIGKILL and waits for it to be gone.
func (c *child) kill() {
	_ = c.cmd.Process.Kill() // SIGKILL
	<-c.done
}

// wait waits for the child to end by itself, or kills it after timeout.
func (c *child) wait(t testing.TB, timeout time.Duration) {
	t.Helper()
	select {
	case <-c.done:
	case <-time.After(timeout):
		c.kill()
		t.Fatalf("the child did not end within %v; its output:\n%s", timeout, c.out)
	}
}

// crashRows makes n rows with refs from first: phones and Luhn-valid cards,
// each failEvery-th to failAccount (0: none).
func crashRows(first int64, n, failEvery int, failAccount string) []csvRow {
	rows := make([]csvRow, n)
	for i := range rows {
		ref := strconv.FormatInt(first+int64(i), 10)
		account := fmt.Sprintf("7916%07d", i)
		if i%3 == 1 {
			account = withLuhn(fmt.Sprintf("4%014d", 31*i+7))
		}
		if failEvery > 0 && i%failEvery == failEvery-1 {
			account = failAccount
		}
		rows[i] = csvRow{ref: ref, kopecks: int64(100 + (i*7919)%500000), account: account}
	}
	return rows
}

// withLuhn appends the Luhn check digit to digits.
func withLuhn(digits string) string {
	for d := '0'; d <= '9'; d++ {
		if payments.LuhnValid(digits + string(d)) {
			return digits + string(d)
		}
	}
	panic("unreachable")
}

// reqStats sums up the requests a fake received.
type reqStats struct {
	pays, payItems, statuses int
	resent                   int // ids in more than one pay request
	lostPays, lostPayItems   int // pay requests processed but never answered (the client died)
	lostStatuses             int
}

// requestStats reads srv's requests; call it when no client is left.
func requestStats(t testing.TB, srv *popolnitest.Server) reqStats {
	t.Helper()
	var st reqStats
	sent := map[string]int{}
	for _, r := range srv.Requests() {
		switch r.Op {
		case popolnitest.OpStatus:
			st.statuses++
			if r.Answered == 0 {
				st.lostStatuses++
			}
		case popolnitest.OpPay:
			var items []struct {
				ID json.Number `json:"transactionId"`
			}
			if err := json.Unmarshal(r.Body, &items); err != nil {
				t.Errorf("a pay request's body: %v", err)
			}
			st.pays++
			st.payItems += len(items)
			if r.Answered == 0 {
				st.lostPays++
				st.lostPayItems += len(items)
			}
			for _, it := range items {
				sent[it.ID.String()]++
			}
		}
	}
	for _, n := range sent {
		if n > 1 {
			st.resent++
		}
	}
	return st
}

// assertLedgerFinal checks that the ledger has every row, with its amount
// and account, final (failed exactly for the accounts of failWith),
// reported, and nothing else.
func assertLedgerFinal(t testing.TB, recs []ledger.Record, rows []csvRow, failWith map[string]int) {
	t.Helper()
	var problems []string
	bad := func(format string, a ...any) { problems = append(problems, fmt.Sprintf(format, a...)) }
	byRef := map[string]ledger.Record{}
	for _, r := range recs {
		byRef[r.Ref] = r
	}
	inFile := map[string]bool{}
	for _, row := range rows {
		inFile[row.ref] = true
		r, ok := byRef[row.ref]
		if !ok {
			bad("row %s: not in the ledger", row.ref)
			continue
		}
		want := ledger.Succeeded
		if _, fails := failWith[row.account]; fails {
			want = ledger.Failed
		}
		if r.Status != want || !r.Reported {
			bad("row %s: %s, reported %v; want %s, reported", row.ref, r, r.Reported, want)
		}
		if !r.Amount.Equal(rub(row.kopecks)) || r.To.Account != row.account {
			bad("row %s: the ledger has %s, want %d kopecks to %s", row.ref, r, row.kopecks, payments.MaskPAN(row.account))
		}
	}
	for _, r := range recs {
		if !inFile[r.Ref] {
			bad("%s: in the ledger, not in the file", r)
		}
	}
	if len(problems) > 0 {
		more := ""
		if len(problems) > 20 {
			problems, more = problems[:20], fmt.Sprintf("\n(and %d more)", len(problems)-20)
		}
		t.Errorf("the ledger does not have every row final:\n%s%s", strings.Join(problems, "\n"), more)
	}
}

// kill is one kill of the crash test.
type kill struct {
	atStartup bool          // aimed before the child's first request
	after     time.Duration // since the child started
	requests  int           // the child's requests to the provider
	payments  int           // at the provider once it was dead
}

// histogram renders counts of kills into labelled buckets.
func histogram(title string, labels []string, bucket func(kill) int, kills []kill) string {
	counts := make([]int, len(labels))
	for _, k := range kills {
		counts[bucket(k)]++
	}
	var b strings.Builder
	b.WriteString(title + "\n")
	for i, l := range labels {
		fmt.Fprintf(&b, "  %-12s %3d %s\n", l, counts[i], strings.Repeat("#", counts[i]))
	}
	return b.String()
}

// The kill schedule. A child makes progress only between its start-up
// (exec, opening the store, Submit: ~30 ms, ~0.2-0.3 s under -race) and
// its kill, and the job resumes where the last one stopped, so kills at
// times spread over a whole run (~1.5 s, 7 to 25 s under -race on a busy
// machine) would finish the file in a handful of kills. Each kill
// is aimed instead, whatever the machine's speed:
//
//   - a quarter of them at a random time within the start-up (the
//     median time from a child's start to its first request so far): exec,
//     migration, Submit, the first claim;
//   - the others after a random number (1 to crashMaxRequests) of the
//     child's requests reached the fake, plus 0 to crashJitter: mid-send,
//     mid-poll, between the fake's work and its answer (the fake answers
//     after crashLatency), between a durable InFlight mark and the send.
//
// 37 work kills × ~5 requests is about 60 % of a full run's ~300 requests
// (4 sends at once, claims of 20), so that most kills land while some but
// not all rows are paid, and the last run finishes the rest.
const (
	crashSends       = 4
	crashBatch       = 20
	crashLatency     = 10 * time.Millisecond
	crashMaxRequests = 9
	crashJitter      = 15 * time.Millisecond
)

// The proof of the issue: the job, a real child process, is killed with
// SIGKILL at random points at least 50 times over a file of 300 rows
// against one popolni fake that outlives it; then run to the end. The fake
// must hold exactly one payment per row with the row's amount and account,
// nothing else; the ledger must say every row is final, as the fake does.
func TestCrashKilledAtRandomPaysEveryRowOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("kills the job 50 times: not in -short")
	}
	const (
		nRows     = 300
		minKills  = 50
		failEvery = 30
	)
	failAccount := "79990000000"
	failWith := map[string]int{failAccount: 208}
	srv := newFake(t)
	srv.FailAccount(failAccount, 208)
	srv.DelayNext(1_000_000, crashLatency) // a network's latency: kills land between the fake's work and its answer
	balance, _ := srv.Balance()
	rows := crashRows(2000000001, nRows, failEvery, failAccount)
	dir := t.TempDir()
	spec := childSpec{
		file:   filepath.Join(dir, "payouts.csv"),
		store:  filepath.Join(dir, "payouts.db"),
		caFile: writeCA(t, srv),
		srv:    srv,
		sends:  crashSends,
		batch:  crashBatch,
		// Lease: the default 30 s. The job opens its SQLite file with
		// sqlitestore.Exclusive, which frees a dead process's leases: a
		// restart resumes at once.
	}
	writeCSV(t, spec.file, rows)

	seed := uint64(time.Now().UnixNano())
	if v := os.Getenv("PAYOUTS_CRASH_SEED"); v != "" {
		var err error
		seed, err = strconv.ParseUint(v, 10, 64)
		require.NoError(t, err)
	}
	t.Logf("kill schedule seed %d (PAYOUTS_CRASH_SEED=%d repeats it)", seed, seed)
	rng := rand.New(rand.NewPCG(seed, seed>>1|1))
	requests := func() int { return srv.Count(popolnitest.OpPay) + srv.Count(popolnitest.OpStatus) }

	begin := time.Now()
	var (
		kills    []kill
		selfEnds int             // children that ended by themselves before their kill
		firsts   []time.Duration // each child's first request, since its start
		startup  = 50 * time.Millisecond
	)
	for len(kills) < minKills {
		require.Less(t, time.Since(begin), 90*time.Second, "too slow: %d kills so far", len(kills))
		k := kill{atStartup: rng.IntN(4) == 0}
		base := requests()
		c := startChild(t, spec)
		var deadline <-chan time.Time
		target := -1
		if k.atStartup {
			deadline = time.After(time.Duration(rng.Int64N(int64(startup))))
		} else {
			target = base + 1 + rng.IntN(crashMaxRequests)
		}
		tick := time.NewTicker(time.Millisecond)
		first := false
	wait:
		for {
			select {
			case <-c.done:
				break wait
			case <-deadline:
				c.kill()
				break wait
			case <-tick.C:
				n := requests()
				if !first && n > base {
					first = true
					firsts = append(firsts, time.Since(c.start))
					startup = median(firsts)
				}
				if target >= 0 && n >= target {
					target = -1
					deadline = time.After(time.Duration(rng.Int64N(int64(crashJitter))))
				}
			}
		}
		tick.Stop()
		assertNoFullCard(t, c.out.String(), rows, false)
		if c.cmd.ProcessState.Exited() {
			// The job had nothing left to do, or little: the next work
			// kills aim at its start-up too.
			require.NoError(t, c.err, "a child ended by itself with an error; its output:\n%s", c.out)
			selfEnds++
			continue
		}
		k.after, k.requests, k.payments = c.took, requests()-base, len(srv.Payments())
		kills = append(kills, k)
	}
	killing := time.Since(begin)

	c := startChild(t, spec)
	select {
	case <-c.done:
		require.NoError(t, c.err, "the last run failed; its output:\n%s", c.out)
		require.Contains(t, c.out.String(), fmt.Sprintf("payouts: all %d rows final: %d succeeded, %d failed\n",
			nRows, nRows-nRows/failEvery, nRows/failEvery))
	case <-time.After(45 * time.Second):
		_ = c.cmd.Process.Signal(syscall.SIGQUIT) // a goroutine dump
		select {
		case <-c.done:
		case <-time.After(5 * time.Second):
			c.kill()
		}
		open := 0
		for _, r := range listStore(t, spec.store) {
			if !r.Status.Final() || !r.Reported {
				if open++; open <= 10 {
					t.Logf("open: %s sends %d polls %d, next in %v, last error %q", r, r.Sends, r.Polls, time.Until(r.NextAt), r.LastError)
				}
			}
		}
		// What the provider holds says more than the hang: check it first.
		assertPaidOnce(t, srv, rows, failWith)
		t.Fatalf("the last run did not end within 45s (%d records open); its output:\n%s", open, c.out)
	}

	assertNoFullCard(t, c.out.String(), rows, false)
	assertPaidOnce(t, srv, rows, failWith)
	paid := int64(0)
	for _, row := range rows {
		if _, fails := failWith[row.account]; !fails {
			paid += row.kopecks
		}
	}
	if current, _ := srv.Balance(); current != balance-paid {
		t.Errorf("the provider's balance went from %d to %d, want -%d", balance, current, paid)
	}
	recs := opened(t, listStore(t, spec.store), mustKeys(t, testCardKeys))
	assertLedgerFinal(t, recs, rows, failWith)
	assertNoCardAtRest(t, storetest.DumpSQLite(t, spec.store), rows)

	// What the kills hit.
	st := requestStats(t, srv)
	resent, mid, atStartup := 0, 0, 0
	for _, r := range recs {
		if r.Sends > 1 {
			resent++
		}
	}
	for _, k := range kills {
		if k.payments > 0 && k.payments < nRows {
			mid++
		}
		if k.atStartup {
			atStartup++
		}
	}
	t.Logf("%d kills (%d aimed at start-up, median start-up %v) in %v; %d children ended by themselves before their kill; the last run took %v",
		len(kills), atStartup, startup.Round(time.Millisecond), killing.Round(time.Millisecond), selfEnds, c.took.Round(time.Millisecond))
	t.Logf("the fake got %d pay requests (%d payouts in them, %d ids sent twice and answered 124) and %d status requests; "+
		"%d pay requests (%d payouts) and %d status requests were done by the fake but their answers lost to a kill; "+
		"%d records were marked InFlight more than once (a kill after the durable mark, before the answer was saved)",
		st.pays, st.payItems, st.resent, st.statuses, st.lostPays, st.lostPayItems, st.lostStatuses, resent)
	t.Log("\n" + histogram("kills by time since the child started:",
		[]string{"<50ms", "50-100ms", "100-200ms", "200-400ms", "0.4-0.8s", "0.8-1.6s", "1.6-3.2s", ">=3.2s"},
		func(k kill) int {
			for i, d := 0, 50*time.Millisecond; i < 7; i, d = i+1, d*2 {
				if k.after < d {
					return i
				}
			}
			return 7
		}, kills) +
		histogram("kills by payments at the fake then:",
			[]string{"0", "1-49", "50-99", "100-149", "150-199", "200-249", "250-299", "300 (all)"},
			func(k kill) int {
				switch {
				case k.payments == 0:
					return 0
				case k.payments >= nRows:
					return 7
				default:
					return 1 + k.payments/50
				}
			}, kills))
	var trail []string
	for _, k := range kills {
		mark := ""
		if k.atStartup {
			mark = "s"
		}
		trail = append(trail, fmt.Sprintf("%s%v/%d/%d", mark, k.after.Round(time.Millisecond), k.requests, k.payments))
	}
	t.Logf("each kill, after/requests/payments (s: aimed at start-up): %s", strings.Join(trail, " "))
	if mid < minKills/5 {
		t.Errorf("only %d kills landed while some but not all rows were paid: the schedule misses the payments", mid)
	}
}

// median returns the median of ds (not empty); it sorts ds.
func median(ds []time.Duration) time.Duration {
	slices.Sort(ds)
	return ds[len(ds)/2]
}
