package paykeeper

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"

	"github.com/paysdk/payments"
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
func (c *Client) GetPaymentDetails(ctx context.Context, id string) (PaymentDetails, error) {
	const op = "payment-byid-advanced"
	if err := checkCtx(ctx); err != nil {
		return PaymentDetails{}, err
	}
	if err := checkID("id", id); err != nil {
		return PaymentDetails{}, err
	}
	resp, err := c.get(ctx, op, "/info/payments/byid/", url.Values{"id": {id}, "advanced": {"true"}})
	if err != nil {
		return PaymentDetails{}, err
	}
	list, err := objects(resp.Body)
	switch {
	case err != nil:
		return PaymentDetails{}, c.t.Malformed(op, resp.Status, resp.Body, err)
	case len(list) == 0:
		return PaymentDetails{}, &payments.APIError{Provider: provider, Op: op, HTTPStatus: resp.Status, Code: "not-found",
			Message: "no payment with this id (empty answer)", Category: payments.ErrNotFound, Detail: ErrPaymentNotFound}
	case len(list) > 1:
		return PaymentDetails{}, c.t.Malformed(op, resp.Status, resp.Body, fmt.Errorf("%d payments for one id", len(list)))
	case list[0] == nil:
		return PaymentDetails{}, c.t.Malformed(op, resp.Status, resp.Body, errors.New("null, not a payment"))
	}
	r := newRecord(list[0])
	d := PaymentDetails{Payment: readPayment(r), Extra: map[string]json.RawMessage{}}
	if r.err == nil && d.ID != id {
		r.err = errors.New("the answer is not for the payment asked for")
	}
	if r.err != nil {
		return PaymentDetails{}, c.t.Malformed(op, resp.Status, resp.Body, r.err)
	}
	for k, v := range list[0] {
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
func (c *Client) ErrorTotals(ctx context.Context) (ErrorTotals, error) {
	const op = "errors-total"
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
