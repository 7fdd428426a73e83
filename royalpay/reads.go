package royalpay

import (
	"context"
	"errors"
	"net/http"
	"sync/atomic"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/internal/transport"
)

// readForms remembers, for each read route whose form the provider's pages
// do not settle, the form the host answered a 2xx on: 0 not known yet, 1
// the first form, 2 the other.
type readForms struct {
	// payment: GET /api/v2/payments/{id}/ (1) or /api/v2/payments/{id} (2).
	payment atomic.Int32
	// account, payoutAccount: GET /api/v1/accounts/me (1) or
	// /api/v2/accounts/me (2), with the pay-in and with the payout token
	// (their hosts may differ).
	account, payoutAccount atomic.Int32
}

// formsOf is c's memory of read forms; a Client not made by New (it can
// send nothing anyway) gets a fresh one each time.
func (c *Client) formsOf() *readForms {
	if c.forms == nil {
		return &readForms{}
	}
	return c.forms
}

// readEither GETs a route that has two possible forms, forms[0] being the
// one the SDK holds for right, and asks the other form at most once more:
//   - after a 404, unless the form asked has answered a 2xx on this client
//     before (the host has the route in that form, so its 404 is about the
//     object, not the route);
//   - after a 301 or 308 whose Location is the other form, when followSlash
//     (the payment read: same scheme, host and path but for the trailing
//     slash, see slashRedirect).
//
// The other form goes to the same host (the client's base URL), by the
// same transport, as a read. Once a form answers a 2xx it is remembered and
// asked first from then on. Nothing is asked a third time. When the other
// form fails too, its error is returned (a 404 on both is
// payments.ErrNotFound with the second answer's HTTP status and text),
// except when it redirects: then the first answer stands.
func readEither(ctx context.Context, t *transport.Client, op string, memo *atomic.Int32, forms [2]string, followSlash bool) (*transport.Response, error) {
	get := func(path string) (*transport.Response, error) {
		return t.Do(ctx, &transport.Request{Op: op, Kind: transport.Read, Method: http.MethodGet, Path: path})
	}
	known := memo.Load()
	first := 0
	if known == 2 {
		first = 1
	}
	resp, err := get(forms[first])
	if err == nil {
		memo.Store(int32(first + 1))
		return resp, nil
	}
	other := forms[1-first]
	redirected := false
	if followSlash {
		alt, ok := slashRedirect(t.BaseURL(), forms[first], err)
		redirected = ok && alt == other
	}
	if !redirected && (known != 0 || httpStatus(err) != http.StatusNotFound) {
		return nil, err
	}
	if ctx.Err() != nil {
		return nil, err
	}
	resp, err2 := get(other)
	switch {
	case err2 == nil:
		memo.Store(int32(2 - first))
		return resp, nil
	case !redirected && httpStatus(err2)/100 == 3:
		// The other form sends the client back (Django's APPEND_SLASH):
		// the first form's 404 is the answer.
		return nil, err
	}
	return nil, err2
}

// httpStatus is the HTTP status of an answer error, 0 for any other error.
func httpStatus(err error) int {
	var api *payments.APIError
	if errors.As(err, &api) {
		return api.HTTPStatus
	}
	return 0
}
