// Package payoutjob is the CSV batch job of examples/payouts and of
// "payments ledger run": it pays every row of a file exactly once through
// the payout ledger, and can be stopped at any moment (Ctrl-C, a kill) and
// started again with the same file and store: no row is paid twice, and
// every row ends final.
//
// The file has a header line ref,amount,account, then one payout a row
// (ReadFile documents the checks). The whole file is checked, against the
// job's own rules and then each provider's (payout.Client.Check), before
// anything is recorded or sent. Card numbers are sealed in the store with
// the keys of PAYOUTS_CARD_KEYS (see CardKeysEnv), and masked in every line
// the job prints.
//
// The programs give the providers (Config.Open) and the store
// (Config.OpenStore); the package imports neither a driver nor a store.
package payoutjob

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/paysdk/payments/ledger"
	"github.com/paysdk/payments/payout"
)

// Exit statuses of Run.
const (
	ExitOK    = 0
	ExitError = 1 // the provider, the store or the context
	ExitUsage = 2 // the command line, a variable or the file: nothing was paid
)

// UsageError marks an error of Config.Open that is the user's input (a
// bad URL, a missing variable): Run exits ExitUsage for it.
type UsageError struct{ Err error }

func (e *UsageError) Error() string { return e.Err.Error() }

// Unwrap gives the cause.
func (e *UsageError) Unwrap() error { return e.Err }

// Progress is told how the rows of the file move to final; a terminal
// shows it as a bar. Its methods are called from several goroutines, never
// at once.
type Progress interface {
	// Start is called once the rows are recorded: total rows in the file,
	// of which succeeded and failed are final already (a rerun).
	Start(total, succeeded, failed int)
	// Final is called once for each row of the file that becomes final
	// while the job runs.
	Final(r ledger.Record)
	// Stop is called when the job stops waiting, every row final or not.
	Stop()
}

// Config is what one run of the job reads, writes and pays through.
type Config struct {
	// Name starts the job's own lines ("payouts: 3 rows, ...").
	Name string
	// File is the CSV file to pay.
	File string
	// Env reads a variable ("" when unset): PAYOUTS_PHONE_KIND,
	// PAYOUTS_CARD_KEYS and PAYMENTS_STORE are read through it.
	Env func(string) string
	// Stdout and Stderr receive the job's lines, each with its card
	// numbers masked and cut to 1024 bytes.
	Stdout, Stderr io.Writer
	// Embedded says that Open pays the program's own fake: only then, on a
	// SQLite store and without PAYOUTS_CARD_KEYS, a demo key is kept
	// beside the store (never for real money).
	Embedded bool
	// Open opens the payout clients, the first preferred (the ledger fails
	// over through its policy), and the function that closes them; out is
	// the job's masked stdout. An error wrapping *UsageError exits
	// ExitUsage, any other ExitError.
	Open func(ctx context.Context, out io.Writer) ([]*payout.Client, func(), error)
	// OpenStore opens the ledger's store at where (PAYMENTS_STORE, default
	// payouts.db): a postgres:// URL or a SQLite file, which it must hold
	// exclusively (sqlitestore.Exclusive) while the job runs.
	OpenStore func(ctx context.Context, where string) (ledger.Store, error)
	// Ledger, when set, changes the ledger's options (tests: the pauses).
	Ledger func(*ledger.Options)
	// Progress, when set, is told of the rows' progress instead of the
	// "final: ..." line the job prints for each record that becomes final.
	Progress Progress
	// Interrupted is the exit status when ctx ends before every row is
	// final; 0 means ExitError.
	Interrupted int
}

// StoreWhere is where PAYMENTS_STORE puts the ledger: its value, or the
// default SQLite file payouts.db.
func StoreWhere(where string) string {
	if where == "" {
		return "payouts.db"
	}
	return where
}

// IsPostgres reports whether where is a postgres:// (or postgresql://) URL.
func IsPostgres(where string) bool {
	return strings.HasPrefix(where, "postgres://") || strings.HasPrefix(where, "postgresql://")
}

