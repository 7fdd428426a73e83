package fakeserver

import (
	"errors"
	"io"
	"net/http"
	"strconv"
)

// Answer is what a fake sends back to one request.
type Answer struct {
	Status int
	Type   string      // Content-Type
	Header http.Header // extra headers, may be nil
	Body   []byte
	// Stream, when not nil, writes a body of Length bytes instead of Body
	// (a large export); what it writes past Length is cut.
	Length int64
	Stream func(w io.Writer) error
}

// Text is a text/plain answer.
func Text(status int, text string) Answer {
	return Answer{Status: status, Type: "text/plain; charset=utf-8", Body: []byte(text)}
}

// Call is one request a route handles.
type Call[R any] struct {
	R      *http.Request
	Body   []byte
	BodyOK bool // false when reading failed or the body is over Spec.MaxBody
	Op     string
	Fault  Fault // the fault the request took; zero if none

	rec *R
	log *Log[R]
}

// Update changes the request's log record under the log's lock, so
// Requests never sees it half written.
func (c *Call[R]) Update(fn func(*R)) { c.log.update(c.rec, fn) }

// Route is one row of a fake's route table.
type Route[R any] struct {
	Method string // "" for any method
	Path   string // the exact path
	// Match, when not nil, replaces Method and Path.
	Match func(r *http.Request) bool
	// Op names the operation; OpOf, when not nil, names it from the
	// request instead (one route, several operations).
	Op   string
	OpOf func(r *http.Request, body []byte, bodyOK bool) string
	// Faults is the queue the route takes faults from: nil for the fake's
	// own (its embedded [Faults]), [NoFaults] for none.
	Faults *Faults
	// OpOnly makes the route take only a DropNextOp of its operation, never
	// the head of the queue.
	OpOnly bool
	Handle func(c *Call[R]) Answer
}

// NoFaults is the queue of routes that take no fault; nothing is ever
// queued on it.
var NoFaults = &Faults{}

// Spec describes a fake to [Start]: its route table and how it records,
// fails and alters answers.
type Spec[R any] struct {
	MaxBody int64 // the request body read; longer bodies give Call.BodyOK false
	Routes  []Route[R]

	// Record makes the log record of a request before it is handled; op is
	// its route's operation, or Unknown.
	Record   func(r *http.Request, body []byte, bodyOK bool, op string) *R
	Op       func(*R) string // the operation of a record, for Count
	Clone    func(R) R       // see NewLog
	Answered func(*R, int)   // sets the HTTP status answered on a record

	// Unknown is the operation of a request no route matches, NotFound its
	// answer; with T set it also fails the test, the message ending in
	// RoutesHelp.
	Unknown    string
	NotFound   Answer
	RoutesHelp string
	T          Reporter

	// Gate, when not nil, may answer a routed request before it takes a
	// fault.
	Gate func(r *http.Request) (Answer, bool)
	// Fail makes the answer of a FailNext fault; Garbage is the answer of
	// a GarbageNext one.
	Fail    func(f Fault) Answer
	Garbage Answer
	// Before, when not nil, may answer a request by the fault it took,
	// without processing it (a fake's own kinds).
	Before func(c *Call[R]) (Answer, bool)
	// After, when not nil, changes the answer of a processed request (or
	// the fault itself) by the fault it took, before the shared kinds
	// apply.
	After func(c *Call[R], a *Answer)
}

// Fake is what every provider fake does the same way: it serves the route
// table, applies the faults of [Faults], keeps the request log and reports
// the listener. A provider's Server embeds a *Fake, so these methods are
// the server's own. All methods are safe for concurrent use.
type Fake[R any] struct {
	Faults
	base *Base
	log  *Log[R]
	spec Spec[R]
}

// Start serves spec on base (made with [New]) and returns the fake the
// provider's Server embeds. Call it once the provider's state is ready.
func Start[R any](base *Base, spec Spec[R]) *Fake[R] {
	f := &Fake[R]{base: base, log: NewLog(spec.Op, spec.Clone), spec: spec}
	base.Serve(http.HandlerFunc(f.serve))
	return f
}

// Close shuts the server down: it stops listening, closes every
// connection, interrupts delayed answers and waits for running handlers to
// return. It may be called more than once.
func (f *Fake[R]) Close() { f.base.Close() }

// Addr returns the listening address, "127.0.0.1:<port>": where the client
// must connect when it dials the provider's host names.
func (f *Fake[R]) Addr() string { return f.base.Addr() }

// CACertPEM returns the PEM of the CA that issued the server certificate,
// for the client's trusted roots.
func (f *Fake[R]) CACertPEM() []byte { return f.base.CACertPEM() }

