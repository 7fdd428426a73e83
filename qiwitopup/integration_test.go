package qiwitopup_test

// The client against the fake QIWI Top-Up server, over real TLS on loopback,
// in each of the three authentication modes.

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/qiwitopup"
	"github.com/paysdk/payments/qiwitopup/qiwitopuptest"
)

func fast() []payments.Option {
	return []payments.Option{payments.WithLimiter(payments.Unlimited()),
		payments.WithRetry(payments.RetryPolicy{MaxAttempts: 3, BaseDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond})}
}

func passwordClient(t testing.TB, srv *qiwitopuptest.Server, extra ...payments.Option) *qiwitopup.Client {
	t.Helper()
	c, err := qiwitopup.New(qiwitopup.PasswordAuth(srv.TerminalID(), srv.Password()), append(append(srv.ClientOptions(), fast()...), extra...)...)
	require.NoError(t, err)
	return c
}

func walletPayment(txn string, kopecks int64) qiwitopup.WalletPayment {
	return qiwitopup.WalletPayment{Common: qiwitopup.Common{TransactionNumber: txn, Amount: kopecks}, Phone: "79181234567", NonCash: true}
}

var quick = qiwitopup.PayoutOptions{PollInterval: time.Millisecond, ErrorWait: time.Millisecond}

func TestThreeAuthModesAgainstTheFake(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	srv := qiwitopuptest.NewServer(qiwitopuptest.WithT(t), qiwitopuptest.WithPublicKey(&key.PublicKey))
	ctx := context.Background()

	// Password.
	p := passwordClient(t, srv)
	_, err = p.Ping(ctx)
	require.NoError(t, err)

	// Signature, both algorithms.
	for _, alg := range []qiwitopup.SignAlg{qiwitopup.SHA1withRSA, qiwitopup.MD5withRSA} {
		s, err := qiwitopup.New(qiwitopup.SignatureAuth(srv.TerminalID(), key, alg), append(srv.ClientOptions(), fast()...)...)
		require.NoError(t, err)
		_, err = s.Ping(ctx)
		require.NoError(t, err, alg)
	}
	// A key the fake does not know is refused.
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	bad, err := qiwitopup.New(qiwitopup.SignatureAuth(srv.TerminalID(), other, ""), append(srv.ClientOptions(), fast()...)...)
	require.NoError(t, err)
	_, err = bad.Ping(ctx)
	assert.ErrorIs(t, err, qiwitopup.ErrAuth)

	// Client certificate to private-api, with and without the password.
	cert, err := srv.ClientCertificate()
	require.NoError(t, err)
	for _, pw := range []string{srv.Password(), ""} {
		m, err := qiwitopup.New(qiwitopup.CertificateAuth(srv.TerminalID(), cert, srv.ClientCAPEM(), pw),
			append([]payments.Option{payments.WithBaseURL(srv.PrivateURL()), payments.WithResolve(qiwitopuptest.PrivateHost, "127.0.0.1"),
				payments.WithRootCAsPEM(srv.CACertPEM())}, fast()...)...)
		require.NoError(t, err)
		_, err = m.Ping(ctx)
		require.NoError(t, err, "password %q", pw)
	}

	modes := map[string]int{}
	for _, r := range srv.Requests() {
		modes[r.AuthMode]++
	}
	assert.Equal(t, map[string]int{qiwitopuptest.AuthPassword: 1, qiwitopuptest.AuthSignature: 2, qiwitopuptest.AuthCertificate: 2, "": 1}, modes)

	// Wrong password.
	wrong, err := qiwitopup.New(qiwitopup.PasswordAuth(srv.TerminalID(), "nope"), append(srv.ClientOptions(), fast()...)...)
	require.NoError(t, err)
	_, err = wrong.Ping(ctx)
	assert.ErrorIs(t, err, payments.ErrUnauthorized)
	assert.NotContains(t, err.Error(), "nope")
}

func TestPayoutEndToEnd(t *testing.T) {
	srv := qiwitopuptest.NewServer(qiwitopuptest.WithT(t))
	c := passwordClient(t, srv)
	before := srv.Balance("643")
	p, err := c.Payout(context.Background(), walletPayment("1000001", 50000), quick)
	require.NoError(t, err)
	assert.True(t, p.Succeeded())
	assert.Equal(t, payments.StateSucceeded, p.State())
	rec, ok := srv.Payment("1000001")
	require.True(t, ok)
	assert.Equal(t, "500.00", rec.Amount)
	assert.Equal(t, "1", rec.IncomeWireTransfer)
	after := srv.Balance("643")
	assert.Equal(t, payments.MustDecimal(before).Sub(payments.MustDecimal("500.00")).String(), payments.MustDecimal(after).String())
	assert.Equal(t, 1, srv.Count(qiwitopuptest.OpCheckDepositPossible))
}

