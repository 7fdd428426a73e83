package paykeeper_test

// The spans and measurements of the client's operations, against the fake
// cabinet, with the providers given through the options.

import (
	"context"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/internal/telemetry"
	"github.com/paysdk/payments/paykeeper"
	"github.com/paysdk/payments/paykeeper/paykeepertest"
)

// observed holds what a client given its options recorded.
type observed struct {
	spans  *tracetest.SpanRecorder
	reader *sdkmetric.ManualReader
}

// observe returns an in-memory tracer and meter provider as client options.
func observe() (*observed, []payments.Option) {
	o := &observed{spans: tracetest.NewSpanRecorder(), reader: sdkmetric.NewManualReader()}
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(o.spans))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(o.reader))
	return o, []payments.Option{payments.WithTracerProvider(tp), payments.WithMeterProvider(mp)}
}

// named returns the ended spans called name, in the order they ended.
func (o *observed) named(name string) []sdktrace.ReadOnlySpan {
	var out []sdktrace.ReadOnlySpan
	for _, s := range o.spans.Ended() {
		if s.Name() == name {
			out = append(out, s)
		}
	}
	return out
}

// one returns the only ended span called name.
func (o *observed) one(t *testing.T, name string) sdktrace.ReadOnlySpan {
	t.Helper()
	got := o.named(name)
	require.Len(t, got, 1, "spans called %q among %v", name, o.names())
	return got[0]
}

func (o *observed) names() []string {
	var out []string
	for _, s := range o.spans.Ended() {
		out = append(out, s.Name())
	}
	return out
}

// childrenOf returns the names of the ended spans whose parent is s.
func (o *observed) childrenOf(s sdktrace.ReadOnlySpan) []string {
	var out []string
	for _, c := range o.spans.Ended() {
		if c.Parent().SpanID() == s.SpanContext().SpanID() {
			out = append(out, c.Name())
		}
	}
	sort.Strings(out)
	return out
}

// attrs is a span's attributes, each value as text.
func attrs(s sdktrace.ReadOnlySpan) map[attribute.Key]string {
	m := map[attribute.Key]string{}
	for _, kv := range s.Attributes() {
		m[kv.Key] = kv.Value.String()
	}
	return m
}

// noSecret fails t when a span's name, attribute or event holds one of
// secrets.
func (o *observed) noSecret(t *testing.T, secrets ...string) {
	t.Helper()
	for _, s := range o.spans.Ended() {
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
		for _, text := range texts {
			for _, secret := range secrets {
				assert.NotContains(t, text, secret, "span %q", s.Name())
			}
		}
	}
}

// metricKeys are the only attribute keys a measurement may carry: nothing
// with a reference, an id or an amount.
var metricKeys = map[attribute.Key]bool{telemetry.Provider: true, telemetry.Operation: true, telemetry.Outcome: true,
	telemetry.Kind: true, telemetry.HTTPMethod: true, telemetry.HTTPStatus: true, telemetry.ServerAddr: true, telemetry.ErrorType: true}

// counts collects the measurements: each counter's sum and each
// histogram's count, by "name{key=value,...}" with the keys sorted. It
// fails t when a data point carries an attribute outside metricKeys.
func (o *observed) counts(t *testing.T) map[string]int64 {
	t.Helper()
	var rm metricdata.ResourceMetrics
	require.NoError(t, o.reader.Collect(context.Background(), &rm))
	out := map[string]int64{}
	add := func(name string, set attribute.Set, n int64) {
		var parts []string
		for _, kv := range set.ToSlice() {
			if !metricKeys[kv.Key] {
				t.Errorf("%s carries %s=%s: not a low-cardinality attribute", name, kv.Key, kv.Value.String())
			}
			parts = append(parts, string(kv.Key)+"="+kv.Value.String())
		}
		out[name+"{"+strings.Join(parts, ",")+"}"] += n
	}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			switch d := m.Data.(type) {
			case metricdata.Sum[int64]:
				for _, p := range d.DataPoints {
					add(m.Name, p.Attributes, p.Value)
				}
			case metricdata.Histogram[float64]:
				for _, p := range d.DataPoints {
					add(m.Name, p.Attributes, int64(p.Count))
				}
			}
		}
	}
	return out
}

