package popolnipayout_test

import (
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/payout"
	"github.com/paysdk/payments/payout/payouttest"
	"github.com/paysdk/payments/payout/popolnipayout"
	"github.com/paysdk/payments/popolni"
	"github.com/paysdk/payments/popolni/popolnitest"
)

var nextRef atomic.Int64

func init() { nextRef.Store(1_000_000_000) }

func fixture(t *testing.T, opts ...payments.Option) payouttest.Fixture {
	srv := popolnitest.NewServer(popolnitest.WithT(t), popolnitest.WithBalance(100_000_00, 0), popolnitest.WithRateLimit(10000))
	t.Cleanup(srv.Close)
	c, err := popolni.New(popolni.Credentials{Login: srv.Login(), Password: srv.Password()},
		append(srv.ClientOptions(), opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	d := popolnipayout.New(c, popolnipayout.Options{PollInterval: time.Millisecond})
	t.Cleanup(func() { d.Close() })
	return payouttest.Fixture{
		Driver:      d,
		LoseAnswers: srv.DropNext,
		Held: func(ref string) int {
			id, _ := strconv.ParseInt(ref, 10, 64)
			if _, ok := srv.Payment(id); ok {
				return 1
			}
			return 0
		},
		Payouts:  func() int { return len(srv.Payments()) },
		Requests: func() int { return len(srv.Requests()) },
		Settle: func() {
			for _, p := range srv.Payments() {
				srv.Complete(p.TransactionID)
			}
		},
	}
}

func TestConformance(t *testing.T) {
	payouttest.RunConformanceTests(t, payouttest.Harness{
		New: fixture,
		Destination: func(kind payout.Kind) payout.Destination {
			if kind == payout.Card {
				return payout.Destination{Kind: kind, Account: "4111111111111111"}
			}
			return payout.Destination{Kind: kind, Account: "79161234567"}
		},
		Amount:         payments.MustMoney("50.00", "RUB"),
		NewRef:         func() string { return strconv.FormatInt(nextRef.Add(1), 10) },
		BadRef:         "ORD-1",
		ProviderClient: new(*popolni.Client),
	})
}
