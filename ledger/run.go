package ledger

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
	"unicode/utf8"

	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/internal/telemetry"
	"github.com/paysdk/payments/payout"
)

// held is one record this replica has leased and is working on.
type held struct {
	rec    Record
	ctx    context.Context
	cancel context.CancelFunc
	// span is the ledger step the record's work is done under (its claim,
	// send, or settle): the parent of the next step's span.
	span trace.Span
}

// runner is one Run's state.
type runner struct {
	l     *Ledger
	base  context.Context
	sends chan struct{} // semaphore of Options.Sends
	wg    sync.WaitGroup

	mu   sync.Mutex
	held map[string]*held
	done chan struct{} // a worker finished: room to claim

	renewOK time.Time // last successful renew (under mu)
	backoff time.Duration
}

// Run is the work loop: it claims due records from the store, sends the
// recorded ones, polls the outstanding ones in batches, settles lost
// answers, and reports the final ones to Options.OnFinal, until ctx ends.
// It returns ctx's error. Store outages and provider errors do not end it:
// each goes to Options.OnError, and the loop goes on after a backoff,
// sending nothing while the store does not answer.
//
// Every send is made under a lease and after a durable InFlight mark, so a
// crash at any point leaves a record that the next Run (here or on another
// replica sharing the store) settles through the provider's status or a
// resend of the same Ref: never a second payout.
//
// Start it again on the same store after a crash or a restart: it resumes
// every unfinished record where it stood (a record leased by a dead
// replica once its lease ends).
//
// Each claim that takes records is traced as a root span, "ledger claim",
// with the sends, polls and OnFinal calls it causes under it; while Run
// runs, the gauges payments.ledger.intents and
// payments.ledger.oldest_open.age are registered with Options'
// MeterProvider (see the package's Telemetry section).
func (l *Ledger) Run(ctx context.Context) error {
	if ctx == nil {
		return payments.ErrNilContext
	}
	r := &runner{l: l, base: ctx, sends: make(chan struct{}, l.opts.Sends), held: map[string]*held{},
		done: make(chan struct{}, 1), renewOK: l.opts.Now()}
	renewCtx, stopRenew := context.WithCancel(context.Background())
	renewDone := make(chan struct{})
	go func() { defer close(renewDone); r.renewLoop(renewCtx) }()
	unregister := l.registerGauges()
	defer unregister()
	defer func() {
		r.wg.Wait()
		stopRenew()
		<-renewDone
		r.releaseAll()
	}()
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		room := l.opts.Batch - r.count()
		wait := l.opts.Idle
		if room > 0 {
			started := time.Now()
			recs, err := l.store.Claim(ctx, l.opts.Owner, l.now(), l.opts.Lease, room)
			l.storeResult("claim", err)
			if err != nil && ctx.Err() != nil {
				return ctx.Err()
			}
			span := r.claimSpan(ctx, started, len(recs), err)
			if err != nil {
				l.fail(err)
				// A store outage: try again soon enough to resume within
				// seconds of its return.
				wait = min(r.nextBackoff(), 5*time.Second)
			} else {
				r.backoff = 0
				if r.dispatch(ctx, recs, span) && len(recs) == room {
					wait = 0 // more may be due
				}
			}
			span.End()
		}
		if wait == 0 {
			continue
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
		case <-l.wake:
		case <-r.done:
		case <-t.C:
		}
		t.Stop()
	}
}

// claimSpan is the span of a claim that took records or failed, started
// when the claim did: a root, since no caller's request caused it. An
// empty claim (the idle loop's) makes none. It returns a span that
// records nothing when there is none to make.
func (r *runner) claimSpan(ctx context.Context, started time.Time, n int, err error) trace.Span {
	if n == 0 && err == nil {
		return trace.SpanFromContext(context.Background())
	}
	_, span := r.l.tel.tracer.Start(ctx, spanClaim, trace.WithNewRoot(), trace.WithTimestamp(started),
		trace.WithSpanKind(trace.SpanKindInternal))
	if span.IsRecording() {
		span.SetAttributes(attrClaimed.Int(n))
		if err != nil {
			span.SetStatus(codes.Error, errorType(err))
			span.SetAttributes(telemetry.ErrorType.String(errorType(err)))
		}
	}
	return span
}

