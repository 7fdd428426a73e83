package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/ledger"
)

// calls is one call of every Store method under ctx, each returning its
// error, and of Stats when s is a ledger.StatsStore, of History when it is a
// ledger.HistoryStore.
func calls(ctx context.Context, s ledger.Store) map[string]func() error {
	m := storeCalls(ctx, s)
	if ss, ok := s.(ledger.StatsStore); ok {
		m["Stats"] = func() error {
			_, err := ss.Stats(ctx)
			return err
		}
	}
	if hs, ok := s.(ledger.HistoryStore); ok {
		m["History"] = func() error {
			_, err := hs.History(ctx, "r")
			return err
		}
	}
	return m
}

func storeCalls(ctx context.Context, s ledger.Store) map[string]func() error {
	r := newRecord("r")
	e := eventOf("paykeeper", "1", payments.StateSucceeded)
	return map[string]func() error{
		"Insert": func() error {
			_, err := s.Insert(ctx, at(time.Minute), []ledger.Record{newRecord("new")}, nil)
			return err
		},
		"Claim": func() error {
			_, err := s.Claim(ctx, "a", at(time.Minute), time.Minute, 10)
			return err
		},
		"Save": func() error {
			_, err := s.Save(ctx, "a", at(time.Minute), 0, []ledger.Record{r})
			return err
		},
		"Renew": func() error {
			_, err := s.Renew(ctx, "a", at(time.Minute), time.Minute, []string{"r"})
			return err
		},
		"Get": func() error {
			_, err := s.Get(ctx, "r")
			return err
		},
		"List": func() error {
			_, err := s.List(ctx, ledger.Filter{})
			return err
		},
		"Count": func() error {
			_, err := s.Count(ctx)
			return err
		},
		"AddEvent": func() error {
			_, _, err := s.AddEvent(ctx, at(time.Minute), eventOf("paykeeper", "2", payments.StatePending))
			return err
		},
		"HandleEvent": func() error { return s.HandleEvent(ctx, at(time.Minute), e) },
		"Events": func() error {
			_, err := s.Events(ctx, 0)
			return err
		},
		"AcquireBinding": func() error {
			_, _, err := s.AcquireBinding(ctx, at(time.Minute), "r", "qiwi")
			return err
		},
		"MoveBinding": func() error {
			_, err := s.MoveBinding(ctx, at(time.Minute), "b", "qiwi", "royalpay", 1)
			return err
		},
		"Binding": func() error {
			_, err := s.Binding(ctx, "b")
			return err
		},
	}
}

// requireStoreError requires err to be a *ledger.StoreError that names its
// store and operation.
func requireStoreError(t *testing.T, err error, what string) *ledger.StoreError {
	t.Helper()
	require.Error(t, err, what)
	require.ErrorIs(t, err, ledger.ErrStore, what)
	var se *ledger.StoreError
	require.ErrorAs(t, err, &se, what)
	require.NotEmpty(t, se.Store, "%s: StoreError.Store", what)
	require.NotEmpty(t, se.Op, "%s: StoreError.Op", what)
	require.NotNil(t, se.Err, "%s: StoreError.Err", what)
	return se
}

func testErrors(t *testing.T, open Opener) {
	t.Run("AfterClose", func(t *testing.T) {
		s := open(t)
		mustInsert(t, s, t0, newRecord("r"))
		mustAdd(t, s, t0, eventOf("paykeeper", "1", payments.StateSucceeded))
		requireClaimed(t, s, "a", t0, time.Minute, 10, "r")
		require.NoError(t, s.Close())
		for name, call := range calls(bg, s) {
			err := call()
			requireStoreError(t, err, name+" after Close")
			require.False(t, errors.Is(err, payments.ErrNotFound), "%s after Close is not a not-found: %v", name, err)
		}
	})

	t.Run("CanceledContext", func(t *testing.T) {
		s := open(t)
		mustInsert(t, s, t0, newRecord("r"))
		mustAdd(t, s, t0, eventOf("paykeeper", "1", payments.StateSucceeded))
		mustAcquire(t, s, "b", "qiwi", "qiwi", 1)
		ctx, cancel := context.WithCancel(bg)
		cancel()
		for name, call := range calls(ctx, s) {
			err := call()
			requireStoreError(t, err, name+" with a canceled context")
			require.ErrorIs(t, err, context.Canceled, name)
		}
		// Nothing was written, and the store still works.
		_, err := s.Get(bg, "new")
		require.ErrorIs(t, err, payments.ErrNotFound, "an Insert under a canceled context")
		require.Len(t, mustEvents(t, s, 0), 1, "an AddEvent under a canceled context")
		require.False(t, mustEvents(t, s, 0)[0].Handled(), "a HandleEvent under a canceled context")
		requireBinding(t, s, "r", "", "after an AcquireBinding under a canceled context")
		requireBinding(t, s, "b", "qiwi", "after a MoveBinding under a canceled context")
		mustAcquire(t, s, "b", "royalpay", "qiwi", 2)
		requireClaimed(t, s, "b", at(time.Minute), time.Minute, 10, "r")
		mustInsert(t, s, at(time.Minute), newRecord("new"))
	})

	t.Run("CheckCanceledBeforeInsert", func(t *testing.T) {
		// A context canceled while check runs: nothing is inserted.
		s := open(t)
		mustInsert(t, s, t0, newRecord("a"))
		ctx, cancel := context.WithCancel(bg)
		defer cancel()
		_, err := s.Insert(ctx, at(time.Second), []ledger.Record{newRecord("a"), newRecord("b")}, func([]ledger.Record) error {
			cancel()
			return nil
		})
		require.Error(t, err, "an Insert whose context ended before commit")
		_, err = s.Get(bg, "b")
		require.ErrorIs(t, err, payments.ErrNotFound)
	})
}
