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
	"net/http"
	"strconv"
	"strings"
	"unicode"

	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/internal/telemetry"
)

// PayoutCallback is a payout notification as the provider posts it
// (docs.royal-finance.org/payout/callback.html: id, status, amount
// "сумма выплаты в копейках или центах (целое число)", outter_id, receipt,
// X-Request-Id; the adapter of imfoxboy/Eight-Connect sees "receipts", a
// list). Fields are read leniently; Raw keeps them all.
type PayoutCallback struct {
	ID     int64
	Status PayoutStatus
	// Amount as sent: minor units by the callback page. Not to act on:
	// PayoutEvent.Payout is the API's answer.
	Amount    payments.Decimal
	OutterID  string
	Receipts  []string
	RequestID string // X-Request-Id, from the body or else the header
	Raw       map[string]json.RawMessage
}

// ParsePayoutCallback reads a payout callback body. It needs a positive id
// and a status; every error wraps ErrBadCallback. It never panics.
func ParsePayoutCallback(body []byte) (PayoutCallback, error) {
	var id, status, amount, outter, receipt, reqID flex
	raw, err := readExact(body, map[string]*flex{"id": &id, "status": &status, "amount": &amount, "outter_id": &outter,
		"receipt": &receipt, "X-Request-Id": &reqID})
	if err != nil {
		return PayoutCallback{}, fmt.Errorf("%w: %v", ErrBadCallback, err)
	}
	cb := PayoutCallback{Raw: raw, Status: PayoutStatus(status), OutterID: string(outter), RequestID: string(reqID)}
	n, err := id.int64("id")
	if err != nil || n <= 0 {
		return PayoutCallback{}, fmt.Errorf("%w: id missing or not a positive integer", ErrBadCallback)
	}
	cb.ID = n
	if status == "" {
		return PayoutCallback{}, fmt.Errorf("%w: status missing", ErrBadCallback)
	}
	if cb.Amount, err = amount.decimal("amount"); err != nil {
		return PayoutCallback{}, fmt.Errorf("%w: %v", ErrBadCallback, err)
	}
	if r, ok := raw["receipts"]; ok && string(bytes.TrimSpace(r)) != "null" {
		if err := json.Unmarshal(r, &cb.Receipts); err != nil {
			return PayoutCallback{}, fmt.Errorf("%w: receipts: not a list of strings", ErrBadCallback)
		}
	}
	if receipt != "" {
		cb.Receipts = append(cb.Receipts, string(receipt))
	}
	return cb, nil
}

// PayoutEvent is what PayoutCallbackHandler hands to the merchant.
type PayoutEvent struct {
	// Callback is what the provider posted.
	Callback PayoutCallback
	// Payout is the payout as PayoutByOutterID returned it after the
	// callback: the truth to act on.
	Payout Payout
}

// Status is the confirmed status (the API's).
func (e PayoutEvent) Status() PayoutStatus { return e.Payout.Status }

// NeedsConfirmation reports whether the payout waits for the merchant's
// confirmation: the API says wait_confirm. Handle returning nil confirms it.
func (e PayoutEvent) NeedsConfirmation() bool { return e.Payout.Status == PayoutWaitConfirm }

