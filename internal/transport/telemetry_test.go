package transport

// The attempt loop's OpenTelemetry spans, measurements and log lines.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jarcoal/httpmock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/paysdk/payments"
)

// otelKit is a tracer provider recording every span and a meter provider
// read by hand, given to the client through its options (never the
// globals: tests run in parallel).
type otelKit struct {
	tp     *sdktrace.TracerProvider
	sr     *tracetest.SpanRecorder
	reader *sdkmetric.ManualReader
	mp     *sdkmetric.MeterProvider
}

func newOtelKit() *otelKit {
	k := &otelKit{sr: tracetest.NewSpanRecorder(), reader: sdkmetric.NewManualReader()}
	k.tp = sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(k.sr))
	k.mp = sdkmetric.NewMeterProvider(sdkmetric.WithReader(k.reader))
	return k
}

func (k *otelKit) options() []payments.Option {
	return []payments.Option{payments.WithTracerProvider(k.tp), payments.WithMeterProvider(k.mp)}
}

func (k *otelKit) named(name string) []sdktrace.ReadOnlySpan {
	var out []sdktrace.ReadOnlySpan
	for _, s := range k.sr.Ended() {
		if s.Name() == name {
			out = append(out, s)
		}
	}
	return out
}

// one returns the only ended span called name.
func (k *otelKit) one(t *testing.T, name string) sdktrace.ReadOnlySpan {
	t.Helper()
	spans := k.named(name)
	require.Len(t, spans, 1, "spans called %q among %v", name, k.names())
	return spans[0]
}

func (k *otelKit) names() []string {
	var out []string
	for _, s := range k.sr.Ended() {
		out = append(out, s.Name())
	}
	return out
}

// children returns the ended spans called name whose parent is parent, in
// the order they ended.
func (k *otelKit) children(parent sdktrace.ReadOnlySpan, name string) []sdktrace.ReadOnlySpan {
	var out []sdktrace.ReadOnlySpan
	for _, s := range k.sr.Ended() {
		if s.Name() == name && s.Parent().SpanID() == parent.SpanContext().SpanID() {
			out = append(out, s)
		}
	}
	return out
}

func attrs(kvs []attribute.KeyValue) map[string]string {
	m := map[string]string{}
	for _, kv := range kvs {
		m[string(kv.Key)] = kv.Value.String()
	}
	return m
}

// metrics collects what the client measured.
func (k *otelKit) metrics(t *testing.T) metricdata.ResourceMetrics {
	t.Helper()
	var rm metricdata.ResourceMetrics
	require.NoError(t, k.reader.Collect(context.Background(), &rm))
	return rm
}

// matches reports whether set holds every key=value of want.
func matches(set attribute.Set, want map[string]string) bool {
	for key, v := range want {
		got, ok := set.Value(attribute.Key(key))
		if !ok || got.String() != v {
			return false
		}
	}
	return true
}

// sum adds the points of counter name whose attributes hold want.
func sum(rm metricdata.ResourceMetrics, name string, want map[string]string) int64 {
	var n int64
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if s, ok := m.Data.(metricdata.Sum[int64]); ok && m.Name == name {
				for _, p := range s.DataPoints {
					if matches(p.Attributes, want) {
						n += p.Value
					}
				}
			}
		}
	}
	return n
}

// count adds the counts of histogram name whose attributes hold want.
func count(rm metricdata.ResourceMetrics, name string, want map[string]string) uint64 {
	var n uint64
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if h, ok := m.Data.(metricdata.Histogram[float64]); ok && m.Name == name {
				for _, p := range h.DataPoints {
					if matches(p.Attributes, want) {
						n += p.Count
					}
				}
			}
		}
	}
	return n
}

// lowCardinality are the only metric attribute keys the SDK may use.
var lowCardinality = map[string]bool{
	"payments.provider": true, "payments.operation": true, "payments.outcome": true, "payments.refusal.kind": true,
	"http.request.method": true, "http.response.status_code": true, "server.address": true, "error.type": true,
}

