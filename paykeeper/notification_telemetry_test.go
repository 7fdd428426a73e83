package paykeeper

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strings"
	"sync"
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
	"github.com/paysdk/payments/paykeeper/paykeepertest"
)

// otelKit is an SDK tracer provider with a span recorder and an SDK meter
// provider with a manual reader, passed explicitly (never the globals:
// tests run in parallel).
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

func (k *otelKit) options() []payments.Option {
	return []payments.Option{payments.WithTracerProvider(k.tp), payments.WithMeterProvider(k.mp)}
}

// named returns the ended spans called name.
func (k *otelKit) named(name string) []sdktrace.ReadOnlySpan {
	var out []sdktrace.ReadOnlySpan
	for _, s := range k.spans.Ended() {
		if s.Name() == name {
			out = append(out, s)
		}
	}
	return out
}

// metric returns the instrument called name, and whether it was collected.
func (k *otelKit) metric(t *testing.T, name string) (metricdata.Metrics, bool) {
	t.Helper()
	var rm metricdata.ResourceMetrics
	require.NoError(t, k.reader.Collect(context.Background(), &rm))
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name == name {
				return m, true
			}
		}
	}
	return metricdata.Metrics{}, false
}

// counts is payments.notifications by its attribute set, encoded
// ("payments.provider=paykeeper,payments.reason=signature,...").
func (k *otelKit) counts(t *testing.T) map[string]int64 {
	t.Helper()
	out := map[string]int64{}
	m, ok := k.metric(t, "payments.notifications")
	if !ok {
		return out
	}
	assert.Equal(t, "{notification}", m.Unit)
	sum, ok := m.Data.(metricdata.Sum[int64])
	require.True(t, ok, "payments.notifications is a %T", m.Data)
	assert.True(t, sum.IsMonotonic)
	for _, dp := range sum.DataPoints {
		keys := []string{}
		for _, kv := range dp.Attributes.ToSlice() {
			keys = append(keys, string(kv.Key))
		}
		assert.Equal(t, []string{"payments.provider", "payments.reason", "payments.result"}, keys, "low-cardinality attributes only")
		out[dp.Attributes.Encoded(attribute.DefaultEncoder())] += dp.Value
	}
	return out
}

// confirmCounts is payments.notifications.confirm.duration's count by its
// attribute set.
func (k *otelKit) confirmCounts(t *testing.T) map[string]uint64 {
	t.Helper()
	out := map[string]uint64{}
	m, ok := k.metric(t, "payments.notifications.confirm.duration")
	if !ok {
		return out
	}
	assert.Equal(t, "s", m.Unit)
	h, ok := m.Data.(metricdata.Histogram[float64])
	require.True(t, ok, "payments.notifications.confirm.duration is a %T", m.Data)
	for _, dp := range h.DataPoints {
		out[dp.Attributes.Encoded(attribute.DefaultEncoder())] += dp.Count
	}
	return out
}

func counted(result, reason string) string {
	return "payments.provider=paykeeper,payments.reason=" + reason + ",payments.result=" + result
}

func spanAttrs(s sdktrace.ReadOnlySpan) map[attribute.Key]attribute.Value {
	m := map[attribute.Key]attribute.Value{}
	for _, kv := range s.Attributes() {
		m[kv.Key] = kv.Value
	}
	return m
}

// assertNoSecret fails if a span attribute or event carries one of secrets.
func assertNoSecret(t *testing.T, k *otelKit, secrets ...string) {
	t.Helper()
	for _, s := range k.spans.Ended() {
		texts := []string{s.Name(), s.Status().Description}
		for _, kv := range s.Attributes() {
			texts = append(texts, kv.Value.String())
		}
		for _, e := range s.Events() {
			texts = append(texts, e.Name)
			for _, kv := range e.Attributes {
				texts = append(texts, kv.Value.String())
			}
		}
		for _, txt := range texts {
			for _, secret := range secrets {
				assert.NotContains(t, txt, secret, "span %q", s.Name())
			}
		}
	}
}

func postForm(h *NotificationHandler, form url.Values) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	h.ServeHTTP(w, notificationRequest(http.MethodPost, form.Encode()))
	return w
}

