package payout

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/internal/portable"
	"github.com/paysdk/payments/internal/registry"
)

var drivers = registry.New[Driver]("payout")

// Register makes scheme open with opener. Driver packages call it in init;
// it panics if scheme is taken.
func Register(scheme string, opener func(ctx context.Context, cfg *payments.OpenConfig) (Driver, error)) {
	drivers.Register(scheme, opener)
}

// Schemes lists the registered schemes.
func Schemes() []string { return drivers.Schemes() }

// Open opens the payout provider named by rawURL's scheme ("popolni://",
// "qiwitopup://"; see each driver package for its parameters and
// environment variables). Credentials come from the driver's documented
// environment variables or from payments.OpenCredentials, never from the URL.
// An unknown scheme is a *payments.ValidationError naming the registered
// ones; a missing credential names its variable. Open sends nothing.
func Open(ctx context.Context, rawURL string, opts ...payments.OpenOption) (*Client, error) {
	d, err := drivers.Open(ctx, rawURL, opts...)
	if err != nil {
		return nil, err
	}
	return NewClient(d), nil
}

// Client is the portable payout client over one driver. It checks every
// input before the driver sees it. Safe for concurrent use.
type Client struct {
	d    Driver
	caps Capabilities
}

// New wraps a driver (usually made by a driver package's New for an
// existing provider client; Open makes one by configuration). A nil driver,
// or a nil pointer of a driver type, is refused with a
// *payments.ValidationError. Nothing is sent.
func New(d Driver) (*Client, error) {
	if err := registry.CheckDriver(d); err != nil {
		return nil, err
	}
	return &Client{d: d, caps: d.Capabilities()}, nil
}

// NewClient is New for a driver known to be there: it panics at once, with
// a message saying so, on a nil driver, instead of on the first call.
func NewClient(d Driver) *Client {
	c, err := New(d)
	return portable.Must(c, err, "payout.NewClient")
}

// Provider names the provider.
func (c *Client) Provider() string { return c.caps.Provider }

// Capabilities describes what the provider can pay.
func (c *Client) Capabilities() Capabilities { return c.caps }

// Check refuses, before anything is sent, a request this provider cannot
// take, with a *payments.ValidationError: a bad or unmappable Ref, a
// destination kind or currency it does not pay, an amount out of range.
func (c *Client) Check(r Request) error {
	if err := checkRef(r.Ref); err != nil {
		return err
	}
	if err := c.caps.Check(r); err != nil {
		return err
	}
	if err := c.d.CheckRef(r.Ref); err != nil {
		return err
	}
	if rc, ok := c.d.(RequestChecker); ok {
		return rc.CheckRequest(r)
	}
	return nil
}

// RequestChecker is an optional Driver method: a check of the whole request
// by the provider's own rules beyond Capabilities (the phone number forms a
// provider takes for each destination kind). Client.Check calls it after
// Capabilities().Check and CheckRef; it returns a *payments.ValidationError
// and sends nothing.
type RequestChecker interface {
	CheckRequest(r Request) error
}

func checkRef(ref string) error {
	if ref == "" {
		return &payments.ValidationError{Field: "ref", Reason: "required: the merchant's reference is the idempotency key"}
	}
	if len(ref) > 64 {
		return &payments.ValidationError{Field: "ref", Reason: "longer than 64 characters"}
	}
	return nil
}

// Send pays r under r.Ref, or returns the payout the provider already has
// under r.Ref: sending the same Ref again never pays twice. A nil error
// means the provider accepted the payout (State pending or succeeded);
// a refusal is a typed error with the Payout's State failed.
//
// On payments.ErrOutcomeUnknown the provider may have the payout: settle it
// with Get, Wait or another Send of the same Ref, never under a new Ref.
func (c *Client) Send(ctx context.Context, r Request) (Payout, error) {
	if ctx == nil {
		return Payout{}, payments.ErrNilContext
	}
	if err := c.Check(r); err != nil {
		return Payout{}, err
	}
	if err := portable.CheckContext(ctx, c.caps.Provider, "send"); err != nil {
		return Payout{}, err
	}
	return c.d.Send(ctx, r)
}

// Get returns the payout the provider knows by ref; payments.ErrNotFound
// when it knows none. A read: always safe to repeat.
func (c *Client) Get(ctx context.Context, ref string) (Payout, error) {
	return one(c.GetMany(ctx, []Query{{Ref: ref}}))
}

// GetMany returns one Payout per query, in order, asking the provider in
// batches of Capabilities().StatusBatch (one request per batch). A ref the
// provider does not know has State StateUnknown and Err matching
// payments.ErrNotFound. A read: always safe to repeat.
func (c *Client) GetMany(ctx context.Context, refs []Query) ([]Payout, error) {
	if ctx == nil {
		return nil, payments.ErrNilContext
	}
	if len(refs) == 0 {
		return nil, &payments.ValidationError{Field: "refs", Reason: "at least one is required"}
	}
	for i, q := range refs {
		if err := checkRef(q.Ref); err != nil {
			return nil, &payments.ValidationError{Field: fmt.Sprintf("refs[%d]", i), Reason: err.(*payments.ValidationError).Reason}
		}
		if err := c.d.CheckRef(q.Ref); err != nil {
			return nil, err
		}
		if q.To.Kind != "" {
			if err := q.To.Validate(); err != nil {
				return nil, err
			}
		}
	}
	if err := portable.CheckContext(ctx, c.caps.Provider, "get"); err != nil {
		return nil, err
	}
	batch := max(c.caps.StatusBatch, 1)
	out := make([]Payout, 0, len(refs))
	for start := 0; start < len(refs); start += batch {
		part := refs[start:min(start+batch, len(refs))]
		ps, err := c.d.Get(ctx, part)
		if err != nil {
			return nil, err
		}
		if len(ps) != len(part) {
			return nil, fmt.Errorf("payout: driver %s answered %d payouts for %d refs", c.caps.Provider, len(ps), len(part))
		}
		out = append(out, ps...)
	}
	return out, nil
}

