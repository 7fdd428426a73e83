package redislimit

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/metric"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/internal/telemetry"
)

// DefaultTimeout is how long one exchange with Redis may take before Wait
// gives up with ErrUnavailable.
const DefaultTimeout = 500 * time.Millisecond

// DefaultMargin is the safety margin added to every one-second window: the
// spread of the delay between a grant and the request's arrival at the
// provider that the limit tolerates. It costs DefaultMargin/(1s+DefaultMargin)
// of the rate (2 %).
const DefaultMargin = 20 * time.Millisecond

// MaxRate and MaxBurst bound the arguments of New: the script keeps one entry
// per grant of the longest window, and payment providers' limits are far
// below these.
const (
	MaxRate  = 10000
	MaxBurst = 10000
)

// ErrUnavailable is the category of Wait's error when the shared limit
// could not be consulted: Redis unreachable, slow (over the timeout) or
// answering with an error. Nothing was sent. It matches
// payments.ErrUnavailable too, so a client's call fails like one whose
// provider could not be reached (and, the request never having left, is
// not outcome-unknown on its first attempt).
var ErrUnavailable error = sentinel("redislimit: shared rate limiter unavailable, nothing was sent")

type sentinel string

func (s sentinel) Error() string { return string(s) }

// Is makes ErrUnavailable match payments.ErrUnavailable.
func (s sentinel) Is(target error) bool { return target == payments.ErrUnavailable }

// UnavailableError is the error Wait returns when Redis could not be
// consulted. It matches ErrUnavailable and payments.ErrUnavailable with
// errors.Is, and unwraps to the Redis client's error.
type UnavailableError struct {
	Key string // the limiter's key
	Err error  // the Redis client's error, or context.DeadlineExceeded for the timeout
}

// Error says which limiter failed, why, and that nothing was sent.
func (e *UnavailableError) Error() string {
	return fmt.Sprintf("redislimit: shared rate limiter %q unavailable (%v): nothing was sent", e.Key, e.Err)
}

// Unwrap returns the cause.
func (e *UnavailableError) Unwrap() error { return e.Err }

// Is makes an UnavailableError match ErrUnavailable and payments.ErrUnavailable.
func (e *UnavailableError) Is(target error) bool {
	return target == ErrUnavailable || target == payments.ErrUnavailable
}

// Option changes a Limiter's defaults.
type Option func(*config)

type config struct {
	timeout time.Duration
	margin  time.Duration
	meter   metric.MeterProvider
}

// WithMeterProvider counts the times Redis could not be consulted on
// payments.limiter.unavailable ({error}, attribute payments.reason: timeout
// or error) with mp instead of the global meter provider (which records
// nothing until the application sets one). Each is a Wait that failed
// closed: nothing was sent.
func WithMeterProvider(mp metric.MeterProvider) Option { return func(c *config) { c.meter = mp } }

// WithTimeout sets how long one exchange with Redis may take (DefaultTimeout
// if not given). Past it Wait returns an *UnavailableError; must be positive.
func WithTimeout(d time.Duration) Option { return func(c *config) { c.timeout = d } }

// WithMargin sets the safety margin added to every one-second window
// (DefaultMargin if not given): with margin m the limiter spaces grants as
// if a second lasted 1s+m, and gives up m/(1s+m) of the rate for it. Set it
// to the spread of the delay between Wait's return and the request's
// arrival at the provider (the network, the provider's front end); zero is
// allowed. Must be below one second.
func WithMargin(d time.Duration) Option { return func(c *config) { c.margin = d } }

// Limiter is a payments.Limiter whose grants are counted in Redis, so that
// every process that uses the same key shares one limit. Safe for
// concurrent use. It does not own the Redis client: close the client when
// done.
type Limiter struct {
	client  redis.UniversalClient
	key     string
	timeout time.Duration
	args    []any         // the script's arguments, fixed by New
	turn    chan struct{} // one asker per process at a time: the others wait here, cancellably
	down    metric.Int64Counter
}

var _ payments.Limiter = (*Limiter)(nil)

//go:embed limit.lua
var limitLua string

var limitScript = redis.NewScript(limitLua)

