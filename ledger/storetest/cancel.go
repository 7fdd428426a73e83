package storetest

import (
	"context"
	"errors"
	"fmt"
	"math/rand"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/ledger"
)

// deadlineSlack is how long past its context's deadline a call may return:
// generous, so that it holds on a loaded machine (two CPU hogs, -race),
// and far below the stores' own waits (SQLite's 5 s busy timeout).
const deadlineSlack = 2 * time.Second

// probeTimeout bounds the calls that check the store still works: a store
// that is wedged fails them, one that is slow does not.
const probeTimeout = 20 * time.Second

func testCancel(t *testing.T, open Opener) {
	t.Run("RandomPoints", func(t *testing.T) { cancelAtRandom(t, open) })
	t.Run("WaitingCallKeepsItsDeadline", func(t *testing.T) { waitingCallKeepsDeadline(t, open) })
}

// requireEndedError requires err, the error of a call under ctx, to be a
// *ledger.StoreError saying that the context ended, and nothing else.
func requireEndedError(t *testing.T, ctx context.Context, err error, what string) {
	t.Helper()
	requireStoreError(t, err, what)
	d, ok := ctx.Deadline()
	require.True(t, ctx.Err() != nil || ok && !time.Now().Before(d), "%s failed while its context had not ended: %v", what, err)
	require.True(t, errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded),
		"%s: the error does not match the context's end (context.Canceled or DeadlineExceeded): %v", what, err)
	text := err.Error()
	require.True(t, strings.Contains(text, context.Canceled.Error()) || strings.Contains(text, context.DeadlineExceeded.Error()),
		"%s: the error's text does not say the context ended: %q", what, text)
	require.NotContains(t, text, "locked by another connection", "%s: blames another connection: %q", what, text)
}

// endingContext is a context that ends at a random point of a call: ended
// already, at a short random deadline, or canceled from another goroutine
// after a short random delay. It returns the context, its deadline (zero
// when none), and its release.
func endingContext(rnd *rand.Rand) (context.Context, time.Time, context.CancelFunc) {
	// Up to 3 ms, 6, 12 or 24: the short ones end calls at their start,
	// the long ones in their middle or at their commit.
	delay := time.Duration(rnd.Int63n(int64(3*time.Millisecond))) << rnd.Intn(4)
	switch rnd.Intn(5) {
	case 0:
		ctx, cancel := context.WithCancel(bg)
		cancel()
		return ctx, time.Time{}, cancel
	case 1, 2:
		ctx, cancel := context.WithTimeout(bg, delay)
		d, _ := ctx.Deadline()
		return ctx, d, cancel
	default:
		ctx, cancel := context.WithCancel(bg)
		timer := time.AfterFunc(delay, cancel)
		return ctx, time.Time{}, func() { timer.Stop(); cancel() }
	}
}

