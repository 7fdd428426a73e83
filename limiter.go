package payments

import (
	"context"
	"fmt"
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Limiter hands out one token per attempt. Every attempt a client makes,
// retries included, first calls Wait; an error (the context ended) stops the
// call before anything is sent.
//
// Providers limit requests per account, so one Limiter should be shared by
// every client of one account, across goroutines. A *rate.Limiter
// (golang.org/x/time/rate) satisfies it; the one NewLimiter returns is built
// on it and adds the guarantees a strict provider needs.
type Limiter interface {
	Wait(ctx context.Context) error
}

// RefusalObserver is implemented by a Limiter that adapts to the provider.
// The client calls Refused once for every answer the provider's document
// says was refused, unprocessed, because the account sent too fast
// (popolni's 503): the limiter then lowers its rate, as popolni's document
// asks ("повторить запрос снова после временной задержки, снизив частоту
// запросов"). Refused must be safe for concurrent use and must not block.
//
// The Limiter returned by NewLimiter implements it. A Limiter that does not
// is simply never told.
type RefusalObserver interface {
	Refused()
}

// DefaultRate and DefaultBurst are the default limit of every client:
// popolni.club's documented 5 requests a second, one at a time.
const (
	DefaultRate  = 5
	DefaultBurst = 1
)

// NetworkMargin is the spread of one-way network delays NewLimiter absorbs
// without any refusal: its grants are spaced so that requests still reach the
// provider within the limit when one travels up to NetworkMargin longer than
// another. It costs NetworkMargin out of every second: NewLimiter(5, 1)
// starts requests 210 ms apart, 4.76 a second (95 % of the cap).
const NetworkMargin = 50 * time.Millisecond

// Adaptation to refusals (see RefusalObserver): one refusal lowers the rate
// to cutFactor of what it was, at most once per cutCooldown (the refusals of
// requests already on their way count once); the rate then creeps back by
// creepPerSecond of its ceiling every second, never above the ceiling, never
// below ceiling/floorDivisor.
const (
	cutFactor      = 0.8
	cutCooldown    = time.Second
	creepPerSecond = 0.01
	floorDivisor   = 16
)

// NewLimiter returns a Limiter for a provider that allows perSecond requests
// a second, burst of them at once. It runs on a golang.org/x/time/rate
// token bucket and adds three things a bucket alone lacks:
//
//   - Spacing on actual grants. A bucket schedules waiters on ideal times,
//     so a waiter that wakes up late lets its successor start early: a
//     provider counting arrivals per real second (popolni answers 503 to the
//     sixth) sees six. Here every grant also waits until burst grants ago is
//     a whole window (burst/rate) old, measured on the times grants were
//     really let go; a late waker's lateness is passed on to its successors,
//     never taken back from them.
//   - A network margin (NetworkMargin): the rate is perSecond scaled by
//     1s/(1s+NetworkMargin), so requests that take up to 50 ms more or less
//     to arrive still arrive within the limit.
//   - Feedback: it implements RefusalObserver; a refusal lowers the rate to
//     80 % (at most once a second), which then creeps back up by 1 % of the
//     ceiling a second. That covers a network worse than the margin and
//     other senders on the same account.
//
// popolni's document also allows "кратковременное превышение в 11 запросов
// за последние 10 минут" (a short-term excess of 11 requests over the last
// ten minutes). The limiter never uses it: it never sends a sixth request in
// a second on purpose. The allowance stays the provider's slack for what the
// limiter cannot see (a network spread beyond the margin, another program on
// the same account), and spending it would turn every later slip into a 503.
//
// perSecond must be positive and finite; burst at least 1. Both are checked
// with a *ValidationError.
func NewLimiter(perSecond float64, burst int) (Limiter, error) {
	return NewLimiterWithMargin(perSecond, burst, NetworkMargin)
}

// NewLimiterWithMargin is NewLimiter with another network margin: the spread
// of one-way delays it absorbs. A margin of 0 uses the whole cap and still
// never lets a sixth request start within a second on real grant times, so
// it suits a provider reached over a LAN or loopback (a fake in a test),
// where requests arrive in the order and spacing they left; over the
// Internet, keep NetworkMargin (50 ms) or more. margin must be 0 to 1 s.
func NewLimiterWithMargin(perSecond float64, burst int, margin time.Duration) (Limiter, error) {
	if margin < 0 || margin > time.Second {
		return nil, &ValidationError{Field: "margin", Reason: fmt.Sprintf("%v is not between 0 and 1s", margin)}
	}
	if !(perSecond > 0) || math.IsInf(perSecond, 0) {
		return nil, &ValidationError{Field: "perSecond", Reason: fmt.Sprintf("rate %v is not a positive finite number", perSecond)}
	}
	if burst < 1 {
		return nil, &ValidationError{Field: "burst", Reason: fmt.Sprintf("burst %d is below 1", burst)}
	}
	ceiling := perSecond * float64(time.Second) / float64(time.Second+margin)
	return &adaptiveLimiter{
		ceiling: ceiling,
		floor:   ceiling / floorDivisor,
		cur:     ceiling,
		bucket:  rate.NewLimiter(rate.Limit(ceiling), burst),
		turn:    make(chan struct{}, 1),
		grants:  make([]time.Time, burst),
	}, nil
}

// adaptiveLimiter is NewLimiter's Limiter: a rate.Limiter schedules, a ring
// of the last burst actual grant times guards, and refusals move the rate.
type adaptiveLimiter struct {
	ceiling, floor float64 // grants a second

	bucket *rate.Limiter

	turn   chan struct{} // one waiter at a time; a channel so the wait can be canceled
	grants []time.Time   // ring of the last len(grants) grant times (zero: none yet); under turn
	next   int           // index of the oldest grant; under turn

	mu      sync.Mutex
	cur     float64   // the rate now (after the last creep)
	cutTo   float64   // the rate the last cut set
	lastCut time.Time // zero: never cut
}

// rateAt returns the rate at now, applying the creep since the last cut.
func (l *adaptiveLimiter) rateAt(now time.Time) float64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.rateLocked(now)
}

