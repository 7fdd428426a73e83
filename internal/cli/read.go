package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/payin"
	"github.com/paysdk/payments/paykeeper"
	"github.com/paysdk/payments/payout"
	"github.com/paysdk/payments/royalpay"
)

// scheme is the scheme of a provider URL, "" when rawURL has none.
func scheme(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return ""
	}
	return u.Scheme
}

// balanceCommand: payments balance URL.
func (a *app) balanceCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "balance URL",
		Short: "What the merchant's account holds at a payout provider (popolni://, qiwitopup://, royalpay://)",
		Long: `balance reads the balance of the merchant's account at a payout provider
through payout.Client.Balance: popolni's balance request, QIWI's account
balance, RoyalPay's payout account read. A read: it never moves money.`,
		Example: `  payments balance popolni://
  payments --env-file payments-fake.env balance qiwitopup://`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: completeURLs(payout.Schemes),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			c, err := a.openPayout(ctx, args[0])
			if err != nil {
				return err
			}
			defer c.Close()
			m, err := c.Balance(ctx)
			if err != nil {
				return err
			}
			return a.emit(struct {
				Provider string `json:"provider"`
				Amount   string `json:"amount"`
				Currency string `json:"currency"`
			}{c.Provider(), fixed(m), m.Currency}, func(w io.Writer) {
				row(w, "PROVIDER", "BALANCE")
				row(w, c.Provider(), m)
			})
		},
	}
}

// completeURLs completes a provider URL argument from the registered
// schemes.
func completeURLs(schemes func() []string) func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
	return func(_ *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
		if len(args) > 0 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		var out []string
		for _, s := range schemes() {
			out = append(out, s+"://")
		}
		return out, cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveNoSpace
	}
}

// checkoutJSON is a pay-in as the command prints it.
type checkoutJSON struct {
	Provider   string `json:"provider"`
	ID         string `json:"id"`
	OrderRef   string `json:"order_ref"`
	Amount     string `json:"amount"`
	Currency   string `json:"currency"`
	State      string `json:"state"`
	PaymentURL string `json:"payment_url,omitempty"`
}

// payinCommand: payments payin get URL ID.
func (a *app) payinCommand() *cobra.Command {
	c := &cobra.Command{
		Use:   "payin",
		Short: "Read pay-ins (checkouts) at PayKeeper or RoyalPay",
	}
	c.AddCommand(&cobra.Command{
		Use:   "get URL ID",
		Short: "The checkout the provider knows by ID (a PayKeeper invoice id, a RoyalPay payment id)",
		Long: `get reads one checkout through payin.Client.Get: PayKeeper's invoice read,
RoyalPay's payment read. A read: it never moves money. An id the provider
does not know exits 5.`,
		Example:           `  payments payin get paykeeper:// 20240101123456`,
		Args:              cobra.ExactArgs(2),
		ValidArgsFunction: completeURLs(payin.Schemes),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			p, err := a.openPayin(ctx, args[0])
			if err != nil {
				return err
			}
			defer p.Close()
			co, err := p.Get(ctx, args[1])
			if err != nil {
				return err
			}
			j := checkoutJSON{co.Provider, co.ID, co.OrderRef, fixed(co.Amount), co.Amount.Currency, co.State.String(), co.PaymentURL}
			return a.emit(j, func(w io.Writer) {
				row(w, "PROVIDER", "ID", "ORDER", "AMOUNT", "STATE", "PAYMENT URL")
				row(w, co.Provider, co.ID, co.OrderRef, co.Amount, co.State.String(), co.PaymentURL)
			})
		},
	})
	return c
}

