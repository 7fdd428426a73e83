package ledger_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/ledger"
	"github.com/paysdk/payments/ledger/sqlitestore"
	"github.com/paysdk/payments/payout"
	"github.com/paysdk/payments/payout/mempayout"
	"github.com/paysdk/payments/payout/popolnipayout"
	"github.com/paysdk/payments/popolni"
	"github.com/paysdk/payments/popolni/popolnitest"
)

// otelKit is an SDK tracer provider with a span recorder and an SDK meter
// provider with a manual reader, passed explicitly (never the globals:
// tests run in parallel).
type otelKit struct {
	spans  *tracetest.SpanRecorder
	tp     *sdktrace.TracerProvider
	reader *sdkmetric.ManualReader
	mp     *sdkmetric.MeterProvider
}

func newOtelKit(t *testing.T) *otelKit {
	k := &otelKit{spans: tracetest.NewSpanRecorder(), reader: sdkmetric.NewManualReader()}
	k.tp = sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(k.spans))
	k.mp = sdkmetric.NewMeterProvider(sdkmetric.WithReader(k.reader))
	t.Cleanup(func() {
		_ = k.tp.Shutdown(context.Background())
		_ = k.mp.Shutdown(context.Background())
	})
	return k
}

// collect reads every metric now.
func (k *otelKit) collect(t *testing.T) metricdata.ResourceMetrics {
	t.Helper()
	var rm metricdata.ResourceMetrics
	require.NoError(t, k.reader.Collect(context.Background(), &rm))
	return rm
}

// point is one data point: its attributes and value.
type point struct {
	attrs attribute.Set
	value float64
}

// points are the data points of the metric name (nil when it has none).
func points(rm metricdata.ResourceMetrics, name string) []point {
	var out []point
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name != name {
				continue
			}
			switch d := m.Data.(type) {
			case metricdata.Sum[int64]:
				for _, p := range d.DataPoints {
					out = append(out, point{p.Attributes, float64(p.Value)})
				}
			case metricdata.Sum[float64]:
				for _, p := range d.DataPoints {
					out = append(out, point{p.Attributes, p.Value})
				}
			case metricdata.Gauge[int64]:
				for _, p := range d.DataPoints {
					out = append(out, point{p.Attributes, float64(p.Value)})
				}
			case metricdata.Gauge[float64]:
				for _, p := range d.DataPoints {
					out = append(out, point{p.Attributes, p.Value})
				}
			}
		}
	}
	return out
}

// metricValue sums the points of name whose attributes include kvs ("key",
// "value" pairs).
func metricValue(rm metricdata.ResourceMetrics, name string, kvs ...string) float64 {
	sum := 0.0
	for _, p := range points(rm, name) {
		if hasAttrs(p.attrs, kvs...) {
			sum += p.value
		}
	}
	return sum
}

func hasAttrs(set attribute.Set, kvs ...string) bool {
	for i := 0; i+1 < len(kvs); i += 2 {
		v, ok := set.Value(attribute.Key(kvs[i]))
		if !ok || v.String() != kvs[i+1] {
			return false
		}
	}
	return true
}

// metricKeys are the attribute keys every point of name carries, sorted.
func metricKeys(rm metricdata.ResourceMetrics, name string) map[string]bool {
	keys := map[string]bool{}
	for _, p := range points(rm, name) {
		for _, kv := range p.attrs.ToSlice() {
			keys[string(kv.Key)] = true
		}
	}
	return keys
}

// spanAttr is the value of span's attribute key, "" when absent.
func spanAttr(s sdktrace.ReadOnlySpan, key string) string {
	for _, kv := range s.Attributes() {
		if string(kv.Key) == key {
			return kv.Value.String()
		}
	}
	return ""
}

func named(spans []sdktrace.ReadOnlySpan, name string) []sdktrace.ReadOnlySpan {
	var out []sdktrace.ReadOnlySpan
	for _, s := range spans {
		if s.Name() == name {
			out = append(out, s)
		}
	}
	return out
}

