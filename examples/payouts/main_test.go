package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/ledger"
	"github.com/paysdk/payments/ledger/sqlitestore"
	"github.com/paysdk/payments/payout"
	"github.com/paysdk/payments/popolni"
	"github.com/paysdk/payments/popolni/popolnitest"
)

// TestMain checks that no test leaves a goroutine behind: run must stop its
// work loop, close the provider (and the embedded fake) and the store. The
// children that crash_test.go and replicas_test.go start from this binary
// go through it too: a child that ends normally is checked the same way.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// csvRow is one payout row of a test file.
type csvRow struct {
	ref     string
	kopecks int64
	account string
}

// writeCSV writes rows under the header the job wants.
func writeCSV(t testing.TB, path string, rows []csvRow) {
	t.Helper()
	var b strings.Builder
	b.WriteString("ref,amount,account\n")
	for _, r := range rows {
		fmt.Fprintf(&b, "%s,%d,%s\n", r.ref, r.kopecks, r.account)
	}
	require.NoError(t, os.WriteFile(path, []byte(b.String()), 0o600))
}

// demoRows are the rows of testdata/demo.csv, which `make demo` pays too.
var demoRows = []csvRow{
	{"1000000001", 15000, "79161234567"},
	{"1000000002", 250000, "4111111111111111"},
	{"1000000003", 50000, "380991234567"},
	{"1000000004", 120000, "5555555555554444"},
	{"1000000005", 9900, "79031112233"},
	{"1000000006", 75000, "4012888888881881"},
	{"1000000007", 30000, "9161234567"},
	{"1000000008", 180000, "2200000000000004"},
	{"1000000009", 10000, "77012345678"},
	{"1000000010", 64000, "378282246310005"},
	{"1000000011", 45050, "998901234567"},
	{"1000000012", 100, "6011111111111117"},
}

// result is what one in-process run of the job said.
type result struct {
	code        int
	out, errOut string
}

// finals returns the refs of the "final:" lines, in order, and their
// statuses.
func (r result) finals() (refs []string, status map[string]string) {
	status = map[string]string{}
	for _, line := range strings.Split(r.out, "\n") {
		rest, ok := strings.CutPrefix(line, "final: ")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) < 2 {
			continue
		}
		refs = append(refs, f[0])
		status[f[0]] = f[1]
	}
	return refs, status
}

// runJob runs the job in this process, as main would, with env as its
// whole environment.
func runJob(t testing.TB, file string, env map[string]string, h hooks) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out, errOut lockedBuffer
	code := run(ctx, []string{file}, func(k string) string { return env[k] }, &out, &errOut, h)
	return result{code: code, out: out.String(), errOut: errOut.String()}
}

// lockedBuffer is a bytes.Buffer safe for concurrent writes: run's
// OnFinal prints from several goroutines of the work loop at once.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// fastLedger keeps the ledger's pauses short for tests.
func fastLedger(o *ledger.Options) {
	o.PollInterval = 20 * time.Millisecond
	o.Idle = 10 * time.Millisecond
	o.Backoff = 10 * time.Millisecond
}

// newFake starts a popolni fake outside the job, as a real provider is: the
// job reaches it through POPOLNI_URL, with the fake's CA trusted and
// popolni.club pinned to its address (certificates verified).
func newFake(t testing.TB, opts ...popolnitest.Option) *popolnitest.Server {
	t.Helper()
	base := []popolnitest.Option{popolnitest.WithT(t), popolnitest.WithBalance(1_000_000_000_00, 0),
		popolnitest.WithRateLimit(0), popolnitest.WithStepsPerPoll(1)}
	return popolnitest.NewServer(append(base, opts...)...)
}

// fakeEnv is the environment that points the job at srv, with its ledger
// in store.
func fakeEnv(srv *popolnitest.Server, store string) map[string]string {
	return map[string]string{
		"POPOLNI_LOGIN":    srv.Login(),
		"POPOLNI_PASSWORD": srv.Password(),
		"POPOLNI_URL":      srv.URL(),
		"PAYMENTS_STORE":   store,
		cardKeysEnv:        testCardKeys,
	}
}

