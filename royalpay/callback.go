package royalpay

import (
	"bytes"
	"context"
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
	"sync"
	"time"
	"unicode"

	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/internal/telemetry"
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
	if !json.Valid(body) || isObject(body) != nil {
		return Callback{}, fmt.Errorf("%w: not a JSON object", ErrBadCallback)
	}
	// Raw's values share one copy of body (the caller keeps its own).
	own := bytes.Clone(body)
	raw := make(map[string]json.RawMessage, 8)
	members(own, func(k, v []byte) { raw[string(k)] = v[:len(v):len(v)] })
	get := func(keys ...string) (flex, error) {
		for _, k := range keys {
			if v, ok := raw[k]; ok {
				f, err := flexOf(v)
				if err != nil {
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
// # Telemetry
//
// Each request is a span "royalpay callback" (server kind; internal when
// the request's context already carries a span, e.g. an otelhttp
// middleware's) with payments.provider, payments.result (accepted or
// refused), payments.reason for a refusal, http.response.status_code, the
// payment id (payments.provider.id) and outter_id (payments.ref) once the
// body is read, and how it was confirmed: payments.notification.confirm
// (api or skipped), payments.notification.confirm.outcome (the API read's
// outcome: ok, not_found, refused, error, canceled) and
// payments.notification.confirmed. The GetPayment that confirms it is a
// child span (of the callback whose read it was, when concurrent callbacks
// share one). The counter payments.notifications counts each request by
// payments.provider, payments.result and payments.reason ("" when
// accepted); the histogram payments.notifications.confirm.duration times
// the confirmation (budget wait and API read) by payments.provider and
// payments.outcome. Reasons: config, method, source, auth, size, read,
// parse, unknown_payment, known_failed, budget, canceled, confirm_failed,
// confirm_not_found, confirm_mismatch, handler.
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
	// TracerProvider makes the "royalpay callback" span of each
	// request (see Telemetry); nil means the Client's tracer provider (its
	// payments.WithTracerProvider), or with no Client the global one
	// (otel.GetTracerProvider), which records nothing until the
	// application sets it. Read at the first callback.
	TracerProvider trace.TracerProvider
	// MeterProvider makes the payments.notifications counter and the
	// payments.notifications.confirm.duration histogram; nil means the
	// Client's meter provider (its payments.WithMeterProvider), or with no
	// Client the global one. Read at the first callback.
	MeterProvider metric.MeterProvider

	st  *confirmState // made at the first callback, under statesMu
	tel *callbackTel  // made at the first callback, under callbackTelMu
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
// error, 500. It records the request's span and measurements (see
// CallbackHandler's Telemetry).
func (h *CallbackHandler) HandleCallback(r *http.Request) (Event, error) {
	ctx, rec := startCallback(h.telemetry(), requestContext(r), provider+" callback")
	ev, reason, err := h.handleCallback(ctx, r, rec)
	rec.end(reason, err)
	return ev, err
}

// requestContext is r's context. Only that: the span of a callback is never
// the child of a trace context read from the request's headers
// (traceparent), which anyone on the internet can write, choosing our trace
// ids. An application that trusts a proxy's headers extracts them itself
// (otelhttp) before this handler.
func requestContext(r *http.Request) context.Context {
	if r == nil {
		return context.Background()
	}
	return r.Context()
}

// handleCallback is HandleCallback's steps under ctx (the request's span):
// the event, the reason of a refusal and the error.
func (h *CallbackHandler) handleCallback(ctx context.Context, r *http.Request, rec *callbackRec) (Event, string, error) {
	if err := h.Validate(); err != nil {
		return Event{}, reasonConfig, &CallbackError{Status: http.StatusInternalServerError, Err: fmt.Errorf("handler not configured: %w", err)}
	}
	if r == nil {
		return Event{}, reasonConfig, &CallbackError{Status: http.StatusInternalServerError, Err: errors.New("nil request")}
	}
	if r.Method != http.MethodPost {
		return Event{}, reasonMethod, &CallbackError{Status: http.StatusMethodNotAllowed, Err: errors.New("method " + r.Method)}
	}
	if len(h.AllowedSources) > 0 && !h.sourceAllowed(r.RemoteAddr) {
		return Event{}, reasonSource, &CallbackError{Status: http.StatusForbidden, Err: errors.New("source address not allowed")}
	}
	body, reason, err := readCallback(r, h.BearerToken, h.MaxBodyBytes)
	if err != nil {
		return Event{}, reason, err
	}
	cb, err := ParseCallback(body)
	if err != nil {
		return Event{}, reasonParse, &CallbackError{Status: http.StatusBadRequest, Err: err}
	}
	rec.parsed(cb.ID, cb.OutterID)
	if h.Known != nil {
		known, err := h.Known(ctx, cb.ID, cb.OutterID)
		if err != nil {
			return Event{}, reasonKnownFailed, &CallbackError{Status: http.StatusServiceUnavailable, Err: fmt.Errorf("looking up payment %d: %w", cb.ID, err)}
		}
		if !known {
			return Event{}, reasonUnknownPayment, &CallbackError{Status: http.StatusBadRequest, Err: fmt.Errorf("payment %d: %w", cb.ID, ErrUnknownPayment)}
		}
	}
	ev := Event{Callback: cb}
	if h.SkipConfirm {
		rec.confirmedBy(confirmSkipped, "", false)
	} else {
		started := rec.confirmStart()
		p, err := h.state().confirm(ctx, h.Client, cb.ID, cb.Status)
		if reason, err := rec.confirmed(started, "payment", cb.ID, err); err != nil {
			return Event{}, reason, err
		}
		if err := ConfirmCallback(cb, p); err != nil {
			rec.confirmedBy(confirmAPI, telemetry.OutcomeOK, false)
			return Event{}, reasonConfirmMismatch, &CallbackError{Status: http.StatusBadRequest, Err: err}
		}
		rec.confirmedBy(confirmAPI, telemetry.OutcomeOK, true)
		ev.Payment = &p
	}
	if err := h.Handle(ctx, ev); err != nil {
		return ev, reasonHandler, &CallbackError{Status: http.StatusInternalServerError, Err: err}
	}
	return ev, "", nil
}

// readCallback checks "Authorization: Bearer <bearer>" in constant time
// when bearer is set, and reads at most limit bytes of the body (0: 64 KiB),
// trimmed; its errors are *CallbackError, with the reason of the refusal.
func readCallback(r *http.Request, bearer string, limit int64) ([]byte, string, error) {
	if bearer != "" {
		if err := CheckCallbackAuth(r.Header.Get("Authorization"), bearer); err != nil {
			return nil, reasonAuth, &CallbackError{Status: http.StatusUnauthorized, Err: err}
		}
	}
	if limit == 0 {
		limit = 64 << 10
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil {
		return nil, reasonRead, &CallbackError{Status: http.StatusBadRequest, Err: err}
	}
	if int64(len(body)) > limit {
		return nil, reasonSize, &CallbackError{Status: http.StatusRequestEntityTooLarge, Err: errors.New("body over the limit")}
	}
	return bytes.TrimSpace(body), "", nil
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

// Refusal reasons of a callback (payments.reason): a fixed vocabulary, so
// that payments.notifications stays low-cardinality whatever is posted.
const (
	reasonConfig          = "config"            // the handler is not configured (Validate), 500
	reasonMethod          = "method"            // not a POST, 405
	reasonSource          = "source"            // a source address not in AllowedSources, 403
	reasonAuth            = "auth"              // a bad or missing bearer token, 401
	reasonSize            = "size"              // over MaxBodyBytes, 413
	reasonRead            = "read"              // the body could not be read, 400
	reasonParse           = "parse"             // not a callback (no id or status; a payout's without outter_id), 400
	reasonUnknownPayment  = "unknown_payment"   // Known said the merchant never made it, 400, nothing asked
	reasonKnownFailed     = "known_failed"      // Known returned an error, 503
	reasonBudget          = "budget"            // the confirmation budget is spent, 503, nothing asked
	reasonCanceled        = "canceled"          // the request ended while it was being confirmed, 503
	reasonConfirmFailed   = "confirm_failed"    // the API could not confirm it (down, unreadable), 503
	reasonConfirmNotFound = "confirm_not_found" // the API knows no such payment or payout, 400
	reasonConfirmMismatch = "confirm_mismatch"  // the API's differs (outter_id; a payout's id), 400
	reasonHandler         = "handler"           // Handle returned an error, 500
)

// How a callback was confirmed (payments.notification.confirm).
const (
	confirmAPI     = "api"     // through the API (a read, or one shared with a concurrent callback)
	confirmSkipped = "skipped" // SkipConfirm
)

// callbackTel is a callback handler's tracer and instruments.
type callbackTel = telemetry.Inbound

// callbackTelMu guards the handlers' tel fields.
var callbackTelMu sync.Mutex

// telemetry is the handler's telemetry, made at the first callback from
// TracerProvider and MeterProvider, else the Client's, else the global
// providers. A nil handler gets the global ones (it refuses every request:
// see Validate).
func (h *CallbackHandler) telemetry() *callbackTel {
	if h == nil {
		return telemetry.NewInbound(nil, nil, nil)
	}
	return callbackTelemetry(&h.tel, h.TracerProvider, h.MeterProvider, h.Client)
}

// callbackTelemetry returns *slot, made first (under callbackTelMu) from tp
// and mp, else c's telemetry, else the global providers.
func callbackTelemetry(slot **callbackTel, tp trace.TracerProvider, mp metric.MeterProvider, c *Client) *callbackTel {
	callbackTelMu.Lock()
	defer callbackTelMu.Unlock()
	if *slot == nil {
		var base *telemetry.Telemetry
		if c != nil {
			base = c.telemetry()
		}
		*slot = telemetry.NewInbound(tp, mp, base)
	}
	return *slot
}

// callbackRec is one callback's span and measurements.
type callbackRec struct {
	t      *callbackTel
	ctx    context.Context
	span   trace.Span
	record bool // span.IsRecording()
}

// start begins the span name of a callback under ctx, the request's
// context (see requestContext): server kind, or internal when ctx already
// carries a span (a middleware's server span).
func startCallback(t *callbackTel, ctx context.Context, name string) (context.Context, *callbackRec) {
	ctx, span, record := t.Start(ctx, name, provider)
	return ctx, &callbackRec{t: t, ctx: ctx, span: span, record: record}
}

// parsed records the provider's id and the merchant's outter_id of a
// callback read. Card numbers are masked, should the outter_id carry one.
func (rec *callbackRec) parsed(id int64, outterID string) {
	if !rec.record {
		return
	}
	rec.span.SetAttributes(telemetry.ProviderID.String(payments.MaskPAN(strconv.FormatInt(id, 10))))
	if outterID != "" {
		if len(outterID) > 64 {
			outterID = outterID[:64] + "…"
		}
		rec.span.SetAttributes(telemetry.Ref.String(payments.MaskPAN(outterID)))
	}
}

// confirmStart is the start of a confirmation, when it is measured.
func (rec *callbackRec) confirmStart() time.Time {
	if !rec.t.Confirm.Enabled(rec.ctx) {
		return time.Time{}
	}
	return time.Now()
}

// confirmed records a confirmation begun at started that ended with err,
// the error of the read of what (payment, payout) id, and returns the
// reason and the error to answer when it failed. A refusal of the budget
// asked nothing of the API, so it records no confirmation.
func (rec *callbackRec) confirmed(started time.Time, what string, id int64, err error) (string, error) {
	var ce *CallbackError
	if errors.As(err, &ce) {
		return reasonBudget, ce
	}
	outcome := telemetry.OutcomeOf(err)
	if !started.IsZero() {
		rec.t.Confirm.Record(rec.ctx, time.Since(started).Seconds(),
			metric.WithAttributes(telemetry.Provider.String(provider), telemetry.Outcome.String(outcome)))
	}
	if err == nil {
		return "", nil
	}
	rec.confirmedBy(confirmAPI, outcome, false)
	switch {
	case errors.Is(err, payments.ErrNotFound):
		return reasonConfirmNotFound, &CallbackError{Status: http.StatusBadRequest, Err: fmt.Errorf("%s %d unknown to the API: %w", what, id, err)}
	case outcome == telemetry.OutcomeCanceled:
		return reasonCanceled, &CallbackError{Status: http.StatusServiceUnavailable, Err: fmt.Errorf("confirming %s %d: %w", what, id, err)}
	}
	return reasonConfirmFailed, &CallbackError{Status: http.StatusServiceUnavailable, Err: fmt.Errorf("confirming %s %d: %w", what, id, err)}
}

// confirmedBy records how the callback was confirmed (confirmAPI,
// confirmSkipped), the API read's outcome ("" when there was none) and
// whether it was borne out.
func (rec *callbackRec) confirmedBy(how, outcome string, confirmed bool) {
	if !rec.record {
		return
	}
	rec.span.SetAttributes(telemetry.NotificationConfirm.String(how), telemetry.NotificationConfirmed.Bool(confirmed))
	if outcome != "" {
		rec.span.SetAttributes(telemetry.NotificationConfirmOutcome.String(outcome))
	}
}

// end ends the callback's span with its result, and counts it: err nil is
// accepted, anything else refused for reason. A 5xx answer (our side, or
// the API's, failed) sets the span's status to Error; a 4xx is a refusal
// of what was posted, not an error of ours.
func (rec *callbackRec) end(reason string, err error) {
	result, status := telemetry.ResultAccepted, http.StatusOK
	if err != nil {
		result, status = telemetry.ResultRefused, http.StatusInternalServerError
		var ce *CallbackError
		if errors.As(err, &ce) {
			status = ce.Status
		}
	}
	if rec.record {
		rec.span.SetAttributes(telemetry.Result.String(result), telemetry.HTTPStatus.Int(status))
		if err != nil {
			rec.span.SetAttributes(telemetry.Reason.String(reason))
		}
		if status >= 500 {
			rec.span.SetStatus(codes.Error, reason)
		}
	}
	rec.span.End()
	if rec.t.Count.Enabled(rec.ctx) {
		rec.t.Count.Add(rec.ctx, 1, metric.WithAttributes(telemetry.Provider.String(provider),
			telemetry.Result.String(result), telemetry.Reason.String(reason)))
	}
}