func childrenOf(spans []sdktrace.ReadOnlySpan, parent sdktrace.ReadOnlySpan, name string) []sdktrace.ReadOnlySpan {
	var out []sdktrace.ReadOnlySpan
	for _, s := range named(spans, name) {
		if s.Parent().SpanID() == parent.SpanContext().SpanID() && s.Parent().TraceID() == parent.SpanContext().TraceID() {
			out = append(out, s)
		}
	}
	return out
}

func parentOf(t *testing.T, spans []sdktrace.ReadOnlySpan, s sdktrace.ReadOnlySpan) sdktrace.ReadOnlySpan {
	t.Helper()
	for _, p := range spans {
		if p.SpanContext().SpanID() == s.Parent().SpanID() && p.SpanContext().TraceID() == s.Parent().TraceID() {
			return p
		}
	}
	t.Fatalf("span %q: its parent %s was not recorded", s.Name(), s.Parent().SpanID())
	return nil
}

func one(t *testing.T, spans []sdktrace.ReadOnlySpan, what string) sdktrace.ReadOnlySpan {
	t.Helper()
	require.Len(t, spans, 1, "%s: %s", what, spanNames(spans))
	return spans[0]
}

func spanNames(spans []sdktrace.ReadOnlySpan) string {
	var b strings.Builder
	for _, s := range spans {
		b.WriteString(s.Name())
		for _, kv := range s.Attributes() {
			b.WriteString(" " + string(kv.Key) + "=" + kv.Value.String())
		}
		b.WriteString("\n")
	}
	return b.String()
}

// noSecretIn fails when any attribute, event or status of spans shows one
// of secrets.
func noSecretIn(t *testing.T, spans []sdktrace.ReadOnlySpan, secrets ...string) {
	t.Helper()
	for _, s := range spans {
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
				require.NotContains(t, text, secret, "span %q", s.Name())
			}
		}
	}
}

// clock is a clock the test moves.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// countingStats is the SQLite store counting its Stats queries.
type countingStats struct {
	*sqlitestore.Store
	stats atomic.Int32
}

func (s *countingStats) Stats(ctx context.Context) ([]ledger.Stat, error) {
	s.stats.Add(1)
	return s.Store.Stats(ctx)
}

