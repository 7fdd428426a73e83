package cli

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/internal/pgtest"
	"github.com/paysdk/payments/ledger"
	"github.com/paysdk/payments/ledger/pgstore"
	"github.com/paysdk/payments/ledger/sqlitestore"
	"github.com/paysdk/payments/payout"
	"github.com/paysdk/payments/popolni"
	"github.com/paysdk/payments/popolni/popolnitest"
)

const (
	testPAN  = "4111111111111111"
	maskPAN  = "411111******1111"
	testKeys = "t1:iPjegQSgclDHAtKNbm457kiUgRvmsqrm6gqr12fSGEA="
)

// syncBuffer is a buffer safe to write from the command's goroutines
// while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// cliRun is one run of the command.
type cliRun struct {
	code        int
	out, errOut string
}

// runCLI runs the command with env as its whole environment; terminal
// says whether stdout is a terminal.
func runCLI(ctx context.Context, env map[string]string, terminal bool, stdout *syncBuffer, args ...string) cliRun {
	if stdout == nil {
		stdout = &syncBuffer{}
	}
	var errOut syncBuffer
	code := Run(ctx, args, IO{
		Stdout: stdout, Stderr: &errOut,
		LookupEnv:  func(k string) (string, bool) { v, ok := env[k]; return v, ok },
		IsTerminal: func(w io.Writer) bool { return terminal && w == io.Writer(stdout) },
	})
	return cliRun{code: code, out: stdout.String(), errOut: errOut.String()}
}

// ledgerFixture is a ledger seeded through the library and a fake the
// command reaches as a user's would: an env file with the fake's URL,
// credentials and CA.
type ledgerFixture struct {
	srv   *popolnitest.Server
	env   map[string]string
	via   string
	where string
	// outputs gathers every output of the command, for the masking check.
	outputs *strings.Builder
}

func newFixture(t *testing.T, where string, opts ...popolnitest.Option) *ledgerFixture {
	t.Helper()
	base := []popolnitest.Option{popolnitest.WithT(t), popolnitest.WithBalance(1_000_000_000_00, 0), popolnitest.WithRateLimit(0), popolnitest.WithStepsPerPoll(2)}
	srv := popolnitest.NewServer(append(base, opts...)...)
	t.Cleanup(srv.Close)
	dir := t.TempDir()
	ca := filepath.Join(dir, "ca.pem")
	require.NoError(t, os.WriteFile(ca, srv.CACertPEM(), 0o600))
	envFile := filepath.Join(dir, "payments.env")
	body := fmt.Sprintf("POPOLNI_URL=%s\nPOPOLNI_LOGIN=%s\nPOPOLNI_PASSWORD='%s'\nPAYMENTS_CA_FILE=%s\nPAYOUTS_CARD_KEYS=%s\n",
		srv.URL(), srv.Login(), srv.Password(), ca, testKeys)
	require.NoError(t, os.WriteFile(envFile, []byte(body), 0o600))
	host, _, err := net.SplitHostPort(srv.Addr())
	require.NoError(t, err)
	old := runLedgerOptions
	runLedgerOptions = func(o *ledger.Options) {
		o.Idle, o.Backoff, o.PollInterval = 10*time.Millisecond, 10*time.Millisecond, 20*time.Millisecond
	}
	t.Cleanup(func() { runLedgerOptions = old })
	return &ledgerFixture{
		srv:     srv,
		env:     map[string]string{"PAYMENTS_ENV_FILE": envFile, "PAYMENTS_STORE": where},
		via:     "popolni://?resolve=" + host + "&poll_interval=20ms&coalesce=true",
		where:   where,
		outputs: &strings.Builder{},
	}
}

func (f *ledgerFixture) run(t *testing.T, args ...string) cliRun {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	r := runCLI(ctx, f.env, false, nil, args...)
	f.outputs.WriteString(r.out + r.errOut)
	return r
}

func (f *ledgerFixture) openStore(t *testing.T) ledger.Store {
	t.Helper()
	ctx := context.Background()
	var st ledger.Store
	var err error
	if strings.HasPrefix(f.where, "postgres") {
		st, err = pgstore.Open(ctx, f.where, pgstore.Options{})
	} else {
		st, err = sqlitestore.Open(ctx, f.where)
	}
	require.NoError(t, err)
	return st
}

func rub(kop int64) payments.Money {
	return payments.Money{Amount: payments.DecimalFromMinor(kop, 2), Currency: "RUB"}
}

