package telemetry

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/paysdk/payments"
)

func TestOutcomeOf(t *testing.T) {
	api := func(status int, cat error) error {
		return &payments.APIError{Provider: "p", Op: "o", HTTPStatus: status, Code: "7", Category: cat}
	}
	cases := []struct {
		err     error
		outcome string
		kind    string
	}{
		{nil, OutcomeOK, ""},
		{&payments.OutcomeUnknownError{Provider: "p", Op: "pay", Ref: "r", Err: api(500, payments.ErrUnavailable)}, OutcomeUnknown, ""},
		{api(404, payments.ErrNotFound), OutcomeNotFound, ""},
		{fmt.Errorf("p pay: %w", context.Canceled), OutcomeCanceled, ""},
		{&payments.ValidationError{Field: "amount", Reason: "negative"}, OutcomeRefused, KindInvalid},
		{api(503, payments.ErrUnavailable), OutcomeRefused, KindRateLimited},
		{api(200, payments.ErrInsufficientFunds), OutcomeRefused, KindFunds},
		{api(403, payments.ErrForbidden), OutcomeRefused, KindAuth},
		{api(200, payments.ErrDeclined), OutcomeRefused, KindDeclined},
		{api(200, payments.ErrDuplicate), OutcomeRefused, KindDuplicate},
		{api(500, payments.ErrUnavailable), OutcomeRefused, KindUnavailable},
		{&payments.APIError{Provider: "p", Op: "o", HTTPStatus: 200, Code: "malformed-answer", Category: payments.ErrUnavailable}, OutcomeError, ""},
		{&payments.TransportError{Provider: "p", Op: "o", Err: errors.New("dial")}, OutcomeError, ""},
	}
	for _, c := range cases {
		if got := OutcomeOf(c.err); got != c.outcome {
			t.Errorf("OutcomeOf(%v) = %q, want %q", c.err, got, c.outcome)
		}
		if c.kind != "" {
			if got := RefusalKind(c.err); got != c.kind {
				t.Errorf("RefusalKind(%v) = %q, want %q", c.err, got, c.kind)
			}
		}
	}
}