// A refund refused in a 200 answer (PayKeeper's fail object) is one span
// "paykeeper payment-reverse", refused with its kind, the HTTP status and
// the provider's code: not the ok the HTTP status alone says. The token
// fetched for it is a child operation "paykeeper token"; each operation's
// attempts are its own children; the transport starts no span of its own.
func TestTelemetryRefundRefusedInA200Answer(t *testing.T) {
	t.Parallel()
	srv := paykeepertest.NewServer(paykeepertest.WithT(t))
	obs, opts := observe()
	c := newClient(t, srv, opts...)
	ctx := context.Background()
	id := srv.AddPayment(paykeepertest.PaymentSpec{Amount: "100.00", OrderID: "A-7"})

	err := c.RefundPayment(ctx, paykeeper.RefundParams{PaymentID: id, Amount: payments.MustDecimal("500")})
	require.ErrorIs(t, err, paykeeper.ErrRefused, "more than the payment")

	refund := obs.one(t, "paykeeper payment-reverse")
	assert.False(t, refund.Parent().IsValid(), "the operation is the root: no span around it")
	assert.Equal(t, []string{"paykeeper payment-reverse attempt", "paykeeper token"}, obs.childrenOf(refund))
	a := attrs(refund)
	assert.Equal(t, "paykeeper", a[telemetry.Provider])
	assert.Equal(t, "payment-reverse", a[telemetry.Operation])
	assert.Equal(t, id, a[telemetry.Ref])
	assert.Equal(t, telemetry.OutcomeRefused, a[telemetry.Outcome])
	assert.Equal(t, telemetry.KindDeclined, a[telemetry.Kind])
	assert.Equal(t, "200", a[telemetry.HTTPStatus])
	assert.Equal(t, codes.Error, refund.Status().Code)

	token := obs.one(t, "paykeeper token")
	assert.Equal(t, telemetry.OutcomeOK, attrs(token)[telemetry.Outcome])
	assert.Equal(t, []string{"paykeeper token attempt"}, obs.childrenOf(token))

	// With the token cached, a fail object carrying an error_code: the
	// code is on the span; no token span this time.
	srv.FailNext(1, 200, `{"result":"fail","msg":"Операция отклонена банком.","error_code":"12"}`)
	err = c.RefundPayment(ctx, paykeeper.RefundParams{PaymentID: id, Amount: payments.MustDecimal("10")})
	require.ErrorIs(t, err, paykeeper.ErrRefused)
	refunds := obs.named("paykeeper payment-reverse")
	require.Len(t, refunds, 2)
	second := attrs(refunds[1])
	assert.Equal(t, telemetry.OutcomeRefused, second[telemetry.Outcome])
	assert.Equal(t, "12", second[telemetry.ProviderCode])
	assert.Equal(t, []string{"paykeeper payment-reverse attempt"}, obs.childrenOf(refunds[1]))
	assert.Len(t, obs.named("paykeeper token"), 1)
	obs.noSecret(t, srv.Token(), paykeepertest.DefaultPassword)

	got := obs.counts(t)
	for k, want := range map[string]int64{
		"payments.refusals{payments.operation=payment-reverse,payments.provider=paykeeper,payments.refusal.kind=declined}":     2,
		"payments.operation.duration{payments.operation=payment-reverse,payments.outcome=refused,payments.provider=paykeeper}": 2,
		"payments.operation.duration{payments.operation=payment-reverse,payments.outcome=ok,payments.provider=paykeeper}":      0,
		"payments.operation.duration{payments.operation=token,payments.outcome=ok,payments.provider=paykeeper}":                1,
		"payments.operation.attempts{payments.operation=payment-reverse,payments.provider=paykeeper}":                          2,
		"payments.outcome_unknown{payments.operation=payment-reverse,payments.provider=paykeeper}":                             0,
	} {
		assert.Equal(t, want, got[k], "%s (all: %v)", k, got)
	}
}

// A refund whose answer is lost moves money PayKeeper may have moved: its
// one span is outcome_unknown, its attempt says it may have been written,
// and payments.outcome_unknown counts it.
func TestTelemetryLostRefundIsOutcomeUnknown(t *testing.T) {
	t.Parallel()
	srv := paykeepertest.NewServer(paykeepertest.WithT(t))
	obs, opts := observe()
	c := newClient(t, srv, opts...)
	ctx := context.Background()
	id := srv.AddPayment(paykeepertest.PaymentSpec{Amount: "100.00"})

	srv.DropNextOp(paykeepertest.OpReverse, 1)
	err := c.RefundPayment(ctx, paykeeper.RefundParams{PaymentID: id, Amount: payments.MustDecimal("10")})
	require.ErrorIs(t, err, payments.ErrOutcomeUnknown)

	refund := obs.one(t, "paykeeper payment-reverse")
	assert.False(t, refund.Parent().IsValid(), "the operation is the root: no span around it")
	a := attrs(refund)
	assert.Equal(t, telemetry.OutcomeUnknown, a[telemetry.Outcome])
	assert.Equal(t, id, a[telemetry.Ref])
	assert.Equal(t, codes.Error, refund.Status().Code)
	attempt := obs.one(t, "paykeeper payment-reverse attempt")
	assert.Equal(t, refund.SpanContext().SpanID(), attempt.Parent().SpanID())
	assert.Equal(t, "true", attrs(attempt)[telemetry.MaybeWritten])
	assert.Equal(t, "none", attrs(attempt)[telemetry.RetryReason], "an unsafe write is never resent")

	got := obs.counts(t)
	assert.Equal(t, int64(1), got["payments.outcome_unknown{payments.operation=payment-reverse,payments.provider=paykeeper}"], "all: %v", got)
	assert.Equal(t, int64(1), got["payments.operation.duration{payments.operation=payment-reverse,payments.outcome=outcome_unknown,payments.provider=paykeeper}"], "all: %v", got)
}