// cancelAtRandom ends the contexts of Insert, Claim, Save, Renew, AddEvent,
// Get and List at random points, hundreds of times; after each, the store
// must still work at once (a write under a live context succeeds), the
// ended call's error must say its context ended, and a call with a
// deadline must return within deadlineSlack of it. Then 100 payouts are
// worked to the end by two workers: each made final exactly once.
func cancelAtRandom(t *testing.T, open Opener) {
	s := open(t)
	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	rnd := rand.New(rand.NewSource(seed))

	mustInsert(t, s, t0, seq("pre", 40)...)
	const owner = "canceled"
	var held []ledger.Record // what owner's successful Claims returned
	const rounds = 300
	counts := map[string]int{}
	for round := 0; round < rounds; round++ {
		now := at(time.Duration(round) * time.Second)
		ctx, deadline, release := endingContext(rnd)
		// A check or pause inside the transaction, so that the context
		// also ends between statements of an open transaction.
		check := func([]ledger.Record) error {
			if rnd.Intn(2) == 0 {
				time.Sleep(time.Duration(rnd.Int63n(int64(2 * time.Millisecond))))
			}
			return nil
		}
		op := []string{"Insert", "Insert", "Claim", "Claim", "Save", "Save", "Renew", "AddEvent", "Get", "List"}[rnd.Intn(10)]
		start := time.Now()
		var err error
		switch op {
		case "Insert":
			// Up to 25 records: more than one chunk of a multi-row INSERT.
			var rs []ledger.Record
			for i, n := 0, 1+rnd.Intn(25); i < n; i++ {
				rs = append(rs, newRecord(fmt.Sprintf("c-%03d-%02d", round, i)))
			}
			_, err = s.Insert(ctx, now, rs, check)
		case "Claim":
			var rs []ledger.Record
			rs, err = s.Claim(ctx, owner, now, time.Hour, 1+rnd.Intn(25))
			held = append(held, rs...)
		case "Save":
			var rs []ledger.Record
			for i := 0; i < len(held) && i < 25; i++ {
				r := held[rnd.Intn(len(held))]
				if r.Status.Final() || containsRef(rs, r.Ref) {
					continue
				}
				r.Polls++
				r.LastError = fmt.Sprintf("round %d", round)
				rs = append(rs, r)
			}
			hold := time.Duration(rnd.Intn(2)) * time.Hour
			_, err = s.Save(ctx, owner, now, hold, rs)
		case "Renew":
			var refs []string
			for i := 0; i < len(held) && i < 25; i++ {
				refs = append(refs, held[rnd.Intn(len(held))].Ref)
			}
			_, err = s.Renew(ctx, owner, now, time.Hour, refs)
		case "AddEvent":
			_, _, err = s.AddEvent(ctx, now, eventOf("paykeeper", fmt.Sprint(round), payments.StatePending))
		case "Get":
			_, err = s.Get(ctx, "pre-00001")
		case "List":
			_, err = s.List(ctx, ledger.Filter{Open: true})
		}
		what := fmt.Sprintf("round %d: %s", round, op)
		if !deadline.IsZero() {
			require.False(t, time.Now().After(deadline.Add(deadlineSlack)),
				"%s with a deadline of %v returned %v after it", what, deadline.Sub(start), time.Since(deadline))
		}
		if err != nil {
			requireEndedError(t, ctx, err, what)
			counts[op+" failed"]++
		} else {
			counts[op+" done"]++
		}
		release()

		// The store works at once: a write and a claim under a live
		// context, every round.
		pctx, pcancel := context.WithTimeout(bg, probeTimeout)
		_, err = s.Insert(pctx, now, []ledger.Record{newRecord(fmt.Sprintf("probe-%03d", round))}, nil)
		require.NoError(t, err, "%s: an Insert after it", what)
		if round%10 == 9 {
			_, err = s.Claim(pctx, "probe", now, time.Nanosecond, 1)
			require.NoError(t, err, "%s: a Claim after it", what)
		}
		pcancel()
	}
	t.Logf("calls under ending contexts: %v", counts)
	require.NotZero(t, counts["Insert failed"]+counts["Claim failed"]+counts["Save failed"], "no write ever met its context's end")

	// 100 payouts to the end, beside whatever the rounds left in the queue.
	start := at(time.Duration(rounds)*time.Second + 2*time.Hour) // every lease above has ended
	mustInsert(t, s, start, seq("pay", 100)...)
	finals := workToTheEnd(t, s, start)
	for _, r := range seq("pay", 100) {
		require.Equal(t, 1, finals[r.Ref], "%s made final %d times", r.Ref, finals[r.Ref])
		got := mustGet(t, s, r.Ref)
		require.Equal(t, ledger.Succeeded, got.Status, r.Ref)
		require.True(t, got.Reported, r.Ref)
	}
	left, err := s.List(bg, ledger.Filter{Open: true})
	require.NoError(t, err)
	require.Empty(t, refs(left), "records left in the work queue")
}

func containsRef(rs []ledger.Record, ref string) bool {
	for _, r := range rs {
		if r.Ref == ref {
			return true
		}
	}
	return false
}

