package ledger

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/payin"
	"github.com/paysdk/payments/payout"
)

// DifferenceKind says what a Difference is.
type DifferenceKind string

// The kinds of difference Reconcile reports.
const (
	// DiffPaidNotFinal: the provider says the payout succeeded and the
	// ledger's record is not final yet (recorded, in flight, pending). The
	// work loop settles it at its next poll; when it stays, the loop is not
	// running or cannot reach the provider.
	DiffPaidNotFinal DifferenceKind = "paid_not_final"
	// DiffFinalDisagrees: the record is final and the provider disagrees:
	// the ledger says succeeded and the provider says failed, does not know
	// the payout or has it still pending; or the ledger says failed and the
	// provider says succeeded (money out that the ledger thinks failed: the
	// worst, never pay it again under a new Ref) or still pending (the
	// provider may yet pay it).
	DiffFinalDisagrees DifferenceKind = "final_disagrees"
	// DiffMismatch: the provider reports another amount or destination than
	// the ledger recorded (for payouts, only where the provider's status
	// answer carries them: payout.Payout.Amount and To non-zero); for a
	// pay-in, a registry payment whose amount differs from its recorded
	// notification.
	DiffMismatch DifferenceKind = "mismatch"
	// DiffUnrecorded: a paid payment in the pay-in provider's registry for
	// the period, whose notification the ledger never recorded (no Event
	// with its provider id).
	DiffUnrecorded DifferenceKind = "unrecorded_payment"
)

// DifferenceKinds lists every kind, in the order above.
var DifferenceKinds = []DifferenceKind{DiffPaidNotFinal, DiffFinalDisagrees, DiffMismatch, DiffUnrecorded}

// ReconcileOptions say what Reconcile compares. Zero fields select
// everything; at least one client is required.
type ReconcileOptions struct {
	// Payouts are the payout providers to ask, one client per provider
	// (Provider()): each record bound to one of them is looked up through
	// it (payout.Client.GetMany: Capabilities().StatusBatch refs per
	// request, through the client's limiter). A record bound to a provider
	// without a client here is counted in Report.NotChecked.
	Payouts []*payout.Client
	// Payins are the pay-in providers whose payments of the period are
	// compared with the recorded notifications (Store.Events): those whose
	// driver lists payments (payin.Lister); the others are named in
	// Report.Unlisted.
	Payins []*payin.Client
	// Since and Until are the period: records created (CreatedAt) in
	// [Since, Until), and the pay-in providers' payments registered in it.
	// A zero Since is no start (a pay-in provider that lists by day, like
	// PayKeeper, refuses it); a zero Until is no end for records and now
	// for pay-ins.
	Since, Until time.Time
	// Refs, when not empty, restricts the records to these refs and the
	// pay-in payments to these order refs.
	Refs []string
	// Cards opens sealed card numbers (Options.Cards), so that a card
	// payout's destination can be given to a provider that asks by account
	// (QIWI) and compared with what a provider reports. Without it such a
	// record is asked about by Ref alone and its account is not compared.
	Cards Cards
}

// Report is what Reconcile found. It is a value to print: its JSON and
// String show no full card number.
type Report struct {
	Since time.Time `json:"since,omitzero"`
	Until time.Time `json:"until,omitzero"`
	// Checked counts, per payout provider, the records compared with the
	// provider's answer.
	Checked map[string]int `json:"checked"`
	// CheckedPayments counts, per pay-in provider, the registry payments
	// of the period compared with the recorded notifications.
	CheckedPayments map[string]int `json:"checked_payments"`
	// NotChecked counts, per provider, the records of the period bound to
	// a provider no client was given for, or whose provider could not be
	// read (Errors says why). They are not differences.
	NotChecked map[string]int `json:"not_checked"`
	// Unlisted names the pay-in providers given whose driver cannot list
	// payments (RoyalPay): nothing of theirs was compared.
	Unlisted []string `json:"unlisted"`
	// Errors are the provider reads that failed (the error Reconcile
	// returns holds them too), card numbers masked.
	Errors []string `json:"errors"`
	// Differences, ordered by provider, then Ref, then kind.
	Differences []Difference `json:"differences"`
}

