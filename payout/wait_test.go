package payout_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/payout"
)

// step is one scripted answer of a status request.
type step struct {
	state payments.State
	err   error // the payout's Err
	fail  error // the request's error
}

// pollDriver answers Get from a script and has no Wait of its own: the
// portable Client.Wait must do the polling.
type pollDriver struct {
	mu     sync.Mutex
	script []step
	gets   int
	onGet  func(n int) // called with the request's number (from 1)
	tos    []payout.Destination
}

func (d *pollDriver) Capabilities() payout.Capabilities {
	return payout.Capabilities{Provider: "poll", Kinds: []payout.Kind{payout.Mobile}, StatusBatch: 5, RefForm: "any",
		PollInterval: time.Millisecond, Limits: map[string]payout.Limit{"RUB": {}}}
}
func (d *pollDriver) CheckRef(string) error { return nil }
func (d *pollDriver) Send(context.Context, payout.Request) (payout.Payout, error) {
	return payout.Payout{}, errors.New("not used")
}
func (d *pollDriver) Get(_ context.Context, qs []payout.Query) ([]payout.Payout, error) {
	d.mu.Lock()
	d.gets++
	n := d.gets
	s := d.script[min(n, len(d.script))-1]
	d.tos = append(d.tos, qs[0].To)
	d.mu.Unlock()
	if d.onGet != nil {
		d.onGet(n)
	}
	if s.fail != nil {
		return nil, s.fail
	}
	return []payout.Payout{{Ref: qs[0].Ref, Provider: "poll", State: s.state, Err: s.err}}, nil
}
func (d *pollDriver) Balance(context.Context) (payments.Money, error) { return payments.Money{}, nil }
func (d *pollDriver) As(any) bool                                     { return false }
func (d *pollDriver) Close() error                                    { return nil }

var (
	notFound = &payments.APIError{Provider: "poll", Op: "status", Category: payments.ErrNotFound}
	refused  = &payments.APIError{Provider: "poll", Op: "status", Category: payments.ErrDeclined}
	errFlaky = errors.New("502 bad gateway")
)

func TestWaitPollsGet(t *testing.T) {
	ctx := context.Background()
	q := payout.Query{Ref: "1", To: payout.Destination{Kind: payout.Mobile, Account: "79161234567"}}
	for name, tc := range map[string]struct {
		script  []step
		gets    int
		state   payments.State
		wantErr error
	}{
		"FinalAfterPending":        {[]step{{state: payments.StatePending}, {state: payments.StatePending}, {state: payments.StateSucceeded}}, 3, payments.StateSucceeded, nil},
		"FailureIsFinalNotAnError": {[]step{{state: payments.StateFailed, err: refused}}, 1, payments.StateFailed, nil},
		"NotFoundTwiceInARow":      {[]step{{state: payments.StateUnknown, err: notFound}}, 2, payments.StateUnknown, payments.ErrNotFound},
		"NotFoundOnceIsAskedAgain": {[]step{{state: payments.StateUnknown, err: notFound}, {state: payments.StatePending},
			{state: payments.StateUnknown, err: notFound}, {state: payments.StateSucceeded}}, 4, payments.StateSucceeded, nil},
		"ErrorsArePolledThrough": {[]step{{fail: errFlaky}, {fail: errFlaky}, {state: payments.StateSucceeded}}, 3, payments.StateSucceeded, nil},
		"OutcomeUnknownEnds": {[]step{{state: payments.StateUnknown, err: &payments.OutcomeUnknownError{Provider: "poll", Op: "status", Ref: "1", Err: errFlaky}}},
			1, payments.StateUnknown, payments.ErrOutcomeUnknown},
	} {
		t.Run(name, func(t *testing.T) {
			d := &pollDriver{script: tc.script}
			p, err := payout.NewClient(d).Wait(ctx, q)
			if tc.wantErr != nil {
				require.ErrorIs(t, err, tc.wantErr)
			} else {
				require.NoError(t, err)
			}
			assert.Equal(t, tc.state, p.State)
			assert.Equal(t, "1", p.Ref)
			assert.Equal(t, tc.gets, d.gets)
			for _, to := range d.tos {
				assert.Equal(t, q.To, to, "every status request names the destination")
			}
		})
	}
}

func TestWaitContextEndsWithTheLastPayout(t *testing.T) {
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	gone := errors.New("shutting down")
	d := &pollDriver{script: []step{{state: payments.StatePending}, {fail: errFlaky}}}
	d.onGet = func(n int) {
		if n == 3 {
			cancel(gone)
		}
	}
	p, err := payout.NewClient(d).Wait(ctx, payout.Query{Ref: "1"})
	require.ErrorIs(t, err, context.Canceled)
	require.ErrorIs(t, err, gone)
	assert.Contains(t, err.Error(), "poll wait")
	assert.Contains(t, err.Error(), "502 bad gateway", "the last failed request is told")
	assert.Equal(t, payments.StatePending, p.State, "the last payout seen")
}

// waitDriver offers its own Wait (payout.Waiter).
type waitDriver struct {
	pollDriver
	waited []payout.Query
}

func (d *waitDriver) Wait(_ context.Context, q payout.Query) (payout.Payout, error) {
	d.waited = append(d.waited, q)
	return payout.Payout{Ref: q.Ref, State: payments.StateSucceeded}, nil
}

func TestWaiterIsPreferred(t *testing.T) {
	d := &waitDriver{}
	c := payout.NewClient(d)
	p, err := c.Wait(context.Background(), payout.Query{Ref: "7"})
	require.NoError(t, err)
	assert.Equal(t, payments.StateSucceeded, p.State)
	assert.Equal(t, []payout.Query{{Ref: "7"}}, d.waited)
	assert.Zero(t, d.gets, "the driver's Wait, not the portable loop")
	// The checks still come first.
	_, err = c.Wait(context.Background(), payout.Query{Ref: ""})
	var v *payments.ValidationError
	require.ErrorAs(t, err, &v)
	assert.Len(t, d.waited, 1)
}
