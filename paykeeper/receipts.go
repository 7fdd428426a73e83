package paykeeper

import (
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/internal/telemetry"
	"github.com/paysdk/payments/internal/transport"
)

// PostSaleReceipt asks PayKeeper to generate the final-settlement receipt
// (54-FZ "чек окончательного расчёта") of a payment (POST
// /change/payment/post-sale-receipt/ with id, the payment id) and returns
// the receipt's id. The request is the document's item 2.13 in the
// white-label copies of its payments section ("Сгенерировать чек
// окончательного расчёта"); the answer, {"result":"success",
// "receipt_id":...} possibly wrapped as [{...}], is from observed use by
// PayKeeper's official WooCommerce and Bitrix modules. A fail object is an
// *payments.APIError matching ErrRefused; a success without a receipt_id is
// payments.ErrOutcomeUnknown.
//
// Resend safety: UNSAFE, never resent (not on 429 or 503 either). A receipt
// is a fiscal document sent to the tax service, and no source says a second
// request is recognised: it may print a second receipt. A lost answer is a
// *payments.OutcomeUnknownError carrying the payment id: look at Receipts
// (or the cabinet's receipt list) for that payment before asking again.
func (c *Client) PostSaleReceipt(ctx context.Context, paymentID string) (_ string, err error) {
	ctx, obs := c.operation(ctx, "payment-post-sale-receipt", paymentID)
	defer func() { obs.End(err) }()
	if err := checkCtx(ctx); err != nil {
		return "", err
	}
	if err := checkID("paymentID", paymentID); err != nil {
		return "", err
	}
	return c.receiptWrite(ctx, obs, "payment-post-sale-receipt", "/change/payment/post-sale-receipt/", paymentID, url.Values{"id": {paymentID}})
}

// maxRefundIDLen bounds ReceiptParams.RefundID (the SDK's choice).
const maxRefundIDLen = 64

// ReceiptType is the type of a receipt printed with PrintReceipt.
type ReceiptType string

// The receipt types of /change/receipt/print/.
const (
	ReceiptSale   ReceiptType = "sale"
	ReceiptRefund ReceiptType = "refund"
)

// ReceiptParams print a receipt, of a payment or (NoPayment) of none.
type ReceiptParams struct {
	// PaymentID is payment_id, digits: the PayKeeper payment the receipt is
	// for. Required unless NoPayment.
	PaymentID string
	// NoPayment prints a receipt not tied to a PayKeeper payment (no
	// payment_id): the document's request 8.11 is "Сгенерировать чек по
	// платежу или с произвольными атрибутами" (docs.paykeeper.ru,
	// "8. Работа с чеками 54-ФЗ"). PaymentID must then be empty. Set it
	// explicitly so that a forgotten PaymentID is refused, not printed as
	// an unattached receipt.
	NoPayment bool
	Type      ReceiptType // type: ReceiptSale or ReceiptRefund
	// PostSale marks the final-settlement receipt after an advance
	// (is_post_sale=true).
	PostSale bool
	// Amount is sum_cashless: positive, at most two decimals.
	Amount payments.Decimal
	// Contact is the buyer's e-mail the receipt goes to (contact).
	Contact string
	// Cart is the receipt's 54-FZ cart (cart, a JSON string): required.
	Cart []CartItem
	// ReceiptKey is sent as receipt_key when set: a key of the merchant's
	// own for this receipt, as pretix's PayKeeper plugin sends one. The
	// client does not rely on it to make a resend safe (see PrintReceipt).
	ReceiptKey string
	// RefundID is sent as refund_id when set: the refund a ReceiptRefund
	// receipt is for. pretix's PayKeeper plugin sent its own refund number
	// there with type refund (csmplay/pretix-paykeeper
	// pretix_paykeeper/payment.py, commit 9381e77); what PayKeeper does
	// with it is not documented in any source at hand. At most 64
	// characters, no control characters; only with ReceiptRefund.
	RefundID string
}

