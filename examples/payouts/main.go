// Command payouts pays every row of a CSV file exactly once, through the
// payout ledger (package ledger), and can be killed at any moment and
// started again with the same file and store: no row is ever paid twice,
// and every row ends final.
//
//	go run ./examples/payouts payouts.csv
//
// The file has a header line, then one payout a row:
//
//	ref,amount,account
//	1000000001,15000,79161234567
//	1000000002,250000,4111111111111111
//
// ref is the merchant's reference (the idempotency key: the provider's
// payment id), amount is in kopecks (at most 12 digits), account is a phone
// number with country code (10 to 12 digits: a mobile top-up, or a QIWI
// wallet with PAYOUTS_PHONE_KIND=wallet) or a card number (13 to 19 digits,
// Luhn-checked). The columns are read by position: the header must be
// exactly ref,amount,account.
//
// The whole file is checked before anything is recorded or sent, and
// nothing is paid until every error is fixed (exit status 2); each error
// names its file:line:
//   - a bad ref, amount or account, a ref twice, a row of other than 3
//     fields, a header naming the columns in another order;
//   - a row whose ref and account look swapped: a ref that looks like an
//     account (a Luhn-valid card number, or a phone with a country code of
//     the former USSR and that country's length: 79161234567, 380991234567)
//     while the account does not (1000000001: 10 digits, no country code);
//   - a row the provider cannot take, by the provider's own rules
//     (payout.Client.Check: its ref form, its amounts, the phones it pays:
//     QIWI, for one, pays mobile and SBP to 7 and 10 digits only and
//     wallets only with a country code it serves).
//
// No card number reaches what the job prints: every line of its output and
// of the ledger's log has each run of 13 or more digits masked to its first
// six and last four (4111111111111111 is 411111******1111, a ref of 13 or
// more digits too), and an error shows at most 64 bytes of a field, with
// its length when it is longer; no line is longer than 1024 bytes.
//
// No card number is kept in clear either: the ledger stores each card
// number encrypted (AES-256-GCM, ledger.NewAESGCM) with a key the job is
// given, never stored with the ledger:
//
//	PAYOUTS_CARD_KEYS=k2:BASE64KEY[,k1:OLDBASE64KEY...]
//
// Each entry is a key id (1 to 32 letters, digits, '-' or '_'), a colon and
// 32 random bytes in base64 (openssl rand -base64 32). The first key seals
// the card numbers this run records; every key listed opens what it sealed,
// so that after a rotation (a new key put first) the records sealed before
// still open: keep an old key listed until no record the job may read again
// was sealed under it. A record whose key is missing stops the job with the
// key id it wants. A malformed value is refused (exit 2) naming the entry by
// its position and id, never showing a key; no key is ever printed.
//
// Against a real provider, and for a postgres:// store, the keys come only
// from PAYOUTS_CARD_KEYS (every copy of the job sharing a store needs the
// same keys): a file with card rows and no PAYOUTS_CARD_KEYS is refused
// before anything is recorded or sent (exit 2, each card row's file:line
// named). Only against the embedded fake with a SQLite store, and without
// PAYOUTS_CARD_KEYS, the job keeps a demo key of its own in a file beside
// the store, PAYMENTS_STORE + ".cardkey" (mode 0600; made on first use,
// before any card is sealed, and read again after a restart or a crash, so
// that a killed demo's records open; a payout its embedded fake had
// accepted stays pending, as that fake died with it); an in-memory store
// (":memory:") gets a key as short-lived. Such a key file lies next to the
// data it opens, so it protects nothing at rest: it is for the demo, never
// for real money. A key file that others may read is refused.
//
// The provider is chosen by the variables of the provider examples:
// POPOLNI_LOGIN and POPOLNI_PASSWORD (POPOLNI_URL, POPOLNI_LOCAL_ADDR) pay
// through popolni.club, with concurrent payouts coalesced into shared pay
// requests; else QIWI_TERMINAL_ID and QIWI_PASSWORD (QIWI_URL,
// QIWI_LOCAL_ADDR) through QIWI Wallet Top-Up; with neither it runs against
// the embedded popolni fake (which lives only as long as the process).
//
// The ledger is kept in PAYMENTS_STORE: a file path for the embedded SQLite
// store (default payouts.db in the working folder), or a postgres:// URL for
// PostgreSQL, which several copies of the job may share (each row is then
// paid by one of them). It prints one line per payout as it becomes final,
// and exits 0 when every row is final (succeeded or failed: a failed row is
// paid again only under a new ref).
package main

