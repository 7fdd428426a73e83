package paykeeper

import (
	"context"
	"errors"
	"sync"
)

// flight coalesces concurrent lookups of one payment id: the first caller
// asks the API, the others wait for its answer. A flood of notifications for
// one payment costs one request, not one each.
type flight struct {
	mu    sync.Mutex
	calls map[string]*flightCall
}

var errLookupUnfinished = errors.New("paykeeper: payment lookup did not finish")

type flightCall struct {
	done    chan struct{}
	p       Payment
	err     error
	waiters int // callers sharing this lookup, under flight.mu (tests read it)
}

// do returns fn's result for key, shared with every caller that asks for
// the same key while fn runs. A caller whose own context ends stops
// waiting; when the lookup failed only because the first caller's context
// ended, a waiter whose context is alive asks again.
func (f *flight) do(ctx context.Context, key string, fn func(context.Context) (Payment, error)) (Payment, error) {
	for {
		f.mu.Lock()
		if f.calls == nil {
			f.calls = map[string]*flightCall{}
		}
		if call, ok := f.calls[key]; ok {
			call.waiters++
			f.mu.Unlock()
			select {
			case <-call.done:
				if ctx.Err() == nil && (errors.Is(call.err, context.Canceled) || errors.Is(call.err, context.DeadlineExceeded)) {
					continue
				}
				return call.p, call.err
			case <-ctx.Done():
				return Payment{}, ctx.Err()
			}
		}
		// A panicking fn leaves this error to the waiters, never a zero
		// Payment with a nil error.
		call := &flightCall{done: make(chan struct{}), err: errLookupUnfinished}
		f.calls[key] = call
		f.mu.Unlock()
		func() {
			defer func() {
				f.mu.Lock()
				delete(f.calls, key)
				f.mu.Unlock()
				close(call.done)
			}()
			call.p, call.err = fn(ctx)
		}()
		return call.p, call.err
	}
}

// waiting reports how many callers wait on the lookup of key (for tests).
func (f *flight) waiting(key string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	if call, ok := f.calls[key]; ok {
		return call.waiters
	}
	return 0
}
