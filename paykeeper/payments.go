package paykeeper

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"net/url"
	"strconv"
	"time"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/internal/transport"
)

// Payment is a payment of the registry (sections 2.1 and 2.3).
type Payment struct {
	ID              string // PayKeeper's payment id: what refunds, capture and notifications use
	Amount          payments.Decimal
	RefundAmount    payments.Decimal // the part refunded so far
	ClientID        string
	OrderID         string
	PaymentSystemID string
	UniqueID        string // the transaction's unique id at the bank
	Status          PaymentStatus
	// RepeatCounter is how many notifications were sent to the merchant.
	RepeatCounter int64
	Pending       time.Time // created
	Obtained      time.Time // carried out
	Success       time.Time // the merchant acknowledged the notification
	// SystemDescription and SiteDescription come with a single payment.
	SystemDescription, SiteDescription string
}

func readPayment(r *record) Payment {
	return Payment{ID: r.str("id"), Amount: r.dec("pay_amount"), RefundAmount: r.dec("refund_amount"), ClientID: r.str("clientid"),
		OrderID: r.str("orderid"), PaymentSystemID: r.str("payment_system_id"), UniqueID: r.str("unique_id"),
		Status: PaymentStatus(r.str("status")), RepeatCounter: r.int("repeat_counter"), Pending: r.time("pending_datetime"),
		Obtained: r.time("obtain_datetime"), Success: r.time("success_datetime"),
		SystemDescription: r.str("system_description"), SiteDescription: r.str("site_description")}
}

// PaymentFilter selects payments of the registry. The document makes the
// statuses and payment systems mandatory ("В случае если не указан параметр
// status[] или payment_system_id[] выводится пустой массив").
type PaymentFilter struct {
	Start, End       time.Time // days, Moscow time
	Statuses         []PaymentStatus
	PaymentSystemIDs []string
	// PageSize is the limit of each request the iterator makes; 0 means 100.
	PageSize int
}

func (f PaymentFilter) query() (url.Values, error) {
	q, err := period(f.Start, f.End)
	if err != nil {
		return nil, err
	}
	if len(f.Statuses) == 0 {
		return nil, &payments.ValidationError{Field: "Statuses", Reason: "at least one (the document answers an empty list without)"}
	}
	if len(f.PaymentSystemIDs) == 0 {
		return nil, &payments.ValidationError{Field: "PaymentSystemIDs", Reason: "at least one (the document answers an empty list without); see PaymentSystems"}
	}
	for _, s := range f.Statuses {
		q.Add("status[]", string(s))
	}
	for _, id := range f.PaymentSystemIDs {
		q.Add("payment_system_id[]", id)
	}
	return q, nil
}

// Payments iterates the registry of payments for the filter (GET
// /info/payments/bydate/), paging with from/limit until a short page.
// A read; always safe. An error ends the iteration.
func (c *Client) Payments(ctx context.Context, f PaymentFilter) iter.Seq2[Payment, error] {
	q, err := f.query()
	return pages(ctx, c, "payments-bydate", "/info/payments/bydate/", q, err, f.PageSize, readPayment)
}

// pages iterates a list endpoint that pages with from and limit, asking
// for pages of size (100 when 0) until a short one. Each page is an
// operation of its own (a span and its measurements), ended before its
// items are yielded, so the time the caller spends on them is not counted;
// a filter refused before anything is sent is one too.
func pages[T any](ctx context.Context, c *Client, op, path string, q url.Values, qerr error, size int, build func(*record) T) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		var zero T
		if err := checkCtx(ctx); err != nil {
			yield(zero, err)
			return
		}
		if qerr != nil {
			_, obs := c.operation(ctx, op, "")
			obs.End(qerr)
			yield(zero, qerr)
			return
		}
		if size <= 0 {
			size = 100
		}
		q := cloneValues(q) // the sequence may be ranged over more than once, even at once
		for from := 0; ; from += size {
			q.Set("from", strconv.Itoa(from))
			q.Set("limit", strconv.Itoa(size))
			items, err := readPage(ctx, c, op, path, q, build)
			if err != nil {
				yield(zero, err)
				return
			}
			for _, v := range items {
				if !yield(v, nil) {
					return
				}
			}
			if len(items) < size {
				return
			}
		}
	}
}

