package cli

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/paysdk/payments/ledger"
)

// reconcileFlags are the reconcile command's own flags.
type reconcileFlags struct {
	payins       []string
	since, until string
	refs         []string
	format       string
}

// reconcileCommand is "payments reconcile": ledger.Reconcile on the ledger
// of PAYMENTS_STORE.
func (a *app) reconcileCommand() *cobra.Command {
	var f reconcileFlags
	c := &cobra.Command{
		Use:   "reconcile [PAYOUT-URL...] [--payin URL]... [--since T] [--until T] [--ref REF]...",
		Short: "Compare the ledger with what each provider holds, and list every difference (reads only)",
		Long: `reconcile compares the payout ledger (PAYMENTS_STORE) with what the providers
hold for the same references and period, and prints every difference:

  paid_not_final      the provider paid; the ledger's record is not final yet
  final_disagrees     the record is final and the provider disagrees: succeeded
                      in the ledger, failed, unknown or pending at the provider;
                      or failed in the ledger and paid (the worst: money out
                      that the ledger thinks failed) or pending at the provider
  mismatch            another amount or destination at the provider (where it
                      reports them), or a pay-in whose amount differs from its
                      recorded notification
  unrecorded_payment  a paid pay-in of the period whose notification the ledger
                      never recorded

Payout providers are the positional URLs (popolni://, qiwitopup://,
royalpay://): each record of the period bound to one of them is looked up by
its ref, in batches of the provider's status batch, at the pace of its rate
limit. Pay-in providers are given with --payin (paykeeper://; royalpay:// has
no list of payments and is named as not listed): their payments of the period
are compared with the notifications the ledger recorded. A pay-in provider
lists by period, so --payin needs --since. A record bound to a provider not
given is counted as not checked, not as a difference.

It only reads: no payout is sent, no checkout created, nothing refunded, and
no record changed. Card numbers are sealed in the ledger: with
PAYOUTS_CARD_KEYS (the keys the batch job sealed them with) they are opened
for the lookup (QIWI's status request names the account) and compared with
what the provider reports, never printed; without it a card payout is looked
up by its ref alone.

Times (--since, --until) are RFC 3339 (2024-03-05T10:00:00+03:00), a UTC day
(2024-03-05) or a duration before now (24h). The period is [since, until):
records by their creation, payments by their registration.

The summary line (checked N records at K providers, D differences) goes to
stdout with the table, to stderr with --format csv or json. Exit status 6 when
there is a difference (even if a provider could not be read: the errors are
on stderr), 1 when there is none but a provider could not be read, 0 when
everything was compared and agrees.`,
		Example: `  payments reconcile popolni:// qiwitopup:// --since 24h
  payments reconcile popolni:// --payin paykeeper://?base_url=https://shop.server.paykeeper.ru --since 2024-03-05 --until 2024-03-06 --format csv
  payments reconcile royalpay:// --ref 1000000001 --ref 1000000002 --json`,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.reconcile(cmd.Context(), args, f)
		},
	}
	fl := c.Flags()
	fl.StringArrayVar(&f.payins, "payin", nil, "a pay-in provider `URL` whose payments of the period are compared with the recorded notifications (repeatable)")
	fl.StringVar(&f.since, "since", "", "the period's start `T`: RFC 3339, a UTC day (2024-03-05) or a duration before now (24h); default: no start")
	fl.StringVar(&f.until, "until", "", "the period's end `T` (not included), as --since; default: no end")
	fl.StringArrayVar(&f.refs, "ref", nil, "compare only this payout `REF` (and pay-ins of this order ref) (repeatable)")
	fl.StringVar(&f.format, "format", "table", "output `FORMAT`: table, csv or json (--json is json)")
	return c
}

// parseWhen reads a --since or --until value at now.
func parseWhen(flag, v string, now time.Time) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.DateOnly, v); err == nil {
		return t, nil
	}
	if d, err := time.ParseDuration(v); err == nil && d > 0 {
		return now.Add(-d), nil
	}
	return time.Time{}, usageError("--%s %q: an RFC 3339 time (2024-03-05T10:00:00Z), a day (2024-03-05) or a positive duration before now (24h)", flag, v)
}

