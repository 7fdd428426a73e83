package payments

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/paysdk/payments/internal/config"
)

// Option configures a provider client at construction. Options are checked
// when the client is built: a bad option makes New return a
// *[ValidationError] (matching [ErrInvalidRequest]), never a panic and never
// a silent default. The zero Option is refused the same way.
//
// Options are made only by the With* functions of this package.
type Option struct {
	apply func(*config.Settings) error
}

func init() {
	config.ApplyOption = func(o any, s *config.Settings) error {
		opt, ok := o.(Option)
		if !ok || opt.apply == nil {
			return &ValidationError{Field: "option", Reason: "zero Option: make options with the payments.With* functions"}
		}
		return opt.apply(s)
	}
}

// option builds an Option whose refusals are ValidationErrors for name.
func option(name string, f func(*config.Settings) (reason string)) Option {
	return Option{apply: func(s *config.Settings) error {
		if r := f(s); r != "" {
			return &ValidationError{Field: name, Reason: r}
		}
		return nil
	}}
}

// WithBaseURL sends every request to base instead of the provider's production
// endpoint (a sandbox, a proxy, or a fake server from a <provider>test package).
// It must be an absolute https URL with no user info, query or fragment, and
// a port, if any, from 1 to 65535. A refusal never quotes the URL: it may
// carry a password.
func WithBaseURL(base string) Option {
	return option("WithBaseURL", func(s *config.Settings) string {
		u, err := url.Parse(base)
		if err != nil {
			return "not a URL" // url.Parse's error quotes the whole URL
		}
		if u.User != nil {
			return "credentials in the URL are not accepted; use the provider's Credentials"
		}
		if u.Scheme != "https" || u.Host == "" || u.Opaque != "" {
			return "not an absolute https URL"
		}
		if u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || strings.Contains(base, "#") {
			return "a query or fragment is not accepted in the base URL"
		}
		if p := u.Port(); p != "" {
			n, err := strconv.Atoi(p)
			if err != nil || n < 1 || n > 65535 {
				return "port " + p + " is out of range"
			}
		} else if strings.HasSuffix(u.Host, ":") {
			return "empty port"
		}
		if u.Hostname() == "" {
			return "no host name"
		}
		s.BaseURL = base
		return ""
	})
}

// WithLocalAddr binds every outgoing connection to the source address ip.
// Providers that allowlist partner IPs (popolni.club, QIWI) see this address; a
// host with several addresses would otherwise pick one on its own. The dial is
// pinned to tcp4 or tcp6 to match ip.
func WithLocalAddr(ip string) Option {
	return option("WithLocalAddr", func(s *config.Settings) string {
		a, err := netip.ParseAddr(ip)
		if err != nil {
			return fmt.Sprintf("%q is not an IP address", ip)
		}
		if a.Zone() != "" {
			return fmt.Sprintf("zoned address %q is not supported", ip)
		}
		s.LocalAddr = a.Unmap()
		return ""
	})
}

// WithResolve pins host to ip, like a line of /etc/hosts: connections to host
// go to ip without asking DNS. TLS still verifies the certificate against host.
// It may be given several times for several hosts.
func WithResolve(host, ip string) Option {
	return option("WithResolve", func(s *config.Settings) string {
		host = strings.ToLower(strings.TrimSpace(host))
		if host == "" || strings.ContainsAny(host, ":/ @?#") {
			return fmt.Sprintf("%q is not a host name", host)
		}
		a, err := netip.ParseAddr(ip)
		if err != nil {
			return fmt.Sprintf("%q is not an IP address", ip)
		}
		if s.Resolve == nil {
			s.Resolve = map[string]netip.Addr{}
		}
		s.Resolve[host] = a.Unmap()
		return ""
	})
}

// WithRootCAsPEM trusts the certificates in pem in addition to the system
// roots (a provider's own CA, or a fake server's test CA). It is an error if
// pem holds no certificate. Certificate verification itself can never be
// switched off.
func WithRootCAsPEM(pem []byte) Option {
	return option("WithRootCAsPEM", func(s *config.Settings) string {
		if s.RootCAs == nil {
			pool, err := x509.SystemCertPool()
			if err != nil || pool == nil {
				pool = x509.NewCertPool()
			}
			s.RootCAs = pool
		}
		if !s.RootCAs.AppendCertsFromPEM(pem) {
			return "no certificate found in the PEM data"
		}
		return ""
	})
}

