package paykeeper

import (
	"context"
	"crypto/md5"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"mime"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/internal/telemetry"
)

// Notification is PayKeeper's POST notification ("informer", informer_type
// post) of one accepted payment, as it arrives at the merchant's
// informer_url: an application/x-www-form-urlencoded body signed with the
// cabinet's informer_seed (the secret word).
//
// ID is the PAYMENT id, not the invoice id: an invoice's paymentid points to
// it, and refunds and captures take it.
//
// The signature does not even prove that PayKeeper sent these values: it is
// md5(id + sum + clientid + orderid + secret) with no separators, so a
// genuine notification for payment 301 of 100.00 can be re-cut into one for
// payment 30 of 1100.00 with the same key. NotificationHandler therefore
// confirms each notification through the API (Payment holds what the API
// said) before the merchant's function sees it. The merchant must still
// check that Sum, ClientID and OrderID match its own order (PayKeeper's
// docs: "Обязательно нужно проверять, что sum, clientid и orderid
// соответствуют друг другу в вашей информационной системе").
//
// String, GoString, Format and LogValue print a card number only masked,
// whatever the field it was sent in, and never print Key.
type Notification struct {
	ID          string           // id: the payment id (not the invoice id)
	Sum         payments.Decimal // sum, parsed
	SumText     string           // sum as sent, e.g. "100.00"
	ClientID    string           // clientid: the payer's name as entered; may be empty
	OrderID     string           // orderid: the merchant's order number; may be empty
	ServiceName string           // service_name; may be the JSON string sent at invoice creation
	ClientEmail string           // client_email
	ClientPhone string           // client_phone
	PSID        string           // ps_id: the payment system id
	Key         string           // key: the signature, as sent
	// BatchDate is batch_date as sent: the date a two-stage (authorised)
	// payment will be or was captured.
	BatchDate string
	// Hold is true when batch_date is non-empty: the money is authorised on
	// the card but not yet captured. Capture or reverse it through the API.
	Hold           bool
	BankID         string    // bank_id: a card binding id for recurring payments; empty if none
	CardNumber     string    // card_number: the masked card number, as sent
	CardHolder     string    // card_holder
	CardExpiry     string    // card_expiry
	FOPReceiptKey  string    // fop_receipt_key: the 54-FZ receipt page code
	ObtainDatetime time.Time // obtain_datetime in Moscow time, if sent and readable; else zero
	// Fields holds every field of the form, known or not (the first value of
	// each), e.g. pk_hostname, bank_payer_id, bank_operation_datetime.
	Fields map[string]string
	// Payment is the payment as GetPayment returned it when
	// NotificationHandler confirmed the notification: its id, amount and
	// order id equal the notification's and its money was taken. For a
	// re-send of a notification the handler already confirmed and
	// acknowledged, it is the payment as read then (no new lookup). nil
	// from ParseNotification, and from a handler with SkipConfirmation.
	Payment *Payment
}

var (
	// ErrBadSignature is the error of a notification whose key does not
	// match: not from PayKeeper, or a different secret word.
	ErrBadSignature = errors.New("paykeeper: notification signature mismatch")
	// ErrNotificationInvalid is the error of a notification that cannot be
	// read: a required field (id, sum, key) missing or repeated, an id that
	// is not a payment number, or a sum without exactly two decimals.
	ErrNotificationInvalid = errors.New("paykeeper: invalid notification")
	// ErrNotConfirmed is the error of a notification the API does not
	// confirm: no such payment, or one whose id, sum, order id or status
	// differ — a forgery (see Notification) or a notification to refuse.
	ErrNotConfirmed = errors.New("paykeeper: notification not confirmed by the API")
)

// errNotificationNoSecret is returned when there is no secret to verify with:
// an md5 without a secret is something anybody can compute.
var errNotificationNoSecret = errors.New("paykeeper: notification secret (informer_seed) is empty")

// notificationMaxBody is the default body cap of NotificationHandler.
const notificationMaxBody = 64 << 10

// notificationSigned are the fields the key covers, then the key itself; each
// may appear at most once.
var notificationSigned = []string{"id", "sum", "clientid", "orderid", "key"}

