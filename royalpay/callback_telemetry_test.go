package royalpay

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
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
	"github.com/paysdk/payments/royalpay/royalpaytest"
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

// children returns the ended spans whose parent is s.
func (k *otelKit) children(s sdktrace.ReadOnlySpan) []sdktrace.ReadOnlySpan {
	var out []sdktrace.ReadOnlySpan
	for _, c := range k.spans.Ended() {
		if c.Parent().SpanID() == s.SpanContext().SpanID() && c.Parent().TraceID() == s.SpanContext().TraceID() {
			out = append(out, c)
		}
	}
	return out
}

func (k *otelKit) collect(t *testing.T, name string) (metricdata.Metrics, bool) {
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

// counts is payments.notifications by its encoded attribute set.
func (k *otelKit) counts(t *testing.T) map[string]int64 {
	t.Helper()
	out := map[string]int64{}
	m, ok := k.collect(t, "payments.notifications")
	if !ok {
		return out
	}
	assert.Equal(t, "{notification}", m.Unit)
	sum, ok := m.Data.(metricdata.Sum[int64])
	require.True(t, ok, "payments.notifications is a %T", m.Data)
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
// encoded attribute set.
func (k *otelKit) confirmCounts(t *testing.T) map[string]uint64 {
	t.Helper()
	out := map[string]uint64{}
	m, ok := k.collect(t, "payments.notifications.confirm.duration")
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
	return "payments.provider=royalpay,payments.reason=" + reason + ",payments.result=" + result
}

func confirmOutcome(outcome string) string {
	return "payments.outcome=" + outcome + ",payments.provider=royalpay"
}

func spanAttrs(s sdktrace.ReadOnlySpan) map[attribute.Key]attribute.Value {
	m := map[attribute.Key]attribute.Value{}
	for _, kv := range s.Attributes() {
		m[kv.Key] = kv.Value
	}
	return m
}

// assertNoSecret fails if a span's name, status, attribute or event
// carries one of secrets.
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

const telCBToken = "cb-static-token-7f3a"

// THE PROOF TEST of issue 18 for RoyalPay pay-in callbacks: forged
// callbacks (a wrong source, a wrong bearer token, a payment Known says
// the merchant never made) and a flood of them are counted refused with
// their reason and reach no API; the genuine callback the fake posts is
// accepted with its confirmation (GetPayment) as its child span.
func TestCallbackTelemetryForgedAndGenuine(t *testing.T) {
	k := newOtelKit()
	srv := royalpaytest.NewServer(royalpaytest.WithT(t), royalpaytest.WithCallbackToken(telCBToken))
	c := fakeClient(t, srv, k.options()...)
	var mu sync.Mutex
	var events []Event
	mine := map[string]bool{"ORD-T1": true}
	h := &CallbackHandler{Client: c, BearerToken: telCBToken, ConfirmRate: fastRate, TracerProvider: k.tp, MeterProvider: k.mp,
		AllowedSources: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")},
		Known:          func(_ context.Context, _ int64, outterID string) (bool, error) { return mine[outterID], nil },
		Handle: func(_ context.Context, e Event) error {
			mu.Lock()
			defer mu.Unlock()
			events = append(events, e)
			return nil
		}}
	rcv := httptest.NewServer(h)
	t.Cleanup(rcv.Close)
	p, err := c.CreatePayment(context.Background(), CreateParams{Sum: payments.MustDecimal("1500"), Type: TypeSBP, OutterID: "ORD-T1", CallbackURL: rcv.URL})
	require.NoError(t, err)
	before := len(srv.Requests())
	opsBefore := len(k.spans.Ended())

	forged := `{"id":` + strconv.FormatInt(p.ID, 10) + `,"status":"completed","amount":"999999.00","outter_id":"ORD-T1"}`
	post := func(body, auth, remote string) int {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, callbackRequest(body, auth, remote))
		return w.Code
	}
	assert.Equal(t, http.StatusForbidden, post(forged, "Bearer "+telCBToken, "10.0.0.1:5000"), "forged source")
	assert.Equal(t, http.StatusUnauthorized, post(forged, "Bearer forged", "127.0.0.1:5000"), "forged token")
	assert.Equal(t, http.StatusBadRequest, post(`{"id":777,"status":"completed","outter_id":"NOT-MINE"}`, "Bearer "+telCBToken, "127.0.0.1:5000"), "unknown payment")
	const flood = 200
	var wg sync.WaitGroup
	for i := 0; i < flood; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			auth := "Bearer forged-" + strconv.Itoa(i)
			if code := post(forged, auth, "127.0.0.1:5000"); code != http.StatusUnauthorized {
				t.Errorf("forgery answered %d", code)
			}
		}(i)
	}
	wg.Wait()
	assert.Len(t, srv.Requests(), before, "no forged callback reached the API")
	assert.Len(t, k.spans.Ended(), opsBefore+3+flood, "the callbacks' spans and nothing else")
	assert.Equal(t, map[string]int64{
		counted("refused", "source"):          1,
		counted("refused", "auth"):            1 + flood,
		counted("refused", "unknown_payment"): 1,
	}, k.counts(t))
	assert.Empty(t, k.confirmCounts(t))
	refused := k.named("royalpay callback")
	require.Len(t, refused, 3+flood)
	a := spanAttrs(refused[0])
	assert.Equal(t, "source", a["payments.reason"].AsString())
	assert.Equal(t, int64(http.StatusForbidden), a["http.response.status_code"].AsInt64())
	assert.NotContains(t, a, attribute.Key("payments.provider.id"), "the body of an unauthenticated callback is not read")
	a = spanAttrs(refused[2])
	assert.Equal(t, "unknown_payment", a["payments.reason"].AsString())
	assert.Equal(t, "777", a["payments.provider.id"].AsString())
	assert.Equal(t, "NOT-MINE", a["payments.ref"].AsString())
	assert.NotContains(t, a, attribute.Key("payments.notification.confirm"), "nothing asked of the API")

	// The genuine callback, posted by the fake when the payer pays.
	res, err := srv.Complete(p.ID)
	require.NoError(t, err)
	require.NoError(t, res.Err)
	require.Equal(t, http.StatusOK, res.Status)
	mu.Lock()
	require.Len(t, events, 1)
	assert.Equal(t, StatusCompleted, events[0].Payment.Status)
	mu.Unlock()
	all := k.named("royalpay callback")
	require.Len(t, all, 4+flood)
	gs := all[len(all)-1]
	a = spanAttrs(gs)
	assert.Equal(t, "accepted", a["payments.result"].AsString())
	assert.NotContains(t, a, attribute.Key("payments.reason"))
	assert.Equal(t, strconv.FormatInt(p.ID, 10), a["payments.provider.id"].AsString())
	assert.Equal(t, "ORD-T1", a["payments.ref"].AsString())
	assert.Equal(t, "api", a["payments.notification.confirm"].AsString())
	assert.Equal(t, "ok", a["payments.notification.confirm.outcome"].AsString())
	assert.True(t, a["payments.notification.confirmed"].AsBool())
	assert.Equal(t, trace.SpanKindServer, gs.SpanKind())
	kids := k.children(gs)
	require.NotEmpty(t, kids, "the confirmation is the callback's child")
	for _, kid := range kids {
		assert.True(t, strings.HasPrefix(kid.Name(), "royalpay "), kid.Name())
		assert.Equal(t, trace.SpanKindClient, kid.SpanKind())
	}
	assert.Equal(t, map[string]int64{
		counted("refused", "source"):          1,
		counted("refused", "auth"):            1 + flood,
		counted("refused", "unknown_payment"): 1,
		counted("accepted", ""):               1,
	}, k.counts(t))
	assert.Equal(t, map[string]uint64{confirmOutcome("ok"): 1}, k.confirmCounts(t))
	assertNoSecret(t, k, telCBToken, srv.Token(), "forged-")
}

