package royalpay

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strings"

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
// given as CallbackURL. For each POST it:
//
//  1. checks the source address against AllowedSources, when set;
//  2. checks "Authorization: Bearer <BearerToken>" in constant time, when set
//     (the provider's documented convention for its payout callbacks; ask
//     the provider to configure it for pay-ins);
//  3. reads at most MaxBodyBytes and parses the body leniently;
//  4. unless SkipConfirm, confirms the payment with Client.GetPayment — the
//     provider asks merchants to trust its API, not the callback body — and
//     refuses a callback whose outter_id disagrees with the API's;
//  5. calls Handle, and answers 200 {"ok":true} when it returns nil.
//
// Any failure answers a non-2xx status, so the provider sends the callback
// again. The same payment can be notified more than once: Handle must be
// idempotent (key on Payment.ID and the status).
type CallbackHandler struct {
	// Client confirms callbacks; required unless SkipConfirm.
	Client *Client
	// Handle is the merchant's function. Required.
	Handle func(ctx context.Context, e Event) error
	// BearerToken, when set, must arrive as "Authorization: Bearer <token>".
	BearerToken string
	// AllowedSources, when set, are the only source addresses accepted (from
	// the connection's remote address: put no proxy in front, or check the
	// proxy's header yourself and use HandleCallback).
	AllowedSources []netip.Prefix
	// MaxBodyBytes caps the body; 0 means 64 KiB.
	MaxBodyBytes int64
	// SkipConfirm hands the callback over without asking the API. Only for
	// a merchant who confirms by other means.
	SkipConfirm bool
}

// CallbackError is a refused callback, with the HTTP status to answer.
type CallbackError struct {
	Status int
	Err    error
}

// Error gives the status to answer and the reason.
func (e *CallbackError) Error() string {
	return fmt.Sprintf("royalpay callback: %d: %v", e.Status, e.Err)
}

// Unwrap returns the cause.
func (e *CallbackError) Unwrap() error { return e.Err }

// ServeHTTP handles one callback; see CallbackHandler.
func (h *CallbackHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	_, err := h.HandleCallback(r)
	if err != nil {
		status := http.StatusInternalServerError
		var ce *CallbackError
		if errors.As(err, &ce) {
			status = ce.Status
		}
		http.Error(w, http.StatusText(status), status)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write([]byte(`{"ok":true}` + "\n"))
}

// HandleCallback runs the steps of CallbackHandler on r without writing an
// answer, for routers that are not net/http: on nil, answer 200 {"ok":true};
// on a *CallbackError, answer its Status; on any other error, 500.
func (h *CallbackHandler) HandleCallback(r *http.Request) (Event, error) {
	if h.Handle == nil || (h.Client == nil && !h.SkipConfirm) {
		return Event{}, &CallbackError{http.StatusInternalServerError, errors.New("handler not configured: Handle and Client are required")}
	}
	if r.Method != http.MethodPost {
		return Event{}, &CallbackError{http.StatusMethodNotAllowed, errors.New("method " + r.Method)}
	}
	if len(h.AllowedSources) > 0 && !h.sourceAllowed(r.RemoteAddr) {
		return Event{}, &CallbackError{http.StatusForbidden, errors.New("source address not allowed")}
	}
	if h.BearerToken != "" {
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || subtle.ConstantTimeCompare([]byte(got), []byte(h.BearerToken)) != 1 {
			return Event{}, &CallbackError{http.StatusUnauthorized, errors.New("bad or missing bearer token")}
		}
	}
	limit := h.MaxBodyBytes
	if limit <= 0 {
		limit = 64 << 10
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil {
		return Event{}, &CallbackError{http.StatusBadRequest, err}
	}
	if int64(len(body)) > limit {
		return Event{}, &CallbackError{http.StatusRequestEntityTooLarge, errors.New("body over the limit")}
	}
	cb, err := ParseCallback(bytes.TrimSpace(body))
	if err != nil {
		return Event{}, &CallbackError{http.StatusBadRequest, err}
	}
	ev := Event{Callback: cb}
	if !h.SkipConfirm {
		p, err := h.Client.GetPayment(r.Context(), cb.ID)
		if err != nil {
			if errors.Is(err, payments.ErrNotFound) {
				return Event{}, &CallbackError{http.StatusBadRequest, fmt.Errorf("payment %d unknown to the API: %w", cb.ID, err)}
			}
			return Event{}, &CallbackError{http.StatusServiceUnavailable, fmt.Errorf("confirming payment %d: %w", cb.ID, err)}
		}
		if cb.OutterID != "" && p.OutterID != "" && cb.OutterID != p.OutterID && cb.OutterID != p.OutterIDFromForm {
			return Event{}, &CallbackError{http.StatusBadRequest, fmt.Errorf("payment %d: callback outter_id does not match the API's", cb.ID)}
		}
		ev.Payment = &p
	}
	if err := h.Handle(r.Context(), ev); err != nil {
		return ev, &CallbackError{http.StatusInternalServerError, err}
	}
	return ev, nil
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
