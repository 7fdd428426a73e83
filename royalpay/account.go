package royalpay

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/internal/transport"
)

// Account is the answer of GET /api/v2/accounts/me. Its shape is not
// documented: the authorization page shows only the call (as
// /api/v1/accounts/me), and the Royal Finance adapter of
// imfoxboy/Eight-Connect lists "GET /api/v2/accounts/me (Account info)"
// without reading it. So it is decoded defensively: Balance and Currency
// when the object has "balance" and "currency", and Raw always.
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

// Account reads the account with the pay-in token. A read: always safe,
// retried by the client.
func (c *Client) Account(ctx context.Context) (Account, error) {
	if ctx == nil {
		return Account{}, payments.ErrNilContext
	}
	if c.t == nil {
		return Account{}, errNoPayinToken
	}
	return readAccount(ctx, c.t)
}

// PayoutAccount reads the account with the payout token, on the payout base
// URL (the payout balance, if the provider keeps one apart). A read: always
// safe, retried by the client.
func (c *Client) PayoutAccount(ctx context.Context) (Account, error) {
	if ctx == nil {
		return Account{}, payments.ErrNilContext
	}
	if c.pt == nil {
		return Account{}, errNoPayoutToken
	}
	return readAccount(ctx, c.pt)
}

func readAccount(ctx context.Context, t *transport.Client) (Account, error) {
	resp, err := t.Do(ctx, &transport.Request{Op: "account", Kind: transport.Read, Method: http.MethodGet, Path: "/api/v2/accounts/me"})
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