import (
	"bufio"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/ledger"
	"github.com/paysdk/payments/ledger/pgstore"
	"github.com/paysdk/payments/ledger/sqlitestore"
	"github.com/paysdk/payments/payout"
	_ "github.com/paysdk/payments/payout/popolnipayout" // registers popolni://
	_ "github.com/paysdk/payments/payout/qiwipayout"    // registers qiwitopup://
	"github.com/paysdk/payments/popolni"
	"github.com/paysdk/payments/popolni/popolnitest"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr, hooks{}))
}

// hooks are what the tests change: extra client options (a fake outside
// the process, test timing) and ledger options.
type hooks struct {
	client []payments.Option
	ledger func(*ledger.Options)
}

// Exit statuses.
const (
	exitOK    = 0
	exitError = 1 // the provider, the store or the context
	exitUsage = 2 // the command line or the file: nothing was paid
)

func run(ctx context.Context, args []string, env func(string) string, stdout, stderr io.Writer, h hooks) int {
	// Everything the job prints, the ledger's log included, goes through
	// a maskedWriter: no card number, no line without bound.
	out, errOut := newMaskedWriter(stdout), newMaskedWriter(stderr)
	defer out.Flush()
	defer errOut.Flush()
	if len(args) != 1 {
		fmt.Fprintln(errOut, "usage: payouts FILE.csv   (a header line, then ref,amount,account rows)")
		return exitUsage
	}
	phoneKind := payout.Mobile
	switch k := env("PAYOUTS_PHONE_KIND"); k {
	case "", "mobile":
	case "wallet":
		phoneKind = payout.Wallet
	default:
		fmt.Fprintf(errOut, "PAYOUTS_PHONE_KIND: %q is neither mobile nor wallet\n", k)
		return exitUsage
	}
	rows, errs := readFile(args[0], phoneKind)
	if len(errs) > 0 {
		for _, e := range errs {
			fmt.Fprintln(errOut, e)
		}
		fmt.Fprintf(errOut, "payouts: %d errors in %s: nothing was paid; fix the file and run again\n", len(errs), args[0])
		return exitUsage
	}
	if len(rows) == 0 {
		fmt.Fprintf(out, "payouts: no rows in %s: nothing to pay\n", args[0])
		return exitOK
	}

	// The card keys, before anything is opened: a card row without a key
	// is a file error (the ledger would refuse it only at Submit).
	where := storeWhere(env("PAYMENTS_STORE"))
	fake := fakeProvider(env)
	source, keys, err := chooseKeys(env, fake, where)
	if err != nil {
		fmt.Fprintf(errOut, "payouts: %v: nothing was paid\n", err)
		return exitUsage
	}
	if cards := cardRows(rows); source == keysNone && len(cards) > 0 {
		for i, r := range cards {
			if i == maxErrors {
				break
			}
			fmt.Fprintf(errOut, "%s:%d: a card number, and %s is not set: the ledger stores card numbers only encrypted, with your key\n", args[0], r.line, cardKeysEnv)
		}
		why := ""
		if fake {
			why = " (the demo key of the embedded fake is kept beside a SQLite store only)"
		}
		fmt.Fprintf(errOut, "payouts: %d card rows in %s and no %s%s: nothing was paid; set %s=id:key (key: 32 random bytes in base64, e.g. openssl rand -base64 32) and run again\n",
			len(cards), args[0], cardKeysEnv, why, cardKeysEnv)
		return exitUsage
	}

	client, closeProvider, err := openProvider(ctx, env, out, h)
	if err != nil {
		fmt.Fprintln(errOut, "payouts:", err)
		return exitError
	}
	defer closeProvider()

	store, err := openStore(ctx, where)
	if err != nil {
		fmt.Fprintln(errOut, "payouts:", err)
		return exitError
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
		fmt.Fprintln(errOut, "payouts:", err)
		return exitError
	}
	var cards ledger.Cards
	if source != keysNone {
		if cards, err = keys.cards(); err != nil {
			fmt.Fprintln(errOut, "payouts: the card keys:", err)
			return exitError
		}
	}

	var outMu sync.Mutex // OnFinal runs on the ledger's goroutines
	opts := ledger.Options{
		Cards:  cards,
		Logger: slog.New(slog.NewTextHandler(errOut, nil)),
		OnFinal: func(_ context.Context, r ledger.Record) error {
			outMu.Lock()
			defer outMu.Unlock()
			_, err := fmt.Fprintf(out, "final: %s\n", r)
			return err
		},
	}
	if h.ledger != nil {
		h.ledger(&opts)
	}
	l, err := ledger.New(store, opts, client)
	if err != nil {
		fmt.Fprintln(errOut, "payouts:", err)
		return exitError
	}

	// Every row is checked against the provider before anything is
	// recorded (Ref form, amount range, destination kind).
	reqs := make([]payout.Request, len(rows))
	refs := make([]string, len(rows))
	bad := 0
	for i, r := range rows {
		reqs[i], refs[i] = r.req, r.req.Ref
		if _, err := l.Check(r.req); err != nil {
			fmt.Fprintf(errOut, "%s:%d: %v\n", args[0], r.line, err)
			bad++
		}
	}
	if bad > 0 {
		fmt.Fprintf(errOut, "payouts: %d rows %s cannot take: nothing was paid; fix the file and run again\n", bad, client.Provider())
		return exitUsage
	}
	n, err := l.Submit(ctx, reqs...)
	if errors.Is(err, ledger.ErrConflict) {
		fmt.Fprintln(errOut, "payouts: conflict with the ledger:", err)
		return exitUsage
	}
	if errors.Is(err, ledger.ErrSealed) {
		fmt.Fprintf(errOut, "payouts: recording the payouts: %v: give every key in %s that records of this file were sealed with; nothing was paid\n", err, cardKeysEnv)
		return exitError
	}
	if err != nil {
		fmt.Fprintln(errOut, "payouts: recording the payouts:", err)
		return exitError
	}
	fmt.Fprintf(out, "payouts: %d rows, %d new in the ledger, paying through %s\n", len(rows), n, client.Provider())

	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- l.Run(runCtx) }()
	stopRun := func() { cancel(); <-done }

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
			fmt.Fprintf(errOut, "payouts: %v: give every key in %s that records of this file were sealed with\n", err, cardKeysEnv)
			return exitError
		}
		if err != nil && err.Error() != said {
			said = err.Error()
			fmt.Fprintf(errOut, "payouts: the store does not answer (nothing is sent until it does): %v\n", err)
		}
		select {
		case <-ctx.Done():
			stopRun()
			fmt.Fprintln(errOut, "payouts: stopped before every row was final; run again to go on:", ctx.Err())
			return exitError
		case <-tick.C:
		}
	}
	stopRun()
	final, err := l.List(ctx, ledger.Filter{Refs: refs})
	if err != nil {
		fmt.Fprintln(errOut, "payouts:", err)
		return exitError
	}
	count := map[ledger.Status]int{}
	for _, r := range final {
		count[r.Status]++
	}
	fmt.Fprintf(out, "payouts: all %d rows final: %d succeeded, %d failed\n", len(final), count[ledger.Succeeded], count[ledger.Failed])
	return exitOK
}