// paykeeperCommand: payments paykeeper payments URL [--date D].
func (a *app) paykeeperCommand() *cobra.Command {
	c := &cobra.Command{
		Use:   "paykeeper",
		Short: "PayKeeper reads beyond the portable API (the payments of a day)",
	}
	var day, until string
	var statuses []string
	pc := &cobra.Command{
		Use:   "payments URL",
		Short: "The payments of a day (or of --date..--until) in the PayKeeper cabinet",
		Long: `payments lists the registry's payments of the days asked for (Moscow time,
as the document counts them), of every status and payment system unless
--status narrows it, through the paykeeper:// pay-in client's PayKeeper
client (paykeeper.Client.Payments; section 2.1 of the document). A read.`,
		Example: `  payments paykeeper payments paykeeper:// --date 2026-12-06
  payments paykeeper payments paykeeper:// --date 2026-12-01 --until 2026-12-06 --status success --json`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: completeURLs(func() []string { return []string{"paykeeper"} }),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if scheme(args[0]) != "paykeeper" {
				return usageError("paykeeper payments: %q is not a paykeeper:// URL", args[0])
			}
			start, end, err := days(day, until)
			if err != nil {
				return err
			}
			var sts []paykeeper.PaymentStatus
			for _, s := range statuses {
				st := paykeeper.PaymentStatus(s)
				if !slices.Contains(paykeeper.AllPaymentStatuses, st) {
					return usageError("--status %q: one of %v", s, paykeeper.AllPaymentStatuses)
				}
				sts = append(sts, st)
			}
			if len(sts) == 0 {
				sts = paykeeper.AllPaymentStatuses
			}
			p, err := a.openPayin(ctx, args[0])
			if err != nil {
				return err
			}
			defer p.Close()
			var pk *paykeeper.Client
			if !p.As(&pk) {
				return fmt.Errorf("paykeeper payments: the paykeeper:// driver gave no PayKeeper client")
			}
			list, err := paykeeperPayments(ctx, pk, start, end, sts)
			if err != nil {
				return err
			}
			type payJSON struct {
				ID       string `json:"id"`
				OrderID  string `json:"order_id"`
				ClientID string `json:"client_id"`
				Amount   string `json:"amount"`
				Refunded string `json:"refunded"`
				Status   string `json:"status"`
				State    string `json:"state"`
				System   string `json:"payment_system_id"`
				Pending  string `json:"pending,omitempty"`
				Obtained string `json:"obtained,omitempty"`
			}
			out := make([]payJSON, 0, len(list))
			for _, x := range list {
				out = append(out, payJSON{x.ID, x.OrderID, x.ClientID, x.Amount.String(), x.RefundAmount.String(), string(x.Status),
					x.Status.State().String(), x.PaymentSystemID, timeOrEmpty(x.Pending), timeOrEmpty(x.Obtained)})
			}
			err = a.emit(out, func(w io.Writer) {
				row(w, "ID", "ORDER", "AMOUNT", "REFUNDED", "STATUS", "SYSTEM", "OBTAINED")
				for _, x := range list {
					row(w, x.ID, x.OrderID, payments.Money{Amount: x.Amount, Currency: "RUB"}, x.RefundAmount.String(), string(x.Status), x.PaymentSystemID, x.Obtained)
				}
			})
			if err == nil {
				a.say("%d payments from %s to %s (Moscow time)", len(list), start.Format(time.DateOnly), end.Format(time.DateOnly))
			}
			return err
		},
	}
	pc.Flags().StringVar(&day, "date", "", "the first `DAY` (YYYY-MM-DD, Moscow time; default today)")
	pc.Flags().StringVar(&until, "until", "", "the last `DAY` (default: --date)")
	pc.Flags().StringArrayVar(&statuses, "status", nil, "only payments in `STATUS` (repeatable; default all)")
	c.AddCommand(pc)
	return c
}

// paykeeperPayments reads the registry of start..end for every payment
// system of the cabinet (the document lists none without payment systems).
func paykeeperPayments(ctx context.Context, pk *paykeeper.Client, start, end time.Time, sts []paykeeper.PaymentStatus) ([]paykeeper.Payment, error) {
	systems, err := pk.PaymentSystems(ctx)
	if err != nil {
		return nil, err
	}
	ids := make([]string, 0, len(systems))
	for _, s := range systems {
		ids = append(ids, s.ID)
	}
	if len(ids) == 0 {
		return nil, nil
	}
	var list []paykeeper.Payment
	for p, err := range pk.Payments(ctx, paykeeper.PaymentFilter{Start: start, End: end, Statuses: sts, PaymentSystemIDs: ids}) {
		if err != nil {
			return nil, err
		}
		list = append(list, p)
	}
	return list, nil
}

var moscow = time.FixedZone("MSK", 3*60*60)

// days parses --date and --until (YYYY-MM-DD, Moscow time).
func days(day, until string) (time.Time, time.Time, error) {
	start := time.Now().In(moscow)
	start = time.Date(start.Year(), start.Month(), start.Day(), 0, 0, 0, 0, moscow)
	if day != "" {
		d, err := time.ParseInLocation(time.DateOnly, day, moscow)
		if err != nil {
			return time.Time{}, time.Time{}, usageError("--date %q: a day as YYYY-MM-DD", day)
		}
		start = d
	}
	end := start
	if until != "" {
		d, err := time.ParseInLocation(time.DateOnly, until, moscow)
		if err != nil {
			return time.Time{}, time.Time{}, usageError("--until %q: a day as YYYY-MM-DD", until)
		}
		if d.Before(start) {
			return time.Time{}, time.Time{}, usageError("--until %s is before --date %s", until, start.Format(time.DateOnly))
		}
		end = d
	}
	return start, end, nil
}