// THE PROOF TEST for RoyalPay payout callbacks: a forged one (a wrong
// token) is refused for auth with no API call; the genuine wait_confirm
// the fake posts is accepted with its PayoutByOutterID as a child span;
// one the API does not have under that outter_id is refused.
func TestPayoutCallbackTelemetry(t *testing.T) {
	k := newOtelKit()
	srv := royalpaytest.NewServer(royalpaytest.WithT(t), royalpaytest.WithCallbackToken(telCBToken))
	c, err := New(Credentials{PayoutToken: royalpaytest.DefaultPayoutToken},
		append(append(srv.ClientOptions(), payments.WithTestTiming(), payments.WithLimiter(payments.Unlimited())), k.options()...)...)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	handled := 0
	h := &PayoutCallbackHandler{Client: c, BearerToken: telCBToken, ConfirmRate: fastRate, TracerProvider: k.tp, MeterProvider: k.mp,
		Handle: func(context.Context, PayoutEvent) error { handled++; return nil }}
	rcv := httptest.NewServer(h)
	t.Cleanup(rcv.Close)
	srv.SetPayoutCallbackURL(rcv.URL)
	p, err := c.CreatePayout(context.Background(), PayoutParams{Method: PayoutInterbank, Requisite: "4111111111111111",
		Amount: payments.MustDecimal("1500"), OutterID: "PO-T1"})
	require.NoError(t, err)
	before := len(srv.Requests())
	id := strconv.FormatInt(p.ID, 10)

	post := func(auth, body string) int {
		r := httptest.NewRequest(http.MethodPost, "/payout-callback", strings.NewReader(body))
		r.Header.Set("Authorization", auth)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w.Code
	}
	assert.Equal(t, http.StatusUnauthorized, post("Bearer forged", `{"id":`+id+`,"status":"completed","outter_id":"PO-T1"}`))
	assert.Len(t, srv.Requests(), before, "a forged payout callback reaches no API")
	assert.Equal(t, map[string]int64{counted("refused", "auth"): 1}, k.counts(t))

	res, err := srv.WaitConfirm(p.ID)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, res.Status)
	assert.Equal(t, 1, handled)
	spans := k.named("royalpay payout callback")
	require.Len(t, spans, 2)
	gs := spans[1]
	a := spanAttrs(gs)
	assert.Equal(t, "accepted", a["payments.result"].AsString())
	assert.Equal(t, id, a["payments.provider.id"].AsString())
	assert.Equal(t, "PO-T1", a["payments.ref"].AsString())
	assert.Equal(t, "ok", a["payments.notification.confirm.outcome"].AsString())
	assert.True(t, a["payments.notification.confirmed"].AsBool())
	kids := k.children(gs)
	require.NotEmpty(t, kids, "the PayoutByOutterID is the callback's child")
	for _, kid := range kids {
		assert.True(t, strings.HasPrefix(kid.Name(), "royalpay "), kid.Name())
	}

	// Another id under that outter_id: the API bears it out not.
	assert.Equal(t, http.StatusBadRequest, post("Bearer "+telCBToken, `{"id":99999,"status":"completed","outter_id":"PO-T1"}`))
	spans = k.named("royalpay payout callback")
	require.Len(t, spans, 3)
	a = spanAttrs(spans[2])
	assert.Equal(t, "confirm_mismatch", a["payments.reason"].AsString())
	assert.False(t, a["payments.notification.confirmed"].AsBool())
	assert.Equal(t, map[string]int64{
		counted("refused", "auth"):             1,
		counted("accepted", ""):                1,
		counted("refused", "confirm_mismatch"): 1,
	}, k.counts(t))
	assert.Equal(t, map[string]uint64{confirmOutcome("ok"): 2}, k.confirmCounts(t))
	assertNoSecret(t, k, telCBToken, royalpaytest.DefaultPayoutToken, "4111111111111111")
}

