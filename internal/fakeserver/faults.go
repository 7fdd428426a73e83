package fakeserver

import "time"

// FaultKind says what a queued [Fault] does to the request that takes it.
type FaultKind int

// The fault kinds every fake offers through [Faults]. A fake's own kinds
// (an HTML page instead of JSON, a provider error) start at FaultCustom; the
// route table's hooks ([Spec.Before], [Spec.After]) or the route's handler
// apply them.
const (
	FaultFail FaultKind = iota + 1
	FaultDrop
	FaultDropBefore
	FaultDelay
	FaultTruncate
	FaultGarbage
	FaultCustom FaultKind = 64
)

// Fault is one queued fault. Status, Body, Delay and Code are its
// arguments; a fake's own kinds use them as they document.
type Fault struct {
	Kind   FaultKind
	Status int
	Body   string
	Delay  time.Duration
	Code   int
	Flag   bool
}

// Faults is the fault queue of a fake: the switches below queue faults for
// the next requests that take faults (each fake's package documentation says
// which routes do), one request each, in the order they were queued. A
// request that goes nowhere (an unknown route) uses none up. The zero value
// is empty and ready; it is safe for concurrent use.
//
// Every fake embeds one, so FailNext, DropNext, DropBeforeNext, DelayNext,
// TruncateNext, GarbageNext and DropNextOp are the same on all of them.
type Faults struct {
	queue Queue[Fault]
	ops   OpCounts
}

// FailNext answers the next n requests with status and body without
// processing them: no authentication, no check, no state change, no
// rate-limit use. A body in the provider's format (starting with '{' or '['
// for a JSON API, '<' for an XML one) is sent with that content type, any
// other as the provider's plain error page type.
func (q *Faults) FailNext(n, status int, body string) {
	q.queue.Add(n, Fault{Kind: FaultFail, Status: status, Body: body})
}

// DropNext processes the next n requests fully (payments are created,
// states move) and then closes the connection without sending a byte of
// answer: the client cannot know the outcome.
func (q *Faults) DropNext(n int) { q.queue.Add(n, Fault{Kind: FaultDrop}) }

// DropBeforeNext closes the connection of the next n requests without
// processing them and without answering: nothing happened at the provider.
func (q *Faults) DropBeforeNext(n int) { q.queue.Add(n, Fault{Kind: FaultDropBefore}) }

// DelayNext processes the next n requests, then waits d before answering.
// The wait ends early, without an answer, when the client gives up (its
// request context ends) or the server is closed.
func (q *Faults) DelayNext(n int, d time.Duration) {
	q.queue.Add(n, Fault{Kind: FaultDelay, Delay: d})
}

// TruncateNext processes the next n requests and sends the answer with its
// status but only the first half of its body, properly framed: the client
// reads a complete HTTP response whose document is cut off.
func (q *Faults) TruncateNext(n int) { q.queue.Add(n, Fault{Kind: FaultTruncate}) }

// GarbageNext processes the next n requests (payments are created, states
// move) and answers with an HTML page instead of the provider's format, as
// a misconfigured proxy or the cabinet's login redirect would: 200 with the
// page for popolni.club, QIWI and PayKeeper, nginx's 502 page for RoyalPay.
func (q *Faults) GarbageNext(n int) { q.queue.Add(n, Fault{Kind: FaultGarbage}) }

// DropNextOp is DropNext for one operation: the next n requests whose
// Request.Op is op are processed fully (a payment is created, a refund made)
// and then the connection is closed without an answer. Requests of other
// operations are not touched and do not use it up, so a test can lose the
// answers of the requests that move money while the reads around them go
// through.
//
// n <= 0 cancels the drops still queued for op. For a request of op, this
// switch comes before the queue of the other switches, whose head then
// waits for the next request.
func (q *Faults) DropNextOp(op string, n int) { q.ops.Add(op, n) }

// Enqueue queues n copies of a fake's own fault f on q. It is a function,
// not a method, so that it is not part of the fakes' exported API.
func Enqueue(q *Faults, n int, f Fault) { q.queue.Add(n, f) }

// take uses up the fault a request of op gets: a DropNextOp of op first,
// else the head of the queue unless opOnly; the zero Fault when none.
func (q *Faults) take(op string, opOnly bool) Fault {
	if q.ops.Take(op) {
		return Fault{Kind: FaultDrop}
	}
	if opOnly {
		return Fault{}
	}
	return q.queue.Pop()
}