// TestTelemetryLostPopolniAnswerSettledByStatus is the proof: a
// popolni payout whose pay answers are all lost, settled by the ledger's
// status poll, makes the span tree ledger claim → ledger send → popolni
// pay (outcome_unknown) → its attempts, then ledger poll → popolni status
// and ledger settle (succeeded) → ledger final; the counters say one
// outcome-unknown pay and one final success; the gauges show the payout in
// flight and its age, from one store query per StatsInterval.
func TestTelemetryLostPopolniAnswerSettledByStatus(t *testing.T) {
	k := newOtelKit(t)
	srv := popolnitest.NewServer(popolnitest.WithT(t), popolnitest.WithBalance(1_000_000_00, 0),
		popolnitest.WithRateLimit(0), popolnitest.WithStepsPerPoll(2))
	t.Cleanup(srv.Close)
	c, err := popolni.New(popolni.Credentials{Login: srv.Login(), Password: srv.Password()},
		append(srv.ClientOptions(), payments.WithTestTiming(),
			payments.WithRetry(payments.RetryPolicy{MaxAttempts: 2, BaseDelay: time.Millisecond, MaxDelay: time.Millisecond}),
			payments.WithTracerProvider(k.tp), payments.WithMeterProvider(k.mp))...)
	require.NoError(t, err)
	pc := payout.NewClient(popolnipayout.New(c, popolnipayout.Options{PollInterval: time.Millisecond}))
	t.Cleanup(func() { pc.Close() })
	// Both attempts of the pay are carried out and their answers lost.
	srv.DropNextOp(popolnitest.OpPay, 2)

	sq, err := sqlitestore.Open(context.Background(), filepath.Join(t.TempDir(), "ledger.db"))
	require.NoError(t, err)
	t.Cleanup(func() { sq.Close() })
	store := &countingStats{Store: sq}

	t0 := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	clk := &clock{t: t0}
	unknown := make(chan struct{}, 1)
	var f finals
	l, err := ledger.New(store, fast(ledger.Options{
		Now:          clk.Now,
		PollInterval: 10 * time.Second, // on the test's clock: nothing is polled until it moves
		OnFinal:      f.on,
		OnError: func(err error) {
			if errors.Is(err, payments.ErrOutcomeUnknown) {
				select {
				case unknown <- struct{}{}:
				default:
				}
			}
		},
		TracerProvider: k.tp,
		MeterProvider:  k.mp,
	}), pc)
	require.NoError(t, err)

	const ref, phone = "5000000001", "79161234567"
	caller, callerSpan := k.tp.Tracer("test").Start(context.Background(), "batch job")
	n, err := l.Submit(caller, payout.Request{Ref: ref, Amount: rub(10000), To: payout.Destination{Kind: payout.Mobile, Account: phone}})
	require.NoError(t, err)
	require.Equal(t, 1, n)
	callerSpan.End()

	stop := running(t, l)
	select {
	case <-unknown:
	case <-time.After(2 * time.Minute):
		t.Fatal("the lost pay was not reported within 2 minutes")
	}
	// The InFlight mark was durable before the pay: the gauges see it.
	clk.Add(7 * time.Second)
	rm := k.collect(t)
	require.EqualValues(t, 1, store.stats.Load(), "the first collection reads the store")
	require.EqualValues(t, 1, metricValue(rm, "payments.ledger.intents", "payments.provider", "popolni", "payments.state", "in_flight"))
	for _, st := range []ledger.Status{ledger.Recorded, ledger.Pending, ledger.Succeeded, ledger.Failed} {
		require.Zero(t, metricValue(rm, "payments.ledger.intents", "payments.provider", "popolni", "payments.state", string(st)), st)
	}
	require.InDelta(t, 7, metricValue(rm, "payments.ledger.oldest_open.age", "payments.provider", "popolni"), 1e-6)

	// The poll is due on the test's clock: the status settles it.
	clk.Add(10 * time.Second)
	waitFinal(t, store, 30*time.Second)
	rec, err := l.Get(context.Background(), ref)
	require.NoError(t, err)
	require.Equal(t, ledger.Succeeded, rec.Status)
	require.Equal(t, 1, rec.Sends, "settled by the status, not by a resend")

	// Within StatsInterval (15 s) of the last read: the same figures, no
	// query; the age goes on from the figures' oldest intent.
	rm = k.collect(t)
	require.EqualValues(t, 1, store.stats.Load(), "a collection within StatsInterval queried the store")
	require.EqualValues(t, 1, metricValue(rm, "payments.ledger.intents", "payments.provider", "popolni", "payments.state", "in_flight"))
	require.InDelta(t, 17, metricValue(rm, "payments.ledger.oldest_open.age", "payments.provider", "popolni"), 1e-6)
	// After it: one more query, and the queue is empty.
	clk.Add(15 * time.Second)
	rm = k.collect(t)
	require.EqualValues(t, 2, store.stats.Load())
	for _, st := range ledger.Statuses {
		require.Zero(t, metricValue(rm, "payments.ledger.intents", "payments.provider", "popolni", "payments.state", string(st)), st)
	}
	require.Len(t, points(rm, "payments.ledger.intents"), len(ledger.Statuses), "one point per status of the one provider")
	require.Zero(t, metricValue(rm, "payments.ledger.oldest_open.age", "payments.provider", "popolni"))
	require.Len(t, points(rm, "payments.ledger.oldest_open.age"), 1)
	stop()

	// The counters.
	rm = k.collect(t)
	require.EqualValues(t, 1, metricValue(rm, "payments.outcome_unknown", "payments.provider", "popolni", "payments.operation", "pay"))
	require.EqualValues(t, 1, metricValue(rm, "payments.outcome_unknown"), "outcome-unknown operations")
	require.EqualValues(t, 2, metricValue(rm, "payments.operation.attempts", "payments.provider", "popolni", "payments.operation", "pay"))
	require.EqualValues(t, 1, metricValue(rm, "payments.ledger.sends", "payments.provider", "popolni", "payments.result", "outcome_unknown"))
	require.EqualValues(t, 1, metricValue(rm, "payments.ledger.sends"), "sends")
	require.EqualValues(t, 1, metricValue(rm, "payments.ledger.finals", "payments.provider", "popolni", "payments.state", "succeeded"))
	require.EqualValues(t, 1, metricValue(rm, "payments.ledger.finals"), "finals")
	require.Empty(t, points(rm, "payments.ledger.store.errors"))
	require.Empty(t, points(rm, "payments.ledger.intents"), "the gauges are gone with Run")
	// Low-cardinality attributes only.
	require.Equal(t, map[string]bool{"payments.provider": true, "payments.result": true}, metricKeys(rm, "payments.ledger.sends"))
	require.Equal(t, map[string]bool{"payments.provider": true, "payments.state": true}, metricKeys(rm, "payments.ledger.finals"))

	// The span tree.
	spans := k.spans.Ended()
	submit := one(t, named(spans, "ledger submit"), "submits")
	require.Equal(t, callerSpan.SpanContext().SpanID(), submit.Parent().SpanID(), "Submit's span is a child of its caller's")
	require.Equal(t, "1", spanAttr(submit, "payments.ledger.refs"))
	require.Equal(t, "1", spanAttr(submit, "payments.ledger.inserted"))
	require.Equal(t, ref, spanAttr(submit, "payments.ref"))

	send := one(t, named(spans, "ledger send"), "sends")
	require.Equal(t, ref, spanAttr(send, "payments.ref"))
	require.Equal(t, "popolni", spanAttr(send, "payments.provider"))
	require.Equal(t, "outcome_unknown", spanAttr(send, "payments.result"))
	require.Equal(t, "false", spanAttr(send, "payments.ledger.resend"))
	require.Equal(t, codes.Error, send.Status().Code)
	claim := parentOf(t, spans, send)
	require.Equal(t, "ledger claim", claim.Name())
	require.False(t, claim.Parent().IsValid(), "a claim is a root")
	require.Equal(t, "1", spanAttr(claim, "payments.ledger.claimed"))

	pay := one(t, childrenOf(spans, send, "popolni pay"), "popolni pay under the send")
	require.Len(t, named(spans, "popolni pay"), 1)
	require.Equal(t, "outcome_unknown", spanAttr(pay, "payments.outcome"))
	require.Len(t, childrenOf(spans, pay, "popolni pay attempt"), 2, "the pay's attempts")

	var settle sdktrace.ReadOnlySpan
	for _, s := range named(spans, "ledger settle") {
		if spanAttr(s, "payments.result") == "final" {
			require.Nil(t, settle, "two final settles")
			settle = s
		}
	}
	require.NotNil(t, settle, "no final settle:\n%s", spanNames(spans))
	require.Equal(t, ref, spanAttr(settle, "payments.ref"))
	require.Equal(t, "succeeded", spanAttr(settle, "payments.state"))
	poll := parentOf(t, spans, settle)
	require.Equal(t, "ledger poll", poll.Name())
	require.Equal(t, "popolni", spanAttr(poll, "payments.provider"))
	require.NotEmpty(t, childrenOf(spans, poll, "popolni status"), "the poll's status request")
	require.Equal(t, "ledger claim", parentOf(t, spans, poll).Name())
	require.NotEqual(t, claim.SpanContext().TraceID(), poll.SpanContext().TraceID(), "each claim is a trace of its own")
	final := one(t, childrenOf(spans, settle, "ledger final"), "the OnFinal hook under the settle")
	require.Equal(t, "ok", spanAttr(final, "payments.result"))
	require.Equal(t, "succeeded", spanAttr(final, "payments.state"))

	noSecretIn(t, spans, phone, srv.Password())
}

