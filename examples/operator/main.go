// Command operator is a scripted session of the payments command
// (cmd/payments) against "payments fake": what an on-call engineer types,
// and what the tool answers. It runs the command's own code in this process
// (internal/cli), each step exactly as the line it prints:
//
//	$ payments fake popolni            # the popolni fake, served on a port
//	$ payments balance popolni://
//	$ payments payout send popolni:// --ref 1000000001 --amount 50 --to mobile:79161234567 --yes
//	$ payments payout wait popolni://?poll_interval=100ms 1000000001
//	$ payments ledger run payouts.csv --via popolni://?poll_interval=100ms
//	$ payments ledger ls
//	$ payments fake control popolni set_status id=1000000102 status=208
//	$ payments reconcile popolni://   # finds the difference planted above
//
// The ledger is a SQLite file in a fresh temporary folder; the fake's
// credentials stay in its env file (PAYMENTS_ENV_FILE), never on the screen.
//
//	go run ./examples/operator
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/paysdk/payments/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "operator:", err)
		os.Exit(1)
	}
}

// batch is the file the session pays through the ledger.
const batch = `ref,amount,account
1000000101,15000,79161234567
1000000102,250000,79031112233
1000000103,9900,79261112233
`

// step is one command line of the session and the exit status it must end
// with (reconcile ends with 6: it found a difference).
type step struct {
	args []string
	want int
}

var session = []step{
	{[]string{"balance", "popolni://"}, cli.ExitOK},
	{[]string{"payout", "send", "popolni://", "--ref", "1000000001", "--amount", "50", "--to", "mobile:79161234567", "--yes"}, cli.ExitOK},
	{[]string{"payout", "wait", "popolni://?poll_interval=100ms", "1000000001"}, cli.ExitOK},
	{[]string{"ledger", "run", "payouts.csv", "--via", "popolni://?poll_interval=100ms"}, cli.ExitOK},
	{[]string{"ledger", "ls"}, cli.ExitOK},
	{[]string{"reconcile", "popolni://"}, cli.ExitOK},
	// The provider cancels a payout the ledger recorded as succeeded (the
	// fake's control API plays the provider)...
	{[]string{"fake", "control", "popolni", "set_status", "id=1000000102", "status=208"}, cli.ExitOK},
	// ...and reconciliation finds it.
	{[]string{"reconcile", "popolni://"}, cli.ExitDifference},
}

func run(ctx context.Context, out io.Writer) error {
	dir, err := os.MkdirTemp("", "payments-operator-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	if err := os.WriteFile(filepath.Join(dir, "payouts.csv"), []byte(batch), 0o600); err != nil {
		return err
	}
	envFile := filepath.Join(dir, "payments-fake.env")
	env := map[string]string{
		"PAYMENTS_ENV_FILE": envFile,
		"PAYMENTS_STORE":    filepath.Join(dir, "ledger.db"),
	}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }

	// The fake, served until the session ends, as "payments fake" in a
	// terminal of its own.
	fakeCtx, stopFake := context.WithCancel(ctx)
	fakeDone := make(chan int, 1)
	fakeArgs := []string{"fake", "popolni", "--env-out", envFile, "--ca-file", filepath.Join(dir, "ca.pem")}
	fmt.Fprintf(out, "$ payments %s &\n", strings.Join(fakeArgs[:2], " "))
	var fakeOut syncBuffer
	go func() {
		fakeDone <- cli.Run(fakeCtx, fakeArgs, cli.IO{Stdout: &fakeOut, Stderr: &fakeOut, LookupEnv: lookup})
	}()
	defer func() {
		stopFake()
		<-fakeDone
	}()
	if err := waitFile(ctx, envFile, fakeDone); err != nil {
		return err
	}
	// What the fake printed: its URLs and the non-secret exports (the
	// temporary folder shown as $TMP).
	fmt.Fprint(out, strings.ReplaceAll(fakeOut.String(), dir, "$TMP"))

	wd, err := os.Getwd()
	if err != nil {
		return err
	}
	if err := os.Chdir(dir); err != nil { // payouts.csv, as typed
		return err
	}
	defer os.Chdir(wd)
	for _, s := range session {
		fmt.Fprintf(out, "\n$ payments %s\n", shellJoin(s.args))
		code := cli.Run(ctx, s.args, cli.IO{Stdout: out, Stderr: out, LookupEnv: lookup})
		if code != cli.ExitOK {
			fmt.Fprintf(out, "(exit status %d)\n", code)
		}
		if code != s.want {
			return fmt.Errorf("payments %s: exit status %d, want %d", strings.Join(s.args, " "), code, s.want)
		}
	}
	return nil
}

// syncBuffer is a buffer the fake's goroutine writes while this one reads.
type syncBuffer struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// waitFile waits until the fake has written its env file (it writes it
// last, once it listens).
func waitFile(ctx context.Context, path string, done <-chan int) error {
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		if st, err := os.Stat(path); err == nil && st.Size() > 0 {
			return nil
		}
		select {
		case code := <-done:
			return fmt.Errorf("payments fake ended with exit status %d before serving", code)
		case <-ctx.Done():
			return errors.Join(errors.New("payments fake did not start"), ctx.Err())
		case <-tick.C:
		}
	}
}

// shellJoin quotes what a shell would need quoted.
func shellJoin(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		if strings.ContainsAny(a, "?&*;$ ") {
			a = "'" + a + "'"
		}
		q[i] = a
	}
	return strings.Join(q, " ")
}
