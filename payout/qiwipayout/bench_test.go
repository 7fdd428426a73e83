package qiwipayout_test

// The portable layer's cost over QIWI: a card payout through
// payout.Client.Send next to qiwitopup.Client.PayCard, each on a fresh fake,
// in the same run (the README reports the ratios):
//
//	go test -run '^$' -bench . -benchmem ./payout/qiwipayout/

import (
	"context"
	"strconv"
	"testing"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/payout"
	"github.com/paysdk/payments/payout/qiwipayout"
	"github.com/paysdk/payments/qiwitopup"
	"github.com/paysdk/payments/qiwitopup/qiwitopuptest"
)

func benchQIWI(b *testing.B) *qiwitopup.Client {
	srv := qiwitopuptest.NewServer()
	b.Cleanup(srv.Close)
	if err := srv.SetBalance("643", "1000000000000.00"); err != nil {
		b.Fatal(err)
	}
	c, err := qiwitopup.New(qiwitopup.PasswordAuth(srv.TerminalID(), srv.Password()),
		append(srv.ClientOptions(), payments.WithLimiter(payments.Unlimited()))...)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.Close() })
	return c
}

func BenchmarkSendCard(b *testing.B) {
	ctx := context.Background()
	const card = "4111111111111111"
	b.Run("direct", func(b *testing.B) {
		c := benchQIWI(b)
		nums := make([]string, b.N)
		for i := range nums {
			nums[i] = strconv.Itoa(1_000_000 + i)
		}
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			p, err := c.PayCard(ctx, qiwitopup.CardPayment{Common: qiwitopup.Common{TransactionNumber: nums[i], Amount: 5000}, CardNumber: card})
			if err == nil {
				err = p.Err()
			}
			if err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("portable", func(b *testing.B) {
		pc := payout.NewClient(qiwipayout.New(benchQIWI(b), qiwipayout.Options{}))
		refs := make([]string, b.N)
		for i := range refs {
			refs[i] = strconv.Itoa(1_000_000 + i)
		}
		amount := payments.MustMoney("50.00", "RUB")
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if _, err := pc.Send(ctx, payout.Request{Ref: refs[i], Amount: amount, To: payout.Destination{Kind: payout.Card, Account: card}}); err != nil {
				b.Fatal(err)
			}
		}
	})
}