// ParseNotification reads and verifies a notification form, e.g. the parsed
// body of the POST. It needs id, sum and key and a non-empty secret (the
// cabinet's informer_seed).
//
// Before the signature it checks the form of the two fields that a re-cut
// signature moves characters between: id must be a payment number (digits,
// no leading zero, at most 20) and sum must have exactly two decimals, as
// PayKeeper sends it ("100.00": no leading zero, positive). This leaves a
// forger only the re-cuts that keep both forms (301 + 100.00 → 30 +
// 1100.00), which NotificationHandler catches through the API.
//
// The key is md5(id + sum + clientid + orderid + secret) in hex, over the
// values as sent; missing clientid and orderid count as empty. The
// comparison is in constant time and ignores the case of the hex digits.
//
// Errors: ErrNotificationInvalid for a missing or repeated field or an id or
// sum of the wrong form, ErrBadSignature for a key that does not match.
func ParseNotification(form url.Values, secret string) (Notification, error) {
	if secret == "" {
		return Notification{}, errNotificationNoSecret
	}
	if err := CheckNotificationForm(form); err != nil {
		return Notification{}, err
	}
	id, sum, clientID, orderID, key := form.Get("id"), form.Get("sum"), form.Get("clientid"), form.Get("orderid"), form.Get("key")
	dec, err := payments.ParseDecimal(sum)
	if err != nil {
		return Notification{}, fmt.Errorf("%w: sum %q is not a number", ErrNotificationInvalid, notificationClip(sum))
	}
	got := []byte(strings.ToLower(key))
	if subtle.ConstantTimeCompare(got, []byte(notificationMD5(id, sum, clientID, orderID, secret))) != 1 {
		return Notification{}, fmt.Errorf("%w (payment id %q)", ErrBadSignature, id)
	}

	n := Notification{
		ID:            id,
		Sum:           dec,
		SumText:       sum,
		ClientID:      clientID,
		OrderID:       orderID,
		ServiceName:   form.Get("service_name"),
		ClientEmail:   form.Get("client_email"),
		ClientPhone:   form.Get("client_phone"),
		PSID:          form.Get("ps_id"),
		Key:           key,
		BatchDate:     form.Get("batch_date"),
		BankID:        form.Get("bank_id"),
		CardNumber:    form.Get("card_number"),
		CardHolder:    form.Get("card_holder"),
		CardExpiry:    form.Get("card_expiry"),
		FOPReceiptKey: form.Get("fop_receipt_key"),
		Fields:        make(map[string]string, len(form)),
	}
	n.Hold = strings.TrimSpace(n.BatchDate) != ""
	n.ObtainDatetime = notificationTime(form.Get("obtain_datetime"))
	for k, v := range form {
		if len(v) > 0 {
			n.Fields[k] = v[0]
		} else {
			n.Fields[k] = ""
		}
	}
	return n, nil
}

// notificationID reports a payment number: 1 to 20 digits, no leading zero.
func notificationID(s string) bool {
	return len(s) <= maxIDDigits && allDigits(s) && s[0] != '0'
}

// notificationSum reports a positive amount with exactly two decimals and
// no leading zero: "100.00", "0.50"; not "100", "100.0", "0100.00", "0.00".
func notificationSum(s string) bool {
	whole, frac, ok := strings.Cut(s, ".")
	if !ok || len(frac) != 2 || !allDigits(frac) || !allDigits(whole) || len(whole) > 15 {
		return false
	}
	if len(whole) > 1 && whole[0] == '0' {
		return false
	}
	return whole != "0" || frac != "00"
}

// AckNotification returns the one reply PayKeeper takes as "received":
// "OK " and md5(id + secret) in lowercase hex, where id is the notification's
// (payment) id and secret the informer_seed. Write it as the whole body of a
// 200 text/plain answer, with nothing before or after it.
func AckNotification(id, secret string) string {
	return "OK " + notificationMD5(id, secret)
}

func notificationMD5(parts ...string) string {
	h := md5.New()
	for _, p := range parts {
		_, _ = io.WriteString(h, p)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// notificationTime reads PayKeeper's "YYYY-MM-DD HH:MM:SS" Moscow time; it
// returns zero for an empty or unreadable value (which stays in Fields).
func notificationTime(s string) time.Time {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}
	}
	for _, layout := range []string{time.DateTime, "2006-01-02T15:04:05", time.DateOnly} {
		if t, err := time.ParseInLocation(layout, s, moscow); err == nil {
			return t
		}
	}
	return time.Time{}
}

func notificationClip(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}

