package qiwipayout_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/payout"
	"github.com/paysdk/payments/payout/payouttest"
	"github.com/paysdk/payments/payout/qiwipayout"
	"github.com/paysdk/payments/qiwitopup"
	"github.com/paysdk/payments/qiwitopup/qiwitopuptest"
)

var (
	nextRef atomic.Int64
	issued  sync.Map // every Ref newRef gave out
)

func init() { nextRef.Store(7_000_000_000) }

func newRef() string {
	ref := strconv.FormatInt(nextRef.Add(1), 10)
	issued.Store(ref, true)
	return ref
}

const (
	phone = "79161234567"
	card  = "4111111111111111"
	bank  = "100000000111"
)

func destination(kind payout.Kind) payout.Destination {
	switch kind {
	case payout.Card:
		return payout.Destination{Kind: kind, Account: card}
	case payout.SBP:
		return payout.Destination{Kind: kind, Account: phone, Bank: bank}
	}
	return payout.Destination{Kind: kind, Account: phone}
}

// newFake starts a fake QIWI with a mobile operator for every number.
func newFake(t *testing.T, opts ...qiwitopuptest.Option) *qiwitopuptest.Server {
	srv := qiwitopuptest.NewServer(append([]qiwitopuptest.Option{qiwitopuptest.WithT(t)}, opts...)...)
	srv.SetProvider("9", 2)
	return srv
}

// testOpts are the client options of the suite: test timing and the suite's
// retry policy.
func testOpts() []payments.Option {
	return []payments.Option{payments.WithTestTiming(),
		payments.WithRetry(payments.RetryPolicy{MaxAttempts: payouttest.Attempts, BaseDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond})}
}

func newDriver(t *testing.T, srv *qiwitopuptest.Server, o qiwipayout.Options, opts ...payments.Option) *qiwipayout.Driver {
	t.Helper()
	c, err := qiwitopup.New(qiwitopup.PasswordAuth(srv.TerminalID(), srv.Password()), append(srv.ClientOptions(), opts...)...)
	require.NoError(t, err)
	if o.PollInterval == 0 {
		o.PollInterval = time.Millisecond
	}
	d := qiwipayout.New(c, o)
	t.Cleanup(func() { d.Close() })
	return d
}

func fixture(t *testing.T, opts ...payments.Option) payouttest.Fixture {
	srv := newFake(t)
	d := newDriver(t, srv, qiwipayout.Options{}, opts...)
	return payouttest.Fixture{
		Driver: d,
		// Only pay requests: a wallet payout's check-deposit-possible before
		// it must go through.
		LoseAnswers: func(n int) { srv.DropNextOp(qiwitopuptest.OpPay, n) },
		// The payment under ref, and every payment under a number that is
		// no Ref: a driver that paid a resend under a new number would
		// hold one payment under the ref and another elsewhere.
		Held: func(ref string) int {
			n := 0
			for _, p := range srv.Payments() {
				if _, isRef := issued.Load(p.TransactionNumber); p.TransactionNumber == ref || !isRef {
					n++
				}
			}
			return n
		},
		Payouts:  func() int { return len(srv.Payments()) },
		Requests: func() int { return len(srv.Requests()) },
		Settle: func() {
			for _, p := range srv.Payments() {
				srv.Complete(p.TransactionNumber)
			}
		},
	}
}

func TestConformance(t *testing.T) {
	payouttest.RunConformanceTests(t, payouttest.Harness{
		New:            fixture,
		Destination:    destination,
		Amount:         payments.MustMoney("50.00", "RUB"),
		NewRef:         newRef,
		BadRef:         "0123",
		ProviderClient: new(*qiwitopup.Client),
	})
}

// client is a portable client over a fresh fake, with the suite's options.
func client(t *testing.T, o qiwipayout.Options, fake ...qiwitopuptest.Option) (*payout.Client, *qiwitopuptest.Server) {
	srv := newFake(t, fake...)
	return payout.NewClient(newDriver(t, srv, o, testOpts()...)), srv
}

func request(kind payout.Kind) payout.Request {
	return payout.Request{Ref: newRef(), Amount: payments.MustMoney("50.00", "RUB"), To: destination(kind)}
}

