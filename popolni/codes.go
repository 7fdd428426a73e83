package popolni

import (
	"strconv"

	"github.com/paysdk/payments"
)

// Status is a payment status code of popolni.club (document section 3, "Коды
// статусов"). It arrives per payment inside a 200 answer, both to Pay and to
// Status.
type Status int

// The status codes of the document, in its order.
const (
	// StatusUnknown is not a provider code: no answer has told this payment's
	// status yet (WaitFinal returns it for a payment it never heard of before
	// its context ended).
	StatusUnknown Status = -1
	// StatusReceived (0): "Платёж получен и обрабатывается" — received and
	// being processed. Not final: ask again.
	StatusReceived Status = 0
	// StatusInProgress (2): "Платёж в процессе выполнения" — being carried
	// out. Not final: ask again.
	StatusInProgress Status = 2
	// StatusSucceeded (3): "Платёж выполнен успешно" — done. Final.
	StatusSucceeded Status = 3
	// StatusInsufficientFunds (101): "Недостаточно денег для выполнения
	// данного платежа" — the partner's balance plus credit limit did not cover
	// it. Final.
	StatusInsufficientFunds Status = 101
	// StatusProviderNotFound (121): "Провайдер не найден" — no operator or
	// provider serves this account. Final.
	StatusProviderNotFound Status = 121
	// StatusDuplicate (124): "Невозможно создать платёж – платёж с таким
	// номером уже был создан ранее" — a payment with this transactionId
	// already exists; this request created nothing. Not final in the
	// document's table: the existing payment goes on, ask its status.
	StatusDuplicate Status = 124
	// StatusNotFound (125): "Платёж не найден". Not final on first sight: an
	// existing payment can answer 125 while it moves from one queue to
	// another. Final when a second status request answers 125 again.
	StatusNotFound Status = 125
	// StatusCanceled (208): "Платёж отменен". Final. The document's reasons:
	// the amount is below the minimum or above the account's maximum; the
	// phone number is wrong or inactive; the phone number does not match the
	// partner's currency. Fix the payment and send it with a new id.
	StatusCanceled Status = 208
	// StatusGatewayError (215): "Внутренняя ошибка шлюза". Final. The
	// document gives it to a payment with a field of the wrong JSON type or an
	// account number that does not match the partner's format. Fix the
	// account and send it with a new id.
	StatusGatewayError Status = 215
	// StatusBlacklisted (423): "Номер из черного списка заблокирован" — the
	// number is on the partner's blacklist. Final. The payment leaves the
	// queue, so status requests then alternate 125, 423, 125, 423...
	StatusBlacklisted Status = 423
)

// Final reports whether the document's table marks the status final.
// StatusNotFound is not final here: it is final only when asked twice,
// which WaitFinal does.
func (s Status) Final() bool {
	switch s {
	case StatusSucceeded, StatusInsufficientFunds, StatusProviderNotFound,
		StatusCanceled, StatusGatewayError, StatusBlacklisted:
		return true
	}
	return false
}

// Known reports whether s is one of the document's codes.
func (s Status) Known() bool {
	switch s {
	case StatusReceived, StatusInProgress, StatusSucceeded, StatusInsufficientFunds,
		StatusProviderNotFound, StatusDuplicate, StatusNotFound, StatusCanceled,
		StatusGatewayError, StatusBlacklisted:
		return true
	}
	return false
}

// State maps the status to the normalized payments.State.
func (s Status) State() payments.State {
	switch s {
	case StatusReceived, StatusInProgress, StatusNotFound:
		return payments.StatePending
	case StatusSucceeded:
		return payments.StateSucceeded
	case StatusCanceled:
		return payments.StateCanceled
	case StatusInsufficientFunds, StatusProviderNotFound, StatusGatewayError, StatusBlacklisted, StatusDuplicate:
		return payments.StateFailed
	}
	return payments.StateUnknown
}

// String returns the code and its meaning in English.
func (s Status) String() string {
	return strconv.Itoa(int(s)) + " " + s.meaning()
}

func (s Status) meaning() string {
	switch s {
	case StatusUnknown:
		return "status not known yet"
	case StatusReceived:
		return "received, being processed"
	case StatusInProgress:
		return "in progress"
	case StatusSucceeded:
		return "succeeded"
	case StatusInsufficientFunds:
		return "insufficient funds on the partner balance"
	case StatusProviderNotFound:
		return "provider not found for the account"
	case StatusDuplicate:
		return "a payment with this transactionId already exists"
	case StatusNotFound:
		return "payment not found"
	case StatusCanceled:
		return "canceled (amount out of range, number wrong or inactive, or currency mismatch)"
	case StatusGatewayError:
		return "gateway error (wrong field type or account format)"
	case StatusBlacklisted:
		return "number is blacklisted"
	}
	return "undocumented status"
}

// category is the payments sentinel a failed status matches.
func (s Status) category() error {
	switch s {
	case StatusInsufficientFunds:
		return payments.ErrInsufficientFunds
	case StatusDuplicate:
		return payments.ErrDuplicate
	case StatusNotFound:
		return payments.ErrNotFound
	case StatusGatewayError:
		return payments.ErrInvalidRequest
	case StatusProviderNotFound, StatusCanceled, StatusBlacklisted:
		return payments.ErrDeclined
	}
	return nil
}

// Denial is one of the fixed texts popolni.club answers with HTTP 403 when it
// refuses access (document section 1). Each is an error value, so
//
//	errors.Is(err, popolni.DenialIPNotAllowed)
//
// tells them apart, while errors.Is(err, payments.ErrForbidden) groups them.
type Denial string

// The 403 texts of the document.
const (
	// DenialInsecureConnection: the request did not come over HTTPS (port 443).
	DenialInsecureConnection Denial = "Insecure connection is not allowed"
	// DenialIncorrectAuth: wrong login or password. Category ErrUnauthorized.
	DenialIncorrectAuth Denial = "Incorrect auth data"
	// DenialAPIDisabled: the partner switched the API off in the cabinet.
	DenialAPIDisabled Denial = "API disabled"
	// DenialIPNotAllowed: the source address is not in the cabinet's allowlist
	// (see payments.WithLocalAddr).
	DenialIPNotAllowed Denial = "IP is not allowed"
	// DenialIncorrectDataFormat: the body is not the JSON the API expects.
	// Category ErrInvalidRequest.
	DenialIncorrectDataFormat Denial = "Incorrect data format"
	// DenialUnscheduled: the request came outside the API schedule set in the
	// cabinet for this day of the week.
	DenialUnscheduled Denial = "Request rejected entered unscheduled"
)

// Error returns the provider's text.
func (d Denial) Error() string { return "popolni: " + string(d) }

func (d Denial) category() error {
	switch d {
	case DenialIncorrectAuth:
		return payments.ErrUnauthorized
	case DenialIncorrectDataFormat:
		return payments.ErrInvalidRequest
	}
	return payments.ErrForbidden
}

var denials = []Denial{DenialInsecureConnection, DenialIncorrectAuth, DenialAPIDisabled,
	DenialIPNotAllowed, DenialIncorrectDataFormat, DenialUnscheduled}