// seed pays four payouts through the library (one failing at the fake, one
// to a card) until they are final, then records a fifth that stays
// recorded.
func (f *ledgerFixture) seed(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	f.srv.FailAccount("79031112233", 208)
	st := f.openStore(t)
	defer st.Close()
	c, err := payout.Open(ctx, "popolni://?poll_interval=20ms", payments.OpenCredentials(popolni.Credentials{Login: f.srv.Login(), Password: f.srv.Password()}),
		payments.OpenClientOptions(append(f.srv.ClientOptions(), payments.WithTestTiming())...))
	require.NoError(t, err)
	defer c.Close()
	cards, err := ledger.NewAESGCM("t1", map[string][]byte{"t1": mustKey(t)})
	require.NoError(t, err)
	l, err := ledger.New(st, ledger.Options{Cards: cards, Idle: 10 * time.Millisecond, Backoff: 10 * time.Millisecond}, c)
	require.NoError(t, err)
	_, err = l.Submit(ctx,
		payout.Request{Ref: "2000000001", Amount: rub(15000), To: payout.Destination{Kind: payout.Mobile, Account: "79161234567"}},
		payout.Request{Ref: "2000000002", Amount: rub(250000), To: payout.Destination{Kind: payout.Card, Account: testPAN}},
		payout.Request{Ref: "2000000003", Amount: rub(9900), To: payout.Destination{Kind: payout.Mobile, Account: "79031112233"}},
		payout.Request{Ref: "2000000004", Amount: rub(100), To: payout.Destination{Kind: payout.Mobile, Account: "79161234568"}},
	)
	require.NoError(t, err)
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- l.Run(runCtx) }()
	for {
		open, err := l.List(ctx, ledger.Filter{Open: true, Limit: 1})
		if err == nil && len(open) == 0 {
			break
		}
		if ctx.Err() != nil {
			all, _ := st.List(context.Background(), ledger.Filter{})
			t.Fatalf("the seed payouts did not end final: %v", all)
		}
		time.Sleep(10 * time.Millisecond)
	}
	stop()
	<-done
	_, err = l.Submit(ctx, payout.Request{Ref: "2000000005", Amount: rub(700), To: payout.Destination{Kind: payout.Mobile, Account: "79161234569"}})
	require.NoError(t, err)
}

func mustKey(t *testing.T) []byte {
	t.Helper()
	k, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(testKeys, "t1:"))
	require.NoError(t, err)
	return k
}

// refsOf returns the first column of a table's rows (the header skipped).
func refsOf(table string) []string {
	var refs []string
	for i, line := range strings.Split(strings.TrimSpace(table), "\n") {
		if i == 0 || line == "" || !strings.HasPrefix(line, "2") {
			continue
		}
		refs = append(refs, strings.Fields(line)[0])
	}
	return refs
}

func stores(t *testing.T) map[string]func(t *testing.T) string {
	return map[string]func(t *testing.T) string{
		"sqlite":   func(t *testing.T) string { return filepath.Join(t.TempDir(), "ledger.db") },
		"postgres": func(t *testing.T) string { return pgtest.DSN(t) },
	}
}

