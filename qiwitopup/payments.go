package qiwitopup

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/internal/transport"
)

// Common is what every payout carries.
type Common struct {
	// TransactionNumber is the agent's unique number for this payment: a
	// positive integer of up to 20 digits. With the terminal it identifies
	// the payment at QIWI: never reuse it for another payment, never make a
	// new one for a resend of the same payment.
	TransactionNumber string
	// Amount to credit, in minor units (kopecks); sent with two decimals.
	Amount int64
	// Currency of the recipient account (to/ccy), ISO 4217 letter or
	// numeric: "RUB" or "643". Empty means RUB. A code that is not in ISO
	// 4217 ("XYZ") is refused before sending: the document takes "цифровой
	// или буквенный код валюты по ISO 4217".
	Currency string
	// FromCurrency is the agent account to debit (from/ccy); empty means Currency.
	FromCurrency string
	// FromServiceID optionally tags the source channel (from/service-id).
	FromServiceID int64
}

// WalletPayment tops up a QIWI Wallet (service 99).
type WalletPayment struct {
	Common
	// Phone is the wallet id: international format without "+", e.g. 79181234567.
	Phone string
	// NonCash is income_wire_transfer: true when the customer paid the agent
	// by wire, false for cash. The document makes it mandatory; it must match
	// what CheckDepositPossible was asked.
	NonCash bool
	// Comment, optional, up to 1000 characters.
	Comment string
}

// CardPayment pays out to a card issued in Russia (service 34020, RUB only).
type CardPayment struct {
	Common
	CardNumber string // digits only
}

// CardSpecPayment is the card variant of service 32911: the card goes in
// extra "account1" and the customer's phone, with "+", in account-number
// (not checked by QIWI, no SMS sent).
type CardSpecPayment struct {
	Common
	Phone      string // "+79991112233"
	CardNumber string
}

// SBPPayment pays out through the Faster Payments System (service 38413,
// RUB only).
type SBPPayment struct {
	Common
	Phone  string // 7xxxxxxxxxx
	BankID string // the SBP member id, e.g. "100000000008"
}

// MobilePayment tops up a mobile phone account (service 29130).
type MobilePayment struct {
	Common
	// Phone in account-number, international format without "+".
	Phone string
	// ProviderID is the operator, from ProviderByPhone.
	ProviderID int64
	// LocalPhone is the phone without the country code, for extra "account0".
	LocalPhone string
	// Charged is what the customer paid, fees included, in kopecks (the
	// "sum:" of account0); 0 means Amount.
	Charged int64
}

// PayWallet sends a pay request for a QIWI Wallet top-up. Call
// CheckDepositPossible first (the document requires it), or use Payout,
// which runs the whole flow.
//
// Resend safety: SAFE with the same TransactionNumber and details. The
// terminal and the number identify the payment ("Номер транзакции и
// идентификатор terminal-id однозначно определяют платёж в системе QIWI
// Wallet", _topup_ru.html.md, transaction-number), the protocol is
// idempotent ("Несмотря на то, что протокол является идемпотентным",
// topup-wallet_ru.html.md), and the same number with other details is
// refused with result 215. The client itself resends after a lost answer.
//
// The result is the payment QIWI reports, possibly not final (poll Status
// no more often than every 10 minutes) or not registered (TxnID empty:
// resend the same pay later). The error says whether QIWI may have the
// payment:
//
//   - a *payments.OutcomeUnknownError with the transaction number when it
//     may: a network error after the request went out, a non-200, an empty
//     or malformed body, an answer without this payment, a request-level
//     error that is not a definite refusal (13, 300, undocumented), or a
//     context that ended once the request was out. Never a failed payment:
//     poll Status, or send the same pay again.
//   - anything else when it cannot: a *payments.ValidationError (refused
//     before sending; a nil context is payments.ErrNilContext), a
//     *payments.TransportError with Written false (a dial or TLS handshake
//     failure: nothing was sent), a context that ended before anything was
//     sent (matching context.Canceled or context.DeadlineExceeded), or a
//     definite refusal: an *payments.APIError with a request-error code the
//     document marks fatal (150 authorization, matching ErrAuth; 339 sender
//     IP, matching ErrIPBlocked), with no payment in the answer. Those
//     codes are refused before processing ("Ошибки с кодом > 0
//     возвращаются, если сервер не смог обработать запрос", _errors_ru.html.md
//     #tech_error; "Fatal?" column of _errors_en.html.md), so nothing was paid
//     by this request; sending it again gives the same answer until the
//     configuration is fixed.
//
// Telemetry: an operation span "qiwitopup pay" (see Client) whose outcome is
// the payment's: a payment QIWI answers with a result-code in a 200 body
// (220, insufficient funds) is refused with that code, although PayWallet
// returns it without an error; QIWI's txn_id and the state go on the span.
func (c *Client) PayWallet(ctx context.Context, p WalletPayment) (got Payment, err error) {
	if ctx == nil {
		return Payment{}, payments.ErrNilContext
	}
	ctx, op := c.operation(ctx, "pay", p.TransactionNumber)
	defer func() { endPay(op, got, err) }()
	if err := checkPhone("Phone", p.Phone, false); err != nil {
		return Payment{}, err
	}
	if utf8.RuneCountInString(p.Comment) > 1000 {
		return Payment{}, &payments.ValidationError{Field: "Comment", Reason: "longer than 1000 characters"}
	}
	wire := "0"
	if p.NonCash {
		wire = "1"
	}
	var toExtra []node
	if p.Comment != "" {
		toExtra = append(toExtra, extra("comment", p.Comment))
	}
	return c.pay(ctx, p.Common, ServiceWallet, p.Phone, []node{extra("income_wire_transfer", wire)}, toExtra)
}