// Every way a pay-in callback ends has its result, reason, status and
// confirmation attributes, and is counted once.
func TestCallbackTelemetryReasons(t *testing.T) {
	const good = `{"id":1,"status":"completed","outter_id":"O-1"}`
	paid := `{"id":1,"status":"completed","sum":"100.00","outter_id":"O-1"}`
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	cases := []struct {
		name           string
		status         int // the mock API's answer
		body           string
		setup          func(h *CallbackHandler)
		req            func() *http.Request
		want           int
		result, reason string
		confirm        string // payments.notification.confirm; "" when absent
		outcome        string // payments.notification.confirm.outcome; "" when absent
		confirmed      bool
	}{
		{name: "accepted", want: 200, result: "accepted", confirm: "api", outcome: "ok", confirmed: true},
		{name: "skipped", setup: func(h *CallbackHandler) { h.SkipConfirm = true }, want: 200, result: "accepted", confirm: "skipped"},
		{name: "config", setup: func(h *CallbackHandler) { h.Handle = nil }, want: 500, result: "refused", reason: "config"},
		{name: "method", req: func() *http.Request { return httptest.NewRequest(http.MethodGet, "/cb", nil) }, want: 405, result: "refused", reason: "method"},
		{name: "source", setup: func(h *CallbackHandler) { h.AllowedSources = []netip.Prefix{netip.MustParsePrefix("10.9.9.9/32")} },
			want: 403, result: "refused", reason: "source"},
		{name: "auth", req: func() *http.Request { return callbackRequest(good, "Bearer nope", "") }, want: 401, result: "refused", reason: "auth"},
		{name: "size", setup: func(h *CallbackHandler) { h.MaxBodyBytes = 8 }, want: 413, result: "refused", reason: "size"},
		{name: "read", req: func() *http.Request {
			r := httptest.NewRequest(http.MethodPost, "/cb", errReader{})
			r.Header.Set("Authorization", "Bearer cb-secret")
			return r
		}, want: 400, result: "refused", reason: "read"},
		{name: "parse", req: func() *http.Request { return callbackRequest(`{"status":"completed"}`, "Bearer cb-secret", "") },
			want: 400, result: "refused", reason: "parse"},
		{name: "unknown payment", setup: func(h *CallbackHandler) {
			h.Known = func(context.Context, int64, string) (bool, error) { return false, nil }
		}, want: 400, result: "refused", reason: "unknown_payment"},
		{name: "known failed", setup: func(h *CallbackHandler) {
			h.Known = func(context.Context, int64, string) (bool, error) { return false, errors.New("db down") }
		}, want: 503, result: "refused", reason: "known_failed"},
		{name: "budget", setup: func(h *CallbackHandler) {
			st := h.state()
			st.mu.Lock()
			st.held = st.maxHeld
			st.mu.Unlock()
		}, want: 503, result: "refused", reason: "budget"},
		{name: "canceled", req: func() *http.Request { return callbackRequest(good, "Bearer cb-secret", "").WithContext(canceled) },
			want: 503, result: "refused", reason: "canceled", confirm: "api", outcome: "canceled"},
		{name: "unknown to the API", status: 404, body: `{"detail":"Not found."}`, want: 400, result: "refused", reason: "confirm_not_found",
			confirm: "api", outcome: "not_found"},
		{name: "API down", status: 500, body: `{"detail":"oops"}`, want: 503, result: "refused", reason: "confirm_failed", confirm: "api", outcome: "refused"},
		{name: "other outter_id", body: `{"id":1,"status":"completed","sum":"100.00","outter_id":"O-2"}`, want: 400, result: "refused",
			reason: "confirm_mismatch", confirm: "api", outcome: "ok"},
		{name: "handler", setup: func(h *CallbackHandler) {
			h.Handle = func(context.Context, Event) error { return errors.New("db down") }
		}, want: 500, result: "refused", reason: "handler", confirm: "api", outcome: "ok", confirmed: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			k := newOtelKit()
			status, body := 200, paid
			if tc.status != 0 {
				status = tc.status
			}
			if tc.body != "" {
				body = tc.body
			}
			c, _ := mockClient(t, status, body)
			h := &CallbackHandler{Client: c, BearerToken: "cb-secret", ConfirmRate: fastRate, TracerProvider: k.tp, MeterProvider: k.mp,
				Handle: func(context.Context, Event) error { return nil }}
			if tc.setup != nil {
				tc.setup(h)
			}
			r := callbackRequest(good, "Bearer cb-secret", "")
			if tc.req != nil {
				r = tc.req()
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			assert.Equal(t, tc.want, w.Code)
			assert.Equal(t, map[string]int64{counted(tc.result, tc.reason): 1}, k.counts(t))
			spans := k.named("royalpay callback")
			require.Len(t, spans, 1)
			s := spans[0]
			a := spanAttrs(s)
			assert.Equal(t, tc.result, a["payments.result"].AsString())
			assert.Equal(t, int64(tc.want), a["http.response.status_code"].AsInt64())
			if tc.reason == "" {
				assert.NotContains(t, a, attribute.Key("payments.reason"))
			} else {
				assert.Equal(t, tc.reason, a["payments.reason"].AsString())
			}
			assert.Equal(t, tc.confirm, a["payments.notification.confirm"].AsString())
			assert.Equal(t, tc.outcome, a["payments.notification.confirm.outcome"].AsString())
			if tc.confirm != "" {
				assert.Equal(t, tc.confirmed, a["payments.notification.confirmed"].AsBool())
			}
			if tc.want >= 500 {
				assert.Equal(t, codes.Error, s.Status().Code)
				assert.Equal(t, tc.reason, s.Status().Description)
			} else {
				assert.Equal(t, codes.Unset, s.Status().Code)
			}
			got := k.confirmCounts(t)
			if tc.confirm == "api" {
				assert.Equal(t, map[string]uint64{confirmOutcome(tc.outcome): 1}, got)
			} else {
				assert.Empty(t, got)
			}
		})
	}
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("connection reset") }