func TestRefIsTheTransactionNumber(t *testing.T) {
	c, srv := client(t, qiwipayout.Options{})
	ctx := context.Background()
	for _, ref := range []string{"1", "9", "12345678901234567890", "99999999999999999999"} {
		assert.NoError(t, c.Driver().CheckRef(ref), ref)
	}
	bad := []string{"0", "0123", "123456789012345678901", "-1", "+1", "1e5", " 1", "ORD-1", "１２"}
	for _, ref := range bad {
		var v *payments.ValidationError
		assert.ErrorAs(t, c.Driver().CheckRef(ref), &v, ref)
		r := request(payout.Card)
		r.Ref = ref
		_, err := c.Send(ctx, r)
		assert.ErrorAs(t, err, &v, ref)
		_, err = c.Get(ctx, ref)
		assert.ErrorAs(t, err, &v, ref)
		_, err = c.Wait(ctx, payout.Query{Ref: ref})
		assert.ErrorAs(t, err, &v, ref)
	}
	assert.Empty(t, srv.Requests(), "a Ref that cannot map is refused before sending")

	// The 20-digit maximum maps one to one.
	r := request(payout.Card)
	r.Ref = "12345678901234567890"
	_, err := c.Send(ctx, r)
	require.NoError(t, err)
	rec, ok := srv.Payment(r.Ref)
	require.True(t, ok)
	assert.Equal(t, r.Ref, rec.TransactionNumber)
}

func TestMobileLooksUpTheOperator(t *testing.T) {
	c, srv := client(t, qiwipayout.Options{})
	srv.SetProvider("916", 42)
	ctx := context.Background()
	r := request(payout.Mobile)
	p, err := c.Send(ctx, r)
	require.NoError(t, err)
	assert.Equal(t, payments.StatePending, p.State)
	rec, ok := srv.Payment(r.Ref)
	require.True(t, ok)
	assert.Equal(t, int(qiwitopup.ServiceMobile), rec.ServiceID)
	assert.Equal(t, phone, rec.Account)
	assert.Equal(t, "id:42;acc:9161234567;sum:50.00", rec.ToExtras["account0"])
	assert.Equal(t, 1, srv.Count(qiwitopuptest.OpGetProvider))

	// Resending looks the operator up again and finds the same payment.
	_, err = c.Send(ctx, r)
	require.NoError(t, err)
	assert.Len(t, srv.Payments(), 1)

	// Other countries' numbers are refused before any request.
	before := len(srv.Requests())
	for _, acct := range []string{"380501234567", "4915112345678", "89161234567", "7916123456"} {
		r := request(payout.Mobile)
		r.To.Account = acct
		_, err := c.Send(ctx, r)
		var v *payments.ValidationError
		assert.ErrorAs(t, err, &v, acct)
	}
	assert.Equal(t, before, len(srv.Requests()))

	// An operator QIWI does not know (the fake knows numbers from 9 only):
	// the lookup's error, and no pay.
	pays := srv.Count(qiwitopuptest.OpPay)
	r = request(payout.Mobile)
	r.To.Account = "78121234567"
	_, err = c.Send(ctx, r)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "mobile operator lookup")
	assert.False(t, errors.Is(err, payments.ErrOutcomeUnknown))
	assert.Equal(t, pays, srv.Count(qiwitopuptest.OpPay))
	_, held := srv.Payment(r.Ref)
	assert.False(t, held)
}

func TestDepositImpossibleRefusesBeforePaying(t *testing.T) {
	c, srv := client(t, qiwipayout.Options{})
	ctx := context.Background()
	const blocked = "79990001122"
	srv.SetDepositImpossible(blocked)
	r := request(payout.Wallet)
	r.To.Account = blocked
	p, err := c.Send(ctx, r)
	require.ErrorIs(t, err, payments.ErrDeclined)
	require.ErrorIs(t, err, qiwitopup.ErrDepositImpossible)
	var ae *payments.APIError
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, "204", ae.Code)
	assert.False(t, errors.Is(err, payments.ErrOutcomeUnknown))
	assert.Equal(t, payments.StateFailed, p.State)
	assert.Equal(t, err, p.Err)
	assert.Zero(t, srv.Count(qiwitopuptest.OpPay), "no pay after a 'not possible' answer")
	assert.Equal(t, 1, srv.Count(qiwitopuptest.OpCheckDepositPossible))

	// A Ref paid before the wallet became impossible: the resend answers
	// the payout QIWI has, still without a pay.
	r = request(payout.Wallet)
	first, err := c.Send(ctx, r)
	require.NoError(t, err)
	srv.SetDepositImpossible(r.To.Account)
	again, err := c.Send(ctx, r)
	require.NoError(t, err)
	assert.Equal(t, first.ProviderID, again.ProviderID)
	assert.Equal(t, 1, srv.Count(qiwitopuptest.OpPay))
}