// NotificationHandler receives PayKeeper's POST notifications. Mount it at
// the informer_url set in the cabinet (informer_type post), set Secret to
// the informer_seed and Client to a client of the same cabinet. For each
// request it:
//
//  1. refuses a handler without Secret, Handle, and Client or
//     SkipConfirmation (500: see Validate);
//  2. refuses anything but POST (405) and a body that is not
//     application/x-www-form-urlencoded (415);
//  3. reads at most MaxBodyBytes (413 above that) and parses the form (400);
//  4. checks id (a payment number) and sum (exactly two decimals), then the
//     key signature (ErrBadSignature, 403) — see ParseNotification. Nothing
//     so far costs an API request, so forged notifications do not spend the
//     account's rate limit;
//  5. confirms the notification through the API: Client.GetPayment of its
//     id must return a payment with the same id, sum (pay_amount) and order
//     id, whose money was taken (obtained, success, stuck or
//     partially_refunded). A payment the API does not know or that differs
//     is refused (ErrNotConfirmed, 403); an API that cannot answer is 503, so
//     PayKeeper sends the notification again. Concurrent notifications of
//     one payment id share one lookup, and lookups are capped by the
//     confirmation budget below. A notification already confirmed and
//     acknowledged (the same id, sum, clientid, orderid and batch_date set
//     or not) takes its Payment from the handler's cache instead, with no
//     lookup;
//  6. calls Handle with the notification and its confirmed Payment, and
//     when it returns nil answers 200 with exactly AckNotification(id,
//     Secret) as a text/plain body.
//
// # Confirmation budget
//
// Every lookup is a GetPayment, which takes a token from the Client's
// limiter: the account's rate limit, shared with the merchant's own calls.
// A forger who saw one genuine notification can re-cut it (its signature
// has no separators) into others with valid keys, and anyone can replay it;
// so that neither spends the account's rate limit:
//
//   - a re-send of a notification already confirmed and acknowledged is
//     acknowledged from a cache of ConfirmedCacheSize entries (default
//     4096, oldest forgotten first) without a lookup. The cache key is every
//     signed field, each kept apart, so a re-cut (payment 301 of 100.00 as
//     payment 30 of 1100.00) is never a hit: it is looked up and refused;
//   - lookups start at most ConfirmRate (default 1) a second, evenly
//     spaced, and at most MaxConfirmations (default 1) run at once;
//   - as many notifications again may wait for their turn; any further one
//     is answered 503 with Retry-After at once, before any API call, with
//     ErrConfirmBudget. That is not the acknowledgement, so PayKeeper sends
//     it again later ("stuck" payments are re-sent; /change/payment/repeatcnt/
//     asks for a re-send at once).
//
// The trade-off: a genuine notification arriving while the budget is taken
// is refused too and comes back with PayKeeper's next re-send (its
// schedule is not published). Raise ConfirmRate if your genuine
// notifications come faster than one a second and your account's rate
// limit allows it.
//
// Every other outcome (a Handle error answers 500) is a reply PayKeeper does
// not accept, so it sends the notification again later; a payment never
// acknowledged ends up with status stuck.
//
// Repeated notifications for one payment are normal — re-sends after a
// failed or lost reply, and re-sends triggered with /change/payment/repeatcnt/
// — so Handle must be idempotent: key on Notification.ID (the PAYMENT id, not
// the invoice id) and return nil again for a payment already recorded, so
// that it is acknowledged. Handle must also check that Sum, ClientID and
// OrderID match the merchant's own order before delivering anything: the
// API confirms the payment, not that it is for the right order or amount of
// the merchant's. A Notification with Hold set is authorised but not
// captured.
//
// # Telemetry
//
// Each request is a span "paykeeper notification" (server kind; internal
// when the request's context already carries a span, e.g. an otelhttp
// middleware's) with payments.provider, payments.result (accepted or
// refused), payments.reason for a refusal, http.response.status_code, the
// payment id (payments.provider.id) and order id (payments.ref) once the
// signature holds, and how it was confirmed: payments.notification.confirm
// (api, cache or skipped), payments.notification.confirm.outcome (the API
// read's outcome: ok, not_found, refused, error, canceled) and
// payments.notification.confirmed. The GetPayment that confirms it is a
// child span. The counter payments.notifications counts each request by
// payments.provider, payments.result and payments.reason ("" when
// accepted); the histogram payments.notifications.confirm.duration times
// the confirmation (budget wait and API read) by payments.provider and
// payments.outcome. Reasons: config, method, content_type, size, read,
// parse, signature, budget, canceled, confirm_failed, confirm_not_found,
// confirm_mismatch, handler.
//
// It never prints Secret, whatever the fmt verb or slog handler.
type NotificationHandler struct {
	// Secret is the cabinet's informer_seed. Required.
	Secret string
	// Client confirms each notification through the API before Handle sees
	// it (step 5). Required unless SkipConfirmation.
	Client *Client
	// SkipConfirmation hands notifications to Handle on the strength of
	// their signature alone, without asking the API, and Client is not used.
	// The merchant gives up the one defence against re-cut signatures: a
	// genuine notification for payment 301 of 100.00 can be replayed by
	// anyone who saw it as payment 30 of 1100.00, with a valid key, and
	// Handle receives it (Notification.Payment is nil). Set it only when
	// Handle itself looks every payment up (GetPayment) and compares id,
	// sum, order id and status before acting on it.
	SkipConfirmation bool
	// Handle is the merchant's function. Required. It must be idempotent
	// (see NotificationHandler); a non-nil error makes PayKeeper retry.
	Handle func(ctx context.Context, n Notification) error
	// MaxBodyBytes caps the body; 0 means 64 KiB.
	MaxBodyBytes int64
	// MaxConfirmations caps the lookups (step 5) running at once; as many
	// more notifications may wait for their turn, and any further one is
	// refused (503, ErrConfirmBudget). 0 means 1.
	MaxConfirmations int
	// ConfirmRate caps the lookups started per second (each takes a token
	// from the Client's limiter, the account's rate limit); 0 means 1.
	ConfirmRate float64
	// ConfirmedCacheSize is how many confirmed and acknowledged
	// notifications are remembered, so that a re-send is acknowledged
	// without a lookup; 0 means 4096, negative means none.
	ConfirmedCacheSize int
	// TracerProvider makes the "paykeeper notification" span of each
	// request (see Telemetry); nil means the Client's tracer provider (its
	// payments.WithTracerProvider), or with no Client the global one
	// (otel.GetTracerProvider), which records nothing until the
	// application sets it. Read at the first notification.
	TracerProvider trace.TracerProvider
	// MeterProvider makes the payments.notifications counter and the
	// payments.notifications.confirm.duration histogram; nil means the
	// Client's meter provider (its payments.WithMeterProvider), or with no
	// Client the global one. Read at the first notification.
	MeterProvider metric.MeterProvider

	st  *notifyState // made at the first notification, under notifyStatesMu
	tel *notifyTel   // made at the first notification, under notifyTelMu
	// now and sleep replace time.Now and a timer for the budget (tests);
	// read when st is made.
	now   func() time.Time
	sleep func(ctx context.Context, d time.Duration) error
}