// An operation joined by the transport call of the same name is one span
// with its attempts as children; a call of another name is a child
// operation of its own; the measurements carry no reference.
func TestOperationJoinAndMeasurements(t *testing.T) {
	sr := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sr))
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	tel := New(tp, mp)
	ctx := context.Background()

	octx, op := tel.Operation(ctx, "qiwitopup", "pay", "txn-1")
	// The transport's call for "token" (another name) starts its own span.
	tctx, tok, own := tel.Join(octx, "qiwitopup", "token", "")
	if !own {
		t.Fatal("a call of another name joined the operation")
	}
	_, a := tok.Attempt(tctx, 1)
	a.Waited(0)
	a.Sent("GET", "host", 200, true, nil)
	a.End("")
	tok.End(nil)
	// The call of the same name joins; a second one does not.
	jctx, joined, own := tel.Join(octx, "qiwitopup", "pay", "txn-1")
	if own || joined != op {
		t.Fatal("the transport call of the operation's own name did not join it")
	}
	if _, _, own := tel.Join(octx, "qiwitopup", "pay", "txn-1"); !own {
		t.Fatal("a second call joined an operation another call is in")
	}
	joined.Leave()
	if _, again, own := tel.Join(octx, "qiwitopup", "pay", "txn-1"); own || again != op {
		t.Fatal("a resend after the first call returned did not join the operation")
	}
	for n := 1; n <= 2; n++ {
		_, a := joined.Attempt(jctx, n)
		a.Waited(0)
		a.Sent("POST", "host", 503, false, nil)
		if n == 1 {
			a.End("rate_limited")
		} else {
			a.End("")
		}
	}
	op.End(&payments.APIError{Provider: "qiwitopup", Op: "pay", HTTPStatus: 200, Code: "220", Category: payments.ErrInsufficientFunds})

	spans := sr.Ended()
	byName := map[string]sdktrace.ReadOnlySpan{}
	for _, s := range spans {
		byName[s.Name()] = s
	}
	pay, tokSpan := byName["qiwitopup pay"], byName["qiwitopup token"]
	if pay == nil || tokSpan == nil {
		t.Fatalf("spans %v", names(spans))
	}
	if tokSpan.Parent().SpanID() != pay.SpanContext().SpanID() {
		t.Error("the token call is not a child of the pay operation")
	}
	attrs := attrMap(pay.Attributes())
	for k, want := range map[attribute.Key]string{Outcome: OutcomeRefused, Kind: KindFunds, ProviderCode: "220", Ref: "txn-1"} {
		if attrs[k] != want {
			t.Errorf("pay span %s = %q, want %q", k, attrs[k], want)
		}
	}
	attempts := 0
	for _, s := range spans {
		if s.Name() == "qiwitopup pay attempt" {
			attempts++
			if s.Parent().SpanID() != pay.SpanContext().SpanID() {
				t.Error("an attempt is not a child of its operation")
			}
		}
	}
	if attempts != 2 {
		t.Errorf("%d attempt spans, want 2", attempts)
	}

	var rm metricdata.ResourceMetrics
	if err := reader.Collect(ctx, &rm); err != nil {
		t.Fatal(err)
	}
	got := map[string]int64{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			switch d := m.Data.(type) {
			case metricdata.Sum[int64]:
				for _, p := range d.DataPoints {
					got[m.Name+"{"+attrString(p.Attributes)+"}"] += p.Value
					checkLowCardinality(t, m.Name, p.Attributes)
				}
			case metricdata.Histogram[float64]:
				for _, p := range d.DataPoints {
					got[m.Name+"{"+attrString(p.Attributes)+"}"] += int64(p.Count)
					checkLowCardinality(t, m.Name, p.Attributes)
				}
			}
		}
	}
	for k, want := range map[string]int64{
		"payments.refusals{payments.operation=pay,payments.provider=qiwitopup,payments.refusal.kind=funds}":                       1,
		"payments.operation.attempts{payments.operation=pay,payments.provider=qiwitopup}":                                         2,
		"payments.operation.duration{payments.operation=pay,payments.outcome=refused,payments.provider=qiwitopup}":                1,
		"payments.operation.duration{payments.operation=token,payments.outcome=ok,payments.provider=qiwitopup}":                   1,
		"http.client.request.duration{error.type=503,http.request.method=POST,http.response.status_code=503,server.address=host}": 2,
	} {
		if got[k] != want {
			t.Errorf("%s = %d, want %d (all: %v)", k, got[k], want, got)
		}
	}
}

// With no provider set (the global no-op ones) nothing is recorded, and a
// nil Telemetry is usable.
func TestNilTelemetry(t *testing.T) {
	var tel *Telemetry
	ctx, op := tel.Operation(context.Background(), "p", "o", "r")
	_, a := op.Attempt(ctx, 1)
	a.Waited(0)
	a.Sent("GET", "h", 200, true, nil)
	a.End("")
	op.End(errors.New("x"))
	if _, op, own := tel.Join(ctx, "p", "o", ""); op != nil || own {
		t.Fatal("nil Telemetry started an operation")
	}
}

func names(spans []sdktrace.ReadOnlySpan) []string {
	var out []string
	for _, s := range spans {
		out = append(out, s.Name())
	}
	return out
}

func attrMap(kvs []attribute.KeyValue) map[attribute.Key]string {
	m := map[attribute.Key]string{}
	for _, kv := range kvs {
		m[kv.Key] = kv.Value.String()
	}
	return m
}

func attrString(s attribute.Set) string {
	out := ""
	for i, kv := range s.ToSlice() {
		if i > 0 {
			out += ","
		}
		out += string(kv.Key) + "=" + kv.Value.String()
	}
	return out
}

// checkLowCardinality fails on a metric attribute outside the allowed keys.
func checkLowCardinality(t *testing.T, name string, s attribute.Set) {
	t.Helper()
	allowed := map[attribute.Key]bool{Provider: true, Operation: true, Outcome: true, Kind: true, Reason: true,
		Result: true, State: true, HTTPMethod: true, HTTPStatus: true, ServerAddr: true, ErrorType: true}
	for _, kv := range s.ToSlice() {
		if !allowed[kv.Key] {
			t.Errorf("metric %s has attribute %s: not low-cardinality", name, kv.Key)
		}
	}
}