// readPage reads one page of a list endpoint as an operation of its own.
func readPage[T any](ctx context.Context, c *Client, op, path string, q url.Values, build func(*record) T) (_ []T, err error) {
	ctx, obs := c.operation(ctx, op, "")
	defer func() { obs.End(err) }()
	resp, err := c.get(ctx, op, path, q)
	if err != nil {
		return nil, err
	}
	return decodeList(c, op, resp, build)
}

// PaymentCounts are the counts of section 2.2.
type PaymentCounts struct {
	ByStatus map[PaymentStatus]int64
	BySystem map[string]int64
	Total    int64
}

// CountPayments counts payments by status and by payment system (GET
// /info/payments/bydatecount/). The document prints its answer as three
// objects in a row; that form and a single object are both read.
// A read; always safe.
func (c *Client) CountPayments(ctx context.Context, f PaymentFilter) (_ PaymentCounts, err error) {
	ctx, obs := c.operation(ctx, "payments-bydatecount", "")
	defer func() { obs.End(err) }()
	if err := checkCtx(ctx); err != nil {
		return PaymentCounts{}, err
	}
	q, err := period(f.Start, f.End)
	if err != nil {
		return PaymentCounts{}, err
	}
	for _, s := range f.Statuses {
		q.Add("status[]", string(s))
	}
	for _, id := range f.PaymentSystemIDs {
		q.Add("payment_system_id[]", id)
	}
	resp, err := c.get(ctx, "payments-bydatecount", "/info/payments/bydatecount/", q)
	if err != nil {
		return PaymentCounts{}, err
	}
	m, err := mergedObjects(resp.Body)
	if err != nil {
		return PaymentCounts{}, c.t.Malformed("payments-bydatecount", resp.Status, resp.Body, err)
	}
	out := PaymentCounts{ByStatus: map[PaymentStatus]int64{}, BySystem: map[string]int64{}}
	rs, err := subList(m, "statuses")
	if err == nil {
		for _, r := range rs {
			out.ByStatus[PaymentStatus(r.str("status"))] = r.int("count")
			err = r.err
		}
	}
	if err == nil {
		if rs, err = subList(m, "payment_systems"); err == nil {
			for _, r := range rs {
				out.BySystem[r.str("payment_system_id")] = r.int("count")
				err = r.err
			}
		}
	}
	if err == nil {
		out.Total, err = fullCount(m)
	}
	if err != nil {
		return PaymentCounts{}, c.t.Malformed("payments-bydatecount", resp.Status, resp.Body, err)
	}
	return out, nil
}

// GetPayment returns one payment (GET /info/payments/byid/; answered as an
// array of one). An id the cabinet does not know — answered with an empty
// list — is payments.ErrNotFound (and ErrPaymentNotFound), not a failure to
// retry. An answer for another payment is refused as unreadable. A read;
// always safe.
func (c *Client) GetPayment(ctx context.Context, id string) (_ Payment, err error) {
	ctx, obs := c.operation(ctx, "payment-byid", id)
	defer func() { obs.End(err) }()
	p, _, err := c.paymentByID(ctx, "payment-byid", id, url.Values{"id": {id}})
	if err == nil {
		setProviderID(obs, p.ID)
	}
	return p, err
}