func (r *runner) nextBackoff() time.Duration {
	o := r.l.opts
	if r.backoff == 0 {
		r.backoff = o.Backoff
	} else {
		r.backoff = min(2*r.backoff, o.MaxBackoff)
	}
	return r.backoff
}

func (r *runner) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.held)
}

// hold registers recs as worked by this runner, each with a context that
// the renew loop cancels when its lease may be lost.
func (r *runner) hold(recs []Record) []*held {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]*held, len(recs))
	for i, rec := range recs {
		ctx, cancel := context.WithCancel(r.base)
		h := &held{rec: rec, ctx: ctx, cancel: cancel}
		r.held[rec.Ref] = h
		out[i] = h
	}
	return out
}

// drop forgets refs (saved and released, or lost) and signals room.
func (r *runner) drop(hs ...*held) {
	r.mu.Lock()
	for _, h := range hs {
		if r.held[h.rec.Ref] == h {
			delete(r.held, h.rec.Ref)
		}
		h.cancel()
	}
	r.mu.Unlock()
	select {
	case r.done <- struct{}{}:
	default:
	}
}

// dispatch starts the work on claimed records, under span (the claim's);
// false when none.
func (r *runner) dispatch(ctx context.Context, recs []Record, span trace.Span) bool {
	if len(recs) == 0 {
		return false
	}
	hs := r.hold(recs)
	for _, h := range hs {
		h.span = span
	}
	var sends []*held
	polls := map[string][]*held{}
	for _, h := range hs {
		openErr := r.l.open(ctx, &h.rec)
		rec := h.rec
		c := r.l.policy.Client(rec.Provider)
		switch {
		case openErr != nil:
			// A sealed card number that does not open (a key rotated away,
			// a tokenizer down): nothing can be sent or shown; look again
			// after a backoff.
			h.rec.LastError = clip(openErr.Error())
			h.rec.NextAt = r.l.now().Add(r.retryDelay(&h.rec))
			r.l.fail(openErr)
			r.go1(func() { r.save(h, 0) })
		case rec.Status.Final():
			r.go1(func() { r.report(h) })
		case c == nil:
			h.rec.LastError = fmt.Sprintf("no payout client for provider %q in this process", rec.Provider)
			h.rec.NextAt = r.l.now().Add(r.l.opts.MaxBackoff)
			r.l.fail(fmt.Errorf("ledger: payout %s: %s", rec.Ref, h.rec.LastError))
			r.go1(func() { r.save(h, 0) })
		case rec.Status == Recorded:
			sends = append(sends, h)
		default: // InFlight, Pending: ask the provider
			polls[rec.Provider] = append(polls[rec.Provider], h)
		}
	}
	if len(sends) > 0 {
		r.go1(func() { r.send(sends) })
	}
	for name, hs := range polls {
		c := r.l.policy.Client(name)
		r.go1(func() { r.poll(c, hs) })
	}
	return true
}

func (r *runner) go1(f func()) {
	r.wg.Add(1)
	go func() { defer r.wg.Done(); f() }()
}

