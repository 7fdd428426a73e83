package payout

import (
	"errors"
	"fmt"

	"github.com/paysdk/payments"
)

// Policy is the one routing policy of the SDK, kept by the [Router] and by
// the payout ledger alike: which provider takes a payout, and when a payout
// moves on to the next one.
//
//   - A payout goes to the first client, in the merchant's order of
//     preference, whose Check passes (destination kind, currency, amount
//     range, the provider's own rules, Ref form): [Policy.Pick].
//   - It moves on to the next such client ([Policy.Next]) only under
//     [Policy.MoveOn]: the send proved the provider never got it
//     ([NeverReceived]) and no earlier send of the Ref to that provider
//     may have landed. A refusal of a resend proves nothing about the first
//     send; once a send's outcome is unknown the Ref stays with its
//     provider until that provider's status settles it.
//
// Where a Ref is bound is the caller's to keep durably: the Router keeps
// it in its [Bindings], the ledger in its records.
type Policy struct {
	clients []*Client
	byName  map[string]*Client
}

// NewPolicy routes over clients, the first preferred. A client over a
// *Router is taken apart into the router's clients, in its order, so that
// each provider keeps its own name, pace and binding. It refuses no
// client, a nil one, and two clients of one provider.
func NewPolicy(clients ...*Client) (*Policy, error) {
	p := &Policy{byName: map[string]*Client{}}
	for i, c := range clients {
		if c == nil {
			return nil, &payments.ValidationError{Field: fmt.Sprintf("clients[%d]", i), Reason: "nil"}
		}
		if r, ok := c.Driver().(*Router); ok {
			p.clients = append(p.clients, r.p.clients...)
			continue
		}
		p.clients = append(p.clients, c)
	}
	if len(p.clients) == 0 {
		return nil, &payments.ValidationError{Field: "clients", Reason: "at least one payout client is required"}
	}
	for i, c := range p.clients {
		name := c.Provider()
		if p.byName[name] != nil {
			return nil, &payments.ValidationError{Field: fmt.Sprintf("clients[%d]", i), Reason: "a second client of provider " + name + ": bindings name providers"}
		}
		p.byName[name] = c
	}
	return p, nil
}

// Clients returns the clients in order of preference.
func (p *Policy) Clients() []*Client { return append([]*Client(nil), p.clients...) }

// Client returns the client of provider, nil when the policy has none.
func (p *Policy) Client(provider string) *Client { return p.byName[provider] }

// Pick returns the first client that can take r. When none can, it returns
// the first client's refusal (a *payments.ValidationError).
func (p *Policy) Pick(r Request) (*Client, error) {
	var first error
	for _, c := range p.clients {
		err := c.Check(r)
		if err == nil {
			return c, nil
		}
		if first == nil {
			first = err
		}
	}
	return nil, first
}

// Next returns the first client after after (from the start when after is
// nil) that can take r; nil when none.
func (p *Policy) Next(after *Client, r Request) *Client { return Next(p.clients, after, r) }

// MoveOn is the failover rule (the package function [MoveOn]).
func (p *Policy) MoveOn(err error, earlierMayHaveLanded bool) bool {
	return MoveOn(err, earlierMayHaveLanded)
}

// Refusal is the finality rule: err is the provider's refusal of the
// payout itself (the package function [Refusal]).
func (p *Policy) Refusal(err error) bool { return Refusal(err) }

// Refusal reports whether err is the provider's refusal of the payout
// itself, so that no money moved and none will under this send: a decline,
// a duplicate with other details, an invalid request, insufficient funds.
// payments.ErrOutcomeUnknown is never a refusal, whatever it wraps.
func Refusal(err error) bool {
	if err == nil || errors.Is(err, payments.ErrOutcomeUnknown) {
		return false
	}
	for _, s := range []error{payments.ErrDeclined, payments.ErrDuplicate, payments.ErrInvalidRequest, payments.ErrInsufficientFunds} {
		if errors.Is(err, s) {
			return true
		}
	}
	return false
}

// MoveOn is the one failover rule, kept by the [Router] and by the payout
// ledger alike: a Ref moves from a provider to the next one only when err
// proves that provider never got this send ([NeverReceived]) and no earlier
// send of the Ref to that provider may have landed. A refusal of a resend
// proves nothing about the first send: once a send's outcome is unknown,
// the Ref stays with its provider until that provider's status settles it.
func MoveOn(err error, earlierMayHaveLanded bool) bool {
	return !earlierMayHaveLanded && NeverReceived(err)
}

// Next returns the first client of clients after after (from the start
// when after is nil) that can take r, in order of preference; nil when none.
func Next(clients []*Client, after *Client, r Request) *Client {
	passed := after == nil
	for _, c := range clients {
		if !passed {
			passed = c == after
			continue
		}
		if c.Check(r) == nil {
			return c
		}
	}
	return nil
}
