package popolni_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/popolni"
	"github.com/paysdk/payments/popolni/popolnitest"
)

// batchFixture is a fake and a client against it; opts replace the default
// test timing.
func batchFixture(t *testing.T, srvOpts []popolnitest.Option, opts ...payments.Option) (*popolnitest.Server, *popolni.Client) {
	t.Helper()
	srv := popolnitest.NewServer(append([]popolnitest.Option{popolnitest.WithT(t), popolnitest.WithBalance(1e12, 0)}, srvOpts...)...)
	if opts == nil {
		opts = []payments.Option{payments.WithTestTiming()}
	}
	c, err := popolni.New(popolni.Credentials{Login: srv.Login(), Password: srv.Password()},
		append(srv.ClientOptions(), opts...)...)
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	return srv, c
}

func pay(id int64) popolni.Payment {
	return popolni.Payment{ID: id, Amount: 500, Account: "380991234567"}
}

// gate is a Limiter the test opens and shuts: while shut, every Wait (the
// Batcher's wait for its next token) blocks, so calls gather in the queue;
// open, it grants at once, as payments.Unlimited does.
type gate struct {
	mu   sync.Mutex
	open bool
	ch   chan struct{}
}

func newGate() *gate { return &gate{ch: make(chan struct{})} }

func (g *gate) Wait(ctx context.Context) error {
	g.mu.Lock()
	ch := g.ch
	g.mu.Unlock()
	select {
	case <-ch:
		return ctx.Err()
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Open lets every waiter, and every later Wait, through.
func (g *gate) Open() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.open {
		g.open = true
		close(g.ch)
	}
}

// Shut makes later Waits block again.
func (g *gate) Shut() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.open {
		g.open = false
		g.ch = make(chan struct{})
	}
}

// gatedFixture is batchFixture with the client's limiter a shut gate.
func gatedFixture(t *testing.T, srvOpts []popolnitest.Option, opts ...payments.Option) (*popolnitest.Server, *popolni.Client, *gate) {
	t.Helper()
	g := newGate()
	t.Cleanup(g.Open)
	if opts == nil {
		opts = []payments.Option{payments.WithTestTiming()}
	}
	srv, c := batchFixture(t, srvOpts, append(opts, payments.WithLimiter(g))...)
	return srv, c, g
}

// queuedPays waits until n pay calls wait in b's queue.
func queuedPays(t *testing.T, b *popolni.Batcher, n int) {
	t.Helper()
	require.Eventually(t, func() bool { p, _ := popolni.Queued(b); return p == n }, 30*time.Second, time.Millisecond,
		"%d payouts queued", n)
}

// payAll pays n payments from n goroutines at once and returns each
// caller's result and error, by index.
func payAll(b *popolni.Batcher, ps []popolni.Payment) ([]popolni.Result, []error, []time.Duration) {
	res := make([]popolni.Result, len(ps))
	errs := make([]error, len(ps))
	lat := make([]time.Duration, len(ps))
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range ps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			t0 := time.Now()
			res[i], errs[i] = b.Pay(context.Background(), ps[i])
			lat[i] = time.Since(t0)
		}()
	}
	close(start)
	wg.Wait()
	return res, errs, lat
}

