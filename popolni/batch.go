package popolni

import (
	"context"
	"errors"
	"strconv"
	"sync"

	"go.opentelemetry.io/otel/trace"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/internal/transport"
)

// DefaultMaxBatch is the default BatchOptions.MaxBatch. The document sets no
// maximum on the payment array. 250 payments is a body of about 25 KB (far
// below the 1 MiB many proxies accept) answered in about 12 KB. At the
// document's 5 requests a second that carries 1,250 payouts a second, so a
// backlog of 1,000 clears in under a second. It also caps at 250 how many
// payouts one lost answer leaves outcome-unknown. 100 would cap the gain over
// one payout per request at exactly 100 times, with no margin for a first
// request that leaves with one payment.
const DefaultMaxBatch = 250

// ErrBatcherClosed is the error of a Batcher call made after Close, or queued
// when Close came: the payment or the query was never sent.
var ErrBatcherClosed = errors.New("popolni: batcher closed; nothing was sent")

// DefaultMaxInFlight is the default BatchOptions.MaxInFlight. The limiter
// sets the pace: at popolni's 5 requests a second, 32 requests in flight keep
// the cap through round trips of up to 6.4 s. The bound only matters when
// popolni is slower than that, or when the client has no limiter: it caps
// the connections and goroutines a stalled provider can hold.
const DefaultMaxInFlight = 32

// BatchOptions tune a Batcher.
type BatchOptions struct {
	// MaxBatch is the largest number of payments in one pay request and of
	// ids in one status request. 0 means DefaultMaxBatch.
	MaxBatch int
	// MaxInFlight is how many pay requests, and separately how many status
	// requests, may await their answers at once. 0 means DefaultMaxInFlight;
	// 1 sends a request only when the one before it was answered, which
	// caps the rate at one request per round trip.
	MaxInFlight int
}

// Batcher packs concurrent single payouts into one Pay request, and
// concurrent status queries into one Status request. popolni takes up to 5
// requests a second per account. With one payout per request that is 5
// payouts a second. Through a Batcher it is up to 5 × MaxBatch.
//
// How it coalesces: payouts wait in a queue while one goroutine waits for
// the client's limiter token. The moment a token comes, it takes up to
// MaxBatch queued payouts and sends them as one pay request on that token,
// and goes back to wait for the next token without waiting for the answer:
// requests are pipelined, up to MaxInFlight awaiting their answers at once.
// So the payout rate is set by the limiter and MaxBatch, not by popolni's
// round trip: at 5 requests a second and 250 a batch, 1,250 payouts a second
// whether an answer takes 50 ms or 600 ms. Each request still starts only on
// its own token, so popolni sees no more requests than the limiter grants.
// A payout whose ID is in a request still awaiting its answer stays queued
// until that answer came: one ID is never in two requests at once. Status
// queries do the same through a second goroutine, and so do the polls of
// WaitFinal. An idle Batcher sends a first payout as soon as the limiter
// allows, so coalescing adds no delay when there is no load.
//
// Resend safety: what popolni sees is Client.Pay and Client.Status, so the
// same rules hold. The document's status table says of 124 "Невозможно
// создать платёж – платёж с таким номером уже был создан ранее": popolni
// never creates a second payment for one transactionId. So a batch whose
// answer was lost is sent again as it was, and Pay of the same payment after
// an outcome-unknown error is safe. The Batcher never puts one ID twice in a
// request.
//
// A Batcher is safe for concurrent use. It does not own the Client: Close the
// Batcher, then the Client. Every request goes through the Client, so it
// waits for the Client's limiter token like any other call.
//
// Telemetry: each request the Batcher sends is one operation of the Client,
// span "popolni pay" or "popolni status" with the ids of the whole batch,
// counted once in the Client's measurements. Its parent is the span of the
// first caller in the batch that has one; every other caller's span is
// linked to it (the link carries the caller's payments.ref). A caller's own
// call records no operation of its own: its outcome is in its result, and
// the batch's span says what popolni answered for each payment (see
// Client.Pay).
type Batcher struct {
	c         *Client
	max       int
	maxFlight int

	mu         sync.Mutex
	payQ       []*payCall
	statQ      []*statusCall
	closed     bool
	payFlight  int            // pay requests awaiting their answers
	statFlight int            // status requests awaiting their answers
	flying     map[int64]bool // IDs in pay requests awaiting their answers
	payWake    chan struct{}
	statWake   chan struct{}
	quit       chan struct{}
	quitCtx    context.Context // done at Close: ends a wait for a token
	stop       context.CancelFunc
	wg         sync.WaitGroup // the two senders
	reqs       sync.WaitGroup // the requests in flight
}

