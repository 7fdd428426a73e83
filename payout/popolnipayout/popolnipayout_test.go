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

func newRef() string { return strconv.FormatInt(nextRef.Add(1), 10) }

// setup says how a fixture's driver and fake are made.
type setup struct {
	// batch sends through a popolni.Batcher (Options.Batch).
	batch bool
	// srv are extra options of the fake (popolnitest.WithNotFoundFirst).
	srv []popolnitest.Option
}

// fixture is a driver on a fresh fake, and the fake.
func (s setup) fixture(t *testing.T, opts ...payments.Option) (payouttest.Fixture, *popolnitest.Server) {
	srv := popolnitest.NewServer(append([]popolnitest.Option{popolnitest.WithT(t), popolnitest.WithBalance(100_000_00, 0),
		popolnitest.WithRateLimit(10000)}, s.srv...)...)
	t.Cleanup(srv.Close)
	c, err := popolni.New(popolni.Credentials{Login: srv.Login(), Password: srv.Password()},
		append(srv.ClientOptions(), opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	o := popolnipayout.Options{PollInterval: time.Millisecond}
	if s.batch {
		o.Batch = &popolni.BatchOptions{}
	}
	d := popolnipayout.New(c, o)
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
	}, srv
}

func (s setup) harness() payouttest.Harness {
	return payouttest.Harness{
		New: func(t *testing.T, opts ...payments.Option) payouttest.Fixture {
			f, _ := s.fixture(t, opts...)
			return f
		},
		Destination: func(kind payout.Kind) payout.Destination {
			if kind == payout.Card {
				return payout.Destination{Kind: kind, Account: "4111111111111111"}
			}
			return payout.Destination{Kind: kind, Account: "79161234567"}
		},
		Amount:         payments.MustMoney("50.00", "RUB"),
		NewRef:         newRef,
		BadRef:         "ORD-1",
		ProviderClient: new(*popolni.Client),
	}
}

func TestConformance(t *testing.T) {
	payouttest.RunConformanceTests(t, setup{}.harness())
}

// TestConformanceNotFoundFirst runs the suite with the fake answering every
// payment's first status 125, as the document says popolni may for a
// payment moving between queues: a resend (124) must still answer with the
// payout popolni holds, Get must still find it, Wait must still end.
func TestConformanceNotFoundFirst(t *testing.T) {
	payouttest.RunConformanceTests(t, setup{srv: []popolnitest.Option{popolnitest.WithNotFoundFirst()}}.harness())
}
