package paykeeper

import (
	"context"
	"encoding/json"
	"errors"
	"net/url"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/internal/transport"
)

// BindingCharge asks for a recurring charge of a saved card.
type BindingCharge struct {
	// BankID is the card binding (bank_id) that PayKeeper's notification of
	// the first payment carried: Notification.BankID. Digits only.
	BankID string
	// OrderID is orderid, the merchant's order number of this charge:
	// required, it is how the charge is found again (SearchPayments).
	OrderID string
	// Amount is sum: positive, at most two decimals.
	Amount payments.Decimal
	// Optional, as PayKeeper's Bitrix module sends them.
	ClientID    string // clientid
	Email       string // client_email
	Phone       string // client_phone
	ServiceName string // service_name
	Cart        []CartItem
}

// ChargeBinding charges a saved card again, a recurring payment (POST
// /change/binding/execute/ with bank_id, orderid, sum and the optional
// clientid, client_email, client_phone, service_name, cart). It returns the
// new payment's id. Not in the JSON API document: from observed use by
// PayKeeper's official Bitrix module (repeatRecurrent →
// PayKeeperApiService::executeBinding), which sends exactly these fields and
// reads {"result":"success","payment_id":...}, possibly wrapped as [{...}];
// so does this client. A fail object is an *payments.APIError matching
// ErrRefused: nothing was charged. A success without a payment_id of digits
// is payments.ErrOutcomeUnknown.
//
// Resend safety: UNSAFE, never resent (not on 429 or 503 either). It moves
// money and no source documents any idempotency for it: the request carries
// nothing by which PayKeeper could recognise a repeat, so a charge sent
// twice may charge twice. A lost or unreadable answer is a
// *payments.OutcomeUnknownError carrying OrderID. Settle it before
// anything else: look the order up (SearchPayments with the OrderID over
// the charge's day, or wait for the notification of a payment with that
// orderid); charge again only when no payment of that order was taken.
func (c *Client) ChargeBinding(ctx context.Context, p BindingCharge) (_ string, err error) {
	const op = "binding-execute"
	ctx, obs := c.operation(ctx, op, p.OrderID)
	defer func() { obs.End(err) }()
	if err := checkCtx(ctx); err != nil {
		return "", err
	}
	if err := checkID("BankID", p.BankID); err != nil {
		return "", err
	}
	if p.OrderID == "" {
		return "", &payments.ValidationError{Field: "OrderID", Reason: "required: it is how a charge whose answer is lost is found again"}
	}
	sum, err := money("Amount", p.Amount)
	if err != nil {
		return "", err
	}
	form := url.Values{"bank_id": {p.BankID}, "orderid": {p.OrderID}, "sum": {sum}}
	for _, f := range []struct{ name, key, v string }{{"OrderID", "", p.OrderID}, {"ClientID", "clientid", p.ClientID},
		{"Email", "client_email", p.Email}, {"Phone", "client_phone", p.Phone}, {"ServiceName", "service_name", p.ServiceName}} {
		if err := checkText(f.name, f.v); err != nil {
			return "", err
		}
		if f.key != "" && f.v != "" {
			form.Set(f.key, f.v)
		}
	}
	if len(p.Cart) > 0 {
		b, err := encodeCart(p.Cart)
		if err != nil {
			return "", err
		}
		form.Set("cart", string(b))
	}
	var id string
	_, err = c.post(ctx, write{op: op, path: "/change/binding/execute/", kind: transport.UnsafeWrite, ref: p.OrderID, form: form,
		success: func(m map[string]json.RawMessage) error {
			if err := resultSuccess(m); err != nil {
				return err
			}
			if _, ok := m["msg"]; ok { // the Bitrix module takes a msg for a failure
				return errors.New("a msg beside the success")
			}
			var err error
			id, err = digitsField(m, "payment_id")
			return err
		}})
	if err != nil {
		return "", err
	}
	setProviderID(obs, id)
	return id, nil
}

// digitsField reads a field that must be an id of digits, given as a string
// or a number.
func digitsField(m map[string]json.RawMessage, key string) (string, error) {
	r := newRecord(m)
	id := r.str(key)
	if r.err != nil || checkID(key, id) != nil {
		return "", errors.New("no " + key + " of digits")
	}
	return id, nil
}
