// Package transport is the one place that talks HTTP for every provider
// client: it builds the *http.Transport once (TLS that always verifies,
// source-address binding, static resolve, no cookies, no redirects), and it
// runs the attempt loop of docs/ARCHITECTURE.md: a limiter token per attempt, send,
// classify, and retry only what the operation's kind makes safe.
//
// It is the only importer of resty in the module.
package transport

import (
	"context"
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/go-resty/resty/v2"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/internal/config"
	"github.com/paysdk/payments/internal/telemetry"
)

// Defaults of the attempt loop and of the transport.
const (
	DefaultTimeout          = 30 * time.Second
	DefaultMaxAttempts      = 4
	DefaultBaseDelay        = 500 * time.Millisecond
	DefaultMaxDelay         = 30 * time.Second
	DefaultMaxResponseBytes = 8 << 20
	DefaultUserAgent        = "paysdk-payments-go"
)

// Auth is a precomputed Authorization header value. It never prints itself,
// whatever the fmt verb.
type Auth struct {
	value   string
	secrets []string // what must never appear in an error: the token, the password
}

// BasicAuth is HTTP Basic authentication.
func BasicAuth(user, password string) Auth {
	tok := base64.StdEncoding.EncodeToString([]byte(user + ":" + password))
	return Auth{"Basic " + tok, []string{tok, password}}
}

// SchemeAuth is "<scheme> <token>", e.g. "Token abc" or "Bearer abc".
func SchemeAuth(scheme, token string) Auth { return Auth{scheme + " " + token, []string{token}} }

// String hides the value.
func (a Auth) String() string { return "[REDACTED]" }

// GoString hides the value.
func (a Auth) GoString() string { return "transport.Auth{[REDACTED]}" }

// Format hides the value for every verb (%d and %x of a struct would
// otherwise print its fields).
func (a Auth) Format(f fmt.State, _ rune) { io.WriteString(f, a.GoString()) }

// Kind says what a resend of an operation could do at the provider.
type Kind int

const (
	// Read changes nothing at the provider: every retriable failure is retried.
	Read Kind = iota
	// IdempotentWrite moves money, but the provider dedupes on an id we send,
	// so a resend after a lost answer cannot move it twice. Retried like a
	// read; if it gives up after an attempt that may have been delivered, the
	// error is payments.ErrOutcomeUnknown.
	IdempotentWrite
	// UnsafeWrite moves money and the provider does not dedupe: once any byte
	// may have reached the provider it is never sent again, and a missing or
	// server-error answer is payments.ErrOutcomeUnknown.
	UnsafeWrite
)

// Config is what a provider package tells the transport about itself.
type Config struct {
	Provider       string // "popolni"...
	DefaultBaseURL string
	Auth           Auth
	// MapError turns a final non-2xx answer into the provider's error, an
	// *payments.APIError. It must not return nil.
	MapError func(op string, r *Response) error
	// Unprocessed reports whether the provider's document says that an
	// answer with this status (429, 503) means the request was refused
	// before any processing. Only then is an UnsafeWrite sent again after
	// it; the provider package cites the document's line. Nil: the
	// document says nothing, and an UnsafeWrite answered 429 or 503 is
	// ErrOutcomeUnknown, never resent.
	Unprocessed func(status int) bool
	// Secrets are scrubbed from every provider text kept in an error (the
	// Auth secrets are added on their own): a QIWI password sent in the
	// body, for example.
	Secrets []string
}

// Client runs requests for one provider account. Immutable, safe for
// concurrent use.
type Client struct {
	cfg     Config
	base    *url.URL
	rc      *resty.Client
	limiter config.Limiter
	retry   config.Retry
	timeout time.Duration
	maxBody int64
	log     *slog.Logger
	ua      string
	// uaHeader and authHeader are the User-Agent and Authorization values
	// of every request, built once (authHeader nil: none).
	uaHeader, authHeader []string
	// baseStr is the base URL as url() writes it for a request without a
	// path, before its query ("" when the base has a fragment).
	baseStr string
	hc      *http.Client
	opaque  bool // the merchant's RoundTripper, not net/http's: no trace of what it wrote
	scrub   *scrubber
	tel     *telemetry.Telemetry
	closed  atomic.Bool
	sleep   func(ctx context.Context, d time.Duration) error // replaced in tests
	jitter  func(d time.Duration) time.Duration              // replaced in tests
}