// TestBatcherCoalescesUnderTheRealCap: 1,000 concurrent single payouts
// against the fake's default 5 requests a second, through the client's
// default limiter. Every payout reaches the fake exactly once, every caller
// gets its own result, and the pay requests number about 1000/MaxBatch, not
// 1000. No 503 is answered.
func TestBatcherCoalescesUnderTheRealCap(t *testing.T) {
	srv, c := batchFixture(t, nil, payments.WithTimeout(10*time.Second))
	b := popolni.NewBatcher(c, popolni.BatchOptions{})
	defer b.Close()

	const n = 1000
	ps := make([]popolni.Payment, n)
	for i := range ps {
		ps[i] = popolni.Payment{ID: 1_000_000_000 + int64(i), Amount: 100 + int64(i), Account: "380991234567"}
	}
	t0 := time.Now()
	res, errs, _ := payAll(b, ps)
	elapsed := time.Since(t0)
	for i := range ps {
		require.NoError(t, errs[i], "payout %d", i)
		assert.Equal(t, ps[i].ID, res[i].ID, "caller %d got its own result", i)
		assert.Equal(t, popolni.StatusReceived, res[i].Status)
	}
	recs := srv.Payments()
	require.Len(t, recs, n, "every payout reached the fake once")
	for _, r := range recs {
		i := r.TransactionID - 1_000_000_000
		assert.Equal(t, ps[i].Amount, r.Amount, "payment %d holds its own amount", r.TransactionID)
	}
	maxReq := (n+popolni.DefaultMaxBatch-1)/popolni.DefaultMaxBatch + 2
	assert.LessOrEqual(t, srv.Count(popolnitest.OpPay), maxReq, "pay requests")
	for _, r := range srv.Requests() {
		assert.NotEqual(t, 503, r.Answered, "no request over the cap")
	}
	t.Logf("%d payouts in %d pay requests, %v (%.0f payouts/s)", n, srv.Count(popolnitest.OpPay), elapsed, n/elapsed.Seconds())
}

// TestBatcherLostAnswer: the fake creates the batch and drops the answer of
// every attempt. Each member gets its own outcome-unknown error, Ref its ID,
// and settles through Status; the fake holds exactly one payment each.
func TestBatcherLostAnswer(t *testing.T) {
	srv, c, g := gatedFixture(t, []popolnitest.Option{popolnitest.WithRateLimit(0), popolnitest.WithStepsPerPoll(2)},
		payments.WithRetry(payments.RetryPolicy{MaxAttempts: 2, BaseDelay: time.Millisecond, MaxDelay: time.Millisecond}))
	b := popolni.NewBatcher(c, popolni.BatchOptions{})
	defer b.Close()

	// The limiter holds the next token: ten payouts gather in the queue and
	// go together in one request, whose answers are lost.
	srv.DropNext(2) // both attempts of the request
	ps := make([]popolni.Payment, 10)
	for i := range ps {
		ps[i] = pay(2000 + int64(i))
	}
	done := make(chan []error, 1)
	go func() { _, errs, _ := payAll(b, ps); done <- errs }()
	queuedPays(t, b, len(ps))
	g.Open()
	errs := <-done
	assert.Equal(t, 2, srv.Count(popolnitest.OpPay), "one batch, sent twice")
	for i, err := range errs {
		var ou *payments.OutcomeUnknownError
		require.ErrorAs(t, err, &ou, "member %d", i)
		assert.Equal(t, strconv.FormatInt(ps[i].ID, 10), ou.Ref, "each member's own Ref")
	}
	ids := make([]int64, len(ps))
	for i := range ps {
		ids[i] = ps[i].ID
	}
	res, err := b.Status(context.Background(), ids...)
	require.NoError(t, err)
	for i, r := range res {
		assert.Equal(t, ids[i], r.ID)
		assert.Equal(t, popolni.StatusSucceeded, r.Status, "settled through Status")
		rec, ok := srv.Payment(ids[i])
		require.True(t, ok)
		assert.Equal(t, int64(500), rec.Amount)
	}
	assert.Len(t, srv.Payments(), 10, "one payment per ID, none twice")
}

// TestBatcherLostAnswerResent: one lost answer, then the client's own resend
// answers 124 for every member, which Pay resolves: every caller gets its
// real status and the fake holds one payment each.
func TestBatcherLostAnswerResent(t *testing.T) {
	srv, c := batchFixture(t, []popolnitest.Option{popolnitest.WithRateLimit(0)})
	b := popolni.NewBatcher(c, popolni.BatchOptions{})
	defer b.Close()
	srv.DropNext(1)
	res, err := b.Pay(context.Background(), pay(3000))
	require.NoError(t, err)
	assert.Equal(t, popolni.StatusInProgress, res.Status, "the 124 of our own resend resolved through Status")
	assert.Len(t, srv.Payments(), 1)
}