// testCardKeys is the PAYOUTS_CARD_KEYS of the tests against a fake outside
// the job (a real provider's setting): two keys, the first current.
const testCardKeys = "test-2:iPjegQSgclDHAtKNbm457kiUgRvmsqrm6gqr12fSGEA=,test-1:mXKsHfYaH6FWyt+UxqLrbkIE++Oz05dBzeEiOfh93uY="

// mustKeys parses keys as the job does.
func mustKeys(t testing.TB, keys string) keyring {
	t.Helper()
	k, err := parseKeys(keys, cardKeysEnv)
	require.NoError(t, err)
	return k
}

// fileKeys reads the demo key file beside the SQLite store at store.
func fileKeys(t testing.TB, store string) keyring {
	t.Helper()
	b, err := os.ReadFile(store + keyFileSuffix)
	require.NoError(t, err)
	k, err := parseKeys(strings.TrimSpace(string(b)), store+keyFileSuffix)
	require.NoError(t, err)
	return k
}

// opened returns recs with their card numbers opened with keys, and fails
// on a card number the store kept in clear (not of the sealed form).
func opened(t testing.TB, recs []ledger.Record, keys keyring) []ledger.Record {
	t.Helper()
	cards, err := keys.cards()
	require.NoError(t, err)
	out := slices.Clone(recs)
	for i, r := range out {
		if r.To.Kind != payout.Card {
			continue
		}
		if !strings.HasPrefix(r.To.Account, "enc:v1:") {
			t.Errorf("%s: the store keeps its card number in clear", r)
			continue
		}
		pan, err := cards.Open(context.Background(), r.Ref, r.To.Account)
		require.NoError(t, err, "%s", r.Ref)
		out[i].To.Account = pan
	}
	return out
}

// fakeHooks trusts srv's test CA and pins popolni.club to it.
func fakeHooks(t testing.TB, srv *popolnitest.Server) hooks {
	t.Helper()
	host, _, err := net.SplitHostPort(srv.Addr())
	require.NoError(t, err)
	return hooks{
		client: []payments.Option{payments.WithRootCAsPEM(srv.CACertPEM()), payments.WithResolve(popolnitest.Host, host), payments.WithTestTiming()},
		ledger: fastLedger,
	}
}

// listStore reads every record of the SQLite store at path.
func listStore(t testing.TB, path string) []ledger.Record {
	t.Helper()
	ctx := context.Background()
	st, err := sqlitestore.Open(ctx, path)
	require.NoError(t, err)
	defer st.Close()
	recs, err := st.List(ctx, ledger.Filter{})
	require.NoError(t, err)
	return recs
}

// assertNoFullCard fails if any card number of rows appears unmasked in s,
// and, when masked is set, if its masked form does not.
func assertNoFullCard(t testing.TB, s string, rows []csvRow, masked bool) {
	t.Helper()
	for _, r := range rows {
		if len(r.account) < 13 {
			continue
		}
		assert.NotContains(t, s, r.account, "a full card number in the output")
		if masked {
			assert.Contains(t, s, payments.MaskPAN(r.account))
		}
	}
}

func TestDemoFileMatchesDemoRows(t *testing.T) {
	var b strings.Builder
	b.WriteString("ref,amount,account\n")
	for _, r := range demoRows {
		fmt.Fprintf(&b, "%s,%d,%s\n", r.ref, r.kopecks, r.account)
	}
	got, err := os.ReadFile(filepath.Join("testdata", "demo.csv"))
	require.NoError(t, err)
	assert.Equal(t, b.String(), string(got))
	rows, errs := readFile(filepath.Join("testdata", "demo.csv"), payout.Mobile)
	assert.Empty(t, errs)
	assert.Len(t, rows, len(demoRows))
}

