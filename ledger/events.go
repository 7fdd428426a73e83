package ledger

import (
	"context"
	"time"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/internal/keylock"
	"github.com/paysdk/payments/payin"
)

// Notifications makes a payin.Handle (for payin.NewHandler) that records
// each confirmed pay-in event in store before anything else, so that:
//
//   - a repeated notification (PayKeeper repeats until it is acknowledged;
//     RoyalPay may repeat a callback) produces one Event in the store;
//   - the provider is acknowledged only after the Event is durable: a
//     store that does not answer makes the handle fail, payin.NewHandler
//     answers the provider with an error, and the provider delivers again;
//   - next (may be nil) is called for an Event until it returns nil once,
//     then never again for that Event: a repeat of a handled Event is
//     acknowledged without calling it. A next that fails leaves the Event
//     unhandled, and the provider's next delivery calls it again.
//
// Concurrent deliveries of one Event in this process are serialized, so
// next is not called twice at once for it. The events are listed with
// store.Events.
func Notifications(store Store, next payin.Handle) payin.Handle {
	var locks keylock.Locks
	return func(ctx context.Context, e payin.Event) error {
		if ctx == nil {
			return payments.ErrNilContext
		}
		ev := Event{Provider: e.Provider, ProviderID: e.ProviderID, State: e.State, OrderRef: e.OrderRef,
			CheckoutID: e.CheckoutID, Amount: e.Amount}
		unlock := locks.Lock(ev.Provider + "\x00" + ev.ProviderID + "\x00" + ev.State.String())
		defer unlock()
		stored, _, err := store.AddEvent(ctx, time.Now().Truncate(time.Microsecond), ev)
		if err != nil {
			return err
		}
		if stored.Handled() {
			return nil
		}
		if next != nil {
			if err := next(ctx, e); err != nil {
				return err
			}
		}
		return store.HandleEvent(ctx, time.Now().Truncate(time.Microsecond), ev)
	}
}
