package payin_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/payin"
	"github.com/paysdk/payments/payin/payinfake"
	"github.com/paysdk/payments/payin/paykeeperpayin"
	"github.com/paysdk/payments/paykeeper/paykeepertest"
)

// otelKit is an SDK tracer provider with a span recorder and an SDK meter
// provider with a manual reader, passed explicitly (never the globals).
type otelKit struct {
	spans  *tracetest.SpanRecorder
	reader *sdkmetric.ManualReader
	tp     *sdktrace.TracerProvider
	mp     *sdkmetric.MeterProvider
}

func newOtelKit() *otelKit {
	k := &otelKit{spans: tracetest.NewSpanRecorder(), reader: sdkmetric.NewManualReader()}
	k.tp = sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(k.spans))
	k.mp = sdkmetric.NewMeterProvider(sdkmetric.WithReader(k.reader))
	return k
}

func (k *otelKit) named(name string) []sdktrace.ReadOnlySpan {
	var out []sdktrace.ReadOnlySpan
	for _, s := range k.spans.Ended() {
		if s.Name() == name {
			out = append(out, s)
		}
	}
	return out
}

// descends reports whether s is under ancestor in the recorded tree.
func (k *otelKit) descends(s, ancestor sdktrace.ReadOnlySpan) bool {
	byID := map[trace.SpanID]sdktrace.ReadOnlySpan{}
	for _, x := range k.spans.Ended() {
		byID[x.SpanContext().SpanID()] = x
	}
	for p := s.Parent(); p.IsValid(); {
		if p.SpanID() == ancestor.SpanContext().SpanID() {
			return true
		}
		up, ok := byID[p.SpanID()]
		if !ok {
			// An unrecorded span between (a provider handler on the
			// global, no-op provider) keeps its parent's span context.
			return false
		}
		p = up.Parent()
	}
	return false
}

// counts is payments.notifications by its encoded attribute set.
func (k *otelKit) counts(t *testing.T) map[string]int64 {
	t.Helper()
	var rm metricdata.ResourceMetrics
	require.NoError(t, k.reader.Collect(context.Background(), &rm))
	out := map[string]int64{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name != "payments.notifications" {
				continue
			}
			sum, ok := m.Data.(metricdata.Sum[int64])
			require.True(t, ok, "payments.notifications is a %T", m.Data)
			for _, dp := range sum.DataPoints {
				out[dp.Attributes.Encoded(attribute.DefaultEncoder())] += dp.Value
			}
		}
	}
	return out
}

func spanAttrs(s sdktrace.ReadOnlySpan) map[attribute.Key]attribute.Value {
	m := map[attribute.Key]attribute.Value{}
	for _, kv := range s.Attributes() {
		m[kv.Key] = kv.Value
	}
	return m
}