// TestBatcherBadPaymentFailsAlone: a payment the client refuses fails alone
// before joining; one popolni refuses (215, a blacklisted 423) fails alone
// inside the batch; the others are paid.
func TestBatcherBadPaymentFailsAlone(t *testing.T) {
	srv, c := batchFixture(t, []popolnitest.Option{popolnitest.WithRateLimit(0)})
	srv.Blacklist("380990000000")
	b := popolni.NewBatcher(c, popolni.BatchOptions{})
	defer b.Close()
	ps := []popolni.Payment{
		pay(4001),
		{ID: 4002, Amount: 500, Account: "+38099"}, // not digits: refused before sending
		{ID: 4003, Amount: 500, Account: "380990000000"},
		pay(4004),
		{ID: 4005, Amount: 50, Account: "380991234567"}, // below the minimum
	}
	res, errs, _ := payAll(b, ps)
	require.NoError(t, errs[0])
	require.NoError(t, errs[3])
	assert.Equal(t, popolni.StatusReceived, res[0].Status)
	assert.Equal(t, popolni.StatusReceived, res[3].Status)
	var ve *payments.ValidationError
	assert.ErrorAs(t, errs[1], &ve)
	assert.ErrorAs(t, errs[4], &ve)
	require.NoError(t, errs[2])
	assert.Equal(t, popolni.StatusBlacklisted, res[2].Status)
	assert.ErrorIs(t, res[2].Err(), payments.ErrDeclined)
	_, ok := srv.Payment(4002)
	assert.False(t, ok, "the refused payment was never sent")
	assert.Len(t, srv.Payments(), 3)
}

// TestBatcherContextEndsBeforeSend: a caller whose context ends while its
// payment waits in the queue gets the context's error, not outcome-unknown,
// and the payment never reaches popolni. A caller whose context ends after
// its payment was sent gets outcome-unknown, and the payment exists.
func TestBatcherContextEndsBeforeSend(t *testing.T) {
	srv, c, g := gatedFixture(t, []popolnitest.Option{popolnitest.WithRateLimit(0)})
	b := popolni.NewBatcher(c, popolni.BatchOptions{})
	defer b.Close()

	// No token comes: 5002 waits in the queue until its context ends.
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := b.Pay(ctx, pay(5002))
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.NotErrorIs(t, err, payments.ErrOutcomeUnknown, "it was never sent")

	// 5001 is sent, and its caller leaves while popolni holds the answer.
	g.Open()
	srv.DelayNext(1, 3*time.Second)
	ctxSent, cancelSent := context.WithCancel(context.Background())
	sentErr := make(chan error, 1)
	go func() { _, err := b.Pay(ctxSent, pay(5001)); sentErr <- err }()
	require.Eventually(t, func() bool { return srv.Count(popolnitest.OpPay) == 1 }, 30*time.Second, time.Millisecond)
	cancelSent()
	err = <-sentErr
	require.ErrorIs(t, err, payments.ErrOutcomeUnknown, "sent, then the caller stopped waiting")
	require.ErrorIs(t, err, context.Canceled)

	// The sender is free again: a later payout goes out, and 5002 never did.
	_, err = b.Pay(context.Background(), pay(5003))
	require.NoError(t, err)
	_, ok := srv.Payment(5002)
	assert.False(t, ok, "a payment whose caller left the queue is never sent")
	_, ok = srv.Payment(5001)
	assert.True(t, ok, "the payment sent before its caller left exists")
	for _, r := range srv.Requests() {
		assert.NotContains(t, string(r.Body), "5002")
	}
}

// TestBatcherDuplicateID: concurrent Pays of one ID never go in one batch
// (popolni would answer the second 124 and encodePay refuses a repeat). The
// fake holds one payment; one caller gets 0, the others 124 from a later
// request.
func TestBatcherDuplicateID(t *testing.T) {
	srv, c, g := gatedFixture(t, []popolnitest.Option{popolnitest.WithRateLimit(0)})
	b := popolni.NewBatcher(c, popolni.BatchOptions{})
	defer b.Close()
	go func() { queuedPays(t, b, 4); g.Open() }()
	ps := []popolni.Payment{pay(6001), pay(6001), pay(6002), pay(6001)}
	res, errs, _ := payAll(b, ps)
	received, dup := 0, 0
	for i := range ps {
		require.NoError(t, errs[i])
		if ps[i].ID != 6001 {
			continue
		}
		switch res[i].Status {
		case popolni.StatusReceived:
			received++
		case popolni.StatusDuplicate:
			dup++
			assert.ErrorIs(t, res[i].Err(), payments.ErrDuplicate)
		}
	}
	assert.Equal(t, 1, received, "one caller created the payment")
	assert.Equal(t, 2, dup, "the others were answered 124")
	n := 0
	for _, p := range srv.Payments() {
		if p.TransactionID == 6001 {
			n++
		}
	}
	assert.Equal(t, 1, n, "one payment for the ID")
}