// assertNoSecretsRecorded checks that no span (name, attributes, events, links,
// status) and no metric attribute holds any of secrets, and that metric
// attributes are the low-cardinality keys only.
func assertNoSecretsRecorded(t *testing.T, k *otelKit, secrets ...string) {
	t.Helper()
	var texts []string
	for _, s := range k.sr.Ended() {
		texts = append(texts, s.Name(), s.Status().Description, fmt.Sprint(s.Attributes()))
		for _, e := range s.Events() {
			texts = append(texts, e.Name, fmt.Sprint(e.Attributes))
		}
		for _, l := range s.Links() {
			texts = append(texts, fmt.Sprint(l.Attributes))
		}
	}
	for _, sm := range k.metrics(t).ScopeMetrics {
		for _, m := range sm.Metrics {
			var sets []attribute.Set
			switch d := m.Data.(type) {
			case metricdata.Sum[int64]:
				for _, p := range d.DataPoints {
					sets = append(sets, p.Attributes)
				}
			case metricdata.Histogram[float64]:
				for _, p := range d.DataPoints {
					sets = append(sets, p.Attributes)
				}
			}
			for _, set := range sets {
				for _, kv := range set.ToSlice() {
					assert.True(t, lowCardinality[string(kv.Key)], "metric %s has attribute %s", m.Name, kv.Key)
					texts = append(texts, kv.Value.String())
				}
			}
		}
	}
	all := strings.Join(texts, "\n")
	for _, s := range secrets {
		assert.NotContains(t, all, s)
	}
}

const mockURL = "https://api.example.test/api"

// respondSeq answers the mock's requests with steps in turn (the last one
// repeats): an error to return, or a status.
func respondSeq(m *mockSetup, steps ...any) {
	i := 0
	m.mock.RegisterResponder("POST", mockURL, func(r *http.Request) (*http.Response, error) {
		_, _ = io.ReadAll(r.Body)
		s := steps[min(i, len(steps)-1)]
		i++
		if err, ok := s.(error); ok {
			return nil, err
		}
		return httpmock.NewStringResponse(s.(int), "answer"), nil
	})
}

// Each attempt is a child span of the operation, numbered, with why the
// loop sent again: transport (an exchange that failed), rate_limited (429,
// 503), server_error (500, 502, 504), and none on the last.
func TestTelemetryRetryReasonsOnAttemptSpans(t *testing.T) {
	k := newOtelKit()
	m := newMock(t, k.options()...)
	respondSeq(m, fmt.Errorf("connection refused: %w", payments.ErrNotSent), 429, 500, 200)
	_, err := m.c.Do(context.Background(), req(Read))
	require.NoError(t, err)

	op := k.one(t, "test op")
	a := attrs(op.Attributes())
	assert.Equal(t, "ok", a["payments.outcome"])
	assert.Equal(t, "42", a["payments.ref"])
	assert.Equal(t, trace.SpanKindClient, op.SpanKind())
	attempts := k.children(op, "test op attempt")
	require.Len(t, attempts, 4)
	for i, want := range []struct{ reason, status, written string }{
		{"transport", "", "false"}, {"rate_limited", "429", "true"}, {"server_error", "500", "true"}, {"none", "200", "true"},
	} {
		aa := attrs(attempts[i].Attributes())
		assert.Equal(t, strconv.Itoa(i+1), aa["payments.attempt"])
		assert.Equal(t, want.reason, aa["payments.retry.reason"], "attempt %d", i+1)
		assert.Equal(t, want.status, aa["http.response.status_code"], "attempt %d", i+1)
		assert.Equal(t, want.written, aa["payments.maybe_written"], "attempt %d", i+1)
		assert.Equal(t, "POST", aa["http.request.method"])
		assert.Equal(t, trace.SpanKindInternal, attempts[i].SpanKind())
	}
	rm := k.metrics(t)
	assert.EqualValues(t, 4, sum(rm, "payments.operation.attempts", map[string]string{"payments.provider": "test", "payments.operation": "op"}))
	assert.EqualValues(t, 1, count(rm, "payments.operation.duration", map[string]string{"payments.outcome": "ok"}))
}