// The demo: the embedded fake pays testdata/demo.csv; a second run on the
// same store finds every row final and pays nothing.
func TestDemoTwiceOnOneStore(t *testing.T) {
	store := filepath.Join(t.TempDir(), "payouts.db")
	env := map[string]string{"PAYMENTS_STORE": store}
	file := filepath.Join("testdata", "demo.csv")

	start := time.Now()
	r := runJob(t, file, env, hooks{})
	t.Logf("first run: %v", time.Since(start))
	require.Equal(t, exitOK, r.code, "stdout:\n%s\nstderr:\n%s", r.out, r.errOut)
	assert.Contains(t, r.out, "payouts: no POPOLNI_LOGIN or QIWI_TERMINAL_ID: paying the embedded popolni fake\n")
	assert.Contains(t, r.out, "payouts: 12 rows, 12 new in the ledger, paying through popolni\n")
	refs, status := r.finals()
	assert.Len(t, refs, len(demoRows), "one final: line per row")
	for _, row := range demoRows {
		assert.Equal(t, "succeeded", status[row.ref], "row %s", row.ref)
	}
	assert.True(t, strings.HasSuffix(r.out, "payouts: all 12 rows final: 12 succeeded, 0 failed\n"), r.out)
	assertNoFullCard(t, r.out+r.errOut, demoRows, false)
	assertNoFullCard(t, r.out, demoRows, true)

	raw := listStore(t, store)
	first := opened(t, raw, fileKeys(t, store))
	require.Len(t, first, len(demoRows))
	for i, rec := range first {
		row := demoRows[i]
		assert.Equal(t, row.ref, rec.Ref)
		assert.Equal(t, ledger.Succeeded, rec.Status, "%s", rec)
		assert.True(t, rec.Amount.Equal(rub(row.kopecks)), "%s", rec)
		assert.Equal(t, row.account, rec.To.Account)
		assert.True(t, rec.Reported, "%s", rec)
	}

	start = time.Now()
	r = runJob(t, file, env, hooks{})
	t.Logf("second run: %v", time.Since(start))
	require.Equal(t, exitOK, r.code, "stdout:\n%s\nstderr:\n%s", r.out, r.errOut)
	assert.Contains(t, r.out, "payouts: 12 rows, 0 new in the ledger, paying through popolni\n")
	refs, _ = r.finals()
	assert.Empty(t, refs, "nothing became final again")
	assert.True(t, strings.HasSuffix(r.out, "payouts: all 12 rows final: 12 succeeded, 0 failed\n"), r.out)
	// Nothing was sent again: not one record moved (Sends, Polls, times).
	assert.Equal(t, raw, listStore(t, store))
}

// The same twice against a fake outside the job, which outlives both runs:
// the second run sends the provider nothing at all.
func TestSecondRunSendsNothing(t *testing.T) {
	srv := newFake(t)
	dir := t.TempDir()
	store, file := filepath.Join(dir, "payouts.db"), filepath.Join(dir, "payouts.csv")
	writeCSV(t, file, demoRows)
	r := runJob(t, file, fakeEnv(srv, store), fakeHooks(t, srv))
	require.Equal(t, exitOK, r.code, "stdout:\n%s\nstderr:\n%s", r.out, r.errOut)
	assertPaidOnce(t, srv, demoRows, nil)
	assertNoFullCard(t, r.out+r.errOut, demoRows, false)

	srv.Reset()
	r = runJob(t, file, fakeEnv(srv, store), fakeHooks(t, srv))
	require.Equal(t, exitOK, r.code, "stdout:\n%s\nstderr:\n%s", r.out, r.errOut)
	assert.Contains(t, r.out, "payouts: 12 rows, 0 new in the ledger, paying through popolni\n")
	assert.Empty(t, srv.Requests(), "the second run asked the provider something")
	assertPaidOnce(t, srv, demoRows, nil)
}

