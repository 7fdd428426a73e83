// Package telemetry is the SDK's OpenTelemetry instrumentation: the tracer,
// the instruments and the rules every layer follows when it records a span or
// a measurement. It uses only the OpenTelemetry API; the application chooses
// the SDK and the exporters.
//
// Off until the application turns it on: with no provider given, the global
// tracer and meter providers are used, which do nothing until the
// application sets them (otel.SetTracerProvider, otel.SetMeterProvider).
// Every recording site asks Recording / Enabled first, so an SDK operation
// with telemetry off builds no attribute.
//
// What never goes anywhere here: a secret, a card number, a phone or wallet
// number. Spans carry the merchant's reference (Ref, order id) and the
// provider's id, which are not secrets; metric attributes carry only
// low-cardinality values (provider, operation, outcome, kind, reason), never
// a reference or an id.
package telemetry

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/paysdk/payments"
)

// Scope is the instrumentation scope of every tracer and meter of the SDK.
const Scope = "github.com/paysdk/payments"

// Attribute keys the SDK sets. Metric attributes use only Provider,
// Operation, Outcome, Kind, Reason, Result, State and the HTTP semantic
// conventions' keys.
const (
	Provider     = attribute.Key("payments.provider")
	Operation    = attribute.Key("payments.operation")
	Outcome      = attribute.Key("payments.outcome")
	Kind         = attribute.Key("payments.refusal.kind")
	Ref          = attribute.Key("payments.ref") // spans only
	ProviderID   = attribute.Key("payments.provider.id")
	ProviderCode = attribute.Key("payments.provider.code") // spans only
	AttemptNo    = attribute.Key("payments.attempt")
	MaybeWritten = attribute.Key("payments.maybe_written")
	RetryReason  = attribute.Key("payments.retry.reason")
	LimiterWait  = attribute.Key("payments.limiter.wait_s")
	Result       = attribute.Key("payments.result")
	Reason       = attribute.Key("payments.reason")
	State        = attribute.Key("payments.state")

	HTTPMethod = attribute.Key("http.request.method")
	HTTPStatus = attribute.Key("http.response.status_code")
	ServerAddr = attribute.Key("server.address")
	ErrorType  = attribute.Key("error.type")
)

// Outcomes of an operation (the Outcome attribute).
const (
	OutcomeOK       = "ok"
	OutcomeRefused  = "refused"
	OutcomeUnknown  = "outcome_unknown"
	OutcomeNotFound = "not_found"
	OutcomeCanceled = "canceled"
	OutcomeError    = "error" // the provider could not be reached or answered unreadably
)

// OutcomeOf classifies an operation's error: nil is ok; an outcome-unknown
// error is outcome_unknown whatever it wraps; not found; a context's end;
// a provider's refusal or our own validation; anything else (transport,
// unreadable answer) is error.
func OutcomeOf(err error) string {
	var api *payments.APIError
	switch {
	case err == nil:
		return OutcomeOK
	case errors.Is(err, payments.ErrOutcomeUnknown):
		return OutcomeUnknown
	case errors.Is(err, payments.ErrNotFound):
		return OutcomeNotFound
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return OutcomeCanceled
	case errors.Is(err, payments.ErrInvalidRequest):
		return OutcomeRefused
	case errors.As(err, &api) && api.Code != "malformed-answer":
		return OutcomeRefused
	}
	return OutcomeError
}

// Refusal kinds (the Kind attribute of payments.refusals).
const (
	KindRateLimited = "rate_limited" // 429, 503, the provider's own "too often"
	KindFunds       = "funds"
	KindAuth        = "auth" // 401, 403, a bad signature or password, an IP not allowed
	KindInvalid     = "invalid"
	KindDeclined    = "declined"
	KindDuplicate   = "duplicate"
	KindUnavailable = "unavailable" // 5xx, maintenance
	KindOther       = "other"
)

// RefusalKind is the kind of a refusal (OutcomeOf(err) == refused).
func RefusalKind(err error) string {
	var api *payments.APIError
	if errors.As(err, &api) && (api.HTTPStatus == http.StatusTooManyRequests || api.HTTPStatus == http.StatusServiceUnavailable) {
		return KindRateLimited
	}
	switch {
	case errors.Is(err, payments.ErrRateLimited):
		return KindRateLimited
	case errors.Is(err, payments.ErrInsufficientFunds):
		return KindFunds
	case errors.Is(err, payments.ErrUnauthorized), errors.Is(err, payments.ErrForbidden):
		return KindAuth
	case errors.Is(err, payments.ErrInvalidRequest):
		return KindInvalid
	case errors.Is(err, payments.ErrDeclined):
		return KindDeclined
	case errors.Is(err, payments.ErrDuplicate):
		return KindDuplicate
	case errors.Is(err, payments.ErrUnavailable):
		return KindUnavailable
	}
	return KindOther
}