// PayoutCallbackHandler receives the provider's payout callbacks (configured
// by the provider's admins: "Настройка callback выполняется на стороне
// админов", payout/callback.html). For each POST it:
//
//  1. refuses to run (500) when the configuration is unsafe: see Validate;
//  2. checks "Authorization: Bearer <BearerToken>" in constant time: the
//     page's "Для подтверждения подлинности каждого запроса вы передаёте в
//     заголовке статичный токен вида: Authorization: Bearer {static_token}";
//  3. reads at most MaxBodyBytes and parses the body leniently;
//  4. asks Known, when set, before any API call;
//  5. confirms the payout with Client.PayoutByOutterID (a callback without
//     outter_id is refused: the pages show no read by id) and refuses a
//     callback whose id differs from the API's, within the same
//     confirmation budget as CallbackHandler (one read a second, one at a
//     time, one more waiting; any further callback is answered 503 with
//     ErrConfirmBudget before any API call; concurrent callbacks of one
//     outter_id share one read);
//  6. calls Handle with the API's payout, and answers 200 {"ok":true} when
//     it returns nil, 500 otherwise.
//
// # wait_confirm: the answer is the confirmation
//
// A v3 payout waits in wait_confirm for the merchant. Observed behaviour,
// not documented in the pages available: the Royal Finance adapter of
// imfoxboy/Eight-Connect (app/routers/provider_webhooks.py:275-280)
// answers such a callback 200 {"ok": true} with the comment "For payout
// wait_confirm - just return OK to activate payout", and its payout
// docstring says "We confirm with 200 OK / They activate payout". So when
// PayoutEvent.NeedsConfirmation, Handle decides: return nil and the 200
// answer activates the payout; return an error and the answer is 500, the
// payout is not activated. Check the payout against your own records
// (amount, requisite, that you sent it) before returning nil. Whether a
// refused wait_confirm is resent, or cancelled after a while, is not
// documented.
//
// The same payout can be notified more than once: Handle must be idempotent.
// The handler never prints its BearerToken.
//
// # Telemetry
//
// As CallbackHandler's, with the span "royalpay payout callback": the
// payout's id (payments.provider.id) and outter_id (payments.ref), how it
// was confirmed (api) and the outcome of the PayoutByOutterID read, which
// is a child span; counted in payments.notifications (provider royalpay)
// and timed in payments.notifications.confirm.duration alike. Reasons:
// config, method, auth, size, read, parse (a callback without outter_id
// too), unknown_payment, known_failed, budget, canceled, confirm_failed,
// confirm_not_found, confirm_mismatch (the API has another id under that
// outter_id), handler.
type PayoutCallbackHandler struct {
	// Client confirms callbacks (its payout token). Required.
	Client *Client
	// Handle is the merchant's function. Required.
	Handle func(ctx context.Context, e PayoutEvent) error
	// BearerToken must arrive as "Authorization: Bearer <token>" (the
	// static token agreed with the provider's admins). Required unless
	// AllowUnauthenticated.
	BearerToken string
	// AllowUnauthenticated accepts callbacks without a bearer token,
	// relying on confirmation through the API alone.
	AllowUnauthenticated bool
	// Known, when set, is asked before any API call whether the payout is
	// one the merchant sent (id: the provider's id; outterID: yours).
	// false answers 400 with ErrUnknownPayment; an error answers 503.
	Known func(ctx context.Context, id int64, outterID string) (bool, error)
	// MaxBodyBytes caps the body; 0 means 64 KiB.
	MaxBodyBytes int64
	// MaxConfirmations caps the confirmations running at once; 0 means 1.
	MaxConfirmations int
	// ConfirmRate caps the confirmations started per second; 0 means 1.
	ConfirmRate float64
	// TracerProvider makes the "royalpay payout callback" span of each
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

	inner CallbackHandler // holds the confirmation budget
	tel   *callbackTel    // made at the first callback, under callbackTelMu
}

// Validate reports why the handler would refuse every callback, as a
// *payments.ValidationError, or nil. Call it at start-up.
func (h *PayoutCallbackHandler) Validate() error {
	bad := func(field, reason string) error {
		return &payments.ValidationError{Field: "PayoutCallbackHandler." + field, Reason: reason}
	}
	switch {
	case h == nil:
		return bad("", "nil handler")
	case h.Handle == nil:
		return bad("Handle", "required")
	case h.Client == nil:
		return bad("Client", "required to confirm callbacks through the API")
	case h.BearerToken == "" && !h.AllowUnauthenticated:
		return bad("BearerToken", "required: the provider sends \"Authorization: Bearer {static_token}\" (or set AllowUnauthenticated)")
	case h.BearerToken != "" && (strings.TrimSpace(h.BearerToken) != h.BearerToken || strings.IndexFunc(h.BearerToken, unicode.IsControl) >= 0):
		return bad("BearerToken", "spaces at its ends or control characters: it could never match")
	case h.MaxBodyBytes < 0:
		return bad("MaxBodyBytes", "negative")
	case h.MaxConfirmations < 0:
		return bad("MaxConfirmations", "negative")
	case h.ConfirmRate < 0 || math.IsNaN(h.ConfirmRate) || math.IsInf(h.ConfirmRate, 0):
		return bad("ConfirmRate", "negative or not finite")
	}
	return nil
}

// String describes the handler, never its BearerToken.
func (h PayoutCallbackHandler) String() string {
	token := "none"
	if h.BearerToken != "" {
		token = redacted
	}
	return fmt.Sprintf("royalpay.PayoutCallbackHandler{BearerToken: %s, AllowUnauthenticated: %t, Known: %t}", token, h.AllowUnauthenticated, h.Known != nil)
}

// GoString is String.
func (h PayoutCallbackHandler) GoString() string { return h.String() }

// Format prints String for every verb.
func (h PayoutCallbackHandler) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, h.String()) }

// LogValue is String, for slog.
func (h PayoutCallbackHandler) LogValue() slog.Value { return slog.StringValue(h.String()) }

// MarshalJSON is String as a JSON string: encoding/json would otherwise
// print the BearerToken field.
func (h PayoutCallbackHandler) MarshalJSON() ([]byte, error) { return json.Marshal(h.String()) }

// ServeHTTP handles one payout callback; see PayoutCallbackHandler.
func (h *PayoutCallbackHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	_, err := h.HandleCallback(r)
	answerCallback(w, err)
}

