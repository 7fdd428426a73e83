package royalpaypayout_test

import (
	"context"
	"errors"
	"testing"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/payout"
	"github.com/paysdk/payments/royalpay/royalpaytest"
)

// TestSendTakesACreateAnswerWithoutStatus: a create answered with the
// payout's id and our outter_id but no status (the payout page's excerpt
// shows none) is an accepted payout, pending, with its provider id; Wait
// then settles it by the lookup. Without our outter_id the answer proves
// nothing: ErrOutcomeUnknown, and the payout is never sent twice.
func TestSendTakesACreateAnswerWithoutStatus(t *testing.T) {
	srv := royalpaytest.NewServer(royalpaytest.WithT(t), royalpaytest.WithPayoutCreateOmit("status"),
		royalpaytest.WithPayoutCompleteAfterPolls(2))
	c := payout.NewClient(newDriver(t, srv, payments.WithLimiter(payments.Unlimited())))
	ctx := context.Background()
	to := payout.Destination{Kind: payout.Card, Account: "4111111111111111"}
	p, err := c.Send(ctx, payout.Request{Ref: "NS-1", Amount: payments.MustMoney("100", "RUB"), To: to})
	if err != nil {
		t.Fatalf("send: %v", err)
	}
	if p.State != payments.StatePending || p.ProviderID != "2688" || p.Err != nil || !p.Amount.Equal(payments.MustMoney("100", "RUB")) {
		t.Fatalf("sent: %+v; want pending 2688", p)
	}
	got, err := c.Wait(ctx, payout.Query{Ref: "NS-1"})
	if err != nil || got.State != payments.StateSucceeded {
		t.Fatalf("wait: %v %v", got.State, err)
	}
	if n := len(srv.PayoutsByOutterID("NS-1")); n != 1 {
		t.Fatalf("%d payouts", n)
	}

	srv2 := royalpaytest.NewServer(royalpaytest.WithT(t), royalpaytest.WithPayoutCreateOmit("status", "outter_id"))
	c2 := payout.NewClient(newDriver(t, srv2, payments.WithLimiter(payments.Unlimited())))
	p, err = c2.Send(ctx, payout.Request{Ref: "NS-2", Amount: payments.MustMoney("100", "RUB"), To: to})
	if !errors.Is(err, payments.ErrOutcomeUnknown) || p.State.Final() {
		t.Fatalf("id without our outter_id: %v %v; want outcome unknown", p.State, err)
	}
	if n := srv2.Count(royalpaytest.OpPayoutCreate); n != 1 {
		t.Fatalf("%d creates", n)
	}
}
