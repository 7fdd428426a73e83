package payin

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/paysdk/payments"
)

// Payment is one payment as the provider's registry lists it: what a payer
// paid (or tried to), whether or not a notification of it ever arrived.
// Reconciliation (ledger.Reconcile) compares these with the notifications
// the merchant recorded.
type Payment struct {
	Provider string
	// ID is the provider's payment id: the Event.ProviderID of the
	// payment's notification.
	ID string
	// CheckoutID is the Checkout.ID the payment pays, when the list says
	// ("" when it does not: PayKeeper's registry names no invoice).
	CheckoutID string
	OrderRef   string
	Amount     payments.Money
	State      payments.State
	// Created is when the provider registered the payment (PayKeeper's
	// pending_datetime); zero when the provider keeps no time.
	Created time.Time
	// Raw is the provider package's own value (paykeeper.Payment).
	Raw any
}

// String shows the payment without Raw.
func (p Payment) String() string {
	return fmt.Sprintf("%s payment %s (%s) %s %s", p.Provider, p.ID, p.OrderRef, p.Amount, p.State)
}

// Format prints String for every verb: Raw (which may hold a payer's
// details) stays out of formatted output.
func (p Payment) Format(f fmt.State, _ rune) { io.WriteString(f, p.String()) }

// Lister is an optional Driver method: the provider's payments of a period.
// PayKeeper's driver implements it (its payment registry); RoyalPay's does
// not (its API has no list of payments).
type Lister interface {
	// Payments returns every payment the provider registered in
	// [since, until), in every state, in as few requests as the provider
	// allows. A read: always safe. A driver that cannot list without a
	// start refuses a zero since with a *payments.ValidationError.
	Payments(ctx context.Context, since, until time.Time) ([]Payment, error)
}

// Payments returns the provider's payments registered in [since, until),
// in every state (a zero until is now). A driver without a list
// ([Lister]) answers payments.ErrNotSupported before sending anything; a
// period that ends before it starts is a *payments.ValidationError. A read:
// always safe.
func (c *Client) Payments(ctx context.Context, since, until time.Time) ([]Payment, error) {
	if ctx == nil {
		return nil, payments.ErrNilContext
	}
	l, ok := c.d.(Lister)
	if !ok {
		return nil, fmt.Errorf("%s payments: %w", c.caps.Provider, payments.ErrNotSupported)
	}
	if until.IsZero() {
		until = time.Now()
	}
	if !since.IsZero() && until.Before(since) {
		return nil, &payments.ValidationError{Field: "until", Reason: "the period ends before it starts"}
	}
	return l.Payments(ctx, since, until)
}
