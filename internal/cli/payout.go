package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/payout"
)

// payoutJSON is a payout as the command prints it: the destination masked.
type payoutJSON struct {
	Ref        string `json:"ref"`
	Provider   string `json:"provider"`
	ProviderID string `json:"provider_id,omitempty"`
	State      string `json:"state"`
	Amount     string `json:"amount,omitempty"`
	Currency   string `json:"currency,omitempty"`
	To         string `json:"to,omitempty"`
	Code       string `json:"code,omitempty"`
	Message    string `json:"message,omitempty"`
	Error      string `json:"error,omitempty"`
}

func toJSON(p payout.Payout) payoutJSON {
	j := payoutJSON{Ref: p.Ref, Provider: p.Provider, ProviderID: p.ProviderID, State: p.State.String(),
		Code: p.Code, Message: p.Message}
	if p.Amount.Currency != "" {
		j.Amount, j.Currency = fixed(p.Amount), p.Amount.Currency
	}
	if p.To.Kind != "" {
		j.To = p.To.String()
	}
	if p.Err != nil {
		j.Error = p.Err.Error()
	}
	return j
}

func payoutRows(w io.Writer, ps []payout.Payout) {
	row(w, "REF", "PROVIDER", "STATE", "AMOUNT", "TO", "CODE", "MESSAGE", "PROVIDER ID")
	for _, p := range ps {
		to := ""
		if p.To.Kind != "" {
			to = p.To.String()
		}
		row(w, p.Ref, p.Provider, p.State.String(), p.Amount, to, p.Code, p.Message, p.ProviderID)
	}
}

// payoutCommand: payments payout get|send|wait.
func (a *app) payoutCommand() *cobra.Command {
	c := &cobra.Command{
		Use:   "payout",
		Short: "Payouts at popolni, QIWI or RoyalPay: read them, send one on purpose, wait for one to settle",
	}
	c.AddCommand(a.payoutGetCommand(), a.payoutSendCommand(), a.payoutWaitCommand())
	return c
}

func (a *app) payoutGetCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "get URL REF...",
		Short: "What the provider knows of each payout (one status request per batch the provider allows)",
		Long: `get asks the provider about each reference through payout.Client.GetMany:
popolni's and QIWI's status requests, in batches of the provider's
status batch, RoyalPay's lookup by outter_id. A read: always safe to repeat.
Exit 5 when the provider knows one of the references not (all are printed).`,
		Example:           `  payments payout get popolni:// 1000000001 1000000002`,
		Args:              cobra.MinimumNArgs(2),
		ValidArgsFunction: completeURLs(payout.Schemes),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			c, err := a.openPayout(ctx, args[0])
			if err != nil {
				return err
			}
			defer c.Close()
			qs := make([]payout.Query, 0, len(args)-1)
			for _, ref := range args[1:] {
				if err := c.Driver().CheckRef(ref); err != nil {
					return err
				}
				qs = append(qs, payout.Query{Ref: ref})
			}
			ps, err := c.GetMany(ctx, qs)
			if err != nil {
				return err
			}
			js := make([]payoutJSON, len(ps))
			missing := 0
			for i, p := range ps {
				js[i] = toJSON(p)
				if errors.Is(p.Err, payments.ErrNotFound) {
					missing++
				}
			}
			if err := a.emit(js, func(w io.Writer) { payoutRows(w, ps) }); err != nil {
				return err
			}
			if missing > 0 {
				return withCode(ExitNotFound, fmt.Errorf("%s knows %d of the %d references not", c.Provider(), missing, len(ps)))
			}
			return nil
		},
	}
}

