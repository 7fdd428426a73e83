// Package config holds the settings that the root package's options fill in
// and that internal/transport reads. It exists so the root package can expose
// options without exporting the settings struct or importing the transport.
package config

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"log/slog"
	"net/http"
	"net/netip"
	"time"

	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
)

// Limiter is the shape of payments.Limiter, repeated here to avoid an import cycle.
type Limiter interface {
	Wait(ctx context.Context) error
}

// Retry is the resolved retry policy.
type Retry struct {
	MaxAttempts int           // total attempts, first one included; 1 disables retries
	BaseDelay   time.Duration // first backoff
	MaxDelay    time.Duration // cap of one backoff (Retry-After included)
}

// Settings is everything an Option can set. The zero value means "use the default".
type Settings struct {
	BaseURL          string
	LocalAddr        netip.Addr
	Resolve          map[string]netip.Addr // host name → address, hosts-file style
	RootCAs          *x509.CertPool        // system roots plus extra PEMs; nil means system only
	ClientCerts      []tls.Certificate
	Limiter          Limiter
	Timeout          time.Duration
	Transport        http.RoundTripper                           // replaces the built transport (tests, tracing)
	WrapTransport    []func(http.RoundTripper) http.RoundTripper // wraps the built transport
	Logger           *slog.Logger
	Retry            *Retry
	UserAgent        string
	MaxResponseBytes int64
	TracerProvider   trace.TracerProvider // nil: the global one
	MeterProvider    metric.MeterProvider // nil: the global one
}

// ApplyOption applies a payments.Option (passed as any, so that this
// package need not import the root) to s. The root package sets it in its
// init; an Option's internals stay unexported.
var ApplyOption func(o any, s *Settings) error
