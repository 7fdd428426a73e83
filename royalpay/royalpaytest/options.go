package royalpaytest

import (
	"net/http"
	"testing"
	"time"
)

// DefaultToken is the API token a [Server] made without [WithToken] accepts
// in "Authorization: Token <token>".
const DefaultToken = "rp-test-token"

// DefaultCallbackTimeout bounds one callback POST made by the default
// callback client (see [WithCallbackClient]).
const DefaultCallbackTimeout = 5 * time.Second

type config struct {
	token          string
	t              testing.TB
	callbackToken  string
	callbackClient *http.Client
	autoComplete   time.Duration
	now            func() time.Time
	payoutToken    string
	balance        string
	payoutCallback string
	payoutPolls    int
	slashRedirect  string
	payoutOmit     []string
	paymentRead    string // "" both forms, "/" only with the slash, "-" only without
	accountRead    int    // 0 both versions, else only /api/v<n>/accounts/me
}

func defaultConfig() config {
	return config{token: DefaultToken, now: time.Now, payoutToken: DefaultPayoutToken, balance: DefaultBalance}
}

// DefaultPayoutToken is the payout token a [Server] made without
// [WithPayoutToken] accepts on /api/v3/payouts/.
const DefaultPayoutToken = "rp-test-payout-token"

// DefaultBalance is the "balance" the account read (GET
// /api/v1/accounts/me or /api/v2/accounts/me) answers.
const DefaultBalance = "1000000.00"

// WithPayoutToken sets the payout token (default [DefaultPayoutToken]).
// Payout routes refuse the pay-in token, and pay-in routes the payout token.
func WithPayoutToken(token string) Option {
	return func(c *config) { c.payoutToken = token }
}

// WithBalance sets the balance the account read answers ("" leaves the
// field out, as an account shape without a balance would).
func WithBalance(balance string) Option {
	return func(c *config) { c.balance = balance }
}

// WithPayoutCallbackURL sets where payout callbacks go (the provider's admins
// set it: "Настройка callback выполняется на стороне админов"). They carry
// the [WithCallbackToken] bearer token.
func WithPayoutCallbackURL(u string) Option {
	return func(c *config) { c.payoutCallback = u }
}

// WithPayoutCompleteAfterPolls makes a payout that is not final complete
// once it has been looked up n times (0, the default: never by polls).
func WithPayoutCompleteAfterPolls(n int) Option {
	return func(c *config) { c.payoutPolls = n }
}

// Option configures a [Server] made by [NewServer].
type Option func(*config)

// WithToken sets the API token the server accepts (default [DefaultToken]).
// A request with another token gets 401 {"detail": "Недопустимый токен."}.
func WithToken(token string) Option {
	return func(c *config) { c.token = token }
}

// WithT ties the server to a test: a request to a route RoyalPay does not
// have fails the test with t.Errorf (it is answered 404 and recorded with Op
// [OpUnknown] with or without WithT), and the server is closed by t.Cleanup.
func WithT(t testing.TB) Option {
	return func(c *config) { c.t = t }
}

// WithCallbackToken makes every callback carry "Authorization: Bearer
// <token>": the static bearer token the provider documents for its payout
// callbacks ("вы передаёте в заголовке статичный токен вида Authorization:
// Bearer {static_token}"). Without it (the default) callbacks carry no
// Authorization header.
func WithCallbackToken(token string) Option {
	return func(c *config) { c.callbackToken = token }
}

// WithCallbackClient sets the client the server POSTs callbacks with. The
// default is a plain client (system roots, no proxy) with a
// [DefaultCallbackTimeout] timeout that does not follow redirects, so that an
// http:// receiver on loopback, such as an httptest.Server, works. Pass
// httptest.Server.Client() for an httptest.NewTLSServer receiver. A nil c
// keeps the default.
func WithCallbackClient(c *http.Client) Option {
	return func(cfg *config) { cfg.callbackClient = c }
}

// WithAutoComplete makes every payment created from then on move to
// "completed" d after its creation, sending its callback, as a payer paying
// at once would. A payment that has left "created" by then (through
// [Server.Cancel], [Server.Delete]...) is left alone. Zero or less (the
// default) disables it; payments then move only through [Server.Complete]
// and its siblings.
func WithAutoComplete(d time.Duration) Option {
	return func(c *config) { c.autoComplete = d }
}

// withClock replaces time.Now for payment timestamps and request times, so
// tests can check the rendered times exactly.
func withClock(now func() time.Time) Option {
	return func(c *config) { c.now = now }
}

// WithSlashRedirect makes GET /api/v2/payments/{id}/ answer 301 with
// Location "/api/v2/payments/{id}" (no trailing slash), which then serves
// the payment: the path the adapter of imfoxboy/Eight-Connect uses. With
// a non-empty host, the Location is "https://<host>/api/v2/payments/{id}"
// instead (another host, which a client must not follow).
func WithSlashRedirect(host string) Option {
	return func(c *config) {
		c.slashRedirect = "/"
		if host != "" {
			c.slashRedirect = "https://" + host
		}
	}
}

// WithPayoutCreateOmit leaves the named fields out of the answer to a
// payout create (the payout is made and held as usual, its lookups answer
// every field). The payout page's example answer opens {"id", "bank",
// "nspk_code", "requisite"... and its excerpt does not show whether a
// status follows: WithPayoutCreateOmit("status") answers without one,
// WithPayoutCreateOmit("status", "outter_id") without our outter_id either.
func WithPayoutCreateOmit(fields ...string) Option {
	return func(c *config) { c.payoutOmit = append([]string(nil), fields...) }
}

// WithPaymentReadForm makes the server route only one form of the payment
// read: GET /api/v2/payments/{id}/ when withSlash, GET
// /api/v2/payments/{id} otherwise (the form the adapter of
// imfoxboy/Eight-Connect uses). The other form answers 404 {"detail":
// "Страница не найдена."}, as a route the host does not have; it is
// recorded as [OpGet] (so [Server.Count] shows a client trying both) and is
// not reported through [WithT]. Without this option both forms are served.
func WithPaymentReadForm(withSlash bool) Option {
	return func(c *config) {
		c.paymentRead = "-"
		if withSlash {
			c.paymentRead = "/"
		}
	}
}

// WithAccountReadVersion makes the server route the account read only as
// GET /api/v<version>/accounts/me: 1 is the form the document's
// authorisation page shows, 2 the one the adapter of imfoxboy/Eight-Connect
// lists. The other version answers 404 {"detail": "Страница не найдена."},
// recorded as [OpAccount] and not reported through [WithT]. Without this
// option (or with a version other than 1 and 2) both are served.
func WithAccountReadVersion(version int) Option {
	return func(c *config) {
		c.accountRead = 0
		if version == 1 || version == 2 {
			c.accountRead = version
		}
	}
}