// paymentByID reads /info/payments/byid/ with q for the payment id: the
// payment and its object as it came.
func (c *Client) paymentByID(ctx context.Context, op, id string, q url.Values) (Payment, map[string]json.RawMessage, error) {
	if err := checkCtx(ctx); err != nil {
		return Payment{}, nil, err
	}
	if err := checkID("id", id); err != nil {
		return Payment{}, nil, err
	}
	resp, err := c.get(ctx, op, "/info/payments/byid/", q)
	if err != nil {
		return Payment{}, nil, err
	}
	list, err := objects(resp.Body)
	switch {
	case err != nil:
		return Payment{}, nil, c.t.Malformed(op, resp.Status, resp.Body, err)
	case len(list) == 0: // [] (or null): PHP's empty result
		return Payment{}, nil, &payments.APIError{Provider: provider, Op: op, HTTPStatus: resp.Status, Code: "not-found",
			Message: "no payment with this id (empty answer)", Category: payments.ErrNotFound, Detail: ErrPaymentNotFound}
	case len(list) > 1:
		return Payment{}, nil, c.t.Malformed(op, resp.Status, resp.Body, fmt.Errorf("%d payments for one id", len(list)))
	case list[0] == nil:
		return Payment{}, nil, c.t.Malformed(op, resp.Status, resp.Body, errors.New("null, not a payment"))
	}
	r := newRecord(list[0])
	p := readPayment(r)
	if r.err == nil && p.ID != id {
		r.err = errors.New("the answer is not for the payment asked for")
	}
	if r.err != nil {
		return Payment{}, nil, c.t.Malformed(op, resp.Status, resp.Body, r.err)
	}
	return p, list[0], nil
}

// PaymentOptions returns the payment's extra options as strings (GET
// /info/options/byid/): client_ip, client_email, RRN, APPROVAL_CODE, a
// masked CARD_NUMBER, 3DSECURE... A read; always safe.
func (c *Client) PaymentOptions(ctx context.Context, id string) (_ map[string]string, err error) {
	ctx, obs := c.operation(ctx, "options-byid", id)
	defer func() { obs.End(err) }()
	if err := checkCtx(ctx); err != nil {
		return nil, err
	}
	if err := checkID("id", id); err != nil {
		return nil, err
	}
	resp, err := c.get(ctx, "options-byid", "/info/options/byid/", url.Values{"id": {id}})
	if err != nil {
		return nil, err
	}
	return decodeOne(c, "options-byid", resp, func(r *record) map[string]string {
		out := make(map[string]string, len(r.m))
		for k, v := range r.m {
			if len(v) > 0 && (v[0] == '{' || v[0] == '[') {
				out[k] = string(v) // e.g. a cart: kept as JSON text
				continue
			}
			out[k] = r.str(k)
		}
		return out
	})
}

// PaymentParam is one optional parameter of a payment (section 2.5).
type PaymentParam struct {
	ID, PaymentID, Field, Value string
}

// PaymentParams returns the payment's optional parameters (GET
// /info/params/byid/). A read; always safe.
func (c *Client) PaymentParams(ctx context.Context, id string) (_ []PaymentParam, err error) {
	ctx, obs := c.operation(ctx, "params-byid", id)
	defer func() { obs.End(err) }()
	if err := checkCtx(ctx); err != nil {
		return nil, err
	}
	if err := checkID("id", id); err != nil {
		return nil, err
	}
	resp, err := c.get(ctx, "params-byid", "/info/params/byid/", url.Values{"id": {id}})
	if err != nil {
		return nil, err
	}
	return decodeList(c, "params-byid", resp, func(r *record) PaymentParam {
		return PaymentParam{ID: r.str("id"), PaymentID: r.str("payment_id"), Field: r.str("field"), Value: r.str("value")}
	})
}

// HTTPLogEntry is one HTTP request logged for a payment (section 2.6).
type HTTPLogEntry struct {
	ID, PaymentID, Method, URI, IP, Body string
	Time                                 time.Time
}

// PaymentHTTPLog returns the HTTP requests logged for a payment (GET
// /info/httplog/byid/). A read; always safe.
func (c *Client) PaymentHTTPLog(ctx context.Context, id string) (_ []HTTPLogEntry, err error) {
	ctx, obs := c.operation(ctx, "httplog-byid", id)
	defer func() { obs.End(err) }()
	if err := checkCtx(ctx); err != nil {
		return nil, err
	}
	if err := checkID("id", id); err != nil {
		return nil, err
	}
	resp, err := c.get(ctx, "httplog-byid", "/info/httplog/byid/", url.Values{"id": {id}})
	if err != nil {
		return nil, err
	}
	return decodeList(c, "httplog-byid", resp, func(r *record) HTTPLogEntry {
		return HTTPLogEntry{ID: r.str("id"), PaymentID: r.str("payment_id"), Method: r.str("request_method"), URI: r.str("request_uri"),
			IP: r.str("ip"), Body: r.str("body"), Time: r.time("datetime")}
	})
}

