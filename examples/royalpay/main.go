// Command royalpay creates an SBP pay-in, prints the requisites and the
// payment link, serves the callback endpoint, and prints the confirmed final
// status when it arrives.
//
// With no ROYALPAY_TOKEN it starts the embedded fake server
// (royalpay/royalpaytest), which completes the payment shortly after it is
// created and posts the callback. With ROYALPAY_URL and ROYALPAY_TOKEN it
// runs the same code against that server, trusting the system certificate
// pool. The provider must be able to reach the callback endpoint: set
// ROYALPAY_CALLBACK_URL to the public URL that forwards to ROYALPAY_LISTEN
// (default 127.0.0.1:8089). Set ROYALPAY_CALLBACK_TOKEN to the static bearer
// token the provider's admins configured for callbacks; without it the
// handler accepts unauthenticated callbacks and relies on confirming each
// through the API (and refuses callbacks for any payment but its own before
// asking the API). Without ROYALPAY_CALLBACK_URL it polls GetPayment every
// 10 seconds instead. ROYALPAY_SUM sets the amount (default 1500).
//
// Then it pays out: against the fake always; against a real server only
// with ROYALPAY_PAYOUT_TOKEN (the payout token, a credential apart),
// ROYALPAY_PAYOUT_CARD (a card number) and ROYALPAY_PAYOUT_AMOUNT (whole
// roubles), with ROYALPAY_PAYOUT_URL when payouts have their own host. The
// payout callbacks (set up by the provider's admins, at
// /royalpay/payout-callback) are answered by a PayoutCallbackHandler: its
// 200 to the wait_confirm callback is what activates the payout. Against
// the fake, the demo plays the provider's part (WaitConfirm, then
// CompletePayout); against a real server it also polls PayoutByOutterID
// every 10 seconds until the payout is final.
//
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
	"sync/atomic"
	"time"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/royalpay"
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