// THE PROOF TEST of issue 18 for PayKeeper: a forged notification (bad
// signature) is counted refused for "signature" and calls no API, nor does
// a flood of them; a genuine one is accepted and its confirmation
// (GetPayment) is a child of its span; a re-cut forgery (a valid key moved
// to another payment) is looked up and refused as unknown to the API.
func TestNotificationTelemetryForgedAndGenuine(t *testing.T) {
	k := newOtelKit()
	srv := paykeepertest.NewServer(paykeepertest.WithT(t))
	c, err := New(Credentials{User: paykeepertest.DefaultUser, Password: paykeepertest.DefaultPassword},
		append(append(srv.ClientOptions(), payments.WithTestTiming()), k.options()...)...)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	id := srv.AddPayment(paykeepertest.PaymentSpec{Amount: "100.00", ClientID: "Иванов Иван", OrderID: "ORDER-42"})
	rec := &lockedRecorder{}
	h := &NotificationHandler{Secret: confirmSecret, Client: c, Handle: rec.handle, TracerProvider: k.tp, MeterProvider: k.mp}
	genuineFields := map[string]string{"id": id, "sum": "100.00", "clientid": "Иванов Иван", "orderid": "ORDER-42"}
	forged := paykeepertest.NotificationForm(genuineFields, "not-the-seed")

	// One forgery, then a flood of them: no request reaches the API.
	w := postForm(h, forged)
	assert.Equal(t, http.StatusForbidden, w.Code)
	const flood = 200
	var wg sync.WaitGroup
	for i := 0; i < flood; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if w := postForm(h, forged); w.Code != http.StatusForbidden {
				t.Errorf("forgery answered %d", w.Code)
			}
		}()
	}
	wg.Wait()
	assert.Empty(t, srv.Requests(), "a forged notification calls no API")
	assert.Equal(t, map[string]int64{counted("refused", "signature"): 1 + flood}, k.counts(t))
	assert.Empty(t, k.confirmCounts(t), "nothing was confirmed")
	forgedSpans := k.named("paykeeper notification")
	require.Len(t, forgedSpans, 1+flood)
	a := spanAttrs(forgedSpans[0])
	assert.Equal(t, "refused", a["payments.result"].AsString())
	assert.Equal(t, "signature", a["payments.reason"].AsString())
	assert.Equal(t, "paykeeper", a["payments.provider"].AsString())
	assert.Equal(t, int64(http.StatusForbidden), a["http.response.status_code"].AsInt64())
	assert.NotContains(t, a, attribute.Key("payments.provider.id"), "nothing of an unverified form")
	assert.NotContains(t, a, attribute.Key("payments.notification.confirm"))
	assert.Equal(t, trace.SpanKindServer, forgedSpans[0].SpanKind())
	assert.Equal(t, codes.Unset, forgedSpans[0].Status().Code, "a refused forgery is not our error")
	assert.Len(t, k.spans.Ended(), 1+flood, "no operation span: no API call")

	// The genuine notification: accepted, confirmed through the API, whose
	// operation is the notification span's child.
	w = postForm(h, paykeepertest.NotificationForm(genuineFields, confirmSecret))
	require.Equal(t, http.StatusOK, w.Code)
	require.Len(t, rec.all(), 1)
	all := k.named("paykeeper notification")
	require.Len(t, all, 2+flood)
	gs := all[len(all)-1]
	a = spanAttrs(gs)
	assert.Equal(t, "accepted", a["payments.result"].AsString())
	assert.NotContains(t, a, attribute.Key("payments.reason"))
	assert.Equal(t, id, a["payments.provider.id"].AsString())
	assert.Equal(t, "ORDER-42", a["payments.ref"].AsString())
	assert.Equal(t, "api", a["payments.notification.confirm"].AsString())
	assert.Equal(t, "ok", a["payments.notification.confirm.outcome"].AsString())
	assert.True(t, a["payments.notification.confirmed"].AsBool())
	assert.Equal(t, int64(http.StatusOK), a["http.response.status_code"].AsInt64())
	lookups := k.named("paykeeper payment-byid")
	require.Len(t, lookups, 1)
	assert.Equal(t, gs.SpanContext().TraceID(), lookups[0].SpanContext().TraceID())
	assert.Equal(t, gs.SpanContext().SpanID(), lookups[0].Parent().SpanID(), "the confirmation is the notification's child")
	attempts := k.named("paykeeper payment-byid attempt")
	require.Len(t, attempts, 1)
	assert.Equal(t, lookups[0].SpanContext().SpanID(), attempts[0].Parent().SpanID())

	// Its re-send is acknowledged from the cache, with no request.
	before := len(srv.Requests())
	w = postForm(h, paykeepertest.NotificationForm(genuineFields, confirmSecret))
	require.Equal(t, http.StatusOK, w.Code)
	assert.Len(t, srv.Requests(), before, "a re-send costs no lookup")
	all = k.named("paykeeper notification")
	a = spanAttrs(all[len(all)-1])
	assert.Equal(t, "cache", a["payments.notification.confirm"].AsString())
	assert.True(t, a["payments.notification.confirmed"].AsBool())
	assert.NotContains(t, a, attribute.Key("payments.notification.confirm.outcome"), "no API read")

	// A re-cut of it (same key, payment 9745 of 2100.00) is looked up and
	// refused: the API knows no such payment.
	recutFields := map[string]string{"id": id[:len(id)-1], "sum": id[len(id)-1:] + "100.00", "clientid": "Иванов Иван", "orderid": "ORDER-42"}
	require.Equal(t, paykeepertest.NotificationForm(genuineFields, confirmSecret).Get("key"), paykeepertest.NotificationForm(recutFields, confirmSecret).Get("key"))
	w = postForm(h, paykeepertest.NotificationForm(recutFields, confirmSecret))
	assert.Equal(t, http.StatusForbidden, w.Code)
	all = k.named("paykeeper notification")
	rs := all[len(all)-1]
	a = spanAttrs(rs)
	assert.Equal(t, "confirm_not_found", a["payments.reason"].AsString())
	assert.Equal(t, "not_found", a["payments.notification.confirm.outcome"].AsString())
	assert.False(t, a["payments.notification.confirmed"].AsBool())
	lookups = k.named("paykeeper payment-byid")
	require.Len(t, lookups, 2)
	assert.Equal(t, rs.SpanContext().SpanID(), lookups[1].Parent().SpanID())
	require.Len(t, rec.all(), 2, "Handle saw the genuine notification and its re-send, never the re-cut")

	assert.Equal(t, map[string]int64{
		counted("refused", "signature"):         1 + flood,
		counted("accepted", ""):                 2,
		counted("refused", "confirm_not_found"): 1,
	}, k.counts(t))
	assert.Equal(t, map[string]uint64{
		"payments.outcome=ok,payments.provider=paykeeper":        1,
		"payments.outcome=not_found,payments.provider=paykeeper": 1,
	}, k.confirmCounts(t), "one confirmation per lookup, none for the cache")
	assertNoSecret(t, k, confirmSecret, forged.Get("key"), paykeepertest.NotificationForm(genuineFields, confirmSecret).Get("key"), paykeepertest.DefaultPassword)
}

