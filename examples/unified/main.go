// Command unified pays out through popolni.club and QIWI and collects
// through PayKeeper and RoyalPay using only the portable API (packages
// payout and payin), and receives the pay-in notifications through the one
// handler of payin.NewHandler, each recorded once in an embedded ledger
// store (ledger.Notifications) before the provider is acknowledged.
//
// Each provider runs against its embedded fake unless its environment says
// otherwise, with the variables of the provider examples:
//
//   - popolni: POPOLNI_LOGIN, POPOLNI_PASSWORD (POPOLNI_URL, POPOLNI_LOCAL_ADDR);
//     a real payout also needs POPOLNI_ACCOUNTS (the first account is paid)
//     and POPOLNI_AMOUNT in kopecks (default 100).
//   - QIWI: QIWI_TERMINAL_ID, QIWI_PASSWORD (QIWI_URL); a real payout also
//     needs QIWI_PHONE (a wallet) and QIWI_AMOUNT in kopecks (default 100).
//   - PayKeeper: PAYKEEPER_URL, PAYKEEPER_USER, PAYKEEPER_PASSWORD,
//     PAYKEEPER_SECRET.
//   - RoyalPay: ROYALPAY_URL, ROYALPAY_TOKEN, ROYALPAY_CALLBACK_TOKEN, and
//     ROYALPAY_CALLBACK_URL: the public URL that forwards to UNIFIED_LISTEN
//     (default 127.0.0.1:8090) under /notify/royalpay.
//
// Against a real pay-in provider it prints the checkout and waits up to
// UNIFIED_WAIT (a duration, default 0: no wait) for its notification.
// It exits non-zero on any error.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/ledger"
	"github.com/paysdk/payments/ledger/sqlitestore"
	"github.com/paysdk/payments/payin"
	_ "github.com/paysdk/payments/payin/paykeeperpayin" // registers paykeeper://
	_ "github.com/paysdk/payments/payin/royalpaypayin"  // registers royalpay://
	"github.com/paysdk/payments/paykeeper/paykeepertest"
	"github.com/paysdk/payments/payout"
	_ "github.com/paysdk/payments/payout/popolnipayout" // registers popolni://
	_ "github.com/paysdk/payments/payout/qiwipayout"    // registers qiwitopup://
	"github.com/paysdk/payments/popolni"
	"github.com/paysdk/payments/popolni/popolnitest"
	"github.com/paysdk/payments/qiwitopup"
	"github.com/paysdk/payments/qiwitopup/qiwitopuptest"
	"github.com/paysdk/payments/royalpay/royalpaytest"
)

func main() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	if err := run(ctx, os.Stdout, os.Getenv); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}

// lookup adapts env to payments.OpenEnv, overlaying the fakes' values.
func lookup(env func(string) string, over map[string]string) payments.OpenOption {
	return payments.OpenEnv(func(k string) (string, bool) {
		if v, ok := over[k]; ok {
			return v, true
		}
		v := env(k)
		return v, v != ""
	})
}