// Refund is one refund of a payment (section 2.7).
type Refund struct {
	ID, PaymentID string
	Number        int64 // the refund's rank for this payment
	User          string
	Amount        payments.Decimal
	Remainder     payments.Decimal // what is left to refund ("reminder" in the document)
	Time          time.Time
	Status        RefundStatus
}

// Refunds returns the refunds of a payment (GET /info/refunds/bypaymentid/).
// After a refund whose outcome is unknown, this is where to look.
// A read; always safe.
func (c *Client) Refunds(ctx context.Context, paymentID string) (_ []Refund, err error) {
	ctx, obs := c.operation(ctx, "refunds-bypaymentid", paymentID)
	defer func() { obs.End(err) }()
	if err := checkCtx(ctx); err != nil {
		return nil, err
	}
	if err := checkID("paymentID", paymentID); err != nil {
		return nil, err
	}
	resp, err := c.get(ctx, "refunds-bypaymentid", "/info/refunds/bypaymentid/", url.Values{"id": {paymentID}})
	if err != nil {
		return nil, err
	}
	return decodeList(c, "refunds-bypaymentid", resp, func(r *record) Refund {
		rem := r.dec("reminder")
		if r.str("reminder") == "" {
			rem = r.dec("remainder")
		}
		return Refund{ID: r.str("id"), PaymentID: r.str("payment_id"), Number: r.int("refund_number"), User: r.str("user"),
			Amount: r.dec("amount"), Remainder: rem, Time: r.time("datetime"), Status: RefundStatus(r.str("status"))}
	})
}

// RefundParams ask for a refund of a payment: either Full, or a partial
// refund of Amount. Nothing is refunded by default: a zero Amount without
// Full is refused before sending.
type RefundParams struct {
	// PaymentID is the payment's id (from the notification or the registry),
	// never an invoice id.
	PaymentID string
	// Full refunds whatever is left of the payment (partial=false, no
	// amount: "В случае полного возврата, сумма возврата не должна быть
	// указана"). Amount must then be zero.
	Full bool
	// Amount to refund in part (partial=true), at most two decimals and at
	// most what is left. Required unless Full.
	Amount payments.Decimal
	// Cart, for fiscalised merchants, lists what the refund returns
	// (refund_cart, a JSON form field), on a partial or a full refund: the
	// refund receipt is printed from it. PayKeeper's official modules send
	// refund_cart on every refund.
	Cart []CartItem
	// SBPRefundTo, optional, is sent as sbp_refund_to: where an SBP
	// payment's refund goes, as PayKeeper's official module sends it. Its
	// format is not documented; it is passed as given (at most 255
	// characters).
	SBPRefundTo string
}

