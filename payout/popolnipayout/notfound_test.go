package popolnipayout_test

// The document's 125 rule (section 3, "Коды статусов"): "Для статуса 125
// необходима повторная проверка статуса – этот статус может вернуть для
// существующего платежа в момент перехода платежа из одной очереди
// (ожидания) в другую очередь (оплаченных или отмененных), если статус
// платежа при повторном опросе статуса равен 125, то такого платежа
// действительно нет."

import (
	"bytes"
	"context"
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/payout"
	"github.com/paysdk/payments/popolni/popolnitest"
)

// paths are the driver's two ways to popolni: one request per call, and
// through a Batcher.
var paths = []struct {
	name string
	s    setup
}{{"plain", setup{}}, {"batched", setup{batch: true}}}

// retry3 is the test timing with 3 attempts per call, so that a fault
// queued 3 times exhausts one call.
var retry3 = []payments.Option{payments.WithTestTiming(),
	payments.WithRetry(payments.RetryPolicy{MaxAttempts: 3, BaseDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond})}

func mobile(ref string) payout.Request {
	return payout.Request{Ref: ref, Amount: payments.MustMoney("50.00", "RUB"),
		To: payout.Destination{Kind: payout.Mobile, Account: "380991234567"}}
}

func id(t *testing.T, ref string) int64 {
	n, err := strconv.ParseInt(ref, 10, 64)
	require.NoError(t, err)
	return n
}

// requireHeldNotNotFound checks a Send whose Ref popolni answered 124 (it
// holds the payment) and whose status could not be read: outcome unknown
// for that Ref, never not-found, never failed, never "never received".
func requireHeldNotNotFound(t *testing.T, ref string, p payout.Payout, err error) {
	t.Helper()
	require.Error(t, err)
	assert.ErrorIs(t, err, payments.ErrOutcomeUnknown)
	assert.NotErrorIs(t, err, payments.ErrNotFound, "popolni said 124: the payment exists")
	assert.NotErrorIs(t, p.Err, payments.ErrNotFound)
	var ou *payments.OutcomeUnknownError
	if assert.ErrorAs(t, err, &ou) {
		assert.Equal(t, ref, ou.Ref)
	}
	assert.False(t, payout.NeverReceived(err), "a router must not send it elsewhere")
	assert.Equal(t, ref, p.Ref)
	assert.Equal(t, "popolni", p.Provider)
	assert.Contains(t, []payments.State{payments.StateUnknown, payments.StatePending}, p.State)
}

// TestResendOf124IsNeverNotFound: a Send popolni answers 124 ("платёж с
// таким номером уже был создан ранее") asks the status under the 125 rule.
// A first 125 is asked again and the payout popolni holds is the answer; a
// 125 on both asks, or a status read that fails, is outcome-unknown for the
// Ref, never not-found: a merchant reading not-found as "never paid" would
// pay twice.
func TestResendOf124IsNeverNotFound(t *testing.T) {
	for _, path := range paths {
		t.Run(path.name, func(t *testing.T) {
			ctx := context.Background()
			f, srv := path.s.fixture(t, retry3...)
			c := payout.NewClient(f.Driver)
			r := mobile(newRef())
			_, err := c.Send(ctx, r)
			require.NoError(t, err)

			// A first 125, then the truth: the resend answers the payout.
			srv.NotFoundOnce(id(t, r.Ref))
			srv.Reset()
			p, err := c.Send(ctx, r)
			require.NoError(t, err, "124, then a first 125: popolni holds the payout")
			assert.Equal(t, r.Ref, p.Ref)
			assert.Contains(t, []payments.State{payments.StatePending, payments.StateSucceeded}, p.State)
			assert.Equal(t, 1, srv.Count(popolnitest.OpPay))
			assert.Equal(t, 2, srv.Count(popolnitest.OpStatus), "the 125 asked once more")

			// 125 on both asks.
			srv.NotFoundOnce(id(t, r.Ref))
			srv.NotFoundOnce(id(t, r.Ref))
			p, err = c.Send(ctx, r)
			requireHeldNotNotFound(t, r.Ref, p, err)

			// The status read refused (503 on every attempt): after a 124
			// that is no refusal of the payout.
			srv.DelayNext(1, 0) // the pay goes through as usual
			srv.FailNext(3, 503, popolnitest.TextRateLimited)
			p, err = c.Send(ctx, r)
			requireHeldNotNotFound(t, r.Ref, p, err)

			// The status answer unreadable.
			srv.DelayNext(1, 0)
			srv.GarbageNext(1) // a read is not retried on an unreadable answer
			p, err = c.Send(ctx, r)
			requireHeldNotNotFound(t, r.Ref, p, err)

			assert.Len(t, srv.Payments(), 1, "one payment through it all")

			// And the payout settles.
			f.Settle()
			p, err = c.Send(ctx, r)
			require.NoError(t, err)
			assert.Equal(t, payments.StateSucceeded, p.State)
		})
	}
}