// Wait asks the provider for the payout q.Ref at once and then every
// Capabilities().PollInterval (popolni: 10 s; QIWI: the document's 10
// minutes) until it is final, and returns it: a failure is a final payout
// too (State failed, Err the refusal) with a nil error. Give q.To when you
// have it: QIWI's status request names the account. Reads only: always safe
// to repeat.
//
// The rules, the same for every driver unless it implements [Waiter]:
//   - a Ref the provider does not know is asked again after the interval
//     (a payout being registered may not show yet); not found twice in a
//     row is returned as payments.ErrNotFound (a Send of the same Ref stays
//     the safe next step);
//   - a failed status request never ends Wait: it is asked again at the
//     next poll;
//   - a payout whose Err is payments.ErrOutcomeUnknown (a final status the
//     provider's document does not define) is returned with that error;
//   - when ctx ends, Wait returns the last payout seen with ctx's error,
//     wrapped "<provider> wait" (and the last failed request, if any).
//
// A driver that can do better (popolni's Batcher shares polls between
// Waits) implements [Waiter], and Wait calls it after the checks.
func (c *Client) Wait(ctx context.Context, q Query) (Payout, error) {
	if ctx == nil {
		return Payout{}, payments.ErrNilContext
	}
	if err := checkRef(q.Ref); err != nil {
		return Payout{}, err
	}
	if err := c.d.CheckRef(q.Ref); err != nil {
		return Payout{}, err
	}
	if q.To.Kind != "" {
		if err := q.To.Validate(); err != nil {
			return Payout{}, err
		}
	}
	if w, ok := c.d.(Waiter); ok {
		return w.Wait(ctx, q)
	}
	return c.poll(ctx, q)
}

// Waiter is an optional Driver method: a Wait better than [Client.Wait]'s
// loop over Get (popolni's polls shared between concurrent Waits). It keeps
// Client.Wait's contract, and Client.Wait calls it after checking q.
type Waiter interface {
	Wait(ctx context.Context, q Query) (Payout, error)
}

// DefaultPollInterval is Wait's pause for a driver whose Capabilities give
// no PollInterval.
const DefaultPollInterval = 10 * time.Second

// poll is Wait over Get (see Wait for its rules).
func (c *Client) poll(ctx context.Context, q Query) (Payout, error) {
	pause := c.caps.PollInterval
	if pause <= 0 {
		pause = DefaultPollInterval
	}
	last := Payout{Ref: q.Ref, Provider: c.caps.Provider}
	var lastErr error
	missing := 0
	for asked := false; ; asked = true {
		if asked {
			t := time.NewTimer(pause)
			select {
			case <-ctx.Done():
				t.Stop()
				return last, c.waitErr(ctx, lastErr)
			case <-t.C:
			}
		}
		ps, err := c.d.Get(ctx, []Query{q})
		if err == nil && len(ps) != 1 {
			err = fmt.Errorf("payout: driver %s answered %d payouts for 1 ref", c.caps.Provider, len(ps))
		}
		if err != nil {
			if ctx.Err() != nil {
				return last, c.waitErr(ctx, lastErr)
			}
			lastErr = err
			continue
		}
		p := ps[0]
		if p.State == payments.StateUnknown && errors.Is(p.Err, payments.ErrNotFound) {
			if missing++; missing >= 2 {
				return p, p.Err
			}
			continue
		}
		missing, last, lastErr = 0, p, nil
		switch {
		case p.State.Final():
			return p, nil
		case errors.Is(p.Err, payments.ErrOutcomeUnknown):
			return p, p.Err
		}
	}
}

// waitErr is the error of a Wait whose context ended.
func (c *Client) waitErr(ctx context.Context, last error) error {
	err := fmt.Errorf("%s wait: %w", c.caps.Provider, ctx.Err())
	if cause := context.Cause(ctx); cause != nil && !errors.Is(ctx.Err(), cause) {
		err = fmt.Errorf("%s wait: %w: %w", c.caps.Provider, ctx.Err(), cause)
	}
	if last != nil {
		err = fmt.Errorf("%w (last status request: %v)", err, last)
	}
	return err
}

// Balance is what the merchant's account at the provider holds.
func (c *Client) Balance(ctx context.Context) (payments.Money, error) {
	if ctx == nil {
		return payments.Money{}, payments.ErrNilContext
	}
	return c.d.Balance(ctx)
}

// As sets target to the provider's own value, for what the portable API does
// not cover: `var pc *popolni.Client; c.As(&pc)`. It reports whether it could.
func (c *Client) As(target any) bool { return c.d.As(target) }

// Driver returns the driver under c.
func (c *Client) Driver() Driver { return c.d }

// Close releases the provider client's connections.
func (c *Client) Close() error { return c.d.Close() }

// String names the provider; a Client never prints credentials.
func (c *Client) String() string { return "payout.Client{" + c.caps.Provider + "}" }

// Format prints String for every verb.
func (c *Client) Format(f fmt.State, _ rune) { io.WriteString(f, c.String()) }
