package paykeeperpayin_test

// The portable layer's cost over PayKeeper: a checkout through
// payin.Client.Create next to paykeeper.Client.CreateInvoice, each on a
// fresh fake, in the same run (the README reports the ratios):
//
//	go test -run '^$' -bench . -benchmem ./payin/paykeeperpayin/

import (
	"context"
	"testing"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/payin"
	"github.com/paysdk/payments/payin/paykeeperpayin"
	"github.com/paysdk/payments/paykeeper"
	"github.com/paysdk/payments/paykeeper/paykeepertest"
)

func benchPayKeeper(b *testing.B) *paykeeper.Client {
	srv := paykeepertest.NewServer()
	b.Cleanup(srv.Close)
	c, err := paykeeper.New(paykeeper.Credentials{User: paykeepertest.DefaultUser, Password: paykeepertest.DefaultPassword},
		append(srv.ClientOptions(), payments.WithLimiter(payments.Unlimited()))...)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.Close() })
	return c
}

// BenchmarkGet reads one invoice: the fake's cost of a create grows with
// the invoices it holds, which would drown the layer's cost in the fake's.
func BenchmarkGet(b *testing.B) {
	ctx := context.Background()
	setup := func(b *testing.B) (*paykeeper.Client, string) {
		c := benchPayKeeper(b)
		inv, err := c.CreateInvoice(ctx, paykeeper.InvoiceParams{Amount: payments.MustDecimal("990.00"), OrderID: "A-1003",
			Service: paykeeper.ServiceName{Name: "Подписка"}})
		if err != nil {
			b.Fatal(err)
		}
		return c, inv.ID
	}
	b.Run("direct", func(b *testing.B) {
		c, id := setup(b)
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if _, err := c.GetInvoice(ctx, id); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("portable", func(b *testing.B) {
		pc, id := setup(b)
		c := payin.NewClient(paykeeperpayin.New(pc, paykeeperpayin.Options{}))
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if _, err := c.Get(ctx, id); err != nil {
				b.Fatal(err)
			}
		}
	})
}