// Validate reports a handler that cannot work safely, as a
// *payments.ValidationError: no Secret, no Handle, neither a Client to
// confirm notifications nor an explicit SkipConfirmation, a negative
// MaxBodyBytes or MaxConfirmations, a ConfirmRate that is negative or not
// finite. Call it at
// start-up; HandleNotification refuses every request of such a handler
// (500).
func (h *NotificationHandler) Validate() error {
	switch {
	case h == nil:
		return &payments.ValidationError{Field: "NotificationHandler", Reason: "nil"}
	case h.Secret == "":
		return &payments.ValidationError{Field: "Secret", Reason: "required: the cabinet's informer_seed"}
	case h.Handle == nil:
		return &payments.ValidationError{Field: "Handle", Reason: "required"}
	case h.Client == nil && !h.SkipConfirmation:
		return &payments.ValidationError{Field: "Client", Reason: "required to confirm notifications through the API (a valid signature can be re-cut into another payment and sum); " +
			"set SkipConfirmation only if Handle confirms them itself"}
	case h.MaxBodyBytes < 0:
		return &payments.ValidationError{Field: "MaxBodyBytes", Reason: "negative"}
	case h.MaxConfirmations < 0:
		return &payments.ValidationError{Field: "MaxConfirmations", Reason: "negative"}
	case h.ConfirmRate < 0 || math.IsNaN(h.ConfirmRate) || math.IsInf(h.ConfirmRate, 0):
		return &payments.ValidationError{Field: "ConfirmRate", Reason: "negative or not finite"}
	}
	return nil
}

// String describes the handler without its secret.
func (h NotificationHandler) String() string {
	return fmt.Sprintf("paykeeper.NotificationHandler{Secret: %s, Client: %s, SkipConfirmation: %t, Handle: %s, MaxBodyBytes: %d}",
		redactedIfSet(h.Secret), setOrNil(h.Client != nil), h.SkipConfirmation, setOrNil(h.Handle != nil), h.MaxBodyBytes)
}

// GoString is String.
func (h NotificationHandler) GoString() string { return h.String() }

