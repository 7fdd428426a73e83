package royalpay

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/paysdk/payments"
)

// Callback is a status notification as the provider posts it to a
// payment's callback_url. The payload is not documented for pay-ins;
// integrations see {"id", "status", "amount", "method", "outter_id"}, with
// sum for amount, type for method and form_outter_id for outter_id on form
// payments. Every field is read leniently; Raw keeps them all.
type Callback struct {
	ID       int64
	Status   Status
	Amount   payments.Decimal // amount or sum, as sent: a number or a decimal string
	Method   string           // method or type, e.g. "card_number"
	OutterID string           // outter_id or form_outter_id
	Raw      map[string]json.RawMessage
}

// ErrBadCallback is the error of a callback body that cannot be read.
var ErrBadCallback = errors.New("royalpay: unreadable callback")

// ParseCallback reads a callback body. It needs an id and a status.
func ParseCallback(body []byte) (Callback, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil || raw == nil {
		return Callback{}, fmt.Errorf("%w: not a JSON object", ErrBadCallback)
	}
	get := func(keys ...string) (flex, error) {
		for _, k := range keys {
			if v, ok := raw[k]; ok {
				var f flex
				if err := json.Unmarshal(v, &f); err != nil {
					return "", fmt.Errorf("%w: %s: %v", ErrBadCallback, k, err)
				}
				if f != "" {
					return f, nil
				}
			}
		}
		return "", nil
	}
	cb := Callback{Raw: raw}
	id, err := get("id")
	if err != nil {
		return Callback{}, err
	}
	if cb.ID, err = id.int64("id"); err != nil || cb.ID <= 0 {
		return Callback{}, fmt.Errorf("%w: id missing or not a positive integer", ErrBadCallback)
	}
	st, err := get("status")
	if err != nil {
		return Callback{}, err
	}
	if st == "" {
		return Callback{}, fmt.Errorf("%w: status missing", ErrBadCallback)
	}
	cb.Status = Status(st)
	amount, err := get("amount", "sum")
	if err != nil {
		return Callback{}, err
	}
	if cb.Amount, err = amount.decimal("amount"); err != nil {
		return Callback{}, fmt.Errorf("%w: %v", ErrBadCallback, err)
	}
	method, err := get("method", "type")
	if err != nil {
		return Callback{}, err
	}
	outter, err := get("outter_id", "form_outter_id")
	if err != nil {
		return Callback{}, err
	}
	cb.Method, cb.OutterID = string(method), string(outter)
	return cb, nil
}

// Event is what CallbackHandler hands to the merchant's function.
type Event struct {
	// Callback is what the provider posted.
	Callback Callback
	// Payment is the payment as GetPayment returned it after the callback:
	// the truth to act on (its Status and Sum, not the callback's). It is
	// nil only when the handler was built with SkipConfirm.
	Payment *Payment
}

// Status is the confirmed status: the API's when confirmed, else the callback's.
func (e Event) Status() Status {
	if e.Payment != nil {
		return e.Payment.Status
	}
	return e.Callback.Status
}