// Run runs the job of cfg and returns its exit status (ExitOK, ExitError,
// ExitUsage, or cfg.Interrupted when ctx ended first).
func Run(ctx context.Context, cfg Config) int {
	// Everything the job prints, the ledger's log included, goes through
	// a maskedWriter: no card number, no line without bound.
	out, errOut := newMaskedWriter(orDiscard(cfg.Stdout)), newMaskedWriter(orDiscard(cfg.Stderr))
	defer out.Flush()
	defer errOut.Flush()
	name, file, env := cfg.Name, cfg.File, cfg.Env
	if name == "" {
		name = "payouts"
	}
	if env == nil {
		env = func(string) string { return "" }
	}
	interrupted := func(code int) int {
		if code == ExitError && ctx.Err() != nil && cfg.Interrupted != 0 {
			return cfg.Interrupted
		}
		return code
	}
	phoneKind := payout.Mobile
	switch k := env("PAYOUTS_PHONE_KIND"); k {
	case "", "mobile":
	case "wallet":
		phoneKind = payout.Wallet
	default:
		fmt.Fprintf(errOut, "PAYOUTS_PHONE_KIND: %q is neither mobile nor wallet\n", k)
		return ExitUsage
	}
	rows, errs := ReadFile(file, phoneKind)
	if len(errs) > 0 {
		for _, e := range errs {
			fmt.Fprintln(errOut, e)
		}
		fmt.Fprintf(errOut, "%s: %d errors in %s: nothing was paid; fix the file and run again\n", name, len(errs), file)
		return ExitUsage
	}
	if len(rows) == 0 {
		fmt.Fprintf(out, "%s: no rows in %s: nothing to pay\n", name, file)
		return ExitOK
	}

	// The card keys, before anything is opened: a card row without a key
	// is a file error (the ledger would refuse it only at Submit).
	where := StoreWhere(env("PAYMENTS_STORE"))
	source, keys, err := chooseKeys(env, cfg.Embedded, where)
	if err != nil {
		fmt.Fprintf(errOut, "%s: %v: nothing was paid\n", name, err)
		return ExitUsage
	}
	if cards := cardRows(rows); source == keysNone && len(cards) > 0 {
		for i, r := range cards {
			if i == maxErrors {
				break
			}
			fmt.Fprintf(errOut, "%s:%d: a card number, and %s is not set: the ledger stores card numbers only encrypted, with your key\n", file, r.Line, CardKeysEnv)
		}
		why := ""
		if cfg.Embedded {
			why = " (the demo key of the embedded fake is kept beside a SQLite store only)"
		}
		fmt.Fprintf(errOut, "%s: %d card rows in %s and no %s%s: nothing was paid; set %s=id:key (key: 32 random bytes in base64, e.g. openssl rand -base64 32) and run again\n",
			name, len(cards), file, CardKeysEnv, why, CardKeysEnv)
		return ExitUsage
	}

	clients, closeProvider, err := cfg.Open(ctx, out)
	if err != nil {
		fmt.Fprintf(errOut, "%s: %v\n", name, err)
		var ue *UsageError
		if errors.As(err, &ue) {
			return ExitUsage
		}
		return interrupted(ExitError)
	}
	defer closeProvider()

	store, err := cfg.OpenStore(ctx, where)
	if err != nil {
		fmt.Fprintf(errOut, "%s: %v\n", name, err)
		return interrupted(ExitError)
	}
	defer store.Close()

	// The demo key is read or made only now, holding the store: one job
	// at a time makes it.
	switch source {
	case keysDemo:
		keys, err = demoKey(where)
	case keysMemory:
		keys, err = newDemoKey()
	}
	if err != nil {
		fmt.Fprintf(errOut, "%s: %v\n", name, err)
		return ExitError
	}
	var cards ledger.Cards
	if source != keysNone {
		if cards, err = keys.Cards(); err != nil {
			fmt.Fprintf(errOut, "%s: the card keys: %v\n", name, err)
			return ExitError
		}
	}

	// The rows of the file by ref: the progress counts them only, once
	// each (OnFinal is at least once, and sees every record of the
	// store).
	inFile := make(map[string]bool, len(rows))
	for _, r := range rows {
		inFile[r.Req.Ref] = false
	}
	var outMu sync.Mutex // OnFinal runs on the ledger's goroutines
	opts := ledger.Options{
		Cards:  cards,
		Logger: slog.New(slog.NewTextHandler(errOut, nil)),
		OnFinal: func(_ context.Context, r ledger.Record) error {
			outMu.Lock()
			defer outMu.Unlock()
			if cfg.Progress != nil {
				if done, ok := inFile[r.Ref]; ok && !done {
					inFile[r.Ref] = true
					cfg.Progress.Final(r)
				}
				return nil
			}
			_, err := fmt.Fprintf(out, "final: %s\n", r)
			return err
		},
	}
	if cfg.Ledger != nil {
		cfg.Ledger(&opts)
	}
	l, err := ledger.New(store, opts, clients...)
	if err != nil {
		fmt.Fprintf(errOut, "%s: %v\n", name, err)
		return ExitError
	}
	providers := providerNames(l)

	// Every row is checked against the provider before anything is
	// recorded (Ref form, amount range, destination kind).
	reqs := make([]payout.Request, len(rows))
	refs := make([]string, len(rows))
	bad := 0
	for i, r := range rows {
		reqs[i], refs[i] = r.Req, r.Req.Ref
		if _, err := l.Check(r.Req); err != nil {
			fmt.Fprintf(errOut, "%s:%d: %v\n", file, r.Line, err)
			bad++
		}
	}
	if bad > 0 {
		fmt.Fprintf(errOut, "%s: %d rows %s cannot take: nothing was paid; fix the file and run again\n", name, bad, strings.Join(providers, " or "))
		return ExitUsage
	}
	n, err := l.Submit(ctx, reqs...)
	if errors.Is(err, ledger.ErrConflict) {
		fmt.Fprintf(errOut, "%s: conflict with the ledger: %v\n", name, err)
		return ExitUsage
	}
	if errors.Is(err, ledger.ErrSealed) {
		fmt.Fprintf(errOut, "%s: recording the payouts: %v: give every key in %s that records of this file were sealed with; nothing was paid\n", name, err, CardKeysEnv)
		return ExitError
	}
	if err != nil {
		fmt.Fprintf(errOut, "%s: recording the payouts: %v\n", name, err)
		return interrupted(ExitError)
	}
	fmt.Fprintf(out, "%s: %d rows, %d new in the ledger, paying through %s\n", name, len(rows), n, strings.Join(providers, ", "))

	if cfg.Progress != nil {
		// The rows final already (a rerun) start the count.
		recs, err := l.List(ctx, ledger.Filter{Refs: refs})
		if err != nil {
			fmt.Fprintf(errOut, "%s: %v\n", name, err)
			return interrupted(ExitError)
		}
		count := map[ledger.Status]int{}
		outMu.Lock()
		for _, r := range recs {
			if r.Status.Final() {
				inFile[r.Ref] = true
				count[r.Status]++
			}
		}
		cfg.Progress.Start(len(rows), count[ledger.Succeeded], count[ledger.Failed])
		outMu.Unlock()
	}

	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- l.Run(runCtx) }()
	stopRun := func() {
		cancel()
		<-done
		if cfg.Progress != nil {
			outMu.Lock()
			cfg.Progress.Stop()
			outMu.Unlock()
		}
	}

	tick := time.NewTicker(l.Idle())
	defer tick.Stop()
	said := ""
	for {
		open, err := l.List(ctx, ledger.Filter{Refs: refs, Open: true, Limit: 1})
		if err == nil && len(open) == 0 {
			break
		}
		if errors.Is(err, ledger.ErrSealed) {
			// Not an outage: a record sealed under a key not given.
			stopRun()
			fmt.Fprintf(errOut, "%s: %v: give every key in %s that records of this file were sealed with\n", name, err, CardKeysEnv)
			return ExitError
		}
		if err != nil && err.Error() != said {
			said = err.Error()
			fmt.Fprintf(errOut, "%s: the store does not answer (nothing is sent until it does): %v\n", name, err)
		}
		select {
		case <-ctx.Done():
			stopRun()
			fmt.Fprintf(errOut, "%s: stopped before every row was final; run again to go on: %v\n", name, ctx.Err())
			return interrupted(ExitError)
		case <-tick.C:
		}
	}
	stopRun()
	final, err := l.List(ctx, ledger.Filter{Refs: refs})
	if err != nil {
		fmt.Fprintf(errOut, "%s: %v\n", name, err)
		return interrupted(ExitError)
	}
	count := map[ledger.Status]int{}
	for _, r := range final {
		count[r.Status]++
	}
	fmt.Fprintf(out, "%s: all %d rows final: %d succeeded, %d failed\n", name, len(final), count[ledger.Succeeded], count[ledger.Failed])
	return ExitOK
}

// providerNames are the names of the ledger's providers, the preferred
// first.
func providerNames(l *ledger.Ledger) []string {
	var names []string
	for _, c := range l.Policy().Clients() {
		names = append(names, c.Provider())
	}
	return names
}

func orDiscard(w io.Writer) io.Writer {
	if w == nil {
		return io.Discard
	}
	return w
}