// TestResendOf124ContextEndsDuringStatus: the caller's context ending
// while the status after a 124 is asked is outcome-unknown, not a plain
// context error a router would read as "nothing sent".
func TestResendOf124ContextEndsDuringStatus(t *testing.T) {
	for _, path := range paths {
		t.Run(path.name, func(t *testing.T) {
			f, srv := path.s.fixture(t, retry3...)
			c := payout.NewClient(f.Driver)
			r := mobile(newRef())
			_, err := c.Send(context.Background(), r)
			require.NoError(t, err)

			srv.DelayNext(1, 0)           // the pay: 124 at once
			srv.DelayNext(1, time.Minute) // the status: held until the caller leaves
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan struct{})
			var p payout.Payout
			go func() {
				defer close(done)
				p, err = c.Send(ctx, r)
			}()
			// Cancel once the status request has reached the fake.
			deadline := time.Now().Add(30 * time.Second)
			for srv.Count(popolnitest.OpStatus) == 0 && time.Now().Before(deadline) {
				time.Sleep(time.Millisecond)
			}
			cancel()
			<-done
			requireHeldNotNotFound(t, r.Ref, p, err)
			assert.ErrorIs(t, err, context.Canceled)
		})
	}
}

// TestGetAsksA125Again: Get believes a 125 only when a second status
// request answers 125 again, and asks that second time only about the 125s:
// one request for the batch, one for its 125s.
func TestGetAsksA125Again(t *testing.T) {
	for _, path := range paths {
		t.Run(path.name, func(t *testing.T) {
			ctx := context.Background()
			f, srv := path.s.fixture(t, payments.WithTestTiming())
			c := payout.NewClient(f.Driver)
			a, b, unknown := mobile(newRef()), mobile(newRef()), newRef()
			for _, r := range []payout.Request{a, b} {
				_, err := c.Send(ctx, r)
				require.NoError(t, err)
			}

			srv.NotFoundOnce(id(t, a.Ref))
			srv.Reset()
			p, err := c.Get(ctx, a.Ref)
			require.NoError(t, err, "a first 125 is not proof")
			assert.Equal(t, payments.StatePending, p.State)
			assert.Equal(t, 2, srv.Count(popolnitest.OpStatus))

			srv.NotFoundOnce(id(t, a.Ref))
			srv.Reset()
			ps, err := c.GetMany(ctx, []payout.Query{{Ref: a.Ref}, {Ref: unknown}, {Ref: b.Ref}})
			require.NoError(t, err)
			assert.Equal(t, payments.StateSucceeded, ps[0].State, "%+v", ps[0])
			assert.NoError(t, ps[0].Err)
			assert.Equal(t, payments.StateUnknown, ps[1].State)
			assert.ErrorIs(t, ps[1].Err, payments.ErrNotFound, "125 twice: really not there")
			assert.Equal(t, payments.StatePending, ps[2].State, "asked once: one step, %+v", ps[2])
			reqs := srv.Requests()
			require.Len(t, reqs, 2, "one status request for the batch, one for its 125s")
			again := reqs[1].Body
			assert.True(t, bytes.Contains(again, []byte(a.Ref)) && bytes.Contains(again, []byte(unknown)), "%s", again)
			assert.False(t, bytes.Contains(again, []byte(b.Ref)), "only the 125s asked again: %s", again)
		})
	}
}