func TestLostPayAnswerIsResentSafely(t *testing.T) {
	srv := qiwitopuptest.NewServer(qiwitopuptest.WithT(t))
	c := passwordClient(t, srv)
	before := srv.Balance("643")
	srv.DropNext(1) // processed, answer lost
	p, err := c.PayWallet(context.Background(), walletPayment("2000001", 10000))
	require.NoError(t, err, "the transport resent the idempotent pay")
	assert.True(t, p.Registered())
	assert.Equal(t, 2, srv.Count(qiwitopuptest.OpPay))
	assert.Len(t, srv.Payments(), 1, "one payment for one transaction number")
	_, err = c.Payout(context.Background(), walletPayment("2000001", 10000), quick)
	require.NoError(t, err)
	assert.Equal(t, payments.MustDecimal(before).Sub(payments.MustDecimal("100.00")).String(), payments.MustDecimal(srv.Balance("643")).String(), "debited once")

	// The same number with other details: 215.
	p, err = c.PayWallet(context.Background(), walletPayment("2000001", 20000))
	require.NoError(t, err)
	assert.ErrorIs(t, p.Err(), qiwitopup.ErrTxnNumberReused)
}

func TestDoubtfulAnswersAreOutcomeUnknownAgainstTheFake(t *testing.T) {
	srv := qiwitopuptest.NewServer(qiwitopuptest.WithT(t))
	c := passwordClient(t, srv, payments.WithRetry(payments.RetryPolicy{MaxAttempts: 1}))
	inject := map[string]func(){
		"truncated":     func() { srv.TruncateNext(1) },
		"empty":         func() { srv.EmptyNext(1) },
		"request error": func() { srv.ErrorNext(1, 300, false) },
		"http 500":      func() { srv.FailNext(1, 500, "oops") },
		"drop":          func() { srv.DropNext(1) },
	}
	i := 0
	for name, f := range inject {
		i++
		f()
		_, err := c.PayWallet(context.Background(), walletPayment("300000"+string(rune('0'+i)), 10000))
		assert.ErrorIs(t, err, payments.ErrOutcomeUnknown, name)
	}
}

func TestStatusAndFailuresAgainstTheFake(t *testing.T) {
	srv := qiwitopuptest.NewServer(qiwitopuptest.WithT(t))
	c := passwordClient(t, srv)
	srv.FailAccount("79990000000", 220)
	p := walletPayment("4000001", 10000)
	p.Phone = "79990000000"
	got, err := c.Payout(context.Background(), p, quick)
	require.NoError(t, err)
	assert.True(t, got.Failed())
	assert.Equal(t, payments.StateFailed, got.State())
	res, err := c.Status(context.Background(), qiwitopup.StatusQuery{TransactionNumber: "4000001", Account: "79990000000"},
		qiwitopup.StatusQuery{TransactionNumber: "4999999"})
	require.NoError(t, err)
	assert.True(t, res[0].Found)
	assert.False(t, res[1].Found)

	// Other payout kinds go through the same pay.
	ctx := context.Background()
	card, err := c.PayCard(ctx, qiwitopup.CardPayment{Common: qiwitopup.Common{TransactionNumber: "5000001", Amount: 10000}, CardNumber: "4265111122334411"})
	require.NoError(t, err)
	assert.Equal(t, qiwitopup.ServiceCard, card.Service)
	assert.NotContains(t, card.Account, "5111122334", "the card comes back masked")
	sbp, err := c.PaySBP(ctx, qiwitopup.SBPPayment{Common: qiwitopup.Common{TransactionNumber: "5000002", Amount: 10000}, Phone: "70070310009", BankID: "100000000008"})
	require.NoError(t, err)
	assert.Equal(t, qiwitopup.ServiceSBP, sbp.Service)
	srv.SetProvider("916", 42)
	id, err := c.ProviderByPhone(ctx, "9161234567")
	require.NoError(t, err)
	mob, err := c.PayMobile(ctx, qiwitopup.MobilePayment{Common: qiwitopup.Common{TransactionNumber: "5000003", Amount: 11500}, Phone: "79161234567", ProviderID: id, LocalPhone: "9161234567"})
	require.NoError(t, err)
	assert.Equal(t, qiwitopup.ServiceMobile, mob.Service)
	spec, err := c.PayCardSpec(ctx, qiwitopup.CardSpecPayment{Common: qiwitopup.Common{TransactionNumber: "5000004", Amount: 10000}, Phone: "+79991112233", CardNumber: "4265111122334411"})
	require.NoError(t, err)
	assert.Equal(t, qiwitopup.ServiceCardSpec, spec.Service)
	rec, _ := srv.Payment("5000004")
	assert.Equal(t, "4265111122334411", rec.ToExtras["account1"])
}

func TestNoSecretInLogs(t *testing.T) {
	srv := qiwitopuptest.NewServer(qiwitopuptest.WithT(t), qiwitopuptest.WithPassword("Very-Secret-Pw"))
	var logs bytes.Buffer
	c := passwordClient(t, srv, payments.WithLogger(slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))))
	srv.FailNext(1, 503, "busy")
	_, err := c.Ping(context.Background())
	require.NoError(t, err)
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("auth", "auth", qiwitopup.PasswordAuth("123", "Very-Secret-Pw"))
	assert.NotContains(t, logs.String(), "Very-Secret-Pw")
	assert.Contains(t, logs.String(), `"op":"ping"`)
}