func TestNoNewWallets(t *testing.T) {
	c, srv := client(t, qiwipayout.Options{NoNewWallets: true})
	r := request(payout.Wallet)
	_, err := c.Send(context.Background(), r)
	require.ErrorIs(t, err, qiwitopup.ErrDepositImpossible)
	assert.Zero(t, srv.Count(qiwitopuptest.OpPay))

	srv.AddWallet(r.To.Account, true)
	_, err = c.Send(context.Background(), r)
	require.NoError(t, err)
	assert.Equal(t, 1, srv.Count(qiwitopuptest.OpPay))
}

func TestNotRegisteredIsSendAgainLater(t *testing.T) {
	c, srv := client(t, qiwipayout.Options{})
	ctx := context.Background()
	r := request(payout.Card)
	srv.FailNext(1, 200, `<?xml version="1.0" encoding="utf-8"?>
<response><result-code fatal="false">0</result-code>
<payment status='-1' txn_id='' transaction-number='`+r.Ref+`' result-code='0' final-status='false' fatal-error='false' />
</response>`)
	p, err := c.Send(ctx, r)
	require.ErrorIs(t, err, payments.ErrOutcomeUnknown)
	var ou *payments.OutcomeUnknownError
	require.ErrorAs(t, err, &ou)
	assert.Equal(t, "pay", ou.Op)
	assert.Equal(t, r.Ref, ou.Ref)
	assert.Contains(t, err.Error(), "send the same Ref again later")
	assert.Equal(t, payments.StateUnknown, p.State)
	assert.NoError(t, p.Err, "not a failure")
	assert.False(t, payout.NeverReceived(err))

	// The resend registers it, once.
	p, err = c.Send(ctx, r)
	require.NoError(t, err)
	assert.Equal(t, payments.StatePending, p.State)
	assert.NotEmpty(t, p.ProviderID)
	assert.Len(t, srv.Payments(), 1)
}

func TestSameRefOtherDetailsIs215(t *testing.T) {
	c, srv := client(t, qiwipayout.Options{})
	ctx := context.Background()
	r := request(payout.Card)
	_, err := c.Send(ctx, r)
	require.NoError(t, err)
	other := r
	other.Amount = payments.MustMoney("51.00", "RUB")
	p, err := c.Send(ctx, other)
	require.ErrorIs(t, err, payments.ErrDuplicate)
	require.ErrorIs(t, err, qiwitopup.ErrTxnNumberReused)
	assert.False(t, errors.Is(err, payments.ErrOutcomeUnknown))
	assert.Equal(t, p.Err, err)
	assert.Len(t, srv.Payments(), 1)
	rec, _ := srv.Payment(r.Ref)
	assert.Equal(t, "50.00", rec.Amount)
}

func TestFinalFailure(t *testing.T) {
	c, srv := client(t, qiwipayout.Options{})
	ctx := context.Background()
	r := request(payout.Card)
	srv.FailAccount(card, 702)
	p, err := c.Send(ctx, r)
	require.NoError(t, err, "accepted, not final yet")
	assert.Equal(t, payments.StatePending, p.State)

	w, err := c.Wait(ctx, payout.Query{Ref: r.Ref})
	require.NoError(t, err, "Wait ends at a final status, a failure included")
	assert.Equal(t, payments.StateFailed, w.State)
	assert.Equal(t, "160", w.Code)
	var ae *payments.APIError
	require.ErrorAs(t, w.Err, &ae)
	assert.Equal(t, "702", ae.Code)
	assert.IsType(t, qiwitopup.StatusResult{}, w.Raw)

	// A resend answers the failed payout, as an error too.
	again, err := c.Send(ctx, r)
	require.Error(t, err)
	assert.Equal(t, payments.StateFailed, again.State)
	assert.Equal(t, again.Err, err)
	assert.IsType(t, qiwitopup.Payment{}, again.Raw)
	assert.Len(t, srv.Payments(), 1)
}

