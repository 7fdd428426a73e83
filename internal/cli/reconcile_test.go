package cli

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/ledger"
	"github.com/paysdk/payments/ledger/sqlitestore"
	"github.com/paysdk/payments/payin/payinfake"
	"github.com/paysdk/payments/paykeeper/paykeepertest"
	"github.com/paysdk/payments/payout"
	"github.com/paysdk/payments/payout/payoutfake"
	"github.com/paysdk/payments/popolni/popolnitest"
)

// reconcileEnv is a ledger with two popolni records (1000 paid at the fake
// and pending in the ledger: a difference; 1001 paid and succeeded:
// agrees), the popolni and PayKeeper fakes, and the environment that
// points the command at them.
type reconcileEnv struct {
	env        map[string]string
	popolniURL string
	payinURL   string
	popolni    *popolnitest.Server
	paykeeper  *paykeepertest.Server
}

func newReconcileEnv(t *testing.T) *reconcileEnv {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	pc, psrv := payoutfake.Popolni(t)
	_, ksrv := payinfake.PayKeeper(t)
	phone := payout.Destination{Kind: payout.Mobile, Account: "79161234567"}
	amount := payments.MustMoney("100.00", "RUB")
	for _, ref := range []string{"1000", "1001"} {
		_, err := pc.Send(ctx, payout.Request{Ref: ref, Amount: amount, To: phone})
		require.NoError(t, err)
	}
	psrv.SetStatus(1000, 3)
	psrv.SetStatus(1001, 3)

	dbPath := filepath.Join(dir, "ledger.db")
	s, err := sqlitestore.Open(ctx, dbPath)
	require.NoError(t, err)
	now := time.Now()
	_, err = s.Insert(ctx, now, []ledger.Record{
		{Ref: "1000", Provider: "popolni", Amount: amount, To: phone, Status: ledger.Recorded},
		{Ref: "1001", Provider: "popolni", Amount: amount, To: phone, Status: ledger.Recorded},
	}, nil)
	require.NoError(t, err)
	claimed, err := s.Claim(ctx, "test", now.Add(time.Hour), time.Minute, 10)
	require.NoError(t, err)
	require.Len(t, claimed, 2)
	for i := range claimed {
		claimed[i].Status = map[string]ledger.Status{"1000": ledger.Pending, "1001": ledger.Succeeded}[claimed[i].Ref]
	}
	_, err = s.Save(ctx, "test", now.Add(time.Hour), 0, claimed)
	require.NoError(t, err)
	require.NoError(t, s.Close())

	ca := filepath.Join(dir, "ca.pem")
	require.NoError(t, os.WriteFile(ca, append(psrv.CACertPEM(), ksrv.CACertPEM()...), 0o600))
	psrv.Reset()
	ksrv.Reset()
	return &reconcileEnv{
		env: map[string]string{
			envStore: dbPath, envCAFile: ca,
			"POPOLNI_LOGIN": psrv.Login(), "POPOLNI_PASSWORD": psrv.Password(),
			"PAYKEEPER_USER": paykeepertest.DefaultUser, "PAYKEEPER_PASSWORD": paykeepertest.DefaultPassword,
		},
		popolniURL: "popolni://?base_url=https://" + psrv.Addr() + "/api",
		payinURL:   "paykeeper://?base_url=https://" + ksrv.Addr(),
		popolni:    psrv,
		paykeeper:  ksrv,
	}
}

// run runs the command line and returns its exit status, stdout and stderr.
func (e *reconcileEnv) run(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := Run(context.Background(), args, IO{Stdout: &out, Stderr: &errOut,
		LookupEnv: func(k string) (string, bool) { v, ok := e.env[k]; return v, ok }})
	return code, out.String(), errOut.String()
}

// noMoneyMoved: the fakes saw reads only.
func (e *reconcileEnv) noMoneyMoved(t *testing.T) {
	t.Helper()
	require.Zero(t, e.popolni.Count(popolnitest.OpPay))
	for _, r := range e.paykeeper.Requests() {
		require.True(t, strings.HasPrefix(r.Op, "info/"), "PayKeeper %s", r.Op)
	}
}

func TestReconcileTable(t *testing.T) {
	e := newReconcileEnv(t)
	code, out, errOut := e.run(t, "reconcile", e.popolniURL)
	require.Equal(t, ExitDifference, code, "stdout:\n%s\nstderr:\n%s", out, errOut)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.Len(t, lines, 3, out)
	require.Regexp(t, `^KIND\s+REF\s+PROVIDER\s+PROVIDER-ID\s+LEDGER\s`, lines[0])
	require.Regexp(t, `^paid_not_final\s+1000\s+popolni\s+-\s+pending\s+100\.00 RUB\s+mobile:79161234567\s+succeeded \(3 succeeded\)`, lines[1])
	require.Equal(t, "checked 2 records at 1 provider, 1 difference", lines[2])
	require.Empty(t, errOut)
	require.Equal(t, 1, e.popolni.Count(popolnitest.OpStatus), "the two records in one status request")
	e.noMoneyMoved(t)

	// Only the record that agrees: no difference, exit 0.
	code, out, _ = e.run(t, "reconcile", e.popolniURL, "--ref", "1001")
	require.Equal(t, ExitOK, code, out)
	require.Equal(t, "checked 1 record at 1 provider, 0 differences\n", out)

	// A period that holds no record: nothing checked, nothing differs.
	code, out, _ = e.run(t, "reconcile", e.popolniURL, "--until", "2020-01-01")
	require.Equal(t, ExitOK, code, out)
	require.Contains(t, out, "checked 0 records")
	e.noMoneyMoved(t)
}

