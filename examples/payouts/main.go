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
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/internal/payoutjob"
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
	exitOK    = payoutjob.ExitOK
	exitError = payoutjob.ExitError // the provider, the store or the context
	exitUsage = payoutjob.ExitUsage // the command line or the file: nothing was paid
)

// run is the job (internal/payoutjob, which "payments ledger run" runs
// too) with this program's choice of provider: the one the environment
// names, or the embedded fake.
func run(ctx context.Context, args []string, env func(string) string, stdout, stderr io.Writer, h hooks) int {
	if len(args) != 1 {
		fmt.Fprintln(stderr, "usage: payouts FILE.csv   (a header line, then ref,amount,account rows)")
		return exitUsage
	}
	return payoutjob.Run(ctx, payoutjob.Config{
		Name:     "payouts",
		File:     args[0],
		Env:      env,
		Stdout:   stdout,
		Stderr:   stderr,
		Embedded: fakeProvider(env),
		Open: func(ctx context.Context, out io.Writer) ([]*payout.Client, func(), error) {
			c, closeFn, err := openProvider(ctx, env, out, h)
			if err != nil {
				return nil, nil, err
			}
			return []*payout.Client{c}, closeFn, nil
		},
		OpenStore: openStore,
		Ledger:    h.ledger,
	})
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

// openStore opens the ledger's store: a postgres:// URL, or a SQLite file.
func openStore(ctx context.Context, where string) (ledger.Store, error) {
	if payoutjob.IsPostgres(where) {
		return pgstore.Open(ctx, where, pgstore.Options{})
	}
	return sqlitestore.Open(ctx, where, sqlitestore.Exclusive())
}

func popolniCredentials(srv *popolnitest.Server) popolni.Credentials {
	return popolni.Credentials{Login: srv.Login(), Password: srv.Password()}
}