// New applies opts and builds the client.
func New(cfg Config, opts ...payments.Option) (*Client, error) {
	var s config.Settings
	for _, o := range opts {
		if err := config.ApplyOption(o, &s); err != nil {
			return nil, err
		}
	}
	baseStr := cfg.DefaultBaseURL
	if s.BaseURL != "" {
		baseStr = s.BaseURL
	}
	if baseStr == "" {
		return nil, &payments.ValidationError{Field: "WithBaseURL", Reason: cfg.Provider + " has no default base URL: set payments.WithBaseURL"}
	}
	base, err := url.Parse(baseStr)
	if err != nil || base.Scheme != "https" || base.Host == "" {
		return nil, &payments.ValidationError{Field: "WithBaseURL", Reason: "not an absolute https URL"}
	}
	c := &Client{
		scrub:   newScrubber(append(append([]string(nil), cfg.Auth.secrets...), cfg.Secrets...)),
		cfg:     cfg,
		base:    base,
		limiter: s.Limiter,
		timeout: s.Timeout,
		maxBody: s.MaxResponseBytes,
		log:     s.Logger,
		ua:      s.UserAgent,
		sleep:   sleepCtx,
		jitter:  fullJitter,
		tel:     telemetry.New(s.TracerProvider, s.MeterProvider),
	}
	if c.limiter == nil {
		c.limiter, _ = payments.NewLimiter(payments.DefaultRate, payments.DefaultBurst)
	}
	if c.timeout == 0 {
		c.timeout = DefaultTimeout
	}
	if c.maxBody == 0 {
		c.maxBody = DefaultMaxResponseBytes
	}
	if c.ua == "" {
		c.ua = DefaultUserAgent
	}
	if base.Fragment == "" && !base.ForceQuery {
		b := *base
		b.RawQuery = ""
		c.baseStr = b.String()
	}
	c.uaHeader = []string{c.ua}
	if cfg.Auth.value != "" {
		c.authHeader = []string{cfg.Auth.value}
	}
	c.retry = config.Retry{MaxAttempts: DefaultMaxAttempts, BaseDelay: DefaultBaseDelay, MaxDelay: DefaultMaxDelay}
	if s.Retry != nil {
		c.retry = *s.Retry
	}
	var rt http.RoundTripper
	if s.Transport != nil {
		if s.LocalAddr.IsValid() || len(s.Resolve) > 0 || s.RootCAs != nil || len(s.ClientCerts) > 0 {
			return nil, &payments.ValidationError{Field: "WithTransport", Reason: "it replaces the built transport: WithLocalAddr, WithResolve, WithRootCAsPEM and WithClientCertificate would have no effect"}
		}
		rt = s.Transport
		_, netHTTP := rt.(*http.Transport)
		c.opaque = !netHTTP
	} else {
		rt = BuildTransport(&s)
	}
	for _, w := range s.WrapTransport {
		rt = w(rt)
	}
	hc := &http.Client{
		Transport: rt,
		// Never follow a redirect: a payment API that redirects is answered
		// with the 3xx itself, and a POST is never replayed elsewhere.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	c.hc = hc
	c.rc = resty.NewWithClient(hc). // NewWithClient: no cookie jar
					SetRetryCount(0).
					SetLogger(quietLogger{})
	return c, nil
}

// BuildTransport returns the *http.Transport of docs/ARCHITECTURE.md for s.
func BuildTransport(s *config.Settings) *http.Transport {
	tlsConf := &tls.Config{
		MinVersion:   tls.VersionTLS12,
		RootCAs:      s.RootCAs, // nil: system roots
		Certificates: s.ClientCerts,
	}
	dialer := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	network := func(n string) string { return n }
	if s.LocalAddr.IsValid() {
		dialer.LocalAddr = &net.TCPAddr{IP: s.LocalAddr.AsSlice()}
		v := "tcp6"
		if s.LocalAddr.Is4() {
			v = "tcp4"
		}
		network = func(string) string { return v }
	}
	resolve := s.Resolve
	return &http.Transport{
		Proxy: nil, // a proxy would change the source address the provider allowlists
		DialContext: func(ctx context.Context, n, addr string) (net.Conn, error) {
			if host, port, err := net.SplitHostPort(addr); err == nil {
				if ip, ok := resolve[strings.ToLower(host)]; ok {
					if p, err := strconv.ParseUint(port, 10, 16); err == nil {
						addr = netip.AddrPortFrom(ip, uint16(p)).String()
					}
				}
			}
			return dialer.DialContext(ctx, network(n), addr)
		},
		TLSClientConfig:       tlsConf,
		TLSHandshakeTimeout:   10 * time.Second,
		MaxIdleConns:          32,
		MaxIdleConnsPerHost:   8,
		IdleConnTimeout:       90 * time.Second,
		ResponseHeaderTimeout: 0, // bounded by the per-attempt timeout
		ExpectContinueTimeout: 0, // never send Expect: 100-continue (popolni's document warns against it)
	}
}

// Close releases the client's idle connections (and the goroutines that
// keep them) and makes every later call fail with a *payments.TransportError
// wrapping ErrClosed, before anything is sent. Calls in flight finish. It is
// safe to call more than once and always returns nil.
func (c *Client) Close() error {
	c.closed.Store(true)
	c.hc.CloseIdleConnections()
	return nil
}

// String names the provider and host; never the credentials.
func (c *Client) String() string {
	return "transport.Client{" + c.cfg.Provider + " " + c.base.Host + "}"
}

// Format prints String for every verb, so a provider type that embeds or
// points to a Client cannot print its Authorization value.
func (c *Client) Format(f fmt.State, _ rune) { io.WriteString(f, c.String()) }

// BaseURL is the endpoint requests go to.
func (c *Client) BaseURL() *url.URL { u := *c.base; return &u }

// Operation begins a provider client's operation op for the merchant's
// reference ref (a span, and the operation's measurements) in the returned
// context; the transport call of the same op under that context adds its
// attempts to it. The caller ends it with the operation's final error:
// what the provider's answer meant, a refusal in a 200 body included.
func (c *Client) Operation(ctx context.Context, op, ref string) (context.Context, *telemetry.Op) {
	return c.tel.Operation(ctx, c.cfg.Provider, op, ref)
}

// Telemetry returns the client's tracer and instruments (nil records
// nothing).
func (c *Client) Telemetry() *telemetry.Telemetry { return c.tel }

// Provider is the provider's name, as it appears in errors.
func (c *Client) Provider() string { return c.cfg.Provider }

// quietLogger keeps resty's own warnings (which may quote requests) out of
// the caller's stderr; our own slog line per attempt replaces them.
type quietLogger struct{}

func (quietLogger) Errorf(string, ...interface{}) {}
func (quietLogger) Warnf(string, ...interface{})  {}
func (quietLogger) Debugf(string, ...interface{}) {}