// assertPaidOnce checks that srv holds exactly one payment per row, with the
// row's amount and account, none for an id not in rows, each final: failed
// (with status failWith[account]) or succeeded. It reports how many of each
// kind of problem there are, and the first few.
func assertPaidOnce(t testing.TB, srv *popolnitest.Server, rows []csvRow, failWith map[string]int) {
	t.Helper()
	const (
		notInFile = "payments for no row of the file (a row paid under another id?)"
		unpaid    = "rows without a payment"
		wrong     = "rows paid with another amount or account"
		status    = "rows in the wrong status at the provider"
	)
	problems := map[string][]string{}
	bad := func(kind, format string, a ...any) {
		problems[kind] = append(problems[kind], fmt.Sprintf(format, a...))
	}
	ps := srv.Payments()
	byID := map[string]popolnitest.PaymentRecord{}
	for _, p := range ps {
		byID[strconv.FormatInt(p.TransactionID, 10)] = p
	}
	inFile := map[string]bool{}
	for _, row := range rows {
		inFile[row.ref] = true
		p, ok := byID[row.ref]
		if !ok {
			bad(unpaid, "row %s", row.ref)
			continue
		}
		if p.Amount != row.kopecks || p.Msisdn != row.account {
			bad(wrong, "row %s: paid %d to %s, want %d to %s", row.ref, p.Amount, payments.MaskPAN(p.Msisdn), row.kopecks, payments.MaskPAN(row.account))
		}
		want := 3
		if st, ok := failWith[row.account]; ok {
			want = st
		}
		if p.Status != want {
			bad(status, "row %s: status %d, want %d", row.ref, p.Status, want)
		}
	}
	for _, p := range ps {
		if id := strconv.FormatInt(p.TransactionID, 10); !inFile[id] {
			bad(notInFile, "payment %s of %d to %s", id, p.Amount, payments.MaskPAN(p.Msisdn))
		}
	}
	if len(problems) == 0 && len(ps) == len(rows) {
		return
	}
	var b strings.Builder
	fmt.Fprintf(&b, "the provider holds %d payments for %d rows, not one per row:", len(ps), len(rows))
	for _, kind := range []string{notInFile, unpaid, wrong, status} {
		if n := len(problems[kind]); n > 0 {
			fmt.Fprintf(&b, "\n%d %s: %s", n, kind, strings.Join(problems[kind][:min(n, 5)], "; "))
			if n > 5 {
				b.WriteString("; ...")
			}
		}
	}
	t.Errorf("%s", b.String())
}

// recorder is a testing.TB that keeps what Errorf is told.
type recorder struct {
	testing.TB
	errs []string
}

func (r *recorder) Helper() {}

func (r *recorder) Errorf(format string, a ...any) {
	r.errs = append(r.errs, fmt.Sprintf(format, a...))
}

