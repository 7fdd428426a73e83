package ledger

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/internal/telemetry"
)

// The ledger's spans. The work loop's claims are roots (a claim is not
// caused by any caller's request); sends and polls are the claim's
// children and the parents of the provider operations they cause; Submit is
// a child of its caller's span.
const (
	spanSubmit = "ledger submit"
	spanClaim  = "ledger claim"
	spanSend   = "ledger send"
	spanPoll   = "ledger poll"
	spanSettle = "ledger settle"
	spanFinal  = "ledger final"
)

// The ledger's own span attributes (spans only, never on a metric).
const (
	attrRefs       = attribute.Key("payments.ledger.refs")        // submit: refs submitted
	attrInserted   = attribute.Key("payments.ledger.inserted")    // submit: intents new
	attrClaimed    = attribute.Key("payments.ledger.claimed")     // claim: records claimed
	attrRecords    = attribute.Key("payments.ledger.records")     // poll: records asked about
	attrSendNo     = attribute.Key("payments.ledger.send")        // send: the record's send count, this one included
	attrResend     = attribute.Key("payments.ledger.resend")      // send: an earlier send of the Ref may have landed
	attrFailoverTo = attribute.Key("payments.ledger.failover_to") // send: the provider the payout moved to
)

// What came of a send (payments.result of "ledger send" and of
// payments.ledger.sends).
const (
	sendSent     = "sent"                   // the provider has the payout
	sendUnknown  = telemetry.OutcomeUnknown // it may have landed: InFlight, settled by the status
	sendRefused  = "refused"                // refused: Failed, final
	sendFailover = "failover"               // never received: moved to the next client
	sendRetry    = "retry"                  // never received: sent again after a backoff, same provider
	sendResend   = "resend"                 // the counter's result of every send after a "not found" (the span says what came of it)
)

// What a status answer did to a record (payments.result of "ledger settle").
const (
	settleFinal   = "final"   // Succeeded or Failed
	settlePending = "pending" // the provider has it, not final yet
	settleUnknown = "unknown" // the provider's status says nothing yet
	settleResend  = "resend"  // not found: the same Ref is sent again
	settleWait    = "wait"    // not found at a provider that does not dedupe, within NotFoundGrace
)

// What the OnFinal hook did (payments.result of "ledger final").
const (
	finalOK    = "ok"
	finalError = "error"
	finalPanic = "panic"
)

// statsTimeout bounds one store query of the gauges.
const statsTimeout = 5 * time.Second

// tele is a ledger's tracer and instruments. Everything it records is off
// until the application sets a provider (or passes one in Options).
type tele struct {
	tracer   trace.Tracer
	meter    metric.Meter
	sends    metric.Int64Counter
	finals   metric.Int64Counter
	storeErr metric.Int64Counter
	intents  metric.Int64ObservableGauge
	age      metric.Float64ObservableGauge

	// The gauges' figures: the last Stats answer, refreshed at most every
	// Options.StatsInterval.
	statsMu sync.Mutex
	statsAt time.Time // the last refresh tried
	stats   []Stat
	statsOK bool // the last refresh answered
}

func newTele(tp trace.TracerProvider, mp metric.MeterProvider) *tele {
	base := telemetry.New(tp, mp)
	t := &tele{tracer: base.Tracer, meter: base.Meter}
	m := t.meter
	var err error
	// A constructor errs only for a bad name; the instrument it returns
	// works anyway (or does nothing).
	t.sends, err = m.Int64Counter("payments.ledger.sends", metric.WithUnit("{send}"),
		metric.WithDescription("Payout sends the ledger made, by what came of them: sent, outcome_unknown, refused, failover, retry; resend for every send of a Ref the status did not find."))
	handle(err)
	t.finals, err = m.Int64Counter("payments.ledger.finals", metric.WithUnit("{intent}"),
		metric.WithDescription("Payout intents that became final (succeeded, failed), counted once the final record is durable."))
	handle(err)
	t.storeErr, err = m.Int64Counter("payments.ledger.store.errors", metric.WithUnit("{error}"),
		metric.WithDescription("Errors of the ledger's store, by the store operation (claim, save, renew, insert, stats...); while they last nothing is sent."))
	handle(err)
	t.intents, err = m.Int64ObservableGauge("payments.ledger.intents", metric.WithUnit("{intent}"),
		metric.WithDescription("Payout intents in the ledger's work queue by status (recorded, in_flight, pending; succeeded and failed ones not yet reported to OnFinal), read from the store at most every StatsInterval."))
	handle(err)
	t.age, err = m.Float64ObservableGauge("payments.ledger.oldest_open.age", metric.WithUnit("s"),
		metric.WithDescription("Age of the oldest unfinished payout intent (recorded, in_flight or pending) since it was submitted; 0 when none."))
	handle(err)
	return t
}

func handle(err error) {
	if err != nil {
		otel.Handle(err)
	}
}

// countSend adds a send to payments.ledger.sends.
func (t *tele) countSend(ctx context.Context, provider, result string) {
	if t.sends.Enabled(ctx) {
		t.sends.Add(ctx, 1, metric.WithAttributes(telemetry.Provider.String(provider), telemetry.Result.String(result)))
	}
}

