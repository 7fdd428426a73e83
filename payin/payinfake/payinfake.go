// Package payinfake opens, in one line of a merchant's test, a portable
// pay-in client on a provider's fake server or on the in-memory driver, and
// closes both when the test ends:
//
//	c, srv := payinfake.RoyalPay(t) // *payin.Client on a *royalpaytest.Server
//	c, d := payinfake.Mem(t)        // *payin.Client on a *mempayin.Driver
//
// The client is the one payin.Open makes for the provider's scheme, with the
// fake's credentials and notification secret, its ClientOptions
// (certificate verification intact) and payments.WithTestTiming. Serve
// payin.NewHandler(handle, c) and have the fake's payer pay:
//
//   - PayKeeper: srv.SetSetting("informer_url", <handler URL>/paykeeper),
//     then srv.PayInvoice(co.ID);
//   - RoyalPay: create with CallbackURL <handler URL>/royalpay, then
//     srv.Complete(id);
//   - mem: d.Pay(ctx, co.ID) delivers in process to the handler.
//
// Import it only from tests (_test.go files): it starts servers, and it
// imports every pay-in driver and fake.
package payinfake

import (
	"context"
	"testing"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/payin"
	"github.com/paysdk/payments/payin/mempayin"
	"github.com/paysdk/payments/payin/paykeeperpayin"
	"github.com/paysdk/payments/payin/royalpaypayin"
	"github.com/paysdk/payments/paykeeper/paykeepertest"
	"github.com/paysdk/payments/royalpay/royalpaytest"
)

// PayKeeperSecret is the informer_seed the PayKeeper fake signs its
// notifications with, and the client checks them with.
const PayKeeperSecret = "payinfake-informer-seed"

// RoyalPayCallbackToken is the bearer token the RoyalPay fake sends with its
// callbacks, and the client requires.
const RoyalPayCallbackToken = "payinfake-callback-token"

// open opens rawURL with env as the whole environment and the fake's
// options, and registers the client's and the fake's closing; it fails t at
// once on an error.
func open[S interface{ Close() }](t testing.TB, srv S, rawURL string, env map[string]string, opts []payments.Option) (*payin.Client, S) {
	t.Helper()
	t.Cleanup(srv.Close)
	c, err := payin.Open(context.Background(), rawURL,
		payments.OpenEnv(func(k string) (string, bool) { v, ok := env[k]; return v, ok }),
		payments.OpenClientOptions(append(opts, payments.WithTestTiming())...))
	if err != nil {
		t.Fatalf("payinfake: open %s: %v", rawURL, err)
	}
	t.Cleanup(func() { c.Close() })
	return c, srv
}

// PayKeeper starts a paykeepertest.Server (reporting to t) whose informer
// POSTs notifications signed with PayKeeperSecret (to no URL until
// srv.SetSetting("informer_url", ...)), and opens a "paykeeper" client on
// it with the fake's default user.
func PayKeeper(t testing.TB, opts ...paykeepertest.Option) (*payin.Client, *paykeepertest.Server) {
	t.Helper()
	srv := paykeepertest.NewServer(append([]paykeepertest.Option{paykeepertest.WithT(t),
		paykeepertest.WithNotifications("http://127.0.0.1:1/informer-url-not-set", PayKeeperSecret)}, opts...)...)
	return open(t, srv, paykeeperpayin.Scheme+"://", map[string]string{
		paykeeperpayin.EnvURL: srv.URL(), paykeeperpayin.EnvUser: paykeepertest.DefaultUser,
		paykeeperpayin.EnvPassword: paykeepertest.DefaultPassword, paykeeperpayin.EnvSecret: PayKeeperSecret,
	}, srv.ClientOptions())
}

// RoyalPay starts a royalpaytest.Server (reporting to t) whose callbacks
// carry RoyalPayCallbackToken, and opens a "royalpay" pay-in client on it.
func RoyalPay(t testing.TB, opts ...royalpaytest.Option) (*payin.Client, *royalpaytest.Server) {
	t.Helper()
	srv := royalpaytest.NewServer(append([]royalpaytest.Option{royalpaytest.WithT(t),
		royalpaytest.WithCallbackToken(RoyalPayCallbackToken)}, opts...)...)
	return open(t, srv, royalpaypayin.Scheme+"://", map[string]string{
		royalpaypayin.EnvURL: srv.URL(), royalpaypayin.EnvToken: srv.Token(), royalpaypayin.EnvCallbackToken: RoyalPayCallbackToken,
	}, srv.ClientOptions())
}

// Mem opens a "mem://" client, a fresh in-memory provider, and returns it
// with its driver to script (mempayin.Driver: Pay, Cancel, RefuseNext,
// LoseAnswers...). For other mempayin.Options, make the driver with
// mempayin.New and wrap it with payin.NewClient.
func Mem(t testing.TB) (*payin.Client, *mempayin.Driver) {
	t.Helper()
	c, err := payin.Open(context.Background(), mempayin.Scheme+"://")
	if err != nil {
		t.Fatalf("payinfake: open mem://: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	var d *mempayin.Driver
	c.As(&d)
	return c, d
}
