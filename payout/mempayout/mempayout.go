// Package mempayout is an in-memory payout driver for merchants' tests, in
// the way of gocloud.dev's memblob: the portable [payout] API with the
// provider's state held in memory and its outcomes scripted by the test. It
// registers the "mem" scheme for [payout.Open]:
//
//	import _ "github.com/paysdk/payments/payout/mempayout"
//
//	c, err := payout.Open(ctx, "mem://")
//	var d *mempayout.Driver
//	c.As(&d)            // the driver, to script it
//	d.LoseNextAnswer()  // the next Send lands, its answer is lost
//
// Nothing leaves the process: no request is sent anywhere and no money
// moves. Each Open (and each [New]) is a fresh, empty provider.
//
// # The contract it keeps
//
// The driver passes the same conformance suite as the real drivers
// (payout/payouttest): a Ref is never paid twice (a Send of a Ref the
// provider holds answers the payout it holds, whatever it is), a lost answer
// is payments.ErrOutcomeUnknown, a Ref it does not hold is
// payments.ErrNotFound, and Capabilities().Dedupes is true.
//
// # Opening
//
// No credentials: a payments.OpenCredentials value is refused. The URL's
// parameters:
//
//	provider       the provider name in Capabilities and Payouts (default "mem"), to tell two mem clients apart behind a payout.Router
//	poll_interval  Wait's pause between status reads (default 1ms)
//	balance        the account's starting balance in roubles (default 10000000.00)
//	settle         instant (default): a payout succeeds when sent; manual: it stays pending until Complete or Fail
//
// Of the client options (payments.OpenClientOptions, or New's), the driver
// honours payments.WithLimiter, WithRateLimit and WithTestTiming (one token
// per simulated request) and WithRetry (how many attempts a Send makes when
// its answers are lost); the transport options have nothing to act on and
// are accepted and ignored.
//
// # Scripting outcomes
//
//   - [Driver.Refuse] and [Driver.RefuseNext]: the provider refuses a new
//     payout with a typed error.
//   - [Driver.LoseNextAnswer] and [Driver.LoseAnswers]: the payout is made
//     and the answer lost; Send returns payments.ErrOutcomeUnknown.
//   - [Driver.Complete], [Driver.Fail], [Driver.Settle]: a pending payout
//     becomes final later (with settle=manual or Options.Manual).
//   - [Driver.SetBalance]: what the account holds; a payout above it is
//     refused with payments.ErrInsufficientFunds.
//
// [Driver.Payouts], [Driver.Payout] and [Driver.Requests] show what the
// provider holds and how often it was asked.
package mempayout

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/internal/config"
	"github.com/paysdk/payments/internal/portable"
	"github.com/paysdk/payments/payout"
)

// Scheme is the URL scheme this package registers.
const Scheme = "mem"

// DefaultPollInterval is Wait's pause between status reads unless
// Options.Capabilities.PollInterval or poll_interval says otherwise.
const DefaultPollInterval = time.Millisecond

// DefaultStatusBatch is how many payouts one simulated status read asks about.
const DefaultStatusBatch = 100

// ErrClosed is the error of every call to a closed driver (the scripting and
// inspection methods keep working).
var ErrClosed = errors.New("mempayout: driver closed")

func init() { payout.Register(Scheme, open) }

// Options shape the in-memory provider. The zero value is a provider named
// "mem" that pays every kind in roubles from 1.00 to 1,000,000.00, holds
// 10,000,000.00 and settles each payout as it is sent.
type Options struct {
	// Capabilities are what the driver reports and the portable client
	// checks requests against. Zero fields take the defaults: Provider
	// "mem", every Kind, Limits {"RUB": 1.00 to 1,000,000.00}, StatusBatch
	// DefaultStatusBatch, PollInterval DefaultPollInterval, a RefForm in
	// words. Dedupes is always true: the provider never pays a Ref twice.
	Capabilities payout.Capabilities
	// Balance is the account's starting balance (default 10,000,000.00
	// RUB). Payouts in its currency are taken from it, and one above it is
	// refused with payments.ErrInsufficientFunds; payouts in other
	// currencies are not counted.
	Balance payments.Money
	// Manual keeps each accepted payout pending until the test calls
	// Complete, Fail or Settle; otherwise it succeeds when sent.
	Manual bool
}