// scriptedSends is a payout driver whose Send answers the errors scriptedSends for a
// Ref, one per Send, without reaching the provider; then the provider's.
type scriptedSends struct {
	payout.Driver
	mu   sync.Mutex
	errs map[string][]error
}

func (d *scriptedSends) script(ref string, errs ...error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.errs == nil {
		d.errs = map[string][]error{}
	}
	d.errs[ref] = append(d.errs[ref], errs...)
}

func (d *scriptedSends) Send(ctx context.Context, r payout.Request) (payout.Payout, error) {
	d.mu.Lock()
	var err error
	if q := d.errs[r.Ref]; len(q) > 0 {
		err, d.errs[r.Ref] = q[0], q[1:]
	}
	d.mu.Unlock()
	if err != nil {
		return payout.Payout{Ref: r.Ref, Amount: r.Amount, To: r.To}, err
	}
	return d.Driver.Send(ctx, r)
}

func memClient(t *testing.T, provider string) (*scriptedSends, *payout.Client) {
	t.Helper()
	d, err := mempayout.New(mempayout.Options{Capabilities: payout.Capabilities{Provider: provider}}, payments.WithTestTiming())
	require.NoError(t, err)
	s := &scriptedSends{Driver: d}
	c := payout.NewClient(s)
	t.Cleanup(func() { c.Close() })
	return s, c
}