func TestLedgerReadCommands(t *testing.T) {
	for name, where := range stores(t) {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t, where(t))
			f.seed(t)
			page := ledgerPage
			ledgerPage = 2 // five records: three pages
			t.Cleanup(func() { ledgerPage = page })
			all := []string{"2000000001", "2000000002", "2000000003", "2000000004", "2000000005"}

			r := f.run(t, "ledger", "ls")
			require.Equal(t, ExitOK, r.code, r.errOut)
			assert.Equal(t, all, refsOf(r.out))
			assert.Contains(t, r.out, "card:"+maskPAN, "the card destination opened with PAYOUTS_CARD_KEYS and masked")

			r = f.run(t, "ledger", "ls", "--status", "succeeded")
			assert.Equal(t, []string{"2000000001", "2000000002", "2000000004"}, refsOf(r.out))
			r = f.run(t, "ledger", "ls", "--status", "failed", "--status", "recorded")
			assert.Equal(t, []string{"2000000003", "2000000005"}, refsOf(r.out))
			r = f.run(t, "ledger", "ls", "--open")
			assert.Equal(t, []string{"2000000005"}, refsOf(r.out))
			r = f.run(t, "ledger", "ls", "--ref", "2000000004", "--ref", "2000000002")
			assert.Equal(t, []string{"2000000002", "2000000004"}, refsOf(r.out))
			r = f.run(t, "ledger", "ls", "--provider", "qiwitopup")
			assert.Empty(t, refsOf(r.out))
			assert.Contains(t, r.out, "no records")
			r = f.run(t, "ledger", "ls", "--provider", "popolni", "--since", "1h")
			assert.Equal(t, all, refsOf(r.out))
			r = f.run(t, "ledger", "ls", "--older-than", "1h")
			assert.Empty(t, refsOf(r.out))
			r = f.run(t, "ledger", "ls", "--status", "sent")
			assert.Equal(t, ExitBadInput, r.code)

			r = f.run(t, "ledger", "ls", "--limit", "2")
			assert.Equal(t, all[:2], refsOf(r.out))
			assert.Contains(t, r.out, "--after 2000000002")
			r = f.run(t, "ledger", "ls", "--limit", "2", "--after", "2000000002")
			assert.Equal(t, all[2:4], refsOf(r.out))
			r = f.run(t, "ledger", "ls", "--limit", "5")
			assert.NotContains(t, r.out, "more records")

			r = f.run(t, "--json", "ledger", "ls")
			require.Equal(t, ExitOK, r.code, r.errOut)
			var recs []map[string]any
			require.NoError(t, json.Unmarshal([]byte(r.out), &recs))
			require.Len(t, recs, 5)
			assert.Equal(t, maskPAN, recs[1]["To"].(map[string]any)["Account"])

			// show: the record and its timeline.
			r = f.run(t, "ledger", "show", "2000000003")
			require.Equal(t, ExitOK, r.code, r.errOut)
			assert.Contains(t, r.out, "failed")
			// Both stores keep the timeline (ledger.HistoryStore): every
			// step the record went through, in order.
			assert.Regexp(t, `(?ms)^\S+\s+recorded\s+popolni\s.*^\S+\s+in_flight\s+popolni\s.*^\S+\s+pending\s+popolni\s+0\s.*^\S+\s+failed\s+popolni\s+208\s`, r.out)
			assert.Regexp(t, `(?m)^\S+\s+failed\s+popolni\s+208\s`, r.out, "the final step with the provider's code")
			r = f.run(t, "--json", "ledger", "show", "2000000002")
			require.Equal(t, ExitOK, r.code, r.errOut)
			var sv struct {
				Record   map[string]any
				Timeline []stepView
			}
			require.NoError(t, json.Unmarshal([]byte(r.out), &sv))
			require.NotEmpty(t, sv.Timeline)
			assert.Equal(t, ledger.Recorded, sv.Timeline[0].Status)
			assert.Equal(t, ledger.Succeeded, sv.Timeline[len(sv.Timeline)-1].Status)
			r = f.run(t, "ledger", "show", "2999999999")
			assert.Equal(t, ExitNotFound, r.code)

			// stats
			r = f.run(t, "--json", "ledger", "stats")
			require.Equal(t, ExitOK, r.code, r.errOut)
			var stv statsView
			require.NoError(t, json.Unmarshal([]byte(r.out), &stv))
			assert.Equal(t, map[ledger.Status]int{ledger.Succeeded: 3, ledger.Failed: 1, ledger.Recorded: 1}, stv.Total)
			require.NotNil(t, stv.OldestOpen)
			assert.Equal(t, "2000000005", stv.OldestOpen.Ref)
			require.Len(t, stv.Queue, 1)
			assert.Equal(t, ledger.Stat{Provider: "popolni", Status: ledger.Recorded, Count: 1, Oldest: stv.Queue[0].Oldest}, stv.Queue[0])
			r = f.run(t, "ledger", "stats")
			assert.Regexp(t, `oldest unfinished:\s+2000000005\s+popolni\s+recorded`, r.out)

			// export, CSV and JSON, parsed back.
			r = f.run(t, "ledger", "export")
			require.Equal(t, ExitOK, r.code, r.errOut)
			lines, err := csv.NewReader(strings.NewReader(r.out)).ReadAll()
			require.NoError(t, err)
			require.Len(t, lines, 6)
			assert.Equal(t, exportHeader, lines[0])
			assert.Equal(t, []string{"2000000002", "popolni", "succeeded", "2500.00", "RUB", "card", maskPAN}, lines[2][:7])
			r = f.run(t, "ledger", "export", "--format", "json", "--status", "succeeded")
			require.Equal(t, ExitOK, r.code, r.errOut)
			recs = nil
			require.NoError(t, json.Unmarshal([]byte(r.out), &recs))
			assert.Len(t, recs, 3)
			r = f.run(t, "ledger", "export", "--format", "json", "--provider", "nobody")
			require.NoError(t, json.Unmarshal([]byte(r.out), &recs))
			assert.Empty(t, recs)
			r = f.run(t, "ledger", "export", "--format", "xml")
			assert.Equal(t, ExitBadInput, r.code)

			// Without the keys, a card number shows as sealed.
			delete(f.env, "PAYMENTS_ENV_FILE")
			r = f.run(t, "ledger", "ls", "--ref", "2000000002")
			assert.Contains(t, r.out, "card:sealed")

			assert.NotContains(t, f.outputs.String(), testPAN, "a full card number in an output")
		})
	}
}

