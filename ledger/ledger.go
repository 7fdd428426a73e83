package ledger

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/internal/telemetry"
	"github.com/paysdk/payments/payout"
)

// Options tune a Ledger. The zero value works.
type Options struct {
	// Owner names this replica in the store's leases; by default the host
	// name, the process id and a random suffix. Two live replicas must
	// never share one.
	Owner string
	// Lease is how long a replica holds the records it works on before
	// another may take them over (default 30 s). The holder renews its
	// leases every Lease/3 and stops sending when it could not renew for
	// Lease/2, so two replicas never send one payout at the same moment.
	Lease time.Duration
	// PollInterval, when set, replaces every provider's
	// Capabilities().PollInterval: the pause between status requests for
	// one payout. Leave it unset in production: the providers' documents
	// set it (popolni 10 s, QIWI 10 minutes).
	PollInterval time.Duration
	// Batch is how many records one claim takes from the store (default
	// 500). Polls of one provider among them share status requests of
	// Capabilities().StatusBatch payouts.
	Batch int
	// Sends caps the sends in progress at once (default 256). The
	// provider's limiter paces them; concurrent sends let a coalescing
	// driver (popolni with coalesce=true) put many payouts in one request.
	Sends int
	// Backoff is the first pause after an error that proves nothing was
	// paid (rate limit, connection refused, store outage), doubled up to
	// MaxBackoff (defaults 1 s and 5 minutes).
	Backoff, MaxBackoff time.Duration
	// NotFoundGrace is how long after a send the ledger keeps asking a
	// provider whose Capabilities().Dedupes is false (RoyalPay) before it
	// believes "not found" and sends the same Ref again (default 5
	// minutes; the n-th resend waits n times as long). Such a driver guards
	// a resend only by looking the Ref up first, so a lookup that lags the
	// create could otherwise pay twice. Providers that dedupe themselves
	// (popolni, QIWI) are resent at once.
	NotFoundGrace time.Duration
	// Idle is the pause when nothing is due (default 1 s, or the shortest
	// poll interval when that is shorter). A Submit in this process wakes
	// the loop at once.
	Idle time.Duration
	// OnFinal is told of every record that becomes final, after the final
	// record is durable. It is called from the work loop, once per record
	// and at least once across crashes: a record whose OnFinal did not
	// return nil is handed to it again (by this replica or another) until it
	// does. Make it idempotent on Ref. Nil: records are marked reported as
	// they become final.
	OnFinal func(ctx context.Context, r Record) error
	// OnError is told of every error the work loop meets and goes on from
	// (a store outage, a lost answer, a refusal); by default they are
	// logged to Logger at level Warn, card numbers masked (the provider
	// packages mask them already; this is the ledger's own guard, as is
	// Record.LastError).
	OnError func(err error)
	// Logger, when OnError is nil (default slog.Default()).
	Logger *slog.Logger
	// Now is the clock (default time.Now), for tests.
	Now func() time.Time
	// Cards seals card numbers before they reach the store and opens them
	// to send (see Cards; NewAESGCM). Without it Submit refuses card
	// destinations: the ledger never stores a card number in clear.
	Cards Cards
	// TracerProvider makes the ledger's spans; nil means the global one
	// (otel.GetTracerProvider), which records nothing until the
	// application sets a provider. Spans: "ledger submit" (a child of
	// Submit's context), "ledger claim" (a root per work-loop claim that
	// took records or failed), and under it "ledger send" per record and
	// "ledger poll" per provider batch with a "ledger settle" per record,
	// and "ledger final" around OnFinal. A send's and a poll's span is the
	// parent of the provider operation it causes ("popolni pay",
	// "popolni status"), when the payout clients trace to the same
	// provider (payments.WithTracerProvider, or both global). Spans carry
	// the Ref and the provider, never an amount, a destination or a card
	// number.
	TracerProvider trace.TracerProvider
	// MeterProvider records the ledger's measurements; nil means the
	// global one (otel.GetMeterProvider), which records nothing until the
	// application sets a provider. Counters payments.ledger.sends,
	// payments.ledger.finals and payments.ledger.store.errors; while Run
	// runs, the gauges payments.ledger.intents and
	// payments.ledger.oldest_open.age, read from the store when it is a
	// StatsStore. Every replica sharing a store reports the same figures
	// in its gauges: aggregate them with max, not sum.
	MeterProvider metric.MeterProvider
	// StatsInterval is how often at most the gauges read the store
	// (default 15 s): a collection within it observes the figures of the
	// last read, so frequent scrapes cost no store queries.
	StatsInterval time.Duration
}

// Ledger records payout intents in a Store and works each one to a final
// record through the portable payout clients. Safe for concurrent use; run
// one work loop (Run) per process, on as many processes as share the store.
type Ledger struct {
	store  Store
	policy *payout.Policy
	opts   Options
	wake   chan struct{}
	tel    *tele

	healthMu sync.Mutex
	health   error
}