func TestGetSendsTheAccount(t *testing.T) {
	c, srv := client(t, qiwipayout.Options{})
	ctx := context.Background()
	r := request(payout.Card)
	_, err := c.Send(ctx, r)
	require.NoError(t, err)
	unknown := newRef()
	ps, err := c.GetMany(ctx, []payout.Query{{Ref: r.Ref, To: r.To}, {Ref: unknown}})
	require.NoError(t, err)
	assert.Equal(t, payments.StatePending, ps[0].State)
	assert.Equal(t, r.To, ps[0].To)
	assert.Equal(t, payments.StateUnknown, ps[1].State)
	assert.ErrorIs(t, ps[1].Err, payments.ErrNotFound)
	assert.Equal(t, 1, srv.Count(qiwitopuptest.OpStatus), "one status request for the batch")
	reqs := srv.Requests()
	body := string(reqs[len(reqs)-1].Body)
	assert.Contains(t, body, "<account-number>"+card+"</account-number>")
	assert.Equal(t, 1, strings.Count(body, "<account-number>"), "no account for a query without To")
}

func TestWait(t *testing.T) {
	ctx := context.Background()
	t.Run("NotFoundTwiceInARow", func(t *testing.T) {
		c, srv := client(t, qiwipayout.Options{})
		_, err := c.Wait(ctx, payout.Query{Ref: newRef()})
		require.ErrorIs(t, err, payments.ErrNotFound)
		assert.Equal(t, 2, srv.Count(qiwitopuptest.OpStatus))
	})
	t.Run("ErrorsArePolledThrough", func(t *testing.T) {
		c, srv := client(t, qiwipayout.Options{})
		r := request(payout.SBP)
		_, err := c.Send(ctx, r)
		require.NoError(t, err)
		srv.ErrorNext(2, 300, false)
		srv.FailNext(1, 502, "Bad Gateway")
		p, err := c.Wait(ctx, payout.Query{Ref: r.Ref})
		require.NoError(t, err)
		assert.Equal(t, payments.StateSucceeded, p.State)
	})
	t.Run("UndocumentedFinalIsOutcomeUnknown", func(t *testing.T) {
		c, srv := client(t, qiwipayout.Options{})
		ref := newRef()
		srv.FailNext(1, 200, `<?xml version="1.0" encoding="utf-8"?>
<response><result-code fatal="false">0</result-code>
<payment status='70' txn_id='5' transaction-number='`+ref+`' result-code='0' final-status='true' fatal-error='false' />
</response>`)
		p, err := c.Wait(ctx, payout.Query{Ref: ref})
		require.ErrorIs(t, err, payments.ErrOutcomeUnknown)
		assert.Contains(t, err.Error(), "undocumented")
		assert.Equal(t, payments.StateUnknown, p.State)
		assert.Equal(t, "70", p.Code)
	})
	t.Run("ContextEndsWithTheLastPayout", func(t *testing.T) {
		c, srv := client(t, qiwipayout.Options{}, qiwitopuptest.WithStepsPerPoll(0))
		r := request(payout.Wallet)
		_, err := c.Send(ctx, r)
		require.NoError(t, err)
		cctx, cancel := context.WithTimeout(ctx, 30*time.Millisecond)
		defer cancel()
		p, err := c.Wait(cctx, payout.Query{Ref: r.Ref, To: r.To})
		require.ErrorIs(t, err, context.DeadlineExceeded)
		assert.Contains(t, err.Error(), "qiwitopup wait")
		assert.Equal(t, payments.StatePending, p.State)
		assert.Equal(t, r.Ref, p.Ref)
		assert.Greater(t, srv.Count(qiwitopuptest.OpStatus), 1)
	})
}

func TestBalance(t *testing.T) {
	c, srv := client(t, qiwipayout.Options{})
	require.NoError(t, srv.SetBalance("RUB", "1234.56"))
	b, err := c.Balance(context.Background())
	require.NoError(t, err)
	assert.True(t, b.Equal(payments.MustMoney("1234.56", "RUB")), b.String())
}