// Client returns an *http.Client that trusts the server's CA and connects
// to [Fake.Addr] whenever it dials one of the provider's host names on any
// port (so the production URLs reach the fake too). It refuses to dial any
// other host and adds no credentials. The same client is returned each
// time; Close closes its idle connections.
func (f *Fake[R]) Client() *http.Client { return f.base.Client() }

// Requests returns copies of the requests received since the start or the
// last Reset, in arrival order.
func (f *Fake[R]) Requests() []R { return f.log.Requests() }

// Count returns how many received requests have operation op (Request.Op),
// whatever their outcome (see Request.Answered).
func (f *Fake[R]) Count(op string) int { return f.log.Count(op) }

// Reset forgets the recorded requests. The provider's state (payments,
// balances, switches) and queued faults stay.
func (f *Fake[R]) Reset() { f.log.Reset() }

func (f *Fake[R]) route(r *http.Request) *Route[R] {
	for i := range f.spec.Routes {
		rt := &f.spec.Routes[i]
		if rt.Match != nil {
			if rt.Match(r) {
				return rt
			}
		} else if rt.Path == r.URL.Path && (rt.Method == "" || rt.Method == r.Method) {
			return rt
		}
	}
	return nil
}

func (f *Fake[R]) serve(w http.ResponseWriter, r *http.Request) {
	body, bodyOK := ReadBody(r, f.spec.MaxBody)
	rt := f.route(r)
	op := f.spec.Unknown
	if rt != nil {
		op = rt.Op
		if rt.OpOf != nil {
			op = rt.OpOf(r, body, bodyOK)
		}
	}
	rec := f.spec.Record(r, body, bodyOK, op)
	f.log.Add(rec)
	if rt == nil {
		if t := f.spec.T; t != nil {
			t.Helper()
			t.Errorf("%s: unexpected request %s %s: %s", f.base.name, r.Method, r.URL.RequestURI(), f.spec.RoutesHelp)
		}
		f.answer(w, rec, f.spec.NotFound)
		return
	}
	if f.spec.Gate != nil {
		if a, ok := f.spec.Gate(r); ok {
			f.answer(w, rec, a)
			return
		}
	}
	q := rt.Faults
	if q == nil {
		q = &f.Faults
	}
	c := &Call[R]{R: r, Body: body, BodyOK: bodyOK, Op: op, Fault: q.take(op, rt.OpOnly), rec: rec, log: f.log}
	switch c.Fault.Kind {
	case FaultFail:
		f.answer(w, rec, f.spec.Fail(c.Fault))
		return
	case FaultDropBefore:
		f.base.Drop(w)
		return
	}
	if f.spec.Before != nil {
		if a, ok := f.spec.Before(c); ok {
			f.answer(w, rec, a)
			return
		}
	}
	a := rt.Handle(c)
	if f.spec.After != nil {
		f.spec.After(c, &a)
	}
	switch c.Fault.Kind {
	case FaultDrop:
		f.base.Drop(w)
		return
	case FaultDelay:
		if !f.base.Wait(r.Context(), c.Fault.Delay) {
			f.base.Drop(w)
			return
		}
	case FaultGarbage:
		a = f.spec.Garbage
	case FaultTruncate:
		if a.Stream != nil {
			a.Length /= 2
		} else {
			a.Body = a.Body[:len(a.Body)/2]
		}
	}
	f.answer(w, rec, a)
}

// answer records the status and then writes a, so a client that has its
// answer always finds it in Requests.
func (f *Fake[R]) answer(w http.ResponseWriter, rec *R, a Answer) {
	f.log.update(rec, func(r *R) { f.spec.Answered(r, a.Status) })
	if a.Stream == nil {
		Write(w, a.Status, a.Type, a.Header, a.Body)
		return
	}
	h := w.Header()
	for k, vs := range a.Header {
		h[k] = vs
	}
	h.Set("Content-Type", a.Type)
	h.Set("Content-Length", strconv.FormatInt(a.Length, 10))
	w.WriteHeader(a.Status)
	_ = a.Stream(&limitWriter{w: w, n: a.Length})
}

var errTruncated = errors.New("fakeserver: body truncated")

// limitWriter passes through n bytes, then fails.
type limitWriter struct {
	w io.Writer
	n int64
}

func (l *limitWriter) Write(p []byte) (int, error) {
	if l.n <= 0 {
		return 0, errTruncated
	}
	if int64(len(p)) > l.n {
		k, err := l.w.Write(p[:l.n])
		l.n -= int64(k)
		if err == nil {
			err = errTruncated
		}
		return k, err
	}
	k, err := l.w.Write(p)
	l.n -= int64(k)
	return k, err
}
