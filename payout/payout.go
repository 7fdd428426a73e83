// Package payout is the portable API for money out: one set of types and
// one contract over the payout providers (popolni.club, QIWI Wallet Top-Up,
// and any driver registered with [Register]).
//
// A [Client] wraps a provider's [Driver]. Drivers live in their own packages
// (payout/popolnipayout, payout/qiwipayout), which register a URL scheme on
// import, so a merchant switches provider by configuration:
//
//	import _ "github.com/paysdk/payments/payout/popolnipayout"
//
//	c, err := payout.Open(ctx, "popolni://?local_addr=203.0.113.10") // POPOLNI_LOGIN, POPOLNI_PASSWORD
//	p, err := c.Send(ctx, payout.Request{Ref: "1000000001", Amount: payments.MustMoney("50", "RUB"),
//		To: payout.Destination{Kind: payout.Mobile, Account: "79161234567"}})
//
// # The contract every driver keeps
//
//   - The merchant's Ref is the idempotency key. Sending a Ref again never
//     creates a second payout at that provider: the driver resends under the
//     same provider id (both providers refuse a second payment with the same
//     id), and a resend the provider answers "duplicate" is answered with the
//     payout the provider already has.
//   - [payments.ErrOutcomeUnknown] means the provider may have the payout,
//     and nothing else. Settle it with Get, Wait, or a Send of the same Ref;
//     never send the money under a new Ref.
//   - Bad input is a *[payments.ValidationError] before any byte is sent:
//     an unsupported destination kind or currency, an amount out of the
//     provider's range, a Ref that cannot map to the provider's id.
//   - Get of a Ref the provider does not know is [payments.ErrNotFound].
//
// A [Router] spreads payouts over several clients by capability and
// preference, moving on only when an error proves the provider never got
// the payout (see [NeverReceived]); a payout whose outcome is unknown stays
// bound to its provider.
package payout

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"regexp"
	"time"

	"github.com/paysdk/payments"
)

// Kind is where a payout goes.
type Kind string

// The destination kinds of the payout providers.
const (
	// Mobile tops up a mobile phone account. Account: the phone number with
	// country code, digits only ("79161234567").
	Mobile Kind = "mobile"
	// Wallet credits a QIWI wallet. Account: the wallet's phone number,
	// digits with country code.
	Wallet Kind = "wallet"
	// Card credits a bank card. Account: the card number, 13 to 19 digits.
	Card Kind = "card"
	// SBP sends through the Faster Payments System. Account: the payee's
	// phone number; Bank: the payee bank's SBP member id ("100000000111").
	SBP Kind = "sbp"
)

// Destination says where the money goes. It prints card numbers masked.
type Destination struct {
	Kind    Kind
	Account string
	// Bank is the SBP member id of the payee's bank (SBP only).
	Bank string
}

// String shows the destination with a card number masked.
func (d Destination) String() string {
	if d.Bank != "" {
		return fmt.Sprintf("%s:%s@%s", d.Kind, payments.MaskPAN(d.Account), d.Bank)
	}
	return fmt.Sprintf("%s:%s", d.Kind, payments.MaskPAN(d.Account))
}

// Format prints String for every verb: no verb shows a full card number.
func (d Destination) Format(f fmt.State, _ rune) { io.WriteString(f, d.String()) }

// LogValue masks the card number in logs.
func (d Destination) LogValue() slog.Value { return slog.StringValue(d.String()) }

var (
	digits      = regexp.MustCompile(`^[0-9]+$`)
	phoneDigits = regexp.MustCompile(`^[0-9]{10,15}$`)
	cardDigits  = regexp.MustCompile(`^[0-9]{13,19}$`)
)

// Validate checks the destination's form (not whether the provider takes it).
func (d Destination) Validate() error {
	switch d.Kind {
	case Mobile, Wallet:
		if !phoneDigits.MatchString(d.Account) {
			return &payments.ValidationError{Field: "to.account", Reason: "a phone number with country code, 10 to 15 digits"}
		}
	case Card:
		if !cardDigits.MatchString(d.Account) {
			return &payments.ValidationError{Field: "to.account", Reason: "a card number, 13 to 19 digits"}
		}
	case SBP:
		if !phoneDigits.MatchString(d.Account) {
			return &payments.ValidationError{Field: "to.account", Reason: "a phone number with country code, 10 to 15 digits"}
		}
		if d.Bank == "" || len(d.Bank) > 32 || !digits.MatchString(d.Bank) {
			return &payments.ValidationError{Field: "to.bank", Reason: "the SBP member id of the payee's bank, digits"}
		}
	case "":
		return &payments.ValidationError{Field: "to.kind", Reason: "required"}
	default:
		return &payments.ValidationError{Field: "to.kind", Reason: fmt.Sprintf("unknown destination kind %q", string(d.Kind))}
	}
	if d.Kind != SBP && d.Bank != "" {
		return &payments.ValidationError{Field: "to.bank", Reason: "only SBP payouts name a bank"}
	}
	return nil
}

// Request is one payout to send.
type Request struct {
	// Ref is the merchant's reference and the idempotency key: the provider
	// knows the payout by it (each driver's doc says how it maps to the
	// provider's id: both payout providers take digits only).
	Ref    string
	Amount payments.Money
	To     Destination
}

