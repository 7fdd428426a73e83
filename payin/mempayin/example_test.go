package mempayin_test

import (
	"context"
	"fmt"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/payin"
	"github.com/paysdk/payments/payin/mempayin"
)

// A checkout paid by the test's payer: the merchant's handler hears of it.
func Example() {
	ctx := context.Background()
	c, _ := payin.Open(ctx, "mem://")
	defer c.Close()
	var d *mempayin.Driver
	c.As(&d)
	_, _ = payin.NewHandler(func(_ context.Context, e payin.Event) error { // mounted at /notify/ in the merchant's mux
		fmt.Println("notified:", e.OrderRef, e.State, e.Amount)
		return nil
	}, c)
	co, _ := c.Create(ctx, payin.Request{OrderRef: "ORD-1", Amount: payments.MustMoney("1500.00", "RUB")})
	fmt.Println(co.State)
	if err := d.Pay(ctx, co.ID); err != nil {
		fmt.Println(err)
	}
	// Output:
	// pending
	// notified: ORD-1 succeeded 1500.00 RUB
}