// WithClientCertificate presents cert in the TLS handshake (mutual TLS, as
// QIWI's private API requires).
func WithClientCertificate(cert tls.Certificate) Option {
	return option("WithClientCertificate", func(s *config.Settings) string {
		if len(cert.Certificate) == 0 || cert.PrivateKey == nil {
			return "certificate or key missing"
		}
		s.ClientCerts = append(s.ClientCerts, cert)
		return ""
	})
}

// WithClientCertificatePEM is [WithClientCertificate] from PEM-encoded
// certificate and key.
func WithClientCertificatePEM(certPEM, keyPEM []byte) Option {
	return option("WithClientCertificatePEM", func(s *config.Settings) string {
		cert, err := tls.X509KeyPair(certPEM, keyPEM)
		if err != nil {
			// The error of X509KeyPair never echoes key material.
			return err.Error()
		}
		s.ClientCerts = append(s.ClientCerts, cert)
		return ""
	})
}

// WithLimiter makes every attempt, retries included, wait for a token from l.
// Share one limiter between all clients of one provider account: the
// provider's rate limit is per account, not per client.
func WithLimiter(l Limiter) Option {
	return option("WithLimiter", func(s *config.Settings) string {
		if l == nil {
			return "nil limiter"
		}
		s.Limiter = l
		return ""
	})
}

// WithRateLimit replaces the default limiter with a fresh one allowing
// perSecond attempts a second with the given burst. See [NewLimiter].
func WithRateLimit(perSecond float64, burst int) Option {
	return option("WithRateLimit", func(s *config.Settings) string {
		l, err := NewLimiter(perSecond, burst)
		if err != nil {
			var v *ValidationError
			if errors.As(err, &v) {
				return v.Reason
			}
			return err.Error()
		}
		s.Limiter = l
		return ""
	})
}

// WithTimeout bounds one attempt (connect, send, read the whole answer).
// The default is 30 seconds. The caller's context bounds the whole call.
// A streamed download (PayKeeper's export) is bounded by it until the answer
// starts, then only while no byte arrives for that long.
func WithTimeout(d time.Duration) Option {
	return option("WithTimeout", func(s *config.Settings) string {
		if d <= 0 {
			return fmt.Sprintf("%v is not positive", d)
		}
		s.Timeout = d
		return ""
	})
}

// WithTransport replaces the HTTP transport the client builds (TLS, source
// address, static resolve) with rt. It is meant for unit tests
// (httpmock.NewMockTransport) and for callers who build their own transport;
// the TLS and dialing options then have no effect, and New says so with an
// error if both are given.
//
// What an error of rt means. An *http.Transport tells the client through
// net/http whether it wrote the request, as the built transport does. Any
// other RoundTripper (httpmock, a tracing wrapper, a proxy client) cannot be
// seen into, so every error it returns counts as "may have been written"
// (TransportError.Written is true): an operation that moves money and is
// unsafe to resend is sent once and fails with [ErrOutcomeUnknown]; a read,
// and a write the provider dedupes, are retried as after a lost answer.
// To say a request never left (a refused connection, an open circuit
// breaker), rt returns [ErrNotSent], as it is or wrapped with %w: the
// attempt then counts as not sent and is retried as such, unsafe writes
// included, and the final error still matches ErrNotSent. Tracing or
// metrics middleware is better given to [WithTransportWrapper]: around the
// built transport, net/http still says what was written.
//
// httpmock: an error responder (httpmock.NewErrorResponder(err)) and a
// request no responder matches (httpmock.NoResponderFound) are both "may
// have been written": a mocked create or refund answered so is
// outcome-unknown and sent once. A test of "connection refused" registers
// httpmock.NewErrorResponder(payments.ErrNotSent).
func WithTransport(rt http.RoundTripper) Option {
	return option("WithTransport", func(s *config.Settings) string {
		if rt == nil {
			return "nil transport"
		}
		s.Transport = rt
		return ""
	})
}

// WithTransportWrapper wraps the transport the client builds, keeping its TLS
// and dialing settings: the place for tracing and metrics middleware.
func WithTransportWrapper(wrap func(http.RoundTripper) http.RoundTripper) Option {
	return option("WithTransportWrapper", func(s *config.Settings) string {
		if wrap == nil {
			return "nil function"
		}
		s.WrapTransport = append(s.WrapTransport, wrap)
		return ""
	})
}