// TestTelemetrySendResults: each send is counted by what came of it
// (refused, failover, retry, outcome_unknown, sent; resend for a send after
// a "not found"), and its span says so.
func TestTelemetrySendResults(t *testing.T) {
	k := newOtelKit(t)
	a, ca := memClient(t, "a")
	b, cb := memClient(t, "b")
	declined := &payments.APIError{Provider: "a", Op: "send", Code: "declined", Category: payments.ErrDeclined}
	limited := func(p string) error {
		return &payments.APIError{Provider: p, Op: "send", HTTPStatus: 429, Category: payments.ErrRateLimited}
	}
	a.script("refused", declined)
	a.script("moved", limited("a"))
	b.script("moved", limited("b")) // nowhere further: sent again at b after a backoff
	a.script("resent", &payments.OutcomeUnknownError{Provider: "a", Op: "send", Ref: "resent", Err: errors.New("lost")})

	s := eachStoreSQLite(t)
	l, err := ledger.New(s, fast(ledger.Options{TracerProvider: k.tp, MeterProvider: k.mp}), ca, cb)
	require.NoError(t, err)
	to := payout.Destination{Kind: payout.Mobile, Account: "79160000001"}
	_, err = l.Submit(context.Background(),
		payout.Request{Ref: "refused", Amount: rub(10000), To: to},
		payout.Request{Ref: "moved", Amount: rub(10000), To: to},
		payout.Request{Ref: "resent", Amount: rub(10000), To: to})
	require.NoError(t, err)
	stop := running(t, l)
	all := waitFinal(t, s, 30*time.Second)
	stop()
	status := map[string]ledger.Status{}
	for _, r := range all {
		status[r.Ref] = r.Status
	}
	require.Equal(t, map[string]ledger.Status{"refused": ledger.Failed, "moved": ledger.Succeeded, "resent": ledger.Succeeded}, status)

	rm := k.collect(t)
	want := map[[2]string]float64{
		{"a", "refused"}: 1, {"a", "failover"}: 1, {"a", "outcome_unknown"}: 1, {"a", "resend"}: 1,
		{"b", "retry"}: 1, {"b", "sent"}: 1,
	}
	got := map[[2]string]float64{}
	for _, p := range points(rm, "payments.ledger.sends") {
		prov, _ := p.attrs.Value("payments.provider")
		res, _ := p.attrs.Value("payments.result")
		got[[2]string{prov.AsString(), res.AsString()}] += p.value
	}
	require.Equal(t, want, got, "payments.ledger.sends")
	require.EqualValues(t, 1, metricValue(rm, "payments.ledger.finals", "payments.provider", "a", "payments.state", "failed"))
	require.EqualValues(t, 1, metricValue(rm, "payments.ledger.finals", "payments.provider", "a", "payments.state", "succeeded"))
	require.EqualValues(t, 1, metricValue(rm, "payments.ledger.finals", "payments.provider", "b", "payments.state", "succeeded"))
	require.EqualValues(t, 3, metricValue(rm, "payments.ledger.finals"))

	spans := k.spans.Ended()
	sends := map[string][]sdktrace.ReadOnlySpan{}
	for _, sp := range named(spans, "ledger send") {
		sends[spanAttr(sp, "payments.ref")] = append(sends[spanAttr(sp, "payments.ref")], sp)
	}
	require.Len(t, sends["refused"], 1)
	require.Equal(t, "refused", spanAttr(sends["refused"][0], "payments.result"))
	require.Equal(t, "failed", spanAttr(sends["refused"][0], "payments.state"))
	require.Len(t, sends["moved"], 3, spanNames(sends["moved"]))
	require.Equal(t, "failover", spanAttr(sends["moved"][0], "payments.result"))
	require.Equal(t, "b", spanAttr(sends["moved"][0], "payments.ledger.failover_to"))
	require.Equal(t, "a", spanAttr(sends["moved"][0], "payments.provider"))
	require.Equal(t, "retry", spanAttr(sends["moved"][1], "payments.result"))
	require.Equal(t, "sent", spanAttr(sends["moved"][2], "payments.result"))
	require.Equal(t, "b", spanAttr(sends["moved"][2], "payments.provider"))
	require.Equal(t, codes.Unset, sends["moved"][2].Status().Code)
	require.Len(t, sends["resent"], 2)
	require.Equal(t, "outcome_unknown", spanAttr(sends["resent"][0], "payments.result"))
	require.Equal(t, "false", spanAttr(sends["resent"][0], "payments.ledger.resend"))
	resend := sends["resent"][1]
	require.Equal(t, "true", spanAttr(resend, "payments.ledger.resend"))
	require.Equal(t, "sent", spanAttr(resend, "payments.result"))
	require.Equal(t, "2", spanAttr(resend, "payments.ledger.send"))
	settle := parentOf(t, spans, resend)
	require.Equal(t, "ledger settle", settle.Name(), "a resend is caused by its settle")
	require.Equal(t, "resend", spanAttr(settle, "payments.result"))
	require.Equal(t, "not_found", spanAttr(settle, "payments.outcome"))
	require.Equal(t, "ledger poll", parentOf(t, spans, settle).Name())
}

