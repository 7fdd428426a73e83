package royalpaytest

import (
	"fmt"
	"net/http"
	"strings"
)

// accountPath is the account read of the document's authorisation page;
// accountPathV2 the one the adapter of imfoxboy/Eight-Connect lists.
const (
	accountPath   = "/api/v1/accounts/me"
	accountPathV2 = "/api/v2/accounts/me"
)

func isAccountRead(r *http.Request) bool {
	p := strings.TrimSuffix(r.URL.Path, "/")
	return r.Method == http.MethodGet && (p == accountPath || p == accountPathV2)
}

// account runs GET /api/v1/accounts/me (or v2), which takes either token.
func (s *Server) account(c *call) response {
	if v := s.accountRead; (v == 1 || v == 2) && !strings.HasPrefix(c.R.URL.Path, fmt.Sprintf("/api/v%d/", v)) {
		return detailResponse(http.StatusNotFound, msgNotFound)
	}
	if a := authenticate(c.R, false, s.token, s.payoutToken); a != nil {
		return *a
	}
	o := &object{{"id", 1}, {"username", "merchant"}}
	if s.balance != "" {
		o.add("balance", s.balance)
	}
	o.add("currency", "RUB")
	return jsonResponse(http.StatusOK, o)
}

// DefaultBalance is the "balance" the account read answers by default.
const DefaultBalance = "1000000.00"

// WithBalance sets the balance the account read answers ("" leaves the
// field out, as an account shape without a balance would).
func WithBalance(balance string) Option {
	return func(c *config) { c.balance = balance }
}

// WithAccountReadVersion makes the server route the account read only as
// GET /api/v<version>/accounts/me: 1 is the form the document's
// authorisation page shows, 2 the one the adapter of imfoxboy/Eight-Connect
// lists. The other version answers 404 {"detail": "Страница не найдена."},
// recorded as [OpAccount] and not reported through [WithT]. Without this
// option (or with a version other than 1 and 2) both are served.
func WithAccountReadVersion(version int) Option {
	return func(c *config) { c.accountRead = version }
}