// Telemetry is the tracer and instruments of one client, ledger or
// handler. Make one with [New]. A nil *Telemetry records nothing and costs
// nothing (the uninstrumented baseline of the benchmarks); so do the nil
// *Op and *Attempt it hands out. Safe for concurrent use.
type Telemetry struct {
	Tracer trace.Tracer
	Meter  metric.Meter

	opDuration   metric.Float64Histogram
	attempts     metric.Int64Counter
	refusals     metric.Int64Counter
	unknown      metric.Int64Counter
	limiterWait  metric.Float64Histogram
	httpDuration metric.Float64Histogram
}

// New returns the telemetry of tp and mp; nil means the global provider
// (otel.GetTracerProvider, otel.GetMeterProvider), which delegates to
// whatever the application sets later.
func New(tp trace.TracerProvider, mp metric.MeterProvider) *Telemetry {
	if tp == nil {
		tp = otel.GetTracerProvider()
	}
	if mp == nil {
		mp = otel.GetMeterProvider()
	}
	t := &Telemetry{
		Tracer: tp.Tracer(Scope),
		Meter:  mp.Meter(Scope),
	}
	m := t.Meter
	// A meter's constructor errors only for a bad name; the instrument it
	// returns anyway works (or is a no-op), so the error is reported to
	// otel's handler and otherwise ignored.
	var err error
	t.opDuration, err = m.Float64Histogram("payments.operation.duration", metric.WithUnit("s"),
		metric.WithDescription("Duration of an SDK operation at a provider, retries and limiter waits included."),
		metric.WithExplicitBucketBoundaries(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60))
	handle(err)
	t.attempts, err = m.Int64Counter("payments.operation.attempts", metric.WithUnit("{attempt}"),
		metric.WithDescription("HTTP attempts made by SDK operations; more than operations means retries."))
	handle(err)
	t.refusals, err = m.Int64Counter("payments.refusals", metric.WithUnit("{refusal}"),
		metric.WithDescription("Operations a provider refused, by kind (rate_limited, funds, auth, invalid, declined, duplicate, unavailable, other)."))
	handle(err)
	t.unknown, err = m.Int64Counter("payments.outcome_unknown", metric.WithUnit("{operation}"),
		metric.WithDescription("Writes whose outcome is unknown: the provider may have carried them out; settle by status, never resend blindly."))
	handle(err)
	t.limiterWait, err = m.Float64Histogram("payments.limiter.wait.duration", metric.WithUnit("s"),
		metric.WithDescription("Time an attempt waited for the rate limiter before it was sent."),
		metric.WithExplicitBucketBoundaries(0, 0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
	handle(err)
	t.httpDuration, err = m.Float64Histogram("http.client.request.duration", metric.WithUnit("s"),
		metric.WithDescription("Duration of HTTP client requests."),
		metric.WithExplicitBucketBoundaries(0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10))
	handle(err)
	return t
}

func handle(err error) {
	if err != nil {
		otel.Handle(err)
	}
}

// Op is one SDK operation in progress: its span and what its measurements
// need. Make one with [Telemetry.Start]; call End exactly once.
type Op struct {
	t        *Telemetry
	ctx      context.Context
	Span     trace.Span
	provider string
	name     string
	start    time.Time
	metrics  bool
	joined   atomic.Bool // a transport call is in it now (Join, Leave)
}

// Start begins operation name at provider: a client span named
// "<provider> <name>" under ctx's span, with the merchant's reference when
// ref is not empty. The returned context carries the span.
func (t *Telemetry) Start(ctx context.Context, provider, name, ref string) (context.Context, *Op) {
	if t == nil {
		return ctx, nil
	}
	ctx, span := t.Tracer.Start(ctx, provider+" "+name, trace.WithSpanKind(trace.SpanKindClient))
	if span.IsRecording() {
		span.SetAttributes(Provider.String(provider), Operation.String(name))
		if ref != "" {
			span.SetAttributes(Ref.String(ref))
		}
	}
	op := &Op{t: t, ctx: ctx, Span: span, provider: provider, name: name}
	if t.opDuration.Enabled(ctx) || t.refusals.Enabled(ctx) || t.unknown.Enabled(ctx) {
		op.metrics = true
		op.start = time.Now()
	}
	return ctx, op
}

// End ends the operation with err (nil for success): the span's outcome,
// status, HTTP status and provider code, and the duration, refusal and
// outcome-unknown measurements.
func (o *Op) End(err error) {
	if o == nil {
		return
	}
	if !o.metrics && !o.Span.IsRecording() {
		o.Span.End()
		return
	}
	outcome := OutcomeOf(err)
	kind := ""
	if outcome == OutcomeRefused {
		kind = RefusalKind(err)
	}
	if o.Span.IsRecording() {
		o.Span.SetAttributes(Outcome.String(outcome))
		var api *payments.APIError
		if errors.As(err, &api) {
			if api.HTTPStatus != 0 {
				o.Span.SetAttributes(HTTPStatus.Int(api.HTTPStatus))
			}
			if api.Code != "" {
				o.Span.SetAttributes(ProviderCode.String(api.Code))
			}
		}
		if kind != "" {
			o.Span.SetAttributes(Kind.String(kind))
		}
		if err != nil && outcome != OutcomeNotFound {
			o.Span.SetStatus(codes.Error, outcome)
			o.Span.SetAttributes(ErrorType.String(ErrorTypeOf(err)))
		}
	}
	o.Span.End()
	if !o.metrics {
		return
	}
	attrs := metric.WithAttributes(Provider.String(o.provider), Operation.String(o.name), Outcome.String(outcome))
	o.t.opDuration.Record(o.ctx, time.Since(o.start).Seconds(), attrs)
	switch outcome {
	case OutcomeRefused:
		o.t.refusals.Add(o.ctx, 1, metric.WithAttributes(Provider.String(o.provider), Operation.String(o.name), Kind.String(kind)))
	case OutcomeUnknown:
		o.t.unknown.Add(o.ctx, 1, metric.WithAttributes(Provider.String(o.provider), Operation.String(o.name)))
	}
}

// ErrorTypeOf is the error.type of err: its outcome, or its refusal kind
// for a refusal. Never the error's text, which may quote a provider.
func ErrorTypeOf(err error) string {
	if o := OutcomeOf(err); o != OutcomeRefused {
		return o
	}
	return RefusalKind(err)
}

// Attempt is one HTTP attempt of an operation: a child span.
type Attempt struct {
	t     *Telemetry
	ctx   context.Context
	Span  trace.Span
	op    *Op
	n     int
	start time.Time
}

// Attempt begins attempt n (1 for the first) of o; the returned context
// carries its span, so a traced transport's HTTP span is its child.
func (o *Op) Attempt(ctx context.Context, n int) (context.Context, *Attempt) {
	if o == nil {
		return ctx, nil
	}
	ctx, span := o.t.Tracer.Start(ctx, o.provider+" "+o.name+" attempt", trace.WithSpanKind(trace.SpanKindInternal))
	if span.IsRecording() {
		span.SetAttributes(AttemptNo.Int(n))
	}
	a := &Attempt{t: o.t, ctx: ctx, Span: span, op: o, n: n}
	if o.metrics {
		o.t.attempts.Add(ctx, 1, metric.WithAttributes(Provider.String(o.provider), Operation.String(o.name)))
	}
	return ctx, a
}

// Waited records the limiter's wait before the attempt was sent.
func (a *Attempt) Waited(d time.Duration) {
	if a == nil {
		return
	}
	if a.Span.IsRecording() {
		a.Span.SetAttributes(LimiterWait.Float64(d.Seconds()))
	}
	if a.t.limiterWait.Enabled(a.ctx) {
		a.t.limiterWait.Record(a.ctx, d.Seconds(), metric.WithAttributes(Provider.String(a.op.provider)))
	}
	a.start = time.Now()
}

// Sent records the attempt's HTTP exchange: method, host, the status
// answered (0 for none) and err (the transport's, nil when answered). It is
// the semantic conventions' http.client.request.duration.
func (a *Attempt) Sent(method, host string, status int, written bool, err error) {
	if a == nil {
		return
	}
	if a.Span.IsRecording() {
		a.Span.SetAttributes(MaybeWritten.Bool(written), HTTPMethod.String(method))
		if status != 0 {
			a.Span.SetAttributes(HTTPStatus.Int(status))
		}
	}
	if !a.start.IsZero() && a.t.httpDuration.Enabled(a.ctx) {
		attrs := []attribute.KeyValue{HTTPMethod.String(method), ServerAddr.String(host)}
		switch {
		case status != 0:
			attrs = append(attrs, HTTPStatus.Int(status))
			if status >= 400 {
				attrs = append(attrs, ErrorType.String(strconv.Itoa(status)))
			}
		case err != nil:
			attrs = append(attrs, ErrorType.String(transportErrorType(err)))
		}
		a.t.httpDuration.Record(a.ctx, time.Since(a.start).Seconds(), metric.WithAttributes(attrs...))
	}
}

func transportErrorType(err error) string {
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	case errors.Is(err, context.Canceled):
		return "canceled"
	}
	return "transport"
}

// End ends the attempt. retry is why the loop will send again ("" when it
// will not): rate_limited, server_error, transport.
func (a *Attempt) End(retry string) {
	if a == nil {
		return
	}
	if a.Span.IsRecording() {
		if retry != "" {
			a.Span.SetAttributes(RetryReason.String(retry))
		} else {
			a.Span.SetAttributes(RetryReason.String("none"))
		}
	}
	a.Span.End()
}

type opKey struct{}

// Operation begins operation name at provider (see [Telemetry.Start]) and
// puts it in the returned context, so that the transport's call for the
// same operation adds its attempts to it instead of starting a span of its
// own (see [Telemetry.Join]). The caller ends it with its final error:
// what the provider's answer meant (a refusal in a 200 body, a payment not
// found), not only what HTTP said.
func (t *Telemetry) Operation(ctx context.Context, provider, name, ref string) (context.Context, *Op) {
	if t == nil {
		return ctx, nil
	}
	if ctx == nil { // the operation refuses it with payments.ErrNilContext; nothing to record
		return nil, &Op{t: t, Span: trace.SpanFromContext(context.Background())}
	}
	ctx, op := t.Start(ctx, provider, name, ref)
	return context.WithValue(ctx, opKey{}, op), op
}

// Join returns the operation ctx carries when it is provider's operation
// name and no other call is in it now (own false: the caller of Operation
// ends it, the joining call calls Leave when it returns, so a resend of
// the same operation joins it again), or else starts one (own true: the
// caller ends it).
func (t *Telemetry) Join(ctx context.Context, provider, name, ref string) (_ context.Context, _ *Op, own bool) {
	if t == nil {
		return ctx, nil, false
	}
	if op, ok := ctx.Value(opKey{}).(*Op); ok && op.provider == provider && op.name == name && op.joined.CompareAndSwap(false, true) {
		return ctx, op, false
	}
	ctx, op := t.Start(ctx, provider, name, ref)
	return ctx, op, true
}

// Leave ends a call's part in an operation it joined (Join's own false).
func (o *Op) Leave() {
	if o != nil {
		o.joined.Store(false)
	}
}

// The span attribute keys of a notification handler (spans only): how the
// notification was confirmed (api, cache, skipped), the confirmation's
// outcome, and whether it was confirmed.
const (
	NotificationConfirm        = attribute.Key("payments.notification.confirm")
	NotificationConfirmOutcome = attribute.Key("payments.notification.confirm.outcome")
	NotificationConfirmed      = attribute.Key("payments.notification.confirmed")
)

// The results of a notification (the Result attribute of
// payments.notifications): answered as the provider expects, or refused.
const (
	ResultAccepted = "accepted"
	ResultRefused  = "refused"
)

// Inbound is the tracer and instruments of a handler of what a provider
// posts to us (PayKeeper's notifications, RoyalPay's callbacks):
// payments.notifications {notification} by provider, result and reason,
// and payments.notifications.confirm.duration (s) by provider and outcome.
type Inbound struct {
	Tracer  trace.Tracer
	Count   metric.Int64Counter
	Confirm metric.Float64Histogram
}

// NewInbound makes a handler's tracer and instruments from tp and mp, or
// else from base (the confirming client's telemetry), or else from the
// global providers.
func NewInbound(tp trace.TracerProvider, mp metric.MeterProvider, base *Telemetry) *Inbound {
	in := &Inbound{}
	switch {
	case tp != nil:
		in.Tracer = tp.Tracer(Scope)
	case base != nil:
		in.Tracer = base.Tracer
	default:
		in.Tracer = otel.GetTracerProvider().Tracer(Scope)
	}
	var m metric.Meter
	switch {
	case mp != nil:
		m = mp.Meter(Scope)
	case base != nil:
		m = base.Meter
	default:
		m = otel.GetMeterProvider().Meter(Scope)
	}
	var err error
	in.Count, err = m.Int64Counter("payments.notifications", metric.WithUnit("{notification}"),
		metric.WithDescription("Notifications and callbacks received, by provider, result (accepted, refused) and the reason of a refusal."))
	handle(err)
	in.Confirm, err = m.Float64Histogram("payments.notifications.confirm.duration", metric.WithUnit("s"),
		metric.WithDescription("Time a notification or callback took to be confirmed through the provider's API, waiting for the confirmation budget included."),
		metric.WithExplicitBucketBoundaries(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60))
	handle(err)
	return in
}

// Start begins the span name of one inbound request under ctx, the
// request's own context (never a parent taken from the request's headers:
// a forger could choose our trace ids): server kind, or internal when ctx
// already carries a span (a middleware's server span). It reports whether
// the span records.
func (in *Inbound) Start(ctx context.Context, name, provider string) (context.Context, trace.Span, bool) {
	kind := trace.SpanKindServer
	if trace.SpanContextFromContext(ctx).IsValid() {
		kind = trace.SpanKindInternal
	}
	ctx, span := in.Tracer.Start(ctx, name, trace.WithSpanKind(kind))
	rec := span.IsRecording()
	if rec {
		span.SetAttributes(Provider.String(provider))
	}
	return ctx, span, rec
}
