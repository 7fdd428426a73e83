package payments

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// The error categories. Every error a client returns matches one of them
// with errors.Is; ErrOutcomeUnknown comes on top of the cause's category
// (ErrUnavailable, or the context's error).
var (
	// ErrUnauthorized: the provider refused the credentials.
	ErrUnauthorized = errors.New("payments: unauthorized")
	// ErrForbidden: the credentials are fine but the request is not allowed:
	// source IP not allowlisted, API disabled, outside the schedule, no rights.
	ErrForbidden = errors.New("payments: forbidden")
	// ErrRateLimited: the provider refused the request unprocessed because of
	// its rate limit. Safe to send again later, more slowly.
	ErrRateLimited = errors.New("payments: rate limited")
	// ErrInvalidRequest: the request was malformed, refused before sending
	// (a *ValidationError) or by the provider.
	ErrInvalidRequest = errors.New("payments: invalid request")
	// ErrNotFound: the object asked for does not exist at the provider.
	ErrNotFound = errors.New("payments: not found")
	// ErrDuplicate: the provider already has an operation with this id.
	ErrDuplicate = errors.New("payments: duplicate")
	// ErrInsufficientFunds: the merchant's balance does not cover the operation.
	ErrInsufficientFunds = errors.New("payments: insufficient funds")
	// ErrDeclined: the provider or a downstream party refused the operation.
	ErrDeclined = errors.New("payments: declined")
	// ErrUnavailable: the provider could not be reached, the exchange broke
	// off, or the provider answered with a server error. For an operation that
	// moves money, test ErrOutcomeUnknown first: when it matches too, the
	// request may have been carried out.
	ErrUnavailable = errors.New("payments: provider unavailable")
	// ErrOutcomeUnknown: the request may or may not have been carried out (the
	// answer was lost, or the provider answered with a server error after
	// receiving it). Do not send the same money movement blind: ask the
	// provider for its status and reconcile.
	ErrOutcomeUnknown = errors.New("payments: outcome unknown")
	// ErrNotSupported: the provider has no such operation (a refund of a
	// RoyalPay pay-in, the balance of a router). Returned before anything
	// is sent.
	ErrNotSupported = errors.New("payments: not supported by this provider")
)

// ErrNotSent is what a [net/http.RoundTripper] given to [WithTransport]
// returns, as it is or wrapped (fmt.Errorf("dial: %w", payments.ErrNotSent)),
// to say the request never left it: no byte went towards the provider, as
// after a refused connection. A test double (an httpmock error responder), a
// proxy client or a circuit breaker uses it; nothing else can tell the SDK,
// which cannot see into such a transport and otherwise takes any error it
// returns as "may have been written" (a write that moves money is then
// [ErrOutcomeUnknown] and never sent again).
//
// Such an error comes back as a *[TransportError] with Written false that
// still matches ErrNotSent, and the attempt is retried as one that was not
// sent, unsafe writes included. It is not a category: the error also matches
// ErrUnavailable, and when it matches ErrOutcomeUnknown too an earlier
// attempt may have been delivered.
var ErrNotSent = errors.New("payments: request not sent")

// ErrNilContext is returned by every call given a nil context, before
// anything is sent. Pass context.Background() or context.TODO() instead.
var ErrNilContext error = &ValidationError{Field: "ctx", Reason: "nil context: pass context.Background() or a request's context"}

// ErrNotExact is returned when a conversion would have to round.
var ErrNotExact = errors.New("payments: amount is not exact in the asked precision")

// ErrOutOfRange is returned when an amount does not fit the asked type.
var ErrOutOfRange = errors.New("payments: amount out of range")

// APIError is an answer from a provider that means failure. It keeps what
// the provider said: the HTTP status, the provider's own code and text.
//
// errors.Is matches its Category (one of the sentinels above) and, when set,
// its Detail (a provider package's own sentinel such as popolni.ErrIPNotAllowed).
type APIError struct {
	Provider   string // "popolni", "qiwitopup", "paykeeper", "royalpay"
	Op         string // the operation, e.g. "pay", "status", "balance"
	HTTPStatus int    // 0 when the failure came inside a 200 answer
	Code       string // the provider's code ("150", "40005") or its fixed error text
	Message    string // the provider's text, card numbers masked
	Category   error  // one of the Err* sentinels of this package
	Detail     error  // optional provider-specific sentinel
	RetryAfter string // the Retry-After header, when the provider sent one
}

