package qiwitopup_test

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/qiwitopup"
	"github.com/paysdk/payments/qiwitopup/qiwitopuptest"
)

// Close leaves no goroutine behind: the idle keep-alive connections to the
// fake (a reader and a writer goroutine each on the client's side, one on
// the server's) go with it. The fake's own listener existed before the
// snapshot and is not counted.
func TestCloseLeavesNoGoroutine(t *testing.T) {
	srv := qiwitopuptest.NewServer(qiwitopuptest.WithT(t))
	before := goleak.IgnoreCurrent()
	c := passwordClient(t, srv, payments.WithTestTiming())
	ctx := context.Background()
	_, err := c.Ping(ctx)
	require.NoError(t, err)
	_, err = c.PayWallet(ctx, walletPayment("8000001", 10000))
	require.NoError(t, err)
	_, err = c.Status(ctx, qiwitopup.StatusQuery{TransactionNumber: "8000001"})
	require.NoError(t, err)

	require.NoError(t, c.Close())
	goleak.VerifyNone(t, before)

	// After Close nothing is sent, and the error says so.
	n := len(srv.Requests())
	_, err = c.PayWallet(ctx, walletPayment("8000002", 10000))
	assert.NotErrorIs(t, err, payments.ErrOutcomeUnknown)
	var te *payments.TransportError
	require.ErrorAs(t, err, &te)
	assert.False(t, te.Written)
	assert.Len(t, srv.Requests(), n)
	assert.NoError(t, c.Close(), "a second Close")
}

// A nil context is payments.ErrNilContext from every call, before anything
// is sent; never a panic, never outcome-unknown.
func TestNilContextOnEveryCall(t *testing.T) {
	srv := qiwitopuptest.NewServer(qiwitopuptest.WithT(t))
	c := passwordClient(t, srv, payments.WithTestTiming())
	var nilCtx context.Context
	common := qiwitopup.Common{TransactionNumber: "9000001", Amount: 10000}
	calls := map[string]func() error{
		"PayWallet": func() error {
			_, err := c.PayWallet(nilCtx, walletPayment("9000001", 10000))
			return err
		},
		"PayCard": func() error {
			_, err := c.PayCard(nilCtx, qiwitopup.CardPayment{Common: common, CardNumber: "4265111122334411"})
			return err
		},
		"PayCardSpec": func() error {
			_, err := c.PayCardSpec(nilCtx, qiwitopup.CardSpecPayment{Common: common, Phone: "+79991112233", CardNumber: "4265111122334411"})
			return err
		},
		"PaySBP": func() error {
			_, err := c.PaySBP(nilCtx, qiwitopup.SBPPayment{Common: common, Phone: "70070310009", BankID: "100000000008"})
			return err
		},
		"PayMobile": func() error {
			_, err := c.PayMobile(nilCtx, qiwitopup.MobilePayment{Common: common, Phone: "79161234567", ProviderID: 42, LocalPhone: "9161234567"})
			return err
		},
		"Payout": func() error {
			_, err := c.Payout(nilCtx, walletPayment("9000001", 10000), quick)
			return err
		},
		"Payout, invalid payment too": func() error {
			_, err := c.Payout(nilCtx, qiwitopup.WalletPayment{}, quick)
			return err
		},
		"Status": func() error {
			_, err := c.Status(nilCtx, qiwitopup.StatusQuery{TransactionNumber: "9000001"})
			return err
		},
		"CheckDepositPossible": func() error {
			_, err := c.CheckDepositPossible(nilCtx, "79181234567", true, "")
			return err
		},
		"CheckUser": func() error {
			_, err := c.CheckUser(nilCtx, "79181234567", "")
			return err
		},
		"Ping": func() error {
			_, err := c.Ping(nilCtx)
			return err
		},
		"ProviderByPhone": func() error {
			_, err := c.ProviderByPhone(nilCtx, "9161234567")
			return err
		},
	}
	for name, call := range calls {
		var err error
		require.NotPanics(t, func() { err = call() }, name)
		assert.True(t, errors.Is(err, payments.ErrNilContext), "%s: %v", name, err)
		assert.NotErrorIs(t, err, payments.ErrOutcomeUnknown, name)
	}
	assert.Empty(t, srv.Requests(), "nothing sent")
}