// call states, guarded by Batcher.mu.
const (
	queued = iota // in the queue: not sent; may leave
	sent          // handed to the client: may reach popolni
	left          // the caller stopped waiting
)

type payCall struct {
	p     Payment
	sc    trace.SpanContext // the caller's span, for the batch's operation
	state int
	req   *inflight
	done  chan struct{}
	res   Result
	err   error
}

type statusCall struct {
	ids   []int64
	sc    trace.SpanContext // the caller's span, for the batch's operation
	state int
	req   *inflight
	done  chan struct{}
	res   []Result
	err   error
}

// inflight is one request in flight: it is canceled when every member has
// stopped waiting, since nobody would read its answer.
type inflight struct {
	waiting int
	cancel  context.CancelFunc
}

// NewBatcher starts a Batcher over c: two goroutines, one for pay requests
// and one for status requests, which run until Close. It sends nothing until
// called. WaitFinal pauses c's poll interval (see Client.WithPollInterval).
func NewBatcher(c *Client, opts BatchOptions) *Batcher {
	b := &Batcher{
		c:         c,
		max:       opts.MaxBatch,
		maxFlight: opts.MaxInFlight,
		flying:    make(map[int64]bool),
		payWake:   make(chan struct{}, 1),
		statWake:  make(chan struct{}, 1),
		quit:      make(chan struct{}),
	}
	if b.max <= 0 {
		b.max = DefaultMaxBatch
	}
	if b.maxFlight <= 0 {
		b.maxFlight = DefaultMaxInFlight
	}
	b.quitCtx, b.stop = context.WithCancel(context.Background())
	b.wg.Add(2)
	go b.loop(b.payWake, b.payReady, b.takePays)
	go b.loop(b.statWake, b.statReady, b.takeStatuses)
	return b
}

// MaxBatch is the largest batch this Batcher sends: payments in one pay
// request, ids in one status request (a single Status call asking more ids
// goes alone).
func (b *Batcher) MaxBatch() int { return b.max }

// MaxInFlight is how many pay requests, and how many status requests, this
// Batcher lets await their answers at once.
func (b *Batcher) MaxInFlight() int { return b.maxFlight }