// Driver is the in-memory payout provider and its driver. Make one with New
// or payout.Open(ctx, "mem://"); reach it under a *payout.Client with
// `var d *mempayout.Driver; c.As(&d)`. Safe for concurrent use.
type Driver struct {
	caps     payout.Capabilities
	lim      config.Limiter // nil: no limiter
	attempts int
	manual   bool

	mu         sync.Mutex
	balance    payments.Money
	payouts    map[string]*held
	seq        int
	refuse     map[string]error
	refuseNext []error
	loseCalls  int
	loseTries  int
	requests   int
	closed     bool
	changed    chan struct{} // closed and replaced on every state change
}

// held is one payout the provider holds.
type held struct {
	p   payout.Payout
	seq int
}

// New makes a fresh in-memory provider. opts are client options as for a
// real provider client: the limiter and retry ones are honoured (see the
// package doc); a zero payments.Option is refused with a
// *payments.ValidationError.
func New(o Options, opts ...payments.Option) (*Driver, error) {
	var s config.Settings
	for _, opt := range opts {
		if err := config.ApplyOption(opt, &s); err != nil {
			return nil, err
		}
	}
	caps := o.Capabilities
	if caps.Provider == "" {
		caps.Provider = Scheme
	}
	if len(caps.Kinds) == 0 {
		caps.Kinds = []payout.Kind{payout.Mobile, payout.Wallet, payout.Card, payout.SBP}
	}
	if caps.Limits == nil {
		caps.Limits = map[string]payout.Limit{"RUB": {Min: payments.MustMoney("1.00", "RUB"), Max: payments.MustMoney("1000000.00", "RUB")}}
	}
	if caps.StatusBatch < 1 {
		caps.StatusBatch = DefaultStatusBatch
	}
	if caps.PollInterval <= 0 {
		caps.PollInterval = DefaultPollInterval
	}
	if caps.RefForm == "" {
		caps.RefForm = refForm
	}
	caps.Dedupes = true
	bal := o.Balance
	if bal.Currency == "" && bal.IsZero() {
		bal = payments.MustMoney("10000000.00", "RUB")
	}
	if err := bal.Validate(); err != nil {
		return nil, err
	}
	d := &Driver{caps: caps, attempts: 4, manual: o.Manual, balance: bal,
		payouts: map[string]*held{}, refuse: map[string]error{}, changed: make(chan struct{})}
	if s.Limiter != nil {
		d.lim = s.Limiter
	}
	if s.Retry != nil {
		d.attempts = s.Retry.MaxAttempts
	}
	return d, nil
}

func open(_ context.Context, cfg *payments.OpenConfig) (payout.Driver, error) {
	p := cfg.Params("provider", "poll_interval", "balance", "settle")
	if cfg.Credentials != nil {
		p.Refuse("credentials", fmt.Sprintf("mem takes no credentials, not %T", cfg.Credentials))
	}
	var o Options
	o.Capabilities.Provider = p.String("provider")
	o.Capabilities.PollInterval = p.Duration("poll_interval", DefaultPollInterval, "1ms")
	if v := p.String("balance"); v != "" {
		var err error
		if o.Balance, err = payments.ParseMoney(v, "RUB"); err != nil {
			p.Refuse("balance", "an amount in roubles such as 5000.00")
		}
	}
	switch p.String("settle") {
	case "", "instant":
	case "manual":
		o.Manual = true
	default:
		p.Refuse("settle", "instant or manual")
	}
	if err := p.Err(); err != nil {
		return nil, err
	}
	return New(o, p.Options()...)
}

const refForm = "1 to 64 printable ASCII characters, no spaces"

// Capabilities are Options.Capabilities with the defaults filled in;
// Dedupes is true.
func (d *Driver) Capabilities() payout.Capabilities { return d.caps }

// CheckRef refuses a Ref with a space, a control or a non-ASCII character.
func (d *Driver) CheckRef(ref string) error {
	if ref == "" || len(ref) > 64 {
		return &payments.ValidationError{Field: "ref", Reason: "mem needs " + refForm}
	}
	for i := 0; i < len(ref); i++ {
		if ref[i] <= ' ' || ref[i] > '~' {
			return &payments.ValidationError{Field: "ref", Reason: "mem needs " + refForm}
		}
	}
	return nil
}

