// Command qiwitopup pays out to a QIWI Wallet through the Top-Up API: checks
// the deposit is possible, pays, waits for the final status, and prints the
// agent's balances before and after.
//
// With no QIWI_TERMINAL_ID it starts the embedded fake server
// (qiwitopup/qiwitopuptest) and runs against it, polling quickly. With
// QIWI_TERMINAL_ID and QIWI_PASSWORD (optional QIWI_URL, default
// https://api.qiwi.com/xml/topup.jsp) it runs the same code against that
// server, trusting the system certificate pool, polling as the document
// says (every 10 minutes). A real run moves real money, so it also needs
// QIWI_PHONE (the wallet, international format without "+") and takes
// QIWI_AMOUNT in kopecks (default 100).
//
// It exits non-zero on any error.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/qiwitopup"
	"github.com/paysdk/payments/qiwitopup/qiwitopuptest"
)

func main() {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Hour)
	defer cancel()
	if err := run(ctx, os.Stdout, os.Getenv); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, out io.Writer, env func(string) string) error {
	var (
		auth   qiwitopup.Auth
		opts   []payments.Option
		phone  = "79181234567" // the document's example wallet
		amount = int64(111500)
		txn    = "12345678"
		popt   qiwitopup.PayoutOptions
	)
	if id := env("QIWI_TERMINAL_ID"); id == "" {
		srv := qiwitopuptest.NewServer()
		defer srv.Close()
		fmt.Fprintln(out, "qiwitopup: no QIWI_TERMINAL_ID, running against the embedded fake server")
		auth, opts = qiwitopup.PasswordAuth(srv.TerminalID(), srv.Password()), srv.ClientOptions()
		popt = qiwitopup.PayoutOptions{PollInterval: 50 * time.Millisecond, ErrorWait: 50 * time.Millisecond}
	} else {
		auth = qiwitopup.PasswordAuth(id, env("QIWI_PASSWORD"))
		if u := env("QIWI_URL"); u != "" {
			opts = append(opts, payments.WithBaseURL(u))
		}
		if phone = env("QIWI_PHONE"); phone == "" {
			return errors.New("QIWI_PHONE is required against a real terminal: this moves real money")
		}
		amount = 100
		if a := env("QIWI_AMOUNT"); a != "" {
			n, err := strconv.ParseInt(a, 10, 64)
			if err != nil {
				return fmt.Errorf("QIWI_AMOUNT: %w", err)
			}
			amount = n
		}
		// Unique, at most 20 digits, never reused for another payment.
		txn = strconv.FormatInt(time.Now().UnixMilli(), 10)
	}
	c, err := qiwitopup.New(auth, opts...)
	if err != nil {
		return err
	}
	defer c.Close() // releases the idle connections
	if err := printBalances(ctx, out, c, "before"); err != nil {
		return err
	}
	check, err := c.CheckDepositPossible(ctx, phone, true, "RUB")
	if err != nil {
		return fmt.Errorf("check-deposit-possible: %w", err)
	}
	fmt.Fprintf(out, "deposit to %s possible: %t (wallet exists: %t)\n", phone, check.Possible, check.Exist)

	p, err := c.Payout(ctx, qiwitopup.WalletPayment{
		Common:  qiwitopup.Common{TransactionNumber: txn, Amount: amount, Currency: "RUB"},
		Phone:   phone,
		NonCash: true,
	}, popt)
	if errors.Is(err, payments.ErrOutcomeUnknown) {
		return fmt.Errorf("payment %s not final yet: keep asking its status, never pay it under a new number: %w", txn, err)
	} else if err != nil {
		return fmt.Errorf("payout: %w", err)
	}
	fmt.Fprintf(out, "payment %s (QIWI txn %s): %s, %s; debited %s, credited %s\n",
		p.TransactionNumber, p.TxnID, p.Status, p.State(), p.FromAmount, p.ToAmount)
	if err := printBalances(ctx, out, c, "after"); err != nil {
		return err
	}
	if !p.Succeeded() {
		return fmt.Errorf("payment %s failed: %w", txn, p.Err())
	}
	return nil
}

func printBalances(ctx context.Context, out io.Writer, c *qiwitopup.Client, when string) error {
	bal, err := c.Ping(ctx)
	if err != nil {
		return fmt.Errorf("ping: %w", err)
	}
	for _, b := range bal {
		fmt.Fprintf(out, "balance %s: %s %s\n", when, b.Currency, b.Amount)
	}
	return nil
}