// CallbackHandler receives the provider's callbacks. Mount it at the path
// given as CallbackURL. Set its fields before the first callback and do not
// change them afterwards; call Validate at start-up. For each POST it:
//
//  1. refuses to run at all (500, Handle never called) when the
//     configuration is unsafe: see Validate;
//  2. checks the source address against AllowedSources, when set;
//  3. checks "Authorization: Bearer <BearerToken>" in constant time, when set
//     (the provider's documented convention for its payout callbacks: "Для
//     подтверждения подлинности каждого запроса вы передаёте в заголовке
//     статичный токен вида: Authorization: Bearer {static_token}"; ask the
//     provider's admins to set it for pay-ins too);
//  4. reads at most MaxBodyBytes and parses the body leniently;
//  5. asks Known, when set, whether the payment is one the merchant made,
//     before any API call;
//  6. unless SkipConfirm, confirms the payment with Client.GetPayment — the
//     provider asks merchants to trust its API, not the callback body — and
//     refuses a callback whose outter_id disagrees with the API's;
//  7. calls Handle, and answers 200 {"ok":true} when it returns nil.
//
// # Authentication
//
// The handler is authenticated by default: with neither BearerToken nor
// AllowedSources it refuses every callback unless AllowUnauthenticated says
// that confirmation through the API is the only check wanted. Confirmation
// makes a forged callback harmless for money (Handle sees the API's status
// and sum, never the body's), and the budget below keeps a flood of forged
// callbacks from spending the account's rate limit. SkipConfirm without
// authentication is refused: a forged "completed" would reach Handle.
//
// # Confirmation budget
//
// Every confirmation is a GetPayment, which takes a token from the client's
// limiter: the account's rate limit, shared with CreatePayment. So that
// callbacks, forged or not, cannot starve the merchant's own calls:
//
//   - concurrent callbacks for one payment id share one GetPayment (a
//     callback arriving while a read began earlier takes its answer only if
//     the status matches what it announces; otherwise it reads again);
//   - confirmations start at most ConfirmRate (default 1) a second, evenly
//     spaced, and at most MaxConfirmations (default 1) run at once;
//   - as many callbacks again may wait for their turn (so a second callback
//     arriving right after a first is confirmed about a second later); any
//     further callback is answered 503 with Retry-After at once, before any
//     API call, with ErrConfirmBudget.
//
// With the defaults, a flood of callbacks takes at most one limiter token a
// second, and delays a CreatePayment by less than one limiter interval
// (200 ms at the default 5 requests a second).
//
// The trade-off: a genuine callback can be refused with 503 too, when it
// arrives while the budget is taken (with the defaults: one callback being
// confirmed and one waiting for its turn). The document says nothing
// of callbacks beyond the parameter "callback_url — URL для отправки
// коллбеков": not that a refused callback is sent again, nor how often. Do
// not count on a resend. Set Known, so that callbacks for ids you never
// made are refused without spending the budget; raise ConfirmRate if your
// genuine callbacks come faster than one a second (and your account's rate
// limit allows); and reconcile payments that stay "created" longer than you
// expect with GetPayment. The same holds for every other non-2xx answer.
//
// The same payment can be notified more than once: Handle must be idempotent
// (key on Payment.ID and the status).
//
// A CallbackHandler never prints its BearerToken, whatever the fmt verb or
// slog handler.
type CallbackHandler struct {
	// Client confirms callbacks; required unless SkipConfirm.
	Client *Client
	// Handle is the merchant's function. Required.
	Handle func(ctx context.Context, e Event) error
	// BearerToken, when set, must arrive as "Authorization: Bearer <token>".
	BearerToken string
	// AllowedSources, when set, are the only source addresses accepted (from
	// the connection's remote address: put no proxy in front, or check the
	// proxy's header yourself and use HandleCallback). One integrator
	// allowlists 134.209.192.8; ask the provider for its current addresses.
	AllowedSources []netip.Prefix
	// AllowUnauthenticated accepts callbacks with neither BearerToken nor
	// AllowedSources, relying on confirmation through the API alone. It must
	// be set explicitly for such a configuration, and is refused with
	// SkipConfirm.
	AllowUnauthenticated bool
	// Known, when set, is asked before any API call whether the callback is
	// for a payment the merchant created: id is the provider's payment id,
	// outterID the callback's outter_id (or form_outter_id), "" when it
	// carries none. Answer true when id is one you stored from a create
	// answer, or, for a create whose answer was lost (ErrOutcomeUnknown, so
	// you have no id), when outterID is yours and has no id yet. false
	// answers 400 with ErrUnknownPayment; an error answers 503.
	Known func(ctx context.Context, id int64, outterID string) (bool, error)
	// MaxBodyBytes caps the body; 0 means 64 KiB.
	MaxBodyBytes int64
	// MaxConfirmations caps the confirmations running at once (as many more
	// callbacks may wait for a turn); 0 means 1.
	MaxConfirmations int
	// ConfirmRate caps the confirmations started per second (each takes a
	// token from the Client's limiter, the account's rate limit); 0 means 1.
	ConfirmRate float64
	// SkipConfirm hands the callback over without asking the API. Only for
	// a merchant who confirms by other means, and only with BearerToken or
	// AllowedSources set.
	SkipConfirm bool

	st *confirmState // made at the first callback, under statesMu
	// now and sleep replace time.Now and a timer for the budget (tests);
	// read when st is made.
	now   func() time.Time
	sleep func(ctx context.Context, d time.Duration) error
}