// HandleCallback runs the steps without writing an answer: on nil answer
// 200 {"ok":true} (for wait_confirm, the confirmation); on a
// *CallbackError its Status; on any other error 500. It records the
// request's span and measurements (see PayoutCallbackHandler's Telemetry).
func (h *PayoutCallbackHandler) HandleCallback(r *http.Request) (PayoutEvent, error) {
	ctx, rec := startCallback(h.telemetry(), requestContext(r), provider+" payout callback")
	ev, reason, err := h.handleCallback(ctx, r, rec)
	rec.end(reason, err)
	return ev, err
}

// telemetry is the handler's telemetry, made at the first callback from
// TracerProvider and MeterProvider, else the Client's, else the global
// providers.
func (h *PayoutCallbackHandler) telemetry() *callbackTel {
	if h == nil {
		return telemetry.NewInbound(nil, nil, nil)
	}
	return callbackTelemetry(&h.tel, h.TracerProvider, h.MeterProvider, h.Client)
}

// handleCallback is HandleCallback's steps under ctx (the request's span):
// the event, the reason of a refusal and the error.
func (h *PayoutCallbackHandler) handleCallback(ctx context.Context, r *http.Request, rec *callbackRec) (PayoutEvent, string, error) {
	if err := h.Validate(); err != nil {
		return PayoutEvent{}, reasonConfig, &CallbackError{Status: http.StatusInternalServerError, Err: fmt.Errorf("handler not configured: %w", err)}
	}
	if r == nil {
		return PayoutEvent{}, reasonConfig, &CallbackError{Status: http.StatusInternalServerError, Err: errors.New("nil request")}
	}
	if r.Method != http.MethodPost {
		return PayoutEvent{}, reasonMethod, &CallbackError{Status: http.StatusMethodNotAllowed, Err: errors.New("method " + r.Method)}
	}
	body, reason, err := readCallback(r, h.BearerToken, h.MaxBodyBytes)
	if err != nil {
		return PayoutEvent{}, reason, err
	}
	cb, err := ParsePayoutCallback(body)
	if err != nil {
		return PayoutEvent{}, reasonParse, &CallbackError{Status: http.StatusBadRequest, Err: err}
	}
	if cb.RequestID == "" {
		cb.RequestID = r.Header.Get("X-Request-Id")
	}
	rec.parsed(cb.ID, cb.OutterID)
	if cb.OutterID == "" {
		return PayoutEvent{}, reasonParse, &CallbackError{Status: http.StatusBadRequest,
			Err: fmt.Errorf("%w: payout %d: no outter_id, so it cannot be confirmed", ErrBadCallback, cb.ID)}
	}
	if h.Known != nil {
		known, err := h.Known(ctx, cb.ID, cb.OutterID)
		if err != nil {
			return PayoutEvent{}, reasonKnownFailed, &CallbackError{Status: http.StatusServiceUnavailable, Err: fmt.Errorf("looking up payout %d: %w", cb.ID, err)}
		}
		if !known {
			return PayoutEvent{}, reasonUnknownPayment, &CallbackError{Status: http.StatusBadRequest, Err: fmt.Errorf("payout %d: %w", cb.ID, ErrUnknownPayment)}
		}
	}
	st := h.budget()
	// The read is by outter_id, so callbacks share it by outter_id: keyed
	// by id, a forged callback carrying a genuine id and another outter_id
	// would hand its read (not found, or another payout) to the genuine
	// callback, refusing it (and, for wait_confirm, the payout).
	started := rec.confirmStart()
	v, err := st.confirmWith(ctx, "payout outter_id "+strconv.Quote(cb.OutterID), string(cb.Status), func(ctx context.Context) (any, string, error) {
		p, err := h.Client.PayoutByOutterID(ctx, cb.OutterID)
		return p, string(p.Status), err
	})
	if reason, err := rec.confirmed(started, "payout", cb.ID, err); err != nil {
		return PayoutEvent{}, reason, err
	}
	p, _ := v.(Payout)
	if err := ConfirmPayoutCallback(cb, p); err != nil {
		rec.confirmedBy(confirmAPI, telemetry.OutcomeOK, false)
		return PayoutEvent{}, reasonConfirmMismatch, &CallbackError{Status: http.StatusBadRequest, Err: err}
	}
	rec.confirmedBy(confirmAPI, telemetry.OutcomeOK, true)
	ev := PayoutEvent{Callback: cb, Payout: p}
	if err := h.Handle(ctx, ev); err != nil {
		return ev, reasonHandler, &CallbackError{Status: http.StatusInternalServerError, Err: err}
	}
	return ev, "", nil
}

// budget is the handler's confirmation state, made at the first callback
// with CallbackHandler's machinery.
func (h *PayoutCallbackHandler) budget() *confirmState {
	statesMu.Lock()
	if h.inner.st == nil {
		h.inner.MaxConfirmations, h.inner.ConfirmRate = h.MaxConfirmations, h.ConfirmRate
	}
	statesMu.Unlock()
	return h.inner.state()
}