// send marks hs InFlight in one durable commit, then sends each (sends
// made only after that commit, each under its lease).
func (r *runner) send(hs []*held) {
	now := r.l.now()
	landed := make(map[*held]bool, len(hs))
	for _, h := range hs {
		// Recorded means no earlier send of the Ref to this provider may
		// have landed (never sent, or every send proved never received);
		// anything else (a resend after a "not found") may follow one that
		// did.
		landed[h] = h.rec.Status != Recorded
		h.rec.Status = InFlight
		h.rec.Sends++
		if h.rec.SentAt.IsZero() {
			h.rec.SentAt = now
		}
		// Should this process die mid-send, the next look is after the
		// provider's poll interval: the status will know.
		h.rec.NextAt = now.Add(r.l.pollInterval(r.l.policy.Client(h.rec.Provider)))
	}
	ok := r.saveMany(hs, r.l.opts.Lease)
	for _, h := range ok {
		r.wg.Add(1)
		select {
		case r.sends <- struct{}{}:
		case <-h.ctx.Done():
			// The lease or the run ended before this send started: nothing
			// was sent, so a record that no send may have reached stays
			// Recorded (a resend stays InFlight, as it was).
			r.wg.Done()
			if !landed[h] {
				h.rec.Status = Recorded
				h.rec.Sends--
			}
			r.save(h, 0)
			continue
		}
		go func() {
			defer r.wg.Done()
			defer func() { <-r.sends }()
			r.sendOne(h, landed[h])
		}()
	}
}

// sendOne sends one record marked InFlight and saves what the answer says.
// mayHaveLanded is true when an earlier send of the Ref to this provider
// may have landed.
//
// Whether a resend is safe is the driver's contract (package payout): the
// Ref is the provider's idempotency key, so a resend of the same Ref never
// pays twice (popolni: 124 "платёж с таким номером уже был создан ранее";
// QIWI: a repeated transaction number answers the existing payment).
//
// What the answer means is read from the error, never from the State a
// driver returns beside it (payout.Driver's contract):
//   - nil: the provider has the payout; its State says how far it is.
//   - payments.ErrOutcomeUnknown, a context end, a server error, anything
//     unclassified: it may have landed. InFlight, settled by the status.
//   - payout.MoveOn (the first send proved never received): the next client
//     that can take it, durably before that send.
//   - a decline or a duplicate (payout.Refusal, processed): Failed, final.
//   - an invalid request or insufficient funds after a first send: Failed.
//   - any other "never received" (a rate limit, a refused connection, a
//     locked account): sent again after a backoff at the same provider.
//
// After a send whose outcome may have landed, no refusal of a resend makes
// the record Failed or moves it: it stays InFlight at its provider until
// the provider's status settles it.
func (r *runner) sendOne(h *held, mayHaveLanded bool) {
	c := r.l.policy.Client(h.rec.Provider)
	provider := h.rec.Provider
	ctx, span := r.l.tel.tracer.Start(under(h.ctx, h.span), spanSend, trace.WithSpanKind(trace.SpanKindInternal))
	if span.IsRecording() {
		span.SetAttributes(telemetry.Ref.String(h.rec.Ref), telemetry.Provider.String(provider),
			attrSendNo.Int(h.rec.Sends), attrResend.Bool(mayHaveLanded))
	}
	h.span = span
	p, err := c.Send(ctx, h.rec.Request())
	result := r.settleSend(h, c, p, err, mayHaveLanded)
	counted := result
	if mayHaveLanded {
		counted = sendResend
	}
	r.l.tel.countSend(ctx, provider, counted)
	if span.IsRecording() {
		span.SetAttributes(telemetry.Result.String(result), telemetry.Outcome.String(telemetry.OutcomeOf(err)),
			telemetry.State.String(string(h.rec.Status)))
		if h.rec.ProviderID != "" {
			span.SetAttributes(telemetry.ProviderID.String(h.rec.ProviderID))
		}
		if result == sendFailover {
			span.SetAttributes(attrFailoverTo.String(h.rec.Provider))
		}
		if err != nil {
			span.SetStatus(codes.Error, result)
			span.SetAttributes(telemetry.ErrorType.String(telemetry.ErrorTypeOf(err)))
		}
	}
	r.finish(h)
	span.End()
}

