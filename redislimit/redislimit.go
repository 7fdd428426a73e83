package redislimit

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"math"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
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

// WithMeterProvider counts the times Redis could not be consulted with mp
// instead of the global meter provider (which records nothing until the
// application sets one), both with the attribute payments.reason (timeout
// or error):
//
//   - payments.limiter.unavailable ({error}): a Wait that failed closed,
//     nothing was sent;
//   - payments.limiter.refusals.lost ({refusal}): a refusal (Refused) that
//     could not be passed on to Redis, so the shared rate was not lowered
//     for it.
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
	keys    []string // key and the slow-down's state key (stateKey)
	timeout time.Duration
	ceiling float64       // grants a second without a cut: perSecond/(1+margin)
	args    []any         // the scripts' arguments, fixed by New
	turn    chan struct{} // one asker per process at a time: the others wait here, cancellably
	down    metric.Int64Counter
	lost    metric.Int64Counter

	// Refused's coalescing: this process's own record, on its own clock.
	mu        sync.Mutex
	cutting   bool           // a cut exchange is in flight
	lastCut   time.Time      // when the last cut this process knows of was made (zero: none)
	bg        sync.WaitGroup // the cut exchanges in flight
	exchanges atomic.Int64   // cut exchanges started (tests read it)
}

var (
	_ payments.Limiter         = (*Limiter)(nil)
	_ payments.RefusalObserver = (*Limiter)(nil)
)

// The slow-down after a refusal, the same as payments.NewLimiter's: a
// refusal lowers the rate to cutFactor of what it was, at most once per
// cutCooldown; the rate then creeps back by creepPerSecond of its ceiling
// every second, never above the ceiling, never below
// ceiling/floorDivisor. stateSlack is how long the state outlives the
// return to the ceiling.
const (
	cutFactor      = 0.8
	cutCooldown    = time.Second
	creepPerSecond = 0.01
	floorDivisor   = 16
	stateSlack     = time.Second
)

var (
	//go:embed state.lua
	stateLua string
	//go:embed limit.lua
	limitLua string
	//go:embed cut.lua
	cutLua string
	//go:embed rate.lua
	rateLua string
)

// Each script is state.lua's prelude (the clock, the slow-down's factor)
// and its own body.
var (
	limitScript = redis.NewScript(stateLua + "\n" + limitLua)
	cutScript   = redis.NewScript(stateLua + "\n" + cutLua)
	rateScript  = redis.NewScript(stateLua + "\n" + rateLua)
)

