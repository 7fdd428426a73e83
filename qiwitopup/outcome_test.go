package qiwitopup_test

// ErrOutcomeUnknown means QIWI may have the payment, and nothing else: a pay
// that certainly never reached QIWI, or that QIWI refused before processing
// it, says so; a pay that may have landed stays outcome-unknown.

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/qiwitopup"
	"github.com/paysdk/payments/qiwitopup/qiwitopuptest"
)

// pays runs every call that moves money once, each with its own number.
func pays(ctx context.Context, c *qiwitopup.Client, seq string) map[string]error {
	common := func(n string) qiwitopup.Common {
		return qiwitopup.Common{TransactionNumber: seq + n, Amount: 10000}
	}
	out := map[string]error{}
	_, out["PayWallet"] = c.PayWallet(ctx, qiwitopup.WalletPayment{Common: common("1"), Phone: "79181234567", NonCash: true})
	_, out["PayCard"] = c.PayCard(ctx, qiwitopup.CardPayment{Common: common("2"), CardNumber: "4265111122334411"})
	_, out["PayCardSpec"] = c.PayCardSpec(ctx, qiwitopup.CardSpecPayment{Common: common("3"), Phone: "+79991112233", CardNumber: "4265111122334411"})
	_, out["PaySBP"] = c.PaySBP(ctx, qiwitopup.SBPPayment{Common: common("4"), Phone: "70070310009", BankID: "100000000008"})
	_, out["PayMobile"] = c.PayMobile(ctx, qiwitopup.MobilePayment{Common: common("5"), Phone: "79161234567", ProviderID: 42, LocalPhone: "9161234567"})
	return out
}

func TestPayNothingSentIsNotOutcomeUnknown(t *testing.T) {
	ctx := context.Background()

	// Dial refused: the fake is gone.
	gone := qiwitopuptest.NewServer()
	opts := gone.ClientOptions()
	gone.Close()
	c, err := qiwitopup.New(qiwitopup.PasswordAuth(gone.TerminalID(), gone.Password()), append(opts, payments.WithTestTiming())...)
	require.NoError(t, err)
	for name, err := range pays(ctx, c, "100") {
		assertNotSent(t, err, "dial: "+name)
	}

	// TLS handshake refused: the client does not trust the fake's CA.
	srv := qiwitopuptest.NewServer(qiwitopuptest.WithT(t))
	c, err = qiwitopup.New(qiwitopup.PasswordAuth(srv.TerminalID(), srv.Password()),
		payments.WithBaseURL(srv.URL()), payments.WithResolve(qiwitopuptest.Host, "127.0.0.1"), payments.WithTestTiming())
	require.NoError(t, err)
	for name, err := range pays(ctx, c, "200") {
		assertNotSent(t, err, "tls: "+name)
	}
	assert.Zero(t, srv.Count(qiwitopuptest.OpPay), "no request reached the fake")
}

func assertNotSent(t *testing.T, err error, name string) {
	t.Helper()
	assert.NotErrorIs(t, err, payments.ErrOutcomeUnknown, name)
	assert.ErrorIs(t, err, payments.ErrUnavailable, name)
	var te *payments.TransportError
	if assert.ErrorAs(t, err, &te, name) {
		assert.False(t, te.Written, name)
	}
}

