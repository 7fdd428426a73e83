package popolni_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/popolni"
	"github.com/paysdk/payments/popolni/popolnitest"
)

// TestCloseLeavesNoGoroutine runs every call against the fake over TLS,
// closes the client and checks that nothing of it keeps running: the
// keep-alive connections (and their read and write loops, and the fake's
// goroutine serving each) are gone. The fake itself was running before the
// snapshot and is closed after the check.
func TestCloseLeavesNoGoroutine(t *testing.T) {
	srv := popolnitest.NewServer(popolnitest.WithT(t), popolnitest.WithStepsPerPoll(2), popolnitest.WithRateLimit(0))
	before := goleak.IgnoreCurrent()

	c, err := popolni.New(popolni.Credentials{Login: srv.Login(), Password: srv.Password()},
		append(srv.ClientOptions(), payments.WithTestTiming())...)
	require.NoError(t, err)
	c = c.WithPollInterval(time.Millisecond)
	ctx := context.Background()
	_, err = c.Pay(ctx, []popolni.Payment{{ID: 1000000001, Amount: 500, Account: "380991234567"}})
	require.NoError(t, err)
	_, err = c.WaitFinal(ctx, 1000000001)
	require.NoError(t, err)
	_, err = c.Balance(ctx)
	require.NoError(t, err)

	require.NoError(t, c.Close())
	require.NoError(t, c.Close(), "a second Close is harmless")
	goleak.VerifyNone(t, before)

	sent := len(srv.Requests())
	_, err = c.Balance(ctx)
	assert.ErrorIs(t, err, payments.ErrUnavailable, "a call after Close fails")
	_, err = c.Pay(ctx, []popolni.Payment{{ID: 1000000002, Amount: 500, Account: "380991234567"}})
	assert.Error(t, err)
	assert.NotErrorIs(t, err, payments.ErrOutcomeUnknown, "nothing was sent")
	assert.Len(t, srv.Requests(), sent, "nothing is sent after Close")
}

// TestNilContextIsAnErrorNotAPanic calls every method with a nil context.
func TestNilContextIsAnErrorNotAPanic(t *testing.T) {
	srv := popolnitest.NewServer(popolnitest.WithT(t))
	c, err := popolni.New(popolni.Credentials{Login: srv.Login(), Password: srv.Password()},
		append(srv.ClientOptions(), payments.WithTestTiming())...)
	require.NoError(t, err)
	defer c.Close()
	var nilCtx context.Context
	calls := map[string]func() error{
		"Pay": func() error {
			_, err := c.Pay(nilCtx, []popolni.Payment{{ID: 1000000001, Amount: 500, Account: "380991234567"}})
			return err
		},
		"Status": func() error {
			_, err := c.Status(nilCtx, 1000000001)
			return err
		},
		"Balance": func() error {
			_, err := c.Balance(nilCtx)
			return err
		},
		"WaitFinal": func() error {
			_, err := c.WaitFinal(nilCtx, 1000000001)
			return err
		},
		"WaitFinal with no ids": func() error {
			_, err := c.WaitFinal(nilCtx)
			return err
		},
	}
	for name, call := range calls {
		var err error
		require.NotPanics(t, func() { err = call() }, name)
		assert.ErrorIs(t, err, payments.ErrNilContext, name)
		assert.ErrorIs(t, err, payments.ErrInvalidRequest, name)
	}
	assert.Empty(t, srv.Requests(), "nothing sent")
}

// TestWaitFinalEndedByTheCallerSaysWhere cancels WaitFinal while it waits
// between polls and while a status request is under way: the error names
// the provider and the operation, matches context.Canceled (and the cause),
// and is no ErrOutcomeUnknown: a wait moves no money.
func TestWaitFinalEndedByTheCallerSaysWhere(t *testing.T) {
	srv := popolnitest.NewServer(popolnitest.WithT(t), popolnitest.WithStepsPerPoll(0), popolnitest.WithRateLimit(0)) // never final
	c, err := popolni.New(popolni.Credentials{Login: srv.Login(), Password: srv.Password()},
		append(srv.ClientOptions(), payments.WithTestTiming())...)
	require.NoError(t, err)
	defer c.Close()
	_, err = c.Pay(context.Background(), []popolni.Payment{{ID: 1000000001, Amount: 500, Account: "380991234567"}})
	require.NoError(t, err)

	stop := errors.New("shop closing")
	check := func(what string, err error, res []popolni.Result, known popolni.Status) {
		t.Helper()
		assert.ErrorIs(t, err, context.Canceled, what)
		assert.ErrorIs(t, err, stop, what+": the cause")
		assert.NotErrorIs(t, err, payments.ErrOutcomeUnknown, what)
		require.Error(t, err, what)
		assert.Contains(t, err.Error(), "popolni wait-final: ", what)
		assert.Equal(t, []popolni.Result{{ID: 1000000001, Status: known}}, res, what+": what it knew")
	}

	// Between polls: the first answer came, then the caller gave up.
	ctx, cancel := context.WithCancelCause(context.Background())
	go func() {
		// Wait until the fake has answered the first status request, then
		// give the client ample time to read it: the next poll is an hour
		// away, so the wait is then certainly between polls.
		for !answered(srv, popolnitest.OpStatus) {
			time.Sleep(time.Millisecond)
		}
		time.Sleep(200 * time.Millisecond)
		cancel(stop)
	}()
	res, err := c.WithPollInterval(time.Hour).WaitFinal(ctx, 1000000001)
	check("between polls", err, res, popolni.StatusReceived)

	// During a status request: the fake holds the answer until the caller
	// gives up.
	srv.Reset()
	srv.DelayNext(1, time.Hour)
	ctx, cancel = context.WithCancelCause(context.Background())
	go func() {
		for srv.Count(popolnitest.OpStatus) == 0 {
			time.Sleep(time.Millisecond)
		}
		cancel(stop)
	}()
	res, err = c.WithPollInterval(time.Millisecond).WaitFinal(ctx, 1000000001)
	check("during a request", err, res, popolni.StatusUnknown)
}

// answered reports whether the fake has answered a request of op.
func answered(srv *popolnitest.Server, op string) bool {
	for _, r := range srv.Requests() {
		if r.Op == op && r.Answered != 0 {
			return true
		}
	}
	return false
}
