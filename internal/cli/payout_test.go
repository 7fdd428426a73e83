package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/paysdk/payments/popolni/popolnitest"
)

// runPayments runs the command in-process with env as the whole environment
// and stdin as standard input, and returns the exit status and outputs.
func runPayments(t *testing.T, env map[string]string, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := Run(context.Background(), args, IO{
		Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &errOut,
		LookupEnv: func(k string) (string, bool) { v, ok := env[k]; return v, ok },
	})
	return code, out.String(), errOut.String()
}

// popolniEnv starts a popolni fake and returns the environment a user
// would set to reach it: its URL at 127.0.0.1, its credentials in an env
// file, its CA in PAYMENTS_CA_FILE.
func popolniEnv(t *testing.T, opts ...popolnitest.Option) (*popolnitest.Server, map[string]string) {
	t.Helper()
	srv := popolnitest.NewServer(append([]popolnitest.Option{popolnitest.WithBalance(1_000_00, 0)}, opts...)...)
	t.Cleanup(srv.Close)
	dir := t.TempDir()
	ca := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(ca, srv.CACertPEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	envFile := filepath.Join(dir, "fake.env")
	body := "POPOLNI_LOGIN=" + srv.Login() + "\nPOPOLNI_PASSWORD=\"" + srv.Password() + "\"\n"
	if err := os.WriteFile(envFile, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return srv, map[string]string{
		"PAYMENTS_ENV_FILE": envFile,
		"PAYMENTS_CA_FILE":  ca,
		"POPOLNI_URL":       "https://" + srv.Addr() + "/api",
	}
}

func TestBalanceAndPayoutOnTheFake(t *testing.T) {
	srv, env := popolniEnv(t)

	code, out, errOut := runPayments(t, env, "", "balance", "popolni://")
	if code != ExitOK || !strings.Contains(out, "1000.00 RUB") {
		t.Fatalf("balance: exit %d, out %q, err %q", code, out, errOut)
	}

	// Without --yes and without "yes" on stdin nothing is sent.
	code, _, errOut = runPayments(t, env, "no\n", "payout", "send", "popolni://", "--ref", "1000000001", "--amount", "5", "--to", "mobile:79161234567")
	if code != ExitBadInput || !strings.Contains(errOut, "About to pay 5.00 RUB to mobile:79161234567 through popolni under ref 1000000001") {
		t.Fatalf("unconfirmed send: exit %d, err %q", code, errOut)
	}
	// --dry-run checks and sends nothing.
	code, out, _ = runPayments(t, env, "", "payout", "send", "popolni://", "--ref", "1000000001", "--amount", "5", "--to", "mobile:79161234567", "--dry-run")
	if code != ExitOK || !strings.Contains(out, "nothing was sent") {
		t.Fatalf("dry run: exit %d, out %q", code, out)
	}
	if n := len(srv.Payments()); n != 0 {
		t.Fatalf("the fake holds %d payments after an unconfirmed send and a dry run, want 0", n)
	}
	// A dry run refuses what the provider cannot take: popolni's ref is a number.
	code, _, errOut = runPayments(t, env, "", "payout", "send", "popolni://", "--ref", "abc", "--amount", "5", "--to", "mobile:79161234567", "--dry-run")
	if code != ExitBadInput {
		t.Fatalf("dry run of a bad ref: exit %d, err %q", code, errOut)
	}

	// Confirmed on stdin: sent once.
	code, out, errOut = runPayments(t, env, "yes\n", "payout", "send", "popolni://", "--ref", "1000000001", "--amount", "5", "--to", "mobile:79161234567")
	if code != ExitOK || !strings.Contains(out, "1000000001") {
		t.Fatalf("send: exit %d, out %q, err %q", code, out, errOut)
	}
	// The same ref again is the same payout, never a second one.
	code, _, errOut = runPayments(t, env, "", "payout", "send", "popolni://", "--ref", "1000000001", "--amount", "5", "--to", "mobile:79161234567", "--yes")
	if code != ExitOK {
		t.Fatalf("resend: exit %d, err %q", code, errOut)
	}
	if n := len(srv.Payments()); n != 1 {
		t.Fatalf("the fake holds %d payments, want 1", n)
	}

	// get: JSON, and exit 5 for a ref the provider does not know.
	code, out, errOut = runPayments(t, env, "", "--json", "payout", "get", "popolni://", "1000000001", "1000000999")
	if code != ExitNotFound {
		t.Fatalf("get: exit %d, err %q", code, errOut)
	}
	var got []payoutJSON
	if err := json.Unmarshal([]byte(out), &got); err != nil || len(got) != 2 || got[0].Ref != "1000000001" || got[1].State != "unknown" {
		t.Fatalf("get JSON: %v %+v (%q)", err, got, out)
	}

	// wait: the fake settles it; exit 0 with the final state.
	code, out, errOut = runPayments(t, env, "", "--json", "payout", "wait", "popolni://?poll_interval=10ms", "1000000001")
	var p payoutJSON
	if code != ExitOK || json.Unmarshal([]byte(out), &p) != nil || p.State != "succeeded" {
		t.Fatalf("wait: exit %d, out %q, err %q", code, out, errOut)
	}
}

func TestPayoutRefusalsBeforeSending(t *testing.T) {
	srv, env := popolniEnv(t)
	cases := []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"a card number on the command line", env, []string{"--to", "card:4111111111111111"}, "shell's history"},
		{"no kind", env, []string{"--to", "79161234567"}, "KIND:ACCOUNT"},
		{"sbp without a bank", env, []string{"--to", "sbp:79161234567"}, "--bank"},
		{"a float amount", env, []string{"--amount", "5.001"}, "amount"},
		{"no credentials", map[string]string{"POPOLNI_URL": env["POPOLNI_URL"], "PAYMENTS_CA_FILE": env["PAYMENTS_CA_FILE"]}, nil, "POPOLNI_LOGIN"},
		{"a bad URL", env, []string{"--url", "popolni://user:pw@x"}, "credentials in the URL"},
		{"an unknown parameter", env, []string{"--url", "popolni://?pol_interval=1s"}, "unknown parameter pol_interval"},
		{"an unknown scheme", env, []string{"--url", "paypal://"}, "paypal"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			url := "popolni://"
			args := map[string]string{"--ref": "1000000002", "--amount": "5", "--to": "mobile:79161234567"}
			for i := 0; i+1 < len(tc.args); i += 2 {
				if tc.args[i] == "--url" {
					url = tc.args[i+1]
					continue
				}
				args[tc.args[i]] = tc.args[i+1]
			}
			argv := []string{"payout", "send", url, "--yes"}
			for k, v := range args {
				argv = append(argv, k, v)
			}
			code, out, errOut := runPayments(t, tc.env, "", argv...)
			if code != ExitBadInput || !strings.Contains(errOut, tc.want) {
				t.Fatalf("exit %d, err %q, want 2 and %q", code, errOut, tc.want)
			}
			if strings.Contains(out+errOut, "4111111111111111") || strings.Contains(out+errOut, srv.Password()) {
				t.Fatalf("a card number or the password in the output: %q %q", out, errOut)
			}
		})
	}
	if n := len(srv.Payments()); n != 0 {
		t.Fatalf("the fake holds %d payments after refused commands, want 0", n)
	}
}