// Format prints String for every verb, so that none prints Secret.
func (h NotificationHandler) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, h.String()) }

// LogValue describes the handler without its secret.
func (h NotificationHandler) LogValue() slog.Value {
	return slog.GroupValue(slog.String("secret", redactedIfSet(h.Secret)), slog.Bool("client", h.Client != nil),
		slog.Bool("skip_confirmation", h.SkipConfirmation), slog.Int64("max_body_bytes", h.MaxBodyBytes))
}

func redactedIfSet(s string) string {
	if s == "" {
		return `""`
	}
	return "[REDACTED]"
}

func setOrNil(set bool) string {
	if set {
		return "set"
	}
	return "nil"
}

// NotificationError is a refused notification, with the HTTP status to
// answer. It wraps ErrBadSignature (403), ErrNotConfirmed (403),
// ErrNotificationInvalid (400), ErrConfirmBudget (503), the error of Handle
// (500), and so on.
type NotificationError struct {
	Status int
	Err    error
	// RetryAfter, when positive, is sent as Retry-After (whole seconds):
	// set on a refusal for the confirmation budget (ErrConfirmBudget).
	RetryAfter time.Duration
}

// Error gives the status to answer and the reason.
func (e *NotificationError) Error() string {
	return fmt.Sprintf("paykeeper notification: %d: %v", e.Status, e.Err)
}

// Unwrap returns the cause.
func (e *NotificationError) Unwrap() error { return e.Err }

// ServeHTTP handles one notification; see NotificationHandler.
func (h *NotificationHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n, err := h.HandleNotification(r)
	if err != nil {
		status := http.StatusInternalServerError
		var ne *NotificationError
		if errors.As(err, &ne) && ne.Status >= 400 && ne.Status <= 599 {
			status = ne.Status
		}
		if status == http.StatusMethodNotAllowed {
			w.Header().Set("Allow", http.MethodPost)
		}
		if ne != nil && ne.RetryAfter > 0 {
			w.Header().Set("Retry-After", strconv.FormatInt(int64((ne.RetryAfter+time.Second-1)/time.Second), 10))
		}
		http.Error(w, http.StatusText(status), status)
		return
	}
	ack := AckNotification(n.ID, h.Secret)
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	_, _ = io.WriteString(w, ack)
}

// HandleNotification runs the steps of NotificationHandler on r without
// writing an answer, for routers that are not net/http. On nil, answer 200
// with Content-Type text/plain and exactly AckNotification(n.ID, h.Secret) as
// the body, nothing else; on a *NotificationError, answer its Status with any
// body but that; on any other error, 500. Only the first answer counts as an
// acknowledgement, so PayKeeper re-sends on anything else. It records the
// request's span and measurements (see NotificationHandler's Telemetry).
func (h *NotificationHandler) HandleNotification(r *http.Request) (Notification, error) {
	ctx, rec := startNotify(h.telemetry(), requestContext(r))
	n, reason, err := h.handleNotification(ctx, r, rec)
	rec.end(reason, err)
	return n, err
}

// requestContext is r's context. Only that: the span of a notification is
// never the child of a trace context read from the request's headers
// (traceparent), which anyone on the internet can write, choosing our
// trace ids. An application that trusts a proxy's headers extracts them
// itself (otelhttp) before this handler.
func requestContext(r *http.Request) context.Context {
	if r == nil {
		return context.Background()
	}
	return r.Context()
}

