package storetest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/ledger"
)

func eventOf(provider, id string, st payments.State) ledger.Event {
	return ledger.Event{
		Provider:   provider,
		ProviderID: id,
		State:      st,
		OrderRef:   "order-" + id,
		CheckoutID: "checkout-" + id,
		Amount:     payments.MustMoney("500.10", "RUB"),
	}
}

func requireEvent(t *testing.T, want, got ledger.Event, msgAndArgs ...any) {
	t.Helper()
	m := fmtMsg(msgAndArgs)
	key := fmt.Sprintf("%s/%s/%s", want.Provider, want.ProviderID, want.State)
	require.Equal(t, want.Provider, got.Provider, "Provider %s", m)
	require.Equal(t, want.ProviderID, got.ProviderID, "ProviderID %s", m)
	require.Equal(t, want.State, got.State, "State of %s %s", key, m)
	require.Equal(t, want.OrderRef, got.OrderRef, "OrderRef of %s %s", key, m)
	require.Equal(t, want.CheckoutID, got.CheckoutID, "CheckoutID of %s %s", key, m)
	requireMoney(t, want.Amount, got.Amount, "Amount of "+key, msgAndArgs...)
	requireTime(t, want.ReceivedAt, got.ReceivedAt, "ReceivedAt of "+key, msgAndArgs...)
	requireTime(t, want.HandledAt, got.HandledAt, "HandledAt of "+key, msgAndArgs...)
}

func requireEvents(t *testing.T, want, got []ledger.Event, msgAndArgs ...any) {
	t.Helper()
	require.Len(t, got, len(want), fmtMsg(msgAndArgs))
	for i := range want {
		requireEvent(t, want[i], got[i], msgAndArgs...)
	}
}

func mustAdd(t *testing.T, s ledger.Store, now time.Time, e ledger.Event) ledger.Event {
	t.Helper()
	stored, added, err := s.AddEvent(bg, now, e)
	require.NoError(t, err)
	require.True(t, added, "AddEvent of a new key")
	return stored
}

func mustEvents(t *testing.T, s ledger.Store, limit int) []ledger.Event {
	t.Helper()
	es, err := s.Events(bg, limit)
	require.NoError(t, err)
	return es
}