func TestReconcileCSV(t *testing.T) {
	e := newReconcileEnv(t)
	code, out, errOut := e.run(t, "reconcile", e.popolniURL, "--format", "csv")
	require.Equal(t, ExitDifference, code, errOut)
	rows, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	require.NoError(t, err)
	require.Len(t, rows, 2)
	require.Equal(t, []string{"kind", "ref", "provider", "provider_id", "ledger", "ledger_amount", "ledger_to",
		"at_provider", "provider_amount", "provider_to", "detail"}, rows[0])
	require.Equal(t, []string{"paid_not_final", "1000", "popolni", "", "pending", "100.00 RUB"}, rows[1][:6])
	require.Equal(t, "checked 2 records at 1 provider, 1 difference\n", errOut, "the summary on stderr: stdout is CSV")
	e.noMoneyMoved(t)
}

func TestReconcileJSONAndPayins(t *testing.T) {
	e := newReconcileEnv(t)
	paid := e.paykeeper.AddPayment(paykeepertest.PaymentSpec{Amount: "50.00", OrderID: "A-1"})
	for _, args := range [][]string{
		{"reconcile", e.popolniURL, "--payin", e.payinURL, "--since", "1h", "--json"},
		{"reconcile", e.popolniURL, "--payin", e.payinURL, "--since", "1h", "--format", "json"},
	} {
		code, out, errOut := e.run(t, args...)
		require.Equal(t, ExitDifference, code, errOut)
		var rep struct {
			Checked         map[string]int `json:"checked"`
			CheckedPayments map[string]int `json:"checked_payments"`
			Differences     []struct {
				Kind, Ref, Provider string
				ProviderID          string `json:"provider_id"`
				AtProvider          struct {
					State, Amount string
				} `json:"at_provider"`
			} `json:"differences"`
		}
		require.NoError(t, json.Unmarshal([]byte(out), &rep), out)
		require.Equal(t, map[string]int{"popolni": 2}, rep.Checked)
		require.Equal(t, map[string]int{"paykeeper": 1}, rep.CheckedPayments)
		require.Len(t, rep.Differences, 2, out)
		byKind := map[string]int{}
		for i, d := range rep.Differences {
			byKind[d.Kind] = i
		}
		u := rep.Differences[byKind["unrecorded_payment"]]
		require.Equal(t, "A-1", u.Ref)
		require.Equal(t, paid, u.ProviderID)
		require.Equal(t, "50.00 RUB", u.AtProvider.Amount)
		require.Equal(t, "1000", rep.Differences[byKind["paid_not_final"]].Ref)
		require.Equal(t, "checked 2 records and 1 payment at 2 providers, 2 differences\n", errOut)
	}
	e.noMoneyMoved(t)
}

func TestReconcileBadInput(t *testing.T) {
	e := newReconcileEnv(t)
	for _, args := range [][]string{
		{"reconcile"},
		{"reconcile", e.popolniURL, "--payin", e.payinURL}, // no --since
		{"reconcile", e.popolniURL, "--since", "yesterday"},
		{"reconcile", e.popolniURL, "--since", "2024-03-06", "--until", "2024-03-05"},
		{"reconcile", e.popolniURL, "--format", "xml"},
		{"reconcile", e.popolniURL, "--format", "csv", "--json"},
		{"reconcile", "nosuch://"},
	} {
		code, out, errOut := e.run(t, args...)
		require.Equal(t, ExitBadInput, code, "%v: %s%s", args, out, errOut)
		require.Contains(t, errOut, "payments: ", args)
	}
	require.Empty(t, e.popolni.Requests(), "nothing sent")
	require.Empty(t, e.paykeeper.Requests(), "nothing sent")

	// No ledger file: exit 2 before anything is sent.
	e.env[envStore] = filepath.Join(t.TempDir(), "none.db")
	code, _, errOut := e.run(t, "reconcile", e.popolniURL)
	require.Equal(t, ExitBadInput, code, errOut)
	require.Empty(t, e.popolni.Requests())
}

func TestReconcileProviderDown(t *testing.T) {
	e := newReconcileEnv(t)
	e.popolni.FailNext(10, 500, "down")
	code, out, errOut := e.run(t, "reconcile", e.popolniURL, "--ref", "1001")
	require.Equal(t, ExitError, code, out)
	require.Contains(t, out, "1 records not checked (popolni 1)")
	require.Contains(t, out, "1 providers could not be read")
	require.Contains(t, errOut, "payments: reconcile: popolni: ")
	e.noMoneyMoved(t)
}
