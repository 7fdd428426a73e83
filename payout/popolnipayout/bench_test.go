package popolnipayout_test

// The portable layer's cost: one payout through payout.Client.Send next to
// the same payout through popolni.Client.Pay, on the same fake, in the same
// run (the README reports the ratios):
//
//	go test -run '^$' -bench . -benchmem ./payout/popolnipayout/

import (
	"context"
	"strconv"
	"testing"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/payout"
	"github.com/paysdk/payments/payout/popolnipayout"
	"github.com/paysdk/payments/popolni"
	"github.com/paysdk/payments/popolni/popolnitest"
)

// benchClient is a popolni client on a fresh fake (each sub-benchmark has
// its own, so neither pays for the other's stored payments).
func benchClient(b *testing.B) *popolni.Client {
	srv := popolnitest.NewServer(popolnitest.WithRateLimit(0), popolnitest.WithBalance(1<<60, 0))
	b.Cleanup(srv.Close)
	c, err := popolni.New(popolni.Credentials{Login: srv.Login(), Password: srv.Password()},
		append(srv.ClientOptions(), payments.WithLimiter(payments.Unlimited()))...)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.Close() })
	return c
}

func BenchmarkSend(b *testing.B) {
	ctx := context.Background()
	amount := payments.MustMoney("50.00", "RUB")
	b.Run("direct", func(b *testing.B) {
		c := benchClient(b)
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if _, err := c.Pay(ctx, []popolni.Payment{{ID: int64(1_000_000_000 + i), Amount: 5000, Account: "79161234567"}}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("portable", func(b *testing.B) {
		pc := payout.NewClient(popolnipayout.New(benchClient(b), popolnipayout.Options{}))
		refs := make([]string, b.N) // the merchant's references exist before the call
		for i := range refs {
			refs[i] = strconv.Itoa(1_000_000_000 + i)
		}
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			r := payout.Request{Ref: refs[i], Amount: amount, To: payout.Destination{Kind: payout.Mobile, Account: "79161234567"}}
			if _, err := pc.Send(ctx, r); err != nil {
				b.Fatal(err)
			}
		}
	})
}
