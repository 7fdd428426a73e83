package qiwitopup_test

// The client's OpenTelemetry operations against the fake: what each
// request's span and measurements say, for the answers that matter.

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
	"github.com/paysdk/payments/qiwitopup"
	"github.com/paysdk/payments/qiwitopup/qiwitopuptest"
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

// telFixture is a fake and a password client recording into k.
func telFixture(t *testing.T, srvOpts ...qiwitopuptest.Option) (*qiwitopuptest.Server, *qiwitopup.Client, *otelKit) {
	t.Helper()
	srv := qiwitopuptest.NewServer(append([]qiwitopuptest.Option{qiwitopuptest.WithT(t)}, srvOpts...)...)
	k := newOtelKit()
	opts := append(srv.ClientOptions(), payments.WithTestTiming())
	c, err := qiwitopup.New(qiwitopup.PasswordAuth(srv.TerminalID(), srv.Password()), append(opts, k.options()...)...)
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

const telPhone = "79181234567"

func telWallet(txn string) qiwitopup.WalletPayment {
	return qiwitopup.WalletPayment{Common: qiwitopup.Common{TransactionNumber: txn, Amount: 10000}, Phone: telPhone, NonCash: true}
}

// A pay whose every answer is lost is outcome-unknown: one operation span
// with its four attempts as children, each maybe written and retried for
// the transport until the last; one payments.outcome_unknown; four
// attempts for one operation.
func TestTelemetryPayLostAnswerIsOutcomeUnknown(t *testing.T) {
	srv, c, k := telFixture(t)
	srv.DropNext(4)
	_, err := c.PayWallet(context.Background(), telWallet("8001"))
	require.ErrorIs(t, err, payments.ErrOutcomeUnknown)

	pay := k.one(t, "qiwitopup pay")
	a := attrs(pay.Attributes())
	assert.Equal(t, "outcome_unknown", a["payments.outcome"])
	assert.Equal(t, "8001", a["payments.ref"])
	assert.Equal(t, "qiwitopup", a["payments.provider"])
	assert.Equal(t, trace.SpanKindClient, pay.SpanKind())
	attempts := k.children(pay, "qiwitopup pay attempt")
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
	op := map[string]string{"payments.provider": "qiwitopup", "payments.operation": "pay"}
	assert.EqualValues(t, 1, sum(rm, "payments.outcome_unknown", op))
	assert.EqualValues(t, 4, sum(rm, "payments.operation.attempts", op))
	assert.EqualValues(t, 1, count(rm, "payments.operation.duration", map[string]string{
		"payments.operation": "pay", "payments.outcome": "outcome_unknown"}))
	assert.Zero(t, sum(rm, "payments.refusals", nil))
	assertNoSecretsRecorded(t, k, srv.Password(), telPhone)
}

// A payment QIWI answers with result-code 220 inside a 200 body is
// returned without an error, yet its operation is refused for funds with
// the code and QIWI's txn_id; one refusal is counted. A request-level 150
// is refused for auth.
func TestTelemetryPayRefusedInA200Body(t *testing.T) {
	srv, c, k := telFixture(t, qiwitopuptest.WithBalance("643", "0.00"))
	got, err := c.PayWallet(context.Background(), telWallet("8002"))
	require.NoError(t, err, "the refusal is in the payment")
	require.Equal(t, qiwitopup.CodeInsufficientFunds, got.ResultCode)

	pay := k.one(t, "qiwitopup pay")
	a := attrs(pay.Attributes())
	assert.Equal(t, "refused", a["payments.outcome"])
	assert.Equal(t, "funds", a["payments.refusal.kind"])
	assert.Equal(t, "220", a["payments.provider.code"])
	assert.Equal(t, got.TxnID, a["payments.provider.id"])
	assert.NotEmpty(t, got.TxnID)
	assert.Equal(t, "failed", a["payments.state"])
	attempts := k.children(pay, "qiwitopup pay attempt")
	require.Len(t, attempts, 1)
	assert.Equal(t, "200", attrs(attempts[0].Attributes())["http.response.status_code"], "refused in a 200 body")

	srv.ErrorNext(1, 150, true)
	_, err = c.PayWallet(context.Background(), telWallet("8003"))
	require.ErrorIs(t, err, qiwitopup.ErrAuth)
	auth := k.named("qiwitopup pay")[1]
	assert.Equal(t, "auth", attrs(auth.Attributes())["payments.refusal.kind"])
	assert.Equal(t, "150", attrs(auth.Attributes())["payments.provider.code"])

	rm := k.metrics(t)
	for _, kind := range []string{"funds", "auth"} {
		assert.EqualValues(t, 1, sum(rm, "payments.refusals", map[string]string{
			"payments.provider": "qiwitopup", "payments.operation": "pay", "payments.refusal.kind": kind}), kind)
	}
	assert.Zero(t, sum(rm, "payments.outcome_unknown", nil))
	assertNoSecretsRecorded(t, k, srv.Password(), telPhone)
}

// A status whose answer has none of the payments asked about is not_found;
// one that finds a payment carries its txn_id, code and state.
func TestTelemetryStatusNotFound(t *testing.T) {
	_, c, k := telFixture(t)
	res, err := c.Status(context.Background(), qiwitopup.StatusQuery{TransactionNumber: "8101", Account: telPhone})
	require.NoError(t, err)
	require.False(t, res[0].Found)

	st := k.one(t, "qiwitopup status")
	a := attrs(st.Attributes())
	assert.Equal(t, "not_found", a["payments.outcome"])
	assert.Equal(t, "8101", a["payments.ref"])
	assert.Equal(t, "Unset", st.Status().Code.String(), "not found is no error")

	paid, err := c.PayWallet(context.Background(), telWallet("8102"))
	require.NoError(t, err)
	_, err = c.Status(context.Background(), qiwitopup.StatusQuery{TransactionNumber: "8102", Account: telPhone})
	require.NoError(t, err)
	found := k.named("qiwitopup status")[1]
	a = attrs(found.Attributes())
	assert.Equal(t, "ok", a["payments.outcome"])
	assert.Equal(t, paid.TxnID, a["payments.provider.id"])
	assert.Equal(t, "0", a["payments.provider.code"])

	rm := k.metrics(t)
	assert.EqualValues(t, 1, count(rm, "payments.operation.duration", map[string]string{
		"payments.operation": "status", "payments.outcome": "not_found"}))
	assert.Zero(t, sum(rm, "payments.refusals", nil))
	assertNoSecretsRecorded(t, k, telPhone)
}

// A 503 answered once and then a success: two attempts for one operation,
// the first retried as rate_limited; no refusal.
func TestTelemetryRetried503(t *testing.T) {
	srv, c, k := telFixture(t)
	srv.FailNext(1, 503, "busy")
	_, err := c.Ping(context.Background())
	require.NoError(t, err)

	ping := k.one(t, "qiwitopup ping")
	assert.Equal(t, "ok", attrs(ping.Attributes())["payments.outcome"])
	attempts := k.children(ping, "qiwitopup ping attempt")
	require.Len(t, attempts, 2)
	assert.Equal(t, "rate_limited", attrs(attempts[0].Attributes())["payments.retry.reason"])
	assert.Equal(t, "503", attrs(attempts[0].Attributes())["http.response.status_code"])
	assert.Equal(t, "none", attrs(attempts[1].Attributes())["payments.retry.reason"])
	rm := k.metrics(t)
	op := map[string]string{"payments.provider": "qiwitopup", "payments.operation": "ping"}
	assert.EqualValues(t, 2, sum(rm, "payments.operation.attempts", op))
	assert.EqualValues(t, 1, count(rm, "payments.operation.duration", op), "more attempts than operations: retries")
	assert.Zero(t, sum(rm, "payments.refusals", nil))
}

// check-deposit-possible's "not possible" (204 with the flags) is an
// answer, not an error: ok, with the code on the span. Payout's requests
// are operations under the caller's span.
func TestTelemetryChecksAndPayout(t *testing.T) {
	srv, c, k := telFixture(t)
	srv.SetDepositImpossible("79180000204")
	check, err := c.CheckDepositPossible(context.Background(), "79180000204", true, "")
	require.NoError(t, err)
	require.False(t, check.Possible)
	a := attrs(k.one(t, "qiwitopup check-deposit-possible").Attributes())
	assert.Equal(t, "ok", a["payments.outcome"])
	assert.Equal(t, "204", a["payments.provider.code"])

	ctx, caller := k.tp.Tracer("test").Start(context.Background(), "caller")
	got, err := c.Payout(ctx, telWallet("8201"), qiwitopup.PayoutOptions{PollInterval: 1, ErrorWait: 1})
	caller.End()
	require.NoError(t, err)
	require.True(t, got.Succeeded())
	root := k.one(t, "caller")
	assert.Len(t, k.children(root, "qiwitopup check-deposit-possible"), 1)
	pays := k.children(root, "qiwitopup pay")
	require.Len(t, pays, 1)
	assert.Equal(t, "pending", attrs(pays[0].Attributes())["payments.state"])
	polls := k.children(root, "qiwitopup status")
	require.NotEmpty(t, polls)
	last := attrs(polls[len(polls)-1].Attributes())
	assert.Equal(t, "succeeded", last["payments.state"])
	assert.Equal(t, got.TxnID, last["payments.provider.id"])
	assertNoSecretsRecorded(t, k, srv.Password(), telPhone, "79180000204")
}
