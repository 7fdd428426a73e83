package storetest

import (
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/ledger"
)

func mustAcquire(t *testing.T, s ledger.Store, ref, provider, wantBound string, wantSends int) {
	t.Helper()
	bound, sends, err := s.AcquireBinding(bg, at(time.Second), ref, provider)
	require.NoError(t, err, "AcquireBinding(%s, %s)", ref, provider)
	require.Equal(t, wantBound, bound, "AcquireBinding(%s, %s): bound provider", ref, provider)
	require.Equal(t, wantSends, sends, "AcquireBinding(%s, %s): sends", ref, provider)
}

func mustMove(t *testing.T, s ledger.Store, ref, from, to string, sends int, want bool) {
	t.Helper()
	moved, err := s.MoveBinding(bg, at(2*time.Second), ref, from, to, sends)
	require.NoError(t, err, "MoveBinding(%s, %s → %q, %d)", ref, from, to, sends)
	require.Equal(t, want, moved, "MoveBinding(%s, %s → %q, %d): moved", ref, from, to, sends)
}

func requireBinding(t *testing.T, s ledger.Store, ref, want string, why string) {
	t.Helper()
	got, err := s.Binding(bg, ref)
	require.NoError(t, err, "Binding(%s)", ref)
	require.Equal(t, want, got, "Binding(%s) %s", ref, why)
}