func TestCashFlag(t *testing.T) {
	for _, cash := range []bool{false, true} {
		c, srv := client(t, qiwipayout.Options{Cash: cash})
		r := request(payout.Wallet)
		_, err := c.Send(context.Background(), r)
		require.NoError(t, err)
		rec, _ := srv.Payment(r.Ref)
		want := "1"
		if cash {
			want = "0"
		}
		assert.Equal(t, want, rec.IncomeWireTransfer, "cash %v", cash)
		check := string(srv.Requests()[0].Body)
		assert.Contains(t, check, `<extra name="income_wire_transfer">`+want+`</extra>`, "the check asks what the pay sends")
	}
}

func env(m map[string]string) payments.OpenOption {
	return payments.OpenEnv(func(k string) (string, bool) { v, ok := m[k]; return v, ok })
}

func TestOpen(t *testing.T) {
	ctx := context.Background()
	srv := newFake(t)

	_, err := payout.Open(ctx, "qiwitopup://", env(map[string]string{"QIWI_TERMINAL_ID": "123"}))
	var v *payments.ValidationError
	require.ErrorAs(t, err, &v)
	assert.Contains(t, err.Error(), "QIWI_PASSWORD")
	_, err = payout.Open(ctx, "qiwitopup://", env(nil))
	assert.ErrorContains(t, err, "QIWI_TERMINAL_ID")

	creds := payments.OpenCredentials(qiwitopup.PasswordAuth(srv.TerminalID(), srv.Password()))
	for _, u := range []string{"qiwitopup://?bogus=1", "qiwitopup://?poll_interval=soon", "qiwitopup://?poll_interval=-1s",
		"qiwitopup://?non_cash=maybe", "qiwitopup://?new_wallets=2", "qiwitopup://?base_url=a&base_url=b"} {
		_, err := payout.Open(ctx, u, creds)
		assert.ErrorAs(t, err, &v, u)
	}
	_, err = payout.Open(ctx, "qiwitopup://", payments.OpenCredentials("123:secret"))
	assert.ErrorAs(t, err, &v)
	assert.NotContains(t, err.Error(), "secret")

	// Explicit credentials against the fake.
	c, err := payout.Open(ctx, "qiwitopup://?poll_interval=1ms&non_cash=false", creds,
		payments.OpenClientOptions(append(srv.ClientOptions(), payments.WithTestTiming())...))
	require.NoError(t, err)
	defer c.Close()
	assert.Equal(t, "qiwitopup", c.Provider())
	_, err = c.Balance(ctx)
	require.NoError(t, err)
	r := request(payout.Wallet)
	_, err = c.Send(ctx, r)
	require.NoError(t, err)
	rec, _ := srv.Payment(r.Ref)
	assert.Equal(t, "0", rec.IncomeWireTransfer, "non_cash=false")
	srv.Complete(r.Ref)
	p, err := c.Wait(ctx, payout.Query{Ref: r.Ref})
	require.NoError(t, err)
	assert.Equal(t, payments.StateSucceeded, p.State)
	var qc *qiwitopup.Client
	assert.True(t, c.As(&qc))

	// The environment's credentials (the fake's address and CA from the
	// client options).
	c2, err := payout.Open(ctx, "qiwitopup://?new_wallets=false",
		env(map[string]string{"QIWI_TERMINAL_ID": srv.TerminalID(), "QIWI_PASSWORD": srv.Password()}),
		payments.OpenClientOptions(append(srv.ClientOptions(), payments.WithTestTiming())...))
	require.NoError(t, err)
	defer c2.Close()
	fresh := request(payout.Wallet)
	fresh.To.Account = "79005550011" // no wallet yet
	_, err = c2.Send(ctx, fresh)
	assert.ErrorIs(t, err, qiwitopup.ErrDepositImpossible, "new_wallets=false: no wallet for a new number")

	// A wrong password reaches QIWI and is refused (150), never paid.
	c3, err := payout.Open(ctx, "qiwitopup://", payments.OpenCredentials(qiwitopup.PasswordAuth(srv.TerminalID(), "wrong")),
		payments.OpenClientOptions(append(srv.ClientOptions(), payments.WithTestTiming())...))
	require.NoError(t, err)
	defer c3.Close()
	_, err = c3.Send(ctx, request(payout.Card))
	assert.ErrorIs(t, err, payments.ErrUnauthorized)
	assert.True(t, payout.NeverReceived(err))
}