// RefundPayment refunds a payment fully or partly (POST
// /change/payment/reverse/, section 2.8). The user needs refund rights
// ("Возврат могут делать только пользователи с включённой функцией
// возврата"); a refund beyond what is left is refused. nil means the
// document's answer {"result":"success"} came back ("в случае, если возврат
// инициирован успешно"); a fail object is a *payments.APIError matching
// ErrRefused; any other answer is payments.ErrOutcomeUnknown.
//
// Resend safety: UNSAFE. The request of table 2.8.1 carries only id,
// amount, partial and token — nothing by which PayKeeper could recognise a
// repeat — and "Запрос возвращает платеж полностью или частично": a partial
// refund sent twice refunds twice. So it is sent once, also when answered
// 429 or 503 (the document says nothing of them). A refund whose answer is
// lost is a *payments.OutcomeUnknownError carrying the payment id: read
// Refunds for that payment (section 2.7) before trying again.
func (c *Client) RefundPayment(ctx context.Context, p RefundParams) (err error) {
	ctx, obs := c.operation(ctx, "payment-reverse", p.PaymentID)
	defer func() { obs.End(err) }()
	if err := checkCtx(ctx); err != nil {
		return err
	}
	if err := checkID("PaymentID", p.PaymentID); err != nil {
		return err
	}
	form := url.Values{"id": {p.PaymentID}}
	switch {
	case p.Full && !p.Amount.IsZero():
		return &payments.ValidationError{Field: "Amount", Reason: "a full refund gives no amount (the document: the amount must not be given); leave Amount zero, or drop Full for a partial refund"}
	case p.Full:
		form.Set("partial", "false")
	case p.Amount.IsZero():
		return &payments.ValidationError{Field: "Amount", Reason: "zero: give the amount of a partial refund, or set Full to refund the whole payment"}
	default:
		s, err := money("Amount", p.Amount)
		if err != nil {
			return err
		}
		form.Set("amount", s)
		form.Set("partial", "true")
	}
	if len(p.Cart) > 0 {
		b, err := encodeCart(p.Cart)
		if err != nil {
			return err
		}
		form.Set("refund_cart", string(b))
	}
	if p.SBPRefundTo != "" {
		if err := checkText("SBPRefundTo", p.SBPRefundTo); err != nil {
			return err
		}
		form.Set("sbp_refund_to", p.SBPRefundTo)
	}
	_, err = c.post(ctx, write{op: "payment-reverse", path: "/change/payment/reverse/", kind: transport.UnsafeWrite, ref: p.PaymentID, form: form})
	return err
}

// ResetNotificationCounter resets the payment's notification counter so that
// PayKeeper notifies the merchant again (POST /change/payment/repeatcnt/,
// section 2.9: "сбрасывает счетчик оповещений для платежа и инициирует
// работу информера"). nil means {"result":"success"} came back.
//
// Resend safety: safe for money, resent by the client after a lost answer.
// It moves no money; a second reset only starts the informer once more, so
// the merchant's notification handler sees the payment again — which it must
// take anyway, since PayKeeper repeats notifications until acknowledged.
func (c *Client) ResetNotificationCounter(ctx context.Context, paymentID string) (err error) {
	ctx, obs := c.operation(ctx, "payment-repeatcnt", paymentID)
	defer func() { obs.End(err) }()
	if err := checkCtx(ctx); err != nil {
		return err
	}
	if err := checkID("paymentID", paymentID); err != nil {
		return err
	}
	_, err = c.post(ctx, write{op: "payment-repeatcnt", path: "/change/payment/repeatcnt/", kind: transport.IdempotentWrite, ref: paymentID,
		form: url.Values{"id": {paymentID}}})
	return err
}

// CapturePayment captures a held (two-stage) payment in full (POST
// /change/payment/capture/). Not in the document: from observed use by
// PayKeeper's own CMS modules and public integrations, which read
// {"result":"success"} as done; so does this client. To capture less,
// capture and then refund the difference, as the official module does.
//
// Resend safety: UNSAFE. No line of the document covers capture, so nothing
// says a repeat is recognised; it is sent once (also on 429/503), and a lost
// answer is payments.ErrOutcomeUnknown: read GetPayment (a captured hold is
// success) before trying again.
func (c *Client) CapturePayment(ctx context.Context, paymentID string) (err error) {
	ctx, obs := c.operation(ctx, "payment-capture", paymentID)
	defer func() { obs.End(err) }()
	if err := checkCtx(ctx); err != nil {
		return err
	}
	if err := checkID("paymentID", paymentID); err != nil {
		return err
	}
	_, err = c.post(ctx, write{op: "payment-capture", path: "/change/payment/capture/", kind: transport.UnsafeWrite, ref: paymentID,
		form: url.Values{"id": {paymentID}}})
	return err
}