// Records is how many records were compared, across providers.
func (r Report) Records() int { return sum(r.Checked) }

// Payments is how many pay-in payments were compared, across providers.
func (r Report) Payments() int { return sum(r.CheckedPayments) }

// Providers is how many providers had something compared.
func (r Report) Providers() int {
	seen := map[string]bool{}
	for p, n := range r.Checked {
		seen[p] = seen[p] || n > 0
	}
	for p, n := range r.CheckedPayments {
		seen[p] = seen[p] || n > 0
	}
	k := 0
	for _, ok := range seen {
		if ok {
			k++
		}
	}
	return k
}

func sum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// LedgerSide is what the ledger says of a difference's payout or payment.
type LedgerSide struct {
	// Status is the record's status; for a pay-in, the recorded event's
	// state ("" when no event was recorded).
	Status string
	Amount payments.Money
	// To is the record's destination, masked ("card:sealed" for a sealed
	// card number); "" for a pay-in.
	To string
}

// ProviderSide is what the provider says of a difference's payout or
// payment.
type ProviderSide struct {
	// State is the provider's state ("unknown" with Code or Message saying
	// "not found" when it does not know the payout).
	State   payments.State
	Code    string
	Message string
	// Amount and To, when the provider reported them (zero otherwise);
	// To masked.
	Amount payments.Money
	To     string
}

// Difference is one thing the ledger and a provider do not agree on.
type Difference struct {
	Kind DifferenceKind
	// Ref is the payout's Ref; for a pay-in, the payment's order ref.
	Ref      string
	Provider string
	// ProviderID is the provider's id of the payout or payment, when known.
	ProviderID string
	Ledger     LedgerSide
	AtProvider ProviderSide
	// Detail says in words what differs and what to do.
	Detail string
}

