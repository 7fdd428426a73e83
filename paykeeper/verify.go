package paykeeper

import (
	"fmt"
	"net/url"

	"github.com/paysdk/payments"
)

// CheckNotificationForm checks the shape of a notification form without its
// signature: each of id, sum, clientid, orderid and key at most once; id,
// sum and key present; id a payment number (digits, no leading zero, at
// most 20) and sum a positive amount with exactly two decimals ("100.00"),
// as PayKeeper sends it (the informer's POST: "id=…&sum=…&clientid=…&
// orderid=…&key=…", key = md5(id.sum.clientid.orderid.secret)). These are
// the first checks of ParseNotification, which NotificationHandler runs
// before the signature; the payments command runs them on a captured
// notification without a secret.
//
// The error wraps ErrNotificationInvalid and names the field; a value it
// quotes is clipped and has card numbers masked.
func CheckNotificationForm(form url.Values) error {
	for _, k := range notificationSigned {
		if len(form[k]) > 1 {
			return fmt.Errorf("%w: field %s repeated", ErrNotificationInvalid, k)
		}
	}
	id, sum, key := form.Get("id"), form.Get("sum"), form.Get("key")
	switch {
	case id == "":
		return fmt.Errorf("%w: id missing", ErrNotificationInvalid)
	case sum == "":
		return fmt.Errorf("%w: sum missing", ErrNotificationInvalid)
	case key == "":
		return fmt.Errorf("%w: key missing", ErrNotificationInvalid)
	case !notificationID(id):
		return fmt.Errorf("%w: id %q is not a payment number", ErrNotificationInvalid, payments.MaskPAN(notificationClip(id)))
	case !notificationSum(sum):
		return fmt.Errorf("%w: sum %q does not have exactly two decimals", ErrNotificationInvalid, notificationClip(sum))
	}
	if _, err := payments.ParseDecimal(sum); err != nil {
		return fmt.Errorf("%w: sum %q is not a number", ErrNotificationInvalid, notificationClip(sum))
	}
	return nil
}

// NotificationMismatchError is a notification the API does not bear out:
// the payment GetPayment returned differs from it in Field ("id", "sum",
// "order id", or "status" when the payment's money was not taken). It
// wraps ErrNotConfirmed.
type NotificationMismatchError struct {
	PaymentID string // the notification's id
	Field     string // "id", "sum", "order id" or "status"
	// Status is the API's status, set when Field is "status".
	Status PaymentStatus
}

// Error says which field differs, never a card number or a secret.
func (e *NotificationMismatchError) Error() string {
	what := e.Field
	if e.Field == "status" {
		what = "status (" + string(e.Status) + ": the money was not taken)"
	}
	return fmt.Sprintf("%v: payment %s: the %s differs from the API's", ErrNotConfirmed, e.PaymentID, what)
}

// Unwrap returns ErrNotConfirmed.
func (e *NotificationMismatchError) Unwrap() error { return ErrNotConfirmed }

// ConfirmNotification compares a notification with the payment the API
// returned for its id (GetPayment), as NotificationHandler does before the
// merchant's function sees it: the same id, the same sum (pay_amount), the
// same order id, and a status whose money was taken (obtained, success,
// stuck or partially_refunded). The comparison is what makes a re-cut
// signature harmless (see Notification) and what PayKeeper asks of the
// merchant: "Обязательно нужно проверять, что sum, clientid и orderid
// соответствуют друг другу в вашей информационной системе".
//
// It returns nil or a *NotificationMismatchError (wrapping ErrNotConfirmed)
// for the first field that differs. It sends nothing.
func ConfirmNotification(n Notification, p Payment) error {
	mismatch := func(field string) error {
		return &NotificationMismatchError{PaymentID: n.ID, Field: field, Status: p.Status}
	}
	switch {
	case p.ID != n.ID:
		return mismatch("id")
	case p.Amount.Cmp(n.Sum) != 0:
		return mismatch("sum")
	case p.OrderID != n.OrderID:
		return mismatch("order id")
	case p.Status.State() != payments.StateSucceeded:
		return mismatch("status")
	}
	return nil
}
