package royalpaytest_test

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/royalpay"
	"github.com/paysdk/payments/royalpay/royalpaytest"
)

// TestPayoutTokensAreSeparate: the payout routes refuse the pay-in token,
// and the pay-in routes the payout token.
func TestPayoutTokensAreSeparate(t *testing.T) {
	srv := royalpaytest.NewServer(royalpaytest.WithT(t))
	swapped, err := royalpay.New(royalpay.Credentials{Token: royalpaytest.DefaultPayoutToken, PayoutToken: srv.Token()},
		append(srv.ClientOptions(), payments.WithLimiter(payments.Unlimited()))...)
	require.NoError(t, err)
	defer swapped.Close()
	_, err = swapped.CreatePayout(context.Background(), royalpay.PayoutParams{Method: royalpay.PayoutInterbank,
		Requisite: "4111111111111111", Amount: payments.MustDecimal("10"), OutterID: "T-1"})
	assert.ErrorIs(t, err, payments.ErrUnauthorized)
	_, err = swapped.CreatePayment(context.Background(), royalpay.CreateParams{Sum: payments.MustDecimal("10"), Type: royalpay.TypeSBP})
	assert.ErrorIs(t, err, payments.ErrUnauthorized)
	assert.Empty(t, srv.Payouts())
}

// TestPayoutFakeStates: a payout advances by the helpers; lookups find it by
// outter_id; a dropped create still made the payout; field errors are
// DRF-style.
func TestPayoutFakeStates(t *testing.T) {
	srv := royalpaytest.NewServer(royalpaytest.WithT(t))
	c, err := royalpay.New(royalpay.Credentials{PayoutToken: royalpaytest.DefaultPayoutToken},
		append(srv.ClientOptions(), payments.WithLimiter(payments.Unlimited()))...)
	require.NoError(t, err)
	defer c.Close()
	ctx := context.Background()
	pp := royalpay.PayoutParams{Method: royalpay.PayoutAccountNumber, Requisite: "40817810000000000001", Amount: payments.MustDecimal("10"), OutterID: "F-1"}
	srv.DropPayoutNext(1)
	_, err = c.CreatePayout(ctx, pp)
	require.ErrorIs(t, err, payments.ErrOutcomeUnknown)
	p, err := c.PayoutByOutterID(ctx, "F-1")
	require.NoError(t, err)
	assert.Equal(t, royalpay.PayoutPending, p.Status)
	for _, step := range []struct {
		move func(int64) (royalpaytest.CallbackResult, error)
		want royalpay.PayoutStatus
	}{{srv.WaitConfirm, royalpay.PayoutWaitConfirm}, {srv.CompletePayout, royalpay.PayoutCompleted},
		{srv.FailPayout, royalpay.PayoutFailed}, {srv.CancelPayout, royalpay.PayoutCanceled}} {
		_, err := step.move(p.ID)
		require.NoError(t, err)
		got, err := c.PayoutByOutterID(ctx, "F-1")
		require.NoError(t, err)
		assert.Equal(t, step.want, got.Status)
	}
	_, err = c.PayoutByOutterID(ctx, "F-2")
	assert.ErrorIs(t, err, payments.ErrNotFound)
	srv.FailPayoutNext(1, 400, `{"amount":["Недостаточно средств."]}`)
	_, err = c.CreatePayout(ctx, royalpay.PayoutParams{Method: royalpay.PayoutInterbank, Requisite: "4111111111111111", Amount: payments.MustDecimal("10"), OutterID: "F-3"})
	var api *payments.APIError
	require.True(t, errors.As(err, &api))
	assert.Equal(t, "amount: Недостаточно средств.", api.Message)
	assert.Len(t, srv.Payouts(), 1)
}
