package royalpay

import (
	"bytes"
	"context"
	"encoding/json"
	"sync/atomic"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/internal/transport"
)

// Account is the answer of the account read, GET /api/v1/accounts/me. Its
// shape is not documented: the authorisation page shows only the call
// (curl -X GET '{{base_url}}/api/v1/accounts/me'), and the Royal Finance
// adapter of imfoxboy/Eight-Connect lists "GET /api/v2/accounts/me (Account
// info)" without reading it. So it is decoded defensively: Balance and
// Currency when the object has "balance" and "currency", and Raw always.
type Account struct {
	// Balance is "balance", when present and a number or a decimal
	// string; HasBalance says whether it was.
	Balance    payments.Decimal
	HasBalance bool
	// Currency is "currency" as given ("RUB", "Рубль"...), or "".
	Currency string
	// Raw is the whole answer, whatever its shape.
	Raw json.RawMessage
}

// Account reads the account with the pay-in token: GET /api/v1/accounts/me,
// the form the document's authorisation page shows. A 404 there is asked
// once as GET /api/v2/accounts/me on the same host (the form the adapter of
// imfoxboy/Eight-Connect lists), until one form has answered a 2xx on this
// client: from then on that form is asked first, and alone. A 404 on both
// is payments.ErrNotFound with the second answer's HTTP status and text. A
// read: always safe, retried by the client.
func (c *Client) Account(ctx context.Context) (_ Account, err error) {
	ctx, obs := c.operation(ctx, "account", "")
	defer func() { obs.End(err) }()
	if ctx == nil {
		return Account{}, payments.ErrNilContext
	}
	if c.t == nil {
		return Account{}, errNoPayinToken
	}
	return readAccount(ctx, c.t, &c.formsOf().account)
}

// PayoutAccount reads the account with the payout token, on the payout base
// URL (the payout balance, if the provider keeps one apart), by the same
// paths as Account (v1 as the document shows, v2 once on a 404). A read:
// always safe, retried by the client.
func (c *Client) PayoutAccount(ctx context.Context) (_ Account, err error) {
	ctx, obs := c.operation(ctx, "account", "")
	defer func() { obs.End(err) }()
	if ctx == nil {
		return Account{}, payments.ErrNilContext
	}
	if c.pt == nil {
		return Account{}, errNoPayoutToken
	}
	return readAccount(ctx, c.pt, &c.formsOf().payoutAccount)
}

// accountPaths are the account read's forms: the document's first.
var accountPaths = [2]string{"/api/v1/accounts/me", "/api/v2/accounts/me"}

func readAccount(ctx context.Context, t *transport.Client, memo *atomic.Int32) (Account, error) {
	resp, err := readEither(ctx, t, "account", memo, accountPaths, false)
	if err != nil {
		return Account{}, err
	}
	raw, err := oneJSON(resp.Body)
	if err != nil {
		return Account{}, t.Malformed("account", resp.Status, resp.Body, err)
	}
	a := Account{Raw: append(json.RawMessage(nil), raw...)}
	if b := bytes.TrimSpace(raw); len(b) == 0 || b[0] != '{' {
		return a, nil // unknown shape: kept raw
	}
	var balance, currency flex
	if _, err := readExact(raw, map[string]*flex{"balance": &balance, "currency": &currency}); err != nil {
		return a, nil // a field of another shape: kept raw
	}
	if d, err := balance.decimal("balance"); err == nil && balance != "" {
		a.Balance, a.HasBalance = d, true
	}
	a.Currency = string(currency)
	return a, nil
}