// request is one simulated request: a limiter token, then the count.
func (d *Driver) request(ctx context.Context) error {
	if d.lim != nil {
		if err := d.lim.Wait(ctx); err != nil {
			return err
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return ErrClosed
	}
	d.requests++
	return nil
}

// errLost is the cause of an outcome-unknown Send: the scripted lost answer.
var errLost = errors.New("the answer was lost (scripted with LoseAnswers or LoseNextAnswer)")

// Send pays r under r.Ref, or answers the payout the provider holds under
// r.Ref (whatever its amount, destination or state): SAFE to resend with the
// same Ref. There is no provider document: the in-memory provider keeps
// one payout per Ref by its own rule (the payouts are held in a map keyed
// by Ref), as the real providers do by theirs.
//
// A refusal scripted with Refuse or RefuseNext is a *payments.APIError
// matching the scripted error. One that proves the provider never took the
// payout (payout.NeverReceived: insufficient funds, rate limited...) leaves
// nothing under the Ref; any other (a decline) leaves a failed payout there,
// which a resend answers. A lost answer (LoseAnswers) is resent, as the
// real drivers resend what their provider dedupes, up to the retry policy's
// attempts; when every answer is lost Send returns a
// *payments.OutcomeUnknownError with the payout made.
func (d *Driver) Send(ctx context.Context, r payout.Request) (payout.Payout, error) {
	d.mu.Lock()
	loseAll := d.loseCalls > 0
	if loseAll {
		d.loseCalls--
	}
	d.mu.Unlock()
	unknown := payout.Payout{Ref: r.Ref, Provider: d.caps.Provider, Amount: r.Amount, To: r.To}
	for attempt := 1; ; attempt++ {
		if err := d.request(ctx); err != nil {
			if attempt == 1 {
				return unknown, fmt.Errorf("%s send: %w", d.caps.Provider, err)
			}
			unknown.Err = &payments.OutcomeUnknownError{Provider: d.caps.Provider, Op: "send", Ref: r.Ref, Err: err}
			return unknown, unknown.Err
		}
		p, lost := d.send(r, loseAll)
		if !lost {
			return p, p.Err
		}
		if loseAll || attempt >= d.attempts {
			unknown.Err = &payments.OutcomeUnknownError{Provider: d.caps.Provider, Op: "send", Ref: r.Ref, Err: errLost}
			return unknown, unknown.Err
		}
	}
}

// send is one attempt: it makes or finds the payout, then reports whether
// its answer is lost.
func (d *Driver) send(r payout.Request, loseAll bool) (payout.Payout, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	lost := loseAll
	if !lost && d.loseTries > 0 {
		d.loseTries--
		lost = true
	}
	if h, ok := d.payouts[r.Ref]; ok {
		return h.p, lost
	}
	p := payout.Payout{Ref: r.Ref, Provider: d.caps.Provider, Amount: r.Amount, To: r.To}
	refusal, ok := d.refuse[r.Ref]
	if !ok && len(d.refuseNext) > 0 {
		refusal, d.refuseNext = d.refuseNext[0], d.refuseNext[1:]
	}
	if refusal == nil && r.Amount.Currency == d.balance.Currency {
		if cmp, _ := r.Amount.Cmp(d.balance); cmp > 0 {
			refusal = payments.ErrInsufficientFunds
		}
	}
	if refusal != nil {
		p.State, p.Err = payments.StateFailed, refused(d.caps.Provider, refusal)
		p.Code, p.Message = "refused", refusal.Error()
		if payout.NeverReceived(p.Err) {
			return p, false // nothing held: the provider never took it
		}
		d.hold(p)
		return p, lost
	}
	p.State, p.Code, p.Message = payments.StatePending, "pending", "accepted"
	if r.Amount.Currency == d.balance.Currency {
		d.balance.Amount = d.balance.Amount.Sub(r.Amount.Amount)
	}
	if !d.manual {
		p.State, p.Code, p.Message = payments.StateSucceeded, "succeeded", "paid"
	}
	d.hold(p)
	return p, lost
}

// hold records p under its Ref. d.mu is held.
func (d *Driver) hold(p payout.Payout) {
	d.seq++
	d.payouts[p.Ref] = &held{p: p, seq: d.seq}
	d.notify()
}

// notify wakes Waits. d.mu is held.
func (d *Driver) notify() {
	close(d.changed)
	d.changed = make(chan struct{})
}

// refused makes the provider's refusal with err: an *payments.APIError kept
// as it is, or one whose category is err when err is a payments sentinel
// (or wraps one), else payments.ErrDeclined with err as its detail.
func refused(provider string, err error) error {
	var ae *payments.APIError
	if errors.As(err, &ae) {
		return err
	}
	e := &payments.APIError{Provider: provider, Op: "send", Code: "refused", Message: err.Error(), Category: payments.ErrDeclined, Detail: err}
	for _, s := range []error{payments.ErrUnauthorized, payments.ErrForbidden, payments.ErrRateLimited, payments.ErrInvalidRequest,
		payments.ErrNotFound, payments.ErrDuplicate, payments.ErrInsufficientFunds, payments.ErrDeclined, payments.ErrUnavailable} {
		if errors.Is(err, s) {
			e.Category = s
			if err == s {
				e.Detail = nil
			}
			break
		}
	}
	return e
}

// Get answers each query from memory in one simulated request per batch:
// a Ref the provider does not hold has State unknown and Err matching
// payments.ErrNotFound. A read: always safe.
func (d *Driver) Get(ctx context.Context, qs []payout.Query) ([]payout.Payout, error) {
	if err := d.request(ctx); err != nil {
		return nil, fmt.Errorf("%s get: %w", d.caps.Provider, err)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make([]payout.Payout, len(qs))
	for i, q := range qs {
		out[i] = d.get(q.Ref)
	}
	return out, nil
}

// get is the payout under ref, or a not-found one. d.mu is held.
func (d *Driver) get(ref string) payout.Payout {
	if h, ok := d.payouts[ref]; ok {
		return h.p
	}
	return payout.Payout{Ref: ref, Provider: d.caps.Provider, State: payments.StateUnknown, Code: "not_found",
		Message: "no payout under this ref",
		Err:     &payments.APIError{Provider: d.caps.Provider, Op: "status", Code: "not_found", Category: payments.ErrNotFound}}
}

// Wait reads the payout's status every poll interval (one simulated request
// each, and at once when the test moves a payout) until it is final, and
// returns it; a Ref the provider does not hold is payments.ErrNotFound.
// When ctx ends it returns the last payout read with ctx's error.
func (d *Driver) Wait(ctx context.Context, q payout.Query) (payout.Payout, error) {
	last := payout.Payout{Ref: q.Ref, Provider: d.caps.Provider}
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		d.mu.Lock()
		changed := d.changed
		d.mu.Unlock()
		if err := d.request(ctx); err != nil {
			return last, fmt.Errorf("%s wait: %w", d.caps.Provider, err)
		}
		d.mu.Lock()
		last = d.get(q.Ref)
		d.mu.Unlock()
		if last.State.Final() {
			return last, nil
		}
		if errors.Is(last.Err, payments.ErrNotFound) {
			return last, last.Err
		}
		t.Reset(d.caps.PollInterval)
		select {
		case <-ctx.Done():
			return last, fmt.Errorf("%s wait: %w", d.caps.Provider, ctx.Err())
		case <-changed:
		case <-t.C:
		}
	}
}

// Balance is what the account holds: Options.Balance less the payouts made
// in its currency (a failed one given back). One simulated request.
func (d *Driver) Balance(ctx context.Context) (payments.Money, error) {
	if err := d.request(ctx); err != nil {
		return payments.Money{}, fmt.Errorf("%s balance: %w", d.caps.Provider, err)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.balance, nil
}

// As fills a **Driver with d.
func (d *Driver) As(target any) bool { return portable.As(target, d) }

// Close makes every later call of the driver fail with ErrClosed. What the
// provider holds stays readable through Payouts and Payout.
func (d *Driver) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.closed = true
	return nil
}

// Refuse makes the provider refuse every new payout under ref with err (nil
// lifts it). The Send's error is a *payments.APIError that matches err and
// its category (err when it is a payments sentinel, else
// payments.ErrDeclined). A refusal payout.NeverReceived counts as not
// received (payments.ErrInsufficientFunds, ErrRateLimited...) leaves
// nothing under the Ref; any other leaves it failed. A Ref the provider
// already holds is answered with its payout, refusal or not.
func (d *Driver) Refuse(ref string, err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err == nil {
		delete(d.refuse, ref)
		return
	}
	d.refuse[ref] = err
}

// RefuseNext makes the provider refuse the next n new payouts with err, as
// Refuse does.
func (d *Driver) RefuseNext(n int, err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for ; n > 0 && err != nil; n-- {
		d.refuseNext = append(d.refuseNext, err)
	}
}

// LoseNextAnswer makes the next Send call lose every answer: the provider
// makes (or finds) the payout, and Send returns a
// *payments.OutcomeUnknownError. Each call adds one such Send.
func (d *Driver) LoseNextAnswer() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.loseCalls++
}