// String shows the difference in one line, card numbers masked.
func (d Difference) String() string {
	s := fmt.Sprintf("%s %s at %s: ledger %s", d.Kind, d.Ref, d.Provider, orDash(d.Ledger.Status))
	if d.Ledger.Amount.Currency != "" {
		s += " " + d.Ledger.Amount.String()
	}
	s += ", provider " + d.AtProvider.State.String()
	if d.AtProvider.Amount.Currency != "" {
		s += " " + d.AtProvider.Amount.String()
	}
	if d.Detail != "" {
		s += ": " + d.Detail
	}
	return payments.MaskPAN(s)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// Format prints String for every verb: no verb shows a full card number.
func (d Difference) Format(f fmt.State, _ rune) { io.WriteString(f, d.String()) }

// LogValue is String.
func (d Difference) LogValue() slog.Value { return slog.StringValue(d.String()) }

// moneyText is Money as JSON shows it: "100.00 RUB", "" when zero.
func moneyText(m payments.Money) string {
	if m.Currency == "" && m.Amount.IsZero() {
		return ""
	}
	return m.String()
}

// MarshalJSON writes the difference with every text masked, the states as
// their names and the amounts as "100.00 RUB" ("" when not known).
func (d Difference) MarshalJSON() ([]byte, error) {
	type side struct {
		Status  string `json:"status,omitempty"`
		State   string `json:"state,omitempty"`
		Code    string `json:"code,omitempty"`
		Message string `json:"message,omitempty"`
		Amount  string `json:"amount,omitempty"`
		To      string `json:"to,omitempty"`
	}
	m := payments.MaskPAN
	return json.Marshal(struct {
		Kind       DifferenceKind `json:"kind"`
		Ref        string         `json:"ref"`
		Provider   string         `json:"provider"`
		ProviderID string         `json:"provider_id,omitempty"`
		Ledger     side           `json:"ledger"`
		AtProvider side           `json:"at_provider"`
		Detail     string         `json:"detail"`
	}{d.Kind, d.Ref, d.Provider, m(d.ProviderID),
		side{Status: d.Ledger.Status, Amount: moneyText(d.Ledger.Amount), To: m(d.Ledger.To)},
		side{State: d.AtProvider.State.String(), Code: m(d.AtProvider.Code), Message: m(d.AtProvider.Message),
			Amount: moneyText(d.AtProvider.Amount), To: m(d.AtProvider.To)},
		m(d.Detail)})
}

// ErrNothingRead is matched by Reconcile's error when clients were given
// and none of them could be read: the report compares nothing.
var ErrNothingRead = errors.New("ledger: reconcile: no provider could be read")

// ReconcileError is Reconcile's error when provider reads failed: Errs are
// the failures, one per provider; errors.Is(err, ErrNothingRead) when
// every provider failed. The report returned with it is still good for
// what was read.
type ReconcileError struct {
	Errs        []error
	NothingRead bool
}

func (e *ReconcileError) Error() string {
	parts := make([]string, len(e.Errs))
	for i, err := range e.Errs {
		parts[i] = err.Error()
	}
	s := strings.Join(parts, "; ")
	if e.NothingRead {
		s = ErrNothingRead.Error() + ": " + s
	}
	return payments.MaskPAN(s)
}

// Unwrap gives the failures.
func (e *ReconcileError) Unwrap() []error { return e.Errs }

// Is matches ErrNothingRead when nothing was read.
func (e *ReconcileError) Is(target error) bool { return target == ErrNothingRead && e.NothingRead }

// reconcilePage is how many records one Store.List of Reconcile reads.
const reconcilePage = 500

// Reconcile compares the ledger in store with what each provider holds
// for the same references and period, and reports every difference (see
// DifferenceKind). It only reads: status lookups (payout.Client.GetMany,
// in batches of each provider's StatusBatch, paced by the clients'
// limiters), pay-in registries (payin.Client.Payments) and the store; it
// never sends, creates or refunds anything, and changes no record.
//
// Pay-ins are compared first: a pay-in provider that refuses the period
// (a *payments.ValidationError: PayKeeper without Since) ends Reconcile
// with that error before any payout provider is asked. A provider that
// cannot be read otherwise is skipped (its records counted in NotChecked)
// and the others are still read: the report comes back with a
// *ReconcileError holding the failures (matching ErrNothingRead when no
// provider could be read). A store error ends it at once.
func Reconcile(ctx context.Context, store Store, opts ReconcileOptions) (Report, error) {
	if ctx == nil {
		return Report{}, payments.ErrNilContext
	}
	if store == nil {
		return Report{}, &payments.ValidationError{Field: "store", Reason: "required"}
	}
	if len(opts.Payouts) == 0 && len(opts.Payins) == 0 {
		return Report{}, &payments.ValidationError{Field: "clients", Reason: "at least one payout or pay-in client is required"}
	}
	if !opts.Since.IsZero() && !opts.Until.IsZero() && opts.Until.Before(opts.Since) {
		return Report{}, &payments.ValidationError{Field: "until", Reason: "the period ends before it starts"}
	}
	payouts := map[string]*payout.Client{}
	for i, c := range opts.Payouts {
		if c == nil {
			return Report{}, &payments.ValidationError{Field: fmt.Sprintf("payouts[%d]", i), Reason: "nil client"}
		}
		if _, dup := payouts[c.Provider()]; dup {
			return Report{}, &payments.ValidationError{Field: "payouts", Reason: "two clients of " + c.Provider()}
		}
		payouts[c.Provider()] = c
	}
	seenIn := map[string]bool{}
	for i, c := range opts.Payins {
		if c == nil {
			return Report{}, &payments.ValidationError{Field: fmt.Sprintf("payins[%d]", i), Reason: "nil client"}
		}
		if seenIn[c.Provider()] {
			return Report{}, &payments.ValidationError{Field: "payins", Reason: "two clients of " + c.Provider()}
		}
		seenIn[c.Provider()] = true
	}
	rc := &reconciler{store: store, opts: opts, payouts: payouts, failed: map[string]bool{},
		rep: Report{Since: opts.Since, Until: opts.Until, Checked: map[string]int{}, CheckedPayments: map[string]int{},
			NotChecked: map[string]int{}, Unlisted: []string{}, Errors: []string{}, Differences: []Difference{}}}
	for p := range payouts {
		rc.rep.Checked[p] = 0
	}
	if err := rc.payins(ctx); err != nil {
		return rc.rep, err
	}
	if err := rc.records(ctx); err != nil {
		return rc.rep, err
	}
	slices.SortStableFunc(rc.rep.Differences, func(a, b Difference) int {
		return strings.Compare(a.Provider+"\x00"+a.Ref, b.Provider+"\x00"+b.Ref)
	})
	if len(rc.errs) == 0 {
		return rc.rep, nil
	}
	read := false
	for p := range payouts {
		read = read || !rc.failed[p]
	}
	for _, c := range opts.Payins {
		read = read || !rc.failed[c.Provider()]
	}
	return rc.rep, &ReconcileError{Errs: rc.errs, NothingRead: !read}
}

type reconciler struct {
	store   Store
	opts    ReconcileOptions
	payouts map[string]*payout.Client
	failed  map[string]bool // providers whose read failed (pay-in providers too)
	errs    []error
	rep     Report
}

// fail records a provider's failed read.
func (rc *reconciler) fail(provider string, err error) {
	rc.failed[provider] = true
	err = fmt.Errorf("%s: %w", provider, err)
	rc.errs = append(rc.errs, err)
	rc.rep.Errors = append(rc.rep.Errors, payments.MaskPAN(err.Error()))
}

func (rc *reconciler) inPeriod(t time.Time) bool {
	return (rc.opts.Since.IsZero() || !t.Before(rc.opts.Since)) && (rc.opts.Until.IsZero() || t.Before(rc.opts.Until))
}

// payins compares each pay-in provider's payments of the period with the
// recorded events.
func (rc *reconciler) payins(ctx context.Context) error {
	if len(rc.opts.Payins) == 0 {
		return nil
	}
	evs, err := rc.store.Events(ctx, 0)
	if err != nil {
		return err
	}
	type key struct{ provider, id string }
	byID := map[key][]Event{}
	for _, e := range evs {
		k := key{e.Provider, e.ProviderID}
		byID[k] = append(byID[k], e)
	}
	var refs map[string]bool
	if len(rc.opts.Refs) > 0 {
		refs = map[string]bool{}
		for _, r := range rc.opts.Refs {
			refs[r] = true
		}
	}
	for _, c := range rc.opts.Payins {
		provider := c.Provider()
		ps, err := c.Payments(ctx, rc.opts.Since, rc.opts.Until)
		var ve *payments.ValidationError
		switch {
		case errors.Is(err, payments.ErrNotSupported):
			rc.rep.Unlisted = append(rc.rep.Unlisted, provider)
			continue
		case errors.As(err, &ve):
			return fmt.Errorf("ledger: reconcile: %s payments: %w", provider, err)
		case err != nil:
			if ctx.Err() != nil {
				return ctx.Err()
			}
			rc.fail(provider, err)
			continue
		}
		rc.rep.CheckedPayments[provider] += 0
		for _, p := range ps {
			if refs != nil && !refs[p.OrderRef] {
				continue
			}
			rc.rep.CheckedPayments[provider]++
			if p.State != payments.StateSucceeded {
				continue
			}
			recorded := byID[key{provider, p.ID}]
			at := ProviderSide{State: p.State, Amount: p.Amount}
			if len(recorded) == 0 {
				rc.add(Difference{Kind: DiffUnrecorded, Ref: p.OrderRef, Provider: provider, ProviderID: p.ID, AtProvider: at,
					Detail: "paid at the provider; the ledger recorded no notification of this payment (deliver it again from the provider's cabinet, or handle the order by hand)"})
				continue
			}
			ev := recorded[0]
			for _, e := range recorded {
				if e.State == payments.StateSucceeded {
					ev = e
					break
				}
			}
			if ev.Amount.Currency != "" && !ev.Amount.Equal(p.Amount) {
				rc.add(Difference{Kind: DiffMismatch, Ref: p.OrderRef, Provider: provider, ProviderID: p.ID,
					Ledger: LedgerSide{Status: "event " + ev.State.String(), Amount: ev.Amount}, AtProvider: at,
					Detail: fmt.Sprintf("the provider's payment is %s, its recorded notification said %s", p.Amount, ev.Amount)})
			}
		}
	}
	return nil
}

func (rc *reconciler) add(d Difference) { rc.rep.Differences = append(rc.rep.Differences, d) }

// pendingRec is a record waiting for its provider's next status batch, with the
// destination to ask by (zero when it cannot be given).
type pendingRec struct {
	rec Record
	to  payout.Destination // the destination in clear, when known
}

// records pages through the ledger's records of the period and compares
// each bound to a given payout provider, asking each provider in full
// batches of its StatusBatch.
func (rc *reconciler) records(ctx context.Context) error {
	queue := map[string][]pendingRec{}
	flush := func(provider string) {
		q := queue[provider]
		queue[provider] = nil
		if len(q) == 0 {
			return
		}
		if rc.failed[provider] {
			rc.rep.NotChecked[provider] += len(q)
			return
		}
		rc.compare(ctx, rc.payouts[provider], q)
	}
	f := Filter{Refs: rc.opts.Refs, Limit: reconcilePage}
	for {
		recs, err := rc.store.List(ctx, f)
		if err != nil {
			return err
		}
		for _, r := range recs {
			if !rc.inPeriod(r.CreatedAt) {
				continue
			}
			c := rc.payouts[r.Provider]
			if c == nil || rc.failed[r.Provider] {
				rc.rep.NotChecked[r.Provider]++
				continue
			}
			queue[r.Provider] = append(queue[r.Provider], pendingRec{rec: r, to: rc.destination(ctx, r)})
			if len(queue[r.Provider]) >= max(c.Capabilities().StatusBatch, 1) {
				flush(r.Provider)
			}
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if len(recs) < reconcilePage {
			break
		}
		f.After = recs[len(recs)-1].Ref
	}
	providers := make([]string, 0, len(queue))
	for p := range queue {
		providers = append(providers, p)
	}
	slices.Sort(providers)
	for _, p := range providers {
		flush(p)
	}
	return ctx.Err()
}

// destination is r's destination in clear, or the zero one when it is a
// sealed card number that cannot be opened here, or not a valid one.
func (rc *reconciler) destination(ctx context.Context, r Record) payout.Destination {
	to := r.To
	if to.Kind == payout.Card && !clearCard(to.Account) {
		if rc.opts.Cards == nil {
			return payout.Destination{}
		}
		pan, err := rc.opts.Cards.Open(ctx, r.Ref, to.Account)
		if err != nil {
			return payout.Destination{}
		}
		to.Account = pan
	}
	if to.Validate() != nil {
		return payout.Destination{}
	}
	return to
}

// compare asks c about q (one GetMany: one request per StatusBatch) and
// compares each answer with its record.
func (rc *reconciler) compare(ctx context.Context, c *payout.Client, q []pendingRec) {
	provider := c.Provider()
	qs := make([]payout.Query, len(q))
	for i, h := range q {
		qs[i] = payout.Query{Ref: h.rec.Ref, To: h.to}
	}
	ps, err := c.GetMany(ctx, qs)
	if err != nil {
		if ctx.Err() == nil {
			rc.fail(provider, fmt.Errorf("status of %d payouts: %w", len(qs), err))
		}
		rc.rep.NotChecked[provider] += len(q)
		return
	}
	rc.rep.Checked[provider] += len(q)
	for i, h := range q {
		rc.comparePayout(h, ps[i])
	}
}

// comparePayout adds the differences between one record and the
// provider's payout.
func (rc *reconciler) comparePayout(h pendingRec, p payout.Payout) {
	r := h.rec
	notFound := p.State == payments.StateUnknown && errors.Is(p.Err, payments.ErrNotFound)
	succeeded := p.State == payments.StateSucceeded
	failed := p.State == payments.StateFailed || p.State == payments.StateCanceled
	open := !notFound && !p.State.Final()
	at := ProviderSide{State: p.State, Code: p.Code, Message: p.Message, Amount: p.Amount, To: destText(p.To)}
	if notFound && at.Message == "" {
		at.Message = "not found"
	}
	ledgerSide := LedgerSide{Status: string(r.Status), Amount: r.Amount, To: destText(r.To)}
	d := Difference{Ref: r.Ref, Provider: r.Provider, ProviderID: cmpOr(p.ProviderID, r.ProviderID), Ledger: ledgerSide, AtProvider: at}
	switch {
	case succeeded && !r.Status.Final():
		d.Kind, d.Detail = DiffPaidNotFinal, "paid at the provider; the ledger's record is still "+string(r.Status)+" (is the ledger's work loop running?)"
		rc.add(d)
	case r.Status == Failed && succeeded:
		d.Kind, d.Detail = DiffFinalDisagrees, "the provider paid a payout the ledger recorded as failed: money out that the ledger thinks failed; never pay it again under a new ref"
		rc.add(d)
	case r.Status == Failed && open:
		d.Kind, d.Detail = DiffFinalDisagrees, "recorded failed, but the provider has it "+p.State.String()+": it may still pay"
		rc.add(d)
	case r.Status == Succeeded && failed:
		d.Kind, d.Detail = DiffFinalDisagrees, "recorded succeeded, but the provider says "+p.State.String()
		rc.add(d)
	case r.Status == Succeeded && notFound:
		d.Kind, d.Detail = DiffFinalDisagrees, "recorded succeeded, but the provider does not know the payout"
		rc.add(d)
	case r.Status == Succeeded && open:
		d.Kind, d.Detail = DiffFinalDisagrees, "recorded succeeded, but the provider has it "+p.State.String()
		rc.add(d)
	}
	if notFound {
		return
	}
	var what []string
	if p.Amount.Currency != "" && !p.Amount.Equal(r.Amount) {
		what = append(what, fmt.Sprintf("amount: the provider has %s, the ledger %s", p.Amount, r.Amount))
	}
	if p.To.Kind != "" {
		switch {
		case p.To.Kind != r.To.Kind:
			what = append(what, fmt.Sprintf("destination kind: the provider has %s, the ledger %s", p.To.Kind, r.To.Kind))
		case p.To.Bank != r.To.Bank:
			what = append(what, fmt.Sprintf("bank: the provider has %s, the ledger %s", p.To.Bank, r.To.Bank))
		case h.to.Kind != "" && p.To.Account != "" && p.To.Account != h.to.Account:
			what = append(what, fmt.Sprintf("account: the provider has %s, the ledger %s",
				payments.MaskPAN(p.To.Account), payments.MaskPAN(h.to.Account)))
		}
	}
	if len(what) > 0 {
		d.Kind, d.Detail = DiffMismatch, strings.Join(what, "; ")
		rc.add(d)
	}
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// destText is a destination as a report shows it: masked, a sealed card
// number as "sealed".
func destText(d payout.Destination) string {
	if d.Kind == "" {
		return ""
	}
	if d.Kind == payout.Card && d.Account != "" && !clearCard(d.Account) && !strings.ContainsAny(d.Account, "*") {
		d.Account = "sealed"
	}
	return d.String()
}