// TestBatcherStatusCoalesces: concurrent status queries, one id or several
// each, share one request per round and each caller gets its own ids back
// in its own order.
func TestBatcherStatusCoalesces(t *testing.T) {
	srv, c, g := gatedFixture(t, []popolnitest.Option{popolnitest.WithRateLimit(0), popolnitest.WithStepsPerPoll(0)})
	b := popolni.NewBatcher(c, popolni.BatchOptions{MaxBatch: 50})
	defer b.Close()
	ps := make([]popolni.Payment, 100)
	for i := range ps {
		ps[i] = pay(7000 + int64(i))
	}
	// The limiter holds the token until all 100 are queued, however slowly
	// their goroutines start on a loaded machine.
	done := make(chan []error, 1)
	go func() { _, errs, _ := payAll(b, ps); done <- errs }()
	queuedPays(t, b, len(ps))
	g.Open()
	for _, err := range <-done {
		require.NoError(t, err)
	}
	assert.Equal(t, 2, srv.Count(popolnitest.OpPay), "100 payouts in requests of 50")
	assert.Len(t, srv.Payments(), 100)
	srv.Reset()

	g.Shut()
	var wg sync.WaitGroup
	for i := 0; i < 40; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ids := []int64{7000 + int64(i), 7050 + int64(i), 7000 + int64(i)}
			res, err := b.Status(context.Background(), ids...)
			if assert.NoError(t, err) && assert.Len(t, res, 3) {
				for j, r := range res {
					assert.Equal(t, ids[j], r.ID)
					assert.Equal(t, popolni.StatusReceived, r.Status)
				}
			}
		}()
	}
	require.Eventually(t, func() bool { _, st := popolni.Queued(b); return st == 40 }, 30*time.Second, time.Millisecond)
	g.Open()
	wg.Wait()
	// 80 distinct ids, at most 50 a request, each query whole in one: two.
	assert.Equal(t, 2, srv.Count(popolnitest.OpStatus))
	_, err := b.Status(context.Background(), 0)
	var ve *payments.ValidationError
	assert.ErrorAs(t, err, &ve)
}

// TestBatcherCloseLeavesNoGoroutine: after Close the Batcher's goroutines
// are gone, calls fail with ErrBatcherClosed and nothing more is sent.
func TestBatcherCloseLeavesNoGoroutine(t *testing.T) {
	srv, c := batchFixture(t, []popolnitest.Option{popolnitest.WithRateLimit(0)})
	before := goleak.IgnoreCurrent()
	b := popolni.NewBatcher(c, popolni.BatchOptions{})
	_, err := b.Pay(context.Background(), pay(8001))
	require.NoError(t, err)
	_, err = b.Status(context.Background(), 8001)
	require.NoError(t, err)
	require.NoError(t, b.Close())
	require.NoError(t, b.Close(), "a second Close is harmless")
	c.Close()
	goleak.VerifyNone(t, before)

	sent := len(srv.Requests())
	_, err = b.Pay(context.Background(), pay(8002))
	assert.True(t, errors.Is(err, popolni.ErrBatcherClosed))
	_, err = b.Status(context.Background(), 8001)
	assert.True(t, errors.Is(err, popolni.ErrBatcherClosed))
	assert.Len(t, srv.Requests(), sent)
}

