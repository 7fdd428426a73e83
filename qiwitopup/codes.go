package qiwitopup

import (
	"errors"
	"strconv"

	"github.com/paysdk/payments"
)

// Service is the to/service-id of a payout: what kind of account is paid.
type Service int

// The services of the protocol's payout documents.
const (
	// ServiceWallet (99): a QIWI Wallet, by phone number.
	ServiceWallet Service = 99
	// ServiceCard (34020): a card issued in Russia (Visa, MasterCard, MIR), RUB only.
	ServiceCard Service = 34020
	// ServiceCardSpec (32911): a card in extra "account1", the phone in account-number.
	ServiceCardSpec Service = 32911
	// ServiceSBP (38413): the Faster Payments System, phone + bankId.
	ServiceSBP Service = 38413
	// ServiceMobile (29130): a mobile phone account, with extra "account0".
	ServiceMobile Service = 29130
	// ServiceForeignCard (36655): foreign cards. The document marks these
	// payouts "temporarily stopped" because of payment-system restrictions,
	// so this package offers no call for them.
	ServiceForeignCard Service = 36655
)

// Status is a payment status (payment/@status, document "#statuses").
type Status int

// The statuses and ranges of the document.
const (
	// StatusNotRegistered (-1): not registered because of a temporary error;
	// send the same pay again later, unless an earlier pay for this number
	// answered another status (then poll).
	StatusNotRegistered Status = -1
	// 0..49: accepted, waiting for confirmation from QIWI Wallet.
	// 50..59: being processed; the money is already debited from the agent.
	StatusAccepted   Status = 50 // accepted for processing
	StatusCrediting  Status = 52 // being credited to the customer's account
	StatusSucceeded  Status = 60 // processed: success. Final.
	StatusDeclined   Status = 150
	StatusAuthFailed Status = 151 // payment authorization error
	StatusCanceled   Status = 160 // not processed or canceled
)

// State maps the status: 60 succeeded, above 100 failed (the money went back
// to the agent's balance), -1 unknown (not registered), the rest pending.
func (s Status) State() payments.State {
	switch {
	case s == StatusSucceeded:
		return payments.StateSucceeded
	case s > 100:
		return payments.StateFailed
	case s == StatusNotRegistered:
		return payments.StateUnknown
	}
	return payments.StatePending
}

// Final reports whether the document treats the status as final (60 or
// above 100). The server's final-status attribute is what Payment.Final uses.
func (s Status) Final() bool { return s == StatusSucceeded || s > 100 }

// String names the status.
func (s Status) String() string {
	n := strconv.Itoa(int(s))
	switch {
	case s == StatusNotRegistered:
		return n + " not registered"
	case s >= 0 && s < 50:
		return n + " awaiting confirmation"
	case s == StatusAccepted:
		return n + " accepted for processing"
	case s == StatusCrediting:
		return n + " crediting"
	case s > 50 && s < 60:
		return n + " processing"
	case s == StatusSucceeded:
		return n + " succeeded"
	case s == StatusDeclined:
		return n + " declined"
	case s == StatusAuthFailed:
		return n + " authorization error"
	case s == StatusCanceled:
		return n + " not processed or canceled"
	case s > 100:
		return n + " failed"
	}
	return n + " undocumented"
}

// ResultCode is a code of the document's two tables: payment-processing
// results (payment/@result-code, "#error") and request-processing errors
// (<result-code>, "#tech_error"). The tables overlap (300), and a
// payment-level code can arrive as the request-level one (204).
type ResultCode int

// The codes of both tables.
const (
	CodeOK                  ResultCode = 0
	CodeTryLater            ResultCode = 13  // request: repeat in a minute
	CodeAuth                ResultCode = 150 // request: authorization error (login, password, signature)
	CodeServiceForbidden    ResultCode = 155 // payment: payments to this service are forbidden (wrong service-id)
	CodeIdentification      ResultCode = 204 // payment: insufficient wallet identification status
	CodeTxnNumberReused     ResultCode = 215 // payment: this transaction-number exists with other details
	CodeInsufficientFunds   ResultCode = 220 // payment: agent balance too low
	CodeAmountTooSmall      ResultCode = 241
	CodeAmountTooLarge      ResultCode = 242
	CodeWalletNotRegistered ResultCode = 298 // payment: no wallet can be registered for this phone
	CodeUnknown             ResultCode = 300 // both: unknown error; contact QIWI
	CodeAgentBlocked        ResultCode = 316
	CodeIPBlocked           ResultCode = 339 // request: the sender IP is not allowed
	CodeAccountForbidden    ResultCode = 319 // payment: this phone's account may not be topped up
	CodeMonthlyLimit        ResultCode = 700
	CodeWalletBalanceLimit  ResultCode = 702
)

