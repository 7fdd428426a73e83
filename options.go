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
	"strings"
	"time"

	"github.com/paysdk/payments/internal/config"
)

// Option configures a provider client at construction. Options are checked
// when the client is built: a bad option makes New return an error, never a
// panic and never a silent default.
type Option func(*config.Settings) error

// WithBaseURL sends every request to base instead of the provider's production
// endpoint (a sandbox, a proxy, or a fake server from a <provider>test package).
// It must be an absolute https URL.
func WithBaseURL(base string) Option {
	return func(s *config.Settings) error {
		u, err := url.Parse(base)
		if err != nil {
			return fmt.Errorf("payments: WithBaseURL: %w", err)
		}
		if u.Scheme != "https" || u.Host == "" {
			return fmt.Errorf("payments: WithBaseURL: %q is not an absolute https URL", u.Redacted())
		}
		if u.User != nil {
			return errors.New("payments: WithBaseURL: credentials in the URL are not accepted; use the provider's Credentials")
		}
		s.BaseURL = base
		return nil
	}
}

// WithLocalAddr binds every outgoing connection to the source address ip.
// Providers that allowlist partner IPs (popolni.club, QIWI) see this address; a
// host with several addresses would otherwise pick one on its own. The dial is
// pinned to tcp4 or tcp6 to match ip.
func WithLocalAddr(ip string) Option {
	return func(s *config.Settings) error {
		a, err := netip.ParseAddr(ip)
		if err != nil {
			return fmt.Errorf("payments: WithLocalAddr: %q is not an IP address", ip)
		}
		if a.Zone() != "" {
			return fmt.Errorf("payments: WithLocalAddr: zoned address %q is not supported", ip)
		}
		s.LocalAddr = a.Unmap()
		return nil
	}
}

// WithResolve pins host to ip, like a line of /etc/hosts: connections to host
// go to ip without asking DNS. TLS still verifies the certificate against host.
// It may be given several times for several hosts.
func WithResolve(host, ip string) Option {
	return func(s *config.Settings) error {
		host = strings.ToLower(strings.TrimSpace(host))
		if host == "" || strings.ContainsAny(host, ":/ ") {
			return fmt.Errorf("payments: WithResolve: %q is not a host name", host)
		}
		a, err := netip.ParseAddr(ip)
		if err != nil {
			return fmt.Errorf("payments: WithResolve: %q is not an IP address", ip)
		}
		if s.Resolve == nil {
			s.Resolve = map[string]netip.Addr{}
		}
		s.Resolve[host] = a.Unmap()
		return nil
	}
}

// WithRootCAsPEM trusts the certificates in pem in addition to the system
// roots (a provider's own CA, or a fake server's test CA). It is an error if
// pem holds no certificate. Certificate verification itself can never be
// switched off.
func WithRootCAsPEM(pem []byte) Option {
	return func(s *config.Settings) error {
		if s.RootCAs == nil {
			pool, err := x509.SystemCertPool()
			if err != nil || pool == nil {
				pool = x509.NewCertPool()
			}
			s.RootCAs = pool
		}
		if !s.RootCAs.AppendCertsFromPEM(pem) {
			return errors.New("payments: WithRootCAsPEM: no certificate found in the PEM data")
		}
		return nil
	}
}

// WithClientCertificate presents cert in the TLS handshake (mutual TLS, as
// QIWI's private API requires).
func WithClientCertificate(cert tls.Certificate) Option {
	return func(s *config.Settings) error {
		if len(cert.Certificate) == 0 || cert.PrivateKey == nil {
			return errors.New("payments: WithClientCertificate: certificate or key missing")
		}
		s.ClientCerts = append(s.ClientCerts, cert)
		return nil
	}
}

// WithClientCertificatePEM is [WithClientCertificate] from PEM-encoded
// certificate and key.
func WithClientCertificatePEM(certPEM, keyPEM []byte) Option {
	return func(s *config.Settings) error {
		cert, err := tls.X509KeyPair(certPEM, keyPEM)
		if err != nil {
			// The error of X509KeyPair never echoes key material.
			return fmt.Errorf("payments: WithClientCertificatePEM: %w", err)
		}
		s.ClientCerts = append(s.ClientCerts, cert)
		return nil
	}
}

