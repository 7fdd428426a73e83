package ledger

import (
	"context"
	"errors"
	"time"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/payout"
)

// RouterBindings keeps a payout.Router's bindings in the ledger's store, so
// that every process routing the same Refs shares them
// (router.WithBindings(ledger.RouterBindings(store)), or Ledger.Router): a
// Ref that one process sent to a provider is sent there by every other,
// and moves on only when the send that bound it proved the provider never
// got it.
//
// A Ref the ledger has a record of is bound where the record is, and never
// moves through the Router: the ledger's own sends may have landed there.
// So a Router made again after a restart settles every Ref the ledger or
// another Router bound at that provider, and nowhere else.
func RouterBindings(store Store) payout.Bindings { return storeBindings{store} }

type storeBindings struct{ s Store }

// record is the provider of ref's ledger record, "" when the ledger has none.
func (b storeBindings) record(ctx context.Context, ref string) (string, error) {
	rec, err := b.s.Get(ctx, ref)
	if errors.Is(err, payments.ErrNotFound) {
		return "", nil
	}
	return rec.Provider, err
}

func (b storeBindings) Acquire(ctx context.Context, ref, provider string) (string, int, error) {
	owned, err := b.record(ctx, ref)
	if err != nil {
		return "", 0, err
	}
	if owned != "" {
		bound, sends, err := b.s.AcquireBinding(ctx, time.Now(), ref, owned)
		return bound, max(sends, 2), err // the ledger's sends count too: never moved
	}
	return b.s.AcquireBinding(ctx, time.Now(), ref, provider)
}

func (b storeBindings) Move(ctx context.Context, ref, from, to string, sends int) (bool, error) {
	owned, err := b.record(ctx, ref)
	if err != nil || owned != "" {
		return false, err
	}
	return b.s.MoveBinding(ctx, time.Now(), ref, from, to, sends)
}

func (b storeBindings) Lookup(ctx context.Context, ref string) (string, error) {
	p, err := b.s.Binding(ctx, ref)
	if err != nil || p != "" {
		return p, err
	}
	return b.record(ctx, ref)
}