func run(ctx context.Context, out io.Writer, env func(string) string) error {
	var closers []func()
	defer func() {
		for i := len(closers) - 1; i >= 0; i-- {
			closers[i]()
		}
	}()

	// Money out: one router over popolni (preferred) and QIWI.
	pop, popFake, err := openPopolni(ctx, out, env)
	if err != nil {
		return err
	}
	closers = append(closers, func() { pop.Close() })
	qiwi, qiwiFake, err := openQIWI(ctx, out, env)
	if err != nil {
		return err
	}
	closers = append(closers, func() { qiwi.Close() })
	if popFake != nil {
		closers = append(closers, popFake.Close)
	}
	if qiwiFake != nil {
		closers = append(closers, qiwiFake.Close)
	}
	router, err := payout.NewRouter(pop, qiwi)
	if err != nil {
		return err
	}
	payouts := payout.NewClient(router)

	var reqs []payout.Request
	if popFake != nil {
		reqs = append(reqs, payout.Request{Ref: "1000000001", Amount: payments.MustMoney("50.00", "RUB"),
			To: payout.Destination{Kind: payout.Mobile, Account: "79161234567"}})
	} else if acc := strings.Split(env("POPOLNI_ACCOUNTS"), ",")[0]; acc != "" {
		reqs = append(reqs, payout.Request{Ref: strconv.FormatInt(time.Now().Unix()*1000, 10),
			Amount: kopecks(env("POPOLNI_AMOUNT")), To: payout.Destination{Kind: payout.Mobile, Account: acc}})
	}
	if qiwiFake != nil {
		// popolni has no SBP: the router picks QIWI by capability.
		reqs = append(reqs, payout.Request{Ref: "1000000002", Amount: payments.MustMoney("120.00", "RUB"),
			To: payout.Destination{Kind: payout.SBP, Account: "79161234567", Bank: "100000000111"}})
	} else if phone := env("QIWI_PHONE"); phone != "" {
		reqs = append(reqs, payout.Request{Ref: strconv.FormatInt(time.Now().Unix()*1000+1, 10),
			Amount: kopecks(env("QIWI_AMOUNT")), To: payout.Destination{Kind: payout.Wallet, Account: phone}})
	}
	for _, r := range reqs {
		p, err := payouts.Send(ctx, r)
		if errors.Is(err, payments.ErrOutcomeUnknown) {
			// The provider may have it: settle with the same Ref, never a new one.
			return fmt.Errorf("payout %s may have landed at %s: ask its status, never pay it under a new ref: %w", r.Ref, p.Provider, err)
		} else if err != nil {
			return fmt.Errorf("payout %s: %w", r.Ref, err)
		}
		fmt.Fprintf(out, "payout %s: %s to %s via %s, %s\n", r.Ref, r.Amount, r.To, p.Provider, p.State)
		final, err := payouts.Wait(ctx, payout.Query{Ref: r.Ref, To: r.To})
		if err != nil {
			return fmt.Errorf("payout %s: %w", r.Ref, err)
		}
		fmt.Fprintf(out, "payout %s: %s\n", r.Ref, final.State)
	}

	// Money in: PayKeeper and RoyalPay behind one handler.
	pk, pkFake, err := openPayKeeper(ctx, out, env)
	if err != nil {
		return err
	}
	closers = append(closers, func() { pk.Close() })
	rp, rpFake, err := openRoyalPay(ctx, out, env)
	if err != nil {
		return err
	}
	closers = append(closers, func() { rp.Close() })
	if pkFake != nil {
		closers = append(closers, pkFake.Close)
	}
	if rpFake != nil {
		closers = append(closers, rpFake.Close)
	}

	// Every confirmed notification is recorded in the ledger's store before
	// anything else, once however often the provider repeats it, and the
	// provider is acknowledged only after that (ledger.Notifications).
	storeDir, err := os.MkdirTemp("", "unified-events")
	if err != nil {
		return err
	}
	closers = append(closers, func() { os.RemoveAll(storeDir) })
	store, err := sqlitestore.Open(ctx, filepath.Join(storeDir, "events.db"))
	if err != nil {
		return err
	}
	closers = append(closers, func() { store.Close() })
	events := make(chan payin.Event, 8)
	handler, err := payin.NewHandler(ledger.Notifications(store, func(_ context.Context, e payin.Event) error {
		events <- e // called once per payment and state
		return nil
	}), pk, rp)
	if err != nil {
		return err
	}
	listen := env("UNIFIED_LISTEN")
	if listen == "" || (pkFake != nil && rpFake != nil) {
		listen = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.Handle("/notify/", handler)
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = hs.Serve(ln) }()
	closers = append(closers, func() { hs.Close() })
	local := "http://" + ln.Addr().String() + "/notify/"

	orderSuffix := strconv.FormatInt(time.Now().UnixMilli(), 10)
	pkReq := payin.Request{OrderRef: "A-1003", Amount: payments.MustMoney("990.00", "RUB"), Description: "Подписка",
		Customer: payin.Customer{Name: "Иванов Иван", Email: "ivanov@example.com"}}
	rpCallback := local + "royalpay"
	if rpFake == nil {
		rpCallback = env("ROYALPAY_CALLBACK_URL")
	}
	rpReq := payin.Request{OrderRef: "ORD-982134", Amount: payments.MustMoney("1500.00", "RUB"), Method: payin.SBP,
		Bank: "Tinkoff", CallbackURL: rpCallback}
	if pkFake == nil {
		pkReq.OrderRef += "-" + orderSuffix
	}
	if rpFake == nil {
		rpReq.OrderRef += "-" + orderSuffix
	}

	pkCo, err := create(ctx, pk, pkReq)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "checkout %s %s for %s: pay at %s\n", pkCo.Provider, pkCo.OrderRef, pkCo.Amount, pkCo.PaymentURL)
	rpCo, err := create(ctx, rp, rpReq)
	if err != nil {
		return err
	}
	if q := rpCo.Requisites; q != nil {
		fmt.Fprintf(out, "checkout %s %s for %s: pay by SBP to %s, %s (%s)\n", rpCo.Provider, rpCo.OrderRef, rpCo.Amount, q.Phone, q.Bank, q.Holder)
	}

	// The payers pay. With the fakes, each provider posts its notification
	// to the one handler; for a real provider, wait for it.
	want := 0
	if pkFake != nil {
		pkFake.SetSetting("informer_url", local+"paykeeper")
		if _, err := pkFake.PayInvoice(pkCo.ID); err != nil {
			return err
		}
		want++
	}
	if rpFake != nil {
		id, _ := strconv.ParseInt(rpCo.ID, 10, 64)
		if _, err := rpFake.Complete(id); err != nil {
			return err
		}
		want++
	}
	wait := 2 * time.Second
	if pkFake == nil || rpFake == nil {
		wait, _ = time.ParseDuration(env("UNIFIED_WAIT"))
		want = 2
	}
	timer := time.NewTimer(wait)
	defer timer.Stop()
	got := map[string]payin.Event{}
	for len(got) < want {
		select {
		case e := <-events:
			got[e.Provider] = e
		case <-timer.C:
			want = 0
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	for _, name := range []string{"paykeeper", "royalpay"} {
		if e, ok := got[name]; ok {
			fmt.Fprintf(out, "notification %s %s: %s %s, confirmed by the API\n", e.Provider, e.OrderRef, e.State, e.Amount)
		}
	}
	if pkFake != nil && rpFake != nil && len(got) < 2 {
		return errors.New("a notification did not arrive from the fakes")
	}
	return nil
}

func create(ctx context.Context, c *payin.Client, r payin.Request) (payin.Checkout, error) {
	co, err := c.Create(ctx, r)
	if errors.Is(err, payments.ErrOutcomeUnknown) {
		return co, fmt.Errorf("%s checkout of %s may exist: wait for its notification before creating another: %w", c.Provider(), r.OrderRef, err)
	}
	return co, err
}

func kopecks(s string) payments.Money {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		n = 100
	}
	m, _ := payments.MinorMoney(n, "RUB")
	return m
}