// WithLogger logs one line of metadata per attempt to l (provider, operation,
// method, host and path, status, attempt, duration), with the merchant's
// reference ("ref": a Ref or order id, when the operation has one) and, when
// a span is active, its "trace_id" and "span_id". Bodies, headers, query
// values and credentials are never logged. The default logs nothing.
func WithLogger(l *slog.Logger) Option {
	return option("WithLogger", func(s *config.Settings) string {
		if l == nil {
			return "nil logger"
		}
		s.Logger = l
		return ""
	})
}

// WithTracerProvider records the client's spans with tp instead of the
// global tracer provider (otel.GetTracerProvider, which records nothing
// until the application sets one). Each SDK operation is a client span
// "<provider> <operation>" carrying the provider, the operation, the
// merchant's reference, the outcome (ok, refused, outcome_unknown,
// not_found, canceled, error), the HTTP status and the provider's code; each
// HTTP attempt is a child span with its number, the limiter's wait, whether
// the request may have been written and why it was or was not retried.
// Spans never carry a secret, a card number or a request body.
func WithTracerProvider(tp trace.TracerProvider) Option {
	return option("WithTracerProvider", func(s *config.Settings) string {
		if tp == nil {
			return "nil tracer provider"
		}
		s.TracerProvider = tp
		return ""
	})
}

// WithMeterProvider records the client's measurements with mp instead of
// the global meter provider (otel.GetMeterProvider, which records nothing
// until the application sets one): payments.operation.duration,
// payments.operation.attempts, payments.refusals, payments.outcome_unknown,
// payments.limiter.wait.duration and http.client.request.duration, with
// low-cardinality attributes only (provider, operation, outcome, refusal
// kind; never a reference or an id). The README lists them.
func WithMeterProvider(mp metric.MeterProvider) Option {
	return option("WithMeterProvider", func(s *config.Settings) string {
		if mp == nil {
			return "nil meter provider"
		}
		s.MeterProvider = mp
		return ""
	})
}

// RetryPolicy bounds the retries of the attempt loop. Only what the
// provider's document makes safe is ever retried, whatever the policy.
type RetryPolicy struct {
	// MaxAttempts counts the first attempt: 1 means no retry. Default 4.
	MaxAttempts int
	// BaseDelay is the first backoff, doubled each retry with jitter. Default 500 ms.
	BaseDelay time.Duration
	// MaxDelay caps one wait, Retry-After included. Default 30 s.
	MaxDelay time.Duration
}

// WithRetry sets the retry policy.
func WithRetry(p RetryPolicy) Option {
	return option("WithRetry", func(s *config.Settings) string {
		if p.MaxAttempts < 1 {
			return fmt.Sprintf("MaxAttempts %d is below 1", p.MaxAttempts)
		}
		if p.BaseDelay < 0 || p.MaxDelay < 0 {
			return "negative delay"
		}
		s.Retry = &config.Retry{MaxAttempts: p.MaxAttempts, BaseDelay: p.BaseDelay, MaxDelay: p.MaxDelay}
		return ""
	})
}

// WithTestTiming is the preset for unit tests against a mock transport or a
// fake server: no rate limit ([Unlimited]) and retries after 1 ms instead of
// the production backoff, so a mocked call does not wait 200 ms for a token
// or seconds of backoff. The retry table itself is unchanged: what is unsafe
// to resend is still never resent. Never use it against a real provider: it
// would exceed the provider's rate limit.
func WithTestTiming() Option {
	return option("WithTestTiming", func(s *config.Settings) string {
		s.Limiter = Unlimited()
		s.Retry = &config.Retry{MaxAttempts: 4, BaseDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond}
		return ""
	})
}

// WithUserAgent sets the User-Agent header (default "paysdk-payments-go").
func WithUserAgent(ua string) Option {
	return option("WithUserAgent", func(s *config.Settings) string {
		if ua == "" || strings.ContainsAny(ua, "\r\n") {
			return "empty or multi-line"
		}
		s.UserAgent = ua
		return ""
	})
}

// WithMaxResponseBytes caps how much of one answer is read (default 8 MiB);
// a longer answer is an error, not a truncated success.
func WithMaxResponseBytes(n int64) Option {
	return option("WithMaxResponseBytes", func(s *config.Settings) string {
		if n <= 0 {
			return fmt.Sprintf("%d is not positive", n)
		}
		s.MaxResponseBytes = n
		return ""
	})
}