// destination parses --to KIND:ACCOUNT (and --bank for SBP). A card
// number is never taken from the command line (ps, shell history): --to
// card:- reads it from the first line of stdin, --to card:@FILE from a file.
func (a *app) destination(to, bank string, in *bufio.Reader) (payout.Destination, error) {
	kind, account, ok := strings.Cut(to, ":")
	if !ok || kind == "" || account == "" {
		return payout.Destination{}, usageError("--to %q: KIND:ACCOUNT, KIND one of mobile, wallet, card, sbp (e.g. mobile:79161234567)", to)
	}
	d := payout.Destination{Kind: payout.Kind(kind), Bank: bank}
	switch d.Kind {
	case payout.Mobile, payout.Wallet, payout.SBP:
		d.Account = account
	case payout.Card:
		switch {
		case account == "-":
			line, err := in.ReadString('\n')
			if err != nil && line == "" {
				return payout.Destination{}, usageError("--to card:-: no card number on stdin")
			}
			d.Account = strings.TrimSpace(line)
		case strings.HasPrefix(account, "@"):
			data, err := readSmallFile(account[1:])
			if err != nil {
				return payout.Destination{}, usageError("--to card:@FILE: %v", err)
			}
			d.Account = strings.TrimSpace(string(data))
		default:
			return payout.Destination{}, usageError("--to card:NUMBER: a card number on the command line stays in the shell's history and shows in ps; " +
				"give it on stdin (--to card:-) or in a file (--to card:@FILE)")
		}
	default:
		return payout.Destination{}, usageError("--to %q: KIND one of mobile, wallet, card, sbp", to)
	}
	if d.Kind == payout.SBP && bank == "" {
		return payout.Destination{}, usageError("--to sbp:PHONE needs --bank, the SBP member id of the payee's bank")
	}
	if d.Kind != payout.SBP && bank != "" {
		return payout.Destination{}, usageError("--bank is for --to sbp:PHONE only")
	}
	if err := d.Validate(); err != nil {
		return payout.Destination{}, err
	}
	return d, nil
}

func (a *app) payoutSendCommand() *cobra.Command {
	var ref, amount, currency, to, bank string
	var yes, dryRun bool
	cmd := &cobra.Command{
		Use:   "send URL --ref REF --amount AMOUNT --to KIND:ACCOUNT",
		Short: "Pay one payout, after saying what it will do and asking (unless --yes)",
		Long: `send pays one payout through payout.Client.Send under the merchant's
reference REF, which is the idempotency key: sending the same REF again never
pays twice (popolni refuses a second payment of one id with 124, QIWI a
repeated transaction number; RoyalPay's driver looks the outter_id up first).

It prints what it will do and asks for "yes" on stdin, unless --yes. With
--dry-run it opens the provider and makes every check the SDK makes before
sending (reference form, destination kind, currency, amount range) and sends
nothing.

The destination is KIND:ACCOUNT: mobile:79161234567, wallet:79161234567,
sbp:79161234567 with --bank 100000000111, card:- (the card number on the
first line of stdin) or card:@FILE. A card number is never taken from the
command line: it would stay in the shell's history and show in ps.

Exit 3 when the provider refuses (no money moved), 4 when the outcome is
unknown: the provider may have the payout. Then settle it with
"payments payout wait URL REF" (or send the same REF again): never send the
money under a new reference.`,
		Example: `  payments payout send popolni:// --ref 1000000001 --amount 50.00 --to mobile:79161234567
  echo 4111111111111111 | payments payout send qiwitopup:// --ref 1000000002 --amount 10 --to card:- --yes
  payments payout send royalpay:// --ref r-7 --amount 500 --to sbp:79161234567 --bank 100000000111 --dry-run`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: completeURLs(payout.Schemes),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if ref == "" || amount == "" || to == "" {
				return usageError("--ref, --amount and --to are required")
			}
			m, err := money(amount, currency)
			if err != nil {
				return err
			}
			in := bufio.NewReader(a.stdin)
			dest, err := a.destination(to, bank, in)
			if err != nil {
				return err
			}
			req := payout.Request{Ref: ref, Amount: m, To: dest}
			c, err := a.openPayout(ctx, args[0])
			if err != nil {
				return err
			}
			defer c.Close()
			if err := c.Check(req); err != nil {
				return err
			}
			what := fmt.Sprintf("pay %s %s to %s through %s under ref %s", fixed(m), m.Currency, dest, c.Provider(), ref)
			if dryRun {
				a.say("dry run: would %s; every check passed; nothing was sent", what)
				return nil
			}
			if !yes {
				fmt.Fprintf(a.errOut, "About to %s.\nType yes to send: ", what)
				a.errOut.Flush()
				line, _ := in.ReadString('\n')
				if strings.TrimSpace(line) != "yes" {
					fmt.Fprintln(a.errOut)
					return withCode(ExitBadInput, errors.New("not confirmed: nothing was sent"))
				}
			}
			p, err := c.Send(ctx, req)
			if errors.Is(err, payments.ErrOutcomeUnknown) {
				fmt.Fprintf(a.errOut, "The outcome is unknown: %s may have the payout %s.\n"+
					"Settle it with:  payments payout wait %s %s\n"+
					"(or send the same --ref again). Never send it under a new reference: that could pay twice.\n",
					c.Provider(), ref, args[0], ref)
				return withCode(ExitOutcomeUnknown, err)
			}
			if err != nil && p.Ref == "" {
				return err
			}
			if perr := a.emit(toJSON(p), func(w io.Writer) { payoutRows(w, []payout.Payout{p}) }); perr != nil {
				return perr
			}
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&ref, "ref", "", "the merchant's `REF`erence: the idempotency key at the provider")
	f.StringVar(&amount, "amount", "", "the `AMOUNT` in major units (50, 50.00)")
	f.StringVar(&currency, "currency", "RUB", "the `CURRENCY` (ISO 4217)")
	f.StringVar(&to, "to", "", "the destination, `KIND:ACCOUNT` (mobile:, wallet:, sbp:, card:- or card:@FILE)")
	f.StringVar(&bank, "bank", "", "the SBP member `ID` of the payee's bank (--to sbp: only)")
	f.BoolVar(&yes, "yes", false, "send without asking")
	f.BoolVar(&dryRun, "dry-run", false, "check everything the SDK checks before sending, and send nothing")
	return cmd
}