// settleSend writes into h's record what the answer (p, err) to its send
// means, and returns what came of the send (sendSent...).
func (r *runner) settleSend(h *held, c *payout.Client, p payout.Payout, err error, mayHaveLanded bool) string {
	now := r.l.now()
	rec := &h.rec
	never := payout.NeverReceived(err)
	switch {
	case err == nil:
		r.apply(rec, c, p, now)
		return sendSent
	case errors.Is(err, payments.ErrOutcomeUnknown):
		// The provider may have it: stays InFlight, the status settles it.
		rec.LastError = clip(err.Error())
		rec.NextAt = now.Add(r.l.pollInterval(c))
		r.l.fail(fmt.Errorf("ledger: payout %s: %w", rec.Ref, err))
		return sendUnknown
	case r.l.policy.MoveOn(err, mayHaveLanded) && r.failover(rec, c, err, now):
		// Moved: the send to the next client happens after this is durable.
		return sendFailover
	case r.l.policy.Refusal(err) && (!never || !mayHaveLanded):
		// Refused by the provider: declined after processing, or refused
		// before processing on the first send with nowhere else to go.
		if p.ProviderID != "" {
			rec.ProviderID = p.ProviderID
		}
		setStatus(rec, p.Code, p.Message)
		if rec.Code == "" && rec.Message == "" {
			rec.Message = clip(err.Error())
		}
		rec.LastError = ""
		rec.Status = Failed
		rec.FinalAt = now
		rec.NextAt = now
		return sendRefused
	case never && !mayHaveLanded:
		// Nothing reached the provider (a rate limit, a refused
		// connection, a locked account): send again after a backoff.
		rec.Status = Recorded
		rec.LastError = clip(err.Error())
		rec.NextAt = now.Add(r.retryDelay(rec))
		r.l.fail(fmt.Errorf("ledger: payout %s: %w", rec.Ref, err))
		return sendRetry
	default:
		// It may have landed: this send (a context end, a server error), or
		// an earlier one whose resend was refused before processing (which
		// proves nothing about the first). InFlight: the status settles it.
		rec.LastError = clip(err.Error())
		rec.NextAt = now.Add(min(r.retryDelay(rec), r.l.pollInterval(c)))
		if never {
			rec.NextAt = now.Add(max(r.retryDelay(rec), r.l.pollInterval(c)))
		}
		if r.base.Err() == nil {
			r.l.fail(fmt.Errorf("ledger: payout %s: %w", rec.Ref, err))
		}
		return sendUnknown
	}
}

// failover rebinds rec to the next client that can take it (payout.Next),
// when there is one; the send to it happens after this is durable.
func (r *runner) failover(rec *Record, from *payout.Client, err error, now time.Time) bool {
	c := r.l.policy.Next(from, rec.Request())
	if c == nil {
		return false
	}
	rec.Provider = c.Provider()
	rec.Status = Recorded
	rec.LastError = clip(fmt.Sprintf("%s never received it (%v): moved to %s", from.Provider(), err, c.Provider()))
	rec.NextAt = now
	return true
}

// maxText caps the provider texts and errors a record keeps.
const maxText = 1024

// clip masks card numbers in s and caps its length: what a record keeps of
// a provider's text or an error.
func clip(s string) string {
	s = payments.MaskPAN(s)
	if len(s) > maxText {
		cut := maxText
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = fmt.Sprintf("%s… (%d bytes)", s[:cut], len(s))
	}
	return s
}

// setStatus keeps the provider's code and text, masked and capped.
func setStatus(rec *Record, code, msg string) {
	rec.Code, rec.Message = clip(code), clip(msg)
}

func (r *runner) retryDelay(rec *Record) time.Duration {
	d := r.l.opts.Backoff
	for i := 1; i < rec.Sends+rec.Polls && d < r.l.opts.MaxBackoff; i++ {
		d *= 2
	}
	return min(d, r.l.opts.MaxBackoff)
}