// LoseAnswers makes the provider carry out the next n send attempts and
// lose each answer (n <= 0 clears them). A Send resends a lost answer up to
// the retry policy's attempts (payments.WithRetry; 4 by default), so n at
// least that loses one whole Send, which returns a
// *payments.OutcomeUnknownError; fewer are swallowed by the resends.
func (d *Driver) LoseAnswers(n int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.loseTries = max(n, 0)
}

// Complete makes the pending payout under ref succeed. It returns an error
// matching payments.ErrNotFound when the provider holds no payout under ref,
// and one saying so when the payout is already final.
func (d *Driver) Complete(ref string) error {
	return d.move(ref, payments.StateSucceeded, nil)
}

// Fail makes the pending payout under ref fail with reason (a typed
// refusal, as Refuse makes; payments.ErrDeclined when nil), and gives its
// amount back to the balance. Errors as Complete's.
func (d *Driver) Fail(ref string, reason error) error {
	if reason == nil {
		reason = payments.ErrDeclined
	}
	return d.move(ref, payments.StateFailed, reason)
}

// Settle makes every pending payout succeed.
func (d *Driver) Settle() {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, h := range d.payouts {
		if h.p.State == payments.StatePending {
			h.p.State, h.p.Code, h.p.Message = payments.StateSucceeded, "succeeded", "paid"
		}
	}
	d.notify()
}