// SearchPayments finds payments whose fields match query (wildcards such
// as "5a3a*" work) created between from and to (GET /info/payments/search/).
// Not in the document: from observed use in public integrations. A read;
// always safe.
func (c *Client) SearchPayments(ctx context.Context, query string, from, to time.Time) (_ []Payment, err error) {
	ctx, obs := c.operation(ctx, "payments-search", "")
	defer func() { obs.End(err) }()
	if err := checkCtx(ctx); err != nil {
		return nil, err
	}
	if query == "" {
		return nil, &payments.ValidationError{Field: "query", Reason: "empty"}
	}
	if from.IsZero() || to.IsZero() || to.Before(from) {
		return nil, &payments.ValidationError{Field: "period", Reason: "from and to are required, to not before from"}
	}
	resp, err := c.get(ctx, "payments-search", "/info/payments/search/", url.Values{"query": {query}, "beg_date": {date(from)}, "end_date": {date(to)}})
	if err != nil {
		return nil, err
	}
	return decodeList(c, "payments-search", resp, readPayment)
}

// maxIDDigits bounds the ids the client sends. The document gives no length:
// its ids are digit strings (payments "97452", invoices "20140415042846859",
// "Строка из символов 0-9"; users and report addresses "1"), and 20 digits
// hold every unsigned 64-bit number, more than any of them needs.
const maxIDDigits = 20

// checkID refuses an empty, over-long or non-numeric id before sending.
func checkID(field, id string) error {
	switch {
	case id == "":
		return &payments.ValidationError{Field: field, Reason: "required"}
	case len(id) > maxIDDigits:
		return &payments.ValidationError{Field: field, Reason: fmt.Sprintf("too long: %d characters, PayKeeper ids have at most %d digits", len(id), maxIDDigits)}
	case !allDigits(id):
		return &payments.ValidationError{Field: field, Reason: "not a PayKeeper id: digits only"}
	}
	return nil
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

func cloneValues(v url.Values) url.Values {
	out := make(url.Values, len(v))
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}

// money writes an amount as "1234.56", refusing what is not positive or
// has more than two decimals.
func money(field string, d payments.Decimal) (string, error) {
	if d.Sign() <= 0 {
		return "", &payments.ValidationError{Field: field, Reason: "must be positive"}
	}
	s, err := d.StringFixed(2)
	if err != nil {
		return "", &payments.ValidationError{Field: field, Reason: "more than two digits after the point"}
	}
	return s, nil
}

// mergedObjects reads one object, or several objects in a row separated
// by commas (the form the document prints for its count answers), merged.
func mergedObjects(body []byte) (map[string]json.RawMessage, error) {
	var one map[string]json.RawMessage
	err := json.Unmarshal(body, &one)
	if err == nil && one != nil {
		return one, nil
	}
	var many []map[string]json.RawMessage
	if json.Unmarshal(append(append([]byte("["), body...), ']'), &many) != nil || len(many) == 0 {
		if err == nil {
			err = fmt.Errorf("not a JSON object")
		}
		return nil, err
	}
	out := map[string]json.RawMessage{}
	for _, m := range many {
		for k, v := range m {
			out[k] = v
		}
	}
	return out, nil
}

func subList(m map[string]json.RawMessage, key string) ([]*record, error) {
	raw, ok := m[key]
	if !ok || string(raw) == "null" {
		return nil, nil
	}
	var list []map[string]json.RawMessage
	if err := json.Unmarshal(raw, &list); err != nil {
		return nil, fmt.Errorf("%s: %w", key, err)
	}
	out := make([]*record, len(list))
	for i, x := range list {
		out[i] = newRecord(x)
	}
	return out, nil
}

// fullCount reads "fullcount": [{"count":"88"}] (or a bare number).
func fullCount(m map[string]json.RawMessage) (int64, error) {
	raw, ok := m["fullcount"]
	if !ok {
		return 0, nil
	}
	if rs, err := subList(m, "fullcount"); err == nil {
		if len(rs) == 0 {
			return 0, nil
		}
		n := rs[0].int("count")
		return n, rs[0].err
	}
	r := newRecord(map[string]json.RawMessage{"n": raw})
	n := r.int("n")
	return n, r.err
}