func timeOrEmpty(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// royalpayCommand: payments royalpay account URL [--payout].
func (a *app) royalpayCommand() *cobra.Command {
	c := &cobra.Command{
		Use:   "royalpay",
		Short: "RoyalPay reads beyond the portable API (the account)",
	}
	var payoutSide bool
	ac := &cobra.Command{
		Use:   "account URL",
		Short: "RoyalPay's account read (GET /api/v1/accounts/me), pay-in side or, with --payout, payout side",
		Long: `account reads the merchant's RoyalPay account through the royalpay:// client:
the pay-in token's account (ROYALPAY_TOKEN), or with --payout the payout
token's (ROYALPAY_PAYOUT_TOKEN). The answer's shape is not documented: the
balance and currency are shown when present, and the whole answer with --json.
A read.`,
		Example:           `  payments royalpay account royalpay://`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: completeURLs(func() []string { return []string{"royalpay"} }),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if scheme(args[0]) != "royalpay" {
				return usageError("royalpay account: %q is not a royalpay:// URL", args[0])
			}
			var rc *royalpay.Client
			var acc royalpay.Account
			if payoutSide {
				c, err := a.openPayout(ctx, args[0])
				if err != nil {
					return err
				}
				defer c.Close()
				if !c.As(&rc) {
					return fmt.Errorf("royalpay account: the driver gave no RoyalPay client")
				}
				if acc, err = rc.PayoutAccount(ctx); err != nil {
					return err
				}
			} else {
				c, err := a.openPayin(ctx, args[0])
				if err != nil {
					return err
				}
				defer c.Close()
				if !c.As(&rc) {
					return fmt.Errorf("royalpay account: the driver gave no RoyalPay client")
				}
				if acc, err = rc.Account(ctx); err != nil {
					return err
				}
			}
			bal := ""
			if acc.HasBalance {
				bal = acc.Balance.String()
			}
			return a.emit(struct {
				Balance  string          `json:"balance,omitempty"`
				Currency string          `json:"currency,omitempty"`
				Raw      json.RawMessage `json:"raw,omitempty"`
			}{bal, acc.Currency, acc.Raw}, func(w io.Writer) {
				row(w, "BALANCE", "CURRENCY")
				row(w, bal, acc.Currency)
			})
		},
	}
	ac.Flags().BoolVar(&payoutSide, "payout", false, "read the payout account (ROYALPAY_PAYOUT_TOKEN) instead of the pay-in one")
	c.AddCommand(ac)
	return c
}

// urlsHelpTopic: payments help urls.
func (a *app) urlsHelpTopic() *cobra.Command {
	return &cobra.Command{
		Use:   "urls",
		Short: "Provider URLs and the environment variables each provider reads",
		Long: `Providers are named by URL, as payout.Open and payin.Open take them. The
URL never holds a credential (one with user info is refused); credentials
come from the environment or an --env-file.

Payout providers (` + strings.Join(payout.Schemes(), ", ") + `):
  popolni://?local_addr=IP&poll_interval=10s&coalesce=true
      POPOLNI_LOGIN, POPOLNI_PASSWORD; POPOLNI_URL, POPOLNI_LOCAL_ADDR
  qiwitopup://?local_addr=IP
      QIWI_TERMINAL_ID, QIWI_PASSWORD; QIWI_URL, QIWI_LOCAL_ADDR
  royalpay://?base_url=https://HOST
      ROYALPAY_PAYOUT_TOKEN; ROYALPAY_PAYOUT_URL or ROYALPAY_URL

Pay-in providers (` + strings.Join(payin.Schemes(), ", ") + `):
  paykeeper://?base_url=https://NAME.server.paykeeper.ru
      PAYKEEPER_USER, PAYKEEPER_PASSWORD, PAYKEEPER_URL; PAYKEEPER_SECRET
      for notifications
  royalpay://?base_url=https://HOST
      ROYALPAY_TOKEN, ROYALPAY_URL; ROYALPAY_CALLBACK_TOKEN for callbacks

Each driver's package documentation lists every parameter (go doc
github.com/paysdk/payments/payout/popolnipayout). An unknown parameter is
refused (exit 2), never ignored.`,
	}
}

// money parses an amount in major units ("50", "50.00") of currency.
func money(amount, currency string) (payments.Money, error) {
	m, err := payments.ParseMoney(amount, currency)
	if err != nil {
		return payments.Money{}, usageError("--amount %q: %v", amount, err)
	}
	return m, nil
}
