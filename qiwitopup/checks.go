package qiwitopup

import (
	"context"
	"errors"
	"net/http"
	"strconv"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/internal/transport"
)

// CheckDepositPossible asks whether a wallet top-up will be possible
// (request check-deposit-possible); the document requires it before pay.
// nonCash must be what the pay will send as income_wire_transfer; ccy, when
// not empty, asks about the account in that currency.
//
// A "not possible" answer is not an error: QIWI sends it with result-code
// 204 and both flags, and DepositCheck carries them. An error is returned
// when the answer has no flags, or a request-error code (13, 150, 300,
// 339), or a non-zero code with deposit-possible 1.
//
// Resend safety: a read; always safe.
func (c *Client) CheckDepositPossible(ctx context.Context, phone string, nonCash bool, ccy string) (check DepositCheck, err error) {
	if ctx == nil {
		return DepositCheck{}, payments.ErrNilContext
	}
	ctx, op := c.operation(ctx, "check-deposit-possible", "")
	defer func() { endCode(op, check.Code, err) }()
	if err := checkPhone("phone", phone, false); err != nil {
		return DepositCheck{}, err
	}
	if ccy != "" && !validCurrency(ccy) {
		return DepositCheck{}, &payments.ValidationError{Field: "ccy", Reason: "not an ISO 4217 currency code (RUB or 643)"}
	}
	wire := "0"
	if nonCash {
		wire = "1"
	}
	root := el("request", leaf("request-type", "check-deposit-possible"), leaf("terminal-id", c.auth.terminalID)).
		with(c.credentials()...).with(extra("phone", phone), extra("income_wire_transfer", wire)).
		with(nodes(ccy != "", extra("ccy", currencyOr(ccy, "")))...)
	r, err := c.send(ctx, "check-deposit-possible", transport.Read, "", document(root), "")
	if err != nil {
		return DepositCheck{}, err
	}
	// The flags come with code 0, and the document's "not possible" example
	// carries them with 204 (a payment-result code). A code of the
	// request-error table, or any code with deposit-possible 1, is no
	// answer: "в ответе отсутствуют запрашиваемые данные".
	if r.HasCode && r.Code != CodeOK && (r.Code.requestLevel() || r.DepositPossible == nil || *r.DepositPossible) {
		return DepositCheck{}, c.requestError("check-deposit-possible", r)
	}
	if r.Exist == nil || r.DepositPossible == nil {
		return DepositCheck{}, c.t.Malformed("check-deposit-possible", http.StatusOK, nil, errors.New("no exist or deposit-possible in the answer"))
	}
	return DepositCheck{Exist: *r.Exist, Possible: *r.DepositPossible, Code: r.Code, Fatal: r.Fatal, Message: r.Message}, nil
}

// CheckUser asks whether a QIWI Wallet exists for phone (request
// check-user), in currency ccy when not empty. Optional: pay creates a
// missing wallet.
//
// Resend safety: a read; always safe.
func (c *Client) CheckUser(ctx context.Context, phone, ccy string) (_ bool, err error) {
	if ctx == nil {
		return false, payments.ErrNilContext
	}
	ctx, op := c.operation(ctx, "check-user", "")
	defer func() { op.End(err) }()
	if err := checkPhone("phone", phone, false); err != nil {
		return false, err
	}
	if ccy != "" && !validCurrency(ccy) {
		return false, &payments.ValidationError{Field: "ccy", Reason: "not an ISO 4217 currency code (RUB or 643)"}
	}
	root := el("request", leaf("request-type", "check-user"), leaf("terminal-id", c.auth.terminalID)).
		with(c.credentials()...).with(extra("phone", phone)).
		with(nodes(ccy != "", extra("ccy", currencyOr(ccy, "")))...)
	r, err := c.send(ctx, "check-user", transport.Read, "", document(root), "")
	if err != nil {
		return false, err
	}
	if r.HasCode && r.Code != CodeOK {
		return false, c.requestError("check-user", r)
	}
	if r.Exist == nil {
		return false, c.t.Malformed("check-user", http.StatusOK, nil, errors.New("no exist in the answer"))
	}
	return *r.Exist, nil
}

// Ping returns the agent's balances, one per active account currency
// (request ping).
//
// Resend safety: a read; always safe.
func (c *Client) Ping(ctx context.Context) (_ []Balance, err error) {
	if ctx == nil {
		return nil, payments.ErrNilContext
	}
	ctx, op := c.operation(ctx, "ping", "")
	defer func() { op.End(err) }()
	root := el("request", leaf("request-type", "ping"), leaf("terminal-id", c.auth.terminalID)).with(c.credentials()...)
	r, err := c.send(ctx, "ping", transport.Read, "", document(root), "")
	if err != nil {
		return nil, err
	}
	if r.HasCode && r.Code != CodeOK {
		return nil, c.requestError("ping", r)
	}
	if !r.HasBalances {
		return nil, c.t.Malformed("ping", http.StatusOK, nil, errors.New("no balances in the answer"))
	}
	return r.Balances, nil
}

// ProviderByPhone returns the mobile operator's provider id for a phone
// without its country code (request get-provider-by-phone-number, on
// xmlcp.jsp beside topup.jsp), for MobilePayment.ProviderID.
//
// Resend safety: a read; always safe.
func (c *Client) ProviderByPhone(ctx context.Context, localPhone string) (_ int64, err error) {
	if ctx == nil {
		return 0, payments.ErrNilContext
	}
	ctx, op := c.operation(ctx, "get-provider", "")
	defer func() { op.End(err) }()
	if !digitsOnly(localPhone, 15) {
		return 0, &payments.ValidationError{Field: "phone", Reason: "digits, without the country code"}
	}
	// The document's example puts phonenumber before the password.
	root := el("request", leaf("request-type", "get-provider-by-phone-number"), leaf("terminal-id", c.auth.terminalID),
		leaf("phonenumber", localPhone)).with(c.credentials()...)
	r, err := c.send(ctx, "get-provider", transport.Read, "", document(root), "xmlcp.jsp")
	if err != nil {
		return 0, err
	}
	if r.HasCode && r.Code != CodeOK {
		return 0, c.requestError("get-provider", r)
	}
	id, err := strconv.ParseInt(r.ProviderID, 10, 64)
	if err != nil || id <= 0 {
		return 0, c.t.Malformed("get-provider", http.StatusOK, nil, errors.New("no provider id in the answer"))
	}
	return id, nil
}