// PrintReceipt prints an arbitrary 54-FZ receipt (POST
// /change/receipt/print/ with payment_id, type, is_post_sale, sum_cashless,
// contact, cart, receipt_key and refund_id) and returns the receipt's id.
// Not in the JSON API document the SDK follows (it cites its own request
// 8.11): from observed use by pretix's PayKeeper plugin, which reads
// receipt_id from {"result":"success","receipt_id":...}; so does this
// client. The fields and their sources: payment_id, type, is_post_sale,
// sum_cashless, contact, cart, receipt_key (pretix, _create_final_receipt);
// refund_id (pretix, commit 9381e77, with type refund); no payment_id for a
// receipt "с произвольными атрибутами" (the document's title of 8.11).
// sum_advance and is_correction are not sent: no source at hand shows them.
//
// It moves no money. A ReceiptRefund receipt is a fiscal document telling
// the tax service that money went back; it returns nothing to the payer.
// Refund with RefundPayment (/change/payment/reverse/), which also prints
// the refund receipt of a fiscalised shop when given its refund_cart. A
// public integration shipped exactly that mistake: pretix's PayKeeper
// plugin "refunded" by printing a refund receipt (commit 9381e77) until
// "fix refund" (f57e23d) called /change/payment/reverse/ instead.
//
// Resend safety: UNSAFE, never resent (not on 429 or 503 either). A receipt
// is a fiscal document. receipt_key looks like an idempotency key (the
// implementer notes call it "idempotency-like"), but no PayKeeper source
// says a repeat with the same key is recognised, so the client does not
// count on it. A lost answer is a *payments.OutcomeUnknownError carrying
// the payment id (the ReceiptKey with NoPayment): look at Receipts for that
// payment (or the cabinet's receipt list) before printing again, and send
// the same ReceiptKey if you do.
func (c *Client) PrintReceipt(ctx context.Context, p ReceiptParams) (_ string, err error) {
	ctx, obs := c.operation(ctx, "receipt-print", p.ref())
	defer func() { obs.End(err) }()
	if err := checkCtx(ctx); err != nil {
		return "", err
	}
	switch {
	case p.NoPayment && p.PaymentID != "":
		return "", &payments.ValidationError{Field: "PaymentID", Reason: "must be empty with NoPayment"}
	case !p.NoPayment:
		if err := checkID("PaymentID", p.PaymentID); err != nil {
			return "", err
		}
	}
	if p.Type != ReceiptSale && p.Type != ReceiptRefund {
		return "", &payments.ValidationError{Field: "Type", Reason: `"sale" or "refund"`}
	}
	sum, err := money("Amount", p.Amount)
	if err != nil {
		return "", err
	}
	if len(p.Cart) == 0 {
		return "", &payments.ValidationError{Field: "Cart", Reason: "required: a receipt lists what it is for"}
	}
	cart, err := encodeCart(p.Cart)
	if err != nil {
		return "", err
	}
	for _, f := range []struct{ name, v string }{{"Contact", p.Contact}, {"ReceiptKey", p.ReceiptKey}} {
		if err := checkText(f.name, f.v); err != nil {
			return "", err
		}
	}
	if p.RefundID != "" {
		switch {
		case p.Type != ReceiptRefund:
			return "", &payments.ValidationError{Field: "RefundID", Reason: "only with a refund receipt (ReceiptRefund)"}
		case utf8.RuneCountInString(p.RefundID) > maxRefundIDLen || strings.IndexFunc(p.RefundID, unicode.IsControl) >= 0 ||
			strings.TrimSpace(p.RefundID) != p.RefundID:
			return "", &payments.ValidationError{Field: "RefundID", Reason: "at most 64 characters, no control characters or spaces at its ends"}
		}
	}
	form := url.Values{"type": {string(p.Type)}, "sum_cashless": {sum}, "cart": {string(cart)}, "is_post_sale": {"false"}}
	if !p.NoPayment {
		form.Set("payment_id", p.PaymentID)
	}
	if p.RefundID != "" {
		form.Set("refund_id", p.RefundID)
	}
	if p.PostSale {
		form.Set("is_post_sale", "true")
	}
	if p.Contact != "" {
		form.Set("contact", p.Contact)
	}
	if p.ReceiptKey != "" {
		form.Set("receipt_key", p.ReceiptKey)
	}
	return c.receiptWrite(ctx, obs, "receipt-print", "/change/receipt/print/", p.ref(), form)
}

