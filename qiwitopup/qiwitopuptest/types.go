package qiwitopuptest

import (
	"net/http"
	"time"
)

// Values of [Request.Op] and arguments of [Server.Count].
const (
	OpPay                  = "pay"                    // request-type pay with <auth>
	OpStatus               = "status"                 // request-type pay with <status>
	OpCheckUser            = "check-user"             // request-type check-user
	OpCheckDepositPossible = "check-deposit-possible" // request-type check-deposit-possible
	OpPing                 = "ping"                   // request-type ping
	OpGetProvider          = "get-provider"           // request-type get-provider-by-phone-number
	OpInvalid              = "invalid"                // not well-formed XML, no <request> root, no or an unsupported request-type, pay with neither or both of <auth> and <status>
	OpUnknown              = "unknown"                // a route QIWI does not have
)

// Request is one request the server received.
type Request struct {
	Op           string // an Op constant, whatever the outcome
	Host         string // the Host header's name, without the port
	SNI          string // the TLS server name the client sent
	Method       string
	Path         string
	Header       http.Header // as received, X-Digital-Sign included
	Body         []byte      // as received, with the password if sent
	RemoteAddr   string
	ClientCertCN string // of the verified client certificate, if any
	// AuthMode is how the request was authenticated, or "" if it was not
	// (refused, not processed because of a fault, invalid, unknown route).
	AuthMode string
	Time     time.Time
	// Answered is the HTTP status sent, or 0 if the connection was dropped
	// (or the client went away) or the request is still being handled.
	Answered   int
	ResultCode int // the request-level <result-code>; -1 with no XML answer
}

func cloneRequest(r Request) Request {
	r.Header = r.Header.Clone()
	r.Body = append([]byte(nil), r.Body...)
	return r
}

// PaymentRecord is what the server holds about one payment.
type PaymentRecord struct {
	TransactionNumber  string // the agent's number, the idempotency key
	TxnID              string // QIWI's txn_id
	ServiceID          int    // to/service-id
	Account            string // to/account-number as sent (unmasked)
	Amount             string // to/amount, two decimals; also the from/amount (no fees)
	FromCCY            string // numeric ISO 4217 of the agent account debited
	ToCCY              string // numeric ISO 4217 of the recipient account
	IncomeWireTransfer string // request-level extra income_wire_transfer; "" if absent
	FromExtras         map[string]string
	ToExtras           map[string]string // e.g. account0, account1, bankId, comment
	Status             int
	ResultCode         int
	FinalStatus        bool
	FatalError         bool
	RRN, BillRegID     string // card payouts (34020) once in status 60
	Polls              int    // status requests that included this payment
	Created            time.Time
}