// Error describes the failure without secrets.
func (e *APIError) Error() string {
	var b strings.Builder
	b.WriteString(e.Provider)
	if e.Op != "" {
		b.WriteString(" ")
		b.WriteString(e.Op)
	}
	b.WriteString(": ")
	if e.HTTPStatus != 0 {
		b.WriteString("HTTP ")
		b.WriteString(strconv.Itoa(e.HTTPStatus))
	}
	if e.Code != "" && e.Code != e.Message {
		if e.HTTPStatus != 0 {
			b.WriteString(", ")
		}
		b.WriteString("code ")
		b.WriteString(e.Code)
	}
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	if e.Category != nil {
		b.WriteString(" (")
		b.WriteString(strings.TrimPrefix(e.Category.Error(), "payments: "))
		b.WriteString(")")
	}
	return b.String()
}

// Unwrap returns the category and the detail, for errors.Is and errors.As.
func (e *APIError) Unwrap() []error {
	var errs []error
	if e.Category != nil {
		errs = append(errs, e.Category)
	}
	if e.Detail != nil {
		errs = append(errs, e.Detail)
	}
	return errs
}

// TransportError is a failure to exchange a request and its answer: a dial,
// TLS, write or read error, a timeout, or an answer too large or cut short.
type TransportError struct {
	Provider string
	Op       string
	// Written reports whether any byte of the request may have reached the
	// provider. When false the provider certainly did not act on it.
	//
	// The built transport and an *http.Transport given to WithTransport
	// report what they wrote through net/http. Any other RoundTripper given
	// to WithTransport is opaque: every error it returns is Written, unless
	// it matches ErrNotSent.
	Written bool
	Err     error
}

// Error describes the failure; it never includes request bodies or headers.
func (e *TransportError) Error() string {
	w := "not sent"
	if e.Written {
		w = "sent, no complete answer"
	}
	return fmt.Sprintf("%s %s: transport (%s): %v", e.Provider, e.Op, w, e.Err)
}

// Unwrap returns the underlying network error.
func (e *TransportError) Unwrap() error { return e.Err }

// Is makes a TransportError match ErrUnavailable.
func (e *TransportError) Is(target error) bool { return target == ErrUnavailable }

// OutcomeUnknownError says a request that moves money may have been carried
// out by the provider although no usable answer came back. It matches
// ErrOutcomeUnknown and unwraps to the cause (a *TransportError, an
// *APIError for a server error, or the context's error).
//
// Reconcile through the provider's status call using Ref; never resend blind.
type OutcomeUnknownError struct {
	Provider string
	Op       string
	// Ref is the merchant's reference the provider knows the operation by
	// (transaction id, outter_id...), when there is a single one.
	Ref string
	Err error
}

// Error describes what is unknown and why.
func (e *OutcomeUnknownError) Error() string {
	ref := ""
	if e.Ref != "" {
		ref = " " + e.Ref
	}
	return fmt.Sprintf("%s %s%s: outcome unknown, check the status before any resend: %v", e.Provider, e.Op, ref, e.Err)
}

// Unwrap returns the cause.
func (e *OutcomeUnknownError) Unwrap() error { return e.Err }

// Is makes an OutcomeUnknownError match ErrOutcomeUnknown.
func (e *OutcomeUnknownError) Is(target error) bool { return target == ErrOutcomeUnknown }

// ValidationError is an input refused before anything was sent. It matches
// ErrInvalidRequest.
type ValidationError struct {
	Field  string // the offending input, e.g. "payments[1].amount"
	Reason string
}

// Error names the field and the reason.
func (e *ValidationError) Error() string {
	return "payments: invalid " + e.Field + ": " + e.Reason
}

// Is makes a ValidationError match ErrInvalidRequest.
func (e *ValidationError) Is(target error) bool { return target == ErrInvalidRequest }