// TestBatcherCloseFailsQueued: payouts still queued when Close comes are
// never sent and fail with ErrBatcherClosed; the request in flight finishes
// and its caller gets the answer.
func TestBatcherCloseFailsQueued(t *testing.T) {
	srv, c, g := gatedFixture(t, []popolnitest.Option{popolnitest.WithRateLimit(0)})
	b := popolni.NewBatcher(c, popolni.BatchOptions{})
	g.Open()
	srv.DelayNext(1, 200*time.Millisecond)
	held := make(chan error, 1)
	go func() { _, err := b.Pay(context.Background(), pay(9001)); held <- err }()
	require.Eventually(t, func() bool { return srv.Count(popolnitest.OpPay) == 1 }, 30*time.Second, time.Millisecond)
	g.Shut() // 9002 finds no token: it stays queued
	queued := make(chan error, 1)
	go func() { _, err := b.Pay(context.Background(), pay(9002)); queued <- err }()
	queuedPays(t, b, 1)
	closed := make(chan error, 1)
	go func() { closed <- b.Close() }()
	for _, ch := range []chan error{queued, held, closed} {
		select {
		case err := <-ch:
			if ch == queued {
				assert.ErrorIs(t, err, popolni.ErrBatcherClosed, "the queued payout")
			} else {
				assert.NoError(t, err, "the request in flight finished, and Close")
			}
		case <-time.After(5 * time.Second):
			t.Fatal("Close left a caller waiting")
		}
	}
	_, ok := srv.Payment(9002)
	assert.False(t, ok, "a queued payout is not sent after Close")
}

// TestBatcherWaitFinalCoalescesPolls: 100 payouts waited for at once, one
// WaitFinal each, share their status requests; the 125 rule still holds (a
// transient 125 is asked again, an unknown id is believed on the second 125).
func TestBatcherWaitFinalCoalescesPolls(t *testing.T) {
	// A paced limiter, as a real one is: what queues between two tokens
	// shares a request. (Unlimited, a pipelined Batcher sends each poll as
	// it comes, up to MaxInFlight at once: no reason to wait, nothing shared.)
	lim, err := payments.NewLimiterWithMargin(20, 1, 0)
	require.NoError(t, err)
	srv, c := batchFixture(t, []popolnitest.Option{popolnitest.WithRateLimit(0)}, payments.WithTestTiming(), payments.WithLimiter(lim))
	b := popolni.NewBatcher(c.WithPollInterval(20*time.Millisecond), popolni.BatchOptions{})
	defer b.Close()
	ps := make([]popolni.Payment, 100)
	for i := range ps {
		ps[i] = pay(10_000 + int64(i))
	}
	_, errs, _ := payAll(b, ps)
	for _, err := range errs {
		require.NoError(t, err)
	}
	srv.NotFoundOnce(10_000)
	srv.Reset()
	var wg sync.WaitGroup
	for i := range ps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := b.WaitFinal(context.Background(), ps[i].ID)
			if assert.NoError(t, err) {
				assert.Equal(t, popolni.StatusSucceeded, res[0].Status, "payment %d", ps[i].ID)
			}
		}()
	}
	res, err := b.WaitFinal(context.Background(), 99_999)
	require.NoError(t, err)
	assert.Equal(t, popolni.StatusNotFound, res[0].Status, "an unknown id: 125 twice")
	wg.Wait()
	// One WaitFinal each would be at least 200 requests (two polls each).
	assert.Less(t, srv.Count(popolnitest.OpStatus), 40, "polls share status requests")
	t.Logf("101 WaitFinals in %d status requests", srv.Count(popolnitest.OpStatus))

	require.NoError(t, b.Close())
	_, err = b.WaitFinal(context.Background(), 10_000)
	assert.ErrorIs(t, err, popolni.ErrBatcherClosed)
}