// historyStore adds a History to a store, as the stores will have.
type historyStore struct {
	ledger.Store
	steps []ledger.Step
}

func (h historyStore) History(context.Context, string) ([]ledger.Step, error) { return h.steps, nil }

func TestTimelineFromHistoryStore(t *testing.T) {
	at := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	steps := []ledger.Step{
		{At: at, Status: ledger.Recorded, Provider: "popolni"},
		{At: at.Add(time.Second), Status: ledger.InFlight, Provider: "popolni", LastError: "lost answer for " + testPAN},
		{At: at.Add(2 * time.Second), Status: ledger.Failed, Provider: "popolni", Code: "5", Message: "refused"},
	}
	r := ledger.Record{Ref: "1", Status: ledger.Failed, CreatedAt: at, FinalAt: at.Add(2 * time.Second)}
	got, full, err := timeline(context.Background(), historyStore{steps: steps}, r)
	require.NoError(t, err)
	assert.True(t, full)
	require.Len(t, got, 3, "every step of the history, not the record's timestamps")
	assert.Equal(t, "lost answer for "+maskPAN, got[1].LastError)
	assert.Equal(t, "5", got[2].Code)

	var plain struct{ ledger.Store } // no History: the record's timestamps
	got, full, err = timeline(context.Background(), plain, r)
	require.NoError(t, err)
	assert.False(t, full)
	require.Len(t, got, 2)
	assert.Equal(t, ledger.Failed, got[1].Status)
}

// writeRows writes a payout file of n phone rows and one card row.
func writeRows(t *testing.T, n int) (string, []string) {
	t.Helper()
	var b strings.Builder
	b.WriteString("ref,amount,account\n")
	var refs []string
	for i := 0; i < n; i++ {
		ref := strconv.Itoa(3000000001 + i)
		refs = append(refs, ref)
		account := fmt.Sprintf("7916%07d", 1000000+i)
		if i == 0 {
			account = testPAN
		}
		fmt.Fprintf(&b, "%s,%d,%s\n", ref, 100+i, account)
	}
	path := filepath.Join(t.TempDir(), "payouts.csv")
	require.NoError(t, os.WriteFile(path, []byte(b.String()), 0o600))
	return path, refs
}

func TestLedgerRunBadInput(t *testing.T) {
	f := newFixture(t, filepath.Join(t.TempDir(), "ledger.db"))
	file, _ := writeRows(t, 3)
	r := f.run(t, "ledger", "run", file)
	assert.Equal(t, ExitBadInput, r.code, "no --via")
	assert.Contains(t, r.errOut, "--via")
	r = f.run(t, "ledger", "run", file, "--via", "nosuch://x")
	assert.Equal(t, ExitBadInput, r.code, r.errOut)

	body, err := os.ReadFile(file)
	require.NoError(t, err)
	bad := filepath.Join(t.TempDir(), "bad.csv")
	require.NoError(t, os.WriteFile(bad, append(body, []byte("3000000099,12.50,79161234567\n")...), 0o600))
	r = f.run(t, "ledger", "run", bad, "--via", f.via)
	assert.Equal(t, ExitBadInput, r.code, r.errOut)
	assert.Contains(t, r.errOut, bad+":5: bad amount")
	assert.Empty(t, f.srv.Requests(), "nothing sent")
	if _, err := os.Stat(f.where); err == nil {
		st := f.openStore(t)
		defer st.Close()
		recs, err := st.List(context.Background(), ledger.Filter{})
		require.NoError(t, err)
		assert.Empty(t, recs, "nothing recorded")
	}
	assert.NotContains(t, f.outputs.String(), testPAN)
}