func (d *Driver) move(ref string, to payments.State, reason error) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	h, ok := d.payouts[ref]
	if !ok {
		return fmt.Errorf("%s: no payout under ref %q: %w", d.caps.Provider, ref, payments.ErrNotFound)
	}
	if h.p.State.Final() {
		return fmt.Errorf("%s: the payout under ref %q is already %v", d.caps.Provider, ref, h.p.State)
	}
	h.p.State = to
	if to == payments.StateSucceeded {
		h.p.Code, h.p.Message = "succeeded", "paid"
	} else {
		h.p.Err = refused(d.caps.Provider, reason)
		h.p.Code, h.p.Message = "failed", reason.Error()
		if h.p.Amount.Currency == d.balance.Currency {
			d.balance.Amount = d.balance.Amount.Add(h.p.Amount.Amount)
		}
	}
	d.notify()
	return nil
}

// SetBalance sets what the account holds.
func (d *Driver) SetBalance(m payments.Money) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.balance = m
}

// Payout is the payout the provider holds under ref, if any.
func (d *Driver) Payout(ref string) (payout.Payout, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	h, ok := d.payouts[ref]
	if !ok {
		return payout.Payout{}, false
	}
	return h.p, true
}

// Payouts is every payout the provider holds, in the order they were made.
func (d *Driver) Payouts() []payout.Payout {
	d.mu.Lock()
	defer d.mu.Unlock()
	hs := make([]*held, 0, len(d.payouts))
	for _, h := range d.payouts {
		hs = append(hs, h)
	}
	sort.Slice(hs, func(i, j int) bool { return hs[i].seq < hs[j].seq })
	out := make([]payout.Payout, len(hs))
	for i, h := range hs {
		out[i] = h.p
	}
	return out
}

// Requests is how many simulated requests the driver has served (each Send
// attempt, Get batch, Wait poll and Balance).
func (d *Driver) Requests() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.requests
}

// String names the provider.
func (d *Driver) String() string { return "mempayout.Driver{" + strconv.Quote(d.caps.Provider) + "}" }

// Format prints String for every verb (%#v included): the payouts it holds,
// card numbers among them, stay out of formatted output.
func (d *Driver) Format(f fmt.State, _ rune) { io.WriteString(f, d.String()) }