// WithLimiter makes every attempt, retries included, wait for a token from l.
// Share one limiter between all clients of one provider account: the
// provider's rate limit is per account, not per client.
func WithLimiter(l Limiter) Option {
	return func(s *config.Settings) error {
		if l == nil {
			return errors.New("payments: WithLimiter: nil limiter")
		}
		s.Limiter = l
		return nil
	}
}

// WithRateLimit replaces the default limiter with a fresh one allowing
// perSecond attempts a second with the given burst. See [NewLimiter].
func WithRateLimit(perSecond float64, burst int) Option {
	return func(s *config.Settings) error {
		l, err := NewLimiter(perSecond, burst)
		if err != nil {
			return fmt.Errorf("payments: WithRateLimit: %w", err)
		}
		s.Limiter = l
		return nil
	}
}

// WithTimeout bounds one attempt (connect, send, read the whole answer).
// The default is 30 seconds. The caller's context bounds the whole call.
func WithTimeout(d time.Duration) Option {
	return func(s *config.Settings) error {
		if d <= 0 {
			return fmt.Errorf("payments: WithTimeout: %v is not positive", d)
		}
		s.Timeout = d
		return nil
	}
}

// WithTransport replaces the HTTP transport the client builds (TLS, source
// address, static resolve) with rt. It is meant for unit tests
// (httpmock.NewMockTransport) and for callers who build their own transport;
// the TLS and dialing options then have no effect, and New says so with an
// error if both are given.
func WithTransport(rt http.RoundTripper) Option {
	return func(s *config.Settings) error {
		if rt == nil {
			return errors.New("payments: WithTransport: nil transport")
		}
		s.Transport = rt
		return nil
	}
}

// WithTransportWrapper wraps the transport the client builds, keeping its TLS
// and dialing settings: the place for tracing and metrics middleware.
func WithTransportWrapper(wrap func(http.RoundTripper) http.RoundTripper) Option {
	return func(s *config.Settings) error {
		if wrap == nil {
			return errors.New("payments: WithTransportWrapper: nil function")
		}
		s.WrapTransport = append(s.WrapTransport, wrap)
		return nil
	}
}

// WithLogger logs one line of metadata per attempt to l (provider, operation,
// method, host and path, status, attempt, duration). Bodies, headers, query
// values and credentials are never logged. The default logs nothing.
func WithLogger(l *slog.Logger) Option {
	return func(s *config.Settings) error {
		if l == nil {
			return errors.New("payments: WithLogger: nil logger")
		}
		s.Logger = l
		return nil
	}
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
	return func(s *config.Settings) error {
		if p.MaxAttempts < 1 {
			return fmt.Errorf("payments: WithRetry: MaxAttempts %d is below 1", p.MaxAttempts)
		}
		if p.BaseDelay < 0 || p.MaxDelay < 0 {
			return errors.New("payments: WithRetry: negative delay")
		}
		s.Retry = &config.Retry{MaxAttempts: p.MaxAttempts, BaseDelay: p.BaseDelay, MaxDelay: p.MaxDelay}
		return nil
	}
}

// WithUserAgent sets the User-Agent header (default "paysdk-payments-go").
func WithUserAgent(ua string) Option {
	return func(s *config.Settings) error {
		if ua == "" || strings.ContainsAny(ua, "\r\n") {
			return errors.New("payments: WithUserAgent: empty or multi-line")
		}
		s.UserAgent = ua
		return nil
	}
}

// WithMaxResponseBytes caps how much of one answer is read (default 8 MiB);
// a longer answer is an error, not a truncated success.
func WithMaxResponseBytes(n int64) Option {
	return func(s *config.Settings) error {
		if n <= 0 {
			return fmt.Errorf("payments: WithMaxResponseBytes: %d is not positive", n)
		}
		s.MaxResponseBytes = n
		return nil
	}
}
