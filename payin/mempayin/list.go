package mempayin

import (
	"context"
	"fmt"
	"time"

	"github.com/paysdk/payments/payin"
)

// Payments is payin.Lister: every checkout the provider holds, as a
// payment (its ID the checkout's, the payment being the checkout), in one
// simulated request. The in-memory provider keeps no times, so every
// checkout belongs to every period: since and until are not looked at, and
// Created is zero. A read: always safe.
func (d *Driver) Payments(ctx context.Context, _, _ time.Time) ([]payin.Payment, error) {
	if err := d.request(ctx); err != nil {
		return nil, fmt.Errorf("%s payments: %w", d.caps.Provider, err)
	}
	cos := d.Checkouts()
	out := make([]payin.Payment, len(cos))
	for i, co := range cos {
		out[i] = payin.Payment{Provider: co.Provider, ID: co.ID, CheckoutID: co.ID, OrderRef: co.OrderRef,
			Amount: co.Amount, State: co.State}
	}
	return out, nil
}

var _ payin.Lister = (*Driver)(nil)