// payKeeperClient opens a portable PayKeeper client on srv whose provider
// client records into k.
func payKeeperClient(t *testing.T, srv *paykeepertest.Server, k *otelKit) *payin.Client {
	t.Helper()
	env := map[string]string{paykeeperpayin.EnvURL: srv.URL(), paykeeperpayin.EnvUser: paykeepertest.DefaultUser,
		paykeeperpayin.EnvPassword: paykeepertest.DefaultPassword, paykeeperpayin.EnvSecret: payinfake.PayKeeperSecret}
	c, err := payin.Open(context.Background(), "paykeeper://",
		payments.OpenEnv(func(key string) (string, bool) { v, ok := env[key]; return v, ok }),
		payments.OpenClientOptions(append(srv.ClientOptions(), payments.WithTestTiming(),
			payments.WithTracerProvider(k.tp), payments.WithMeterProvider(k.mp))...))
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// The router's span is the parent of the provider's handling and of its
// confirmation through the API; a forged notification is refused by the
// provider's handler, under the router's span, with no API call; the
// router counts only its own refusals (route, method), the provider's
// handler the rest: each notification once.
func TestHandlerTelemetry(t *testing.T) {
	k := newOtelKit()
	srv := paykeepertest.NewServer(paykeepertest.WithT(t),
		paykeepertest.WithNotifications("http://127.0.0.1:1/informer-url-not-set", payinfake.PayKeeperSecret))
	t.Cleanup(srv.Close)
	c := payKeeperClient(t, srv, k)
	var events []payin.Event
	h, err := payin.NewHandler(func(_ context.Context, e payin.Event) error { events = append(events, e); return nil }, c)
	require.NoError(t, err)
	h.TracerProvider, h.MeterProvider = k.tp, k.mp
	hs := httptest.NewServer(h)
	t.Cleanup(hs.Close)

	// A forged notification: refused by PayKeeper's handler, no API call.
	forged := paykeepertest.NotificationForm(map[string]string{"id": "97452", "sum": "100.00", "orderid": "ORDER-42"}, "forger")
	resp, err := http.Post(hs.URL+"/notify/paykeeper", "application/x-www-form-urlencoded", strings.NewReader(forged.Encode()))
	require.NoError(t, err)
	_ = resp.Body.Close()
	assert.Equal(t, http.StatusForbidden, resp.StatusCode)
	assert.Empty(t, srv.Requests(), "a forged notification calls no API")
	spans := k.named("payin notification")
	require.Len(t, spans, 1)
	a := spanAttrs(spans[0])
	assert.Equal(t, "paykeeper", a["payments.provider"].AsString())
	assert.Equal(t, "refused", a["payments.result"].AsString())
	assert.Equal(t, int64(http.StatusForbidden), a["http.response.status_code"].AsInt64())
	assert.NotContains(t, a, attribute.Key("payments.reason"), "the provider's handler says why")
	assert.Equal(t, trace.SpanKindServer, spans[0].SpanKind())

	// A genuine one: the payer pays the invoice and the fake notifies.
	co, err := c.Create(context.Background(), payin.Request{OrderRef: "ORDER-7", Amount: payments.MustMoney("100.00", "RUB")})
	require.NoError(t, err)
	before := len(srv.Requests())
	srv.SetSetting("informer_url", hs.URL+"/notify/paykeeper")
	_, err = srv.PayInvoice(co.ID)
	require.NoError(t, err)
	require.Len(t, events, 1)
	spans = k.named("payin notification")
	require.Len(t, spans, 2)
	gs := spans[1]
	a = spanAttrs(gs)
	assert.Equal(t, "accepted", a["payments.result"].AsString())
	assert.Equal(t, int64(http.StatusOK), a["http.response.status_code"].AsInt64())
	assert.Greater(t, len(srv.Requests()), before, "the genuine one was confirmed through the API")
	lookups := k.named("paykeeper payment-byid")
	require.Len(t, lookups, 1)
	assert.True(t, k.descends(lookups[0], gs), "the confirmation is under the router's span")
	// PayKeeper's handler (on its client's providers) records its own span
	// under the router's, internal: one server span per request.
	inner := k.named("paykeeper notification")
	require.Len(t, inner, 2)
	for i, s := range inner {
		assert.Equal(t, k.named("payin notification")[i].SpanContext().SpanID(), s.Parent().SpanID())
		assert.Equal(t, trace.SpanKindInternal, s.SpanKind())
	}
	assert.Equal(t, "signature", spanAttrs(inner[0])["payments.reason"].AsString())
	assert.Equal(t, lookups[0].Parent().SpanID(), inner[1].SpanContext().SpanID())

	// The router's own refusals.
	resp, err = http.Post(hs.URL+"/notify/elsewhere-4111111111111111", "text/plain", strings.NewReader("x"))
	require.NoError(t, err)
	_ = resp.Body.Close()
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)
	resp, err = http.Get(hs.URL + "/notify/paykeeper")
	require.NoError(t, err)
	_ = resp.Body.Close()
	assert.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode)
	spans = k.named("payin notification")
	require.Len(t, spans, 4)
	a = spanAttrs(spans[2])
	assert.Equal(t, "route", a["payments.reason"].AsString())
	assert.NotContains(t, a, attribute.Key("payments.provider"), "the path is the sender's: never an attribute")
	for _, kv := range spans[2].Attributes() {
		assert.NotContains(t, kv.Value.String(), "4111111111111111")
	}
	a = spanAttrs(spans[3])
	assert.Equal(t, "method", a["payments.reason"].AsString())
	assert.Equal(t, "paykeeper", a["payments.provider"].AsString())
	// Each notification counted once: the two PayKeeper's handler decided,
	// the two the router refused.
	assert.Equal(t, map[string]int64{
		"payments.provider=paykeeper,payments.reason=signature,payments.result=refused": 1,
		"payments.provider=paykeeper,payments.reason=,payments.result=accepted":         1,
		"payments.provider=,payments.reason=route,payments.result=refused":              1,
		"payments.provider=paykeeper,payments.reason=method,payments.result=refused":    1,
	}, k.counts(t))
}