// TestStatusConfirmed: Client.StatusConfirmed and Batcher.StatusConfirmed
// ask once, then once more for just the ids that answered 125; a Result
// says 125 only when both answers did; a blacklisted payment's 125 reads
// as its 423; a failed re-ask is the call's error.
func TestStatusConfirmed(t *testing.T) {
	srv, c := batchFixture(t, []popolnitest.Option{popolnitest.WithRateLimit(0)})
	b := popolni.NewBatcher(c, popolni.BatchOptions{})
	defer b.Close()
	for _, path := range []struct {
		name   string
		status func(context.Context, ...int64) ([]popolni.Result, error)
		base   int64
	}{{"client", c.StatusConfirmed, 20_000}, {"batcher", b.StatusConfirmed, 30_000}} {
		t.Run(path.name, func(t *testing.T) {
			ctx := context.Background()
			moving, steady, blocked, unknown := path.base+1, path.base+2, path.base+3, path.base+99
			srv.Blacklist("380990000003")
			_, err := c.Pay(ctx, []popolni.Payment{pay(moving), pay(steady),
				{ID: blocked, Amount: 500, Account: "380990000003"}})
			require.NoError(t, err)
			_, err = c.Status(ctx, blocked) // 125: the alternation starts
			require.NoError(t, err)

			srv.NotFoundOnce(moving)
			srv.Reset()
			res, err := path.status(ctx, moving, steady, blocked, unknown, moving)
			require.NoError(t, err)
			assert.Equal(t, []popolni.Result{{ID: moving, Status: popolni.StatusInProgress}, {ID: steady, Status: popolni.StatusInProgress},
				{ID: blocked, Status: popolni.StatusBlacklisted}, {ID: unknown, Status: popolni.StatusNotFound},
				{ID: moving, Status: popolni.StatusInProgress}}, res)
			reqs := srv.Requests()
			require.Len(t, reqs, 2, "one request, one re-ask")
			again := string(reqs[1].Body)
			for _, id := range []int64{moving, unknown} {
				assert.Contains(t, again, strconv.FormatInt(id, 10))
			}
			assert.NotContains(t, again, strconv.FormatInt(steady, 10), "only the 125s asked again")

			srv.Reset()
			res, err = path.status(ctx, steady)
			require.NoError(t, err)
			assert.Equal(t, popolni.StatusSucceeded, res[0].Status)
			assert.Equal(t, 1, srv.Count(popolnitest.OpStatus), "no 125, no re-ask")

			srv.DelayNext(1, 0)
			srv.FailNext(1, 403, popolnitest.TextIncorrectAuth)
			_, err = path.status(ctx, unknown)
			assert.ErrorIs(t, err, payments.ErrUnauthorized, "the re-ask's error is the call's")
		})
	}
}

// countingLimiter counts the tokens taken from it and grants at once.
type countingLimiter struct {
	mu sync.Mutex
	n  int
}

func (l *countingLimiter) Wait(ctx context.Context) error {
	l.mu.Lock()
	l.n++
	l.mu.Unlock()
	return ctx.Err()
}

func (l *countingLimiter) count() int { l.mu.Lock(); defer l.mu.Unlock(); return l.n }

// TestBatcherPipelines: the Batcher does not wait for an answer before it
// sends the next request. While popolni holds the first pay request, the
// next payouts go in requests of their own, each on one token of its own
// (the token the Batcher waited for is the request's first attempt's: never
// two per request). MaxInFlight bounds the requests awaiting answers.
func TestBatcherPipelines(t *testing.T) {
	lim := &countingLimiter{}
	srv, c := batchFixture(t, []popolnitest.Option{popolnitest.WithRateLimit(0)}, payments.WithTestTiming(), payments.WithLimiter(lim))
	b := popolni.NewBatcher(c, popolni.BatchOptions{MaxInFlight: 2})
	defer b.Close()

	srv.DelayNext(2, 3*time.Second)
	first := make(chan error, 2)
	go func() { _, err := b.Pay(context.Background(), pay(11001)); first <- err }()
	require.Eventually(t, func() bool { return srv.Count(popolnitest.OpPay) == 1 }, 30*time.Second, time.Millisecond)
	go func() { _, err := b.Pay(context.Background(), pay(11002)); first <- err }()
	require.Eventually(t, func() bool { return srv.Count(popolnitest.OpPay) == 2 }, 30*time.Second, time.Millisecond,
		"the second request left while the first awaited its answer")

	// Two await their answers: a third payout waits for a slot.
	third := make(chan error, 1)
	go func() { _, err := b.Pay(context.Background(), pay(11003)); third <- err }()
	queuedPays(t, b, 1)
	assert.Equal(t, 2, srv.Count(popolnitest.OpPay), "MaxInFlight 2: no third request while two are held")
	require.NoError(t, <-first)
	require.NoError(t, <-first)
	require.NoError(t, <-third)
	assert.Equal(t, 3, srv.Count(popolnitest.OpPay))
	assert.Equal(t, 3, lim.count(), "one token per request: the one taken ahead is the request's")
	assert.Len(t, srv.Payments(), 3)
}

