package royalpaypayin_test

// The portable layer's cost over RoyalPay: reading a payment through
// payin.Client.Get next to royalpay.Client.GetPayment, and creating one
// through payin.Client.Create next to royalpay.Client.CreatePayment, each
// on a fresh fake, in the same run (the README reports the ratios):
//
//	go test -run '^$' -bench . -benchmem ./payin/royalpaypayin/

import (
	"context"
	"strconv"
	"testing"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/payin"
	"github.com/paysdk/payments/payin/royalpaypayin"
	"github.com/paysdk/payments/royalpay"
	"github.com/paysdk/payments/royalpay/royalpaytest"
)

func benchRoyalPay(b *testing.B) *royalpay.Client {
	srv := royalpaytest.NewServer()
	b.Cleanup(srv.Close)
	c, err := royalpay.New(royalpay.Credentials{Token: srv.Token()},
		append(srv.ClientOptions(), payments.WithLimiter(payments.Unlimited()))...)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.Close() })
	return c
}

func BenchmarkGet(b *testing.B) {
	ctx := context.Background()
	setup := func(b *testing.B) (*royalpay.Client, royalpay.Payment) {
		c := benchRoyalPay(b)
		p, err := c.CreatePayment(ctx, royalpay.CreateParams{Sum: payments.MustDecimal("1500"), Type: royalpay.TypeSBP,
			Bank: "Tinkoff", OutterID: "ORD-1"})
		if err != nil {
			b.Fatal(err)
		}
		return c, p
	}
	b.Run("direct", func(b *testing.B) {
		c, p := setup(b)
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if _, err := c.GetPayment(ctx, p.ID); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("portable", func(b *testing.B) {
		rc, p := setup(b)
		c := payin.NewClient(royalpaypayin.New(rc, royalpaypayin.Options{}))
		id := strconv.FormatInt(p.ID, 10)
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if _, err := c.Get(ctx, id); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkCreate(b *testing.B) {
	ctx := context.Background()
	b.Run("direct", func(b *testing.B) {
		c := benchRoyalPay(b)
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if _, err := c.CreatePayment(ctx, royalpay.CreateParams{Sum: payments.MustDecimal("1500"), Type: royalpay.TypeSBP,
				Bank: "Tinkoff", OutterID: "ORD-1"}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("portable", func(b *testing.B) {
		c := payin.NewClient(royalpaypayin.New(benchRoyalPay(b), royalpaypayin.Options{}))
		amount := payments.MustMoney("1500", "RUB")
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if _, err := c.Create(ctx, payin.Request{OrderRef: "ORD-1", Amount: amount, Method: payin.SBP, Bank: "Tinkoff"}); err != nil {
				b.Fatal(err)
			}
		}
	})
}