// The payout handler's refusals before the API carry their reasons too.
func TestPayoutCallbackTelemetryReasons(t *testing.T) {
	c, log := mockClient(t, 200, `{}`)
	for _, tc := range []struct {
		name, auth, body string
		setup            func(h *PayoutCallbackHandler)
		want             int
		reason           string
	}{
		{name: "config", auth: "Bearer cb-secret", body: `{"id":1,"status":"completed","outter_id":"PO"}`,
			setup: func(h *PayoutCallbackHandler) { h.Client = nil }, want: 500, reason: "config"},
		{name: "auth", auth: "Bearer nope", body: `{"id":1,"status":"completed","outter_id":"PO"}`, want: 401, reason: "auth"},
		{name: "size", auth: "Bearer cb-secret", body: `{"id":1,"status":"completed","outter_id":"PO","pad":"` + strings.Repeat("x", 100) + `"}`,
			setup: func(h *PayoutCallbackHandler) { h.MaxBodyBytes = 50 }, want: 413, reason: "size"},
		{name: "parse", auth: "Bearer cb-secret", body: `[]`, want: 400, reason: "parse"},
		{name: "no outter_id", auth: "Bearer cb-secret", body: `{"id":1,"status":"completed"}`, want: 400, reason: "parse"},
		{name: "unknown payout", auth: "Bearer cb-secret", body: `{"id":1,"status":"completed","outter_id":"PO"}`,
			setup: func(h *PayoutCallbackHandler) {
				h.Known = func(context.Context, int64, string) (bool, error) { return false, nil }
			}, want: 400, reason: "unknown_payment"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k := newOtelKit()
			h := &PayoutCallbackHandler{Client: c, BearerToken: "cb-secret", TracerProvider: k.tp, MeterProvider: k.mp,
				Handle: func(context.Context, PayoutEvent) error { return nil }}
			if tc.setup != nil {
				tc.setup(h)
			}
			r := httptest.NewRequest(http.MethodPost, "/payout-callback", strings.NewReader(tc.body))
			r.Header.Set("Authorization", tc.auth)
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			assert.Equal(t, tc.want, w.Code)
			assert.Equal(t, map[string]int64{counted("refused", tc.reason): 1}, k.counts(t))
			spans := k.named("royalpay payout callback")
			require.Len(t, spans, 1)
			assert.Equal(t, tc.reason, spanAttrs(spans[0])["payments.reason"].AsString())
		})
	}
	assert.Empty(t, *log, "refused before any API call")
}

