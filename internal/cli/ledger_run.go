package cli

import (
	"context"
	"fmt"
	"io"
	"sync"

	"github.com/schollz/progressbar/v3"

	"github.com/spf13/cobra"

	"github.com/paysdk/payments/internal/payoutjob"
	"github.com/paysdk/payments/ledger"
	"github.com/paysdk/payments/ledger/pgstore"
	"github.com/paysdk/payments/ledger/sqlitestore"
	"github.com/paysdk/payments/payout"
)

// runLedgerOptions, when set, changes the ledger options of "ledger run"
// (the tests' short pauses).
var runLedgerOptions func(*ledger.Options)

func (a *app) ledgerRunCommand() *cobra.Command {
	var via []string
	c := &cobra.Command{
		Use:   "run FILE.csv --via URL [--via URL...]",
		Short: "Pay every row of a CSV file exactly once through the ledger (the batch job of examples/payouts)",
		Long: `Pay every row of FILE.csv exactly once through the ledger of PAYMENTS_STORE
(a SQLite file, made when missing, held by this job alone while it runs; or a
postgres:// URL, which several jobs may share). The job of examples/payouts:
the same file, checks, card keys and exit statuses.

The file: a header line ref,amount,account, then one payout a row; amount in
kopecks, account a phone number (10 to 12 digits; PAYOUTS_PHONE_KIND=wallet
for QIWI wallets) or a card number. The whole file is checked, by the job's
rules and by each provider's, before anything is recorded or sent: any error
(each named by file:line) exits 2 and nothing is paid.

--via names the providers by URL (payments help urls), the preferred first:
the ledger binds each payout to the first that can take it and moves it to
the next only when the provider proves nothing was paid. --via is required:
the command never pays a fake of its own.

Card numbers are stored sealed with the keys of PAYOUTS_CARD_KEYS
(id:base64key[,id:base64key...], the current first; 32 random bytes each,
e.g. openssl rand -base64 32): a file with card rows and no keys exits 2.

On a terminal a progress bar counts the rows final; otherwise one line per
record as it becomes final. Ctrl-C stops the job at a safe point (exit 130):
run it again with the same file and store to finish; no row is paid twice.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(via) == 0 {
				return usageError("--via URL is required: the providers to pay through, the preferred first")
			}
			if err := a.checkEnv(); err != nil {
				return err
			}
			cfg := payoutjob.Config{
				Name:   "payments ledger run",
				File:   args[0],
				Env:    a.env,
				Stdout: a.out,
				Stderr: a.errOut,
				Open: func(ctx context.Context, _ io.Writer) ([]*payout.Client, func(), error) {
					return a.openVia(ctx, via)
				},
				OpenStore: func(ctx context.Context, where string) (ledger.Store, error) {
					if payoutjob.IsPostgres(where) {
						return pgstore.Open(ctx, where, pgstore.Options{})
					}
					return sqlitestore.Open(ctx, where, sqlitestore.Exclusive())
				},
				Ledger:      runLedgerOptions,
				Interrupted: ExitInterrupted,
			}
			if a.isTerminal(a.rawOut) {
				cfg.Progress = &progressBar{w: a.rawOut, width: 30}
			}
			if code := payoutjob.Run(cmd.Context(), cfg); code != payoutjob.ExitOK {
				return silent(code)
			}
			return nil
		},
	}
	c.Flags().StringArrayVar(&via, "via", nil, "pay through the provider of `URL` (repeatable, the preferred first)")
	return c
}

// openVia opens a payout client for each URL; a bad URL or variable is the
// user's input (exit 2).
func (a *app) openVia(ctx context.Context, urls []string) ([]*payout.Client, func(), error) {
	var clients []*payout.Client
	closeAll := func() {
		for _, c := range clients {
			c.Close()
		}
	}
	for _, u := range urls {
		c, err := a.openPayout(ctx, u)
		if err != nil {
			closeAll()
			if code := exitCode(err); code == ExitBadInput {
				return nil, nil, &payoutjob.UsageError{Err: fmt.Errorf("--via: %w", err)}
			}
			return nil, nil, fmt.Errorf("--via: %w", err)
		}
		clients = append(clients, c)
	}
	return clients, closeAll, nil
}

// progressBar shows the rows final out of the file's on one terminal
// line, with the rate and the time left (github.com/schollz/progressbar):
//
//	final: 3 succeeded, 1 failed  33% |██████          | (4/12, 2 it/s) [2s:4s]
//
// It prints counts only, never a ref or an account.
type progressBar struct {
	mu                sync.Mutex
	w                 io.Writer
	width             int
	bar               *progressbar.ProgressBar
	succeeded, failed int
}

// Start implements payoutjob.Progress.
func (p *progressBar) Start(total, succeeded, failed int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.succeeded, p.failed = succeeded, failed
	p.bar = progressbar.NewOptions(total,
		progressbar.OptionSetWriter(p.w),
		progressbar.OptionSetWidth(p.width),
		progressbar.OptionShowCount(),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionSetElapsedTime(true),
		progressbar.OptionSetRenderBlankState(true),
		progressbar.OptionSetDescription(p.describe()),
	)
	_ = p.bar.Set(min(succeeded+failed, total))
}

func (p *progressBar) describe() string {
	return fmt.Sprintf("final: %d succeeded, %d failed", p.succeeded, p.failed)
}

// Final implements payoutjob.Progress.
func (p *progressBar) Final(r ledger.Record) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.bar == nil {
		return
	}
	if r.Status == ledger.Succeeded {
		p.succeeded++
	} else {
		p.failed++
	}
	p.bar.Describe(p.describe())
	_ = p.bar.Add(1)
}

// Stop implements payoutjob.Progress: the bar stays as it is (every row
// final, or where Ctrl-C stopped it) and its line ends.
func (p *progressBar) Stop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.bar != nil {
		_ = p.bar.Exit()
		fmt.Fprintln(p.w)
		p.bar = nil
	}
}