// New makes a ledger over store that pays through clients, the first
// preferred: Submit binds each payout to the first client that can take it
// (destination kind, currency, amount, Ref form), durably, and the ledger
// moves a payout to the next client only under payout.MoveOn. New sends
// nothing.
//
// The routing is payout.Policy's, the Router's own: a client over a
// *payout.Router (payout.NewClient(router)) is taken apart into the
// router's clients, in the router's order, and the ledger keeps each
// provider's own name, poll interval and binding in its store, so Filter's
// Provider, the providers' paces and the bindings after a restart are each
// provider's own. (Router.Policy gives the same policy to a ledger.)
func New(store Store, opts Options, clients ...*payout.Client) (*Ledger, error) {
	if store == nil {
		return nil, &payments.ValidationError{Field: "store", Reason: "required"}
	}
	policy, err := payout.NewPolicy(clients...)
	if err != nil {
		return nil, err
	}
	l := &Ledger{store: store, policy: policy, opts: opts, wake: make(chan struct{}, 1)}
	o := &l.opts
	if o.Owner == "" {
		host, _ := os.Hostname()
		b := make([]byte, 4)
		_, _ = rand.Read(b)
		o.Owner = fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b))
	}
	if o.Lease <= 0 {
		o.Lease = 30 * time.Second
	}
	if o.Batch <= 0 {
		o.Batch = 500
	}
	if o.Sends <= 0 {
		o.Sends = 256
	}
	if o.Backoff <= 0 {
		o.Backoff = time.Second
	}
	if o.MaxBackoff < o.Backoff {
		o.MaxBackoff = max(5*time.Minute, o.Backoff)
	}
	if o.Idle <= 0 {
		o.Idle = time.Second
		for _, c := range policy.Clients() {
			if p := l.pollInterval(c); p > 0 && p < o.Idle {
				o.Idle = p
			}
		}
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.NotFoundGrace <= 0 {
		o.NotFoundGrace = 5 * time.Minute
	}
	if o.StatsInterval <= 0 {
		o.StatsInterval = 15 * time.Second
	}
	l.tel = newTele(o.TracerProvider, o.MeterProvider)
	if o.OnError == nil {
		lg := o.Logger
		if lg == nil {
			lg = slog.Default()
		}
		o.OnError = func(err error) { lg.Warn("payout ledger", "error", payments.MaskPAN(err.Error())) }
	}
	return l, nil
}

// Owner is the name this replica leases records under.
func (l *Ledger) Owner() string { return l.opts.Owner }

// Store is the ledger's store.
func (l *Ledger) Store() Store { return l.store }

func (l *Ledger) now() time.Time { return l.opts.Now().Truncate(time.Microsecond) }

func (l *Ledger) pollInterval(c *payout.Client) time.Duration {
	if l.opts.PollInterval > 0 {
		return l.opts.PollInterval
	}
	if p := c.Capabilities().PollInterval; p > 0 {
		return p
	}
	return 10 * time.Second
}

// Check refuses, before anything is recorded, a payout that no client can
// take: the error of the first client (a *payments.ValidationError). It
// returns the client Submit would bind it to.
func (l *Ledger) Check(r payout.Request) (*payout.Client, error) { return l.policy.Pick(r) }

// Policy is the routing policy the ledger keeps (payout.Policy): the
// providers in order of preference, and when a payout moves on.
func (l *Ledger) Policy() *payout.Policy { return l.policy }

// Router returns a payout.Router over the ledger's clients whose bindings
// are the ledger's store (RouterBindings): a Router made again after a
// restart sends, gets and waits for every Ref the ledger or another such
// Router bound at that provider, and nowhere else.
func (l *Ledger) Router() (*payout.Router, error) {
	r, err := payout.NewRouter(l.policy.Clients()...)
	if err != nil {
		return nil, err
	}
	return r.WithBindings(RouterBindings(l.store))
}

// ConflictError is Submit's refusal of Refs already in the ledger with
// another amount or destination. It matches ErrConflict.
type ConflictError struct {
	// Refs are the conflicting references, in the order submitted.
	Refs []string
}

func (e *ConflictError) Error() string {
	refs := e.Refs
	more := ""
	if len(refs) > 5 {
		refs, more = refs[:5], fmt.Sprintf(" and %d more", len(e.Refs)-5)
	}
	return fmt.Sprintf("ledger: ref %s%s already recorded with a different amount or destination: nothing was recorded or paid", strings.Join(refs, ", "), more)
}

// Is matches ErrConflict.
func (e *ConflictError) Is(target error) bool { return target == ErrConflict }