// PayCard pays out to a Russian card (service 34020). The answer masks the
// card number. Resend safety and errors: as PayWallet (SAFE: the card
// document's transaction-number identifies the payment the same way). After a final status, paying the
// same request again returns the payment with extras "rrn" and "billRegId"
// when the bank provides them (the card document's procedure).
func (c *Client) PayCard(ctx context.Context, p CardPayment) (got Payment, err error) {
	if ctx == nil {
		return Payment{}, payments.ErrNilContext
	}
	ctx, op := c.operation(ctx, "pay", p.TransactionNumber)
	defer func() { endPay(op, got, err) }()
	if !digitsOnly(p.CardNumber, 19) || len(p.CardNumber) < 12 {
		return Payment{}, &payments.ValidationError{Field: "CardNumber", Reason: "12 to 19 digits"}
	}
	if err := rubOnly(p.Common); err != nil {
		return Payment{}, err
	}
	return c.pay(ctx, p.Common, ServiceCard, p.CardNumber, nil, nil)
}

// PayCardSpec pays out to a card through service 32911, RUB only ("Валюта
// выплаты (только RUB)"). Resend safety and errors: as PayWallet (SAFE, same
// transaction-number rule).
func (c *Client) PayCardSpec(ctx context.Context, p CardSpecPayment) (got Payment, err error) {
	if ctx == nil {
		return Payment{}, payments.ErrNilContext
	}
	ctx, op := c.operation(ctx, "pay", p.TransactionNumber)
	defer func() { endPay(op, got, err) }()
	if err := checkPhone("Phone", p.Phone, true); err != nil {
		return Payment{}, err
	}
	if !digitsOnly(p.CardNumber, 19) || len(p.CardNumber) < 12 {
		return Payment{}, &payments.ValidationError{Field: "CardNumber", Reason: "12 to 19 digits"}
	}
	if err := rubOnly(p.Common); err != nil { // "Валюта выплаты (только RUB)", _topup_card_spec_ru.html.md
		return Payment{}, err
	}
	return c.pay(ctx, p.Common, ServiceCardSpec, p.Phone, nil, []node{extra("account1", p.CardNumber)})
}

// PaySBP pays out through SBP (service 38413). Resend safety and errors: as
// PayWallet (SAFE, same transaction-number rule).
func (c *Client) PaySBP(ctx context.Context, p SBPPayment) (got Payment, err error) {
	if ctx == nil {
		return Payment{}, payments.ErrNilContext
	}
	ctx, op := c.operation(ctx, "pay", p.TransactionNumber)
	defer func() { endPay(op, got, err) }()
	if !digitsOnly(p.Phone, 11) || len(p.Phone) != 11 || p.Phone[0] != '7' {
		return Payment{}, &payments.ValidationError{Field: "Phone", Reason: "7xxxxxxxxxx"}
	}
	if !digitsOnly(p.BankID, 20) {
		return Payment{}, &payments.ValidationError{Field: "BankID", Reason: "the SBP member id, digits"}
	}
	if err := rubOnly(p.Common); err != nil {
		return Payment{}, err
	}
	return c.pay(ctx, p.Common, ServiceSBP, p.Phone, nil, []node{extra("bankId", p.BankID)})
}

