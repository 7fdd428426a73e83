// Command popolni pays out two top-ups through popolni.club and waits for
// their final statuses.
//
// With no POPOLNI_LOGIN it starts the embedded fake server
// (popolni/popolnitest) and runs against it. With POPOLNI_LOGIN and
// POPOLNI_PASSWORD it runs the same code against the real API (or
// POPOLNI_URL), trusting the system certificate pool (SSL_CERT_FILE works),
// from POPOLNI_LOCAL_ADDR when set. Against a real account it moves real
// money, so it then also needs POPOLNI_ACCOUNTS: the comma-separated phone
// or card numbers to top up, and POPOLNI_AMOUNT in kopecks (default 100).
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
	"strings"
	"time"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/popolni"
	"github.com/paysdk/payments/popolni/popolnitest"
)

func main() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	if err := run(ctx, os.Stdout, os.Getenv); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, out io.Writer, env func(string) string) error {
	var (
		cred     popolni.Credentials
		opts     []payments.Option
		accounts = []string{"380991234567", "4111111111111111"} // the document's examples
		amounts  = []int64{500, 2000}
		firstID  = int64(1000000001)
		poll     = popolni.DefaultPollInterval
	)
	if login := env("POPOLNI_LOGIN"); login == "" {
		srv := popolnitest.NewServer(popolnitest.WithBalance(100000, 10000))
		defer srv.Close()
		fmt.Fprintln(out, "popolni: no POPOLNI_LOGIN, running against the embedded fake server")
		cred = popolni.Credentials{Login: srv.Login(), Password: srv.Password()}
		opts = srv.ClientOptions()
		poll = 100 * time.Millisecond // the fake moves a payment one step per status request
	} else {
		cred = popolni.Credentials{Login: login, Password: env("POPOLNI_PASSWORD")}
		if u := env("POPOLNI_URL"); u != "" {
			opts = append(opts, payments.WithBaseURL(u))
		}
		if a := env("POPOLNI_LOCAL_ADDR"); a != "" {
			opts = append(opts, payments.WithLocalAddr(a))
		}
		list := env("POPOLNI_ACCOUNTS")
		if list == "" {
			return errors.New("POPOLNI_ACCOUNTS is required against a real account: this moves real money")
		}
		accounts = strings.Split(list, ",")
		amount := int64(popolni.MinAmount)
		if a := env("POPOLNI_AMOUNT"); a != "" {
			n, err := strconv.ParseInt(a, 10, 64)
			if err != nil {
				return fmt.Errorf("POPOLNI_AMOUNT: %w", err)
			}
			amount = n
		}
		amounts = make([]int64, len(accounts))
		for i := range amounts {
			amounts[i] = amount
		}
		// Unique ids above the cabinet's range, as the document recommends.
		firstID = time.Now().UnixMilli()
	}

	c, err := popolni.New(cred, opts...)
	if err != nil {
		return err
	}
	defer c.Close() // releases the keep-alive connections
	c = c.WithPollInterval(poll)

	bal, err := c.Balance(ctx)
	if err != nil {
		return fmt.Errorf("balance: %w", err)
	}
	fmt.Fprintf(out, "balance: %s, credit limit %s\n", rub(bal.Current), rub(bal.CreditLimit))

	batch := make([]popolni.Payment, len(accounts))
	ids := make([]int64, len(accounts))
	for i, acc := range accounts {
		ids[i] = firstID + int64(i)
		batch[i] = popolni.Payment{ID: ids[i], Amount: amounts[i], Account: strings.TrimSpace(acc)}
	}
	res, err := c.Pay(ctx, batch)
	if errors.Is(err, payments.ErrOutcomeUnknown) {
		// The batch may have been accepted: find out by status, never by paying anew.
		fmt.Fprintln(out, "pay: answer lost, reconciling by status")
	} else if err != nil {
		return fmt.Errorf("pay: %w", err)
	}
	for i, r := range res {
		fmt.Fprintf(out, "paid %d: %s to %s, status %s\n", r.ID, rub(batch[i].Amount), payments.MaskPAN(batch[i].Account), r.Status)
	}

	final, err := c.WaitFinal(ctx, ids...)
	if err != nil {
		return fmt.Errorf("wait: %w", err)
	}
	failed := 0
	for _, r := range final {
		fmt.Fprintf(out, "final %d: %s (%s)\n", r.ID, r.Status, r.Status.State())
		if r.Err() != nil {
			failed++
		}
	}

	bal, err = c.Balance(ctx)
	if err != nil {
		return fmt.Errorf("balance: %w", err)
	}
	fmt.Fprintf(out, "balance: %s, credit limit %s\n", rub(bal.Current), rub(bal.CreditLimit))
	if failed > 0 {
		return fmt.Errorf("%d payment(s) failed", failed)
	}
	return nil
}

// rub formats kopecks exactly.
func rub(kopecks int64) string { return payments.FormatMinor(kopecks, 2) }