// Payout is what a provider knows of one payout.
type Payout struct {
	Ref      string
	Provider string
	// ProviderID is the provider's own id, when it has one besides Ref
	// (QIWI's transaction id); "" otherwise.
	ProviderID string
	// Amount and To are those sent, when the provider reports them or the
	// driver sent them in this call; zero when only the status is known.
	Amount payments.Money
	To     Destination
	State  payments.State
	// Code and Message are the provider's own status code and text.
	Code    string
	Message string
	// Err, when the payout failed, is the provider's refusal as a typed
	// error (errors.Is against the payments sentinels); nil otherwise.
	Err error
	// Raw is the provider package's own value (popolni.Result,
	// qiwitopup.Payment or qiwitopup.StatusResult).
	Raw any
}

// Query names one payout to look up. To, when known, is the destination it
// was sent to: QIWI's status request names the account (the document
// requires it), popolni's does not need it.
type Query struct {
	Ref string
	To  Destination
}

// Limit is the amount range of one currency, as the provider's document
// gives it; a zero Min or Max means the document gives none.
type Limit struct {
	Min, Max payments.Money
}

// Capabilities describes what a driver can pay.
type Capabilities struct {
	Provider string
	Kinds    []Kind
	// Limits has one entry per currency the provider pays in.
	Limits map[string]Limit
	// StatusBatch is how many payouts one status request can ask about
	// (what a ledger batches its polls to); 1 when it asks one at a time.
	StatusBatch int
	// PollInterval is the pause between status requests for one payout
	// that the provider's document asks for (popolni: 10 seconds; QIWI:
	// 10 minutes), or the driver's configured one (its poll_interval).
	// The payout ledger polls each provider at this pace.
	PollInterval time.Duration
	// Dedupes is true when the provider itself never makes a second payout
	// under one Ref (popolni's 124, QIWI's repeated transaction number), so
	// a resend after its status says "not found" is safe at once. When
	// false, the driver keeps the contract by looking the Ref up before
	// creating, which is only as good as the lookup is fresh: the payout
	// ledger then waits Options.NotFoundGrace after a send before it takes
	// "not found" for an answer and sends again.
	Dedupes bool
	// RefForm says, in words, which Refs map to the provider's id.
	RefForm string
}

// Supports reports whether kind is among c.Kinds.
func (c Capabilities) Supports(kind Kind) bool {
	for _, k := range c.Kinds {
		if k == kind {
			return true
		}
	}
	return false
}

// Check refuses, with a *payments.ValidationError, a request this provider
// cannot take: destination kind, currency, amount range. The Ref form is the
// driver's to check.
func (c Capabilities) Check(r Request) error {
	if err := r.To.Validate(); err != nil {
		return err
	}
	if !c.Supports(r.To.Kind) {
		return &payments.ValidationError{Field: "to.kind", Reason: fmt.Sprintf("%s does not pay to %s", c.Provider, r.To.Kind)}
	}
	if err := r.Amount.Validate(); err != nil {
		return err
	}
	lim, ok := c.Limits[r.Amount.Currency]
	if !ok {
		return &payments.ValidationError{Field: "amount", Reason: fmt.Sprintf("%s does not pay in %s", c.Provider, r.Amount.Currency)}
	}
	if r.Amount.Sign() <= 0 {
		return &payments.ValidationError{Field: "amount", Reason: "must be positive"}
	}
	if lim.Min.Currency != "" {
		if cmp, _ := r.Amount.Cmp(lim.Min); cmp < 0 {
			return &payments.ValidationError{Field: "amount", Reason: fmt.Sprintf("%s is below %s's minimum of %s", r.Amount, c.Provider, lim.Min)}
		}
	}
	if lim.Max.Currency != "" {
		if cmp, _ := r.Amount.Cmp(lim.Max); cmp > 0 {
			return &payments.ValidationError{Field: "amount", Reason: fmt.Sprintf("%s is above %s's maximum of %s", r.Amount, c.Provider, lim.Max)}
		}
	}
	return nil
}

// Driver is what a provider adapter implements. Merchants use [*Client],
// which checks inputs before calling the driver; a driver may assume a
// request that passed Capabilities().Check and a non-nil context.
type Driver interface {
	// Capabilities is constant for the driver's life.
	Capabilities() Capabilities
	// CheckRef refuses a Ref that cannot map to the provider's id.
	CheckRef(ref string) error
	// Send pays r under r.Ref, or returns the payout the provider already
	// has under r.Ref. It never creates a second payout for one Ref.
	Send(ctx context.Context, r Request) (Payout, error)
	// Get returns one Payout per query, in order, in as few requests as the
	// provider allows; a ref the provider does not know has State
	// StateUnknown and Err matching payments.ErrNotFound. A status the
	// provider's document does not define has Err matching
	// payments.ErrOutcomeUnknown. The error is for the call as a whole.
	// [Client.Wait] polls it at Capabilities().PollInterval, unless the
	// driver also implements [Waiter].
	Get(ctx context.Context, qs []Query) ([]Payout, error)
	// Balance is what the merchant's account holds.
	Balance(ctx context.Context) (payments.Money, error)
	// As sets target (a pointer to a provider type) to the provider's own
	// value: its *Client.
	As(target any) bool
	// Close releases the provider client's connections.
	Close() error
}
