package paykeeper_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/paykeeper"
	"github.com/paysdk/payments/paykeeper/paykeepertest"
)

// TestFullRefundIsExplicit: no amount means nothing, not everything.
func TestFullRefundIsExplicit(t *testing.T) {
	srv := paykeepertest.NewServer(paykeepertest.WithT(t))
	c := newClient(t, srv)
	ctx := context.Background()
	id := srv.AddPayment(paykeepertest.PaymentSpec{Amount: "1500.00"})

	err := c.RefundPayment(ctx, paykeeper.RefundParams{PaymentID: id})
	var ve *payments.ValidationError
	require.ErrorAs(t, err, &ve)
	assert.Equal(t, "Amount", ve.Field)
	err = c.RefundPayment(ctx, paykeeper.RefundParams{PaymentID: id, Full: true, Amount: payments.MustDecimal("1500")})
	assert.ErrorIs(t, err, payments.ErrInvalidRequest, "Full with an amount is ambiguous")
	assert.Zero(t, srv.Count(paykeepertest.OpReverse), "refused before sending")
	p, _ := srv.Payment(id)
	assert.Equal(t, "0.00", p.RefundAmount, "nothing refunded")

	require.NoError(t, c.RefundPayment(ctx, paykeeper.RefundParams{PaymentID: id, Full: true}))
	got, err := c.GetPayment(ctx, id)
	require.NoError(t, err)
	assert.Equal(t, paykeeper.PaymentRefunded, got.Status)
	assert.Equal(t, "1500.00", got.RefundAmount.String())
	req := srv.Requests()
	last := req[len(req)-1]
	for _, r := range req {
		if r.Op == paykeepertest.OpReverse {
			last = r
		}
	}
	assert.Equal(t, "false", last.Form.Get("partial"))
	assert.NotContains(t, last.Form, "amount", "a full refund gives no amount (the document)")
}