func openPopolni(ctx context.Context, out io.Writer, env func(string) string) (*payout.Client, *popolnitest.Server, error) {
	if env("POPOLNI_LOGIN") != "" {
		c, err := payout.Open(ctx, "popolni://", lookup(env, nil))
		return c, nil, err
	}
	fmt.Fprintln(out, "popolni: no POPOLNI_LOGIN, running against the embedded fake server")
	srv := popolnitest.NewServer()
	c, err := payout.Open(ctx, "popolni://?poll_interval=10ms",
		payments.OpenCredentials(popolni.Credentials{Login: srv.Login(), Password: srv.Password()}),
		payments.OpenClientOptions(srv.ClientOptions()...))
	if err != nil {
		srv.Close()
	}
	return c, srv, err
}

func openQIWI(ctx context.Context, out io.Writer, env func(string) string) (*payout.Client, *qiwitopuptest.Server, error) {
	if env("QIWI_TERMINAL_ID") != "" {
		c, err := payout.Open(ctx, "qiwitopup://", lookup(env, nil))
		return c, nil, err
	}
	fmt.Fprintln(out, "qiwitopup: no QIWI_TERMINAL_ID, running against the embedded fake server")
	srv := qiwitopuptest.NewServer()
	c, err := payout.Open(ctx, "qiwitopup://?poll_interval=10ms",
		payments.OpenCredentials(qiwitopup.PasswordAuth(srv.TerminalID(), srv.Password())),
		payments.OpenClientOptions(srv.ClientOptions()...))
	if err != nil {
		srv.Close()
	}
	return c, srv, err
}

func openPayKeeper(ctx context.Context, out io.Writer, env func(string) string) (*payin.Client, *paykeepertest.Server, error) {
	if env("PAYKEEPER_URL") != "" {
		c, err := payin.Open(ctx, "paykeeper://", lookup(env, nil))
		return c, nil, err
	}
	fmt.Fprintln(out, "paykeeper: no PAYKEEPER_URL, running against the embedded fake server")
	const secret = "demo-informer-seed"
	srv := paykeepertest.NewServer(paykeepertest.WithNotifications("http://127.0.0.1:1/set-later", secret))
	c, err := payin.Open(ctx, "paykeeper://",
		lookup(env, map[string]string{"PAYKEEPER_URL": srv.URL(), "PAYKEEPER_USER": paykeepertest.DefaultUser,
			"PAYKEEPER_PASSWORD": paykeepertest.DefaultPassword, "PAYKEEPER_SECRET": secret}),
		payments.OpenClientOptions(srv.ClientOptions()...))
	if err != nil {
		srv.Close()
	}
	return c, srv, err
}

func openRoyalPay(ctx context.Context, out io.Writer, env func(string) string) (*payin.Client, *royalpaytest.Server, error) {
	if env("ROYALPAY_TOKEN") != "" {
		c, err := payin.Open(ctx, "royalpay://", lookup(env, nil))
		return c, nil, err
	}
	fmt.Fprintln(out, "royalpay: no ROYALPAY_TOKEN, running against the embedded fake server")
	const cbToken = "demo-callback-token"
	srv := royalpaytest.NewServer(royalpaytest.WithCallbackToken(cbToken))
	c, err := payin.Open(ctx, "royalpay://",
		lookup(env, map[string]string{"ROYALPAY_URL": srv.URL(), "ROYALPAY_TOKEN": srv.Token(), "ROYALPAY_CALLBACK_TOKEN": cbToken}),
		payments.OpenClientOptions(srv.ClientOptions()...))
	if err != nil {
		srv.Close()
	}
	return c, srv, err
}
