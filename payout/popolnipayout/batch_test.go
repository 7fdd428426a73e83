package popolnipayout_test

import (
	"context"
	"strconv"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/payout"
	"github.com/paysdk/payments/payout/payouttest"
	"github.com/paysdk/payments/popolni"
	"github.com/paysdk/payments/popolni/popolnitest"
)

// batchedFixture is a fixture with Options.Batch set: the driver sends
// through a popolni.Batcher.
func batchedFixture(t *testing.T, opts ...payments.Option) (payouttest.Fixture, *popolnitest.Server) {
	return setup{batch: true}.fixture(t, opts...)
}

// TestConformanceBatched runs the portable suite with Options.Batch: the
// driver keeps the contract when its Sends and Gets go through a Batcher.
func TestConformanceBatched(t *testing.T) {
	payouttest.RunConformanceTests(t, setup{batch: true}.harness())
}

// TestConformanceBatchedNotFoundFirst is the suite through a Batcher with
// every payment's first status answered 125.
func TestConformanceBatchedNotFoundFirst(t *testing.T) {
	payouttest.RunConformanceTests(t, setup{batch: true, srv: []popolnitest.Option{popolnitest.WithNotFoundFirst()}}.harness())
}

// TestBatchedSendsShareRequests: 200 concurrent Sends through the portable
// API reach the fake as a few pay requests, each payout once, each caller
// with its own payout; 200 concurrent Gets, then 200 concurrent Waits,
// likewise share status requests.
func TestBatchedSendsShareRequests(t *testing.T) {
	// popolni's own pace (5 requests a second): the Batcher packs what
	// queues while it waits for the next token.
	lim, err := payments.NewLimiterWithMargin(payments.DefaultRate, payments.DefaultBurst, 0)
	require.NoError(t, err)
	f, srv := batchedFixture(t, payments.WithTestTiming(), payments.WithLimiter(lim))
	c := payout.NewClient(f.Driver)
	var b *popolni.Batcher
	require.True(t, c.As(&b), "As reaches the Batcher")

	const n = 200
	refs := make([]string, n)
	for i := range refs {
		refs[i] = strconv.FormatInt(nextRef.Add(1), 10)
	}
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			to := payout.Destination{Kind: payout.Mobile, Account: "79161234567"}
			p, err := c.Send(context.Background(), payout.Request{Ref: refs[i], Amount: payments.MustMoney("1.00", "RUB"), To: to})
			if assert.NoError(t, err) {
				assert.Equal(t, refs[i], p.Ref, "each caller its own payout")
			}
		}()
	}
	wg.Wait()
	assert.Len(t, srv.Payments(), n, "each payout once")
	assert.LessOrEqual(t, srv.Count(popolnitest.OpPay), 3, "the first alone, the rest in one batch")

	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p, err := c.Get(context.Background(), refs[i])
			if assert.NoError(t, err) {
				assert.Equal(t, refs[i], p.Ref)
			}
		}()
	}
	wg.Wait()
	assert.Less(t, srv.Count(popolnitest.OpStatus), n/2, "Gets share status requests")

	f.Settle()
	srv.Reset()
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p, err := c.Wait(context.Background(), payout.Query{Ref: refs[i]})
			if assert.NoError(t, err) {
				assert.Equal(t, payments.StateSucceeded, p.State)
			}
		}()
	}
	wg.Wait()
	assert.Less(t, srv.Count(popolnitest.OpStatus), n/2, "Waits share their polls")
}

// TestOpenCoalesce: the URL parameter coalesce=true gives a driver with a
// Batcher; a value that is not a boolean is refused.
func TestOpenCoalesce(t *testing.T) {
	ctx := context.Background()
	cred := payments.OpenCredentials(popolni.Credentials{Login: "l", Password: "p"})
	c, err := payout.Open(ctx, "popolni://?coalesce=true", cred)
	require.NoError(t, err)
	var b *popolni.Batcher
	assert.True(t, c.As(&b))
	require.NoError(t, c.Close())

	c, err = payout.Open(ctx, "popolni://", cred)
	require.NoError(t, err)
	assert.False(t, c.As(&b), "no Batcher unless asked")
	require.NoError(t, c.Close())

	_, err = payout.Open(ctx, "popolni://?coalesce=maybe", cred)
	assert.ErrorIs(t, err, payments.ErrInvalidRequest)

	c, err = payout.Open(ctx, "popolni://?coalesce=true&max_batch=7&max_in_flight=2", cred)
	require.NoError(t, err)
	require.True(t, c.As(&b))
	assert.Equal(t, 7, b.MaxBatch())
	assert.Equal(t, 2, b.MaxInFlight())
	require.NoError(t, c.Close())
	c, err = payout.Open(ctx, "popolni://?coalesce=true", cred)
	require.NoError(t, err)
	require.True(t, c.As(&b))
	assert.Equal(t, popolni.DefaultMaxBatch, b.MaxBatch())
	assert.Equal(t, popolni.DefaultMaxInFlight, b.MaxInFlight())
	require.NoError(t, c.Close())
	for _, q := range []string{"max_batch=0", "max_in_flight=0", "max_in_flight=x"} {
		_, err = payout.Open(ctx, "popolni://?coalesce=true&"+q, cred)
		assert.ErrorIs(t, err, payments.ErrInvalidRequest, q)
	}
}
