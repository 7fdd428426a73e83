package popolni_test

// The client against the fake popolni.club, over real TLS on loopback.

import (
	"bytes"
	"context"
	"encoding/base64"
	"log/slog"
	"net"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/popolni"
	"github.com/paysdk/payments/popolni/popolnitest"
)

func fastRetry() payments.Option {
	return payments.WithRetry(payments.RetryPolicy{MaxAttempts: 4, BaseDelay: 5 * time.Millisecond, MaxDelay: 50 * time.Millisecond})
}

func newClient(t *testing.T, srv *popolnitest.Server, extra ...payments.Option) *popolni.Client {
	t.Helper()
	opts := append(srv.ClientOptions(), payments.WithLimiter(payments.Unlimited()), fastRetry())
	c, err := popolni.New(popolni.Credentials{Login: srv.Login(), Password: srv.Password()}, append(opts, extra...)...)
	require.NoError(t, err)
	return c.WithPollInterval(time.Millisecond)
}

func TestFakeSeesTheBoundSourceAddress(t *testing.T) {
	srv := popolnitest.NewServer(popolnitest.WithT(t), popolnitest.WithAllowedIPs("127.0.0.2"))
	_, err := newClient(t, srv, payments.WithLocalAddr("127.0.0.2")).Balance(context.Background())
	require.NoError(t, err)
	reqs := srv.Requests()
	require.Len(t, reqs, 1)
	host, _, err := net.SplitHostPort(reqs[0].RemoteAddr)
	require.NoError(t, err)
	assert.Equal(t, "127.0.0.2", host)

	_, err = newClient(t, srv).Balance(context.Background()) // from 127.0.0.1
	assert.ErrorIs(t, err, popolni.DenialIPNotAllowed)
}

func TestCertificateFromUnknownCAIsRefused(t *testing.T) {
	srv := popolnitest.NewServer(popolnitest.WithT(t))
	other := popolnitest.NewServer(popolnitest.WithT(t)) // another CA
	c, err := popolni.New(popolni.Credentials{Login: srv.Login(), Password: srv.Password()},
		payments.WithBaseURL(srv.URL()), payments.WithResolve(popolnitest.Host, "127.0.0.1"),
		payments.WithRootCAsPEM(other.CACertPEM()), payments.WithLimiter(payments.Unlimited()))
	require.NoError(t, err)
	_, err = c.Pay(context.Background(), []popolni.Payment{{ID: 1000000001, Amount: 500, Account: "380991234567"}})
	require.Error(t, err)
	assert.NotErrorIs(t, err, payments.ErrOutcomeUnknown, "nothing was sent")
	assert.Zero(t, len(srv.Requests()), "the fake never saw a request")
	assert.Empty(t, srv.Payments())
}

func TestLostPayAnswerNeverPaysTwice(t *testing.T) {
	srv := popolnitest.NewServer(popolnitest.WithT(t), popolnitest.WithBalance(10000, 0))
	c := newClient(t, srv)
	for _, inject := range []func(){func() { srv.DropNext(1) }, func() { srv.FailNext(1, 502, "Bad Gateway") }} {
		srv.Reset()
		inject()
		id := int64(1000000001 + srv.Count(popolnitest.OpPay) + len(srv.Payments()))
		res, err := c.Pay(context.Background(), []popolni.Payment{{ID: id, Amount: 1000, Account: "380991234567"}})
		require.NoError(t, err)
		assert.NotEqual(t, popolni.StatusDuplicate, res[0].Status, "our own resend is not a duplicate")
		final, err := c.WaitFinal(context.Background(), id)
		require.NoError(t, err)
		assert.Equal(t, popolni.StatusSucceeded, final[0].Status)
	}
	cur, _ := srv.Balance()
	assert.Equal(t, int64(8000), cur, "two payments of 10.00, each debited once")
	assert.Len(t, srv.Payments(), 2)
}

func TestUnreadablePayAnswerIsReconciledByStatus(t *testing.T) {
	srv := popolnitest.NewServer(popolnitest.WithT(t))
	c := newClient(t, srv)
	for i, inject := range []func(){func() { srv.TruncateNext(1) }, func() { srv.GarbageNext(1) }} {
		inject()
		id := int64(1000000001 + i)
		_, err := c.Pay(context.Background(), []popolni.Payment{{ID: id, Amount: 500, Account: "380991234567"}})
		assert.ErrorIs(t, err, payments.ErrOutcomeUnknown)
		res, err := c.Status(context.Background(), id)
		require.NoError(t, err)
		assert.Equal(t, popolni.StatusInProgress, res[0].Status, "the batch had landed")
	}
	assert.Equal(t, 2, srv.Count(popolnitest.OpPay), "an unreadable answer is never resent")
}

