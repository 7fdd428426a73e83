package paykeeper

import (
	"container/list"
	"context"
	"errors"
	"strconv"
	"sync"
	"time"
)

// ErrConfirmBudget is the cause of a notification refused with 503 (and
// Retry-After) because the NotificationHandler's confirmation budget
// (MaxConfirmations, ConfirmRate) is spent: nothing was asked of the API.
// PayKeeper takes any answer but the acknowledgement as "not received" and
// sends the notification again later.
var ErrConfirmBudget = errors.New("paykeeper: confirmation budget spent, notification refused for now")

// confirmBudget caps the API lookups that notifications can cause: at most
// running lookups at once, their starts at least spacing apart, and as many
// notifications again waiting for their turn; any further one is refused at
// once. It is the budget of royalpay.CallbackHandler (royalpay/confirm.go),
// written again here because the two packages do not import each other.
type confirmBudget struct {
	spacing time.Duration // between lookup starts
	now     func() time.Time
	sleep   func(ctx context.Context, d time.Duration) error
	turn    chan struct{} // a slot per lookup running at once
	maxHeld int           // lookups running or waiting for a turn

	mu   sync.Mutex
	held int       // lookups running or waiting for a turn
	next time.Time // earliest start of the next lookup
}

// budgetRefusal is a lookup refused by the budget: retry after wait.
type budgetRefusal struct{ wait time.Duration }

func (r *budgetRefusal) Error() string { return ErrConfirmBudget.Error() }
func (r *budgetRefusal) Unwrap() error { return ErrConfirmBudget }

// do runs read within the budget: it waits for a turn and for the spacing
// since the last start when fewer than maxHeld lookups are running or
// waiting, and returns a *budgetRefusal at once otherwise.
func (b *confirmBudget) do(ctx context.Context, read func(context.Context) (Payment, error)) (Payment, error) {
	b.mu.Lock()
	if b.held >= b.maxHeld {
		wait := time.Duration(b.held) * b.spacing
		b.mu.Unlock()
		if wait < time.Second {
			wait = time.Second
		}
		return Payment{}, &budgetRefusal{wait: wait}
	}
	b.held++
	b.mu.Unlock()
	defer func() {
		b.mu.Lock()
		b.held--
		b.mu.Unlock()
	}()
	select {
	case b.turn <- struct{}{}:
	case <-ctx.Done():
		return Payment{}, ctx.Err()
	}
	defer func() { <-b.turn }()
	b.mu.Lock()
	now := b.now()
	start := b.next
	if start.Before(now) {
		start = now
	}
	b.next = start.Add(b.spacing)
	b.mu.Unlock()
	if d := start.Sub(now); d > 0 {
		if err := b.sleep(ctx, d); err != nil {
			return Payment{}, err
		}
	}
	return read(ctx)
}

// confirmedCache remembers the notifications confirmed through the API and
// acknowledged, so that PayKeeper's re-sends of one (a lost reply, a
// /change/payment/repeatcnt/) are acknowledged without a lookup. It holds
// at most size entries, forgetting the oldest first.
//
// The key is every signed field (id, sum, clientid, orderid), each quoted
// so that none can run into the next, plus whether batch_date was set: a
// re-cut of a cached notification (payment 301 of 100.00 as payment 30 of
// 1100.00, same key) is another key, and is looked up.
type confirmedCache struct {
	size int

	mu    sync.Mutex
	byKey map[string]*list.Element
	order *list.List // of confirmedEntry, newest at the front
}

type confirmedEntry struct {
	key string
	p   Payment
}

func confirmedKey(n *Notification) string {
	// Each field quoted: no text of one field can pass for the end of
	// another, whatever bytes the form carried.
	return strconv.Quote(n.ID) + strconv.Quote(n.SumText) + strconv.Quote(n.ClientID) + strconv.Quote(n.OrderID) + strconv.FormatBool(n.Hold)
}

func (c *confirmedCache) get(n *Notification) (Payment, bool) {
	if c.size <= 0 {
		return Payment{}, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.byKey[confirmedKey(n)]
	if !ok {
		return Payment{}, false
	}
	return e.Value.(confirmedEntry).p, true
}

func (c *confirmedCache) put(n *Notification, p Payment) {
	if c.size <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.byKey == nil {
		c.byKey = map[string]*list.Element{}
		c.order = list.New()
	}
	k := confirmedKey(n)
	if e, ok := c.byKey[k]; ok {
		e.Value = confirmedEntry{key: k, p: p}
		c.order.MoveToFront(e)
		return
	}
	c.byKey[k] = c.order.PushFront(confirmedEntry{key: k, p: p})
	for c.order.Len() > c.size {
		old := c.order.Back()
		c.order.Remove(old)
		delete(c.byKey, old.Value.(confirmedEntry).key)
	}
}

func (c *confirmedCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.order == nil {
		return 0
	}
	return c.order.Len()
}

// notifyState is a NotificationHandler's budget and cache, made at its
// first notification (under notifyStatesMu: the handler is a plain struct
// the merchant fills in).
type notifyState struct {
	budget    *confirmBudget
	confirmed *confirmedCache
}

var notifyStatesMu sync.Mutex

// defaultConfirmedCache is the default ConfirmedCacheSize.
const defaultConfirmedCache = 4096

func (h *NotificationHandler) state() *notifyState {
	notifyStatesMu.Lock()
	defer notifyStatesMu.Unlock()
	if h.st == nil {
		running := h.MaxConfirmations
		if running <= 0 {
			running = 1
		}
		rate := h.ConfirmRate
		if rate <= 0 {
			rate = 1
		}
		size := h.ConfirmedCacheSize
		switch {
		case size == 0:
			size = defaultConfirmedCache
		case size < 0:
			size = 0
		}
		b := &confirmBudget{
			spacing: time.Duration(float64(time.Second) / rate),
			now:     h.now,
			sleep:   h.sleep,
			turn:    make(chan struct{}, running),
			maxHeld: 2 * running,
		}
		if b.now == nil {
			b.now = time.Now
		}
		if b.sleep == nil {
			b.sleep = sleepCtx
		}
		h.st = &notifyState{budget: b, confirmed: &confirmedCache{size: size}}
	}
	return h.st
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