// row is one checked line of the file.
type row struct {
	line int
	req  payout.Request
}

var (
	refForm = regexp.MustCompile(`^[0-9A-Za-z._-]{1,64}$`)
	// kopecks: at most 12 digits (under 10 billion roubles), so that a
	// card number in the amount column is refused, not sent.
	kopecks   = regexp.MustCompile(`^[1-9][0-9]{0,11}$`)
	phoneForm = regexp.MustCompile(`^[0-9]{10,12}$`)
	cardForm  = regexp.MustCompile(`^[0-9]{13,19}$`)
	maxErrors = 50
)

// header is the only header the job reads: it reads the columns by
// position.
var header = []string{"ref", "amount", "account"}

// readFile checks the whole file and returns its rows, or every error (up
// to 50) with its line number.
func readFile(path string, phoneKind payout.Kind) ([]row, []string) {
	f, err := os.Open(path)
	if err != nil {
		return nil, []string{err.Error()}
	}
	defer f.Close()
	cr := csv.NewReader(bufio.NewReader(f))
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	var (
		rows []row
		errs []string
		seen = map[string]int{}
	)
	add := func(line int, format string, a ...any) {
		if len(errs) < maxErrors {
			errs = append(errs, fmt.Sprintf("%s:%d: ", path, line)+fmt.Sprintf(format, a...))
		}
	}
	first := true
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				add(pe.Line, "%v", pe.Err)
				if errors.Is(pe.Err, csv.ErrQuote) || errors.Is(pe.Err, csv.ErrBareQuote) {
					// The reader cannot find the next line of a broken
					// quote reliably: one error is enough.
					return nil, errs
				}
				continue
			}
			return nil, append(errs, fmt.Sprintf("%s: %v", path, err))
		}
		line, _ := cr.FieldPos(0)
		if first {
			first = false
			if msg := checkHeader(rec); msg != "" {
				add(line, "%s", msg)
			}
			continue
		}
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue
		}
		if len(rec) != 3 {
			add(line, "%d fields, want 3: ref,amount,account", len(rec))
			continue
		}
		ref, amount, account := strings.TrimSpace(rec[0]), strings.TrimSpace(rec[1]), strings.TrimSpace(rec[2])
		ok := true
		if !refForm.MatchString(ref) {
			add(line, "bad ref %s: 1 to 64 letters, digits, dots, dashes or underscores", show(ref))
			ok = false
		} else if prev, dup := seen[ref]; dup {
			add(line, "ref %s already on line %d", maskDigits(ref), prev)
			ok = false
		} else {
			seen[ref] = line
		}
		var kop int64
		if !kopecks.MatchString(amount) {
			add(line, "bad amount %s: kopecks, a positive whole number of at most 12 digits", show(amount))
			ok = false
		} else {
			kop, _ = strconv.ParseInt(amount, 10, 64)
		}
		to := payout.Destination{Account: account}
		switch {
		case phoneForm.MatchString(account):
			to.Kind = phoneKind
		case cardForm.MatchString(account) && payments.LuhnValid(account):
			to.Kind = payout.Card
		case cardForm.MatchString(account):
			add(line, "bad account %s: a card number that fails the Luhn check", maskDigits(account))
			ok = false
		default:
			add(line, "bad account %s: a phone number (10 to 12 digits) or a card number (13 to 19 digits)", show(account))
			ok = false
		}
		if ok {
			// The columns swapped: an account in the ref column, a ref in
			// the account column. 79161234567,15000,1000000001 under the
			// right header would pay "phone" 1000000001.
			if what := accountLike(ref); what != "" && accountLike(account) == "" {
				add(line, "ref %s looks like %s and account %s looks like a ref (no country code): are the ref and account columns swapped? "+
					"The job reads ref,amount,account in that order", maskDigits(ref), what, account)
				ok = false
			}
		}
		if ok {
			rows = append(rows, row{line: line, req: payout.Request{Ref: ref, Amount: payments.Money{Amount: payments.DecimalFromMinor(kop, 2), Currency: "RUB"}, To: to}})
		}
	}
	if first {
		add(1, "empty file: want a header line ref,amount,account")
	}
	return rows, errs
}