// countFinal adds a record that became final to payments.ledger.finals.
func (t *tele) countFinal(ctx context.Context, rec *Record) {
	if t.finals.Enabled(ctx) {
		t.finals.Add(ctx, 1, metric.WithAttributes(telemetry.Provider.String(rec.Provider), telemetry.State.String(string(rec.Status))))
	}
}

// countStoreError adds err to payments.ledger.store.errors when it is a
// store's error, under the store's operation (op when the store did not
// name one). The end of the caller's own context (Run stopping) is not a
// store error, and neither is a record not found.
func (t *tele) countStoreError(op string, err error) {
	if err == nil || !errors.Is(err, ErrStore) || errors.Is(err, context.Canceled) || errors.Is(err, payments.ErrNotFound) {
		return
	}
	ctx := context.Background()
	if !t.storeErr.Enabled(ctx) {
		return
	}
	var se *StoreError
	if errors.As(err, &se) && se.Op != "" {
		op = se.Op
	}
	t.storeErr.Add(ctx, 1, metric.WithAttributes(telemetry.Operation.String(op)))
}

// endSpan sets span's outcome from err (nothing for nil) and ends it.
func endSpan(span trace.Span, err error) {
	if err != nil && span.IsRecording() {
		span.SetStatus(codes.Error, errorType(err))
		span.SetAttributes(telemetry.ErrorType.String(errorType(err)))
	}
	span.End()
}

// errorType is the error.type of a ledger error: conflict, store, or the
// provider outcome's (never the error's text).
func errorType(err error) string {
	switch {
	case errors.Is(err, ErrConflict):
		return "conflict"
	case errors.Is(err, ErrStore):
		return "store"
	}
	return telemetry.ErrorTypeOf(err)
}

// under is ctx with parent as its span (the ledger's step that causes the
// work done under it), or ctx itself when there is no parent.
func under(ctx context.Context, parent trace.Span) context.Context {
	if parent == nil {
		return ctx
	}
	return trace.ContextWithSpan(ctx, parent)
}

// observe is the gauges' callback, registered while Run runs: it observes
// the figures of the last Stats answer, asking the store again when they
// are older than Options.StatsInterval. A refresh that fails is counted in
// payments.ledger.store.errors and told to OnError, and nothing is observed
// until a refresh answers (figures of unknown age would mislead).
func (l *Ledger) observe(ss StatsStore) metric.Callback {
	return func(ctx context.Context, o metric.Observer) error {
		stats, ok := l.statsFor(ctx, ss)
		if !ok {
			return nil
		}
		counts := map[string]map[Status]int{}
		oldest := map[string]time.Time{}
		for _, c := range l.policy.Clients() {
			counts[c.Provider()] = map[Status]int{}
		}
		for _, s := range stats {
			if counts[s.Provider] == nil {
				counts[s.Provider] = map[Status]int{}
			}
			counts[s.Provider][s.Status] += s.Count
			if !s.Status.Final() && s.Count > 0 {
				if o, ok := oldest[s.Provider]; !ok || s.Oldest.Before(o) {
					oldest[s.Provider] = s.Oldest
				}
			}
		}
		providers := make([]string, 0, len(counts))
		for p := range counts {
			providers = append(providers, p)
		}
		sort.Strings(providers)
		now := l.opts.Now()
		for _, p := range providers {
			for _, st := range Statuses {
				o.ObserveInt64(l.tel.intents, int64(counts[p][st]),
					metric.WithAttributes(telemetry.Provider.String(p), telemetry.State.String(string(st))))
			}
			age := 0.0
			if t, ok := oldest[p]; ok {
				age = max(now.Sub(t).Seconds(), 0)
			}
			o.ObserveFloat64(l.tel.age, age, metric.WithAttributes(telemetry.Provider.String(p)))
		}
		return nil
	}
}

// statsFor returns the last Stats answer, refreshed by one query when it is
// older than Options.StatsInterval, and whether the last refresh answered.
// Concurrent collections wait for one refresh instead of each making one.
func (l *Ledger) statsFor(ctx context.Context, ss StatsStore) ([]Stat, bool) {
	t := l.tel
	t.statsMu.Lock()
	defer t.statsMu.Unlock()
	now := l.opts.Now()
	if !t.statsAt.IsZero() && now.Sub(t.statsAt) < l.opts.StatsInterval && !now.Before(t.statsAt) {
		return t.stats, t.statsOK
	}
	t.statsAt = now
	qctx, cancel := context.WithTimeout(ctx, statsTimeout)
	stats, err := ss.Stats(qctx)
	cancel()
	if err != nil {
		t.countStoreError("stats", err)
		l.fail(fmt.Errorf("ledger: reading the gauges' figures: %w", err))
		t.stats, t.statsOK = nil, false
		return nil, false
	}
	t.stats, t.statsOK = stats, true
	return stats, true
}

// registerGauges registers the gauges' callback when the store is a
// StatsStore; the returned func unregisters it.
func (l *Ledger) registerGauges() func() {
	ss, ok := l.store.(StatsStore)
	if !ok {
		return func() {}
	}
	reg, err := l.tel.meter.RegisterCallback(l.observe(ss), l.tel.intents, l.tel.age)
	if err != nil {
		handle(err)
		return func() {}
	}
	return func() { handle(reg.Unregister()) }
}