// TestLedgerRunInterruptedThenRerun: Ctrl-C once some rows are final
// stops the job (exit 130); a rerun finishes the rest, and the fake holds
// one payment per row, each sent once.
func TestLedgerRunInterruptedThenRerun(t *testing.T) {
	for name, where := range stores(t) {
		t.Run(name, func(t *testing.T) {
			// Payments move only when the test completes them.
			f := newFixture(t, where(t), popolnitest.WithStepsPerPoll(0))
			const n = 8
			file, refs := writeRows(t, n)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var stdout syncBuffer
			done := make(chan cliRun, 1)
			go func() { done <- runCLI(ctx, f.env, false, &stdout, "ledger", "run", file, "--via", f.via) }()
			waitFor(t, "every row at the fake", func() bool { return len(f.srv.Payments()) == n })
			for _, ref := range refs[:n/2] {
				id, _ := strconv.ParseInt(ref, 10, 64)
				require.True(t, f.srv.Complete(id))
			}
			waitFor(t, "half the rows final", func() bool { return strings.Count(stdout.String(), "final: ") == n/2 })
			cancel()
			r := <-done
			f.outputs.WriteString(r.out + r.errOut)
			assert.Equal(t, ExitInterrupted, r.code, "%s\n%s", r.out, r.errOut)
			assert.Contains(t, r.errOut, "payments ledger run: stopped before every row was final; run again to go on")

			for _, ref := range refs[n/2:] {
				id, _ := strconv.ParseInt(ref, 10, 64)
				require.True(t, f.srv.Complete(id))
			}
			r = f.run(t, "ledger", "run", file, "--via", f.via)
			require.Equal(t, ExitOK, r.code, "%s\n%s", r.out, r.errOut)
			assert.Contains(t, r.out, fmt.Sprintf("payments ledger run: %d rows, 0 new in the ledger", n))
			assert.Contains(t, r.out, fmt.Sprintf("all %d rows final: %d succeeded, 0 failed", n, n))
			assert.Equal(t, n/2, strings.Count(r.out, "final: "+"30"), "the rerun reports the rest")

			// Exactly once at the provider.
			sent := map[string]int{}
			for _, req := range f.srv.Requests() {
				if req.Op != popolnitest.OpPay {
					continue
				}
				var items []struct {
					ID json.Number `json:"transactionId"`
				}
				require.NoError(t, json.Unmarshal(req.Body, &items))
				for _, it := range items {
					sent[it.ID.String()]++
				}
			}
			assert.Len(t, f.srv.Payments(), n)
			for _, ref := range refs {
				assert.Equal(t, 1, sent[ref], "ref %s sent", ref)
			}
			st := f.openStore(t)
			defer st.Close()
			recs, err := st.List(context.Background(), ledger.Filter{Refs: refs})
			require.NoError(t, err)
			require.Len(t, recs, n)
			for _, rec := range recs {
				assert.Equal(t, ledger.Succeeded, rec.Status, rec.Ref)
			}
			assert.NotContains(t, f.outputs.String(), testPAN)
			assert.Contains(t, f.outputs.String(), maskPAN)
		})
	}
}

func TestLedgerRunProgressBar(t *testing.T) {
	f := newFixture(t, filepath.Join(t.TempDir(), "ledger.db"))
	file, _ := writeRows(t, 5)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	r := runCLI(ctx, f.env, true, nil, "ledger", "run", file, "--via", f.via)
	require.Equal(t, ExitOK, r.code, "%s\n%s", r.out, r.errOut)
	assert.Contains(t, r.out, "\r")
	last := r.out[strings.LastIndex(strings.TrimRight(r.out, "\n"), "\r")+1:]
	assert.Contains(t, last, "final: 5 succeeded, 0 failed")
	assert.Contains(t, last, "100%")
	assert.Contains(t, last, "(5/5")
	assert.True(t, strings.HasSuffix(r.out, "\n"), "the bar's line ends")
	assert.NotContains(t, r.out, "final: 30", "no per-record line on a terminal")
	assert.NotContains(t, r.out+r.errOut, testPAN)

	// Not a terminal: a line per record, no bar.
	file2, _ := writeRows(t, 2)
	body, _ := os.ReadFile(file2)
	require.NoError(t, os.WriteFile(file2, bytes.ReplaceAll(body, []byte("300000000"), []byte("400000000")), 0o600))
	r = runCLI(ctx, f.env, false, nil, "ledger", "run", file2, "--via", f.via)
	require.Equal(t, ExitOK, r.code, "%s\n%s", r.out, r.errOut)
	assert.NotContains(t, r.out, "\r")
	assert.Contains(t, r.out, "final: 4000000001 succeeded")
	assert.Contains(t, r.out, "final: 4000000002 succeeded")
	assert.NotContains(t, r.out+r.errOut, testPAN)
}

// waitFor polls cond until it holds, for up to a minute.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(60 * time.Second); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within a minute", what)
		}
	}
}