// TestBatcherNeverSendsAnIDTwiceAtOnce: a Pay of an ID whose request still
// awaits its answer stays queued (other payouts overtake it) and goes after
// that answer came, to be answered 124: the ID is never in two requests in
// flight.
func TestBatcherNeverSendsAnIDTwiceAtOnce(t *testing.T) {
	srv, c := batchFixture(t, []popolnitest.Option{popolnitest.WithRateLimit(0)})
	b := popolni.NewBatcher(c, popolni.BatchOptions{})
	defer b.Close()

	srv.DelayNext(1, 3*time.Second)
	held := make(chan popolni.Result, 1)
	go func() { r, _ := b.Pay(context.Background(), pay(12001)); held <- r }()
	require.Eventually(t, func() bool { return srv.Count(popolnitest.OpPay) == 1 }, 30*time.Second, time.Millisecond)
	again := make(chan popolni.Result, 1)
	go func() { r, _ := b.Pay(context.Background(), pay(12001)); again <- r }()
	queuedPays(t, b, 1)
	r, err := b.Pay(context.Background(), pay(12002))
	require.NoError(t, err)
	assert.Equal(t, popolni.StatusReceived, r.Status, "another ID overtakes the held one")
	with := 0
	for _, rq := range srv.Requests() {
		if strings.Contains(string(rq.Body), "12001") {
			with++
		}
	}
	assert.Equal(t, 1, with, "12001 is in one request in flight, not two")
	assert.Equal(t, popolni.StatusReceived, (<-held).Status)
	assert.Equal(t, popolni.StatusDuplicate, (<-again).Status, "sent after the first answer: 124")
	assert.Len(t, srv.Payments(), 2)
}

// TestBatcherLostAnswerInThePipeline: two pay requests await their answers
// at once and the second one's answer is lost: exactly its own members are
// outcome-unknown, each with its own Ref, and the first request's members
// get their results.
func TestBatcherLostAnswerInThePipeline(t *testing.T) {
	srv, c, g := gatedFixture(t, []popolnitest.Option{popolnitest.WithRateLimit(0)},
		payments.WithRetry(payments.RetryPolicy{MaxAttempts: 1}))
	b := popolni.NewBatcher(c, popolni.BatchOptions{})
	defer b.Close()

	kept := []popolni.Payment{pay(13101), pay(13102)}
	lost := []popolni.Payment{pay(13001), pay(13002), pay(13003)}
	srv.DelayNext(1, 3*time.Second) // the first request: held, then answered
	srv.DropNext(1)                 // the second: carried out, its answer lost
	keptDone := make(chan struct{})
	var (
		res  []popolni.Result
		errs []error
	)
	go func() { res, errs, _ = payAll(b, kept); close(keptDone) }()
	queuedPays(t, b, len(kept))
	g.Open()
	require.Eventually(t, func() bool { return srv.Count(popolnitest.OpPay) == 1 }, 30*time.Second, time.Millisecond)
	g.Shut()
	lostErrs := make(chan []error, 1)
	go func() { _, errs, _ := payAll(b, lost); lostErrs <- errs }()
	queuedPays(t, b, len(lost))
	g.Open()
	for i, err := range <-lostErrs {
		var ou *payments.OutcomeUnknownError
		require.ErrorAs(t, err, &ou, "member %d of the lost request", i)
		assert.Equal(t, strconv.FormatInt(lost[i].ID, 10), ou.Ref)
	}
	select {
	case <-keptDone:
		t.Fatal("the first request was answered before the second one was lost: they were not in flight together")
	default:
	}
	<-keptDone
	assert.Equal(t, 2, srv.Count(popolnitest.OpPay), "one request each")
	for i := range kept {
		require.NoError(t, errs[i], "payout %d of the answered request", kept[i].ID)
		assert.Equal(t, kept[i].ID, res[i].ID)
		assert.Equal(t, popolni.StatusReceived, res[i].Status)
	}
	assert.Len(t, srv.Payments(), 5, "the lost request's payments exist: outcome unknown, not failed")
}
