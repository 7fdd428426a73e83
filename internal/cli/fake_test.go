package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/payin"
	"github.com/paysdk/payments/payout"
)

// servedFake is a "payments fake" run in the background of a test.
type servedFake struct {
	dir, envPath, caPath string
	env                  map[string]string
	stdout, stderr       *syncBuffer
	cancel               context.CancelFunc
	done                 chan int
}

// serveFake runs "payments fake ARGS" until the test ends (or stop), and
// waits for its env file.
func serveFake(t *testing.T, args ...string) *servedFake {
	t.Helper()
	dir := t.TempDir()
	f := &servedFake{dir: dir, envPath: filepath.Join(dir, "fake.env"), caPath: filepath.Join(dir, "ca.pem"),
		stdout: &syncBuffer{}, stderr: &syncBuffer{}, done: make(chan int, 1)}
	ctx, cancel := context.WithCancel(context.Background())
	f.cancel = cancel
	argv := append([]string{"fake", "--env-out", f.envPath, "--ca-file", f.caPath}, args...)
	go func() { f.done <- Run(ctx, argv, IO{Stdout: f.stdout, Stderr: f.stderr}) }()
	t.Cleanup(func() { f.stop(t) })
	deadline := time.Now().Add(60 * time.Second)
	for {
		if st, err := os.Stat(f.envPath); err == nil && st.Size() > 0 {
			break
		}
		select {
		case code := <-f.done:
			f.done <- code
			t.Fatalf("payments fake exited %d before writing its env file: %s", code, f.stderr)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no env file within 60 s; stderr: %s", f.stderr)
		}
		time.Sleep(10 * time.Millisecond)
	}
	f.env = map[string]string{}
	if err := parseEnvFile(f.envPath, f.env); err != nil {
		t.Fatal(err)
	}
	return f
}

// stop interrupts the command and returns its exit status.
func (f *servedFake) stop(t *testing.T) int {
	t.Helper()
	f.cancel()
	select {
	case code := <-f.done:
		f.done <- code
		return code
	case <-time.After(60 * time.Second):
		t.Fatal("payments fake did not stop within 60 s of its context's end")
		return -1
	}
}

func (f *servedFake) lookup(k string) (string, bool) { v, ok := f.env[k]; return v, ok }

// run runs another command with the fake's env file.
func (f *servedFake) run(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = Run(context.Background(), append([]string{"--env-file", f.envPath}, args...), IO{Stdout: &out, Stderr: &errOut})
	return code, out.String(), errOut.String()
}

var fakeSecrets = []string{"POPOLNI_LOGIN", "POPOLNI_PASSWORD", "QIWI_TERMINAL_ID", "QIWI_PASSWORD",
	"PAYKEEPER_USER", "PAYKEEPER_PASSWORD", "PAYKEEPER_SECRET",
	"ROYALPAY_TOKEN", "ROYALPAY_PAYOUT_TOKEN", "ROYALPAY_CALLBACK_TOKEN"}