// A payment the cabinet does not know (an empty list in a 200 answer) is
// not_found, not an error and not ok; a payment found carries its id.
func TestTelemetryGetPaymentNotFound(t *testing.T) {
	t.Parallel()
	srv := paykeepertest.NewServer(paykeepertest.WithT(t))
	obs, opts := observe()
	c := newClient(t, srv, opts...)
	ctx := context.Background()

	_, err := c.GetPayment(ctx, "999999")
	require.ErrorIs(t, err, payments.ErrNotFound)
	id := srv.AddPayment(paykeepertest.PaymentSpec{Amount: "5.00"})
	_, err = c.GetPayment(ctx, id)
	require.NoError(t, err)

	gets := obs.named("paykeeper payment-byid")
	require.Len(t, gets, 2)
	missing, found := attrs(gets[0]), attrs(gets[1])
	assert.Equal(t, telemetry.OutcomeNotFound, missing[telemetry.Outcome])
	assert.Equal(t, "999999", missing[telemetry.Ref])
	assert.NotContains(t, missing, telemetry.ProviderID)
	assert.NotEqual(t, codes.Error, gets[0].Status().Code, "not found is an answer, not a failure")
	assert.Equal(t, telemetry.OutcomeOK, found[telemetry.Outcome])
	assert.Equal(t, id, found[telemetry.ProviderID])

	got := obs.counts(t)
	assert.Equal(t, int64(1), got["payments.operation.duration{payments.operation=payment-byid,payments.outcome=not_found,payments.provider=paykeeper}"], "all: %v", got)
	assert.Equal(t, int64(1), got["payments.operation.duration{payments.operation=payment-byid,payments.outcome=ok,payments.provider=paykeeper}"], "all: %v", got)
}

// Each page of an iteration is an operation of its own, a root span with
// its attempt.
func TestTelemetryEachPageIsAnOperation(t *testing.T) {
	t.Parallel()
	srv := paykeepertest.NewServer(paykeepertest.WithT(t))
	obs, opts := observe()
	c := newClient(t, srv, opts...)
	for range 3 {
		srv.AddPayment(paykeepertest.PaymentSpec{Amount: "1.00"})
	}
	now := time.Now()
	n := 0
	for _, err := range c.Payments(context.Background(), paykeeper.PaymentFilter{Start: now.AddDate(0, 0, -1), End: now.AddDate(0, 0, 1),
		Statuses: paykeeper.AllPaymentStatuses, PaymentSystemIDs: []string{paykeepertest.DefaultPaymentSystemID}, PageSize: 2}) {
		require.NoError(t, err)
		n++
	}
	require.Equal(t, 3, n)
	pages := obs.named("paykeeper payments-bydate")
	require.Len(t, pages, 2)
	for _, p := range pages {
		assert.False(t, p.Parent().IsValid(), "a page inside another")
		assert.Equal(t, telemetry.OutcomeOK, attrs(p)[telemetry.Outcome])
		assert.Equal(t, []string{"paykeeper payments-bydate attempt"}, obs.childrenOf(p))
	}
}

// A token fetch refused in a 200 answer is a refused "paykeeper token"
// span (the transport alone would call it ok), and the write that needed
// it ends with that refusal, sending nothing of its own.
func TestTelemetryTokenRefusedInA200Answer(t *testing.T) {
	t.Parallel()
	srv := paykeepertest.NewServer(paykeepertest.WithT(t))
	obs, opts := observe()
	c := newClient(t, srv, opts...)
	id := srv.AddPayment(paykeepertest.PaymentSpec{Amount: "100.00"})

	srv.FailNext(1, 200, `{"result":"fail","msg":"Доступ с этого адреса запрещён."}`)
	err := c.CapturePayment(context.Background(), id)
	require.ErrorIs(t, err, paykeeper.ErrRefused)
	require.Zero(t, srv.Count(paykeepertest.OpCapture), "nothing sent without a token")

	capture := obs.one(t, "paykeeper payment-capture")
	token := obs.one(t, "paykeeper token")
	assert.Equal(t, capture.SpanContext().SpanID(), token.Parent().SpanID())
	assert.Equal(t, []string{"paykeeper token"}, obs.childrenOf(capture))
	for _, s := range []sdktrace.ReadOnlySpan{capture, token} {
		assert.Equal(t, telemetry.OutcomeRefused, attrs(s)[telemetry.Outcome], s.Name())
		assert.Equal(t, telemetry.KindDeclined, attrs(s)[telemetry.Kind], s.Name())
	}
	got := obs.counts(t)
	assert.Equal(t, int64(1), got["payments.refusals{payments.operation=token,payments.provider=paykeeper,payments.refusal.kind=declined}"], "all: %v", got)
	assert.Equal(t, int64(1), got["payments.refusals{payments.operation=payment-capture,payments.provider=paykeeper,payments.refusal.kind=declined}"], "all: %v", got)
}
