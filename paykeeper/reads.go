package paykeeper

import (
	"context"
	"encoding/json"
	"errors"
	"net/url"
)

// PaymentDetails is a payment read with advanced=true: the Payment and the
// fields beyond it, kept as they came.
type PaymentDetails struct {
	Payment
	// Extra holds every field the Payment does not read, as raw JSON
	// (advanced=true adds fields no public source lists).
	Extra map[string]json.RawMessage
}

// paymentFields are the keys readPayment reads.
var paymentFields = map[string]bool{"id": true, "pay_amount": true, "refund_amount": true, "clientid": true, "orderid": true,
	"payment_system_id": true, "unique_id": true, "status": true, "repeat_counter": true, "pending_datetime": true,
	"obtain_datetime": true, "success_datetime": true, "system_description": true, "site_description": true}

// GetPaymentDetails returns one payment with PayKeeper's extended
// information (GET /info/payments/byid/?id=...&advanced=true; answered, like
// GetPayment, as an array of one). The parameter is from observed use by a
// public integration (Eseath's PayKeeper client); what it adds is not
// documented, so the known fields fill Payment and the rest stay raw in
// Extra. An unknown id is payments.ErrNotFound (ErrPaymentNotFound). A read;
// always safe.
func (c *Client) GetPaymentDetails(ctx context.Context, id string) (_ PaymentDetails, err error) {
	ctx, obs := c.operation(ctx, "payment-byid-advanced", id)
	defer func() { obs.End(err) }()
	p, m, err := c.paymentByID(ctx, "payment-byid-advanced", id, url.Values{"id": {id}, "advanced": {"true"}})
	if err != nil {
		return PaymentDetails{}, err
	}
	setProviderID(obs, p.ID)
	d := PaymentDetails{Payment: p, Extra: map[string]json.RawMessage{}}
	for k, v := range m {
		if !paymentFields[k] {
			d.Extra[k] = v
		}
	}
	return d, nil
}

// ErrorTotals counts the payment errors of the cabinet.
type ErrorTotals struct {
	Total  int64
	Groups []ErrorGroup
}

// ErrorGroup is the count of one error code.
type ErrorGroup struct {
	Code        string // error_code
	Total       int64
	Description string // user_description
}

// ErrorTotals returns the cabinet's error counts (GET /info/errors/total/:
// {"total":N,"totalWithGroup":[{"error_code":...,"total":...,
// "user_description":"..."}]}). From observed use by a public integration
// (JustCommunication's PayKeeper SDK, ErrorsTotalResponse and ErrorGroup);
// numbers are read from numbers or strings. A read; always safe.
func (c *Client) ErrorTotals(ctx context.Context) (_ ErrorTotals, err error) {
	const op = "errors-total"
	ctx, obs := c.operation(ctx, op, "")
	defer func() { obs.End(err) }()
	if err := checkCtx(ctx); err != nil {
		return ErrorTotals{}, err
	}
	resp, err := c.get(ctx, op, "/info/errors/total/", nil)
	if err != nil {
		return ErrorTotals{}, err
	}
	m, err := object(resp.Body)
	if err == nil && m == nil {
		err = errors.New("null, not an object")
	}
	var out ErrorTotals
	if err == nil {
		r := newRecord(m)
		out.Total = r.int("total")
		err = r.err
	}
	if err == nil {
		var groups []*record
		if groups, err = subList(m, "totalWithGroup"); err == nil {
			for _, g := range groups {
				out.Groups = append(out.Groups, ErrorGroup{Code: g.str("error_code"), Total: g.int("total"), Description: g.str("user_description")})
				if g.err != nil {
					err = g.err
					break
				}
			}
		}
	}
	if err != nil {
		return ErrorTotals{}, c.t.Malformed(op, resp.Status, resp.Body, err)
	}
	return out, nil
}
