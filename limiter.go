package payments

import (
	"context"
	"fmt"
	"math"
	"time"
)

// Limiter hands out one token per attempt. Every attempt a client makes,
// retries included, first calls Wait; an error (the context ended) stops the
// call before anything is sent.
//
// Providers limit requests per account, so one Limiter should be shared by
// every client of one account, across goroutines.
type Limiter interface {
	Wait(ctx context.Context) error
}

// DefaultRate and DefaultBurst are the default limit of every client:
// popolni.club's documented 5 requests a second, spaced 200 ms apart.
const (
	DefaultRate  = 5
	DefaultBurst = 1
)

// NewLimiter returns a Limiter that lets at most burst attempts start in any
// window of burst/perSecond seconds, measured on the times the attempts were
// really let go. With the defaults (5, 1) attempts start at least 200 ms
// apart, so no one-second window ever holds more than five.
//
// Unlike a token bucket scheduled on ideal times (golang.org/x/time/rate),
// a waiter that wakes up late does not let the next one start early: a
// provider that counts requests per real second (popolni answers 503) never
// sees a sixth.
//
// perSecond must be positive and finite; burst at least 1.
func NewLimiter(perSecond float64, burst int) (Limiter, error) {
	if !(perSecond > 0) || math.IsInf(perSecond, 0) {
		return nil, &ValidationError{Field: "perSecond", Reason: fmt.Sprintf("rate %v is not a positive finite number", perSecond)}
	}
	if burst < 1 {
		return nil, &ValidationError{Field: "burst", Reason: fmt.Sprintf("burst %d is below 1", burst)}
	}
	window := time.Duration(float64(burst) / perSecond * float64(time.Second))
	if window <= 0 {
		window = 1
	}
	l := &windowLimiter{window: window, grants: make([]time.Time, burst), turn: make(chan struct{}, 1)}
	return l, nil
}

// windowLimiter keeps the start times of the last burst grants. The next
// grant waits until the oldest of them is a whole window old.
type windowLimiter struct {
	window time.Duration
	turn   chan struct{} // one waiter at a time; a channel so the wait can be canceled
	grants []time.Time   // ring of the last len(grants) grant times (zero: none yet)
	next   int           // index of the oldest grant
}

func (l *windowLimiter) Wait(ctx context.Context) error {
	if ctx == nil {
		return ErrNilContext
	}
	select {
	case l.turn <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-l.turn }()
	if oldest := l.grants[l.next]; !oldest.IsZero() {
		if d := time.Until(oldest.Add(l.window)); d > 0 {
			t := time.NewTimer(d)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				return ctx.Err()
			}
		}
	} else if err := ctx.Err(); err != nil {
		return err
	}
	l.grants[l.next] = time.Now()
	l.next = (l.next + 1) % len(l.grants)
	return nil
}

// Unlimited returns a Limiter that never waits (it still refuses a context
// that has ended). Meant for tests and benchmarks against a fake server.
func Unlimited() Limiter { return unlimited{} }

type unlimited struct{}

func (unlimited) Wait(ctx context.Context) error {
	if ctx == nil {
		return ErrNilContext
	}
	return ctx.Err()
}

// ErrNilContext is returned by every call given a nil context, before
// anything is sent. Pass context.Background() or context.TODO() instead.
var ErrNilContext error = &ValidationError{Field: "ctx", Reason: "nil context: pass context.Background() or a request's context"}
