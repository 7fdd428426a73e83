package popolni

import (
	"context"
	"strconv"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/paysdk/payments/internal/telemetry"
)

// What the client's operation spans carry besides the core's attributes
// (spans only, never a metric attribute).
const (
	// batchSize is the number of payments of a pay request, or of ids of a
	// status request.
	batchSize = attribute.Key("payments.batch.size")
	// paymentEvent is the span event of a pay of several payments for each
	// payment that did not succeed or stay pending: its id (payments.ref),
	// status code, outcome and refusal kind.
	paymentEvent = "payment"
)

// operation starts the client's operation name (the Op of the
// transport.Request it sends) for ref in ctx. The caller ends it with its
// final error.
func (c *Client) operation(ctx context.Context, name, ref string) (context.Context, *telemetry.Op) {
	return c.tel.Operation(ctx, provider, name, ref)
}

// endPay ends a pay operation. When the request was answered, what counts
// is what popolni said of the payments: a single payment's own status (101
// is refused for funds, 208 declined, an undocumented status
// outcome-unknown); for a batch of several, the first payment that did not
// succeed or stay pending, an undocumented status before a refusal, with
// one span event per such payment. So one refused payment makes the whole
// batch's operation refused, and payments.refusals counts pay requests with
// a refusal in them, not payments.
func endPay(op *telemetry.Op, results []Result, err error) {
	if op == nil {
		return
	}
	if err == nil && len(results) > 0 {
		rec := op.Span.IsRecording()
		if rec {
			op.Span.SetAttributes(batchSize.Int(len(results)))
		}
		if len(results) == 1 {
			if rec {
				setStatus(op.Span, results[0].Status)
			}
			err = results[0].Err()
		} else {
			err = worstPayment(op.Span, rec, results)
		}
	}
	op.End(err)
}

// worstPayment returns the error of the first failed payment of results
// (an undocumented status before a refusal), adding one event per failed
// payment to span when rec.
func worstPayment(span trace.Span, rec bool, results []Result) error {
	var worst error
	for _, r := range results {
		perr := r.Err()
		if perr == nil {
			continue
		}
		outcome := telemetry.OutcomeOf(perr)
		if rec {
			attrs := []attribute.KeyValue{
				telemetry.Ref.String(strconv.FormatInt(r.ID, 10)),
				telemetry.ProviderCode.String(strconv.Itoa(int(r.Status))),
				telemetry.Outcome.String(outcome),
			}
			if outcome == telemetry.OutcomeRefused {
				attrs = append(attrs, telemetry.Kind.String(telemetry.RefusalKind(perr)))
			}
			span.AddEvent(paymentEvent, trace.WithAttributes(attrs...))
		}
		if worst == nil || (outcome == telemetry.OutcomeUnknown && telemetry.OutcomeOf(worst) != telemetry.OutcomeUnknown) {
			worst = perr
		}
	}
	return worst
}

// endStatus ends a status operation: not_found (code 125) when popolni
// answered 125 for every id asked, else the request's error. A status that
// says a payment failed is a successful read. For a single id the span
// carries its status code and state.
func endStatus(op *telemetry.Op, results []Result, err error) {
	if op == nil {
		return
	}
	if err == nil && len(results) > 0 {
		if op.Span.IsRecording() {
			op.Span.SetAttributes(batchSize.Int(len(results)))
			if len(results) == 1 {
				setStatus(op.Span, results[0].Status)
			}
		}
		all := true
		for _, r := range results {
			all = all && r.Status == StatusNotFound
		}
		if all {
			err = results[0].Err()
		}
	}
	op.End(err)
}

// setStatus puts a payment's status code and normalized state on span.
func setStatus(span trace.Span, s Status) {
	span.SetAttributes(telemetry.ProviderCode.String(strconv.Itoa(int(s))), telemetry.State.String(s.State().String()))
}

// linkMembers adds to the operation's span a link to each Batcher caller's
// span (with the caller's reference) but the parent's.
func linkMembers(op *telemetry.Op, members []member) {
	if op == nil || len(members) == 0 || !op.Span.IsRecording() {
		return
	}
	for _, m := range members {
		op.Span.AddLink(trace.Link{SpanContext: m.sc, Attributes: []attribute.KeyValue{telemetry.Ref.String(m.ref)}})
	}
}

// member is a Batcher caller whose payment or ids a batch request carries,
// as the batch's operation span knows it.
type member struct {
	sc  trace.SpanContext
	ref string
}

// batchTrace returns the context a Batcher request runs under, below ctx:
// the span of the first caller with one is its parent, so an idle
// Batcher's request (one caller) sits in that caller's trace as Client.Pay
// would; the other callers are returned as members to link. Callers
// without a span (no tracing) cost nothing.
func batchTrace(ctx context.Context, n int, sc func(i int) trace.SpanContext, ref func(i int) string) (context.Context, []member) {
	parent := -1
	var members []member
	for i := range n {
		s := sc(i)
		if !s.IsValid() {
			continue
		}
		if parent < 0 {
			parent = i
			ctx = trace.ContextWithSpanContext(ctx, s)
			continue
		}
		members = append(members, member{sc: s, ref: ref(i)})
	}
	return ctx, members
}