// apply writes what the provider says of the payout into rec.
func (r *runner) apply(rec *Record, c *payout.Client, p payout.Payout, now time.Time) {
	if p.ProviderID != "" {
		rec.ProviderID = p.ProviderID
	}
	if p.Code != "" || p.Message != "" {
		setStatus(rec, p.Code, p.Message)
	}
	rec.LastError = ""
	switch {
	case p.State == payments.StateSucceeded:
		rec.Status = Succeeded
	case p.State.Final():
		rec.Status = Failed
	default:
		rec.Status = Pending
	}
	if rec.AcceptedAt.IsZero() && p.State != payments.StateFailed {
		rec.AcceptedAt = now
	}
	if rec.Status.Final() {
		rec.FinalAt = now
		rec.NextAt = now
		return
	}
	rec.NextAt = now.Add(r.l.pollInterval(c))
}

// poll asks c the status of hs in batches of its StatusBatch, and settles
// each: final, still pending, or unknown at the provider (then the same Ref
// is sent again: safe, see sendOne).
func (r *runner) poll(c *payout.Client, hs []*held) {
	qs := make([]payout.Query, len(hs))
	for i, h := range hs {
		qs[i] = payout.Query{Ref: h.rec.Ref, To: h.rec.To}
	}
	ctx, span := r.l.tel.tracer.Start(under(r.base, hs[0].span), spanPoll, trace.WithSpanKind(trace.SpanKindInternal))
	defer span.End()
	recording := span.IsRecording()
	if recording {
		span.SetAttributes(telemetry.Provider.String(c.Provider()), attrRecords.Int(len(hs)))
		if len(hs) == 1 {
			span.SetAttributes(telemetry.Ref.String(hs[0].rec.Ref))
		}
	}
	ps, err := c.GetMany(ctx, qs)
	now := r.l.now()
	if err != nil {
		if recording {
			span.SetAttributes(telemetry.Outcome.String(telemetry.OutcomeOf(err)))
			span.SetStatus(codes.Error, telemetry.OutcomeOf(err))
			span.SetAttributes(telemetry.ErrorType.String(telemetry.ErrorTypeOf(err)))
		}
		for _, h := range hs {
			h.span = span
			h.rec.Polls++
			h.rec.LastError = clip(err.Error())
			h.rec.NextAt = now.Add(max(r.retryDelay(&h.rec), r.l.pollInterval(c)))
		}
		if r.base.Err() == nil {
			r.l.fail(fmt.Errorf("ledger: status of %d payouts at %s: %w", len(hs), c.Provider(), err))
		}
		r.finish(hs...)
		return
	}
	if recording {
		span.SetAttributes(telemetry.Outcome.String(telemetry.OutcomeOK))
	}
	var resend, done []*held
	for i, h := range hs {
		p := ps[i]
		h.rec.Polls++
		result := r.settle(c, h, p, now)
		switch result {
		case settleResend:
			resend = append(resend, h)
		default:
			done = append(done, h)
		}
		h.span = span
		if recording {
			// The settle span is the parent of what follows for the
			// record: its resend, its OnFinal.
			_, h.span = r.l.tel.tracer.Start(ctx, spanSettle, trace.WithSpanKind(trace.SpanKindInternal),
				trace.WithAttributes(telemetry.Ref.String(h.rec.Ref), telemetry.Provider.String(c.Provider()),
					telemetry.Result.String(result), telemetry.State.String(string(h.rec.Status)),
					telemetry.Outcome.String(telemetry.OutcomeOf(p.Err))))
			if h.rec.ProviderID != "" {
				h.span.SetAttributes(telemetry.ProviderID.String(h.rec.ProviderID))
			}
			h.span.End()
		}
	}
	r.finish(done...)
	if len(resend) > 0 {
		r.send(resend)
	}
}

