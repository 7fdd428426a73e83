package mempayout_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/payout"
	"github.com/paysdk/payments/payout/mempayout"
)

// A payout whose answer is lost, resent under its Ref, and completed later:
// paid once.
func Example() {
	ctx := context.Background()
	c, _ := payout.Open(ctx, "mem://?settle=manual")
	defer c.Close()
	var d *mempayout.Driver
	c.As(&d)
	r := payout.Request{Ref: "order-1", Amount: payments.MustMoney("100.00", "RUB"),
		To: payout.Destination{Kind: payout.Mobile, Account: "79161234567"}}
	d.LoseNextAnswer() // the payout lands, its answer is lost
	_, err := c.Send(ctx, r)
	fmt.Println(errors.Is(err, payments.ErrOutcomeUnknown))
	p, _ := c.Send(ctx, r) // the same Ref: the payout the provider holds
	fmt.Println(p.State)
	d.Complete(r.Ref)
	p, _ = c.Wait(ctx, payout.Query{Ref: r.Ref})
	fmt.Println(p.State, len(d.Payouts()))
	// Output:
	// true
	// pending
	// succeeded 1
}