// TestTelemetryOnFinalHook: "ledger final" says whether OnFinal accepted
// the record, failed, or panicked; the retries of a hook that failed are
// caused by a claim of the final record.
func TestTelemetryOnFinalHook(t *testing.T) {
	k := newOtelKit(t)
	_, c := memClient(t, "mem")
	var calls sync.Map
	onFinal := func(_ context.Context, r ledger.Record) error {
		n, _ := calls.LoadOrStore(r.Ref, new(atomic.Int32))
		if n.(*atomic.Int32).Add(1) > 1 {
			return nil
		}
		switch r.Ref {
		case "fails":
			return errors.New("the merchant's database is down")
		case "panics":
			panic("nil map")
		}
		return nil
	}
	s := eachStoreSQLite(t)
	l, err := ledger.New(s, fast(ledger.Options{OnFinal: onFinal, TracerProvider: k.tp, MeterProvider: k.mp}), c)
	require.NoError(t, err)
	to := payout.Destination{Kind: payout.Mobile, Account: "79160000002"}
	_, err = l.Submit(context.Background(),
		payout.Request{Ref: "accepts", Amount: rub(10000), To: to},
		payout.Request{Ref: "fails", Amount: rub(10000), To: to},
		payout.Request{Ref: "panics", Amount: rub(10000), To: to})
	require.NoError(t, err)
	stop := running(t, l)
	waitFinal(t, s, 30*time.Second)
	stop()

	spans := k.spans.Ended()
	results := map[string][]string{}
	for _, sp := range named(spans, "ledger final") {
		ref := spanAttr(sp, "payments.ref")
		results[ref] = append(results[ref], spanAttr(sp, "payments.result"))
		parent := parentOf(t, spans, sp)
		if len(results[ref]) == 1 {
			require.Equal(t, "ledger send", parent.Name(), "the first call is caused by the send that made it final")
		} else {
			require.Equal(t, "ledger claim", parent.Name(), "a retried call is caused by the claim of the final record")
		}
		if spanAttr(sp, "payments.result") != "ok" {
			require.Equal(t, codes.Error, sp.Status().Code)
		}
	}
	require.Equal(t, map[string][]string{"accepts": {"ok"}, "fails": {"error", "ok"}, "panics": {"panic", "ok"}}, results)
	noSecretIn(t, spans, "79160000002", "merchant's database")
	// A final record is counted once, however often the hook is retried.
	rm := k.collect(t)
	require.EqualValues(t, 3, metricValue(rm, "payments.ledger.finals", "payments.provider", "mem", "payments.state", "succeeded"))
}