func (a *app) payoutWaitCommand() *cobra.Command {
	var to, bank string
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "wait URL REF",
		Short: "Ask the provider about a payout at its documented pace until it is final",
		Long: `wait settles a payout through payout.Client.Wait: it asks at once and then
every poll interval the provider's document sets (popolni 10 s, QIWI 10
minutes; poll_interval in the URL changes it) until the payout is final, and
prints it. Reads only: always safe, and the way to settle an unknown outcome.
QIWI's status request names the account: give --to for a QIWI payout.

Exit 0 when it succeeded, 3 when it failed at the provider (final), 5 when the
provider does not know it (twice in a row: sending the same REF again is then
safe), 4 when the provider's final answer is one its document does not define,
130 when interrupted or --timeout passed first (still pending).`,
		Example: `  payments payout wait popolni:// 1000000001
  payments payout wait qiwitopup:// 1000000002 --to wallet:79161234567 --timeout 1h`,
		Args:              cobra.ExactArgs(2),
		ValidArgsFunction: completeURLs(payout.Schemes),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			q := payout.Query{Ref: args[1]}
			if to != "" {
				d, err := a.destination(to, bank, bufio.NewReader(a.stdin))
				if err != nil {
					return err
				}
				q.To = d
			}
			c, err := a.openPayout(ctx, args[0])
			if err != nil {
				return err
			}
			defer c.Close()
			if err := c.Driver().CheckRef(q.Ref); err != nil {
				return err
			}
			if timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, timeout)
				defer cancel()
			}
			p, err := c.Wait(ctx, q)
			if p.Ref != "" {
				if perr := a.emit(toJSON(p), func(w io.Writer) { payoutRows(w, []payout.Payout{p}) }); perr != nil {
					return perr
				}
			}
			if errors.Is(err, context.DeadlineExceeded) {
				return withCode(ExitInterrupted, fmt.Errorf("--timeout %s passed before the payout was final; run wait again", timeout))
			}
			if err != nil {
				return err
			}
			if p.State == payments.StateFailed {
				return withCode(ExitRefused, fmt.Errorf("payout %s failed at %s: %v", p.Ref, c.Provider(), p.Err))
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&to, "to", "", "the destination it was sent to, `KIND:ACCOUNT` (QIWI needs it)")
	cmd.Flags().StringVar(&bank, "bank", "", "the SBP member `ID` (--to sbp: only)")
	cmd.Flags().DurationVar(&timeout, "timeout", 0, "give up after `DURATION` (default: until final or interrupted)")
	return cmd
}