// A Do whose context carries the operation of its own name adds its
// attempts to it (one span); another name starts a child operation.
func TestTelemetryDoJoinsTheOperationOfItsName(t *testing.T) {
	k := newOtelKit()
	m := newMock(t, k.options()...)
	m.respond(200)
	ctx, op := m.c.tel.Operation(context.Background(), "test", "op", "42")
	_, err := m.c.Do(ctx, req(Read))
	require.NoError(t, err)
	other := req(Read)
	other.Op = "token"
	_, err = m.c.Do(ctx, other)
	require.NoError(t, err)
	op.End(errors.New("what the answer meant"))

	span := k.one(t, "test op")
	assert.Len(t, k.children(span, "test op attempt"), 1)
	tok := k.children(span, "test token")
	require.Len(t, tok, 1, "another operation's call is a child operation")
	assert.Len(t, k.children(tok[0], "test token attempt"), 1)
	assert.Equal(t, "error", attrs(span.Attributes())["payments.outcome"], "ended by its caller with the final error")
}

// sleepyLimiter grants a token after d: a limiter that makes callers wait.
type sleepyLimiter struct{ d time.Duration }

func (l sleepyLimiter) Wait(ctx context.Context) error {
	t := time.NewTimer(l.d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// The limiter's wait is on each attempt's span and in
// payments.limiter.wait.duration, by provider only.
func TestTelemetryLimiterWaitIsRecorded(t *testing.T) {
	const wait = 20 * time.Millisecond
	k := newOtelKit()
	m := newMock(t, append(k.options(), payments.WithLimiter(sleepyLimiter{wait}))...)
	m.respond(500, 200)
	_, err := m.c.Do(context.Background(), req(Read))
	require.NoError(t, err)

	for _, at := range k.named("test op attempt") {
		var waited float64
		for _, kv := range at.Attributes() {
			if kv.Key == "payments.limiter.wait_s" {
				waited = kv.Value.AsFloat64()
			}
		}
		assert.GreaterOrEqual(t, waited, wait.Seconds(), "the attempt waited its token")
	}
	var points []metricdata.HistogramDataPoint[float64]
	for _, sm := range k.metrics(t).ScopeMetrics {
		for _, mt := range sm.Metrics {
			if mt.Name == "payments.limiter.wait.duration" {
				assert.Equal(t, "s", mt.Unit)
				points = mt.Data.(metricdata.Histogram[float64]).DataPoints
			}
		}
	}
	require.Len(t, points, 1)
	assert.Equal(t, []attribute.KeyValue{attribute.String("payments.provider", "test")}, points[0].Attributes.ToSlice())
	assert.EqualValues(t, 2, points[0].Count, "one wait per attempt")
	assert.GreaterOrEqual(t, points[0].Sum, 2*wait.Seconds())
}

// http.client.request.duration follows the HTTP semantic conventions: one
// measurement per attempt with http.request.method, server.address,
// http.response.status_code when answered, and error.type (the status for
// 4xx and 5xx, "transport" for a failed exchange).
func TestTelemetryHTTPClientDurationSemanticConventions(t *testing.T) {
	k := newOtelKit()
	m := newMock(t, k.options()...)
	respondSeq(m, errors.New("connection reset by peer"), 503, 200)
	_, err := m.c.Do(context.Background(), req(Read))
	require.NoError(t, err)

	got := map[string]uint64{}
	for _, sm := range k.metrics(t).ScopeMetrics {
		for _, mt := range sm.Metrics {
			if mt.Name != "http.client.request.duration" {
				continue
			}
			assert.Equal(t, "s", mt.Unit)
			for _, p := range mt.Data.(metricdata.Histogram[float64]).DataPoints {
				got[p.Attributes.Encoded(attribute.DefaultEncoder())] += p.Count
			}
		}
	}
	assert.Equal(t, map[string]uint64{
		"error.type=transport,http.request.method=POST,server.address=api.example.test":                         1,
		"error.type=503,http.request.method=POST,http.response.status_code=503,server.address=api.example.test": 1,
		"http.request.method=POST,http.response.status_code=200,server.address=api.example.test":                1,
	}, got)
}

// WithLogger's line for each attempt carries the merchant's reference and,
// when a span is active, the trace and the attempt's span; with no span,
// no trace ids.
func TestTelemetryLogLinesCarryRefAndTrace(t *testing.T) {
	k := newOtelKit()
	var logs bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	m := newMock(t, append(k.options(), payments.WithLogger(logger))...)
	m.respond(503, 200)
	ctx, caller := k.tp.Tracer("test").Start(context.Background(), "caller")
	_, err := m.c.Do(ctx, req(Read))
	require.NoError(t, err)
	caller.End()

	lines := logLines(t, &logs)
	attempts := k.named("test op attempt")
	require.Len(t, lines, 2)
	require.Len(t, attempts, 2)
	for i, l := range lines {
		assert.Equal(t, "42", l["ref"])
		assert.Equal(t, caller.SpanContext().TraceID().String(), l["trace_id"], "the caller's trace")
		assert.Equal(t, attempts[i].SpanContext().SpanID().String(), l["span_id"], "the attempt's span")
	}

	// No tracer provider given, no span in the context: the global
	// provider (nothing set in tests) records nothing and logs no ids.
	logs.Reset()
	plain := newMock(t, payments.WithLogger(logger))
	plain.respond(200)
	_, err = plain.c.Do(context.Background(), req(Read))
	require.NoError(t, err)
	lines = logLines(t, &logs)
	require.Len(t, lines, 1)
	assert.Equal(t, "42", lines[0]["ref"])
	assert.NotContains(t, lines[0], "trace_id")
	assert.NotContains(t, lines[0], "span_id")
}

func logLines(t *testing.T, logs *bytes.Buffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &m))
		out = append(out, m)
	}
	return out
}