func (l *adaptiveLimiter) rateLocked(now time.Time) float64 {
	if l.cur < l.ceiling && !l.lastCut.IsZero() {
		r := l.cutTo + l.ceiling*creepPerSecond*now.Sub(l.lastCut).Seconds()
		r = min(r, l.ceiling)
		if r > l.cur {
			l.cur = r
			l.bucket.SetLimitAt(now, rate.Limit(r))
		}
	}
	return l.cur
}

// Refused lowers the rate (see RefusalObserver).
func (l *adaptiveLimiter) Refused() {
	now := time.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.lastCut.IsZero() && now.Sub(l.lastCut) < cutCooldown {
		return
	}
	r := max(l.rateLocked(now)*cutFactor, l.floor)
	l.cur, l.cutTo, l.lastCut = r, r, now
	l.bucket.SetLimitAt(now, rate.Limit(r))
}

func (l *adaptiveLimiter) Wait(ctx context.Context) error {
	if ctx == nil {
		return ErrNilContext
	}
	select {
	case l.turn <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-l.turn }()
	if err := ctx.Err(); err != nil {
		return err
	}
	now := time.Now()
	r := l.rateAt(now)
	res := l.bucket.ReserveN(now, 1) // burst >= 1: always OK
	wake := now.Add(res.DelayFrom(now))
	if oldest := l.grants[l.next]; !oldest.IsZero() {
		window := time.Duration(float64(len(l.grants)) / r * float64(time.Second))
		if t := oldest.Add(window); t.After(wake) {
			wake = t
		}
	}
	if d := time.Until(wake); d > 0 {
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			res.CancelAt(time.Now())
			return ctx.Err()
		}
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
