package qiwitopup

import (
	"strconv"
	"time"

	"github.com/paysdk/payments"
)

// Payment is a payout as QIWI reports it (a <payment> element of a pay or
// status answer).
type Payment struct {
	// TransactionNumber is the agent's own number, echoed back.
	TransactionNumber string
	// TxnID is QIWI's id. Empty: the payment was not registered because of a
	// temporary error; send the same pay again later.
	TxnID  string
	Status Status
	// ResultCode is the payment-processing result (0: no error).
	ResultCode ResultCode
	Message    string // the provider's text, in Russian; never branch on it
	// FinalStatus is the server's final-status: the status will not change.
	FinalStatus bool
	// FatalError: repeating the same request gives the same error.
	FatalError bool
	// TxnDate is when QIWI accepted the payment (Moscow time).
	TxnDate time.Time
	// FromAmount was debited from the agent in FromCurrency; ToAmount was
	// credited in ToCurrency. The document's examples show them differing
	// (fees); both are kept as sent. Absent in status answers.
	FromAmount, ToAmount     payments.Decimal
	FromCurrency, ToCurrency string // numeric ISO 4217 codes, e.g. "643"
	Service                  Service
	Account                  string // as QIWI echoes it; card numbers come back masked
	// Extras holds the payment's extra fields, e.g. "rrn" and "billRegId"
	// for card payouts.
	Extras map[string]string
}

// Registered reports whether QIWI registered the payment (it has a txn_id
// and a status other than -1).
func (p Payment) Registered() bool { return p.TxnID != "" && p.Status != StatusNotRegistered }

// Succeeded reports final success: final-status true and status 60.
func (p Payment) Succeeded() bool { return p.FinalStatus && p.Status == StatusSucceeded }

// Failed reports final failure: final-status true and status above 100. The
// money went back to the agent's balance; refund your customer.
func (p Payment) Failed() bool { return p.FinalStatus && p.Status > 100 }

// State is the normalized state. A final status outside 60 and above 100 is
// undocumented and reported as unknown (for manual review).
func (p Payment) State() payments.State {
	switch {
	case p.Succeeded():
		return payments.StateSucceeded
	case p.Failed():
		return payments.StateFailed
	case p.FinalStatus:
		return payments.StateUnknown
	case !p.Registered():
		return payments.StateUnknown
	}
	return payments.StatePending
}

// Err returns nil unless the payment failed for good or carries a result
// code, and then an *payments.APIError with the code and text.
func (p Payment) Err() error {
	if p.ResultCode == CodeOK && !p.Failed() {
		return nil
	}
	cat, detail := p.ResultCode.category()
	if cat == nil {
		cat = payments.ErrDeclined
	}
	return &payments.APIError{Provider: provider, Op: "payment " + p.TransactionNumber,
		Code: strconv.Itoa(int(p.ResultCode)), Message: firstNonEmpty(payments.MaskPAN(p.Message), p.ResultCode.String()),
		Category: cat, Detail: detail}
}

// Balance is one agent account balance (a <balance> of ping, pay and status).
type Balance struct {
	Currency string // numeric ISO 4217, e.g. "643"
	Amount   payments.Decimal
}

// DepositCheck is the answer to check-deposit-possible.
type DepositCheck struct {
	// Exist: the customer's account exists (in the asked currency, if any).
	// QIWI creates a missing wallet when it registers a payment.
	Exist bool
	// Possible: the account can be topped up with this kind of money. When
	// false, "the payment will be rejected".
	Possible bool
	// Code, Fatal and Message are the answer's result-code: 204 (not
	// identified enough) comes with the flags.
	Code    ResultCode
	Fatal   bool
	Message string
}
