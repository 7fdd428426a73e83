package fakeserver

import "sync"

// Log is the list of requests a fake has received, in arrival order, behind
// [Fake.Requests], [Fake.Count] and [Fake.Reset]: every fake records and
// counts the same way, by operation name. Make one with [NewLog]; it is safe
// for concurrent use.
//
// The log keeps the pointers it is given, so that the handler can fill in a
// record after adding it (the status answered, say); it does so through
// [Call.Update], under the log's lock.
type Log[R any] struct {
	op    func(*R) string
	clone func(R) R

	mu   sync.Mutex // guards list
	list []*R
}

// NewLog returns an empty log. op names the operation of a record, what
// [Log.Count] compares (a fake's Request.Op); clone makes the copy
// [Log.Requests] returns from a shallow copy of a record, deep-copying what a
// caller must not share (headers, bodies); nil clone keeps the shallow copy.
func NewLog[R any](op func(*R) string, clone func(R) R) *Log[R] {
	if op == nil {
		panic("fakeserver: NewLog without an op function")
	}
	return &Log[R]{op: op, clone: clone}
}

// Add records r, which the log keeps (see [Log]).
func (l *Log[R]) Add(r *R) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.list = append(l.list, r)
}

func (l *Log[R]) update(r *R, fn func(*R)) {
	l.mu.Lock()
	defer l.mu.Unlock()
	fn(r)
}

// Requests returns copies of the recorded requests in arrival order, each
// made by the clone function given to [NewLog]. It returns an empty, non-nil
// slice when nothing was recorded.
func (l *Log[R]) Requests() []R {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]R, len(l.list))
	for i, r := range l.list {
		out[i] = *r
		if l.clone != nil {
			out[i] = l.clone(out[i])
		}
	}
	return out
}

// Count returns how many recorded requests have operation op, whatever their
// outcome.
func (l *Log[R]) Count(op string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, r := range l.list {
		if l.op(r) == op {
			n++
		}
	}
	return n
}

// CountFunc returns how many recorded requests match reports true for. match
// gets a shallow copy of each record and must not keep what it points to.
func (l *Log[R]) CountFunc(match func(R) bool) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, r := range l.list {
		if match(*r) {
			n++
		}
	}
	return n
}

// Reset forgets the recorded requests.
func (l *Log[R]) Reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.list = nil
}
