package paykeeper

import "github.com/paysdk/payments"

// PaymentStatus is a payment's status (document appendix 1 and section 2.1).
type PaymentStatus string

// The payment statuses of the document. obtained, stuck and success all mean
// the money was taken: "Статусы «получен» (obtained), «превышено число
// повторов» (stuck), «совершён» (success) эквивалентны с точки зрения
// поступления средств на расчётный счёт предприятия". stuck means the
// merchant did not acknowledge the notification.
const (
	PaymentPending           PaymentStatus = "pending"
	PaymentObtained          PaymentStatus = "obtained"
	PaymentCanceled          PaymentStatus = "canceled"
	PaymentSuccess           PaymentStatus = "success"
	PaymentFailed            PaymentStatus = "failed"
	PaymentStuck             PaymentStatus = "stuck"
	PaymentRefunded          PaymentStatus = "refunded"
	PaymentRefunding         PaymentStatus = "refunding"
	PaymentPartiallyRefunded PaymentStatus = "partially_refunded"
)

// AllPaymentStatuses lists every status, for filters that must name them.
var AllPaymentStatuses = []PaymentStatus{PaymentPending, PaymentObtained, PaymentCanceled, PaymentSuccess, PaymentFailed,
	PaymentStuck, PaymentRefunded, PaymentRefunding, PaymentPartiallyRefunded}

// State maps the status: obtained, stuck and success are succeeded (the
// money was taken), as is partially_refunded (part of it stays); canceled
// is canceled, failed failed, refunded refunded; pending and refunding are
// pending.
func (s PaymentStatus) State() payments.State {
	switch s {
	case PaymentObtained, PaymentStuck, PaymentSuccess, PaymentPartiallyRefunded:
		return payments.StateSucceeded
	case PaymentCanceled:
		return payments.StateCanceled
	case PaymentFailed:
		return payments.StateFailed
	case PaymentRefunded:
		return payments.StateRefunded
	case PaymentPending, PaymentRefunding:
		return payments.StatePending
	}
	return payments.StateUnknown
}

// MoneyTaken reports obtained, stuck or success.
func (s PaymentStatus) MoneyTaken() bool {
	return s == PaymentObtained || s == PaymentStuck || s == PaymentSuccess
}

// InvoiceStatus is an invoice's status: created (made by
// /change/invoice/preview/, not yet sent), sent, paid, expired.
type InvoiceStatus string

// The invoice statuses.
const (
	InvoiceCreated InvoiceStatus = "created"
	InvoiceSent    InvoiceStatus = "sent"
	InvoicePaid    InvoiceStatus = "paid"
	InvoiceExpired InvoiceStatus = "expired"
)

// State maps the status: paid succeeded, expired canceled, the rest pending.
func (s InvoiceStatus) State() payments.State {
	switch s {
	case InvoiceCreated, InvoiceSent:
		return payments.StatePending
	case InvoicePaid:
		return payments.StateSucceeded
	case InvoiceExpired:
		return payments.StateCanceled
	}
	return payments.StateUnknown
}

// RefundStatus is a refund's status: started, done, failed.
type RefundStatus string

// The refund statuses.
const (
	RefundStarted RefundStatus = "started"
	RefundDone    RefundStatus = "done"
	RefundFailed  RefundStatus = "failed"
)

// State maps the status: done is refunded, failed failed, started pending.
func (s RefundStatus) State() payments.State {
	switch s {
	case RefundStarted:
		return payments.StatePending
	case RefundDone:
		return payments.StateRefunded
	case RefundFailed:
		return payments.StateFailed
	}
	return payments.StateUnknown
}