// TestTelemetrySubmit: "ledger submit" is a child of the caller's span with
// the counts, and says why a Submit was refused.
func TestTelemetrySubmit(t *testing.T) {
	k := newOtelKit(t)
	_, c := memClient(t, "mem")
	s := eachStoreSQLite(t)
	l, err := ledger.New(s, fast(ledger.Options{TracerProvider: k.tp, MeterProvider: k.mp}), c)
	require.NoError(t, err)
	to := payout.Destination{Kind: payout.Mobile, Account: "79160000003"}
	reqs := []payout.Request{{Ref: "a", Amount: rub(10000), To: to}, {Ref: "b", Amount: rub(10000), To: to}}
	ctx, parent := k.tp.Tracer("test").Start(context.Background(), "http request")
	_, err = l.Submit(ctx, reqs...)
	require.NoError(t, err)
	_, err = l.Submit(ctx, append(reqs, payout.Request{Ref: "c", Amount: rub(10000), To: to})...)
	require.NoError(t, err)
	_, err = l.Submit(ctx, payout.Request{Ref: "a", Amount: rub(20000), To: to})
	require.ErrorIs(t, err, ledger.ErrConflict)
	parent.End()

	subs := named(k.spans.Ended(), "ledger submit")
	require.Len(t, subs, 3)
	for _, sp := range subs {
		require.Equal(t, parent.SpanContext().SpanID(), sp.Parent().SpanID())
		require.Equal(t, parent.SpanContext().TraceID(), sp.SpanContext().TraceID())
	}
	require.Equal(t, []string{"2", "2"}, []string{spanAttr(subs[0], "payments.ledger.refs"), spanAttr(subs[0], "payments.ledger.inserted")})
	require.Equal(t, []string{"3", "1"}, []string{spanAttr(subs[1], "payments.ledger.refs"), spanAttr(subs[1], "payments.ledger.inserted")})
	require.Empty(t, spanAttr(subs[1], "payments.ref"), "a batch's span names no single Ref")
	require.Equal(t, codes.Unset, subs[1].Status().Code)
	require.Equal(t, "a", spanAttr(subs[2], "payments.ref"))
	require.Equal(t, "0", spanAttr(subs[2], "payments.ledger.inserted"))
	require.Equal(t, codes.Error, subs[2].Status().Code)
	require.Equal(t, "conflict", spanAttr(subs[2], "error.type"))
	noSecretIn(t, subs, "79160000003", "200.00", "100.00")
}