// settle writes into h's record what its status answer p says, and
// returns what it did (settleFinal...): settleResend when the same Ref is
// to be sent again.
func (r *runner) settle(c *payout.Client, h *held, p payout.Payout, now time.Time) string {
	switch {
	case errors.Is(p.Err, payments.ErrNotFound) && h.rec.Status == InFlight &&
		!c.Capabilities().Dedupes && now.Sub(h.rec.SentAt) < time.Duration(max(h.rec.Sends, 1))*r.l.opts.NotFoundGrace:
		// Not found at a provider that does not dedupe: its lookup may
		// lag the create. Ask again before trusting it.
		setStatus(&h.rec, p.Code, p.Message)
		h.rec.LastError = fmt.Sprintf("%s does not show the payout yet; sent again only %s after the send", c.Provider(), r.l.opts.NotFoundGrace)
		h.rec.NextAt = now.Add(r.l.pollInterval(c))
		return settleWait
	case errors.Is(p.Err, payments.ErrNotFound) && h.rec.Status == InFlight:
		// The provider has no payout under this Ref: the send did not
		// land. Send the same Ref again (safe: see sendOne).
		setStatus(&h.rec, p.Code, p.Message)
		return settleResend
	case p.State == payments.StateUnknown:
		setStatus(&h.rec, p.Code, p.Message)
		if p.Err != nil {
			h.rec.LastError = clip(p.Err.Error())
		}
		h.rec.NextAt = now.Add(r.l.pollInterval(c))
		return settleUnknown
	default:
		r.apply(&h.rec, c, p, now)
		if h.rec.Status.Final() {
			return settleFinal
		}
		return settlePending
	}
}

// finish saves hs and reports those that became final.
func (r *runner) finish(hs ...*held) {
	if len(hs) == 0 {
		return
	}
	var final, rest []*held
	for _, h := range hs {
		if h.rec.Status.Final() && !h.rec.Reported && r.l.opts.OnFinal != nil {
			final = append(final, h)
		} else {
			if h.rec.Status.Final() {
				h.rec.Reported = true
			}
			rest = append(rest, h)
		}
	}
	if len(rest) > 0 {
		for _, h := range r.saveMany(rest, 0) {
			if h.rec.Status.Final() {
				r.l.tel.countFinal(h.ctx, &h.rec)
			}
			r.drop(h)
		}
	}
	if len(final) > 0 {
		// Durable first, then told.
		for _, h := range r.saveMany(final, r.l.opts.Lease) {
			r.l.tel.countFinal(h.ctx, &h.rec)
			r.report(h)
		}
	}
}

// report hands a final record to OnFinal and marks it reported.
func (r *runner) report(h *held) {
	if f := r.l.opts.OnFinal; f != nil {
		ctx, span := r.l.tel.tracer.Start(under(h.ctx, h.span), spanFinal, trace.WithSpanKind(trace.SpanKindInternal))
		err := callOnFinal(f, ctx, h.rec)
		if span.IsRecording() {
			result := finalOK
			switch {
			case errors.As(err, new(panicked)):
				result = finalPanic
			case err != nil:
				result = finalError
			}
			span.SetAttributes(telemetry.Ref.String(h.rec.Ref), telemetry.Provider.String(h.rec.Provider),
				telemetry.State.String(string(h.rec.Status)), telemetry.Result.String(result))
			if err != nil {
				span.SetStatus(codes.Error, result)
				span.SetAttributes(telemetry.ErrorType.String(result))
			}
		}
		span.End()
		if err != nil {
			h.rec.NextAt = r.l.now().Add(r.l.opts.Backoff)
			r.l.fail(fmt.Errorf("ledger: OnFinal for %s: %w", h.rec.Ref, err))
			r.save(h, 0)
			return
		}
	}
	h.rec.Reported = true
	r.save(h, 0)
}

func (r *runner) save(h *held, hold time.Duration) {
	for _, h := range r.saveMany([]*held{h}, hold) {
		if hold == 0 {
			r.drop(h)
		}
	}
}