// String gives the code with its meaning.
func (c ResultCode) String() string {
	m := map[ResultCode]string{
		CodeOK: "no error", CodeTryLater: "repeat the request in a minute", CodeAuth: "authorization error",
		CodeServiceForbidden: "payments to this service are forbidden", CodeIdentification: "insufficient wallet identification status",
		CodeTxnNumberReused: "transaction-number already used with other details", CodeInsufficientFunds: "insufficient funds on the agent account",
		CodeAmountTooSmall: "amount below the minimum", CodeAmountTooLarge: "amount above the maximum",
		CodeWalletNotRegistered: "no wallet can be registered for this phone number", CodeUnknown: "unknown error",
		CodeAgentBlocked: "blocked agent", CodeIPBlocked: "sender IP not allowed", CodeAccountForbidden: "top-up of this account is forbidden",
		CodeMonthlyLimit: "monthly limit exceeded", CodeWalletBalanceLimit: "wallet balance limit exceeded",
	}[c]
	if m == "" {
		m = "undocumented code"
	}
	return strconv.Itoa(int(c)) + " " + m
}

// Provider-specific details, for errors.Is.
var (
	// ErrTxnNumberReused (215): the transaction-number was used for a payment
	// with other details. Never reuse a number for another payment.
	ErrTxnNumberReused = errors.New("qiwitopup: transaction-number reused with other details")
	// ErrAuth (150): the login, password, signature or certificate was refused.
	ErrAuth = errors.New("qiwitopup: authorization error")
	// ErrIPBlocked (339): the source address is not allowed.
	ErrIPBlocked = errors.New("qiwitopup: sender IP not allowed")
	// ErrTryLater (13): the server is busy; repeat in a minute.
	ErrTryLater = errors.New("qiwitopup: server busy, repeat in a minute")
)

func (c ResultCode) category() (cat, detail error) {
	switch c {
	case CodeOK:
		return nil, nil
	case CodeTryLater:
		return payments.ErrRateLimited, ErrTryLater
	case CodeAuth:
		return payments.ErrUnauthorized, ErrAuth
	case CodeIPBlocked:
		return payments.ErrForbidden, ErrIPBlocked
	case CodeAgentBlocked:
		return payments.ErrForbidden, nil
	case CodeTxnNumberReused:
		return payments.ErrDuplicate, ErrTxnNumberReused
	case CodeInsufficientFunds:
		return payments.ErrInsufficientFunds, nil
	case CodeServiceForbidden, CodeAmountTooSmall, CodeAmountTooLarge:
		return payments.ErrInvalidRequest, nil
	case CodeUnknown:
		return payments.ErrUnavailable, nil
	}
	return payments.ErrDeclined, nil
}

// Fatal reports the "fatal" column of the document's request-error table
// (English and mobile editions): 150 and 339 are configuration problems
// that repeating will not cure; 13 and 300 are worth repeating. An answer's
// own fatal attribute (Payment.FatalError, the result-code's fatal) is what
// to act on; this is the table, for codes seen without one.
//
// A pay answered with a fatal code and no payment was refused before
// processing (an unknown login, a wrong password or signature, a sender IP
// not allowed): the pay methods return it as a definite refusal, not as
// ErrOutcomeUnknown.
func (c ResultCode) Fatal() bool { return c == CodeAuth || c == CodeIPBlocked }

// requestLevel reports whether c is a code of the request-error table
// (#tech_error: 13, 150, 300, 339), which comes with no data.
func (c ResultCode) requestLevel() bool {
	return c == CodeTryLater || c == CodeAuth || c == CodeUnknown || c == CodeIPBlocked
}