// handleNotification is HandleNotification's steps under ctx (the
// request's span): the notification, the reason of a refusal and the error.
func (h *NotificationHandler) handleNotification(ctx context.Context, r *http.Request, rec *notifyRec) (Notification, string, error) {
	if err := h.Validate(); err != nil {
		return Notification{}, reasonConfig, &NotificationError{Status: http.StatusInternalServerError, Err: fmt.Errorf("handler not configured: %w", err)}
	}
	if r.Method != http.MethodPost {
		return Notification{}, reasonMethod, &NotificationError{Status: http.StatusMethodNotAllowed, Err: errors.New("method " + r.Method)}
	}
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || mt != "application/x-www-form-urlencoded" {
			return Notification{}, reasonContentType, &NotificationError{Status: http.StatusUnsupportedMediaType, Err: fmt.Errorf("content type %q, want application/x-www-form-urlencoded", notificationClip(ct))}
		}
	}
	limit := h.MaxBodyBytes
	if limit <= 0 {
		limit = notificationMaxBody
	}
	var body []byte
	if r.Body != nil {
		var err error
		body, err = io.ReadAll(io.LimitReader(r.Body, limit+1))
		if err != nil {
			if mbe := (*http.MaxBytesError)(nil); errors.As(err, &mbe) {
				return Notification{}, reasonSize, &NotificationError{Status: http.StatusRequestEntityTooLarge, Err: err}
			}
			return Notification{}, reasonRead, &NotificationError{Status: http.StatusBadRequest, Err: err}
		}
	}
	if int64(len(body)) > limit {
		return Notification{}, reasonSize, &NotificationError{Status: http.StatusRequestEntityTooLarge, Err: errors.New("body over the limit")}
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return Notification{}, reasonParse, &NotificationError{Status: http.StatusBadRequest, Err: fmt.Errorf("%w: %v", ErrNotificationInvalid, err)}
	}
	n, err := ParseNotification(form, h.Secret)
	switch {
	case errors.Is(err, ErrBadSignature):
		return Notification{}, reasonSignature, &NotificationError{Status: http.StatusForbidden, Err: err}
	case errors.Is(err, ErrNotificationInvalid):
		return Notification{}, reasonParse, &NotificationError{Status: http.StatusBadRequest, Err: err}
	case err != nil:
		return Notification{}, reasonConfig, &NotificationError{Status: http.StatusInternalServerError, Err: err}
	}
	rec.parsed(n.ID, n.OrderID)
	if h.SkipConfirmation {
		rec.confirmedBy(confirmSkipped, "", false)
	} else if reason, err := h.confirm(ctx, &n, rec); err != nil {
		return Notification{}, reason, err
	}
	if err := h.Handle(ctx, n); err != nil {
		return n, reasonHandler, &NotificationError{Status: http.StatusInternalServerError, Err: err}
	}
	if n.Payment != nil {
		h.state().confirmed.put(&n, *n.Payment)
	}
	return n, "", nil
}

// confirm takes a notification already confirmed and acknowledged from the
// cache, or looks the payment up within the budget (one lookup for
// concurrent notifications of one id) and compares it with the
// notification. It returns the reason of a refusal with its error.
func (h *NotificationHandler) confirm(ctx context.Context, n *Notification, rec *notifyRec) (string, error) {
	st := h.state()
	if p, ok := st.confirmed.get(n); ok {
		n.Payment = &p
		rec.confirmedBy(confirmCache, "", true)
		return "", nil
	}
	c := h.Client
	started := rec.confirmStart()
	p, err := c.lookups.do(ctx, n.ID, func(ctx context.Context) (Payment, error) {
		return st.budget.do(ctx, func(ctx context.Context) (Payment, error) { return c.GetPayment(ctx, n.ID) })
	})
	if refused := (*budgetRefusal)(nil); errors.As(err, &refused) {
		// Nothing was asked of the API: no confirmation to record.
		return reasonBudget, &NotificationError{Status: http.StatusServiceUnavailable, Err: fmt.Errorf("payment %s: %w", n.ID, err), RetryAfter: refused.wait}
	}
	outcome := telemetry.OutcomeOf(err)
	rec.confirmDone(started, outcome)
	if errors.Is(err, payments.ErrNotFound) {
		rec.confirmedBy(confirmAPI, outcome, false)
		return reasonConfirmNotFound, &NotificationError{Status: http.StatusForbidden, Err: fmt.Errorf("%w: payment %s unknown to the API", ErrNotConfirmed, n.ID)}
	}
	if err != nil {
		rec.confirmedBy(confirmAPI, outcome, false)
		reason := reasonConfirmFailed
		if outcome == telemetry.OutcomeCanceled {
			reason = reasonCanceled
		}
		return reason, &NotificationError{Status: http.StatusServiceUnavailable, Err: fmt.Errorf("confirming payment %s: %w", n.ID, err)}
	}
	if err := ConfirmNotification(*n, p); err != nil {
		rec.confirmedBy(confirmAPI, outcome, false)
		return reasonConfirmMismatch, &NotificationError{Status: http.StatusForbidden, Err: err}
	}
	rec.confirmedBy(confirmAPI, outcome, true)
	n.Payment = &p
	return "", nil
}

// notificationPlain are the fields String prints without MaskPAN: ids,
// amounts and dates that PayKeeper or the merchant assign, not text a payer
// typed. Every other value goes through MaskPAN; key is never printed.
var notificationPlain = map[string]bool{
	"id": true, "sum": true, "orderid": true, "ps_id": true, "bank_id": true,
	"batch_date": true, "obtain_datetime": true, "fop_receipt_key": true,
}

