package popolnitest

import (
	"testing"
	"time"
)

// Defaults of a [Server] made without options.
const (
	DefaultLogin       = "partner"
	DefaultPassword    = "s3cret-password"
	DefaultBalance     = 1_000_000 // kopecks
	DefaultCreditLimit = 0         // kopecks
	DefaultRateLimit   = 5         // requests per second, the document's limit
)

// config is what the options set: allowedIPs, t and now for NewServer, the
// rest the server's starting state (guarded by Server.mu).
type config struct {
	login, password        string
	allowedIPs             []string
	current, credit        int64
	rateLimit              int
	rateExcess             int
	steps                  int
	maxAmount              int64
	notFoundFirst          bool
	apiEnabled, inSchedule bool
	t                      testing.TB
	now                    func() time.Time
}

func defaultConfig() config {
	return config{
		login:      DefaultLogin,
		password:   DefaultPassword,
		current:    DefaultBalance,
		credit:     DefaultCreditLimit,
		rateLimit:  DefaultRateLimit,
		steps:      1,
		apiEnabled: true,
		inSchedule: true,
		now:        time.Now,
	}
}

// Option configures a [Server] made by [NewServer].
type Option func(*config)

// WithCredentials sets the Basic-auth login and password the server accepts
// (default [DefaultLogin] / [DefaultPassword]). [Server.SetCredentials] changes
// them later, as a partner regenerating the password in the web cabinet.
func WithCredentials(login, password string) Option {
	return func(c *config) { c.login, c.password = login, password }
}

// WithAllowedIPs restricts the source addresses the server accepts, checked on
// the host part of the request's RemoteAddr. Each entry is an IP address or a
// CIDR prefix ("127.0.0.0/8"). With no entries (the default) every address is
// allowed. An entry that does not parse never matches (and is reported through
// [WithT]), so a typo fails closed with 403 "IP is not allowed".
func WithAllowedIPs(ips ...string) Option {
	return func(c *config) { c.allowedIPs = append([]string(nil), ips...) }
}

// WithBalance sets the starting balance and credit limit in kopecks (default
// [DefaultBalance] / [DefaultCreditLimit]). A payment is refused with 101 when
// its amount exceeds current + creditLimit minus what pending payments reserve.
func WithBalance(current, creditLimit int64) Option {
	return func(c *config) { c.current, c.credit = current, creditLimit }
}

// WithRateLimit sets how many requests the server admits in any sliding
// one-second window (default [DefaultRateLimit], the document's limit); the
// next one is answered 503. Zero or less disables the limit.
func WithRateLimit(perSecond int) Option {
	return func(c *config) { c.rateLimit = perSecond }
}

// WithRateLimitExcess tolerates up to n requests over the per-second limit
// within any trailing ten minutes before answering 503: the document's
// "кратковременное превышение в 11 запросов за последние 10 минут". The
// default is 0, a strict limit, because a client must not count on the
// tolerance; WithRateLimitExcess(11) models the document literally.
func WithRateLimitExcess(n int) Option {
	return func(c *config) { c.rateExcess = n }
}

// WithStepsPerPoll sets how far each status query that includes a payment
// moves it along 0 → 2 → final (default 1: the first query answers 2, the
// second the final status). A value of 2 or more makes the first query answer
// the final status. Zero or less freezes payments: they move only through
// [Server.Complete] and [Server.SetStatus].
func WithStepsPerPoll(n int) Option {
	return func(c *config) { c.steps = n }
}

// WithMaxAmount sets the largest amount in kopecks accepted for one payment;
// above it the item gets 208 (the document: the maximum is set per account by
// the manager). Zero or less (the default) means no maximum.
func WithMaxAmount(kopecks int64) Option {
	return func(c *config) { c.maxAmount = kopecks }
}

// WithNotFoundFirst makes the first status query that includes a payment
// answer 125 ("Платёж не найден") for it, for every payment: the document's
// transient 125, "этот статус может вернуть для существующего платежа в
// момент перехода платежа из одной очереди (ожидания) в другую". That query
// does not move the payment; the following ones answer the truth (a payment
// in 423 then goes on 423, 125, 423...). A client that believes a first 125
// takes an existing payment for a missing one; one that applies the
// document's re-ask rule ("если статус платежа при повторном опросе статуса
// равен 125, то такого платежа действительно нет") is not fooled. Off by
// default; [Server.SetNotFoundFirst] switches it later, and
// [Server.NotFoundOnce] does the same for one payment.
func WithNotFoundFirst() Option {
	return func(c *config) { c.notFoundFirst = true }
}

// WithT ties the server to a test: a request to a route popolni.club does not
// have, and an invalid [WithAllowedIPs] entry, fail the test with t.Errorf, and
// the server is closed by t.Cleanup. Unknown routes are still answered 404 and
// recorded.
func WithT(t testing.TB) Option {
	return func(c *config) { c.t = t }
}

// withClock replaces time.Now for the rate limiter and request timestamps, so
// tests of the limit do not depend on the machine's speed.
func withClock(now func() time.Time) Option {
	return func(c *config) { c.now = now }
}