// Every way a notification ends has its result, reason, status and
// confirmation attributes, and is counted once.
func TestNotificationTelemetryReasons(t *testing.T) {
	paid := `[{"id":"30","pay_amount":"1100.00","orderid":"A-1","status":"success"}]`
	fields := map[string]string{"id": "30", "sum": "1100.00", "orderid": "A-1"}
	signed := paykeepertest.NotificationForm(fields, confirmSecret).Encode()
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	cases := []struct {
		name    string
		answer  answer
		setup   func(h *NotificationHandler)
		req     func() *http.Request
		status  int
		result  string
		reason  string
		confirm string // payments.notification.confirm; "" when absent
		outcome string // payments.notification.confirm.outcome; "" when absent
	}{
		{name: "accepted", answer: answer{200, paid, nil}, status: 200, result: "accepted", confirm: "api", outcome: "ok"},
		{name: "skipped", setup: func(h *NotificationHandler) { h.SkipConfirmation, h.Client = true, nil },
			status: 200, result: "accepted", confirm: "skipped"},
		{name: "config", setup: func(h *NotificationHandler) { h.Secret = "" }, status: 500, result: "refused", reason: "config"},
		{name: "method", req: func() *http.Request { return notificationRequest(http.MethodGet, signed) },
			status: 405, result: "refused", reason: "method"},
		{name: "content type", req: func() *http.Request {
			r := notificationRequest(http.MethodPost, signed)
			r.Header.Set("Content-Type", "text/plain")
			return r
		}, status: 415, result: "refused", reason: "content_type"},
		{name: "size", setup: func(h *NotificationHandler) { h.MaxBodyBytes = 10 }, status: 413, result: "refused", reason: "size"},
		{name: "read", req: func() *http.Request {
			r := httptest.NewRequest(http.MethodPost, "/paykeeper/informer", errReader{})
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			return r
		}, status: 400, result: "refused", reason: "read"},
		{name: "parse", req: func() *http.Request { return notificationRequest(http.MethodPost, "id=30&key=abc") },
			status: 400, result: "refused", reason: "parse"},
		{name: "signature", setup: func(h *NotificationHandler) { h.Secret = "another-seed" }, status: 403, result: "refused", reason: "signature"},
		{name: "budget", setup: func(h *NotificationHandler) {
			st := h.state()
			st.budget.mu.Lock()
			st.budget.held = st.budget.maxHeld
			st.budget.mu.Unlock()
		}, status: 503, result: "refused", reason: "budget"},
		{name: "canceled", req: func() *http.Request {
			return notificationRequest(http.MethodPost, signed).WithContext(canceled)
		}, status: 503, result: "refused", reason: "canceled", confirm: "api", outcome: "canceled"},
		{name: "unknown to the API", answer: answer{200, `[]`, nil}, status: 403, result: "refused", reason: "confirm_not_found", confirm: "api", outcome: "not_found"},
		{name: "other sum", answer: answer{200, `[{"id":"30","pay_amount":"100.00","orderid":"A-1","status":"success"}]`, nil},
			status: 403, result: "refused", reason: "confirm_mismatch", confirm: "api", outcome: "ok"},
		{name: "not paid", answer: answer{200, `[{"id":"30","pay_amount":"1100.00","orderid":"A-1","status":"pending"}]`, nil},
			status: 403, result: "refused", reason: "confirm_mismatch", confirm: "api", outcome: "ok"},
		{name: "API down", answer: answer{500, `oops`, nil}, status: 503, result: "refused", reason: "confirm_failed", confirm: "api", outcome: "refused"},
		{name: "API unreadable", answer: answer{200, `<html>maintenance</html>`, nil}, status: 503, result: "refused", reason: "confirm_failed", confirm: "api", outcome: "error"},
		{name: "handler", answer: answer{200, paid, nil}, setup: func(h *NotificationHandler) {
			h.Handle = func(context.Context, Notification) error { return errors.New("database down") }
		}, status: 500, result: "refused", reason: "handler", confirm: "api", outcome: "ok"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			k := newOtelKit()
			a := tc.answer
			if a.status == 0 {
				a = answer{200, paid, nil}
			}
			c, _ := mockAnswers(t, a)
			h := &NotificationHandler{Secret: confirmSecret, Client: c, Handle: func(context.Context, Notification) error { return nil },
				TracerProvider: k.tp, MeterProvider: k.mp}
			if tc.setup != nil {
				tc.setup(h)
			}
			r := notificationRequest(http.MethodPost, signed)
			if tc.req != nil {
				r = tc.req()
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			assert.Equal(t, tc.status, w.Code)
			assert.Equal(t, map[string]int64{counted(tc.result, tc.reason): 1}, k.counts(t))
			spans := k.named("paykeeper notification")
			require.Len(t, spans, 1)
			s := spans[0]
			attrs := spanAttrs(s)
			assert.Equal(t, tc.result, attrs["payments.result"].AsString())
			assert.Equal(t, int64(tc.status), attrs["http.response.status_code"].AsInt64())
			if tc.reason == "" {
				assert.NotContains(t, attrs, attribute.Key("payments.reason"))
			} else {
				assert.Equal(t, tc.reason, attrs["payments.reason"].AsString())
			}
			assert.Equal(t, tc.confirm, attrs["payments.notification.confirm"].AsString())
			assert.Equal(t, tc.outcome, attrs["payments.notification.confirm.outcome"].AsString())
			if tc.confirm != "" {
				borneOut := tc.outcome == "ok" && tc.reason != "confirm_mismatch"
				assert.Equal(t, borneOut, attrs["payments.notification.confirmed"].AsBool())
			}
			if tc.status >= 500 {
				assert.Equal(t, codes.Error, s.Status().Code)
				assert.Equal(t, tc.reason, s.Status().Description)
			} else {
				assert.Equal(t, codes.Unset, s.Status().Code)
			}
			// A confirmation through the API is measured once; nothing else is.
			got := k.confirmCounts(t)
			if tc.confirm == "api" {
				assert.Equal(t, map[string]uint64{"payments.outcome=" + tc.outcome + ",payments.provider=paykeeper": 1}, got)
			} else {
				assert.Empty(t, got)
			}
		})
	}
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("connection reset") }