// notificationKnown are the fields with a Notification field of their own.
var notificationKnown = map[string]bool{
	"id": true, "sum": true, "clientid": true, "orderid": true, "service_name": true,
	"client_email": true, "client_phone": true, "ps_id": true, "key": true,
	"batch_date": true, "bank_id": true, "card_number": true, "card_holder": true,
	"card_expiry": true, "fop_receipt_key": true, "obtain_datetime": true,
}

// notificationPairs lists the notification's values as printed: known fields
// first, then unknown fields sorted by name; card numbers masked, key left out.
func (n Notification) notificationPairs() [][2]string {
	m := payments.MaskPAN
	pairs := [][2]string{
		{"ID", n.ID}, {"Sum", n.SumText}, {"ClientID", m(n.ClientID)}, {"OrderID", n.OrderID},
		{"ServiceName", m(n.ServiceName)}, {"ClientEmail", m(n.ClientEmail)}, {"ClientPhone", m(n.ClientPhone)},
		{"PSID", n.PSID}, {"BatchDate", n.BatchDate}, {"BankID", n.BankID},
		{"CardNumber", m(n.CardNumber)}, {"CardHolder", m(n.CardHolder)}, {"CardExpiry", m(n.CardExpiry)},
		{"FOPReceiptKey", n.FOPReceiptKey},
	}
	if !n.ObtainDatetime.IsZero() {
		pairs = append(pairs, [2]string{"ObtainDatetime", n.ObtainDatetime.Format(time.DateTime + " MST")})
	}
	extra := make([]string, 0, len(n.Fields))
	for k := range n.Fields {
		if !notificationKnown[k] {
			extra = append(extra, k)
		}
	}
	sort.Strings(extra)
	for _, k := range extra {
		v := n.Fields[k]
		if !notificationPlain[k] {
			v = m(v)
		}
		pairs = append(pairs, [2]string{m(k), v})
	}
	return pairs
}

// String prints the notification for logs, e.g.
// {ID:301 Sum:100.00 OrderID:ORDER-42 CardNumber:411111******1111 Hold:false ...}.
// Card numbers are masked wherever they appear; the key is left out.
func (n Notification) String() string {
	var b strings.Builder
	b.WriteByte('{')
	for i, p := range n.notificationPairs() {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(p[0])
		b.WriteByte(':')
		b.WriteString(p[1])
		if p[0] == "BatchDate" {
			fmt.Fprintf(&b, " Hold:%t", n.Hold)
		}
	}
	b.WriteByte('}')
	return b.String()
}

// GoString is String as Go syntax (for %#v), with the same masking.
func (n Notification) GoString() string {
	var b strings.Builder
	b.WriteString("paykeeper.Notification{")
	for i, p := range n.notificationPairs() {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s:%q", p[0], p[1])
		if p[0] == "BatchDate" {
			fmt.Fprintf(&b, ", Hold:%t", n.Hold)
		}
	}
	b.WriteByte('}')
	return b.String()
}

// LogValue is the notification for slog handlers (a JSON handler would
// otherwise marshal the raw fields): String's pairs, card numbers masked,
// the key left out.
func (n Notification) LogValue() slog.Value {
	pairs := n.notificationPairs()
	attrs := make([]slog.Attr, 0, len(pairs)+1)
	for _, p := range pairs {
		attrs = append(attrs, slog.String(p[0], p[1]))
	}
	attrs = append(attrs, slog.Bool("Hold", n.Hold))
	return slog.GroupValue(attrs...)
}

// Format makes every fmt verb print String (GoString for %#v), so that no
// verb (%d, %+v, …) prints the raw fields.
func (n Notification) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		_, _ = io.WriteString(f, n.GoString())
		return
	}
	_, _ = io.WriteString(f, n.String())
}

// Refusal reasons of a notification (payments.reason): a fixed vocabulary,
// so that payments.notifications stays low-cardinality whatever is posted.
const (
	reasonConfig          = "config"            // the handler is not configured (Validate), 500
	reasonMethod          = "method"            // not a POST, 405
	reasonContentType     = "content_type"      // not a form, 415
	reasonSize            = "size"              // over MaxBodyBytes, 413
	reasonRead            = "read"              // the body could not be read, 400
	reasonParse           = "parse"             // not a form, or a field missing, repeated or of the wrong form, 400
	reasonSignature       = "signature"         // the key does not match, 403
	reasonBudget          = "budget"            // the confirmation budget is spent, 503, nothing asked
	reasonCanceled        = "canceled"          // the request ended while it was being confirmed, 503
	reasonConfirmFailed   = "confirm_failed"    // the API could not confirm it (down, unreadable), 503
	reasonConfirmNotFound = "confirm_not_found" // the API knows no such payment, 403
	reasonConfirmMismatch = "confirm_mismatch"  // the API's payment differs (id, sum, order id, status), 403
	reasonHandler         = "handler"           // Handle returned an error, 500
)