func testEvents(t *testing.T, open Opener) {
	t.Run("SameKeyOnce", func(t *testing.T) {
		s := open(t)
		e := eventOf("paykeeper", "123", payments.StateSucceeded)
		e.ReceivedAt = at(-time.Hour) // not what is stored: now is
		now := at(time.Second + 500*time.Nanosecond)
		stored, added, err := s.AddEvent(bg, now, e)
		require.NoError(t, err)
		require.True(t, added)
		want := e
		want.ReceivedAt = now
		requireEvent(t, want, stored, "first AddEvent")

		again := e
		again.OrderRef, again.CheckoutID, again.Amount = "other", "other", payments.MustMoney("1.00", "USD")
		stored, added, err = s.AddEvent(bg, at(time.Minute), again)
		require.NoError(t, err)
		require.False(t, added, "the same key again")
		requireEvent(t, want, stored, "the stored event, with the first ReceivedAt")
		requireEvents(t, []ledger.Event{want}, mustEvents(t, s, 0))
	})

	t.Run("NewEventIsUnhandled", func(t *testing.T) {
		// Safest reading: an event is handled only through HandleEvent, so
		// a HandledAt passed to AddEvent cannot make a notification skip the
		// merchant's handler.
		s := open(t)
		e := eventOf("paykeeper", "1", payments.StatePending)
		e.HandledAt = at(-time.Minute)
		stored := mustAdd(t, s, t0, e)
		require.False(t, stored.Handled())
		require.False(t, mustEvents(t, s, 0)[0].Handled())
	})

	t.Run("OtherKeysAreNewEvents", func(t *testing.T) {
		s := open(t)
		base := eventOf("paykeeper", "123", payments.StatePending)
		mustAdd(t, s, t0, base)
		for i, e := range []ledger.Event{
			eventOf("paykeeper", "123", payments.StateSucceeded),
			eventOf("paykeeper", "124", payments.StatePending),
			eventOf("royalpay", "123", payments.StatePending),
		} {
			mustAdd(t, s, at(time.Duration(i+1)*time.Second), e)
		}
		require.Len(t, mustEvents(t, s, 0), 4)
	})

	t.Run("HandleOnce", func(t *testing.T) {
		s := open(t)
		e := eventOf("paykeeper", "123", payments.StatePending)
		other := eventOf("paykeeper", "123", payments.StateSucceeded)
		mustAdd(t, s, t0, e)
		mustAdd(t, s, at(time.Millisecond), other)

		key := e
		key.OrderRef, key.Amount = "not-the-key", payments.Money{} // only the key finds the event
		require.NoError(t, s.HandleEvent(bg, at(time.Second+300*time.Nanosecond), key))
		require.NoError(t, s.HandleEvent(bg, at(2*time.Second), e), "a second HandleEvent")

		want := e
		want.ReceivedAt, want.HandledAt = t0, at(time.Second)
		wantOther := other
		wantOther.ReceivedAt = at(time.Millisecond)
		requireEvents(t, []ledger.Event{want, wantOther}, mustEvents(t, s, 0), "HandledAt is set once, on e's key only")

		stored, added, err := s.AddEvent(bg, at(time.Hour), e)
		require.NoError(t, err)
		require.False(t, added)
		requireEvent(t, want, stored, "AddEvent returns the handled event")
	})

	t.Run("HandleUnknownCreatesNothing", func(t *testing.T) {
		s := open(t)
		_ = s.HandleEvent(bg, t0, eventOf("paykeeper", "nope", payments.StateSucceeded)) // an error or not: both are fine
		require.Empty(t, mustEvents(t, s, 0))
		stored := mustAdd(t, s, at(time.Second), eventOf("paykeeper", "nope", payments.StateSucceeded))
		require.False(t, stored.Handled(), "a HandleEvent before AddEvent does not pre-handle it")
	})

	t.Run("OrderAndLimit", func(t *testing.T) {
		s := open(t)
		var want [8]ledger.Event
		add := func(i int, now time.Time, e ledger.Event) {
			t.Helper()
			e.ReceivedAt = now
			want[i] = mustAdd(t, s, now, e)
			e.HandledAt = time.Time{}
			requireEvent(t, e, want[i])
		}
		noAmount := eventOf("b", "x1", payments.StatePending)
		noAmount.Amount, noAmount.OrderRef, noAmount.CheckoutID = payments.Money{}, "", ""
		// Added out of order; the index is the place in Events.
		add(7, at(3*time.Second), eventOf("0", "x1", payments.StatePending))
		add(0, t0, eventOf("z", "x9", payments.StateRefunded))
		add(5, at(time.Second), noAmount)
		add(4, at(time.Second), eventOf("a", "x2", payments.StatePending))
		add(3, at(time.Second), eventOf("a", "x1", payments.StateCanceled))
		add(1, at(time.Second), eventOf("a", "x1", payments.StatePending))
		add(2, at(time.Second), eventOf("a", "x1", payments.StateFailed))
		add(6, at(2*time.Second), eventOf("a", "x0", payments.StateSucceeded))

		requireEvents(t, want[:], mustEvents(t, s, 0), "oldest first, then provider, id, state")
		requireEvents(t, want[:3], mustEvents(t, s, 3), "limit 3")
		requireEvents(t, want[:], mustEvents(t, s, 100), "limit over the count")
	})

	t.Run("ConcurrentAddSameKey", func(t *testing.T) {
		s := open(t)
		e := eventOf("paykeeper", "race", payments.StateSucceeded)
		const n = 10
		var (
			wg     sync.WaitGroup
			mu     sync.Mutex
			added  int
			errs   []error
			stored []ledger.Event
		)
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				st, ok, err := s.AddEvent(bg, at(time.Duration(i)*time.Millisecond), e)
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					errs = append(errs, err)
					return
				}
				if ok {
					added++
				}
				stored = append(stored, st)
			}()
		}
		wg.Wait()
		require.Empty(t, errs, joinErrs(errs))
		require.Equal(t, 1, added, "exactly one AddEvent adds")
		es := mustEvents(t, s, 0)
		require.Len(t, es, 1)
		for _, st := range stored {
			requireEvent(t, es[0], st, "every AddEvent returns the one stored event")
		}
	})
}
