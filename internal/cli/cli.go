// Package cli is the payments command (cmd/payments): the on-call
// engineer's tool over the SDK. Each command is a thin layer over the
// portable API (payout, payin), the ledger and the fakes; nothing here moves
// money in a way the library does not.
//
// Configuration is the portable API's: provider URLs (popolni://,
// qiwitopup://, paykeeper://, royalpay://) and the documented environment
// variables. Secrets come only from the environment or from files named by
// --env-file / PAYMENTS_ENV_FILE: no flag takes a secret, since flags show in
// ps and in shell history.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
)

// IO is what a run of the command reads and writes. Tests give their own.
type IO struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	// LookupEnv reads the process environment (os.LookupEnv by default).
	LookupEnv func(string) (string, bool)
	// IsTerminal reports whether w is a terminal (progress bars, prompts);
	// nil: never.
	IsTerminal func(w io.Writer) bool
}

// Main runs the command with the process's arguments, environment and
// standard streams, and returns the exit status. SIGINT and SIGTERM cancel
// the running command's context: a command stops at its next safe point.
func Main() int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return Run(ctx, os.Args[1:], IO{
		Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr,
		LookupEnv:  os.LookupEnv,
		IsTerminal: isTerminal,
	})
}

// Run runs the command line args and returns the exit status (see the
// Exit constants).
func Run(ctx context.Context, args []string, stdio IO) int {
	a := newApp(stdio)
	defer a.flush()
	root := a.rootCommand()
	root.SetArgs(args)
	root.SetIn(a.stdin)
	root.SetOut(a.out)
	root.SetErr(a.errOut)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return ExitOK
	}
	code := exitCode(err)
	var ee *exitError
	if !errors.As(err, &ee) || ee.err != nil {
		fmt.Fprintf(a.errOut, "payments: %v\n", err)
	}
	if code == ExitBadInput && a.usageHint != "" {
		fmt.Fprintf(a.errOut, "Run '%s --help' for usage.\n", a.usageHint)
	}
	return code
}

// app is one run's state: the global flags, the environment, the masked
// output streams.
type app struct {
	stdin      io.Reader
	out        *maskedWriter
	errOut     *maskedWriter
	rawOut     io.Writer
	osEnv      func(string) (string, bool)
	isTerminal func(io.Writer) bool

	jsonOut  bool
	envFiles []string
	fileEnv  map[string]string // read from envFiles, once
	envErr   error

	usageHint string // the command path to suggest --help for, after a flag or argument error
}

func newApp(stdio IO) *app {
	a := &app{
		stdin:      stdio.Stdin,
		rawOut:     stdio.Stdout,
		out:        newMaskedWriter(stdio.Stdout),
		errOut:     newMaskedWriter(stdio.Stderr),
		osEnv:      stdio.LookupEnv,
		isTerminal: stdio.IsTerminal,
	}
	if a.stdin == nil {
		a.stdin = eofReader{}
	}
	if a.osEnv == nil {
		a.osEnv = func(string) (string, bool) { return "", false }
	}
	if a.isTerminal == nil {
		a.isTerminal = func(io.Writer) bool { return false }
	}
	return a
}

func (a *app) flush() {
	a.out.Flush()
	a.errOut.Flush()
}

type eofReader struct{}

func (eofReader) Read([]byte) (int, error) { return 0, io.EOF }

// rootCommand builds the command tree.
func (a *app) rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "payments",
		Short: "The on-call engineer's tool for the payments SDK: balances, payouts, the ledger, notifications, reconciliation, fakes",
		Long: `payments reads and moves money through popolni.club, QIWI Wallet Top-Up,
PayKeeper and RoyalPay with the payments SDK, works the payout ledger, checks
notifications by hand, reconciles the ledger against the providers, and serves
the SDK's fake providers for integration tests.

Providers are named by URL, exactly as payout.Open and payin.Open take them:
popolni://, qiwitopup://, paykeeper://, royalpay:// with the drivers' query
parameters (payments help urls). Credentials come from the drivers' documented
environment variables, or from files given with --env-file (KEY=VALUE lines;
PAYMENTS_ENV_FILE names one too): no flag takes a secret, so none shows in ps
or in shell history.

Environment:
  PAYMENTS_ENV_FILE  files of KEY=VALUE lines read before the environment
                     (colon-separated); --env-file adds more
  PAYMENTS_CA_FILE   PEM certificates trusted besides the system's roots (the
                     CA bundle "payments fake" writes)
  PAYMENTS_STORE     the payout ledger: a SQLite file (default payouts.db) or
                     a postgres:// URL

Every command prints a table, or JSON with --json. Card numbers are masked in
every output (first six and last four digits).

` + exitCodesHelp,
		SilenceErrors:     true,
		SilenceUsage:      true,
		CompletionOptions: cobra.CompletionOptions{HiddenDefaultCmd: false},
	}
	root.PersistentFlags().BoolVar(&a.jsonOut, "json", false, "print JSON instead of a table")
	root.PersistentFlags().StringArrayVar(&a.envFiles, "env-file", nil, "read KEY=VALUE lines (credentials) from `FILE`; the file's values win over the environment's (repeatable)")
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
		a.usageHint = cmd.CommandPath()
		return withCode(ExitBadInput, err)
	})
	root.AddGroup(&cobra.Group{ID: "read", Title: "Reading (never moves money):"},
		&cobra.Group{ID: "money", Title: "Moving money:"},
		&cobra.Group{ID: "ops", Title: "The ledger and its dashboard, notifications, reconciliation, fakes:"})
	for _, c := range []*cobra.Command{a.balanceCommand(), a.payinCommand(), a.paykeeperCommand(), a.royalpayCommand()} {
		c.GroupID = "read"
		root.AddCommand(c)
	}
	pc := a.payoutCommand()
	pc.GroupID = "money"
	root.AddCommand(pc)
	for _, c := range []*cobra.Command{a.ledgerCommand(), a.uiCommand(), a.reconcileCommand(), a.notifyCommand(), a.fakeCommand()} {
		c.GroupID = "ops"
		root.AddCommand(c)
	}
	root.AddCommand(a.urlsHelpTopic())
	// Every command with arguments refuses the wrong number of them with
	// exit 2 and the usage hint.
	walk(root, func(c *cobra.Command) {
		if c.Args != nil {
			check := c.Args
			c.Args = func(cmd *cobra.Command, args []string) error {
				if err := check(cmd, args); err != nil {
					a.usageHint = cmd.CommandPath()
					return withCode(ExitBadInput, err)
				}
				return nil
			}
		}
	})
	return root
}

func walk(c *cobra.Command, f func(*cobra.Command)) {
	f(c)
	for _, s := range c.Commands() {
		walk(s, f)
	}
}