// The span's parent is the request's context, never a trace context from
// the request's headers; under a middleware's span it is internal.
func TestCallbackSpanParent(t *testing.T) {
	k := newOtelKit()
	h := &CallbackHandler{SkipConfirm: true, BearerToken: "cb-secret", TracerProvider: k.tp, MeterProvider: k.mp,
		Handle: func(context.Context, Event) error { return nil }}
	const forgedTrace = "4bf92f3577b34da6a3ce929d0e0e4736"
	r := callbackRequest(`{"id":1,"status":"completed"}`, "Bearer cb-secret", "")
	r.Header.Set("traceparent", "00-"+forgedTrace+"-00f067aa0ba902b7-01")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	require.Equal(t, http.StatusOK, w.Code)
	spans := k.named("royalpay callback")
	require.Len(t, spans, 1)
	assert.False(t, spans[0].Parent().IsValid())
	assert.NotEqual(t, forgedTrace, spans[0].SpanContext().TraceID().String())
	assert.Equal(t, trace.SpanKindServer, spans[0].SpanKind())

	ctx, mw := k.tp.Tracer("middleware").Start(context.Background(), "POST /cb", trace.WithSpanKind(trace.SpanKindServer))
	w = httptest.NewRecorder()
	h.ServeHTTP(w, callbackRequest(`{"id":1,"status":"completed"}`, "Bearer cb-secret", "").WithContext(ctx))
	mw.End()
	require.Equal(t, http.StatusOK, w.Code)
	spans = k.named("royalpay callback")
	require.Len(t, spans, 2)
	assert.Equal(t, mw.SpanContext().SpanID(), spans[1].Parent().SpanID())
	assert.Equal(t, trace.SpanKindInternal, spans[1].SpanKind())
}

// With no provider of its own, a handler takes the Client's.
func TestCallbackTelemetryDefaultsToTheClients(t *testing.T) {
	k := newOtelKit()
	srv := royalpaytest.NewServer(royalpaytest.WithT(t))
	c := fakeClient(t, srv, k.options()...)
	h := &CallbackHandler{Client: c, SkipConfirm: true, BearerToken: "cb-secret", Handle: func(context.Context, Event) error { return nil }}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, callbackRequest(`{"id":1,"status":"completed"}`, "Bearer cb-secret", ""))
	require.Equal(t, http.StatusOK, w.Code)
	require.Len(t, k.named("royalpay callback"), 1)
	assert.Equal(t, map[string]int64{counted("accepted", ""): 1}, k.counts(t))
}