// The secret-bearing requests of the scrubbing test (a password in the
// Basic header and in the body, a secret of the body, one learnt at run
// time, a signature header, a card number), answered by a server that
// echoes them all: nothing of them reaches a span, an event, a link or a
// metric attribute.
func TestTelemetryRecordsNoSecret(t *testing.T) {
	const password = "hunter2-Pa$$&<word>"
	k := newOtelKit()
	mock := httpmock.NewMockTransport()
	c, err := New(Config{Provider: "test", DefaultBaseURL: mockURL,
		Auth: BasicAuth("user", password), Secrets: []string{"body-secret-42"}},
		append(k.options(), payments.WithTransport(mock), payments.WithTestTiming())...)
	require.NoError(t, err)
	c.AddSecret("runtime-token-777")
	for _, st := range []int{400, 403, 500, 503, 200} {
		mock.RegisterResponder("POST", mockURL, func(r *http.Request) (*http.Response, error) {
			b, _ := io.ReadAll(r.Body)
			echo := fmt.Sprintf("Authorization: %s X-Digital-Sign: %s body=%s pw=%s runtime-token-777 body-secret-42",
				r.Header.Get("Authorization"), r.Header.Get("X-Digital-Sign"), b, password)
			return httpmock.NewStringResponse(st, echo), nil
		})
		for _, kind := range []Kind{Read, UnsafeWrite} {
			_, _ = c.Do(context.Background(), &Request{Op: "op", Kind: kind, Ref: "order-9", Method: "POST",
				ContentType: "text/plain", Header: http.Header{"X-Digital-Sign": {"c2lnbmF0dXJlLXNlY3JldA=="}},
				Body: []byte("password=" + password + " body-secret-42 card=4111111111111111")})
		}
	}
	require.NotEmpty(t, k.sr.Ended())
	assertNoSecretsRecorded(t, k, "hunter2", "aHVudGVy", "dXNlcjpodW50ZXIy", "runtime-token", "body-secret",
		"c2lnbmF0dXJl", "4111111111111111", "411111", "Authorization", "Basic", "pw=", "body=")
}