// Submit records reqs as payout intents, durably, in one transaction, and
// wakes this process's work loop; Run sends them. Nothing is sent by
// Submit itself.
//
// It is idempotent on Ref: a Ref already in the ledger with the same amount
// and destination is left as it is (whatever its status), so a batch job
// that restarts and submits its whole input again pays nothing twice. A Ref
// already in the ledger with another amount or destination is a
// *ConflictError (errors.Is ErrConflict), and then nothing of reqs is
// recorded. A request no client can take, or a Ref twice in reqs, is a
// *payments.ValidationError naming the Ref, before anything is recorded.
// It returns how many intents are new. It is traced as a "ledger submit"
// span under ctx's span, with the counts of refs and of new intents (see
// Options.TracerProvider).
func (l *Ledger) Submit(ctx context.Context, reqs ...payout.Request) (int, error) {
	if ctx == nil {
		return 0, payments.ErrNilContext
	}
	if len(reqs) == 0 {
		return 0, nil
	}
	ctx, span := l.tel.tracer.Start(ctx, spanSubmit, trace.WithSpanKind(trace.SpanKindInternal))
	n, err := l.submit(ctx, reqs)
	if span.IsRecording() {
		span.SetAttributes(attrRefs.Int(len(reqs)), attrInserted.Int(n))
		if len(reqs) == 1 {
			span.SetAttributes(telemetry.Ref.String(reqs[0].Ref))
		}
	}
	endSpan(span, err)
	return n, err
}

func (l *Ledger) submit(ctx context.Context, reqs []payout.Request) (int, error) {
	recs := make([]Record, len(reqs))
	seen := make(map[string]bool, len(reqs))
	for i, r := range reqs {
		if seen[r.Ref] {
			return 0, &payments.ValidationError{Field: fmt.Sprintf("requests[%d].ref", i), Reason: fmt.Sprintf("%q appears twice", r.Ref)}
		}
		seen[r.Ref] = true
		c, err := l.Check(r)
		if err != nil {
			return 0, fmt.Errorf("ledger: payout %q: %w", r.Ref, err)
		}
		recs[i] = Record{Ref: r.Ref, Provider: c.Provider(), Amount: r.Amount, To: r.To, Status: Recorded}
		if err := l.seal(ctx, &recs[i]); err != nil {
			return 0, err
		}
	}
	check := func(existing []Record) error {
		byRef := make(map[string]Record, len(existing))
		for _, e := range existing {
			if err := l.open(ctx, &e); err != nil {
				return err
			}
			byRef[e.Ref] = e
		}
		var bad []string
		for _, r := range reqs { // in the order submitted
			if e, ok := byRef[r.Ref]; ok && (!e.Amount.Equal(r.Amount) || e.To != r.To) {
				bad = append(bad, r.Ref)
			}
		}
		if len(bad) > 0 {
			return &ConflictError{Refs: bad}
		}
		return nil
	}
	n, err := l.store.Insert(ctx, l.now(), recs, check)
	if err != nil {
		l.tel.countStoreError("insert", err)
		return 0, err
	}
	l.poke()
	return n, nil
}

func (l *Ledger) poke() {
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// Get returns the record of ref; payments.ErrNotFound when the ledger has
// none. It reads the store only.
func (l *Ledger) Get(ctx context.Context, ref string) (Record, error) {
	if ctx == nil {
		return Record{}, payments.ErrNilContext
	}
	rec, err := l.store.Get(ctx, ref)
	if err != nil {
		l.tel.countStoreError("get", err)
		return rec, err
	}
	return rec, l.open(ctx, &rec)
}

// List returns the records f selects, ordered by Ref. It reads the store
// only.
func (l *Ledger) List(ctx context.Context, f Filter) ([]Record, error) {
	if ctx == nil {
		return nil, payments.ErrNilContext
	}
	recs, err := l.store.List(ctx, f)
	if err != nil {
		l.tel.countStoreError("list", err)
		return nil, err
	}
	return recs, l.openAll(ctx, recs)
}

// Health is nil while the store answers the work loop, and the latest
// store error while it does not (the loop then sends nothing).
func (l *Ledger) Health() error {
	l.healthMu.Lock()
	defer l.healthMu.Unlock()
	return l.health
}

func (l *Ledger) storeResult(op string, err error) {
	l.tel.countStoreError(op, err)
	l.healthMu.Lock()
	defer l.healthMu.Unlock()
	if err == nil || errors.Is(err, ErrStore) {
		l.health = err
	}
}

func (l *Ledger) fail(err error) {
	if err != nil {
		l.opts.OnError(maskedError{err})
	}
}

// maskedError is what OnError is given: the error with card numbers masked
// in its text; errors.Is and errors.As see the cause.
type maskedError struct{ err error }

func (e maskedError) Error() string { return clip(e.err.Error()) }
func (e maskedError) Unwrap() error { return e.err }

// Idle is the work loop's pause when nothing is due (Options.Idle).
func (l *Ledger) Idle() time.Duration { return l.opts.Idle }