// The span's parent is the request's context, never a trace context from
// the request's headers: a forger could choose our trace ids. Under a
// middleware's span it is an internal span, its child.
func TestNotificationSpanParent(t *testing.T) {
	k := newOtelKit()
	h := &NotificationHandler{Secret: confirmSecret, SkipConfirmation: true, Handle: func(context.Context, Notification) error { return nil },
		TracerProvider: k.tp, MeterProvider: k.mp}
	body := paykeepertest.NotificationForm(map[string]string{"id": "30", "sum": "1100.00"}, confirmSecret).Encode()

	const forgedTrace = "4bf92f3577b34da6a3ce929d0e0e4736"
	r := notificationRequest(http.MethodPost, body)
	r.Header.Set("traceparent", "00-"+forgedTrace+"-00f067aa0ba902b7-01")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	require.Equal(t, http.StatusOK, w.Code)
	spans := k.named("paykeeper notification")
	require.Len(t, spans, 1)
	assert.False(t, spans[0].Parent().IsValid(), "a root span: the header is not its parent")
	assert.NotEqual(t, forgedTrace, spans[0].SpanContext().TraceID().String())
	assert.Equal(t, trace.SpanKindServer, spans[0].SpanKind())

	ctx, mw := k.tp.Tracer("middleware").Start(context.Background(), "POST /paykeeper/informer", trace.WithSpanKind(trace.SpanKindServer))
	w = httptest.NewRecorder()
	h.ServeHTTP(w, notificationRequest(http.MethodPost, body).WithContext(ctx))
	mw.End()
	require.Equal(t, http.StatusOK, w.Code)
	spans = k.named("paykeeper notification")
	require.Len(t, spans, 2)
	assert.Equal(t, mw.SpanContext().SpanID(), spans[1].Parent().SpanID())
	assert.Equal(t, trace.SpanKindInternal, spans[1].SpanKind(), "one server span per request")
}