// Pay pays p in a pay request it may share with other callers' payments,
// and returns p's own Result. It is Client.Pay for one payment. p is checked
// on its own before it joins a batch, so a bad payment fails alone with a
// *payments.ValidationError and nothing is sent.
//
// What popolni sees: one POST of a payment array holding p and up to
// MaxBatch-1 other payments. Each gets its own status in the answer, so one
// payment refused (101, 124, 208, 215, 423) does not fail the others. A
// refusal of the whole request (a 403 text, a 503 still answered after the
// client's retries) is every member's error, and it means nothing was
// created.
//
// Two Pays with the same ID are never put in one batch. The second waits for
// a later request, and popolni answers it 124, because the document's status
// table says of 124 "Невозможно создать платёж – платёж с таким номером уже
// был создан ранее": never two payments for one ID.
//
// Resend safety: SAFE, as Client.Pay. A batch whose answer is lost is sent
// again with the same IDs, and a 124 answering that resend is resolved into
// the payment's real status. If no answer comes back at all, every member of
// the request gets its own *payments.OutcomeUnknownError (Ref: its ID).
// Resolve it with Status, or Pay the same payment again.
//
// If ctx ends while p is still queued, p is taken out of the queue and never
// sent: the error is ctx's, not outcome-unknown. If ctx ends after p was
// handed to popolni, Pay stops waiting and returns a
// *payments.OutcomeUnknownError wrapping ctx's error: the payment may exist.
// The request itself runs under the Batcher's own context, so one caller
// leaving does not cut off the others; it is canceled only when every member
// has left. After Close it returns ErrBatcherClosed.
func (b *Batcher) Pay(ctx context.Context, p Payment) (Result, error) {
	if ctx == nil {
		return Result{}, payments.ErrNilContext
	}
	if _, err := encodePay([]Payment{p}); err != nil {
		return Result{}, err
	}
	if err := ctx.Err(); err != nil {
		return Result{}, ctxErr(ctx, "pay")
	}
	call := &payCall{p: p, sc: trace.SpanContextFromContext(ctx), done: make(chan struct{})}
	if !b.enqueue(func() { b.payQ = append(b.payQ, call) }, b.payWake) {
		return Result{}, ErrBatcherClosed
	}
	select {
	case <-call.done:
		return call.res, call.err
	case <-ctx.Done():
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	switch {
	case isDone(call.done):
		return call.res, call.err
	case call.state == queued:
		call.state = left
		return Result{}, ctxErr(ctx, "pay")
	}
	call.state = left
	call.req.leave()
	return Result{}, &payments.OutcomeUnknownError{Provider: provider, Op: "pay", Ref: strconv.FormatInt(p.ID, 10),
		Err: ctxErr(ctx, "pay")}
}

// Status asks the status of ids in a status request it may share with other
// callers' ids, and returns one Result per id in the order given. It is
// Client.Status: the request is the document's
// `[{"transactionId":N,"status":0},...]`, each id asked once however many
// callers ask it. A caller asking more than MaxBatch ids gets a request of
// its own. A 125 must be asked again before it is believed (see
// StatusConfirmed and WaitFinal).
//
// Resend safety: a read; always safe. If ctx ends before the ids were sent,
// they leave the queue; after, Status stops waiting. Either way the error is
// ctx's. After Close it returns ErrBatcherClosed.
func (b *Batcher) Status(ctx context.Context, ids ...int64) ([]Result, error) {
	if ctx == nil {
		return nil, payments.ErrNilContext
	}
	if len(ids) == 0 {
		return nil, &payments.ValidationError{Field: "ids", Reason: errNoIDs.Error()}
	}
	for i, id := range ids {
		if id <= 0 {
			return nil, &payments.ValidationError{Field: "ids[" + strconv.Itoa(i) + "]", Reason: "transaction id must be positive"}
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, ctxErr(ctx, "status")
	}
	call := &statusCall{ids: ids, sc: trace.SpanContextFromContext(ctx), done: make(chan struct{})}
	if !b.enqueue(func() { b.statQ = append(b.statQ, call) }, b.statWake) {
		return nil, ErrBatcherClosed
	}
	select {
	case <-call.done:
		return call.res, call.err
	case <-ctx.Done():
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if isDone(call.done) {
		return call.res, call.err
	}
	if call.state == sent {
		call.req.leave()
	}
	call.state = left
	return nil, ctxErr(ctx, "status")
}

// StatusConfirmed is Client.StatusConfirmed with its requests sent through
// the Batcher: a status request for ids (shared with other callers), then,
// for the ids that answered 125, one more (shared too), so a Result says
// StatusNotFound only when popolni answered 125 twice, as the document's
// rule demands ("если статус платежа при повторном опросе статуса равен
// 125, то такого платежа действительно нет"). Errors are Status's: ctx's
// when it ends, ErrBatcherClosed after Close. A read: always safe.
func (b *Batcher) StatusConfirmed(ctx context.Context, ids ...int64) ([]Result, error) {
	return statusConfirmed(ctx, b.Status, ids)
}

// WaitFinal is Client.WaitFinal with its status requests sent through the
// Batcher: the polls of many payouts waited for at once share status
// requests instead of costing one each. It pauses the client's poll
// interval (DefaultPollInterval, the document's 10 seconds) between polls,
// applies the document's 125 rule (a 125 is believed only when the next poll
// answers 125 again; a blacklisted payment alternates 125 and 423), polls
// through transient failures and ends on credentials, access or input
// errors. When ctx ends it returns what it knows, with payments never heard
// of at StatusUnknown, and ctx's error. A read: always safe.
func (b *Batcher) WaitFinal(ctx context.Context, ids ...int64) ([]Result, error) {
	return waitFinal(ctx, b.c.pollInterval, b.Status, []error{ErrBatcherClosed}, ids)
}

// Close stops the Batcher. Later calls, and calls still queued, fail with
// ErrBatcherClosed: they were never sent. Requests in flight finish and
// their callers get their answers. Close returns when the Batcher's
// goroutines have ended. It does not close the Client, and it is safe to call
// more than once.
func (b *Batcher) Close() error {
	b.mu.Lock()
	if !b.closed {
		b.closed = true
		close(b.quit)
		b.stop()
		for _, c := range b.payQ {
			if c.state == queued {
				c.err = ErrBatcherClosed
				close(c.done)
			}
		}
		for _, c := range b.statQ {
			if c.state == queued {
				c.err = ErrBatcherClosed
				close(c.done)
			}
		}
		b.payQ, b.statQ = nil, nil
	}
	b.mu.Unlock()
	b.wg.Wait()
	b.reqs.Wait()
	return nil
}

func (b *Batcher) enqueue(add func(), wake chan struct{}) bool {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return false
	}
	add()
	b.mu.Unlock()
	select {
	case wake <- struct{}{}:
	default:
	}
	return true
}

func isDone(c chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

// leave records that a member stopped waiting; the last one cancels the
// request. Called with Batcher.mu held.
func (r *inflight) leave() {
	if r.waiting--; r.waiting == 0 {
		r.cancel()
	}
}

// loop is one sender: while its queue holds something it can send and
// fewer than maxFlight of its requests await answers, it waits for a
// limiter token, takes a batch at the moment the token comes, and starts the
// request on that token in a goroutine of its own. It runs until Close.
func (b *Batcher) loop(wake chan struct{}, ready func() bool, take func() func(*transport.Grant)) {
	defer b.wg.Done()
	for {
		b.mu.Lock()
		ok := !b.closed && ready()
		b.mu.Unlock()
		if !ok {
			select {
			case <-b.quit:
				return
			case <-wake:
				continue
			}
		}
		g, err := b.c.t.Acquire(b.quitCtx)
		if b.quitCtx.Err() != nil {
			return
		}
		if err != nil {
			// The limiter failed (a shared limiter unreachable): send
			// without a token taken ahead, so the request's own attempt
			// asks the limiter and fails, or goes, as any call would.
			g = nil
		}
		send := take()
		if send == nil {
			continue // every queued caller left while the token came: it is lost
		}
		b.reqs.Add(1)
		go func() {
			defer b.reqs.Done()
			send(g)
			select { // its IDs, and a slot, are free again
			case wake <- struct{}{}:
			default:
			}
		}()
	}
}

// payReady reports whether a queued payment can go now: one whose ID is in
// no request awaiting its answer, with a pay slot free. Under mu.
func (b *Batcher) payReady() bool {
	if b.payFlight >= b.maxFlight {
		return false
	}
	for _, c := range b.payQ {
		if c.state == queued && !b.flying[c.p.ID] {
			return true
		}
	}
	return false
}

// statReady reports whether a query is queued and a status slot is free.
// Under mu.
func (b *Batcher) statReady() bool {
	if b.statFlight >= b.maxFlight {
		return false
	}
	for _, c := range b.statQ {
		if c.state == queued {
			return true
		}
	}
	return false
}

// takePays takes up to max queued payments, no ID twice and none whose ID is
// in a request still awaiting its answer, and returns the request that pays
// them (nil when there is none). A payment left out stays queued for a
// later request.
func (b *Batcher) takePays() func(*transport.Grant) {
	b.mu.Lock()
	defer b.mu.Unlock()
	var batch []*payCall
	seen := make(map[int64]bool)
	rest := b.payQ[:0]
	for _, c := range b.payQ {
		switch {
		case c.state != queued:
		case len(batch) < b.max && !seen[c.p.ID] && !b.flying[c.p.ID]:
			seen[c.p.ID] = true
			batch = append(batch, c)
		default:
			rest = append(rest, c)
		}
	}
	clear(b.payQ[len(rest):])
	b.payQ = rest
	if len(batch) == 0 {
		return nil
	}
	b.payFlight++
	for id := range seen {
		b.flying[id] = true
	}
	rctx, cancel := context.WithCancel(context.Background())
	req := &inflight{waiting: len(batch), cancel: cancel}
	pays := make([]Payment, len(batch))
	for i, c := range batch {
		c.state, c.req = sent, req
		pays[i] = c.p
	}
	return func(g *transport.Grant) {
		ctx := transport.WithGrant(rctx, g)
		ctx, members := batchTrace(ctx, len(batch), func(i int) trace.SpanContext { return batch[i].sc },
			func(i int) string { return strconv.FormatInt(batch[i].p.ID, 10) })
		res, err := b.c.pay(ctx, pays, members)
		cancel()

		var ou *payments.OutcomeUnknownError
		unknown := errors.As(err, &ou)
		b.mu.Lock()
		defer b.mu.Unlock()
		b.payFlight--
		for id := range seen {
			delete(b.flying, id)
		}
		for i, c := range batch {
			switch {
			case err == nil:
				c.res = res[i]
			case res != nil && res[i].Status != StatusDuplicate:
				c.res = res[i] // resolved; only the 124s stayed unknown
			case unknown:
				c.err = &payments.OutcomeUnknownError{Provider: provider, Op: "pay", Ref: strconv.FormatInt(c.p.ID, 10), Err: ou.Err}
			default:
				c.err = err // refused before processing: nothing was created
			}
			close(c.done)
		}
	}
}

// takeStatuses takes queued queries up to max distinct ids (a larger query
// goes alone) and returns the status request that asks them (nil when none
// is queued).
func (b *Batcher) takeStatuses() func(*transport.Grant) {
	b.mu.Lock()
	defer b.mu.Unlock()
	var (
		batch []*statusCall
		ids   []int64
	)
	seen := make(map[int64]bool)
	rest := b.statQ[:0]
	for _, c := range b.statQ {
		if c.state != queued {
			continue
		}
		n := 0
		for _, id := range c.ids {
			if !seen[id] {
				n++
			}
		}
		if len(batch) > 0 && len(ids)+n > b.max {
			rest = append(rest, c)
			continue
		}
		batch = append(batch, c)
		for _, id := range c.ids {
			if !seen[id] {
				seen[id] = true
				ids = append(ids, id)
			}
		}
	}
	clear(b.statQ[len(rest):])
	b.statQ = rest
	if len(batch) == 0 {
		return nil
	}
	b.statFlight++
	rctx, cancel := context.WithCancel(context.Background())
	req := &inflight{waiting: len(batch), cancel: cancel}
	for _, c := range batch {
		c.state, c.req = sent, req
	}
	return func(g *transport.Grant) {
		ctx := transport.WithGrant(rctx, g)
		ctx, members := batchTrace(ctx, len(batch), func(i int) trace.SpanContext { return batch[i].sc },
			func(i int) string { return refOf(batch[i].ids) })
		res, err := b.c.status(ctx, ids, members)
		cancel()

		by := make(map[int64]Result, len(res))
		for _, r := range res {
			by[r.ID] = r
		}
		b.mu.Lock()
		defer b.mu.Unlock()
		b.statFlight--
		for _, c := range batch {
			if err != nil {
				c.err = err
			} else {
				c.res = make([]Result, len(c.ids))
				for i, id := range c.ids {
					c.res[i] = by[id]
				}
			}
			close(c.done)
		}
	}
}