// openProvider opens the provider the environment names, or the embedded
// fake.
func openProvider(ctx context.Context, env func(string) string, out io.Writer, h hooks) (*payout.Client, func(), error) {
	lookup := payments.OpenEnv(func(k string) (string, bool) { v := env(k); return v, v != "" })
	opts := []payments.OpenOption{lookup, payments.OpenClientOptions(h.client...)}
	switch {
	case fakeProvider(env): // the embedded fake, below
	case env("POPOLNI_LOGIN") != "":
		c, err := payout.Open(ctx, "popolni://?coalesce=true", opts...)
		if err != nil {
			return nil, nil, err
		}
		return c, func() { c.Close() }, nil
	case env("QIWI_TERMINAL_ID") != "":
		c, err := payout.Open(ctx, "qiwitopup://", opts...)
		if err != nil {
			return nil, nil, err
		}
		return c, func() { c.Close() }, nil
	}
	srv := popolnitest.NewServer(popolnitest.WithBalance(1_000_000_00, 0))
	fmt.Fprintln(out, "payouts: no POPOLNI_LOGIN or QIWI_TERMINAL_ID: paying the embedded popolni fake")
	c, err := payout.Open(ctx, "popolni://?coalesce=true&poll_interval=100ms",
		payments.OpenCredentials(popolniCredentials(srv)), payments.OpenClientOptions(append(srv.ClientOptions(), h.client...)...))
	if err != nil {
		srv.Close()
		return nil, nil, err
	}
	return c, func() { c.Close(); srv.Close() }, nil
}

// fakeProvider reports whether the job pays the embedded fake: neither
// POPOLNI_LOGIN nor QIWI_TERMINAL_ID is set.
func fakeProvider(env func(string) string) bool {
	return env("POPOLNI_LOGIN") == "" && env("QIWI_TERMINAL_ID") == ""
}

// storeWhere is PAYMENTS_STORE, or the default SQLite file.
func storeWhere(where string) string {
	if where == "" {
		return "payouts.db"
	}
	return where
}

func isPostgres(where string) bool {
	return strings.HasPrefix(where, "postgres://") || strings.HasPrefix(where, "postgresql://")
}

// openStore opens the ledger's store: a postgres:// URL, or a SQLite file.
func openStore(ctx context.Context, where string) (ledger.Store, error) {
	if isPostgres(where) {
		return pgstore.Open(ctx, where, pgstore.Options{})
	}
	return sqlitestore.Open(ctx, where, sqlitestore.Exclusive())
}

func popolniCredentials(srv *popolnitest.Server) popolni.Credentials {
	return popolni.Credentials{Login: srv.Login(), Password: srv.Password()}
}