// TestGetOfBlacklistedReadsThe423: a blacklisted payment answers 125, 423,
// 125...; Get asks the 125 again and reports the 423, not not-found.
func TestGetOfBlacklistedReadsThe423(t *testing.T) {
	for _, path := range paths {
		t.Run(path.name, func(t *testing.T) {
			ctx := context.Background()
			f, srv := path.s.fixture(t, payments.WithTestTiming())
			c := payout.NewClient(f.Driver)
			srv.Blacklist("380991234567")
			r := mobile(newRef())
			_, err := c.Send(ctx, r)
			require.ErrorIs(t, err, payments.ErrDeclined)
			for i := 0; i < 3; i++ {
				p, err := c.Get(ctx, r.Ref)
				require.NoError(t, err)
				assert.Equal(t, payments.StateFailed, p.State)
				assert.ErrorIs(t, p.Err, payments.ErrDeclined)
			}
		})
	}
}

// otherDriver is a provider a router prefers over popolni that refuses
// every payout before processing (rate limited) and knows none.
type otherDriver struct{ sends int }

func (o *otherDriver) Capabilities() payout.Capabilities {
	return payout.Capabilities{Provider: "other", Kinds: []payout.Kind{payout.Mobile}, StatusBatch: 1, RefForm: "any",
		Limits: map[string]payout.Limit{"RUB": {}}}
}
func (o *otherDriver) CheckRef(string) error { return nil }
func (o *otherDriver) Send(context.Context, payout.Request) (payout.Payout, error) {
	o.sends++
	return payout.Payout{}, &payments.APIError{Provider: "other", Op: "pay", Code: "503", Category: payments.ErrRateLimited}
}
func (o *otherDriver) Get(_ context.Context, qs []payout.Query) ([]payout.Payout, error) {
	out := make([]payout.Payout, len(qs))
	for i, q := range qs {
		out[i] = payout.Payout{Ref: q.Ref, Provider: "other",
			Err: &payments.APIError{Provider: "other", Op: "get", Category: payments.ErrNotFound}}
	}
	return out, nil
}
func (o *otherDriver) Wait(ctx context.Context, q payout.Query) (payout.Payout, error) {
	ps, _ := o.Get(ctx, []payout.Query{q})
	return ps[0], ps[0].Err
}
func (o *otherDriver) Balance(context.Context) (payments.Money, error) {
	return payments.Money{}, errors.ErrUnsupported
}
func (o *otherDriver) As(any) bool  { return false }
func (o *otherDriver) Close() error { return nil }

// TestRouterFindsThePayoutThroughA125: a payout that failed over to
// popolni, looked up by a router that lost its bindings (a restart), is
// found at popolni through a first 125, and a resend goes to popolni (124)
// again, never to the other provider.
func TestRouterFindsThePayoutThroughA125(t *testing.T) {
	for _, path := range paths {
		t.Run(path.name, func(t *testing.T) {
			ctx := context.Background()
			path.s.srv = []popolnitest.Option{popolnitest.WithNotFoundFirst()}
			f, srv := path.s.fixture(t, payments.WithTestTiming())
			other := &otherDriver{}
			oc, pc := payout.NewClient(other), payout.NewClient(f.Driver)
			r1, err := payout.NewRouter(oc, pc)
			require.NoError(t, err)
			req := mobile(newRef())
			_, err = payout.NewClient(r1).Send(ctx, req)
			require.NoError(t, err)
			require.Equal(t, 1, other.sends)
			prov, _ := r1.Provider(req.Ref)
			require.Equal(t, "popolni", prov)

			r2, err := payout.NewRouter(oc, pc) // restarted: no bindings
			require.NoError(t, err)
			rc := payout.NewClient(r2)
			p, err := rc.Get(ctx, req.Ref)
			require.NoError(t, err, "popolni holds it; a first 125 is not proof")
			assert.Equal(t, "popolni", p.Provider)
			prov, ok := r2.Provider(req.Ref)
			assert.True(t, ok)
			assert.Equal(t, "popolni", prov)

			p, err = rc.Send(ctx, req)
			require.NoError(t, err)
			assert.Equal(t, "popolni", p.Provider)
			assert.Equal(t, 1, other.sends, "never sent to the other provider again")
			assert.Len(t, srv.Payments(), 1)
		})
	}
}