// ref is the reference of the receipt's request: the payment id, or the
// ReceiptKey with NoPayment.
func (p ReceiptParams) ref() string {
	if p.NoPayment {
		return p.ReceiptKey
	}
	return p.PaymentID
}

// receiptWrite posts an unsafe write whose success carries receipt_id, and
// puts the receipt's id on the operation's span.
func (c *Client) receiptWrite(ctx context.Context, obs *telemetry.Op, op, path, ref string, form url.Values) (string, error) {
	var id string
	_, err := c.post(ctx, write{op: op, path: path, kind: transport.UnsafeWrite, ref: ref, form: form,
		success: func(m map[string]json.RawMessage) error {
			if err := resultSuccess(m); err != nil {
				return err
			}
			var err error
			id, err = digitsField(m, "receipt_id")
			return err
		}})
	if err != nil {
		return "", err
	}
	setProviderID(obs, id)
	return id, nil
}

// Receipt is one receipt of a payment, as /info/receipts/bypaymentid/
// answers it. No public source shows that answer, so the client reads it
// defensively: ID is id or receipt_id (required), the scalar fields are kept
// as text in Fields (any run of 13 to 19 digits masked, as a card number
// would be), and Raw is the object as it came.
type Receipt struct {
	ID     string
	Fields map[string]string
	Raw    json.RawMessage
}

// Receipts returns the receipts of a payment (GET
// /info/receipts/bypaymentid/?id=). Listed by PayKeeper's integrators only
// ("если доступно"), unverified: the answer's shape is unknown, so an
// array of objects (or one object, or an object holding such an array
// under "receipts", "data" or "items") is read, each kept whole in Raw. A
// read; always safe.
func (c *Client) Receipts(ctx context.Context, paymentID string) (_ []Receipt, err error) {
	const op = "receipts-bypaymentid"
	ctx, obs := c.operation(ctx, op, paymentID)
	defer func() { obs.End(err) }()
	if err := checkCtx(ctx); err != nil {
		return nil, err
	}
	if err := checkID("paymentID", paymentID); err != nil {
		return nil, err
	}
	resp, err := c.get(ctx, op, "/info/receipts/bypaymentid/", url.Values{"id": {paymentID}})
	if err != nil {
		return nil, err
	}
	list, err := receiptObjects(resp.Body)
	if err != nil {
		return nil, c.t.Malformed(op, resp.Status, resp.Body, err)
	}
	out := make([]Receipt, 0, len(list))
	for _, m := range list {
		r := readReceipt(m)
		if r.ID == "" {
			return nil, c.t.Malformed(op, resp.Status, resp.Body, errors.New("a receipt without id or receipt_id"))
		}
		out = append(out, r)
	}
	return out, nil
}

// receiptObjects finds the list of receipt objects in an answer of unknown
// shape.
func receiptObjects(body []byte) ([]map[string]json.RawMessage, error) {
	list, err := objects(trimJSONSpace(body))
	if err != nil {
		return nil, err
	}
	if len(list) == 1 && list[0] != nil {
		for _, k := range []string{"receipts", "data", "items"} {
			if raw, ok := list[0][k]; ok && len(trimJSONSpace(raw)) > 0 && trimJSONSpace(raw)[0] == '[' {
				var inner []map[string]json.RawMessage
				if err := json.Unmarshal(raw, &inner); err != nil {
					return nil, err
				}
				list = inner
				break
			}
		}
	}
	out := list[:0]
	for _, m := range list {
		if m != nil {
			out = append(out, m)
		}
	}
	return out, nil
}

func readReceipt(m map[string]json.RawMessage) Receipt {
	raw, _ := json.Marshal(m)
	r := Receipt{Fields: map[string]string{}, Raw: raw}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		rec := newRecord(map[string]json.RawMessage{k: m[k]})
		if v := rec.str(k); rec.err == nil && v != "" {
			r.Fields[k] = payments.MaskPAN(v)
		}
	}
	// The id as it came: MaskPAN, made for card numbers, would mask an id
	// of 13 to 19 digits in Fields.
	id := newRecord(m)
	if r.ID = id.str("id", "receipt_id"); id.err != nil {
		r.ID = ""
	}
	return r
}