// PayMobile tops up a mobile account (service 29130). Resend safety and
// errors: as PayWallet (SAFE, same transaction-number rule).
func (c *Client) PayMobile(ctx context.Context, p MobilePayment) (got Payment, err error) {
	if ctx == nil {
		return Payment{}, payments.ErrNilContext
	}
	ctx, op := c.operation(ctx, "pay", p.TransactionNumber)
	defer func() { endPay(op, got, err) }()
	if err := checkPhone("Phone", p.Phone, false); err != nil {
		return Payment{}, err
	}
	if !digitsOnly(p.LocalPhone, 15) {
		return Payment{}, &payments.ValidationError{Field: "LocalPhone", Reason: "the phone without the country code, digits"}
	}
	if p.ProviderID <= 0 {
		return Payment{}, &payments.ValidationError{Field: "ProviderID", Reason: "from ProviderByPhone"}
	}
	charged := p.Charged
	if charged == 0 {
		charged = p.Amount
	}
	account0 := fmt.Sprintf("id:%d;acc:%s;sum:%s", p.ProviderID, p.LocalPhone, payments.FormatMinor(charged, 2))
	return c.pay(ctx, p.Common, ServiceMobile, p.Phone, nil, []node{extra("account0", account0)})
}

// pay writes the request in the order of the document's examples and runs it.
func (c *Client) pay(ctx context.Context, p Common, svc Service, account string, reqExtra, toExtra []node) (Payment, error) {
	if err := checkCommon(p); err != nil {
		return Payment{}, err
	}
	ccy := currencyOr(p.Currency, "RUB")
	from := el("from", leaf("ccy", currencyOr(p.FromCurrency, ccy)))
	if p.FromServiceID > 0 {
		from = from.with(leaf("service-id", strconv.FormatInt(p.FromServiceID, 10)))
	}
	to := el("to", leaf("amount", payments.FormatMinor(p.Amount, 2)), leaf("ccy", ccy),
		leaf("service-id", strconv.Itoa(int(svc))), leaf("account-number", account)).with(toExtra...)
	root := el("request", leaf("request-type", "pay"), leaf("terminal-id", c.auth.terminalID)).
		with(c.credentials()...).with(reqExtra...).
		with(el("auth", el("payment", leaf("transaction-number", p.TransactionNumber), from, to)))
	body := document(root)

	unknown := func(err error) error {
		return &payments.OutcomeUnknownError{Provider: provider, Op: "pay", Ref: p.TransactionNumber, Err: err}
	}
	r, err := c.send(ctx, "pay", transport.IdempotentWrite, p.TransactionNumber, body, "")
	if err != nil {
		if errors.Is(err, payments.ErrOutcomeUnknown) || notLanded(err) {
			return Payment{}, err
		}
		return Payment{}, unknown(err)
	}
	if r.HasCode && r.Code != CodeOK {
		if len(r.Payments) == 0 && r.Code.Fatal() {
			// Refused before processing: nothing to reconcile.
			return Payment{}, c.requestError("pay", r)
		}
		return Payment{}, unknown(c.requestError("pay", r))
	}
	for _, got := range r.Payments {
		if got.TransactionNumber == p.TransactionNumber {
			return got, nil
		}
	}
	return Payment{}, unknown(errors.New("the answer has no payment for this transaction-number"))
}