// saveMany saves hs in one commit and returns those saved. With hold == 0
// the saved ones are released: the caller drops them. Records lost to
// another owner are dropped here. A store error is retried while the leases
// last (the records stay InFlight in the store if it never answers: the
// next claim settles them through the provider's status).
func (r *runner) saveMany(hs []*held, hold time.Duration) []*held {
	recs := make([]Record, len(hs))
	for i, h := range hs {
		recs[i] = h.rec
	}
	deadline := r.l.opts.Now().Add(r.l.opts.Lease / 2)
	delay := 50 * time.Millisecond
	for {
		ctx, cancel := context.WithTimeout(context.Background(), r.l.opts.Lease/3)
		lost, err := r.l.store.Save(ctx, r.l.opts.Owner, r.l.now(), hold, recs)
		cancel()
		r.l.storeResult("save", err)
		if err == nil {
			if len(lost) == 0 {
				return hs
			}
			gone := make(map[string]bool, len(lost))
			for _, ref := range lost {
				gone[ref] = true
			}
			var ok []*held
			for _, h := range hs {
				if gone[h.rec.Ref] {
					r.l.fail(fmt.Errorf("ledger: payout %s: lease lost to another replica; its state there wins", h.rec.Ref))
					r.drop(h)
				} else {
					ok = append(ok, h)
				}
			}
			return ok
		}
		r.l.fail(err)
		if r.l.opts.Now().After(deadline) {
			// Give them up: the lease ends, and whoever claims them next
			// reads the provider's status.
			r.drop(hs...)
			return nil
		}
		time.Sleep(delay)
		delay = min(2*delay, time.Second)
	}
}

// renewLoop keeps the leases of held records; when it cannot for Lease/2 it
// cancels every send not yet made: another replica may take them soon.
func (r *runner) renewLoop(ctx context.Context) {
	every := r.l.opts.Lease / 3
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		r.mu.Lock()
		refs := make([]string, 0, len(r.held))
		for ref := range r.held {
			refs = append(refs, ref)
		}
		r.mu.Unlock()
		if len(refs) == 0 {
			r.mu.Lock()
			r.renewOK = r.l.opts.Now()
			r.mu.Unlock()
			continue
		}
		rctx, cancel := context.WithTimeout(ctx, every)
		lost, err := r.l.store.Renew(rctx, r.l.opts.Owner, r.l.now(), r.l.opts.Lease, refs)
		cancel()
		r.l.storeResult("renew", err)
		r.mu.Lock()
		if err == nil {
			r.renewOK = r.l.opts.Now()
			for _, ref := range lost {
				if h := r.held[ref]; h != nil {
					h.cancel()
					delete(r.held, ref)
				}
			}
		} else if r.l.opts.Now().Sub(r.renewOK) > r.l.opts.Lease/2 {
			for ref, h := range r.held {
				h.cancel()
				delete(r.held, ref)
			}
		}
		r.mu.Unlock()
		if err != nil {
			r.l.fail(err)
		}
	}
}

// releaseAll gives back the leases still held when Run ends, so a restart
// or another replica takes them at once.
func (r *runner) releaseAll() {
	r.mu.Lock()
	var hs []*held
	for _, h := range r.held {
		hs = append(hs, h)
	}
	r.mu.Unlock()
	if len(hs) == 0 {
		return
	}
	recs := make([]Record, len(hs))
	for i, h := range hs {
		recs[i] = h.rec
		h.cancel()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := r.l.store.Save(ctx, r.l.opts.Owner, r.l.now(), 0, recs)
	r.l.tel.countStoreError("save", err)
	r.l.fail(err)
}

// callOnFinal calls f, turning a panic into an error: a panicking OnFinal
// would otherwise take the process down again after every restart.
func callOnFinal(f func(context.Context, Record) error, ctx context.Context, rec Record) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = panicked{clip(fmt.Sprint(p))}
		}
	}()
	return f(ctx, rec)
}

// panicked is the error of an OnFinal that panicked: the panic's value,
// masked and capped.
type panicked struct{ value string }

func (p panicked) Error() string { return "OnFinal panicked: " + p.value }
