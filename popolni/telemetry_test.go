package popolni

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/popolni/popolnitest"
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

// telFixture is a fake with plenty of balance and a client recording into k.
func telFixture(t *testing.T, srvOpts ...popolnitest.Option) (*popolnitest.Server, *Client, *otelKit) {
	t.Helper()
	srv := popolnitest.NewServer(append([]popolnitest.Option{popolnitest.WithT(t), popolnitest.WithBalance(1e12, 0)}, srvOpts...)...)
	k := newOtelKit()
	opts := append(srv.ClientOptions(), payments.WithTestTiming())
	c, err := New(Credentials{Login: srv.Login(), Password: srv.Password()}, append(opts, k.options()...)...)
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	return srv, c, k
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

// A pay whose every answer is lost is outcome-unknown: one operation span
// with its four attempts as children, each maybe written and retried for
// the transport until the last; one payments.outcome_unknown; four
// attempts for one operation.
func TestTelemetryPayLostAnswerIsOutcomeUnknown(t *testing.T) {
	srv, c, k := telFixture(t)
	srv.DropNext(4)
	_, err := c.Pay(context.Background(), []Payment{{ID: 7001, Amount: 500, Account: "380991234567"}})
	require.ErrorIs(t, err, payments.ErrOutcomeUnknown)

	pay := k.one(t, "popolni pay")
	a := attrs(pay.Attributes())
	assert.Equal(t, "outcome_unknown", a["payments.outcome"])
	assert.Equal(t, "7001", a["payments.ref"])
	assert.Equal(t, "pay", a["payments.operation"])
	assert.Equal(t, "popolni", a["payments.provider"])
	assert.Equal(t, trace.SpanKindClient, pay.SpanKind())
	attempts := k.children(pay, "popolni pay attempt")
	require.Len(t, attempts, 4)
	for i, at := range attempts {
		aa := attrs(at.Attributes())
		assert.Equal(t, strconv.Itoa(i+1), aa["payments.attempt"])
		assert.Equal(t, "true", aa["payments.maybe_written"], "attempt %d", i+1)
		want := "transport"
		if i == 3 {
			want = "none"
		}
		assert.Equal(t, want, aa["payments.retry.reason"], "attempt %d", i+1)
	}

	rm := k.metrics(t)
	op := map[string]string{"payments.provider": "popolni", "payments.operation": "pay"}
	assert.EqualValues(t, 1, sum(rm, "payments.outcome_unknown", op))
	assert.EqualValues(t, 4, sum(rm, "payments.operation.attempts", op))
	assert.EqualValues(t, 1, count(rm, "payments.operation.duration", map[string]string{
		"payments.operation": "pay", "payments.outcome": "outcome_unknown"}))
	assert.Zero(t, sum(rm, "payments.refusals", nil))
	assertNoSecretsRecorded(t, k, srv.Password(), "380991234567")
}

// A pay whose first answer is lost is resent; the 124 answering the resend
// is resolved by a status operation, a child of the pay.
func TestTelemetryPayResentIsResolvedByAChildStatus(t *testing.T) {
	srv, c, k := telFixture(t)
	srv.DropNext(1)
	res, err := c.Pay(context.Background(), []Payment{{ID: 7002, Amount: 500, Account: "380991234567"}})
	require.NoError(t, err)
	require.NotEqual(t, StatusDuplicate, res[0].Status)

	pay := k.one(t, "popolni pay")
	a := attrs(pay.Attributes())
	assert.Equal(t, "ok", a["payments.outcome"])
	assert.Equal(t, strconv.Itoa(int(res[0].Status)), a["payments.provider.code"], "the resolved status, not 124")
	assert.Len(t, k.children(pay, "popolni pay attempt"), 2)
	status := k.children(pay, "popolni status")
	require.Len(t, status, 1, "the status check is a child operation of the pay")
	assert.Equal(t, "7002", attrs(status[0].Attributes())["payments.ref"])
	assert.Len(t, k.children(status[0], "popolni status attempt"), 1)
}

// A payment refused in the 200 body (101, insufficient funds) makes the pay
// operation refused for funds with the code, and counts one refusal.
func TestTelemetryPayRefusedInTheBody(t *testing.T) {
	srv, c, k := telFixture(t)
	srv.SetBalance(0, 0)
	res, err := c.Pay(context.Background(), []Payment{{ID: 7003, Amount: 500, Account: "380991234567"}})
	require.NoError(t, err, "a per-payment refusal is in the result")
	require.Equal(t, StatusInsufficientFunds, res[0].Status)

	pay := k.one(t, "popolni pay")
	a := attrs(pay.Attributes())
	assert.Equal(t, "refused", a["payments.outcome"])
	assert.Equal(t, "funds", a["payments.refusal.kind"])
	assert.Equal(t, "101", a["payments.provider.code"])
	assert.Equal(t, "failed", a["payments.state"])
	assert.Equal(t, "200", attrs(k.children(pay, "popolni pay attempt")[0].Attributes())["http.response.status_code"])

	rm := k.metrics(t)
	assert.EqualValues(t, 1, sum(rm, "payments.refusals", map[string]string{
		"payments.provider": "popolni", "payments.operation": "pay", "payments.refusal.kind": "funds"}))
	assert.Zero(t, sum(rm, "payments.outcome_unknown", nil))
	assertNoSecretsRecorded(t, k, srv.Password(), "380991234567")
}

// A batch of several takes its first failed payment's outcome, with one
// event per failed payment.
func TestTelemetryPayBatchOutcomeAndEvents(t *testing.T) {
	srv, c, k := telFixture(t)
	srv.Blacklist("380990000423")
	batch := []Payment{
		{ID: 7101, Amount: 500, Account: "380991234567"},
		{ID: 7102, Amount: 500, Account: "380990000423"},
		{ID: 7103, Amount: 500, Account: "380991234567"},
	}
	res, err := c.Pay(context.Background(), batch)
	require.NoError(t, err)
	require.Equal(t, []Status{StatusReceived, StatusBlacklisted, StatusReceived}, []Status{res[0].Status, res[1].Status, res[2].Status})

	pay := k.one(t, "popolni pay")
	a := attrs(pay.Attributes())
	assert.Equal(t, "refused", a["payments.outcome"])
	assert.Equal(t, "declined", a["payments.refusal.kind"])
	assert.Equal(t, "423", a["payments.provider.code"])
	assert.Equal(t, "3", a["payments.batch.size"])
	assert.Equal(t, "7101,7102,7103", a["payments.ref"])
	var events []map[string]string
	for _, e := range pay.Events() {
		if e.Name == "payment" {
			events = append(events, attrs(e.Attributes))
		}
	}
	assert.Equal(t, []map[string]string{{"payments.ref": "7102", "payments.provider.code": "423",
		"payments.outcome": "refused", "payments.refusal.kind": "declined"}}, events, "one event per failed payment")
	assertNoSecretsRecorded(t, k, srv.Password(), "380991234567", "380990000423")
}

// Of a batch's failed payments an undocumented status (the payment may
// exist) wins over a refusal, whatever the order.
func TestTelemetryWorstPaymentPrefersOutcomeUnknown(t *testing.T) {
	k := newOtelKit()
	_, span := k.tp.Tracer("test").Start(context.Background(), "batch")
	err := worstPayment(span, true, []Result{{ID: 1, Status: StatusSucceeded}, {ID: 2, Status: StatusCanceled},
		{ID: 3, Status: Status(777)}, {ID: 4, Status: StatusInsufficientFunds}})
	span.End()
	assert.ErrorIs(t, err, payments.ErrOutcomeUnknown)
	assert.Len(t, k.one(t, "batch").Events(), 3)

	err = worstPayment(span, false, []Result{{ID: 2, Status: StatusCanceled}, {ID: 4, Status: StatusInsufficientFunds}})
	assert.ErrorIs(t, err, payments.ErrDeclined, "the first refusal")
	assert.Nil(t, worstPayment(span, false, []Result{{ID: 1, Status: StatusSucceeded}, {ID: 2, Status: StatusInProgress}}))
}

// A 503 answered once and then a success: two attempts for one operation,
// the first retried as rate_limited; no refusal. Every attempt 503'd: the
// operation is refused as rate_limited.
func TestTelemetryRetried503(t *testing.T) {
	srv, c, k := telFixture(t)
	srv.FailNext(1, 503, "Service Temporarily Unavailable")
	_, err := c.Balance(context.Background())
	require.NoError(t, err)

	bal := k.one(t, "popolni balance")
	assert.Equal(t, "ok", attrs(bal.Attributes())["payments.outcome"])
	attempts := k.children(bal, "popolni balance attempt")
	require.Len(t, attempts, 2)
	assert.Equal(t, "rate_limited", attrs(attempts[0].Attributes())["payments.retry.reason"])
	assert.Equal(t, "503", attrs(attempts[0].Attributes())["http.response.status_code"])
	assert.Equal(t, "none", attrs(attempts[1].Attributes())["payments.retry.reason"])
	rm := k.metrics(t)
	op := map[string]string{"payments.provider": "popolni", "payments.operation": "balance"}
	assert.EqualValues(t, 2, sum(rm, "payments.operation.attempts", op))
	assert.EqualValues(t, 1, count(rm, "payments.operation.duration", op))
	assert.Greater(t, uint64(sum(rm, "payments.operation.attempts", op)), count(rm, "payments.operation.duration", op),
		"more attempts than operations: retries")
	assert.Zero(t, sum(rm, "payments.refusals", nil))

	srv.FailNext(4, 503, "Service Temporarily Unavailable")
	_, err = c.Balance(context.Background())
	require.ErrorIs(t, err, payments.ErrRateLimited)
	rm = k.metrics(t)
	assert.EqualValues(t, 1, sum(rm, "payments.refusals", map[string]string{
		"payments.provider": "popolni", "payments.operation": "balance", "payments.refusal.kind": "rate_limited"}))
	assert.EqualValues(t, 6, sum(rm, "payments.operation.attempts", op))
	assertNoSecretsRecorded(t, k, srv.Password())
}

// A status that popolni answers 125 for every id is not_found with the
// code; not a refusal. A status naming a failed payment is a good read.
func TestTelemetryStatusNotFound(t *testing.T) {
	srv, c, k := telFixture(t)
	res, err := c.Status(context.Background(), 7201)
	require.NoError(t, err)
	require.Equal(t, StatusNotFound, res[0].Status)

	st := k.one(t, "popolni status")
	a := attrs(st.Attributes())
	assert.Equal(t, "not_found", a["payments.outcome"])
	assert.Equal(t, "125", a["payments.provider.code"])
	assert.Equal(t, "7201", a["payments.ref"])
	assert.Equal(t, "Unset", st.Status().Code.String(), "not found is no error")

	srv.SetBalance(0, 0)
	_, err = c.Pay(context.Background(), []Payment{{ID: 7202, Amount: 500, Account: "380991234567"}})
	require.NoError(t, err)
	_, err = c.Status(context.Background(), 7202, 7201)
	require.NoError(t, err)
	both := k.named("popolni status")[1]
	assert.Equal(t, "ok", attrs(both.Attributes())["payments.outcome"], "one id found: a good read")

	rm := k.metrics(t)
	assert.EqualValues(t, 1, count(rm, "payments.operation.duration", map[string]string{
		"payments.operation": "status", "payments.outcome": "not_found"}))
	assert.Zero(t, sum(rm, "payments.refusals", map[string]string{"payments.operation": "status"}))
}

// An idle Batcher's request (one caller) is an operation in the caller's
// trace, a child of the caller's span, as Client.Pay would be.
func TestTelemetryBatcherRequestIsAChildOfItsCaller(t *testing.T) {
	_, c, k := telFixture(t)
	b := NewBatcher(c, BatchOptions{})
	t.Cleanup(func() { b.Close() })
	ctx, caller := k.tp.Tracer("test").Start(context.Background(), "caller")
	_, err := b.Pay(ctx, Payment{ID: 7301, Amount: 500, Account: "380991234567"})
	require.NoError(t, err)
	_, err = b.Status(ctx, 7301)
	require.NoError(t, err)
	caller.End()

	root := k.one(t, "caller")
	for _, name := range []string{"popolni pay", "popolni status"} {
		op := k.one(t, name)
		assert.Equal(t, root.SpanContext().TraceID(), op.SpanContext().TraceID(), name)
		assert.Equal(t, root.SpanContext().SpanID(), op.Parent().SpanID(), name)
		assert.Equal(t, "7301", attrs(op.Attributes())["payments.ref"], name)
		assert.Len(t, k.children(op, name+" attempt"), 1, name)
	}
}

// A batch of several callers is one operation: the first caller with a
// span is its parent, the others are linked with their references; a
// caller without a span is neither. Driven through the Batcher's sender
// with a queue filled by hand, so the batch's make-up is certain.
func TestTelemetryBatchLinksItsCallers(t *testing.T) {
	_, c, k := telFixture(t)
	tr := k.tp.Tracer("test")
	var (
		callers []trace.Span
		calls   []*payCall
	)
	b := &Batcher{c: c, max: 10, maxFlight: 1, flying: map[int64]bool{}}
	for i, id := range []int64{7401, 7402, 7403, 7404} {
		call := &payCall{p: Payment{ID: id, Amount: 500, Account: "380991234567"}, done: make(chan struct{})}
		scall := &statusCall{ids: []int64{id}, done: make(chan struct{})}
		if i != 0 { // the first caller has no span: not the parent
			_, span := tr.Start(context.Background(), "caller "+strconv.FormatInt(id, 10))
			callers = append(callers, span)
			call.sc, scall.sc = span.SpanContext(), span.SpanContext()
		}
		calls = append(calls, call)
		b.payQ = append(b.payQ, call)
		b.statQ = append(b.statQ, scall)
	}
	pay, status := b.takePays(), b.takeStatuses()
	require.NotNil(t, pay)
	require.NotNil(t, status)
	pay(nil)
	status(nil)
	for _, call := range calls {
		require.True(t, isDone(call.done))
		require.NoError(t, call.err)
	}
	for _, s := range callers {
		s.End()
	}

	for _, name := range []string{"popolni pay", "popolni status"} {
		op := k.one(t, name)
		assert.Equal(t, callers[0].SpanContext().SpanID(), op.Parent().SpanID(), "%s: the first caller with a span is the parent", name)
		assert.Equal(t, callers[0].SpanContext().TraceID(), op.SpanContext().TraceID(), name)
		assert.Equal(t, "7401,7402,7403,7404", attrs(op.Attributes())["payments.ref"], name)
		var linked []string
		for _, l := range op.Links() {
			linked = append(linked, l.SpanContext.SpanID().String()+" "+attrs(l.Attributes)["payments.ref"])
		}
		assert.Equal(t, []string{
			callers[1].SpanContext().SpanID().String() + " 7403",
			callers[2].SpanContext().SpanID().String() + " 7404",
		}, linked, name)
	}
	rm := k.metrics(t)
	assert.EqualValues(t, 1, count(rm, "payments.operation.duration", map[string]string{"payments.operation": "pay"}),
		"the batch is one operation")
}