// New returns a Limiter of perSecond grants a second with bursts of up to
// burst, shared by every process that calls New with the same key on the
// same Redis: at most burst grants in any window of burst/perSecond seconds
// and, for perSecond ≥ 1, at most ⌊perSecond⌋ grants in any one second, both
// stretched by the margin (WithMargin) and measured on the Redis server's
// clock at the moments the grants were really given.
//
// Every process sharing a key must pass the same perSecond, burst and
// margin. perSecond must be positive, finite and at most MaxRate; burst
// between 1 and MaxBurst; key not empty.
func New(client redis.UniversalClient, key string, perSecond float64, burst int, opts ...Option) (*Limiter, error) {
	if client == nil {
		return nil, &payments.ValidationError{Field: "client", Reason: "nil Redis client"}
	}
	if key == "" {
		return nil, &payments.ValidationError{Field: "key", Reason: "empty key: name the provider account, e.g. \"payments:limit:popolni:<account>\""}
	}
	if !(perSecond > 0) || math.IsInf(perSecond, 0) || perSecond > MaxRate {
		return nil, &payments.ValidationError{Field: "perSecond", Reason: fmt.Sprintf("rate %v is not a positive finite number up to %d", perSecond, MaxRate)}
	}
	if burst < 1 || burst > MaxBurst {
		return nil, &payments.ValidationError{Field: "burst", Reason: fmt.Sprintf("burst %d is not between 1 and %d", burst, MaxBurst)}
	}
	cfg := config{timeout: DefaultTimeout, margin: DefaultMargin}
	for _, o := range opts {
		if o != nil {
			o(&cfg)
		}
	}
	if cfg.timeout <= 0 {
		return nil, &payments.ValidationError{Field: "timeout", Reason: fmt.Sprintf("timeout %v is not positive", cfg.timeout)}
	}
	if cfg.margin < 0 || cfg.margin >= time.Second {
		return nil, &payments.ValidationError{Field: "margin", Reason: fmt.Sprintf("margin %v is not in [0, 1s)", cfg.margin)}
	}
	stretch := 1 + cfg.margin.Seconds()
	// In microseconds of the server's clock, rounded up: never a shorter window.
	window := int64(math.Ceil(float64(burst) / perSecond * stretch * 1e6))
	perSec := int64(0) // the one-second rule; 0: none (below one a second, the burst window is longer)
	if perSecond >= 1 {
		perSec = int64(math.Floor(perSecond))
	}
	second := int64(math.Ceil(stretch * 1e6))
	ttl := (max(window, second)+999)/1000 + 1000 // ms: the key outlives its longest window, then goes
	mp := cfg.meter
	if mp == nil {
		mp = otel.GetMeterProvider()
	}
	down, err := mp.Meter(telemetry.Scope).Int64Counter("payments.limiter.unavailable", metric.WithUnit("{error}"),
		metric.WithDescription("Waits of the Redis-shared limiter that failed closed because Redis did not answer in time (timeout) or answered an error (error); nothing was sent."))
	if err != nil {
		otel.Handle(err)
	}
	return &Limiter{
		client:  client,
		key:     key,
		timeout: cfg.timeout,
		args:    []any{burst, window, perSec, second, ttl},
		turn:    make(chan struct{}, 1),
		down:    down,
	}, nil
}

// Wait blocks until the shared limit allows one more request, and returns
// nil at the moment the grant was recorded in Redis. It returns
// payments.ErrNilContext for a nil ctx, the context's error when ctx ends
// first, and an *UnavailableError (ErrUnavailable, payments.ErrUnavailable)
// when Redis does not answer within the timeout or answers with an error:
// fail closed, never a grant that Redis did not count.
func (l *Limiter) Wait(ctx context.Context) error {
	if ctx == nil {
		return payments.ErrNilContext
	}
	select {
	case l.turn <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-l.turn }()
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		wait, err := l.ask(ctx)
		if err != nil {
			return err
		}
		if wait <= 0 {
			return nil
		}
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		}
	}
}

type reply struct {
	wait int64
	err  error
}

// ask runs the script once: a grant (0) recorded at the server's now, or
// how long to wait before asking again. The timeout holds whatever the
// client's own settings (a client without ContextTimeoutEnabled ignores a
// context's deadline on the socket): the exchange runs in a goroutine that
// ends when the client gives up. A grant whose answer came too late is
// lost, never used: the limit only gets stricter.
func (l *Limiter) ask(ctx context.Context) (time.Duration, error) {
	actx, cancel := context.WithTimeout(ctx, l.timeout)
	defer cancel()
	done := make(chan reply, 1)
	go func() {
		n, err := limitScript.Run(actx, l.client, []string{l.key}, l.args...).Int64()
		done <- reply{n, err}
	}()
	var r reply
	select {
	case r = <-done:
	case <-actx.Done():
		r.err = actx.Err()
	}
	if r.err != nil {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		reason := "error"
		if errors.Is(r.err, context.DeadlineExceeded) {
			r.err = fmt.Errorf("no answer within %v: %w", l.timeout, context.DeadlineExceeded)
			reason = "timeout"
		}
		if l.down.Enabled(ctx) {
			l.down.Add(ctx, 1, metric.WithAttributes(telemetry.Reason.String(reason)))
		}
		return 0, &UnavailableError{Key: l.key, Err: r.err}
	}
	return time.Duration(r.wait) * time.Microsecond, nil
}
