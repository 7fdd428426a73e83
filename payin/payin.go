// Package payin is the portable API for money in: checkouts over the
// pay-in providers (PayKeeper, RoyalPay, and any driver registered with
// [Register]), refunds where the provider has them, and one notification
// endpoint for all of them.
//
// A [Client] wraps a provider's [Driver]. Drivers live in their own packages
// (payin/paykeeperpayin, payin/royalpaypayin), which register a URL scheme
// on import:
//
//	import _ "github.com/paysdk/payments/payin/royalpaypayin"
//
//	c, err := payin.Open(ctx, "royalpay://?base_url=https://royal-finance.org") // ROYALPAY_TOKEN
//	co, err := c.Create(ctx, payin.Request{OrderRef: "ORD-1", Amount: payments.MustMoney("1500", "RUB"),
//		Method: payin.SBP, CallbackURL: "https://shop.example/notify/royalpay"})
//	// co.PaymentURL and/or co.Requisites are what the payer needs.
//
// [NewHandler] serves every client's notifications under one path prefix,
// verifies each the provider's way, confirms it through the provider's API
// and hands the merchant one normalized [Event].
package payin

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"

	"github.com/paysdk/payments"
)

// Method is how the payer pays.
type Method string

// The payment methods of the pay-in providers. The zero Method lets the
// provider offer its default (PayKeeper's payment page shows every method
// the shop has).
const (
	AnyMethod Method = ""
	// Card: the payer pays by bank card (PayKeeper's page; RoyalPay gives a
	// card number to transfer to).
	Card Method = "card"
	// SBP: the Faster Payments System (RoyalPay gives a phone number and a
	// bank; PayKeeper's page offers SBP where the shop has it).
	SBP Method = "sbp"
	// QR: an NSPK QR code (RoyalPay).
	QR Method = "qr"
	// Account: a transfer to a bank account (RoyalPay).
	Account Method = "account"
)

// Customer is the payer's contact, as far as the provider takes it.
type Customer struct {
	Name  string
	Email string
	Phone string
}

// Request is one checkout to create.
type Request struct {
	// OrderRef is the merchant's order reference (PayKeeper orderid,
	// RoyalPay outter_id). Required.
	OrderRef    string
	Amount      payments.Money
	Description string
	Customer    Customer
	// CallbackURL is where the provider posts the payment's notification,
	// for providers that take it per payment (RoyalPay); PayKeeper's is set
	// once in its cabinet. Absolute http(s) URL.
	CallbackURL string
	// ReturnURL is where the payer's browser goes after paying, where the
	// provider takes one (PayKeeper).
	ReturnURL string
	Method    Method
	// Bank is the payer's bank, where the provider picks requisites by bank
	// (RoyalPay: "Tinkoff", "Sberbank"...).
	Bank string
}

// Requisites are the transfer details the payer needs when the provider
// hands out requisites instead of (or besides) a payment page.
type Requisites struct {
	Card     string // card number to transfer to
	Phone    string // phone number for an SBP transfer
	Account  string // bank account number
	Bank     string // the receiving bank's name
	Holder   string // the receiver's name
	QR       string // QR payload or image link
	Deeplink string // link that opens the payer's bank app
}

// Checkout is a pay-in as the provider knows it.
type Checkout struct {
	Provider string
	// ID is the provider's id of the checkout (PayKeeper invoice id,
	// RoyalPay payment id): the argument of Get and Refund.
	ID       string
	OrderRef string
	Amount   payments.Money
	State    payments.State
	// PaymentURL is the page the payer opens, when the provider has one.
	PaymentURL string
	// Requisites, when the provider hands them out.
	Requisites *Requisites
	// Raw is the provider package's own value.
	Raw any
}

// RefundRequest asks for money back on a paid checkout.
type RefundRequest struct {
	// ID is the Checkout's ID.
	ID string
	// Amount is the part to return; zero with Full unset is refused.
	Amount payments.Money
	// Full returns everything that is left; Amount must then be zero.
	Full bool
}