func TestFakeServesEveryDriverThroughItsEnvFile(t *testing.T) {
	f := serveFake(t)
	st, err := os.Stat(f.envPath)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("env file: %v, mode %v, want 0600", err, st.Mode().Perm())
	}
	for _, k := range append(fakeSecrets, "POPOLNI_URL", "QIWI_URL", "PAYKEEPER_URL", "ROYALPAY_URL", "ROYALPAY_PAYOUT_URL",
		"PAYMENTS_CA_FILE", "SSL_CERT_FILE", "PAYMENTS_FAKE_POPOLNI_URL", "PAYMENTS_FAKE_QIWITOPUP_URL",
		"PAYMENTS_FAKE_PAYKEEPER_URL", "PAYMENTS_FAKE_ROYALPAY_URL") {
		if f.env[k] == "" {
			t.Errorf("env file has no %s", k)
		}
	}
	for _, k := range []string{"POPOLNI_URL", "QIWI_URL", "PAYKEEPER_URL", "ROYALPAY_URL"} {
		if !strings.HasPrefix(f.env[k], "https://127.0.0.1:") {
			t.Errorf("%s = %q, want https://127.0.0.1:PORT...", k, f.env[k])
		}
	}
	if f.env["PAYMENTS_CA_FILE"] != f.caPath {
		t.Errorf("PAYMENTS_CA_FILE = %q, want %q", f.env["PAYMENTS_CA_FILE"], f.caPath)
	}
	ca, err := os.ReadFile(f.caPath)
	if err != nil {
		t.Fatal(err)
	}
	if n := bytes.Count(ca, []byte("BEGIN CERTIFICATE")); n != 4 {
		t.Errorf("CA bundle holds %d certificates, want 4 (one per fake)", n)
	}

	ctx := context.Background()
	// The SDK, as "payments balance" will open it: the env file and the CA
	// bundle, no host pinning.
	opts := []payments.OpenOption{payments.OpenEnv(f.lookup), payments.OpenClientOptions(payments.WithRootCAsPEM(ca))}
	for _, u := range []string{"popolni://", "qiwitopup://", "royalpay://"} {
		c, err := payout.Open(ctx, u, opts...)
		if err != nil {
			t.Fatalf("payout.Open(%s): %v", u, err)
		}
		bal, err := c.Balance(ctx)
		if err != nil {
			t.Errorf("%s Balance: %v", u, err)
		} else if bal.Currency != "RUB" || bal.Amount.Cmp(payments.MustDecimal("1000000")) != 0 {
			t.Errorf("%s Balance = %v, want 1000000.00 RUB", u, bal)
		}
		_ = c.Close()
	}

	// PayKeeper: a payment made through the control API, read by the driver.
	code, out, errOut := f.run(t, "--json", "fake", "control", "paykeeper", "add_payment", "amount=150.00", "orderid=o-1")
	if code != 0 {
		t.Fatalf("fake control paykeeper add_payment: exit %d: %s", code, errOut)
	}
	var added struct{ ID, Amount, Status string }
	if err := json.Unmarshal([]byte(out), &added); err != nil || added.ID == "" {
		t.Fatalf("add_payment answered %q: %v", out, err)
	}
	pk, err := payin.Open(ctx, "paykeeper://", opts...)
	if err != nil {
		t.Fatalf("payin.Open(paykeeper://): %v", err)
	}
	defer pk.Close()
	inv, err := pk.Create(ctx, payin.Request{OrderRef: "order-pk", Amount: payments.Money{Amount: payments.MustDecimal("250.00"), Currency: "RUB"}})
	if err != nil {
		t.Fatalf("paykeeper Create: %v", err)
	}
	if code, _, errOut = f.run(t, "fake", "control", "paykeeper", "pay_invoice", "id="+inv.ID); code != 0 {
		t.Errorf("fake control paykeeper pay_invoice: exit %d: %s", code, errOut)
	}
	if got, err := pk.Get(ctx, inv.ID); err != nil || got.State != payments.StateSucceeded {
		t.Errorf("paykeeper Get after pay_invoice: %v, %v; want it succeeded", got.State, err)
	}

	// RoyalPay pay-in: a checkout created by the driver, listed and
	// completed through the control API.
	rp, err := payin.Open(ctx, "royalpay://", opts...)
	if err != nil {
		t.Fatalf("payin.Open(royalpay://): %v", err)
	}
	defer rp.Close()
	co, err := rp.Create(ctx, payin.Request{OrderRef: "order-1", Amount: payments.Money{Amount: payments.MustDecimal("1500"), Currency: "RUB"},
		Method: payin.SBP})
	if err != nil {
		t.Fatalf("royalpay Create: %v", err)
	}
	code, out, errOut = f.run(t, "fake", "control", "royalpay", "payments")
	if code != 0 || !strings.Contains(out, co.ID) || !strings.Contains(out, "order-1") {
		t.Errorf("fake control royalpay payments: exit %d, out %q, err %q; want the checkout %s", code, out, errOut, co.ID)
	}
	if code, _, errOut = f.run(t, "fake", "control", "royalpay", "complete", "id="+co.ID); code != 0 {
		t.Errorf("fake control royalpay complete: exit %d: %s", code, errOut)
	}
	got, err := rp.Get(ctx, co.ID)
	if err != nil || got.State != payments.StateSucceeded {
		t.Errorf("royalpay Get after complete: %v, %v; want it succeeded", got.State, err)
	}

	if code := f.stop(t); code != ExitOK {
		t.Errorf("payments fake exited %d after its context ended, want 0", code)
	}
	all := f.stdout.String() + f.stderr.String()
	for _, k := range fakeSecrets {
		if strings.Contains(all, f.env[k]) {
			t.Errorf("the output shows %s", k)
		}
	}
	for _, want := range []string{f.env["POPOLNI_URL"], f.env["PAYMENTS_FAKE_ROYALPAY_URL"] + "/_fake/", f.caPath, "credentials: in "} {
		if !strings.Contains(f.stdout.String(), want) {
			t.Errorf("stdout lacks %q:\n%s", want, f.stdout)
		}
	}
}

func TestFakeJSONHasNoSecrets(t *testing.T) {
	f := serveFake(t, "--json", "popolni", "royalpay")
	f.stop(t)
	var rep fakeReport
	if err := json.Unmarshal([]byte(f.stdout.String()), &rep); err != nil {
		t.Fatalf("--json output %q: %v", f.stdout, err)
	}
	if len(rep.Fakes) != 2 || rep.Fakes[0].Provider != "popolni" || rep.Fakes[1].Provider != "royalpay" {
		t.Errorf("fakes = %+v, want popolni and royalpay", rep.Fakes)
	}
	if rep.Env["POPOLNI_URL"] != f.env["POPOLNI_URL"] || rep.Env["PAYMENTS_CA_FILE"] != f.caPath {
		t.Errorf("env = %v", rep.Env)
	}
	if _, ok := f.env["QIWI_URL"]; ok {
		t.Error("qiwitopup was not asked for, yet its variables are in the env file")
	}
	for _, k := range fakeSecrets {
		if _, ok := rep.Env[k]; ok {
			t.Errorf("--json shows %s", k)
		}
		if v := f.env[k]; v != "" && strings.Contains(f.stdout.String()+f.stderr.String(), v) {
			t.Errorf("the output shows %s", k)
		}
	}
}