func testBindings(t *testing.T, open Opener) {
	t.Run("NoneAtFirst", func(t *testing.T) {
		s := open(t)
		requireBinding(t, s, "r", "", "of a ref never bound")
	})

	t.Run("FirstAcquireBinds", func(t *testing.T) {
		s := open(t)
		mustAcquire(t, s, "r", "qiwi", "qiwi", 1)
		requireBinding(t, s, "r", "qiwi", "after the first acquire")
	})

	t.Run("LaterAcquiresKeepTheBindingAndCount", func(t *testing.T) {
		s := open(t)
		mustAcquire(t, s, "r", "qiwi", "qiwi", 1)
		mustAcquire(t, s, "r", "royalpay", "qiwi", 2) // another provider: the first one stays
		mustAcquire(t, s, "r", "qiwi", "qiwi", 3)
		requireBinding(t, s, "r", "qiwi", "after three acquires")
	})

	t.Run("RefsAreApart", func(t *testing.T) {
		s := open(t)
		mustAcquire(t, s, "r1", "qiwi", "qiwi", 1)
		mustAcquire(t, s, "r2", "royalpay", "royalpay", 1)
		mustAcquire(t, s, "r1", "royalpay", "qiwi", 2)
		mustMove(t, s, "r2", "royalpay", "", 1, true)
		requireBinding(t, s, "r1", "qiwi", "beside another ref's")
		requireBinding(t, s, "r2", "", "unbound")
	})

	t.Run("ApartFromPayouts", func(t *testing.T) {
		// A binding is no payout record, and a payout record no binding.
		s := open(t)
		mustInsert(t, s, t0, newRecord("p"))
		requireBinding(t, s, "p", "", "of a payout record never bound")
		mustAcquire(t, s, "b", "qiwi", "qiwi", 1)
		_, err := s.Get(bg, "b")
		require.ErrorIs(t, err, payments.ErrNotFound, "a binding made a payout record")
		mustAcquire(t, s, "p", "qiwi", "qiwi", 1)
		unchanged(t, s, inserted(newRecord("p"), t0), "after its ref was bound")
	})

	t.Run("MoveNeedsTheBindingAndItsCount", func(t *testing.T) {
		s := open(t)
		mustAcquire(t, s, "r", "qiwi", "qiwi", 1)
		mustAcquire(t, s, "r", "qiwi", "qiwi", 2)
		mustMove(t, s, "r", "qiwi", "royalpay", 1, false) // a send counted since
		mustMove(t, s, "r", "qiwi", "royalpay", 3, false)
		mustMove(t, s, "r", "royalpay", "popolni", 2, false) // not bound to royalpay
		mustMove(t, s, "r", "", "popolni", 2, false)
		mustMove(t, s, "r", "qiwi", "", 1, false) // an unbind needs them too
		mustMove(t, s, "r", "royalpay", "", 2, false)
		requireBinding(t, s, "r", "qiwi", "after failed moves")
		mustAcquire(t, s, "r", "royalpay", "qiwi", 3) // the count did not change either
		// Nothing is bound by a move of a ref that is not bound.
		mustMove(t, s, "free", "qiwi", "royalpay", 0, false)
		mustMove(t, s, "free", "", "royalpay", 0, false)
		requireBinding(t, s, "free", "", "after moves of an unbound ref")
	})

	t.Run("MoveRebindsWithNoSendCounted", func(t *testing.T) {
		s := open(t)
		mustAcquire(t, s, "r", "qiwi", "qiwi", 1)
		mustAcquire(t, s, "r", "qiwi", "qiwi", 2)
		mustMove(t, s, "r", "qiwi", "royalpay", 2, true)
		requireBinding(t, s, "r", "royalpay", "after the move")
		mustMove(t, s, "r", "qiwi", "popolni", 2, false) // moved already
		mustMove(t, s, "r", "royalpay", "popolni", 2, false)
		// A moved binding starts with no send counted: a move at 0...
		mustMove(t, s, "r", "royalpay", "paykeeper", 0, true)
		// ...and the next acquire counts the first.
		mustAcquire(t, s, "r", "qiwi", "paykeeper", 1)
		mustMove(t, s, "r", "paykeeper", "qiwi", 1, true)
		mustAcquire(t, s, "r", "qiwi", "qiwi", 1)
	})

	t.Run("MoveToNothingUnbinds", func(t *testing.T) {
		s := open(t)
		mustAcquire(t, s, "r", "qiwi", "qiwi", 1)
		mustMove(t, s, "r", "qiwi", "", 1, true)
		requireBinding(t, s, "r", "", "after the unbind")
		mustMove(t, s, "r", "qiwi", "", 1, false) // unbound already
		mustMove(t, s, "r", "qiwi", "royalpay", 1, false)
		// The next acquire binds afresh.
		mustAcquire(t, s, "r", "royalpay", "royalpay", 1)
		requireBinding(t, s, "r", "royalpay", "bound again")
	})

	t.Run("ConcurrentAcquire", func(t *testing.T) {
		// Many goroutines, each its own provider, acquire one ref at once:
		// one provider wins, every call gets it, and the counts are 1..n,
		// each once.
		s := open(t)
		const workers, each = 12, 10
		var (
			mu     sync.Mutex
			bounds = map[string]int{}
			counts []int
			errs   []error
			wg     sync.WaitGroup
			start  = make(chan struct{})
		)
		for w := 0; w < workers; w++ {
			provider := fmt.Sprintf("provider-%02d", w)
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				for i := 0; i < each; i++ {
					bound, sends, err := s.AcquireBinding(bg, at(time.Second), "r", provider)
					mu.Lock()
					if err != nil {
						errs = append(errs, err)
					} else {
						bounds[bound]++
						counts = append(counts, sends)
					}
					mu.Unlock()
				}
			}()
		}
		close(start)
		wg.Wait()
		require.Empty(t, errs)
		require.Len(t, bounds, 1, "every acquire returns the one provider that won: %v", bounds)
		var winner string
		for p := range bounds {
			winner = p
		}
		sort.Ints(counts)
		want := make([]int, workers*each)
		for i := range want {
			want[i] = i + 1
		}
		require.Equal(t, want, counts, "the sends counted: 1..%d, each once", workers*each)
		requireBinding(t, s, "r", winner, "after the concurrent acquires")
	})

	t.Run("ConcurrentMove", func(t *testing.T) {
		// Many goroutines try the same move at once: one moves the binding.
		s := open(t)
		mustAcquire(t, s, "r", "qiwi", "qiwi", 1)
		const workers = 12
		var (
			mu    sync.Mutex
			moved []string
			errs  []error
			wg    sync.WaitGroup
			start = make(chan struct{})
		)
		for w := 0; w < workers; w++ {
			to := fmt.Sprintf("provider-%02d", w)
			if w%4 == 0 {
				to = "" // some unbind
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				ok, err := s.MoveBinding(bg, at(time.Second), "r", "qiwi", to, 1)
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					errs = append(errs, err)
				} else if ok {
					moved = append(moved, to)
				}
			}()
		}
		close(start)
		wg.Wait()
		require.Empty(t, errs)
		require.Len(t, moved, 1, "moves that succeeded: %q", moved)
		requireBinding(t, s, "r", moved[0], "after the concurrent moves")
	})
}