// Validate reports why the handler would refuse every callback, as a
// *payments.ValidationError (matching payments.ErrInvalidRequest), or nil.
// Call it at start-up: a handler that fails it answers 500 to every
// callback and never calls Handle. Refused:
//   - no Handle; no Client without SkipConfirm;
//   - neither BearerToken nor AllowedSources, unless AllowUnauthenticated
//     (and never with SkipConfirm: nothing would stop a forged callback);
//   - a BearerToken with spaces at its ends or control characters (it could
//     never match), an invalid prefix in AllowedSources;
//   - a negative MaxBodyBytes or MaxConfirmations, a ConfirmRate that is
//     negative or not finite.
func (h *CallbackHandler) Validate() error {
	bad := func(field, reason string) error {
		return &payments.ValidationError{Field: "CallbackHandler." + field, Reason: reason}
	}
	if h == nil {
		return bad("", "nil handler")
	}
	authenticated := h.BearerToken != "" || len(h.AllowedSources) > 0
	switch {
	case h.Handle == nil:
		return bad("Handle", "required")
	case h.Client == nil && !h.SkipConfirm:
		return bad("Client", "required to confirm callbacks through the API")
	case h.SkipConfirm && !authenticated:
		return bad("SkipConfirm", "without BearerToken or AllowedSources a forged callback would reach Handle unconfirmed")
	case h.SkipConfirm && h.AllowUnauthenticated:
		return bad("AllowUnauthenticated", "refused with SkipConfirm: nothing would check a callback")
	case !authenticated && !h.AllowUnauthenticated:
		return bad("BearerToken", "no authentication: set BearerToken (ask the provider to send \"Authorization: Bearer <token>\") or AllowedSources, "+
			"or set AllowUnauthenticated to rely on confirmation through the API alone")
	case h.BearerToken != "" && (strings.TrimSpace(h.BearerToken) != h.BearerToken || strings.IndexFunc(h.BearerToken, unicode.IsControl) >= 0):
		return bad("BearerToken", "spaces at its ends or control characters: it could never match")
	case h.MaxBodyBytes < 0:
		return bad("MaxBodyBytes", "negative")
	case h.MaxConfirmations < 0:
		return bad("MaxConfirmations", "negative")
	case h.ConfirmRate < 0 || math.IsNaN(h.ConfirmRate) || math.IsInf(h.ConfirmRate, 0):
		return bad("ConfirmRate", "negative or not finite")
	}
	for i, p := range h.AllowedSources {
		if !p.IsValid() {
			return bad(fmt.Sprintf("AllowedSources[%d]", i), "invalid prefix")
		}
	}
	return nil
}

// String describes the handler's configuration, never its BearerToken.
func (h CallbackHandler) String() string {
	token := "none"
	if h.BearerToken != "" {
		token = redacted
	}
	return fmt.Sprintf("royalpay.CallbackHandler{BearerToken: %s, AllowedSources: %v, AllowUnauthenticated: %t, Known: %t, SkipConfirm: %t}",
		token, h.AllowedSources, h.AllowUnauthenticated, h.Known != nil, h.SkipConfirm)
}

// GoString is String.
func (h CallbackHandler) GoString() string { return h.String() }

// Format prints String for every verb: %x or %q of the struct would
// otherwise print the BearerToken (in hex, too).
func (h CallbackHandler) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, h.String()) }

// LogValue is String, for slog.
func (h CallbackHandler) LogValue() slog.Value { return slog.StringValue(h.String()) }

// MarshalJSON is String as a JSON string.
func (h CallbackHandler) MarshalJSON() ([]byte, error) { return json.Marshal(h.String()) }

// CallbackError is a refused callback, with the HTTP status to answer.
type CallbackError struct {
	Status int
	Err    error
	// RetryAfter, when positive, is sent as Retry-After (whole seconds).
	RetryAfter time.Duration
}

// Error gives the status to answer and the reason.
func (e *CallbackError) Error() string {
	return fmt.Sprintf("royalpay callback: %d: %v", e.Status, e.Err)
}

// Unwrap returns the cause.
func (e *CallbackError) Unwrap() error { return e.Err }

// ErrConfirmBudget is the cause of a callback refused with 503 because the
// handler's confirmation budget (MaxConfirmations, ConfirmRate) is spent.
var ErrConfirmBudget = errors.New("royalpay: confirmation budget spent, callback refused for now")

// ErrUnknownPayment is the cause of a callback refused because Known said
// the merchant never made that payment.
var ErrUnknownPayment = errors.New("royalpay: callback for a payment the merchant did not make")

// ServeHTTP handles one callback; see CallbackHandler.
func (h *CallbackHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	_, err := h.HandleCallback(r)
	answerCallback(w, err)
}

