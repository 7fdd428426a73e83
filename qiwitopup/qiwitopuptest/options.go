package qiwitopuptest

import (
	"crypto/rsa"
	"testing"
	"time"
)

// Defaults of a [Server] made without options.
const (
	DefaultTerminalID = "123"
	DefaultPassword   = "test-password"
	// DefaultCurrency is the agent account every server has (RUB) unless
	// [WithBalance] sets it otherwise; DefaultBalance is its starting balance.
	DefaultCurrency = "643"
	DefaultBalance  = "100000.00"
	// DefaultMinAmount and DefaultMaxAmount are the payment limits: below the
	// minimum a payment gets result-code 241, above the maximum 242.
	DefaultMinAmount = "1.00"
	DefaultMaxAmount = "15000.00"
)

type config struct {
	terminalID, password string
	pub                  *rsa.PublicKey
	allowedIPs           []string
	balances             [][2]string // (ccy, amount) in option order; later wins
	minAmount, maxAmount string
	steps                int
	wrapSBP              bool
	allExist             bool
	t                    testing.TB
	now                  func() time.Time
}

func defaultConfig() config {
	return config{
		terminalID: DefaultTerminalID,
		password:   DefaultPassword,
		balances:   [][2]string{{DefaultCurrency, DefaultBalance}},
		minAmount:  DefaultMinAmount,
		maxAmount:  DefaultMaxAmount,
		steps:      1,
		wrapSBP:    true,
		now:        time.Now,
	}
}

// Option configures a [Server] made by [NewServer].
type Option func(*config)

// WithTerminalID sets the agent ID the server accepts in <terminal-id>
// (default [DefaultTerminalID]). Every request must carry it, whatever the
// authentication mode.
func WithTerminalID(id string) Option {
	return func(c *config) { c.terminalID = id }
}

// WithPassword sets the password the server accepts in
// <extra name="password"> (default [DefaultPassword]).
func WithPassword(p string) Option {
	return func(c *config) { c.password = p }
}

// WithPublicKey enables signature authentication on [Host]: a request that
// carries X-Digital-Sign (and X-Digital-Sign-Alg, SHA1withRSA or MD5withRSA)
// is authenticated by verifying the RSASSA-PKCS1-v1_5 signature, in standard
// padded base64, over the exact request body bytes with pub; it needs no
// password. Without this option any signed request is refused with 150.
func WithPublicKey(pub *rsa.PublicKey) Option {
	return func(c *config) { c.pub = pub }
}

// WithAllowedIPs restricts the source addresses the server accepts, checked on
// the host part of the request's RemoteAddr. Each entry is an IP address or a
// CIDR prefix ("127.0.0.0/8"). With no entries (the default) every address is
// allowed. Other addresses get result-code 339 (fatal, "Ограничение по IP
// адресу"). An entry that does not parse never matches and is reported
// through [WithT].
func WithAllowedIPs(ips ...string) Option {
	return func(c *config) { c.allowedIPs = append([]string(nil), ips...) }
}

// WithBalance sets the starting balance of the agent account in currency ccy
// (numeric ISO 4217 such as "643", or a letter code such as "RUB") to amount,
// a decimal string with at most two decimals ("10000.00"). When one currency
// is set more than once (say as "840" and "USD") the last wins; the RUB account ("643") exists with [DefaultBalance]
// unless set here. NewServer panics on an invalid currency or amount.
func WithBalance(ccy string, amount string) Option {
	return func(c *config) { c.balances = append(c.balances, [2]string{ccy, amount}) }
}

// WithLimits sets the smallest and largest accepted payment amount, decimal
// strings (default [DefaultMinAmount] and [DefaultMaxAmount]). An empty
// string keeps that limit's default. NewServer panics on an invalid amount.
func WithLimits(minAmount, maxAmount string) Option {
	return func(c *config) {
		if minAmount != "" {
			c.minAmount = minAmount
		}
		if maxAmount != "" {
			c.maxAmount = maxAmount
		}
	}
}

// WithStepsPerPoll sets how far each status request that includes a payment
// moves it along 50 → 52 → final (default 1: the first status request answers
// 52, the second the final status, 60 or the [Server.FailAccount] outcome). A
// value of 2 or more makes the first status request answer the final status.
// Zero or less freezes payments: they move only through [Server.Complete] and
// [Server.SetStatus].
func WithStepsPerPoll(n int) Option {
	return func(c *config) { c.steps = n }
}

// WithWrappedPayments chooses the answer style for SBP payouts (service
// 38413). On (the default, as the SBP document's example), a pay or status
// answer that includes an SBP payment puts every <payment> inside
// <payments>, gives SBP payments a message attribute without msg, and adds
// <balances-ovd>, <f></f> and <lk-status>001</lk-status> after <balances>.
// Off, SBP payments are answered like every other payment.
func WithWrappedPayments(on bool) Option {
	return func(c *config) { c.wrapSBP = on }
}

// WithAllWalletsExist makes check-user and check-deposit-possible answer
// <exist>1</exist> for every phone number, not only for wallets added with
// [Server.AddWallet] or created by a wallet top-up.
func WithAllWalletsExist() Option {
	return func(c *config) { c.allExist = true }
}

// WithT ties the server to a test: a request to a route QIWI does not have
// (anything but POST /xml/topup.jsp and POST /xml/xmlcp.jsp), and an invalid
// [WithAllowedIPs] entry, fail the test with t.Errorf, and the server is
// closed by t.Cleanup. Unknown routes are still answered 404 and recorded.
func WithT(t testing.TB) Option {
	return func(c *config) { c.t = t }
}

// withClock replaces time.Now for txn-date and request timestamps.
func withClock(now func() time.Time) Option {
	return func(c *config) { c.now = now }
}