func (a *app) reconcile(ctx context.Context, urls []string, f reconcileFlags) error {
	format := f.format
	switch {
	case a.jsonOut && format != "table" && format != "json":
		return usageError("--json and --format %s: choose one", format)
	case a.jsonOut:
		format = "json"
	}
	switch format {
	case "table", "csv":
	case "json":
		a.jsonOut = true
	default:
		return usageError("--format %q: table, csv or json", format)
	}
	if len(urls) == 0 && len(f.payins) == 0 {
		return usageError("name at least one provider: payout URLs as arguments, pay-in URLs with --payin")
	}
	now := time.Now()
	since, err := parseWhen("since", f.since, now)
	if err != nil {
		return err
	}
	until, err := parseWhen("until", f.until, now)
	if err != nil {
		return err
	}
	if !since.IsZero() && !until.IsZero() && until.Before(since) {
		return usageError("--until is before --since")
	}
	if len(f.payins) > 0 && since.IsZero() {
		return usageError("--payin needs --since: a pay-in provider lists its payments by period")
	}
	for _, r := range f.refs {
		if r == "" || len(r) > 64 {
			return usageError("--ref %q: 1 to 64 characters", r)
		}
	}
	opts := ledger.ReconcileOptions{Since: since, Until: until, Refs: f.refs}
	defer func() {
		for _, c := range opts.Payouts {
			c.Close()
		}
		for _, c := range opts.Payins {
			c.Close()
		}
	}()
	for _, u := range urls {
		c, err := a.openPayout(ctx, u)
		if err != nil {
			return fmt.Errorf("%s: %w", redactURL(u), err)
		}
		opts.Payouts = append(opts.Payouts, c)
	}
	for _, u := range f.payins {
		c, err := a.openPayin(ctx, u)
		if err != nil {
			return fmt.Errorf("--payin %s: %w", redactURL(u), err)
		}
		opts.Payins = append(opts.Payins, c)
	}
	store, cards, err := a.openLedger(ctx) // PAYOUTS_CARD_KEYS opens sealed card numbers for QIWI's lookups
	if err != nil {
		return err
	}
	defer store.Close()

	opts.Cards = cards
	rep, err := ledger.Reconcile(ctx, store, opts)
	var re *ledger.ReconcileError
	if err != nil && !errors.As(err, &re) {
		return err
	}
	if err := a.printReport(rep, format); err != nil {
		return err
	}
	if re != nil {
		for _, e := range re.Errs {
			fmt.Fprintf(a.errOut, "payments: reconcile: %v\n", e)
		}
	}
	switch {
	case len(rep.Differences) > 0:
		return silent(ExitDifference)
	case re != nil:
		return silent(ExitError)
	}
	return nil
}

// redactURL is a provider URL as an error shows it: without its query and
// fragment (they name servers and options, never secrets: keep lines
// short).
func redactURL(u string) string {
	if i := strings.IndexAny(u, "?#"); i >= 0 {
		return u[:i]
	}
	return u
}

// summary is the report's one-line summary.
func summary(rep ledger.Report) string {
	s := "checked " + plural(rep.Records(), "record")
	if len(rep.CheckedPayments) > 0 {
		s += " and " + plural(rep.Payments(), "payment")
	}
	s += " at " + plural(rep.Providers(), "provider") + ", " + plural(len(rep.Differences), "difference")
	if n := sumCounts(rep.NotChecked); n > 0 {
		s += fmt.Sprintf("; %d records not checked (%s)", n, countsText(rep.NotChecked))
	}
	if len(rep.Unlisted) > 0 {
		s += "; no payment list at " + strings.Join(rep.Unlisted, ", ")
	}
	if len(rep.Errors) > 0 {
		s += fmt.Sprintf("; %d providers could not be read", len(rep.Errors))
	}
	return s
}

func sumCounts(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

func countsText(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		name := k
		if name == "" {
			name = "no provider"
		}
		parts[i] = fmt.Sprintf("%s %d", name, m[k])
	}
	return strings.Join(parts, ", ")
}

// reconcileColumns are the table's and the CSV's columns.
var reconcileColumns = []string{"KIND", "REF", "PROVIDER", "PROVIDER-ID", "LEDGER", "LEDGER-AMOUNT", "LEDGER-TO",
	"AT-PROVIDER", "PROVIDER-AMOUNT", "PROVIDER-TO", "DETAIL"}

// reconcileRow is one difference's cells, in reconcileColumns' order.
func reconcileRow(d ledger.Difference) []any {
	state := d.AtProvider.State.String()
	if d.AtProvider.Code != "" || d.AtProvider.Message != "" {
		state += " (" + strings.TrimSpace(d.AtProvider.Code+" "+strings.TrimPrefix(d.AtProvider.Message, d.AtProvider.Code+" ")) + ")"
	}
	return []any{string(d.Kind), d.Ref, d.Provider, d.ProviderID, d.Ledger.Status, d.Ledger.Amount, d.Ledger.To,
		state, d.AtProvider.Amount, d.AtProvider.To, d.Detail}
}

func (a *app) printReport(rep ledger.Report, format string) error {
	switch format {
	case "json":
		if err := a.emit(rep, nil); err != nil {
			return err
		}
		fmt.Fprintln(a.errOut, summary(rep))
		return nil
	case "csv":
		// a.out masks card numbers line by line; a CSV field never holds
		// a line break here (cell replaces them).
		w := csv.NewWriter(a.out)
		if err := w.Write(lower(reconcileColumns)); err != nil {
			return err
		}
		for _, d := range rep.Differences {
			cells := reconcileRow(d)
			rec := make([]string, len(cells))
			for i, c := range cells {
				if rec[i] = cell(c); rec[i] == "-" {
					rec[i] = ""
				}
			}
			if err := w.Write(rec); err != nil {
				return err
			}
		}
		w.Flush()
		if err := w.Error(); err != nil {
			return err
		}
		fmt.Fprintln(a.errOut, summary(rep))
		return nil
	}
	return a.emit(rep, func(w io.Writer) {
		if len(rep.Differences) > 0 {
			cols := make([]any, len(reconcileColumns))
			for i, c := range reconcileColumns {
				cols[i] = c
			}
			row(w, cols...)
			for _, d := range rep.Differences {
				row(w, reconcileRow(d)...)
			}
		}
		fmt.Fprintln(w, summary(rep))
	})
}

func lower(s []string) []string {
	out := make([]string, len(s))
	for i, v := range s {
		out[i] = strings.ToLower(strings.ReplaceAll(v, "-", "_"))
	}
	return out
}

// plural is "1 record", "2 records", "0 records".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