// With no provider of its own, the handler takes the Client's (set with
// payments.WithTracerProvider and WithMeterProvider).
func TestNotificationTelemetryDefaultsToTheClients(t *testing.T) {
	k := newOtelKit()
	mock := newPaidMock(t)
	c, err := New(Credentials{User: "demo", Password: testPassword}, append([]payments.Option{payments.WithBaseURL(base),
		payments.WithTransport(mock), payments.WithTestTiming()}, k.options()...)...)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	h := &NotificationHandler{Secret: confirmSecret, Client: c, Handle: func(context.Context, Notification) error { return nil }}
	w := postForm(h, paykeepertest.NotificationForm(map[string]string{"id": "30", "sum": "1100.00", "orderid": "A-1"}, confirmSecret))
	require.Equal(t, http.StatusOK, w.Code)
	require.Len(t, k.named("paykeeper notification"), 1)
	assert.Equal(t, map[string]int64{counted("accepted", ""): 1}, k.counts(t))
}

// newPaidMock answers every request with payment 30 of 1100.00, paid.
func newPaidMock(t *testing.T) http.RoundTripper {
	t.Helper()
	return roundTripper(func(r *http.Request) (*http.Response, error) {
		rec := httptest.NewRecorder()
		rec.WriteHeader(http.StatusOK)
		_, _ = rec.WriteString(`[{"id":"30","pay_amount":"1100.00","orderid":"A-1","status":"success"}]`)
		return rec.Result(), nil
	})
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// The metric attribute sets stay within the fixed vocabulary whatever is
// posted: no id, order id or path reaches them.
func TestNotificationMetricsLowCardinality(t *testing.T) {
	k := newOtelKit()
	c, _ := mockAnswers(t, answer{200, `[]`, nil})
	h := &NotificationHandler{Secret: confirmSecret, Client: c, Handle: func(context.Context, Notification) error { return nil },
		TracerProvider: k.tp, MeterProvider: k.mp, MaxConfirmations: 50, ConfirmRate: 1e6}
	for i := 0; i < 30; i++ {
		id := strings.Repeat("7", 1+i%9) + "1"
		postForm(h, paykeepertest.NotificationForm(map[string]string{"id": id, "sum": "1.00", "orderid": "ORDER-" + id}, confirmSecret))
		postForm(h, paykeepertest.NotificationForm(map[string]string{"id": id, "sum": "1.00", "orderid": "ORDER-" + id}, "forger"))
	}
	counts := k.counts(t)
	keys := make([]string, 0, len(counts))
	for key := range counts {
		keys = append(keys, key)
	}
	sort.Strings(keys)
	assert.Equal(t, []string{counted("refused", "confirm_not_found"), counted("refused", "signature")}, keys)
}