// Refund is what a refund request did.
type Refund struct {
	Provider   string
	CheckoutID string
	Amount     payments.Money
	State      payments.State
	Raw        any
}

// Event is one notification, verified and confirmed through the provider's
// API before the merchant sees it.
type Event struct {
	Provider string
	// ProviderID is the provider's payment id.
	ProviderID string
	// CheckoutID is the Checkout.ID this payment pays, when the provider
	// says (RoyalPay: the payment is the checkout; PayKeeper: the invoice
	// the API links the payment to, "" for a payment made without one).
	// OrderRef is the link that always holds.
	CheckoutID string
	OrderRef   string
	State      payments.State
	Amount     payments.Money
	// Raw is the provider package's own value (paykeeper.Notification,
	// royalpay.Event).
	Raw any
}

// String shows the event without Raw.
func (e Event) String() string {
	return fmt.Sprintf("%s payment %s (%s) %s %s", e.Provider, e.ProviderID, e.OrderRef, e.Amount, e.State)
}

// Format prints String for every verb: Raw (which may hold a payer's
// details) stays out of formatted output.
func (e Event) Format(f fmt.State, _ rune) { io.WriteString(f, e.String()) }

// String shows the refund without Raw.
func (r Refund) String() string {
	return fmt.Sprintf("%s refund of %s: %s %s", r.Provider, r.CheckoutID, r.Amount, r.State)
}

// Format prints String for every verb.
func (r Refund) Format(f fmt.State, _ rune) { io.WriteString(f, r.String()) }

// LogValue keeps Raw out of logs.
func (e Event) LogValue() slog.Value {
	return slog.GroupValue(slog.String("provider", e.Provider), slog.String("id", e.ProviderID),
		slog.String("order", e.OrderRef), slog.String("state", e.State.String()), slog.String("amount", e.Amount.String()))
}

// Capabilities describes what a pay-in driver does.
type Capabilities struct {
	Provider   string
	Methods    []Method
	Currencies []string
	// Refunds and PartialRefunds say whether Refund works at all, and for
	// part of the amount.
	Refunds, PartialRefunds bool
	// PaymentURL and Requisites say what a Checkout carries.
	PaymentURL, Requisites bool
}

// Supports reports whether m is offered (AnyMethod always is).
func (c Capabilities) Supports(m Method) bool {
	if m == AnyMethod {
		return true
	}
	for _, x := range c.Methods {
		if x == m {
			return true
		}
	}
	return false
}

// Handle is the merchant's part of a notification: it gets each confirmed
// event once per delivery (providers repeat deliveries until acknowledged,
// so make it idempotent on ProviderID); a non-nil error makes the provider
// deliver again later.
type Handle func(ctx context.Context, e Event) error

// Driver is what a provider adapter implements. Merchants use [*Client],
// which checks inputs before calling the driver.
type Driver interface {
	Capabilities() Capabilities
	// Create opens a checkout. Whether a resend is safe is the driver's to
	// say (neither PayKeeper's invoice nor RoyalPay's payment is deduped:
	// a lost answer is payments.ErrOutcomeUnknown, never resent).
	Create(ctx context.Context, r Request) (Checkout, error)
	// Get returns the checkout with the provider's id.
	Get(ctx context.Context, id string) (Checkout, error)
	// Refund returns money, or payments.ErrNotSupported before sending.
	Refund(ctx context.Context, r RefundRequest) (Refund, error)
	// Notifications returns the provider's notification handler: it
	// authenticates, caps sizes, confirms through the API, calls handle,
	// and answers the provider what it expects only after handle succeeded.
	Notifications(handle Handle) (http.Handler, error)
	As(target any) bool
	Close() error
}

// Format-safe names for logs.
func (c Checkout) String() string {
	return fmt.Sprintf("%s checkout %s (%s) %s %s", c.Provider, c.ID, c.OrderRef, c.Amount, c.State)
}

// Format prints String for every verb: Requisites and Raw (which may hold
// card numbers) stay out of formatted output.
func (c Checkout) Format(f fmt.State, _ rune) { io.WriteString(f, c.String()) }
