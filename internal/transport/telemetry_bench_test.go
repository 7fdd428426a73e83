package transport

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/internal/testca"
)

// discardExporter is a span exporter that keeps nothing: the SDK's whole
// path (sampling, span building, the processor) runs, nothing piles up.
type discardExporter struct{}

func (discardExporter) ExportSpans(context.Context, []sdktrace.ReadOnlySpan) error { return nil }
func (discardExporter) Shutdown(context.Context) error                             { return nil }

// BenchmarkDoTelemetry is the overhead of the instrumentation on one Do
// (an idempotent write answered 200 at once by an in-process TLS server on
// loopback, one attempt), in one run against the same server:
//
//   - none: no instrumentation at all (client.tel nil), the code as it was
//     before telemetry;
//   - global: the default, the global providers, which record nothing
//     until the application sets them (nothing sets them in tests);
//   - sdk: a real OpenTelemetry SDK, every span sampled and handed to an
//     exporter that discards it, and a meter provider with a manual reader.
//
// go test -run '^$' -bench BenchmarkDoTelemetry -benchmem -count=3 -benchtime=2000x ./internal/transport/
func BenchmarkDoTelemetry(b *testing.B) {
	ca, err := testca.New()
	if err != nil {
		b.Fatal(err)
	}
	cert, err := ca.ServerCert(host)
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		_, _ = w.Write([]byte(`[{"transactionId":42,"status":0}]`))
	}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	srv.StartTLS()
	defer srv.Close()
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())

	for _, mode := range []string{"none", "global", "sdk"} {
		b.Run(mode, func(b *testing.B) {
			opts := []payments.Option{
				payments.WithBaseURL("https://" + host + ":" + port + "/api"),
				payments.WithResolve(host, "127.0.0.1"),
				payments.WithRootCAsPEM(ca.CertPEM()),
				payments.WithLimiter(payments.Unlimited()),
			}
			if mode == "sdk" {
				tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.AlwaysSample()),
					sdktrace.WithSpanProcessor(sdktrace.NewSimpleSpanProcessor(discardExporter{})))
				mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
				defer func() { _ = tp.Shutdown(context.Background()); _ = mp.Shutdown(context.Background()) }()
				opts = append(opts, payments.WithTracerProvider(tp), payments.WithMeterProvider(mp))
			}
			c, err := New(Config{Provider: "popolni", DefaultBaseURL: "https://" + host + "/api", Auth: BasicAuth("login", "password")}, opts...)
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			if mode == "none" {
				c.tel = nil
			}
			r := &Request{Op: "pay", Kind: IdempotentWrite, Ref: "42", Method: http.MethodPost,
				ContentType: "application/json", Body: []byte(`[{"transactionId":42,"amount":500,"msisdn":"380991234567","templateId":0}]`)}
			ctx := context.Background()
			if _, err := c.Do(ctx, r); err != nil { // the TLS handshake, outside the measure
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := c.Do(ctx, r); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
