package ledger

import (
	"context"
	"time"

	"github.com/paysdk/payments/payout"
)

// RouterBindings keeps a payout.Router's bindings in the ledger's store, so
// that every process routing the same Refs shares them
// (router.WithBindings(ledger.RouterBindings(store))): a Ref that one
// process sent to a provider is sent there by every other, and moves on
// only when the send that bound it proved the provider never got it. They
// are kept apart from the ledger's own records (the ledger binds each
// payout it works in its record).
func RouterBindings(store Store) payout.Bindings { return storeBindings{store} }

type storeBindings struct{ s Store }

func (b storeBindings) Acquire(ctx context.Context, ref, provider string) (string, int, error) {
	return b.s.AcquireBinding(ctx, time.Now(), ref, provider)
}

func (b storeBindings) Move(ctx context.Context, ref, from, to string, sends int) (bool, error) {
	return b.s.MoveBinding(ctx, time.Now(), ref, from, to, sends)
}

func (b storeBindings) Lookup(ctx context.Context, ref string) (string, error) {
	return b.s.Binding(ctx, ref)
}