func TestFakeFixedPorts(t *testing.T) {
	port := freePortRun(t, 2)
	f := serveFake(t, "--port", strconv.Itoa(port), "paykeeper", "popolni")
	// The order is popolni, qiwitopup, paykeeper, royalpay whatever the
	// order of the arguments.
	if want := "https://127.0.0.1:" + strconv.Itoa(port) + "/api"; f.env["POPOLNI_URL"] != want {
		t.Errorf("POPOLNI_URL = %q, want %q", f.env["POPOLNI_URL"], want)
	}
	if want := "https://127.0.0.1:" + strconv.Itoa(port+1); f.env["PAYKEEPER_URL"] != want {
		t.Errorf("PAYKEEPER_URL = %q, want %q", f.env["PAYKEEPER_URL"], want)
	}
}

// freePortRun finds n consecutive free ports on 127.0.0.1 (free when
// asked: the test that uses them may still lose a race, rarely).
func freePortRun(t *testing.T, n int) int {
	t.Helper()
	for range 50 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		base := ln.Addr().(*net.TCPAddr).Port
		ok := base+n <= 65535
		var held []net.Listener
		for i := 1; ok && i < n; i++ {
			l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(base+i))
			if err != nil {
				ok = false
				break
			}
			held = append(held, l)
		}
		ln.Close()
		for _, l := range held {
			l.Close()
		}
		if ok {
			return base
		}
	}
	t.Fatal("no run of free ports")
	return 0
}

func TestFakePortInUseIsExit1(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	dir := t.TempDir()
	var out, errOut bytes.Buffer
	code := Run(context.Background(), []string{"fake", "popolni", "--port", strconv.Itoa(port),
		"--env-out", filepath.Join(dir, "e.env"), "--ca-file", filepath.Join(dir, "ca.pem")}, IO{Stdout: &out, Stderr: &errOut})
	if code != ExitError {
		t.Errorf("exit %d, want %d", code, ExitError)
	}
	if want := "fake popolni: cannot listen on 127.0.0.1:" + strconv.Itoa(port); !strings.Contains(errOut.String(), want) ||
		!strings.Contains(errOut.String(), "address already in use") {
		t.Errorf("stderr %q, want %q and the reason", errOut.String(), want)
	}
	if _, err := os.Stat(filepath.Join(dir, "e.env")); err == nil {
		t.Error("an env file was written though the fake never listened")
	}
}

func TestFakeBadInputIsExit2(t *testing.T) {
	for _, args := range [][]string{
		{"fake", "nosuch"},
		{"fake", "popolni", "--port", "70000"},
		{"fake", "--balance", "1.234"},
		{"fake", "--notify-url", "ftp://x"},
		{"fake", "control", "nosuch", "payments"},
		{"fake", "control", "popolni", "payments", "notkv"},
		{"fake", "control", "popolni", "payments"}, // no PAYMENTS_FAKE_POPOLNI_URL
	} {
		var out, errOut bytes.Buffer
		if code := Run(context.Background(), args, IO{Stdout: &out, Stderr: &errOut}); code != ExitBadInput {
			t.Errorf("%v: exit %d, want 2; stderr %q", args, code, errOut.String())
		}
	}
}

func TestFakeControlExitCodes(t *testing.T) {
	f := serveFake(t, "popolni")
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"fake", "control", "popolni"}, 0, "drop_next_op"},
		{[]string{"fake", "control", "popolni", "balance"}, 0, "100000000"},
		{[]string{"fake", "control", "popolni", "set_balance", "current=500"}, 0, "500"},
		{[]string{"fake", "control", "popolni", "balance"}, 0, "current_kopecks       500"},
		{[]string{"fake", "control", "popolni", "complete", "id=77"}, ExitNotFound, "no payment 77"},
		{[]string{"fake", "control", "popolni", "complete", "id=x"}, ExitBadInput, "not an integer"},
		{[]string{"fake", "control", "popolni", "complete", "idd=1"}, ExitBadInput, "takes no parameter idd"},
		{[]string{"fake", "control", "popolni", "nosuch_op"}, ExitNotFound, "no control operation"},
		{[]string{"fake", "control", "popolni", "drop_next_op", "op=pay"}, 0, "ok"},
		{[]string{"fake", "control", "qiwitopup", "payments"}, ExitBadInput, "PAYMENTS_FAKE_QIWITOPUP_URL"},
	} {
		code, out, errOut := f.run(t, c.args...)
		if code != c.code || !strings.Contains(out+errOut, c.want) {
			t.Errorf("%v: exit %d, out %q, err %q; want exit %d and %q", c.args, code, out, errOut, c.code, c.want)
		}
	}
}
