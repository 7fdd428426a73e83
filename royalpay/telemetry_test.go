package royalpay_test

// The spans and measurements of the client's operations, against the fake
// RoyalPay, with the providers given through the options.

import (
	"context"
	"sort"
	"strconv"
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
	"github.com/paysdk/payments/royalpay"
	"github.com/paysdk/payments/royalpay/royalpaytest"
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

// telemetryClient is a client with both tokens, the limiter off, quick
// retries and opts.
func telemetryClient(t *testing.T, srv *royalpaytest.Server, opts []payments.Option) *royalpay.Client {
	t.Helper()
	all := append(srv.ClientOptions(), payments.WithLimiter(payments.Unlimited()),
		payments.WithRetry(payments.RetryPolicy{MaxAttempts: 3, BaseDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond}))
	c, err := royalpay.New(royalpay.Credentials{Token: srv.Token(), PayoutToken: royalpaytest.DefaultPayoutToken}, append(all, opts...)...)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return c
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

// attrs is a span's attributes, each value as text.
func attrs(s sdktrace.ReadOnlySpan) map[attribute.Key]string {
	m := map[attribute.Key]string{}
	for _, kv := range s.Attributes() {
		m[kv.Key] = kv.Value.String()
	}
	return m
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

// A create answered 500 with the document's "No available cards." (40005)
// is returned as that refusal, and so is its span: refused, kind declined,
// the code and the status, not the outcome_unknown the 500 alone says. A
// create that succeeds carries the payment's id.
func TestTelemetryCreateRefusedUnderA500(t *testing.T) {
	t.Parallel()
	srv := royalpaytest.NewServer(royalpaytest.WithT(t))
	obs, opts := observe()
	c := telemetryClient(t, srv, opts)
	ctx := context.Background()

	srv.FailNext(1, 500, `{"error":"No available cards.","code":40005}`)
	_, err := c.CreatePayment(ctx, params(royalpay.TypeCard, "ORD-1"))
	require.ErrorIs(t, err, royalpay.ErrNoAvailableCards)
	require.NotErrorIs(t, err, payments.ErrOutcomeUnknown)
	p, err := c.CreatePayment(ctx, params(royalpay.TypeCard, "ORD-2"))
	require.NoError(t, err)

	creates := obs.named("royalpay create")
	require.Len(t, creates, 2)
	refused, ok := attrs(creates[0]), attrs(creates[1])
	assert.False(t, creates[0].Parent().IsValid(), "the operation is the root: no span around it")
	assert.Equal(t, []string{"royalpay create attempt"}, obs.childrenOf(creates[0]))
	assert.Equal(t, "royalpay", refused[telemetry.Provider])
	assert.Equal(t, "create", refused[telemetry.Operation])
	assert.Equal(t, "ORD-1", refused[telemetry.Ref])
	assert.Equal(t, telemetry.OutcomeRefused, refused[telemetry.Outcome])
	assert.Equal(t, telemetry.KindDeclined, refused[telemetry.Kind])
	assert.Equal(t, royalpay.CodeNoAvailableCards, refused[telemetry.ProviderCode])
	assert.Equal(t, "500", refused[telemetry.HTTPStatus])
	assert.Equal(t, codes.Error, creates[0].Status().Code)
	assert.NotContains(t, refused, telemetry.ProviderID)
	assert.Equal(t, telemetry.OutcomeOK, ok[telemetry.Outcome])
	assert.Equal(t, "ORD-2", ok[telemetry.Ref])
	assert.Equal(t, strconv.FormatInt(p.ID, 10), ok[telemetry.ProviderID])
	obs.noSecret(t, srv.Token(), royalpaytest.DefaultPayoutToken)

	got := obs.counts(t)
	for k, want := range map[string]int64{
		"payments.refusals{payments.operation=create,payments.provider=royalpay,payments.refusal.kind=declined}":             1,
		"payments.outcome_unknown{payments.operation=create,payments.provider=royalpay}":                                     0,
		"payments.operation.duration{payments.operation=create,payments.outcome=refused,payments.provider=royalpay}":         1,
		"payments.operation.duration{payments.operation=create,payments.outcome=outcome_unknown,payments.provider=royalpay}": 0,
		"payments.operation.duration{payments.operation=create,payments.outcome=ok,payments.provider=royalpay}":              1,
		"payments.operation.attempts{payments.operation=create,payments.provider=royalpay}":                                  2,
	} {
		assert.Equal(t, want, got[k], "%s (all: %v)", k, got)
	}
}

// A payout create whose answer is lost is outcome_unknown (span and
// counter), on the payout transport. The lookup by outter_id that settles
// it finds the payout (ok, its id on the span); a lookup answered with an
// empty list is not_found, where the 200 alone says ok.
func TestTelemetryLostPayoutAndItsLookup(t *testing.T) {
	t.Parallel()
	srv := royalpaytest.NewServer(royalpaytest.WithT(t))
	obs, opts := observe()
	c := telemetryClient(t, srv, opts)
	ctx := context.Background()
	const card = "4111111111111111"

	srv.DropPayoutNext(1)
	_, err := c.CreatePayout(ctx, royalpay.PayoutParams{Method: royalpay.PayoutInterbank, Requisite: card,
		Amount: payments.MustDecimal("1500"), OutterID: "PO-9"})
	require.ErrorIs(t, err, payments.ErrOutcomeUnknown)
	found, err := c.PayoutByOutterID(ctx, "PO-9")
	require.NoError(t, err, "the fake made the payout before losing its answer")
	_, err = c.PayoutByOutterID(ctx, "PO-never-sent")
	require.ErrorIs(t, err, payments.ErrNotFound)

	create := obs.one(t, "royalpay create_payout")
	assert.False(t, create.Parent().IsValid(), "the operation is the root: no span around it")
	assert.Equal(t, []string{"royalpay create_payout attempt"}, obs.childrenOf(create))
	a := attrs(create)
	assert.Equal(t, telemetry.OutcomeUnknown, a[telemetry.Outcome])
	assert.Equal(t, "PO-9", a[telemetry.Ref])
	assert.Equal(t, codes.Error, create.Status().Code)

	lookups := obs.named("royalpay get_payout")
	require.Len(t, lookups, 2)
	hit, miss := attrs(lookups[0]), attrs(lookups[1])
	assert.Equal(t, telemetry.OutcomeOK, hit[telemetry.Outcome])
	assert.Equal(t, "PO-9", hit[telemetry.Ref])
	assert.Equal(t, strconv.FormatInt(found.ID, 10), hit[telemetry.ProviderID])
	assert.Equal(t, telemetry.OutcomeNotFound, miss[telemetry.Outcome])
	assert.Equal(t, "PO-never-sent", miss[telemetry.Ref])
	assert.NotEqual(t, codes.Error, lookups[1].Status().Code, "not found is an answer, not a failure")
	obs.noSecret(t, srv.Token(), royalpaytest.DefaultPayoutToken, card, "411111")

	got := obs.counts(t)
	for k, want := range map[string]int64{
		"payments.outcome_unknown{payments.operation=create_payout,payments.provider=royalpay}":                                     1,
		"payments.operation.duration{payments.operation=create_payout,payments.outcome=outcome_unknown,payments.provider=royalpay}": 1,
		"payments.operation.duration{payments.operation=get_payout,payments.outcome=ok,payments.provider=royalpay}":                 1,
		"payments.operation.duration{payments.operation=get_payout,payments.outcome=not_found,payments.provider=royalpay}":          1,
		"payments.operation.attempts{payments.operation=create_payout,payments.provider=royalpay}":                                  1,
	} {
		assert.Equal(t, want, got[k], "%s (all: %v)", k, got)
	}
}

// A payment read by id is a root span with the id as its reference; found,
// it carries the payment's id, unknown (404 on both forms of the path) it
// is not_found. (The second form's transport call is a span of its own
// under the operation's: an operation joins one transport call.)
func TestTelemetryGetPayment(t *testing.T) {
	t.Parallel()
	srv := royalpaytest.NewServer(royalpaytest.WithT(t))
	obs, opts := observe()
	c := telemetryClient(t, srv, opts)
	ctx := context.Background()

	_, err := c.GetPayment(ctx, 987654)
	require.ErrorIs(t, err, payments.ErrNotFound)
	p, err := c.CreatePayment(ctx, params(royalpay.TypeSBP, "ORD-3"))
	require.NoError(t, err)
	_, err = c.GetPayment(ctx, p.ID)
	require.NoError(t, err)

	var roots []sdktrace.ReadOnlySpan
	for _, s := range obs.named("royalpay get") {
		if !s.Parent().IsValid() {
			roots = append(roots, s)
		}
	}
	require.Len(t, roots, 2, "one operation per call")
	missing, found := attrs(roots[0]), attrs(roots[1])
	assert.Equal(t, telemetry.OutcomeNotFound, missing[telemetry.Outcome])
	assert.Equal(t, "987654", missing[telemetry.Ref])
	assert.NotContains(t, missing, telemetry.ProviderID)
	assert.Equal(t, telemetry.OutcomeOK, found[telemetry.Outcome])
	id := strconv.FormatInt(p.ID, 10)
	assert.Equal(t, id, found[telemetry.Ref])
	assert.Equal(t, id, found[telemetry.ProviderID])
}
