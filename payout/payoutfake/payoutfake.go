// Package payoutfake opens, in one line of a merchant's test, a portable
// payout client on a provider's fake server or on the in-memory driver, and
// closes both when the test ends:
//
//	c, srv := payoutfake.Popolni(t)  // *payout.Client on a *popolnitest.Server
//	c, d := payoutfake.Mem(t)        // *payout.Client on a *mempayout.Driver
//
// The client is the one payout.Open makes for the provider's scheme, with
// the fake's credentials, its ClientOptions (certificate verification
// intact) and payments.WithTestTiming, and Wait polling every 10 ms. The
// fake is returned to script: complete a payout, lose an answer, refuse a
// request (see each <provider>test package).
//
// Import it only from tests (_test.go files): it starts servers, and it
// imports every payout driver and fake.
package payoutfake

import (
	"context"
	"testing"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/payout"
	"github.com/paysdk/payments/payout/mempayout"
	"github.com/paysdk/payments/payout/popolnipayout"
	"github.com/paysdk/payments/payout/qiwipayout"
	"github.com/paysdk/payments/payout/royalpaypayout"
	"github.com/paysdk/payments/popolni"
	"github.com/paysdk/payments/popolni/popolnitest"
	"github.com/paysdk/payments/qiwitopup"
	"github.com/paysdk/payments/qiwitopup/qiwitopuptest"
	"github.com/paysdk/payments/royalpay"
	"github.com/paysdk/payments/royalpay/royalpaytest"
)

// pollInterval is the Wait pace of the clients on fakes.
const pollInterval = "?poll_interval=10ms"

// open opens scheme with the fake's credentials and options and registers
// the client's and the fake's closing; it fails t at once on an error.
func open[S interface{ Close() }](t testing.TB, srv S, rawURL string, cred any, opts []payments.Option) (*payout.Client, S) {
	t.Helper()
	t.Cleanup(srv.Close)
	c, err := payout.Open(context.Background(), rawURL, payments.OpenCredentials(cred),
		payments.OpenClientOptions(append(opts, payments.WithTestTiming())...))
	if err != nil {
		t.Fatalf("payoutfake: open %s: %v", rawURL, err)
	}
	t.Cleanup(func() { c.Close() })
	return c, srv
}

// Popolni starts a popolnitest.Server (reporting to t, and at 10,000
// requests a second instead of the document's 5 unless opts say otherwise)
// and opens a "popolni" client on it.
func Popolni(t testing.TB, opts ...popolnitest.Option) (*payout.Client, *popolnitest.Server) {
	t.Helper()
	srv := popolnitest.NewServer(append([]popolnitest.Option{popolnitest.WithT(t), popolnitest.WithRateLimit(10000)}, opts...)...)
	return open(t, srv, popolnipayout.Scheme+"://"+pollInterval,
		popolni.Credentials{Login: srv.Login(), Password: srv.Password()}, srv.ClientOptions())
}

// QIWI starts a qiwitopuptest.Server (reporting to t) and opens a
// "qiwitopup" client on it with password authentication.
func QIWI(t testing.TB, opts ...qiwitopuptest.Option) (*payout.Client, *qiwitopuptest.Server) {
	t.Helper()
	srv := qiwitopuptest.NewServer(append([]qiwitopuptest.Option{qiwitopuptest.WithT(t)}, opts...)...)
	return open(t, srv, qiwipayout.Scheme+"://"+pollInterval,
		qiwitopup.PasswordAuth(srv.TerminalID(), srv.Password()), srv.ClientOptions())
}

// RoyalPay starts a royalpaytest.Server (reporting to t) and opens a
// "royalpay" payout client on it with its payout token
// (royalpaytest.DefaultPayoutToken unless opts set another with
// royalpaytest.WithPayoutToken: give that one to payout.Open yourself).
func RoyalPay(t testing.TB, opts ...royalpaytest.Option) (*payout.Client, *royalpaytest.Server) {
	t.Helper()
	srv := royalpaytest.NewServer(append([]royalpaytest.Option{royalpaytest.WithT(t)}, opts...)...)
	return open(t, srv, royalpaypayout.Scheme+"://"+pollInterval,
		royalpay.Credentials{PayoutToken: royalpaytest.DefaultPayoutToken, Token: srv.Token()}, srv.ClientOptions())
}

// Mem opens a "mem://" client, a fresh in-memory provider, and returns it
// with its driver to script (mempayout.Driver: Refuse, LoseNextAnswer,
// Complete...). For other mempayout.Options, make the driver with
// mempayout.New and wrap it with payout.NewClient.
func Mem(t testing.TB) (*payout.Client, *mempayout.Driver) {
	t.Helper()
	c, err := payout.Open(context.Background(), mempayout.Scheme+"://")
	if err != nil {
		t.Fatalf("payoutfake: open mem://: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	var d *mempayout.Driver
	c.As(&d)
	return c, d
}