// workToTheEnd has two workers claim, mark in flight, and finish (final,
// reported, released) every record of the work queue, as the ledger's loop
// does, until the queue is empty; it returns how many times each ref was
// made final.
func workToTheEnd(t *testing.T, s ledger.Store, now time.Time) map[string]int {
	t.Helper()
	var (
		mu     sync.Mutex
		finals = map[string]int{}
		errs   []error
		wg     sync.WaitGroup
	)
	for w := 0; w < 2; w++ {
		owner := fmt.Sprintf("worker-%d", w)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 1000; i++ { // bounds a store that hands records out again
				ctx, cancel := context.WithTimeout(bg, probeTimeout)
				err := func() error {
					rs, err := s.Claim(ctx, owner, now, time.Hour, 7)
					if err != nil {
						return fmt.Errorf("claim: %w", err)
					}
					if len(rs) == 0 {
						return errDone
					}
					for i := range rs {
						rs[i].Status, rs[i].Sends, rs[i].SentAt = ledger.InFlight, rs[i].Sends+1, now
					}
					if lost, err := s.Save(ctx, owner, now, time.Hour, rs); err != nil || len(lost) > 0 {
						return fmt.Errorf("save in flight: lost %v: %v", lost, err)
					}
					for i := range rs {
						rs[i].Status, rs[i].FinalAt, rs[i].Reported = ledger.Succeeded, now, true
					}
					if lost, err := s.Save(ctx, owner, now, 0, rs); err != nil || len(lost) > 0 {
						return fmt.Errorf("save final: lost %v: %v", lost, err)
					}
					mu.Lock()
					for _, r := range rs {
						finals[r.Ref]++
					}
					mu.Unlock()
					return nil
				}()
				cancel()
				if errors.Is(err, errDone) {
					return
				}
				if err != nil {
					mu.Lock()
					errs = append(errs, fmt.Errorf("%s: %w", owner, err))
					mu.Unlock()
					return
				}
			}
		}()
	}
	wg.Wait()
	require.Empty(t, errs)
	return finals
}

var errDone = errors.New("the queue is empty")

// waitingCallKeepsDeadline: a call that waits behind another transaction
// on the same records (a lock, a turn at the writer) returns when its
// deadline passes, saying so, and the store works on afterwards.
func waitingCallKeepsDeadline(t *testing.T, open Opener) {
	s := open(t)
	mustInsert(t, s, t0, newRecord("r"))
	// Leased to "a", so that a's Save of it must wait for its lock.
	requireClaimed(t, s, "a", t0, time.Hour, 1, "r")
	entered, leave := make(chan struct{}), make(chan struct{})
	done := make(chan error, 1)
	go func() {
		// Holds the record "r" (and, on SQLite, the write lock) until leave.
		_, err := s.Insert(bg, at(time.Second), []ledger.Record{newRecord("r"), newRecord("x")}, func([]ledger.Record) error {
			close(entered)
			<-leave
			return nil
		})
		done <- err
	}()
	<-entered
	defer func() {
		select {
		case <-leave:
		default:
			close(leave)
		}
	}()

	const wait = 300 * time.Millisecond
	for name, call := range map[string]func(ctx context.Context) error{
		"Insert": func(ctx context.Context) error {
			_, err := s.Insert(ctx, at(time.Second), []ledger.Record{newRecord("r"), newRecord("y")}, nil)
			return err
		},
		"Save": func(ctx context.Context) error {
			_, err := s.Save(ctx, "a", at(time.Second), 0, []ledger.Record{newRecord("r")})
			return err
		},
	} {
		ctx, cancel := context.WithTimeout(bg, wait)
		start := time.Now()
		err := call(ctx)
		took := time.Since(start)
		cancel()
		require.Less(t, took, wait+deadlineSlack, "%s with a deadline of %v", name, wait)
		requireEndedError(t, ctx, err, name+" waiting behind another transaction")
	}
	close(leave)
	require.NoError(t, <-done, "the transaction that held the record")
	mustInsert(t, s, at(time.Second), newRecord("z"))
	_, err := s.Get(bg, "y")
	require.ErrorIs(t, err, payments.ErrNotFound, "the Insert whose deadline passed")
}