// The router counts no notification it routes on (the provider's handler
// does, once): a driver whose handler records nothing adds no count.
func TestHandlerCountsRoutedNotificationsOnce(t *testing.T) {
	k := newOtelKit()
	c, d := payinfake.Mem(t)
	h, err := payin.NewHandler(func(context.Context, payin.Event) error { return nil }, c)
	require.NoError(t, err)
	h.TracerProvider, h.MeterProvider = k.tp, k.mp
	hs := httptest.NewServer(h)
	t.Cleanup(hs.Close)
	d.SetNotifyURL(hs.URL + "/notify/mem")
	co, err := c.Create(context.Background(), payin.Request{OrderRef: "O-1", Amount: payments.MustMoney("10.00", "RUB")})
	require.NoError(t, err)
	require.NoError(t, d.Pay(context.Background(), co.ID))
	spans := k.named("payin notification")
	require.Len(t, spans, 1)
	a := spanAttrs(spans[0])
	assert.Equal(t, "mem", a["payments.provider"].AsString())
	assert.Equal(t, "accepted", a["payments.result"].AsString())
	assert.Equal(t, codes.Unset, spans[0].Status().Code)
	assert.Empty(t, k.counts(t))
}

// A 5xx answer of the provider's handler marks the router's span as an
// error; the span never takes its parent from the request's headers.
func TestHandlerSpanStatusAndParent(t *testing.T) {
	k := newOtelKit()
	c, d := payinfake.Mem(t)
	h, err := payin.NewHandler(func(context.Context, payin.Event) error { return context.DeadlineExceeded }, c)
	require.NoError(t, err)
	h.TracerProvider, h.MeterProvider = k.tp, k.mp
	co, err := c.Create(context.Background(), payin.Request{OrderRef: "O-2", Amount: payments.MustMoney("10.00", "RUB")})
	require.NoError(t, err)
	hs := httptest.NewServer(h)
	t.Cleanup(hs.Close)
	d.SetNotifyURL(hs.URL + "/notify/mem")
	_ = d.Pay(context.Background(), co.ID)
	spans := k.named("payin notification")
	require.Len(t, spans, 1)
	a := spanAttrs(spans[0])
	assert.Equal(t, "refused", a["payments.result"].AsString())
	assert.GreaterOrEqual(t, a["http.response.status_code"].AsInt64(), int64(500))
	assert.Equal(t, codes.Error, spans[0].Status().Code)

	const forgedTrace = "4bf92f3577b34da6a3ce929d0e0e4736"
	r := httptest.NewRequest(http.MethodPost, "/notify/nowhere", strings.NewReader("x"))
	r.Header.Set("traceparent", "00-"+forgedTrace+"-00f067aa0ba902b7-01")
	h.ServeHTTP(httptest.NewRecorder(), r)
	spans = k.named("payin notification")
	require.Len(t, spans, 2)
	assert.False(t, spans[1].Parent().IsValid())
	assert.NotEqual(t, forgedTrace, spans[1].SpanContext().TraceID().String())
}