// How a notification was confirmed (payments.notification.confirm).
const (
	confirmAPI     = "api"     // through the API (a lookup, or one shared with a concurrent notification)
	confirmCache   = "cache"   // a re-send of one the API confirmed earlier
	confirmSkipped = "skipped" // SkipConfirmation
)

// notifyTel is a NotificationHandler's tracer and instruments.
type notifyTel = telemetry.Inbound

// notifyTelMu guards NotificationHandler.tel.
var notifyTelMu sync.Mutex

// telemetry is the handler's telemetry, made at the first notification
// from TracerProvider and MeterProvider, else the Client's, else the
// global providers. A nil handler gets the global ones (it refuses every
// request: see Validate).
func (h *NotificationHandler) telemetry() *notifyTel {
	if h == nil {
		return telemetry.NewInbound(nil, nil, nil)
	}
	notifyTelMu.Lock()
	defer notifyTelMu.Unlock()
	if h.tel == nil {
		var base *telemetry.Telemetry
		if h.Client != nil {
			base = h.Client.telemetry()
		}
		h.tel = telemetry.NewInbound(h.TracerProvider, h.MeterProvider, base)
	}
	return h.tel
}

// notifyRec is one notification's span and measurements.
type notifyRec struct {
	t      *notifyTel
	ctx    context.Context
	span   trace.Span
	record bool // span.IsRecording()
}

// start begins the span of a notification under ctx, the request's
// context (see requestContext): server kind, or internal when ctx already
// carries a span (a middleware's server span).
func startNotify(t *notifyTel, ctx context.Context) (context.Context, *notifyRec) {
	ctx, span, record := t.Start(ctx, provider+" notification", provider)
	return ctx, &notifyRec{t: t, ctx: ctx, span: span, record: record}
}

// parsed records the payment id and the order id of a notification whose
// signature holds. Card numbers are masked, should a value carry one.
func (rec *notifyRec) parsed(id, orderID string) {
	if !rec.record {
		return
	}
	rec.span.SetAttributes(telemetry.ProviderID.String(payments.MaskPAN(notificationClip(id))))
	if orderID != "" {
		rec.span.SetAttributes(telemetry.Ref.String(payments.MaskPAN(notificationClip(orderID))))
	}
}

// confirmStart is the start of a confirmation, when it is measured.
func (rec *notifyRec) confirmStart() time.Time {
	if !rec.t.Confirm.Enabled(rec.ctx) {
		return time.Time{}
	}
	return time.Now()
}

// confirmDone measures a confirmation begun at started that ended with
// outcome.
func (rec *notifyRec) confirmDone(started time.Time, outcome string) {
	if started.IsZero() {
		return
	}
	rec.t.Confirm.Record(rec.ctx, time.Since(started).Seconds(),
		metric.WithAttributes(telemetry.Provider.String(provider), telemetry.Outcome.String(outcome)))
}

// confirmedBy records how the notification was confirmed (confirmAPI,
// confirmCache, confirmSkipped), the API read's outcome ("" when there was
// none) and whether it was borne out.
func (rec *notifyRec) confirmedBy(how, outcome string, confirmed bool) {
	if !rec.record {
		return
	}
	rec.span.SetAttributes(telemetry.NotificationConfirm.String(how), telemetry.NotificationConfirmed.Bool(confirmed))
	if outcome != "" {
		rec.span.SetAttributes(telemetry.NotificationConfirmOutcome.String(outcome))
	}
}

// end ends the notification's span with its result, and counts it: err
// nil is accepted, anything else refused for reason. A 5xx answer (our
// side, or the API's, failed) sets the span's status to Error; a 4xx is a
// refusal of what was posted, not an error of ours.
func (rec *notifyRec) end(reason string, err error) {
	result, status := telemetry.ResultAccepted, http.StatusOK
	if err != nil {
		result, status = telemetry.ResultRefused, http.StatusInternalServerError
		var ne *NotificationError
		if errors.As(err, &ne) && ne.Status >= 400 && ne.Status <= 599 {
			status = ne.Status
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
