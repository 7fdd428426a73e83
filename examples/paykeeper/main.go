// Command paykeeper works a PayKeeper cabinet: creates an invoice and prints
// its payment link, prints a signed payment-form link (no login, no request),
// lists the last week's payments with a running total,
// refunds part of one, and prints that payment's refunds.
//
// With no PAYKEEPER_URL it starts the embedded fake server
// (paykeeper/paykeepertest) with two payments in it. With PAYKEEPER_URL,
// PAYKEEPER_USER and PAYKEEPER_PASSWORD it runs the same code against that
// cabinet (the provider's public demo is https://demo.paykeeper.ru,
// demo/demo), trusting the system certificate pool. A refund moves real
// money, so against a real cabinet it refunds only when
// PAYKEEPER_REFUND_AMOUNT is set (e.g. "1.00").
//
// The form link is signed with PAYKEEPER_FORM_SECRET (the payment form's
// secret word); against the fake, with the fake's own.
//
// It exits non-zero on any error.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/paykeeper"
	"github.com/paysdk/payments/paykeeper/paykeepertest"
)

func main() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if err := run(ctx, os.Stdout, os.Getenv); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, out io.Writer, env func(string) string) error {
	var (
		formSecret = env("PAYKEEPER_FORM_SECRET")
		formServer = env("PAYKEEPER_URL")
		fake       *paykeepertest.Server
		cred       paykeeper.Credentials
		opts       []payments.Option
		refund     = payments.MustDecimal("100.00")
		now        = time.Now()
	)
	if base := env("PAYKEEPER_URL"); base == "" {
		formSecret = "demo-form-secret"
		srv := paykeepertest.NewServer(paykeepertest.WithFormSecret(formSecret))
		fake = srv
		formServer = srv.URL()
		defer srv.Close()
		fmt.Fprintln(out, "paykeeper: no PAYKEEPER_URL, running against the embedded fake server")
		srv.AddPayment(paykeepertest.PaymentSpec{Amount: "1500.00", ClientID: "Иванов Иван", OrderID: "A-1001", Created: now.Add(-48 * time.Hour)})
		srv.AddPayment(paykeepertest.PaymentSpec{Amount: "2400.50", ClientID: "Петров Пётр", OrderID: "A-1002", Created: now.Add(-24 * time.Hour)})
		cred, opts = paykeeper.Credentials{User: paykeepertest.DefaultUser, Password: paykeepertest.DefaultPassword}, srv.ClientOptions()
	} else {
		cred = paykeeper.Credentials{User: env("PAYKEEPER_USER"), Password: env("PAYKEEPER_PASSWORD")}
		opts = []payments.Option{payments.WithBaseURL(base)}
		refund = payments.Decimal{}
		if a := env("PAYKEEPER_REFUND_AMOUNT"); a != "" {
			d, err := payments.ParseDecimal(a)
			if err != nil {
				return fmt.Errorf("PAYKEEPER_REFUND_AMOUNT: %w", err)
			}
			refund = d
		}
	}
	c, err := paykeeper.New(cred, opts...)
	if err != nil {
		return err
	}
	defer c.Close() // releases the idle connections

	inv, err := c.CreateInvoice(ctx, paykeeper.InvoiceParams{
		Amount: payments.MustDecimal("990.00"), ClientID: "Сидоров Сидор", OrderID: "A-1003",
		Service: paykeeper.ServiceName{Name: "Подписка на месяц"}, Email: "client@example.com",
	})
	if err != nil {
		return fmt.Errorf("create invoice: %w", err)
	}
	fmt.Fprintf(out, "invoice %s for 990.00: pay at %s\n", inv.ID, inv.URL)

	if formSecret != "" {
		// The payment form: signed here, sent by the payer's browser.
		signer, err := paykeeper.NewFormSigner(formServer, formSecret)
		if err != nil {
			return fmt.Errorf("form signer: %w", err)
		}
		link, err := signer.URL(paykeeper.Form{Amount: payments.MustDecimal("490.00"), OrderID: "A-1004", ClientID: "Сидоров Сидор",
			ServiceName: "Подписка на полмесяца", Email: "client@example.com"})
		if err != nil {
			return fmt.Errorf("form link: %w", err)
		}
		fmt.Fprintf(out, "form link for 490.00 (order A-1004): %s\n", link)
		if fake != nil { // the payer opens the link: the fake checks the sign
			hc := *fake.Client()
			hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
			resp, err := hc.Get(link)
			if err != nil {
				return fmt.Errorf("form: %w", err)
			}
			resp.Body.Close()
			fmt.Fprintf(out, "form accepted by the fake: %s, payment page %s\n", resp.Status, resp.Header.Get("Location"))
		}
	}

	systems, err := c.PaymentSystems(ctx)
	if err != nil {
		return fmt.Errorf("payment systems: %w", err)
	}
	ids := make([]string, len(systems))
	for i, s := range systems {
		ids[i] = s.ID
	}
	total := payments.Decimal{}
	var refundable *paykeeper.Payment
	filter := paykeeper.PaymentFilter{Start: now.AddDate(0, 0, -7), End: now, Statuses: paykeeper.AllPaymentStatuses, PaymentSystemIDs: ids}
	for p, err := range c.Payments(ctx, filter) {
		if err != nil {
			return fmt.Errorf("payments: %w", err)
		}
		if p.Status.MoneyTaken() {
			total = total.Add(p.Amount)
			if refundable == nil && p.Amount.Cmp(refund) > 0 {
				pp := p
				refundable = &pp
			}
		}
		fmt.Fprintf(out, "payment %s %s %s %s, running total %s\n", p.ID, p.Obtained.In(time.UTC).Format("2006-01-02"), p.Amount, p.Status, total)
	}

	if refundable == nil || refund.IsZero() {
		fmt.Fprintln(out, "no refund made")
		return nil
	}
	err = c.RefundPayment(ctx, paykeeper.RefundParams{PaymentID: refundable.ID, Amount: refund})
	if errors.Is(err, payments.ErrOutcomeUnknown) {
		fmt.Fprintln(out, "refund answer lost: reading the refunds before anything else")
	} else if err != nil {
		return fmt.Errorf("refund: %w", err)
	} else {
		fmt.Fprintf(out, "refunded %s of payment %s\n", refund, refundable.ID)
	}
	refunds, err := c.Refunds(ctx, refundable.ID)
	if err != nil {
		return fmt.Errorf("refunds: %w", err)
	}
	for _, r := range refunds {
		fmt.Fprintf(out, "refund #%d of payment %s: %s, %s left, %s\n", r.Number, r.PaymentID, r.Amount, r.Remainder, r.Status)
	}
	return nil
}
