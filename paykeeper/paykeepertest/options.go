package paykeepertest

import (
	"net/http"
	"testing"
	"time"
)

// Defaults of a [Server] made without options.
const (
	// DefaultUser and DefaultPassword are the Basic-auth login and password
	// of the cabinet's administrator.
	DefaultUser     = "demo"
	DefaultPassword = "demo-password"
	// DefaultTokenLifetime is how long a security token stays valid: the
	// document's "Смена токена происходит раз в 24 часа".
	DefaultTokenLifetime = 24 * time.Hour
	// DefaultNotificationTimeout bounds one notification POST made by the
	// default notification client.
	DefaultNotificationTimeout = 10 * time.Second
	// MaxExportSize caps [WithExportSize]: 1 GiB.
	MaxExportSize = 1 << 30
)

type config struct {
	user, password string
	t              testing.TB
	tokenLifetime  time.Duration
	now            func() time.Time
	notifyURL      string
	notifySecret   string
	notifyClient   *http.Client
	exportSize     int
	refundAllowed  bool
	formSecret     string
}

func defaultConfig() config {
	return config{
		user:          DefaultUser,
		password:      DefaultPassword,
		tokenLifetime: DefaultTokenLifetime,
		now:           time.Now,
		refundAllowed: true,
	}
}

// Option configures a [Server] made by [NewServer].
type Option func(*config)

// WithCredentials sets the login and password of the cabinet's administrator,
// the user every request authenticates as with Basic auth (default
// [DefaultUser] / [DefaultPassword]). Users added through /change/user/add/
// can authenticate too.
func WithCredentials(user, password string) Option {
	return func(c *config) { c.user, c.password = user, password }
}

// WithT ties the server to a test: a request to a route PayKeeper does not
// have fails the test with t.Errorf (it is still answered 404 and recorded),
// and the server is closed by t.Cleanup.
func WithT(t testing.TB) Option {
	return func(c *config) { c.t = t }
}

// WithTokenLifetime sets how long a security token from /info/settings/token/
// stays valid before the server replaces it (default [DefaultTokenLifetime]).
// Zero or less keeps the default.
func WithTokenLifetime(d time.Duration) Option {
	return func(c *config) {
		if d > 0 {
			c.tokenLifetime = d
		}
	}
}

// WithClock replaces time.Now for everything the server dates: token expiry,
// invoice expiry, the datetimes it answers and request timestamps. Tests of
// token rotation advance their own clock instead of sleeping.
func WithClock(now func() time.Time) Option {
	return func(c *config) { c.now = now }
}

// WithNotifications configures the informer as the cabinet would with
// informer_type=post: notifications are POSTed to url and signed with secret
// (the informer_seed). The same settings can be changed later through
// /change/organization/setting/ or [Server.SetSetting]. Without it the
// informer type is "email" and payments become success without a POST.
func WithNotifications(url, secret string) Option {
	return func(c *config) { c.notifyURL, c.notifySecret = url, secret }
}

// WithNotificationClient sets the client the server POSTs notifications
// with, for example an httptest TLS server's Client(). The default client
// has a [DefaultNotificationTimeout] timeout and does not follow redirects.
func WithNotificationClient(hc *http.Client) Option {
	return func(c *config) { c.notifyClient = hc }
}

// WithExportSize makes every /export/payments/ answer exactly n bytes long
// (up to [MaxExportSize]): a real xlsx (zip) workbook padded with a stored
// filler entry, generated while it is sent, so a client can be tested
// streaming many MiB. Zero or less (the default) sends the workbook unpadded;
// a size smaller than the workbook itself is ignored.
func WithExportSize(n int) Option {
	return func(c *config) { c.exportSize = n }
}

// WithUserRights sets whether the administrator may refund (default true).
// Without the right /change/payment/reverse/ answers a fail object, as the
// document says: "Возврат могут делать только пользователи с включённой
// функцией возврата". [Server.SetRefundAllowed] changes it later.
func WithUserRights(refund bool) Option {
	return func(c *config) { c.refundAllowed = refund }
}
