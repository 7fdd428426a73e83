package payout

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/internal/keylock"
)

// NeverReceived reports whether err proves that the provider never got the
// payout, so that sending it to another provider cannot pay twice:
//   - a *payments.TransportError with nothing written;
//   - a refusal before processing: rate limited where the provider's
//     document says so (popolni's 503; an undocumented 429/503 to a write
//     comes back as ErrOutcomeUnknown instead), invalid request (our own
//     validation or the provider's), insufficient funds, unauthorized,
//     forbidden (an IP or schedule refusal).
//
// payments.ErrOutcomeUnknown is never "never received", whatever it wraps;
// nor is a decline, a duplicate, a context end or a server error.
func NeverReceived(err error) bool {
	if err == nil || errors.Is(err, payments.ErrOutcomeUnknown) {
		return false
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var te *payments.TransportError
	if errors.As(err, &te) {
		return !te.Written
	}
	for _, s := range []error{payments.ErrRateLimited, payments.ErrInvalidRequest, payments.ErrInsufficientFunds,
		payments.ErrUnauthorized, payments.ErrForbidden} {
		if errors.Is(err, s) {
			return true
		}
	}
	return false
}

// Router sends each payout through one of several clients, picked by
// capability (destination kind, currency, amount range, Ref form) in the
// merchant's order of preference. It implements [Driver], so NewClient(r)
// gives it the portable API.
//
// Failover never pays twice: the router moves on to the next client only
// when the error proves the provider never got the payout ([NeverReceived]).
// Any other outcome binds the Ref to that provider: a success, a refusal,
// and above all payments.ErrOutcomeUnknown. A Ref once bound is sent, got
// and waited for only at its provider, and only that provider's status can
// settle it. Concurrent Sends of one Ref are serialized.
//
// Bindings live in memory; a process that restarts rebinds with [Router.Bind]
// (the payout ledger does), and until then Get asks every client in order.
type Router struct {
	clients []*Client
	caps    Capabilities

	mu    sync.Mutex
	bound map[string]*Client
	locks keylock.Locks // one Send of a Ref at a time
}

// NewRouter routes over clients, the first preferred. It needs at least one.
func NewRouter(clients ...*Client) (*Router, error) {
	if len(clients) == 0 {
		return nil, &payments.ValidationError{Field: "clients", Reason: "a router needs at least one client"}
	}
	r := &Router{clients: clients, bound: map[string]*Client{}}
	names := make([]string, len(clients))
	r.caps = Capabilities{Limits: map[string]Limit{}, StatusBatch: 1, RefForm: "accepted by at least one provider", Dedupes: true}
	for i, c := range clients {
		if c == nil {
			return nil, &payments.ValidationError{Field: fmt.Sprintf("clients[%d]", i), Reason: "nil"}
		}
		cc := c.Capabilities()
		names[i] = cc.Provider
		r.caps.Dedupes = r.caps.Dedupes && cc.Dedupes
		if r.caps.PollInterval == 0 || (cc.PollInterval > 0 && cc.PollInterval < r.caps.PollInterval) {
			r.caps.PollInterval = cc.PollInterval
		}
		for _, k := range cc.Kinds {
			if !r.caps.Supports(k) {
				r.caps.Kinds = append(r.caps.Kinds, k)
			}
		}
		for cur := range cc.Limits {
			// No range here: each client's own limits pick who takes a payout.
			r.caps.Limits[cur] = Limit{}
		}
	}
	r.caps.Provider = "router(" + strings.Join(names, ",") + ")"
	return r, nil
}

// Capabilities is the union of the clients' kinds and currencies, with
// the shortest PollInterval among them.
func (r *Router) Capabilities() Capabilities { return r.caps }

// CheckRef accepts a Ref that at least one client can map.
func (r *Router) CheckRef(ref string) error {
	var first error
	for _, c := range r.clients {
		err := c.d.CheckRef(ref)
		if err == nil {
			return nil
		}
		if first == nil {
			first = err
		}
	}
	return first
}

// Bind records that ref belongs to the client of provider (as a ledger
// restores after a restart). It fails if no client has that name, or if ref
// is bound elsewhere already.
func (r *Router) Bind(ref, provider string) error {
	var c *Client
	for _, cl := range r.clients {
		if cl.Provider() == provider {
			c = cl
		}
	}
	if c == nil {
		return &payments.ValidationError{Field: "provider", Reason: "no client named " + provider}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if b, ok := r.bound[ref]; ok && b != c {
		return &payments.ValidationError{Field: "ref", Reason: "bound to " + b.Provider() + " already"}
	}
	r.bound[ref] = c
	return nil
}

// Provider returns the provider ref is bound to, if any.
func (r *Router) Provider(ref string) (string, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	c, ok := r.bound[ref]
	if !ok {
		return "", false
	}
	return c.Provider(), true
}

func (r *Router) boundTo(ref string) *Client {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.bound[ref]
}

func (r *Router) bind(ref string, c *Client) {
	r.mu.Lock()
	r.bound[ref] = c
	r.mu.Unlock()
}

// lock serializes the sends of one ref.
func (r *Router) lock(ref string) func() { return r.locks.Lock(ref) }

// Send pays req through the first client, in order of preference, that can
// take it, moving on only after an error that proves the provider never got
// it. A Ref bound to a provider is sent there again and nowhere else.
func (r *Router) Send(ctx context.Context, req Request) (Payout, error) {
	unlock := r.lock(req.Ref)
	defer unlock()
	if c := r.boundTo(req.Ref); c != nil {
		return c.Send(ctx, req)
	}
	var errs []error
	tried := 0
	for _, c := range r.clients {
		if c.Check(req) != nil {
			continue
		}
		tried++
		p, err := c.Send(ctx, req)
		if err != nil && NeverReceived(err) {
			errs = append(errs, err)
			continue
		}
		if err != nil && !errors.Is(err, payments.ErrOutcomeUnknown) &&
			(errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)) {
			// The caller gave up before anything was sent (a write that may
			// have left comes back as ErrOutcomeUnknown): nothing to bind,
			// and no point asking the next provider with a dead context.
			return p, err
		}
		r.bind(req.Ref, c)
		return p, err
	}
	if tried == 0 {
		reasons := make([]string, 0, len(r.clients))
		for _, c := range r.clients {
			reasons = append(reasons, c.Provider()+": "+c.Check(req).Error())
		}
		return Payout{}, &payments.ValidationError{Field: "request", Reason: "no provider can take it (" + strings.Join(reasons, "; ") + ")"}
	}
	return Payout{}, fmt.Errorf("payout: every provider refused %s before processing: %w", req.Ref, errors.Join(errs...))
}

// Get asks the bound provider of each ref; an unbound ref is asked of each
// client in order until one knows it (and is then bound to it).
func (r *Router) Get(ctx context.Context, qs []Query) ([]Payout, error) {
	out := make([]Payout, len(qs))
	for i, q := range qs {
		p, err := r.get(ctx, q)
		if err != nil && !errors.Is(err, payments.ErrNotFound) {
			return nil, err
		}
		out[i] = p
	}
	return out, nil
}

func (r *Router) get(ctx context.Context, q Query) (Payout, error) {
	ref := q.Ref
	if c := r.boundTo(ref); c != nil {
		return one(c.GetMany(ctx, []Query{q}))
	}
	// Unbound (a restarted process): ask every client. A provider can know
	// the ref as a refusal that never moved money (popolni's 101, then a
	// failover), so a live payout elsewhere wins over a refusal, and only a
	// live payout binds.
	var refusal *Payout
	for _, c := range r.clients {
		if c.d.CheckRef(ref) != nil {
			continue
		}
		p, err := one(c.GetMany(ctx, []Query{q}))
		if errors.Is(err, payments.ErrNotFound) {
			continue
		}
		if err != nil {
			return p, err
		}
		if p.State == payments.StateFailed && NeverReceived(p.Err) {
			if refusal == nil {
				refusal = &p
			}
			continue
		}
		r.bind(ref, c)
		return p, nil
	}
	if refusal != nil {
		return *refusal, nil
	}
	err := &payments.APIError{Provider: r.caps.Provider, Op: "get", Code: "not-found",
		Message: "no provider knows " + ref, Category: payments.ErrNotFound}
	return Payout{Ref: ref, Provider: r.caps.Provider, Err: err}, err
}

// Wait waits at the provider q.Ref is bound to (found with Get when unbound).
func (r *Router) Wait(ctx context.Context, q Query) (Payout, error) {
	c := r.boundTo(q.Ref)
	if c == nil {
		p, err := r.get(ctx, q)
		if err != nil {
			return p, err
		}
		if c = r.boundTo(q.Ref); c == nil {
			return p, nil // known only as a refusal: final
		}
	}
	return c.Wait(ctx, q)
}

// Balance is not one number over several accounts: ErrNotSupported. Ask
// each client (Clients).
func (r *Router) Balance(context.Context) (payments.Money, error) {
	return payments.Money{}, fmt.Errorf("payout: a router's balance: %w", payments.ErrNotSupported)
}

// Clients returns the router's clients in order of preference.
func (r *Router) Clients() []*Client { return append([]*Client(nil), r.clients...) }

// As tries target on each client in order.
func (r *Router) As(target any) bool {
	for _, c := range r.clients {
		if c.As(target) {
			return true
		}
	}
	return false
}

// Close closes every client.
func (r *Router) Close() error {
	var errs []error
	for _, c := range r.clients {
		errs = append(errs, c.Close())
	}
	return errors.Join(errs...)
}

// String names the providers.
func (r *Router) String() string { return "payout.Router{" + r.caps.Provider + "}" }

// Format prints String for every verb.
func (r *Router) Format(f fmt.State, _ rune) { io.WriteString(f, r.String()) }

// one is Client.Get's reading of a one-query GetMany.
func one(ps []Payout, err error) (Payout, error) {
	if err != nil {
		return Payout{}, err
	}
	if ps[0].State == payments.StateUnknown && errors.Is(ps[0].Err, payments.ErrNotFound) {
		return ps[0], ps[0].Err
	}
	return ps[0], nil
}