// The checkers the crash and replica tests rely on catch what they are for:
// a row paid twice (under a second id), a row paid with another amount, a
// row not paid, a failure where a success was due.
func TestCheckersCatchWrongPayments(t *testing.T) {
	srv := newFake(t)
	c, err := popolni.New(popolni.Credentials{Login: srv.Login(), Password: srv.Password()},
		append(srv.ClientOptions(), payments.WithTestTiming())...)
	require.NoError(t, err)
	defer c.Close()
	rows := demoRows[:4]
	_, err = c.Pay(context.Background(), []popolni.Payment{
		{ID: 1000000001, Amount: 15000, Account: "79161234567"},
		{ID: 10000000010, Amount: 15000, Account: "79161234567"}, // row 1 again, under a new id
		{ID: 1000000002, Amount: 250001, Account: "4111111111111111"},
		{ID: 1000000003, Amount: 50000, Account: "380991234567"},
	})
	require.NoError(t, err)
	for _, id := range []int64{1000000001, 10000000010, 1000000002, 1000000003} {
		srv.Complete(id)
	}
	rec := &recorder{TB: t}
	assertPaidOnce(rec, srv, rows, map[string]int{"380991234567": 208})
	require.Len(t, rec.errs, 1)
	for _, want := range []string{
		"the provider holds 4 payments for 4 rows, not one per row:",
		"\n1 payments for no row of the file (a row paid under another id?): payment 10000000010 of 15000 to 79161234567",
		"\n1 rows without a payment: row 1000000004",
		"\n1 rows paid with another amount or account: row 1000000002: paid 250001 to 411111******1111, want 250000 to 411111******1111",
		"\n1 rows in the wrong status at the provider: row 1000000003: status 3, want 208",
	} {
		assert.Contains(t, rec.errs[0], want)
	}
	assert.NotContains(t, rec.errs[0], "4111111111111111")

	recs := []ledger.Record{
		{Ref: "1000000001", Amount: rub(15000), To: payout.Destination{Kind: payout.Mobile, Account: "79161234567"}, Status: ledger.Succeeded, Reported: true},
		{Ref: "1000000002", Amount: rub(250000), To: payout.Destination{Kind: payout.Card, Account: "4111111111111111"}, Status: ledger.Pending},
		{Ref: "1000000003", Amount: rub(50000), To: payout.Destination{Kind: payout.Mobile, Account: "380991234567"}, Status: ledger.Succeeded, Reported: true},
		{Ref: "1000000005", Amount: rub(100), To: payout.Destination{Kind: payout.Mobile, Account: "79161234567"}, Status: ledger.Succeeded, Reported: true},
	}
	rec = &recorder{TB: t}
	assertLedgerFinal(rec, recs, rows, map[string]int{"380991234567": 208})
	require.Len(t, rec.errs, 1)
	lines := strings.Split(rec.errs[0], "\n")
	require.Len(t, lines, 5, rec.errs[0])
	for i, want := range [][2]string{
		{"row 1000000002: ", "want succeeded, reported"}, // still pending
		{"row 1000000003: ", "want failed, reported"},    // succeeded where the provider failed it
		{"row 1000000004: ", "not in the ledger"},
		{"1000000005 ", "in the ledger, not in the file"},
	} {
		assert.True(t, strings.HasPrefix(lines[i+1], want[0]) && strings.Contains(lines[i+1], want[1]), "%q", lines[i+1])
	}
}

// A file with errors: every error with its file:line, exit 2, nothing
// opened, nothing sent, no store made.
func TestBadFilePaysNothing(t *testing.T) {
	srv := newFake(t)
	dir := t.TempDir()
	store := filepath.Join(dir, "payouts.db")
	file := filepath.Join("testdata", "bad.csv")
	r := runJob(t, file, fakeEnv(srv, store), fakeHooks(t, srv))
	assert.Equal(t, exitUsage, r.code)
	assert.Empty(t, r.out)
	want := []string{
		`:1: the header must be ref,amount,account, not "ref,amount,acount"`,
		`:2: bad amount "12.5": kopecks, a positive whole number of at most 12 digits`,
		`:3: bad amount "0": kopecks, a positive whole number of at most 12 digits`,
		`:4: bad amount "-1": kopecks, a positive whole number of at most 12 digits`,
		`:5: bad amount "abc": kopecks, a positive whole number of at most 12 digits`,
		`:6: bad account "7916abc4567": a phone number (10 to 12 digits) or a card number (13 to 19 digits)`,
		`:7: bad account "791612345": a phone number (10 to 12 digits) or a card number (13 to 19 digits)`,
		`:8: bad account 411111******1112: a card number that fails the Luhn check`,
		`:9: ref 1000000001 already on line 2`,
		`:10: 2 fields, want 3: ref,amount,account`,
	}
	var lines []string
	for _, w := range want {
		lines = append(lines, file+w)
	}
	lines = append(lines, "payouts: 10 errors in "+file+": nothing was paid; fix the file and run again")
	assert.Equal(t, strings.Join(lines, "\n")+"\n", r.errOut)
	assert.NotContains(t, r.errOut, "4111111111111112")
	assert.Empty(t, srv.Requests(), "the provider was asked something")
	_, err := os.Stat(store)
	assert.True(t, errors.Is(err, os.ErrNotExist), "the store was made: %v", err)
}

