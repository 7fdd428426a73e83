package paykeeper

import (
	"context"
	"crypto/md5"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/paysdk/payments"
)

// Notification is PayKeeper's POST notification ("informer", informer_type
// post) of one accepted payment, as it arrives at the merchant's
// informer_url: an application/x-www-form-urlencoded body signed with the
// cabinet's informer_seed (the secret word).
//
// ID is the PAYMENT id, not the invoice id: an invoice's paymentid points to
// it, and refunds and captures take it.
//
// The signature only proves that PayKeeper sent these values. The merchant
// must still check that Sum, ClientID and OrderID match its own order
// (PayKeeper's docs: "Обязательно нужно проверять, что sum, clientid и
// orderid соответствуют друг другу в вашей информационной системе").
//
// String, GoString and Format print a card number only masked, whatever the
// field it was sent in, and never print Key.
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
}

var (
	// ErrBadSignature is the error of a notification whose key does not
	// match: not from PayKeeper, or a different secret word.
	ErrBadSignature = errors.New("paykeeper: notification signature mismatch")
	// ErrNotificationInvalid is the error of a notification that cannot be
	// read: a required field (id, sum, key) missing or repeated, or a sum
	// that is not a number.
	ErrNotificationInvalid = errors.New("paykeeper: invalid notification")
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
// The key is md5(id + sum + clientid + orderid + secret) in hex; missing
// clientid and orderid count as empty. PayKeeper sends sum with two decimals
// ("100.00"), and its own modules sign either the raw sum or the sum
// re-formatted to two decimals, which agree only when the raw value has two
// decimals; so the key is checked against the raw sum first, then against
// the sum with exactly two decimals ("100" → "100.00"). The comparison is in
// constant time and ignores the case of the hex digits.
//
// Errors: ErrNotificationInvalid for a missing or repeated field or an
// unreadable sum, ErrBadSignature for a key that does not match.
func ParseNotification(form url.Values, secret string) (Notification, error) {
	if secret == "" {
		return Notification{}, errNotificationNoSecret
	}
	for _, k := range notificationSigned {
		if len(form[k]) > 1 {
			return Notification{}, fmt.Errorf("%w: field %s repeated", ErrNotificationInvalid, k)
		}
	}
	id, sum, clientID, orderID, key := form.Get("id"), form.Get("sum"), form.Get("clientid"), form.Get("orderid"), form.Get("key")
	switch {
	case id == "":
		return Notification{}, fmt.Errorf("%w: id missing", ErrNotificationInvalid)
	case sum == "":
		return Notification{}, fmt.Errorf("%w: sum missing", ErrNotificationInvalid)
	case key == "":
		return Notification{}, fmt.Errorf("%w: key missing", ErrNotificationInvalid)
	}
	dec, decErr := payments.ParseDecimal(strings.TrimSpace(sum))
	got := []byte(strings.ToLower(key))
	ok := subtle.ConstantTimeCompare(got, []byte(notificationMD5(id, sum, clientID, orderID, secret))) == 1
	if !ok && decErr == nil {
		if fixed, err := dec.StringFixed(2); err == nil && fixed != sum {
			ok = subtle.ConstantTimeCompare(got, []byte(notificationMD5(id, fixed, clientID, orderID, secret))) == 1
		}
	}
	if !ok {
		return Notification{}, fmt.Errorf("%w (payment id %q)", ErrBadSignature, payments.MaskPAN(notificationClip(id)))
	}
	if decErr != nil {
		return Notification{}, fmt.Errorf("%w: sum %q is not a number", ErrNotificationInvalid, notificationClip(sum))
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
// the informer_url set in the cabinet (informer_type post) and set Secret to
// the informer_seed. For each request it:
//
//  1. refuses anything but POST (405) and a body that is not
//     application/x-www-form-urlencoded (415);
//  2. reads at most MaxBodyBytes (413 above that) and parses the form (400);
//  3. checks id, sum and key (400 when missing) and the signature
//     (ErrBadSignature, 403) — see ParseNotification;
//  4. calls Handle, and when it returns nil answers 200 with exactly
//     AckNotification(id, Secret) as a text/plain body.
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
// signature proves the sender, not that the payment is for the right order
// or amount. A Notification with Hold set is authorised but not captured.
type NotificationHandler struct {
	// Secret is the cabinet's informer_seed. Required.
	Secret string
	// Handle is the merchant's function. Required. It must be idempotent
	// (see NotificationHandler); a non-nil error makes PayKeeper retry.
	Handle func(ctx context.Context, n Notification) error
	// MaxBodyBytes caps the body; 0 means 64 KiB.
	MaxBodyBytes int64
}

// NotificationError is a refused notification, with the HTTP status to
// answer. It wraps ErrBadSignature (403), ErrNotificationInvalid (400), the
// error of Handle (500), and so on.
type NotificationError struct {
	Status int
	Err    error
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
// acknowledgement, so PayKeeper re-sends on anything else.
func (h *NotificationHandler) HandleNotification(r *http.Request) (Notification, error) {
	if h.Secret == "" || h.Handle == nil {
		return Notification{}, &NotificationError{http.StatusInternalServerError, errors.New("handler not configured: Secret and Handle are required")}
	}
	if r.Method != http.MethodPost {
		return Notification{}, &NotificationError{http.StatusMethodNotAllowed, errors.New("method " + r.Method)}
	}
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || mt != "application/x-www-form-urlencoded" {
			return Notification{}, &NotificationError{http.StatusUnsupportedMediaType, fmt.Errorf("content type %q, want application/x-www-form-urlencoded", notificationClip(ct))}
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
				return Notification{}, &NotificationError{http.StatusRequestEntityTooLarge, err}
			}
			return Notification{}, &NotificationError{http.StatusBadRequest, err}
		}
	}
	if int64(len(body)) > limit {
		return Notification{}, &NotificationError{http.StatusRequestEntityTooLarge, errors.New("body over the limit")}
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return Notification{}, &NotificationError{http.StatusBadRequest, fmt.Errorf("%w: %v", ErrNotificationInvalid, err)}
	}
	n, err := ParseNotification(form, h.Secret)
	switch {
	case errors.Is(err, ErrBadSignature):
		return Notification{}, &NotificationError{http.StatusForbidden, err}
	case errors.Is(err, ErrNotificationInvalid):
		return Notification{}, &NotificationError{http.StatusBadRequest, err}
	case err != nil:
		return Notification{}, &NotificationError{http.StatusInternalServerError, err}
	}
	if err := h.Handle(r.Context(), n); err != nil {
		return n, &NotificationError{http.StatusInternalServerError, err}
	}
	return n, nil
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

// Format makes every fmt verb print String (GoString for %#v), so that no
// verb (%d, %+v, …) prints the raw fields.
func (n Notification) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		_, _ = io.WriteString(f, n.GoString())
		return
	}
	_, _ = io.WriteString(f, n.String())
}