// TestTelemetryStoreErrors: the store's errors are counted by operation
// and a failed claim is a span; the gauges of a store that cannot answer
// show nothing rather than old figures.
func TestTelemetryStoreErrors(t *testing.T) {
	k := newOtelKit(t)
	_, c := memClient(t, "mem")
	s, err := sqlitestore.Open(context.Background(), filepath.Join(t.TempDir(), "ledger.db"))
	require.NoError(t, err)
	failed := make(chan struct{}, 1)
	l, err := ledger.New(s, fast(ledger.Options{TracerProvider: k.tp, MeterProvider: k.mp,
		OnError: func(err error) {
			if errors.Is(err, ledger.ErrStore) {
				select {
				case failed <- struct{}{}:
				default:
				}
			}
		}}), c)
	require.NoError(t, err)
	require.NoError(t, s.Close())
	_, err = l.Submit(context.Background(), payout.Request{Ref: "a", Amount: rub(10000), To: payout.Destination{Kind: payout.Mobile, Account: "79160000004"}})
	require.ErrorIs(t, err, ledger.ErrStore)
	stop := running(t, l)
	select {
	case <-failed:
	case <-time.After(2 * time.Minute):
		t.Fatal("no store error within 2 minutes")
	}
	rm := k.collect(t) // the gauges' read fails too
	stop()
	rm2 := k.collect(t)

	require.EqualValues(t, 1, metricValue(rm2, "payments.ledger.store.errors", "payments.operation", "insert"))
	require.GreaterOrEqual(t, metricValue(rm2, "payments.ledger.store.errors", "payments.operation", "claim"), 1.0)
	require.EqualValues(t, 1, metricValue(rm2, "payments.ledger.store.errors", "payments.operation", "stats"))
	require.Equal(t, map[string]bool{"payments.operation": true}, metricKeys(rm2, "payments.ledger.store.errors"))
	require.Empty(t, points(rm, "payments.ledger.intents"), "figures of a store that does not answer")
	require.Empty(t, points(rm, "payments.ledger.oldest_open.age"))

	spans := k.spans.Ended()
	sub := one(t, named(spans, "ledger submit"), "submits")
	require.Equal(t, "store", spanAttr(sub, "error.type"))
	claims := named(spans, "ledger claim")
	require.NotEmpty(t, claims)
	require.Equal(t, codes.Error, claims[0].Status().Code)
	require.Equal(t, "store", spanAttr(claims[0], "error.type"))
	require.Equal(t, "0", spanAttr(claims[0], "payments.ledger.claimed"))
}

// TestTelemetryIdleClaimsMakeNoSpans: the work loop's empty claims (every
// Idle) make no span, and a store without Stats gets no gauges.
func TestTelemetryIdleClaimsMakeNoSpans(t *testing.T) {
	k := newOtelKit(t)
	_, c := memClient(t, "mem")
	s := eachStoreSQLite(t)
	polled := make(chan struct{})
	var once sync.Once
	// polledStore embeds the ledger.Store interface: it has no Stats.
	l, err := ledger.New(&polledStore{Store: s, claimed: func() { once.Do(func() { close(polled) }) }},
		fast(ledger.Options{TracerProvider: k.tp, MeterProvider: k.mp}), c)
	require.NoError(t, err)
	stop := running(t, l)
	<-polled
	rm := k.collect(t)
	stop()
	require.Empty(t, k.spans.Ended())
	require.Empty(t, points(rm, "payments.ledger.intents"))
	require.Empty(t, points(rm, "payments.ledger.oldest_open.age"))
}

// polledStore calls claimed after each Claim that took nothing, from the
// second on (the loop has then gone round once).
type polledStore struct {
	ledger.Store
	n       atomic.Int32
	claimed func()
}

func (s *polledStore) Claim(ctx context.Context, owner string, now time.Time, lease time.Duration, limit int) ([]ledger.Record, error) {
	rs, err := s.Store.Claim(ctx, owner, now, lease, limit)
	if err == nil && len(rs) == 0 && s.n.Add(1) >= 2 {
		s.claimed()
	}
	return rs, err
}