func TestFakeRateLimitIsRetriedThrough(t *testing.T) {
	srv := popolnitest.NewServer(popolnitest.WithT(t))
	c := newClient(t, srv, payments.WithRetry(payments.RetryPolicy{MaxAttempts: 20, BaseDelay: 100 * time.Millisecond, MaxDelay: time.Second}))
	var wg sync.WaitGroup
	errs := make(chan error, 12)
	for i := 0; i < 12; i++ {
		wg.Add(1)
		go func() { defer wg.Done(); _, err := c.Balance(context.Background()); errs <- err }()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		assert.NoError(t, err)
	}
	rejected := 0
	for _, r := range srv.Requests() {
		if r.Answered == 503 {
			rejected++
		}
	}
	assert.Positive(t, rejected, "12 unthrottled callers met the 5 rps limit")
}

func TestInsufficientFundsAndFailures(t *testing.T) {
	srv := popolnitest.NewServer(popolnitest.WithT(t), popolnitest.WithBalance(1000, 500))
	srv.Blacklist("380670000000")
	c := newClient(t, srv)
	res, err := c.Pay(context.Background(), []popolni.Payment{
		{ID: 1000000001, Amount: 1600, Account: "380991234567"},
		{ID: 1000000002, Amount: 1500, Account: "380991234567"},
		{ID: 1000000003, Amount: 100, Account: "380670000000"},
	})
	require.NoError(t, err)
	assert.Equal(t, popolni.StatusInsufficientFunds, res[0].Status)
	assert.ErrorIs(t, res[0].Err(), payments.ErrInsufficientFunds)
	final, err := c.WaitFinal(context.Background(), 1000000002, 1000000003)
	require.NoError(t, err)
	assert.Equal(t, []popolni.Result{{ID: 1000000002, Status: popolni.StatusSucceeded}, {ID: 1000000003, Status: popolni.StatusBlacklisted}}, final)
	bal, err := c.Balance(context.Background())
	require.NoError(t, err)
	assert.Equal(t, popolni.Balance{Current: -500, CreditLimit: 500}, bal)
}

func TestNoPasswordInErrorsOrLogs(t *testing.T) {
	const password = "Sup3r-Secret-Pa55"
	srv := popolnitest.NewServer(popolnitest.WithT(t), popolnitest.WithCredentials("partner", password))
	var logs bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	cred := popolni.Credentials{Login: "partner", Password: password + "-wrong"}
	c, err := popolni.New(cred, append(srv.ClientOptions(), payments.WithLimiter(payments.Unlimited()), fastRetry(), payments.WithLogger(logger))...)
	require.NoError(t, err)
	_, authErr := c.Balance(context.Background())
	assert.ErrorIs(t, authErr, popolni.DenialIncorrectAuth)
	assert.ErrorIs(t, authErr, payments.ErrUnauthorized)

	good, err := popolni.New(popolni.Credentials{Login: "partner", Password: password},
		append(srv.ClientOptions(), payments.WithLimiter(payments.Unlimited()), fastRetry(), payments.WithLogger(logger))...)
	require.NoError(t, err)
	srv.DropNext(1)
	srv.FailNext(1, 500, "Internal Server Error")
	_, err2 := good.Pay(context.Background(), []popolni.Payment{{ID: 1000000001, Amount: 500, Account: "4111111111111111"}})
	require.NoError(t, err2)
	logger.Info("client", "credentials", cred, "client", good)

	secrets := []string{password, base64.StdEncoding.EncodeToString([]byte("partner:" + password)), "Basic ", "4111111111111111"}
	for _, s := range secrets {
		assert.NotContains(t, authErr.Error(), s)
		assert.NotContains(t, logs.String(), s)
	}
	assert.Contains(t, logs.String(), `"op":"pay"`, "the attempts were logged")
}

// recordingLimiter records when each token was handed out.
type recordingLimiter struct {
	inner payments.Limiter
	mu    sync.Mutex
	times []time.Time
}

func (l *recordingLimiter) Wait(ctx context.Context) error {
	if err := l.inner.Wait(ctx); err != nil {
		return err
	}
	l.mu.Lock()
	l.times = append(l.times, time.Now())
	l.mu.Unlock()
	return nil
}

func TestDefaultLimitUnder50ConcurrentCallers(t *testing.T) {
	if testing.Short() {
		t.Skip("10 s at 5 requests a second")
	}
	srv := popolnitest.NewServer(popolnitest.WithT(t))
	inner, err := payments.NewLimiter(payments.DefaultRate, payments.DefaultBurst)
	require.NoError(t, err)
	lim := &recordingLimiter{inner: inner}
	c, err := popolni.New(popolni.Credentials{Login: srv.Login(), Password: srv.Password()}, append(srv.ClientOptions(), payments.WithLimiter(lim))...)
	require.NoError(t, err)
	var wg sync.WaitGroup
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := c.Balance(context.Background())
			assert.NoError(t, err)
		}()
	}
	wg.Wait()
	times := append([]time.Time(nil), lim.times...)
	sort.Slice(times, func(i, j int) bool { return times[i].Before(times[j]) })
	require.GreaterOrEqual(t, len(times), 50, "a token per attempt")
	for i := range times {
		n := 0
		for j := i; j < len(times) && times[j].Sub(times[i]) < time.Second; j++ {
			n++
		}
		assert.LessOrEqual(t, n, 5, "requests started in the second after %v", times[i])
	}
	assert.Equal(t, len(times), len(srv.Requests()), "every request the fake saw took a token")
}