// notLanded reports whether a failed pay certainly never reached QIWI, so
// that its error says so instead of ErrOutcomeUnknown: refused before
// sending (a *payments.ValidationError, a nil context), nothing written (a
// *payments.TransportError with Written false: a dial or TLS handshake
// failure, a closed client), or a context that ended before anything was
// sent. The transport returns those bare only when no earlier attempt may
// have been delivered; otherwise they come wrapped in an OutcomeUnknownError.
func notLanded(err error) bool {
	var (
		ou *payments.OutcomeUnknownError
		ve *payments.ValidationError
		te *payments.TransportError
	)
	switch {
	case errors.As(err, &ou):
		return false
	case errors.As(err, &ve):
		return true
	case errors.As(err, &te):
		return !te.Written
	}
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

// StatusQuery names one payment to ask about.
type StatusQuery struct {
	TransactionNumber string
	// Account is the to/account-number the payment was sent with. The
	// document requires it; some clients leave it out.
	Account string
}

// StatusResult is what a status request says of one payment.
type StatusResult struct {
	TransactionNumber string
	// Found is false when QIWI's answer had no <payment> for the number:
	// not found (yet). Ask again later; it is not a failure.
	Found   bool
	Payment Payment
}

// Status asks the status of one or more payments in one request (a pay
// request with a <status> block). Results come in the order asked, matched
// by transaction-number, never by position.
//
// Resend safety: a read; always safe. Between two status requests for the
// same payment the document asks for at least 10 minutes.
//
// A request-level error (result-code > 0) is a *payments.APIError: repeat
// later; it never means the payments failed.
//
// Telemetry: an operation span "qiwitopup status" (payments.ref: the
// transaction-numbers), not_found when the answer has none of the payments
// asked about.
func (c *Client) Status(ctx context.Context, qs ...StatusQuery) (out []StatusResult, err error) {
	if ctx == nil {
		return nil, payments.ErrNilContext
	}
	ref := refOf(qs)
	ctx, op := c.operation(ctx, "status", ref)
	defer func() { endStatus(op, out, err) }()
	if len(qs) == 0 {
		return nil, &payments.ValidationError{Field: "queries", Reason: "at least one"}
	}
	var ps []node
	for i, q := range qs {
		if !validTxn(q.TransactionNumber) {
			return nil, &payments.ValidationError{Field: fmt.Sprintf("queries[%d].TransactionNumber", i), Reason: "1 to 20 digits, no leading zero"}
		}
		pn := el("payment", leaf("transaction-number", q.TransactionNumber))
		if q.Account != "" {
			pn = pn.with(el("to", leaf("account-number", q.Account)))
		}
		ps = append(ps, pn)
	}
	// The document's status example puts the password before terminal-id.
	root := el("request", leaf("request-type", "pay")).with(c.credentials()...).
		with(leaf("terminal-id", c.auth.terminalID), el("status", ps...))
	r, err := c.send(ctx, "status", transport.Read, ref, document(root), "")
	if err != nil {
		return nil, err
	}
	// A request-level code > 0: "в ответе отсутствуют запрашиваемые данные"
	// (_errors_ru.html.md #tech_error), whatever else the answer carries.
	if r.HasCode && r.Code != CodeOK {
		return nil, c.requestError("status", r)
	}
	if !r.HasCode && len(r.Payments) == 0 {
		return nil, c.t.Malformed("status", http.StatusOK, nil, errors.New("neither a result-code nor a payment in the answer"))
	}
	by := make(map[string]Payment, len(r.Payments))
	for _, p := range r.Payments {
		by[p.TransactionNumber] = p
	}
	out = make([]StatusResult, len(qs))
	for i, q := range qs {
		p, ok := by[q.TransactionNumber]
		out[i] = StatusResult{TransactionNumber: q.TransactionNumber, Found: ok, Payment: p}
	}
	return out, nil
}

func checkCommon(p Common) error {
	switch {
	case !validTxn(p.TransactionNumber):
		return &payments.ValidationError{Field: "TransactionNumber", Reason: "1 to 20 digits, no leading zero"}
	case p.Amount <= 0:
		return &payments.ValidationError{Field: "Amount", Reason: "must be positive (kopecks)"}
	case p.FromServiceID < 0:
		return &payments.ValidationError{Field: "FromServiceID", Reason: "negative"}
	}
	for _, f := range [...][2]string{{"Currency", p.Currency}, {"FromCurrency", p.FromCurrency}} {
		if f[1] != "" && !validCurrency(f[1]) {
			return &payments.ValidationError{Field: f[0], Reason: "not an ISO 4217 currency code (RUB or 643)"}
		}
	}
	return nil
}

func rubOnly(p Common) error {
	if c := currencyOr(p.Currency, "RUB"); c != "RUB" && c != "643" {
		return &payments.ValidationError{Field: "Currency", Reason: "this payout is in RUB only"}
	}
	return nil
}

func currencyOr(c, def string) string {
	if c == "" {
		return def
	}
	return strings.ToUpper(c)
}

func validTxn(s string) bool { return digitsOnly(s, 20) && s[0] != '0' }

func checkPhone(field, s string, plus bool) error {
	if plus {
		if !strings.HasPrefix(s, "+") || !digitsOnly(s[1:], 15) || len(s) < 11 {
			return &payments.ValidationError{Field: field, Reason: "international format with '+', e.g. +79991112233"}
		}
		return nil
	}
	if !digitsOnly(s, 15) || len(s) < 10 {
		return &payments.ValidationError{Field: field, Reason: "international format without '+', 10 to 15 digits, e.g. 79181234567"}
	}
	return nil
}
