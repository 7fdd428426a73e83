package cli

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/paysdk/payments/paykeeper/paykeepertest"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// secretFlag matches a flag name that would take a secret. No command has
// one: flags show in ps and stay in shell history.
var secretFlag = regexp.MustCompile(`(?i)pass|secret|token|key|login|cred|auth|seed|pin|cvv|cvc|pan\b`)

// TestNoFlagTakesASecret walks every command of the tree: no flag's name
// says it takes a secret, and no flag's default value is one.
func TestNoFlagTakesASecret(t *testing.T) {
	root := newApp(IO{}).rootCommand()
	n := 0
	walk(root, func(c *cobra.Command) {
		for _, fs := range []*pflag.FlagSet{c.LocalFlags(), c.PersistentFlags()} {
			fs.VisitAll(func(f *pflag.Flag) {
				n++
				if secretFlag.MatchString(f.Name) {
					t.Errorf("%s --%s: a flag named like a secret (flags show in ps and shell history: read it from the environment or an --env-file)", c.CommandPath(), f.Name)
				}
			})
		}
	})
	if n < 10 {
		t.Fatalf("walked %d flags: the tree is not what this test thinks", n)
	}
}

// TestNoSecretInAnyOutput is the secrets probe over the tool's output: a
// "payments fake all" run, then every command of the tree (its help, and
// its reads, sends, ledger, reconciliation and notification checks, in
// tables and in JSON, on success and on refusal), and not one byte of
// stdout or stderr holds a credential of the run, a card key, a full card
// number or an Authorization value.
func TestNoSecretInAnyOutput(t *testing.T) {
	f := serveFake(t)
	dir := t.TempDir()
	const pan = "4111111111111111"
	key := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32))
	extra := filepath.Join(dir, "extra.env")
	store := filepath.Join(dir, "ledger.db")
	require.NoError(t, os.WriteFile(extra, []byte("PAYOUTS_CARD_KEYS=k1:"+key+"\nPAYMENTS_STORE="+store+"\n"), 0o600))
	wrong := filepath.Join(dir, "wrong.env")
	require.NoError(t, os.WriteFile(wrong, []byte("POPOLNI_PASSWORD=wrong-pw-7a1c\nPAYKEEPER_PASSWORD=wrong-pw-7a1c\nROYALPAY_TOKEN=wrong-token-7a1c\n"), 0o600))
	csvFile := filepath.Join(dir, "batch.csv")
	require.NoError(t, os.WriteFile(csvFile, []byte("ref,amount,account\n1000000501,10000,"+pan+"\n1000000502,5000,79161234567\n"), 0o600))
	notice := filepath.Join(dir, "notice.http")
	require.NoError(t, os.WriteFile(notice, formRequest(t, paykeepertest.NotificationForm(map[string]string{
		"id": "1", "sum": "100.00", "orderid": "O-1", "card_number": pan}, f.env["PAYKEEPER_SECRET"])), 0o600))

	var all strings.Builder
	run := func(stdin string, args ...string) int {
		var out, errOut bytes.Buffer
		argv := append([]string{"--env-file", f.envPath, "--env-file", extra}, args...)
		code := Run(context.Background(), argv, IO{Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &errOut})
		// The command line as typed is the test's, not the tool's output.
		fmt.Fprintf(&all, "$ %s (exit %d)\n%s%s", maskCards(strings.Join(args, " ")), code, out.String(), errOut.String())
		return code
	}
	// Every command's help.
	walk(newApp(IO{}).rootCommand(), func(c *cobra.Command) {
		path := strings.Fields(c.CommandPath())[1:]
		run("", append(path, "--help")...)
	})
	for _, json := range [][]string{nil, {"--json"}} {
		j := func(args ...string) []string { return append(append([]string{}, json...), args...) }
		for _, u := range []string{"popolni://", "qiwitopup://", "royalpay://"} {
			run("", j("balance", u)...)
		}
		run("", j("royalpay", "account", "royalpay://")...)
		run("", j("royalpay", "account", "royalpay://", "--payout")...)
		run("", j("paykeeper", "payments", "paykeeper://")...)
		run("", j("payin", "get", "paykeeper://", "404")...)
		run("", j("payin", "get", "royalpay://", "404")...)
	}
	run(pan+"\n", "payout", "send", "qiwitopup://", "--ref", "1000000601", "--amount", "10", "--to", "card:-", "--yes")
	run(pan+"\n", "payout", "send", "royalpay://", "--ref", "r-602", "--amount", "500", "--to", "card:-", "--yes")
	run(pan+"\nno\n", "payout", "send", "popolni://", "--ref", "1000000603", "--amount", "10", "--to", "card:-")
	run(pan+"\n", "payout", "send", "qiwitopup://", "--ref", "1000000604", "--amount", "10", "--to", "card:-", "--dry-run")
	run("", "--json", "payout", "get", "qiwitopup://", "1000000601")
	run("", "--json", "payout", "get", "royalpay://", "r-602")
	run("", "payout", "send", "popolni://", "--ref", "1000000605", "--amount", "10", "--to", "card:"+pan)
	require.Equal(t, ExitOK, run("", "ledger", "run", csvFile, "--via", "popolni://?poll_interval=100ms", "--via", "qiwitopup://?poll_interval=100ms"), all.String())
	for _, json := range [][]string{nil, {"--json"}} {
		j := func(args ...string) []string { return append(append([]string{}, json...), args...) }
		run("", j("ledger", "ls")...)
		run("", j("ledger", "show", "1000000501")...)
		run("", j("ledger", "stats")...)
		run("", j("ledger", "export")...)
		run("", j("reconcile", "qiwitopup://", "popolni://", "--payin", "paykeeper://", "--since", "1h")...)
		run("", j("notify", "verify", "paykeeper", notice)...)
		for _, p := range []string{"popolni", "qiwitopup", "paykeeper", "royalpay"} {
			run("", j("fake", "control", p, "payments")...)
		}
	}
	// Refused with wrong credentials: the wrong ones are secrets too.
	for _, args := range [][]string{{"balance", "popolni://"}, {"paykeeper", "payments", "paykeeper://"}, {"payin", "get", "royalpay://", "1"}} {
		run("", append([]string{"--env-file", wrong}, args...)...)
	}

	out := all.String()
	if !strings.Contains(out, "411111******1111") {
		t.Fatalf("the probe never saw a masked card number: the commands did not run as meant:\n%s", out)
	}
	secrets := map[string]string{"card number": pan, "card key": key, "wrong password": "wrong-pw-7a1c", "wrong token": "wrong-token-7a1c"}
	for _, k := range fakeSecrets {
		secrets[k] = f.env[k]
	}
	for name, v := range secrets {
		if v != "" && strings.Contains(out, v) {
			i := strings.Index(out, v)
			t.Errorf("%s in the output: ...%s...", name, out[max(0, i-200):i])
		}
	}
	// An Authorization value (the help may name the header, never show one).
	if loc := regexp.MustCompile(`(?i)(Basic|Token|Bearer) [A-Za-z0-9+/=_.-]{8,}`).FindStringIndex(out); loc != nil {
		t.Errorf("an Authorization value in the output: ...%s", out[max(0, loc[0]-300):loc[1]])
	}
}
