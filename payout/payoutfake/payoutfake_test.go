package payoutfake_test

import (
	"context"
	"errors"
	"strconv"
	"testing"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/payout"
	"github.com/paysdk/payments/payout/payoutfake"
)

func destination(kind payout.Kind) payout.Destination {
	switch kind {
	case payout.Card:
		return payout.Destination{Kind: kind, Account: "4111111111111111"}
	case payout.SBP:
		return payout.Destination{Kind: kind, Account: "79161234567", Bank: "100000000111"}
	}
	return payout.Destination{Kind: kind, Account: "79161234567"}
}

// TestHelpers: each helper opens a working client on its fake, and closes
// both when the test ends.
func TestHelpers(t *testing.T) {
	ctx := context.Background()
	for name, open := range map[string]func(t *testing.T) (*payout.Client, func(ref string) bool){
		"popolni": func(t *testing.T) (*payout.Client, func(string) bool) {
			c, srv := payoutfake.Popolni(t)
			return c, func(ref string) bool {
				id, _ := strconv.ParseInt(ref, 10, 64)
				_, ok := srv.Payment(id)
				return ok
			}
		},
		"qiwitopup": func(t *testing.T) (*payout.Client, func(string) bool) {
			c, srv := payoutfake.QIWI(t)
			return c, func(ref string) bool { _, ok := srv.Payment(ref); return ok }
		},
		"royalpay": func(t *testing.T) (*payout.Client, func(string) bool) {
			c, srv := payoutfake.RoyalPay(t)
			return c, func(ref string) bool { return len(srv.PayoutsByOutterID(ref)) == 1 }
		},
		"mem": func(t *testing.T) (*payout.Client, func(string) bool) {
			c, d := payoutfake.Mem(t)
			return c, func(ref string) bool { _, ok := d.Payout(ref); return ok }
		},
	} {
		var c *payout.Client
		if !t.Run(name, func(t *testing.T) {
			var held func(string) bool
			c, held = open(t)
			if c.Provider() != name {
				t.Fatalf("provider %q", c.Provider())
			}
			kind := c.Capabilities().Kinds[0]
			r := payout.Request{Ref: "1000000001", Amount: payments.MustMoney("100.00", "RUB"), To: destination(kind)}
			if _, err := c.Send(ctx, r); err != nil {
				t.Fatalf("send: %v", err)
			}
			if !held(r.Ref) {
				t.Fatal("the fake does not hold the payout")
			}
			if _, err := c.Get(ctx, r.Ref); err != nil {
				t.Fatalf("get: %v", err)
			}
		}) {
			continue
		}
		if _, err := c.Balance(ctx); err == nil {
			t.Errorf("%s: the client still answers after the test ended", name)
		}
	}
}

// TestMerchantStyle is the README's "Testing with the SDK" example: the
// merchant's code (payWinner) run on mem:// with a lost answer, and on
// popolni's fake.
func TestMerchantStyle(t *testing.T) {
	ctx := context.Background()
	c, mem := payoutfake.Mem(t) // mem://: state in memory, outcomes scripted
	mem.LoseNextAnswer()        // the payout lands, its answer is lost
	if err := payWinner(ctx, c, "1000000001"); !errors.Is(err, payments.ErrOutcomeUnknown) {
		t.Fatalf("lost answer: %v", err)
	}
	if err := payWinner(ctx, c, "1000000001"); err != nil || len(mem.Payouts()) != 1 {
		t.Fatalf("resend: %v, %d payouts", err, len(mem.Payouts())) // the same Ref is never paid twice
	}
	pc, srv := payoutfake.Popolni(t) // the same code on popolni's fake server
	if err := payWinner(ctx, pc, "1000000002"); err != nil || len(srv.Payments()) != 1 {
		t.Fatalf("popolni: %v", err)
	}
}

// payWinner is the merchant's code under test.
func payWinner(ctx context.Context, c *payout.Client, ref string) error {
	_, err := c.Send(ctx, payout.Request{Ref: ref, Amount: payments.MustMoney("100.00", "RUB"),
		To: payout.Destination{Kind: payout.Mobile, Account: "79161234567"}})
	return err
}