// stateKey names the key of the slow-down's state beside key, so that in a
// Redis Cluster both fall in one slot: key+":cut" when key has a hash tag
// (its first "{...}" with something inside, which alone decides the slot);
// otherwise "{"+key+"}:cut", whose hash tag is the whole of key. A key
// that contains "}" but no hash tag gets key+":cut", in another slot: in a
// Cluster, give such a key a hash tag.
func stateKey(key string) string {
	if i := strings.IndexByte(key, '{'); i >= 0 {
		if j := strings.IndexByte(key[i+1:], '}'); j > 0 {
			return key + ":cut"
		}
	}
	if strings.Contains(key, "}") {
		return key + ":cut"
	}
	return "{" + key + "}:cut"
}

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
	meter := mp.Meter(telemetry.Scope)
	down, err := meter.Int64Counter("payments.limiter.unavailable", metric.WithUnit("{error}"),
		metric.WithDescription("Waits of the Redis-shared limiter that failed closed because Redis did not answer in time (timeout) or answered an error (error); nothing was sent."))
	if err != nil {
		otel.Handle(err)
	}
	lost, err := meter.Int64Counter("payments.limiter.refusals.lost", metric.WithUnit("{refusal}"),
		metric.WithDescription("Refusals the Redis-shared limiter could not pass on to Redis because it did not answer in time (timeout) or answered an error (error); the shared rate was not lowered for them."))
	if err != nil {
		otel.Handle(err)
	}
	return &Limiter{
		client:  client,
		key:     key,
		keys:    []string{key, stateKey(key)},
		timeout: cfg.timeout,
		ceiling: perSecond / stretch,
		args: []any{burst, window, perSec, second, ttl,
			cutFactor, cutCooldown.Microseconds(), creepPerSecond, 1.0 / floorDivisor, stateSlack.Milliseconds()},
		turn: make(chan struct{}, 1),
		down: down,
		lost: lost,
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
		n, err := limitScript.Run(actx, l.client, l.keys, l.args...).Int64()
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

// Refused tells every process sharing the key that the provider refused a
// request for the account's rate (see payments.RefusalObserver; the
// transport calls it): the shared rate drops to 80 % of what it is, at
// most once a second whichever process is refused, then creeps back by 1 %
// of the full rate a second, never below 1/16 of it, as
// payments.NewLimiter's does in one process. The cut and the creep are
// decided in Redis, on the server's clock, and every Wait on the key
// stretches its windows by the same factor.
//
// Refused never blocks: it starts the exchange with Redis in a goroutine
// of its own, under the limiter's timeout (WithTimeout; a client that
// ignores context deadlines, without ContextTimeoutEnabled, holds it up
// to its read timeout), and returns. A process has at most one such
// exchange in flight, and skips a refusal within a second of the last cut
// it knows of: Redis would not cut again. An exchange that fails is
// counted on payments.limiter.refusals.lost (WithMeterProvider) and
// otherwise dropped: the shared rate is then not lowered for it, and Wait
// still fails closed on its own when Redis is out of reach.
func (l *Limiter) Refused() {
	now := time.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.cutting || (!l.lastCut.IsZero() && now.Sub(l.lastCut) < cutCooldown) {
		return
	}
	l.cutting = true
	l.bg.Add(1)
	go func() {
		defer l.bg.Done()
		ctx, cancel := context.WithTimeout(context.Background(), l.timeout)
		defer cancel()
		_, since, err := l.cut(ctx)
		l.mu.Lock()
		l.cutting = false
		if err == nil {
			// The cut in force was made since before now (this call's
			// start): the local record never outlasts Redis's cooldown.
			l.lastCut = now.Add(-since)
		}
		l.mu.Unlock()
		if err != nil && l.lost.Enabled(context.Background()) {
			l.lost.Add(context.Background(), 1, metric.WithAttributes(telemetry.Reason.String(reason(err))))
		}
	}()
}

// cut runs the cut script once: whether it cut now, and how long ago the
// cut in force was made (0 for one made now).
func (l *Limiter) cut(ctx context.Context) (bool, time.Duration, error) {
	l.exchanges.Add(1)
	r, err := cutScript.Run(ctx, l.client, l.keys, l.args...).Int64Slice()
	if err != nil {
		return false, 0, err
	}
	if len(r) != 2 {
		return false, 0, fmt.Errorf("redislimit: the cut script answered %v", r)
	}
	return r[0] == 1, time.Duration(r[1]) * time.Microsecond, nil
}

// reason is the payments.reason of a failed exchange: timeout or error.
func reason(err error) string {
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
		return "timeout"
	}
	return "error"
}

// Rate returns the shared rate now, in grants a second, for an operator:
// the rate New was given less the margin (perSecond/(1+margin)), times the
// factor the refusals of every process sharing the key have left (see
// Refused), creep included, on the Redis server's clock. Without a recent
// refusal it is the full rate. It reads the slow-down's state in Redis (it
// writes only to mend a cut time the server's clock has gone back past),
// under the limiter's timeout; an error says Redis could not be read.
func (l *Limiter) Rate(ctx context.Context) (float64, error) {
	if ctx == nil {
		return 0, payments.ErrNilContext
	}
	actx, cancel := context.WithTimeout(ctx, l.timeout)
	defer cancel()
	s, err := rateScript.Run(actx, l.client, l.keys, l.args...).Text()
	if err != nil {
		return 0, fmt.Errorf("redislimit: read the shared rate of %q: %w", l.key, err)
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, fmt.Errorf("redislimit: read the shared rate of %q: the script answered %q", l.key, s)
	}
	return l.ceiling * f, nil
}