func TestPayDefiniteRefusalIsNotOutcomeUnknown(t *testing.T) {
	ctx := context.Background()
	srv := qiwitopuptest.NewServer(qiwitopuptest.WithT(t))
	opts := append(srv.ClientOptions(), payments.WithTestTiming())

	// 150, fatal: a wrong password, an unknown terminal.
	wrongPW, err := qiwitopup.New(qiwitopup.PasswordAuth(srv.TerminalID(), "wrong-password"), opts...)
	require.NoError(t, err)
	otherTerminal, err := qiwitopup.New(qiwitopup.PasswordAuth("999", srv.Password()), opts...)
	require.NoError(t, err)
	for who, c := range map[string]*qiwitopup.Client{"password": wrongPW, "terminal": otherTerminal} {
		for name, err := range pays(ctx, c, "300") {
			assert.NotErrorIs(t, err, payments.ErrOutcomeUnknown, who+" "+name)
			assert.ErrorIs(t, err, qiwitopup.ErrAuth, who+" "+name)
			assert.ErrorIs(t, err, payments.ErrUnauthorized, who+" "+name)
		}
	}

	// 339, fatal: the source address is not allowed.
	good := passwordClient(t, srv, payments.WithTestTiming())
	require.NoError(t, srv.SetAllowedIPs("192.0.2.1"))
	for name, err := range pays(ctx, good, "400") {
		assert.NotErrorIs(t, err, payments.ErrOutcomeUnknown, name)
		assert.ErrorIs(t, err, qiwitopup.ErrIPBlocked, name)
	}
	require.NoError(t, srv.SetAllowedIPs())
	assert.Empty(t, srv.Payments(), "nothing was paid")

	// The same codes, as answered by a server that never processed the pay.
	for _, code := range []int{150, 339} {
		srv.ErrorNext(1, code, true)
		_, err := good.PayWallet(ctx, walletPayment("5000"+string(rune('0'+code%10)), 10000))
		assert.NotErrorIs(t, err, payments.ErrOutcomeUnknown, code)
		var api *payments.APIError
		require.ErrorAs(t, err, &api, code)
		assert.Equal(t, "pay", api.Op)
	}

	// The non-fatal codes of the table (13 "repeat in a minute", 300
	// "unknown error") leave the outcome open.
	for _, code := range []int{13, 300} {
		srv.ErrorNext(1, code, false)
		_, err := good.PayWallet(ctx, walletPayment("6000"+string(rune('0'+code%10)), 10000))
		assert.ErrorIs(t, err, payments.ErrOutcomeUnknown, code)
	}
}

func TestPayContextErrorsSayWhetherThePayMayHaveLanded(t *testing.T) {
	srv := qiwitopuptest.NewServer(qiwitopuptest.WithT(t))
	c := passwordClient(t, srv, payments.WithTestTiming())

	// Cancelled before anything was sent: not outcome-unknown.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for name, err := range pays(ctx, c, "700") {
		assert.ErrorIs(t, err, context.Canceled, name)
		assert.NotErrorIs(t, err, payments.ErrOutcomeUnknown, name)
		assert.ErrorContains(t, err, "qiwitopup pay", name)
	}
	assert.Zero(t, srv.Count(qiwitopuptest.OpPay))

	// Cancelled or expired once the pay reached QIWI: outcome-unknown.
	for _, want := range []error{context.Canceled, context.DeadlineExceeded} {
		srv.Reset()
		srv.DelayNext(1, time.Minute) // processed, then no answer until the client gives up
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		if want == context.DeadlineExceeded {
			ctx, cancel = context.WithTimeout(context.Background(), time.Second)
		} else {
			go cancelWhen(cancel, func() bool { return srv.Count(qiwitopuptest.OpPay) > 0 })
		}
		_, err := c.PayWallet(ctx, walletPayment("7100001", 10000))
		cancel()
		assert.ErrorIs(t, err, want)
		assert.ErrorIs(t, err, payments.ErrOutcomeUnknown)
		assert.ErrorContains(t, err, "qiwitopup pay")
		var ou *payments.OutcomeUnknownError
		require.ErrorAs(t, err, &ou)
		assert.Equal(t, "7100001", ou.Ref)
	}

	// Payout cancelled while polling a registered payment: outcome-unknown.
	srv2 := qiwitopuptest.NewServer(qiwitopuptest.WithT(t), qiwitopuptest.WithStepsPerPoll(0))
	c2 := passwordClient(t, srv2, payments.WithTestTiming())
	ctx, cancel = context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	go cancelWhen(cancel, func() bool { return srv2.Count(qiwitopuptest.OpStatus) > 2 })
	p, err := c2.Payout(ctx, walletPayment("7200001", 10000), quick)
	assert.ErrorIs(t, err, context.Canceled)
	assert.ErrorIs(t, err, payments.ErrOutcomeUnknown)
	assert.ErrorContains(t, err, "qiwitopup payout")
	assert.True(t, p.Registered())
}

// cancelWhen calls cancel once cond holds.
func cancelWhen(cancel context.CancelFunc, cond func() bool) {
	for !cond() {
		time.Sleep(time.Millisecond)
	}
	cancel()
}