func TestFileErrors(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name, body string
		want       []string // file:line: errors, the file's path left out
	}{
		{"empty", "", []string{`:1: empty file: want a header line ref,amount,account`}},
		{"header only", "ref,amount,account\n", nil},
		{"no header", "1000000001,15000,79161234567\n1000000002,100,79161234567\n",
			[]string{`:1: the header must be ref,amount,account, not "1000000001,15000,79161234567"`}},
		{"four fields", "ref,amount,account\n1000000001,15000,79161234567,x\n", []string{`:2: 4 fields, want 3: ref,amount,account`}},
		{"bad quote", "ref,amount,account\n1000000001,\"15000,79161234567\n", []string{`:2: extraneous or missing " in quoted-field`}},
		{"bad ref", "ref,amount,account\n10 01,15000,79161234567\n", []string{`:2: bad ref "10 01": 1 to 64 letters, digits, dots, dashes or underscores`}},
		{"too long a card", "ref,amount,account\n1,15000,41111111111111111111\n",
			[]string{`:2: bad account "411111**********1111": a phone number (10 to 12 digits) or a card number (13 to 19 digits)`}},
		{"blank lines", "ref,amount,account\n\n1000000001,15000,79161234567\n\n1000000001,15000,79161234567\n",
			[]string{`:5: ref 1000000001 already on line 3`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			file := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "_")+".csv")
			require.NoError(t, os.WriteFile(file, []byte(tc.body), 0o600))
			_, errs := readFile(file, payout.Mobile)
			var want []string
			for _, w := range tc.want {
				want = append(want, file+w)
			}
			assert.Equal(t, want, errs)
		})
	}
}

// Rows the file check accepts but the provider cannot take (popolni: a
// decimal transactionId, at least 1.00): exit 2 with file:line, nothing
// recorded, nothing sent.
func TestRowsTheProviderCannotTake(t *testing.T) {
	srv := newFake(t)
	dir := t.TempDir()
	store, file := filepath.Join(dir, "payouts.db"), filepath.Join(dir, "payouts.csv")
	writeCSV(t, file, []csvRow{
		{"1000000001", 15000, "79161234567"},
		{"INV-2", 15000, "79161234567"},
		{"1000000003", 99, "79161234567"},
		{"01000000004", 15000, "79161234567"},
	})
	r := runJob(t, file, fakeEnv(srv, store), fakeHooks(t, srv))
	assert.Equal(t, exitUsage, r.code, "stdout:\n%s\nstderr:\n%s", r.out, r.errOut)
	errLines := strings.Split(strings.TrimSpace(r.errOut), "\n")
	require.Len(t, errLines, 4, r.errOut)
	for i, line := range []int{3, 4, 5} {
		assert.True(t, strings.HasPrefix(errLines[i], fmt.Sprintf("%s:%d: ", file, line)), errLines[i])
	}
	assert.Equal(t, "payouts: 3 rows popolni cannot take: nothing was paid; fix the file and run again", errLines[3])
	assert.Empty(t, srv.Requests(), "the provider was asked something")
	assert.Empty(t, listStore(t, store), "rows were recorded")
}

// A ref already in the ledger with another amount or account: exit 2, the
// conflicting refs named, nothing of the file recorded (not even its new
// rows), nothing sent.
func TestConflictWithTheLedger(t *testing.T) {
	srv := newFake(t)
	dir := t.TempDir()
	store, file := filepath.Join(dir, "payouts.db"), filepath.Join(dir, "payouts.csv")
	rows := demoRows[:4]
	writeCSV(t, file, rows)
	r := runJob(t, file, fakeEnv(srv, store), fakeHooks(t, srv))
	require.Equal(t, exitOK, r.code, "stdout:\n%s\nstderr:\n%s", r.out, r.errOut)
	before := listStore(t, store)
	require.Len(t, before, 4)

	edited := append([]csvRow(nil), rows...)
	edited[1].kopecks++                    // another amount
	edited[3].account = "4000000000000002" // another card
	edited = append(edited, csvRow{"1000000099", 15000, "79161234567"})
	writeCSV(t, file, edited)
	srv.Reset()
	r = runJob(t, file, fakeEnv(srv, store), fakeHooks(t, srv))
	assert.Equal(t, exitUsage, r.code, "stdout:\n%s\nstderr:\n%s", r.out, r.errOut)
	assert.Equal(t, "payouts: conflict with the ledger: ledger: ref 1000000002, 1000000004 already recorded with a different amount or destination: nothing was recorded or paid\n", r.errOut)
	assert.NotContains(t, r.out, "final:")
	assert.Empty(t, srv.Requests(), "the provider was asked something")
	assert.Equal(t, before, listStore(t, store), "the ledger changed")
	assertPaidOnce(t, srv, rows, nil)
}