func TestCardFromStdinIsMaskedEverywhere(t *testing.T) {
	srv, env := popolniEnv(t)
	code, out, errOut := runPayments(t, env, "4111111111111111\nyes\n", "payout", "send", "popolni://", "--ref", "1000000003", "--amount", "20", "--to", "card:-")
	if code != ExitOK {
		t.Fatalf("exit %d, out %q, err %q", code, out, errOut)
	}
	if strings.Contains(out+errOut, "4111111111111111") || !strings.Contains(errOut, "411111******1111") {
		t.Fatalf("the card number is not masked: %q %q", out, errOut)
	}
	if n := len(srv.Payments()); n != 1 {
		t.Fatalf("the fake holds %d payments, want 1", n)
	}
}

func TestOutcomeUnknownSaysHowToSettle(t *testing.T) {
	srv, env := popolniEnv(t)
	// Every answer to the pay request is lost (each resend too): the
	// driver cannot know whether popolni has it.
	srv.DropNextOp("pay", 100)
	code, out, errOut := runPayments(t, env, "", "payout", "send", "popolni://", "--ref", "1000000004", "--amount", "5", "--to", "mobile:79161234567", "--yes")
	if code != ExitOutcomeUnknown {
		t.Fatalf("exit %d, out %q, err %q; want 4", code, out, errOut)
	}
	if !strings.Contains(errOut, "payments payout wait popolni:// 1000000004") || !strings.Contains(errOut, "Never send it under a new reference") {
		t.Fatalf("no settling advice: %q", errOut)
	}
	// The advice works: wait settles it, and the fake holds one payment.
	code, out, errOut = runPayments(t, env, "", "payout", "wait", "popolni://?poll_interval=10ms", "1000000004")
	if code != ExitOK || !strings.Contains(out, "succeeded") {
		t.Fatalf("wait: exit %d, out %q, err %q", code, out, errOut)
	}
	if n := len(srv.Payments()); n != 1 {
		t.Fatalf("the fake holds %d payments, want 1", n)
	}
}