// answerCallback writes the answer to a callback HandleCallback ended with
// err: 200 {"ok":true} on nil, a *CallbackError's Status (and Retry-After),
// else 500.
func answerCallback(w http.ResponseWriter, err error) {
	if err != nil {
		status := http.StatusInternalServerError
		var ce *CallbackError
		if errors.As(err, &ce) {
			status = ce.Status
			if ce.RetryAfter > 0 {
				w.Header().Set("Retry-After", strconv.FormatInt(int64((ce.RetryAfter+time.Second-1)/time.Second), 10))
			}
		}
		http.Error(w, http.StatusText(status), status)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write([]byte(`{"ok":true}` + "\n"))
}

// HandleCallback runs the steps of CallbackHandler on r without writing an
// answer, for routers that are not net/http: on nil, answer 200 {"ok":true};
// on a *CallbackError, answer its Status (and Retry-After); on any other
// error, 500.
func (h *CallbackHandler) HandleCallback(r *http.Request) (Event, error) {
	if err := h.Validate(); err != nil {
		return Event{}, &CallbackError{Status: http.StatusInternalServerError, Err: fmt.Errorf("handler not configured: %w", err)}
	}
	if r == nil {
		return Event{}, &CallbackError{Status: http.StatusInternalServerError, Err: errors.New("nil request")}
	}
	if r.Method != http.MethodPost {
		return Event{}, &CallbackError{Status: http.StatusMethodNotAllowed, Err: errors.New("method " + r.Method)}
	}
	if len(h.AllowedSources) > 0 && !h.sourceAllowed(r.RemoteAddr) {
		return Event{}, &CallbackError{Status: http.StatusForbidden, Err: errors.New("source address not allowed")}
	}
	body, err := readCallback(r, h.BearerToken, h.MaxBodyBytes)
	if err != nil {
		return Event{}, err
	}
	cb, err := ParseCallback(body)
	if err != nil {
		return Event{}, &CallbackError{Status: http.StatusBadRequest, Err: err}
	}
	ctx := r.Context()
	if h.Known != nil {
		known, err := h.Known(ctx, cb.ID, cb.OutterID)
		if err != nil {
			return Event{}, &CallbackError{Status: http.StatusServiceUnavailable, Err: fmt.Errorf("looking up payment %d: %w", cb.ID, err)}
		}
		if !known {
			return Event{}, &CallbackError{Status: http.StatusBadRequest, Err: fmt.Errorf("payment %d: %w", cb.ID, ErrUnknownPayment)}
		}
	}
	ev := Event{Callback: cb}
	if !h.SkipConfirm {
		p, err := h.state().confirm(ctx, h.Client, cb.ID, cb.Status)
		if err != nil {
			var ce *CallbackError
			switch {
			case errors.As(err, &ce):
				return Event{}, ce
			case errors.Is(err, payments.ErrNotFound):
				return Event{}, &CallbackError{Status: http.StatusBadRequest, Err: fmt.Errorf("payment %d unknown to the API: %w", cb.ID, err)}
			}
			return Event{}, &CallbackError{Status: http.StatusServiceUnavailable, Err: fmt.Errorf("confirming payment %d: %w", cb.ID, err)}
		}
		if cb.OutterID != "" && p.OutterID != "" && cb.OutterID != p.OutterID && cb.OutterID != p.OutterIDFromForm {
			return Event{}, &CallbackError{Status: http.StatusBadRequest, Err: fmt.Errorf("payment %d: callback outter_id does not match the API's", cb.ID)}
		}
		ev.Payment = &p
	}
	if err := h.Handle(ctx, ev); err != nil {
		return ev, &CallbackError{Status: http.StatusInternalServerError, Err: err}
	}
	return ev, nil
}

// readCallback checks "Authorization: Bearer <bearer>" in constant time
// when bearer is set, and reads at most limit bytes of the body (0: 64 KiB),
// trimmed; its errors are *CallbackError.
func readCallback(r *http.Request, bearer string, limit int64) ([]byte, error) {
	if bearer != "" {
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || subtle.ConstantTimeCompare([]byte(got), []byte(bearer)) != 1 {
			return nil, &CallbackError{Status: http.StatusUnauthorized, Err: errors.New("bad or missing bearer token")}
		}
	}
	if limit == 0 {
		limit = 64 << 10
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil {
		return nil, &CallbackError{Status: http.StatusBadRequest, Err: err}
	}
	if int64(len(body)) > limit {
		return nil, &CallbackError{Status: http.StatusRequestEntityTooLarge, Err: errors.New("body over the limit")}
	}
	return bytes.TrimSpace(body), nil
}

func (h *CallbackHandler) sourceAllowed(remote string) bool {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		host = remote
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return false
	}
	a = a.Unmap()
	for _, p := range h.AllowedSources {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