func TestUsage(t *testing.T) {
	var out, errOut bytes.Buffer
	assert.Equal(t, exitUsage, run(context.Background(), nil, func(string) string { return "" }, &out, &errOut, hooks{}))
	assert.Contains(t, errOut.String(), "usage: payouts FILE.csv")

	r := runJob(t, filepath.Join("testdata", "demo.csv"), map[string]string{"PAYOUTS_PHONE_KIND": "sms"}, hooks{})
	assert.Equal(t, exitUsage, r.code)
	assert.Contains(t, r.errOut, `PAYOUTS_PHONE_KIND: "sms" is neither mobile nor wallet`)

	r = runJob(t, filepath.Join(t.TempDir(), "missing.csv"), nil, hooks{})
	assert.Equal(t, exitUsage, r.code)
	assert.Regexp(t, regexp.MustCompile(`missing\.csv: no such file or directory`), r.errOut)
}

// rub is kopecks as Money.
func rub(kopecks int64) payments.Money {
	m, err := payments.MinorMoney(kopecks, "RUB")
	if err != nil {
		panic(err)
	}
	return m
}

// A file with a header and no rows pays nothing and says so, whatever else
// the store holds: its summary counts its own rows (none), not the store's.
func TestHeaderOnlyFileOnAUsedStore(t *testing.T) {
	srv := newFake(t)
	dir := t.TempDir()
	store, file, empty := filepath.Join(dir, "payouts.db"), filepath.Join(dir, "payouts.csv"), filepath.Join(dir, "empty.csv")
	writeCSV(t, file, demoRows[:3])
	r := runJob(t, file, fakeEnv(srv, store), fakeHooks(t, srv))
	require.Equal(t, exitOK, r.code, "stdout:\n%s\nstderr:\n%s", r.out, r.errOut)

	writeCSV(t, empty, nil)
	srv.Reset()
	r = runJob(t, empty, fakeEnv(srv, store), fakeHooks(t, srv))
	assert.Equal(t, exitOK, r.code, "stdout:\n%s\nstderr:\n%s", r.out, r.errOut)
	assert.NotRegexp(t, `\b[1-9][0-9]* (rows|succeeded)`, r.out, "rows that are not in the file")
	assert.Empty(t, srv.Requests())
}

// One SQLite ledger file, one job at a time: a second job on a file in use
// refuses at once and pays nothing.
func TestStoreInUse(t *testing.T) {
	srv := newFake(t)
	dir := t.TempDir()
	store, file := filepath.Join(dir, "payouts.db"), filepath.Join(dir, "payouts.csv")
	writeCSV(t, file, demoRows[:2])
	held, err := sqlitestore.Open(context.Background(), store, sqlitestore.Exclusive())
	require.NoError(t, err)
	r := runJob(t, file, fakeEnv(srv, store), fakeHooks(t, srv))
	assert.Equal(t, exitError, r.code)
	assert.Contains(t, r.errOut, "in use by another process")
	assert.Empty(t, srv.Requests())
	require.NoError(t, held.Close())

	r = runJob(t, file, fakeEnv(srv, store), fakeHooks(t, srv))
	assert.Equal(t, exitOK, r.code, "stdout:\n%s\nstderr:\n%s", r.out, r.errOut)
	assertPaidOnce(t, srv, demoRows[:2], nil)
}
