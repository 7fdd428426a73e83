package payout

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

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
// Failover never pays twice. Each Ref is bound to a provider before its
// first send (in the router's [Bindings]) and every send under the binding
// is counted. The router moves a Ref to the next client only under
// [MoveOn]: when the send that bound it proved the provider never got it
// ([NeverReceived]). Any other outcome keeps the binding: a success, a
// refusal, and above all payments.ErrOutcomeUnknown; and so does any
// resend, whatever its answer, since a refusal of a resend says nothing of
// the first send. A bound Ref is sent, got and waited for only at its
// provider, and only that provider's status can settle it. Concurrent Sends
// of one Ref in one process are serialized.
//
// The bindings are in this process's memory unless [Router.WithBindings]
// shares them: a Router without shared bindings serves ONE process only.
// Two processes routing the same Refs with their own memory can pay one
// Ref twice (the first loses its answer at one provider, the second is
// refused there and pays at the next). Share them through the payout
// ledger's store (ledger.RouterBindings), or let the ledger route: it binds
// every Ref durably itself.
type Router struct {
	p     *Policy
	caps  Capabilities
	b     Bindings
	locks *keylock.Locks // one Send of a Ref at a time
}

// NewRouter routes over clients, the first preferred, with bindings in
// memory (see WithBindings). It needs at least one client, and no two of
// one provider.
func NewRouter(clients ...*Client) (*Router, error) {
	if len(clients) == 0 {
		return nil, &payments.ValidationError{Field: "clients", Reason: "a router needs at least one client"}
	}
	p, err := NewPolicy(clients...)
	if err != nil {
		return nil, err
	}
	r := &Router{p: p, b: NewMemoryBindings(), locks: &keylock.Locks{}}
	names := make([]string, len(p.clients))
	r.caps = Capabilities{Limits: map[string]Limit{}, StatusBatch: 1, RefForm: "accepted by at least one provider", Dedupes: true}
	for i, c := range p.clients {
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

// WithBindings returns a router over the same clients that keeps its
// bindings in b: give every process that routes the same Refs the same b
// (ledger.RouterBindings(store) on the ledger's store). Nil b is refused.
func (r *Router) WithBindings(b Bindings) (*Router, error) {
	if b == nil {
		return nil, &payments.ValidationError{Field: "bindings", Reason: "required"}
	}
	c := *r
	c.b = b
	c.locks = &keylock.Locks{}
	return &c, nil
}

// Capabilities is the union of the clients' kinds and currencies, with
// the shortest PollInterval among them.
func (r *Router) Capabilities() Capabilities { return r.caps }

// CheckRef accepts a Ref that at least one client can map.
func (r *Router) CheckRef(ref string) error {
	var first error
	for _, c := range r.p.clients {
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

func (r *Router) client(provider string) *Client { return r.p.Client(provider) }

// Policy is the routing policy the router keeps.
func (r *Router) Policy() *Policy { return r.p }

// Bind records that ref belongs to the client of provider (as after a
// restart, from what a store says), counted as a send: a Ref bound this way
// never moves on. It fails if no client has that name, or if ref is bound
// elsewhere already.
func (r *Router) Bind(ref, provider string) error {
	if r.client(provider) == nil {
		return &payments.ValidationError{Field: "provider", Reason: "no client named " + provider}
	}
	b, _, err := r.b.Acquire(context.Background(), ref, provider)
	if err != nil {
		return fmt.Errorf("payout: router bindings: %w", err)
	}
	if b != provider {
		return &payments.ValidationError{Field: "ref", Reason: "bound to " + b + " already"}
	}
	return nil
}

// Provider returns the provider ref is bound to, if any.
func (r *Router) Provider(ref string) (string, bool) {
	b, err := r.b.Lookup(context.Background(), ref)
	if err != nil || b == "" {
		return "", false
	}
	return b, true
}

// boundTo is the client ref is bound to: nil when unbound; an error when the
// bindings cannot be read or name a provider this router lacks.
func (r *Router) boundTo(ctx context.Context, ref string) (*Client, error) {
	b, err := r.b.Lookup(ctx, ref)
	if err != nil {
		return nil, fmt.Errorf("payout: router bindings: %w", err)
	}
	if b == "" {
		return nil, nil
	}
	c := r.client(b)
	if c == nil {
		return nil, fmt.Errorf("payout: %s is bound to %s, which this router has no client of: %w", ref, b, payments.ErrNotSupported)
	}
	return c, nil
}

// Send pays req through the first client, in order of preference, that can
// take it, binding the Ref to it before the send. It moves on to the next
// client only under MoveOn: the send that bound the Ref proved the provider
// never got it. A Ref bound to a provider is sent there again and nowhere
// else, whatever the answer.
func (r *Router) Send(ctx context.Context, req Request) (Payout, error) {
	unlock := r.locks.Lock(req.Ref)
	defer unlock()
	c, _ := r.p.Pick(req)
	if c == nil {
		reasons := make([]string, 0, len(r.p.clients))
		for _, c := range r.p.clients {
			reasons = append(reasons, c.Provider()+": "+c.Check(req).Error())
		}
		return Payout{}, &payments.ValidationError{Field: "request", Reason: "no provider can take it (" + strings.Join(reasons, "; ") + ")"}
	}
	var errs []error
	for c != nil {
		bound, sends, err := r.b.Acquire(ctx, req.Ref, c.Provider())
		if err != nil {
			return Payout{}, fmt.Errorf("payout: router bindings, nothing sent: %w", err)
		}
		if bound != c.Provider() {
			// Bound before (by this process or another): there and only there.
			bc := r.client(bound)
			if bc == nil {
				return Payout{}, fmt.Errorf("payout: %s is bound to %s, which this router has no client of: %w", req.Ref, bound, payments.ErrNotSupported)
			}
			return bc.Send(ctx, req)
		}
		p, err := c.Send(ctx, req)
		notSent := err != nil && !errors.Is(err, payments.ErrOutcomeUnknown) &&
			(errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded))
		if !notSent && !r.p.MoveOn(err, sends > 1) {
			return p, err
		}
		next := r.p.Next(c, req)
		if notSent {
			// The caller gave up before anything was sent (a write that may
			// have left comes back as ErrOutcomeUnknown): unbind when this
			// send bound it, and stop. An earlier send under the binding
			// may have landed: then the binding stays.
			if sends > 1 {
				return p, err
			}
			next = nil
		}
		to := ""
		if next != nil {
			to = next.Provider()
		}
		moved, merr := r.b.Move(ctx, req.Ref, c.Provider(), to, sends)
		if merr != nil || !moved {
			// Another send under the binding started meanwhile (another
			// process): the Ref stays where it is.
			return p, err
		}
		if notSent {
			return p, err
		}
		errs = append(errs, err)
		c = next
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
	c, err := r.boundTo(ctx, ref)
	if err != nil {
		return Payout{}, err
	}
	if c != nil {
		return one(c.GetMany(ctx, []Query{q}))
	}
	// Unbound (a restarted process): ask every client. A provider can know
	// the ref as a refusal that never moved money (popolni's 101, then a
	// failover), so a live payout elsewhere wins over a refusal, and only a
	// live payout binds.
	var refusal *Payout
	for _, c := range r.p.clients {
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
		if b, _, err := r.b.Acquire(ctx, ref, c.Provider()); err == nil && b != c.Provider() {
			// Bound elsewhere meanwhile: that provider's word counts.
			if bc := r.client(b); bc != nil {
				return one(bc.GetMany(ctx, []Query{q}))
			}
		}
		return p, nil
	}
	if refusal != nil {
		return *refusal, nil
	}
	nf := &payments.APIError{Provider: r.caps.Provider, Op: "get", Code: "not-found",
		Message: "no provider knows " + ref, Category: payments.ErrNotFound}
	return Payout{Ref: ref, Provider: r.caps.Provider, Err: nf}, nf
}

// Wait waits at the provider q.Ref is bound to (found with Get when unbound).
func (r *Router) Wait(ctx context.Context, q Query) (Payout, error) {
	c, err := r.boundTo(ctx, q.Ref)
	if err != nil {
		return Payout{}, err
	}
	if c == nil {
		p, err := r.get(ctx, q)
		if err != nil {
			return p, err
		}
		if c, err = r.boundTo(ctx, q.Ref); err != nil || c == nil {
			return p, err // known only as a refusal: final
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
func (r *Router) Clients() []*Client { return r.p.Clients() }

// As tries target on each client in order.
func (r *Router) As(target any) bool {
	for _, c := range r.p.clients {
		if c.As(target) {
			return true
		}
	}
	return false
}

// Close closes every client.
func (r *Router) Close() error {
	var errs []error
	for _, c := range r.p.clients {
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
