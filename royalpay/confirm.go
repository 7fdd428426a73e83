package royalpay

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// confirmState is a CallbackHandler's confirmation budget and its flights:
// the reads in progress, one per key of confirmWith.
type confirmState struct {
	spacing time.Duration // between confirmation starts
	now     func() time.Time
	sleep   func(ctx context.Context, d time.Duration) error
	turn    chan struct{} // a slot per confirmation running at once
	maxHeld int           // confirmations running or waiting for a turn

	mu      sync.Mutex
	flights map[string]*flight // by the key of confirmWith
	held    int                // confirmations running or waiting for a turn
	next    time.Time          // earliest start of the next confirmation
}

// flight is one read (GetPayment, or PayoutByOutterID for a payout
// callback) shared by the callbacks whose read is the same request.
type flight struct {
	started time.Time
	done    chan struct{} // closed when v, status and err are set
	v       any           // the Payment or Payout read
	status  string        // its status
	err     error
	joined  int // callbacks that waited for it (under confirmState.mu)
}

// statesMu guards CallbackHandler.st: a handler is a plain struct the
// merchant fills in, so its state is made at the first callback.
var statesMu sync.Mutex

func (h *CallbackHandler) state() *confirmState {
	statesMu.Lock()
	defer statesMu.Unlock()
	if h.st == nil {
		running := h.MaxConfirmations
		if running == 0 {
			running = 1
		}
		rate := h.ConfirmRate
		if rate == 0 {
			rate = 1
		}
		st := &confirmState{
			spacing: time.Duration(float64(time.Second) / rate),
			now:     h.now,
			sleep:   h.sleep,
			turn:    make(chan struct{}, running),
			maxHeld: 2 * running,
			flights: map[string]*flight{},
		}
		if st.now == nil {
			st.now = time.Now
		}
		if st.sleep == nil {
			st.sleep = sleepCtx
		}
		h.st = st
	}
	return h.st
}

// maxRounds bounds how often one callback looks for a usable confirmation
// (a shared answer that was stale, or ended by its first caller's context).
const maxRounds = 3

// confirm reads payment id for a callback that announced status claimed.
// It joins a read already running for id, or starts one within the budget:
// it waits for a turn when fewer than maxHeld confirmations are running or
// waiting, and is refused at once otherwise. A joined answer is used when
// its read began after this callback arrived, or when it shows the announced
// status; otherwise (it may predate the change the callback announces) the
// payment is read again.
func (st *confirmState) confirm(ctx context.Context, c *Client, id int64, claimed Status) (Payment, error) {
	v, err := st.confirmWith(ctx, paymentKey(id), string(claimed), func(ctx context.Context) (any, string, error) {
		p, err := c.GetPayment(ctx, id)
		return p, string(p.Status), err
	})
	if err != nil {
		return Payment{}, err
	}
	p, _ := v.(Payment)
	return p, nil
}

// paymentKey is the flight key of a pay-in callback: reads by payment id.
func paymentKey(id int64) string { return "payment " + strconv.FormatInt(id, 10) }

// confirmWith is confirm for any read: read returns the value and its
// status. key names what read reads (paymentKey, or a payout's outter_id):
// only callbacks whose read would be the same request may share a flight.
func (st *confirmState) confirmWith(ctx context.Context, key string, claimed string, read func(context.Context) (any, string, error)) (any, error) {
	arrived := st.now()
	for round := 0; round < maxRounds; round++ {
		st.mu.Lock()
		if f := st.flights[key]; f != nil {
			f.joined++
			st.mu.Unlock()
			select {
			case <-f.done:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
			fresh := !f.started.Before(arrived)
			switch {
			case f.err == nil && (fresh || f.status == claimed):
				return f.v, nil
			case f.err != nil && !errors.Is(f.err, context.Canceled) && !errors.Is(f.err, context.DeadlineExceeded):
				return nil, f.err
			}
			continue // stale, or ended by its first caller's context: read again
		}
		if st.held >= st.maxHeld {
			wait := time.Duration(st.held) * st.spacing
			st.mu.Unlock()
			return nil, st.refused(key, wait)
		}
		st.held++
		st.mu.Unlock()
		v, ran, err := st.run(ctx, key, read)
		st.mu.Lock()
		st.held--
		st.mu.Unlock()
		if ran || err != nil {
			return v, err
		}
		// Another callback of key started a read while this one waited:
		// join it.
	}
	return nil, st.refused(key, st.spacing)
}

// run waits for a turn and for the spacing since the last start, then
// reads key as a flight others can join. ran is false, with no
// error, when a flight for key began meanwhile: the caller joins it instead.
func (st *confirmState) run(ctx context.Context, key string, read func(context.Context) (any, string, error)) (v any, ran bool, err error) {
	select {
	case st.turn <- struct{}{}:
	case <-ctx.Done():
		return nil, false, ctx.Err()
	}
	defer func() { <-st.turn }()
	st.mu.Lock()
	now := st.now()
	start := st.next
	if start.Before(now) {
		start = now
	}
	st.next = start.Add(st.spacing)
	st.mu.Unlock()
	if d := start.Sub(now); d > 0 {
		if err := st.sleep(ctx, d); err != nil {
			return nil, false, err
		}
	}
	st.mu.Lock()
	if st.flights[key] != nil {
		st.mu.Unlock()
		return nil, false, nil
	}
	f := &flight{started: st.now(), done: make(chan struct{})}
	st.flights[key] = f
	st.mu.Unlock()

	f.v, f.status, f.err = read(ctx)

	st.mu.Lock()
	delete(st.flights, key)
	st.mu.Unlock()
	close(f.done)
	return f.v, true, f.err
}

func (st *confirmState) refused(key string, wait time.Duration) error {
	if wait < time.Second {
		wait = time.Second
	}
	return &CallbackError{Status: http.StatusServiceUnavailable, RetryAfter: wait,
		Err: fmt.Errorf("%s: %w", key, ErrConfirmBudget)}
}

// waiting reports how many callbacks joined the flight for key (tests).
func (st *confirmState) waiting(key string) int {
	st.mu.Lock()
	defer st.mu.Unlock()
	if f := st.flights[key]; f != nil {
		return f.joined
	}
	return 0
}

// sleepCtx waits d, or until ctx ends.
func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