func run(ctx context.Context, out io.Writer, env func(string) string) error {
	var (
		token       = env("ROYALPAY_TOKEN")
		opts        []payments.Option
		listen      = env("ROYALPAY_LISTEN")
		callbackURL = env("ROYALPAY_CALLBACK_URL")
		cbToken     = env("ROYALPAY_CALLBACK_TOKEN")
		outterID    = fmt.Sprintf("ORD-%d", time.Now().UnixMilli())
	)
	if listen == "" {
		listen = "127.0.0.1:8089"
	}
	var (
		srv                                *royalpaytest.Server
		payoutToken, payoutCard, payoutURL = env("ROYALPAY_PAYOUT_TOKEN"), env("ROYALPAY_PAYOUT_CARD"), env("ROYALPAY_PAYOUT_URL")
		payoutAmount                       = env("ROYALPAY_PAYOUT_AMOUNT")
	)
	if token == "" {
		cbToken = "demo-callback-token"
		srv = royalpaytest.NewServer(royalpaytest.WithAutoComplete(200*time.Millisecond), royalpaytest.WithCallbackToken(cbToken))
		defer srv.Close()
		fmt.Fprintln(out, "royalpay: no ROYALPAY_TOKEN, running against the embedded fake server")
		token, opts = srv.Token(), srv.ClientOptions()
		listen, callbackURL, outterID = "127.0.0.1:0", "auto", "ORD-982134"
		payoutToken, payoutCard, payoutAmount = royalpaytest.DefaultPayoutToken, "4111111111111111", "500"
	} else {
		base := env("ROYALPAY_URL")
		if base == "" {
			return errors.New("ROYALPAY_URL is required with ROYALPAY_TOKEN: the provider has no single public host")
		}
		opts = append(opts, payments.WithBaseURL(base))
	}
	sum := payments.MustDecimal("1500")
	if s := env("ROYALPAY_SUM"); s != "" {
		d, err := payments.ParseDecimal(s)
		if err != nil {
			return fmt.Errorf("ROYALPAY_SUM: %w", err)
		}
		sum = d
	}

	c, err := royalpay.New(royalpay.Credentials{Token: token, PayoutToken: payoutToken, PayoutBaseURL: payoutURL}, opts...)
	if err != nil {
		return err
	}
	defer c.Close()

	// The callback endpoint: confirmed events arrive on final.
	final := make(chan royalpay.Event, 1)
	var paymentID atomic.Int64 // ours, once the create answered
	handler := &royalpay.CallbackHandler{
		Client:      c,
		BearerToken: cbToken,
		// Without a token, every callback is still confirmed through the API.
		AllowUnauthenticated: cbToken == "",
		// Only our own payment is worth an API call.
		Known: func(_ context.Context, id int64, outter string) (bool, error) {
			ours := paymentID.Load()
			return id == ours || (ours == 0 && outter == outterID), nil
		},
		Handle: func(_ context.Context, e royalpay.Event) error {
			if e.Status().Final() {
				select {
				case final <- e:
				default: // a repeated notification: already have it
				}
			}
			return nil
		},
	}
	if err := handler.Validate(); err != nil {
		return err
	}
	// The payout callback endpoint: Handle's nil answer to wait_confirm is
	// the confirmation that activates the payout.
	payoutOutter := "PAYOUT-" + outterID
	payoutEvents := make(chan royalpay.PayoutEvent, 8)
	payoutHandler := &royalpay.PayoutCallbackHandler{
		Client:               c,
		BearerToken:          cbToken,
		AllowUnauthenticated: cbToken == "",
		Known: func(_ context.Context, _ int64, outter string) (bool, error) {
			return outter == payoutOutter, nil
		},
		Handle: func(_ context.Context, e royalpay.PayoutEvent) error {
			if e.NeedsConfirmation() && e.Payout.OutterID != payoutOutter {
				return errors.New("not our payout: not confirmed")
			}
			select {
			case payoutEvents <- e:
			default:
			}
			return nil
		},
	}
	var payoutCallbackURL string
	if callbackURL != "" {
		ln, err := net.Listen("tcp", listen)
		if err != nil {
			return err
		}
		mux := http.NewServeMux()
		mux.Handle("/royalpay/callback", handler)
		mux.Handle("/royalpay/payout-callback", payoutHandler)
		payoutCallbackURL = "http://" + ln.Addr().String() + "/royalpay/payout-callback"
		hs := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
		go func() { _ = hs.Serve(ln) }()
		defer hs.Close()
		if callbackURL == "auto" {
			callbackURL = "http://" + ln.Addr().String() + "/royalpay/callback"
		}
	}

	p, err := c.CreatePayment(ctx, royalpay.CreateParams{
		Sum:         sum,
		Type:        royalpay.TypeSBP,
		Bank:        "Tinkoff",
		OutterID:    outterID,
		Geo:         royalpay.GeoRussia,
		CallbackURL: callbackURL,
	})
	if errors.Is(err, payments.ErrOutcomeUnknown) {
		return fmt.Errorf("the payment may exist: wait for the callback of %s before creating another: %w", outterID, err)
	} else if err != nil {
		return fmt.Errorf("create: %w", err)
	}
	paymentID.Store(p.ID)
	fmt.Fprintf(out, "created payment %d for %s (%s): %s\n", p.ID, p.Sum, p.OutterID, p.Status)
	fmt.Fprintf(out, "pay by SBP to %s, %s (%s)\n", p.SBPPhoneNumber, p.BankName, p.FullName)
	if link := firstOf(p.NSPKURL, p.DeeplinkURL, p.TPayLink); link != "" {
		fmt.Fprintf(out, "payment link: %s\n", link)
	}

	var done royalpay.Event
	if callbackURL != "" {
		select {
		case done = <-final:
		case <-ctx.Done():
			return ctx.Err()
		}
		fmt.Fprintf(out, "callback: %s, confirmed by the API: %s %s\n", done.Callback.Status, done.Payment.Status, done.Payment.Sum)
	} else {
		for {
			got, err := c.GetPayment(ctx, p.ID)
			if err == nil && got.Status.Final() {
				done.Payment = &got
				break
			}
			select {
			case <-time.After(10 * time.Second):
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		fmt.Fprintf(out, "polled: %s %s\n", done.Payment.Status, done.Payment.Sum)
	}
	if done.Payment.Status != royalpay.StatusCompleted {
		return fmt.Errorf("payment %d ended %s", p.ID, done.Payment.Status)
	}
	if payoutToken == "" || payoutCard == "" || payoutAmount == "" {
		return nil
	}
	if srv != nil {
		srv.SetPayoutCallbackURL(payoutCallbackURL)
	}
	return payOut(ctx, out, c, srv, royalpay.PayoutParams{Method: royalpay.PayoutInterbank, Requisite: payoutCard,
		Amount: mustWhole(payoutAmount), OutterID: payoutOutter}, payoutEvents)
}

func mustWhole(s string) payments.Decimal {
	d, err := payments.ParseDecimal(s)
	if err != nil {
		return payments.Decimal{} // refused by Validate: not positive
	}
	return d
}

// payOut creates the payout, has its wait_confirm callback answered, and
// prints its final status. srv, when set, is the fake: the demo moves the
// payout as the provider would.
func payOut(ctx context.Context, out io.Writer, c *royalpay.Client, srv *royalpaytest.Server, pp royalpay.PayoutParams, events <-chan royalpay.PayoutEvent) error {
	po, err := c.CreatePayout(ctx, pp)
	if errors.Is(err, payments.ErrOutcomeUnknown) {
		// Never create again blindly: look it up by our own id.
		if found, lerr := c.PayoutByOutterID(ctx, pp.OutterID); lerr == nil {
			po, err = found, nil
		} else {
			return fmt.Errorf("the payout may exist: look %s up before sending again: %w", pp.OutterID, err)
		}
	}
	if err != nil {
		return fmt.Errorf("payout: %w", err)
	}
	fmt.Fprintf(out, "payout %d of %s to %s (%s): %s\n", po.ID, pp.Amount, payments.MaskPAN(pp.Requisite), po.OutterID, po.Status)
	if srv != nil {
		if _, err := srv.WaitConfirm(po.ID); err != nil {
			return err
		}
		if e := <-events; e.NeedsConfirmation() {
			fmt.Fprintf(out, "payout callback: %s, confirmed by the API: answered 200, the payout is activated\n", e.Callback.Status)
		}
		if _, err := srv.CompletePayout(po.ID); err != nil {
			return err
		}
	}
	for {
		select {
		case e := <-events:
			if e.NeedsConfirmation() {
				fmt.Fprintf(out, "payout callback: %s, answered 200, the payout is activated\n", e.Callback.Status)
				continue
			}
			if e.Status().Final() {
				fmt.Fprintf(out, "payout callback: %s, confirmed by the API: %s\n", e.Callback.Status, e.Status())
				return payoutEnd(e.Payout)
			}
		case <-time.After(10 * time.Second):
			got, err := c.PayoutByOutterID(ctx, pp.OutterID)
			if err == nil && got.Status.Final() {
				fmt.Fprintf(out, "payout polled: %s\n", got.Status)
				return payoutEnd(got)
			}
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func payoutEnd(p royalpay.Payout) error {
	if p.Status != royalpay.PayoutCompleted {
		return fmt.Errorf("payout %d ended %s", p.ID, p.Status)
	}
	return nil
}

func firstOf(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}
