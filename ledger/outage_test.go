package ledger_test

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/paysdk/payments/internal/pgtest"
	"github.com/paysdk/payments/ledger"
	"github.com/paysdk/payments/ledger/pgstore"
	"github.com/paysdk/payments/ledger/sqlitestore"
	"github.com/paysdk/payments/popolni/popolnitest"
)

// TestStoreOutage: the store stops answering mid-run. The ledger stops
// sending (within its lease), says why (OnError and Health name the
// store), and when the store is back it resumes: every payout paid once,
// every record final.
func TestStoreOutage(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "ledger.db")
		s, err := sqlitestore.Open(context.Background(), path)
		require.NoError(t, err)
		t.Cleanup(func() { s.Close() })
		// Another connection takes the write lock and keeps it: the
		// ledger's file cannot be written.
		db, err := sql.Open("sqlite", path)
		require.NoError(t, err)
		t.Cleanup(func() { db.Close() })
		var locker *sql.Conn
		outage(t, s, func() {
			locker, err = db.Conn(context.Background())
			require.NoError(t, err)
			_, err = locker.ExecContext(context.Background(), "PRAGMA busy_timeout = 10000")
			require.NoError(t, err)
			_, err = locker.ExecContext(context.Background(), "BEGIN EXCLUSIVE")
			require.NoError(t, err)
		}, func() {
			_, err := locker.ExecContext(context.Background(), "ROLLBACK")
			require.NoError(t, err)
			require.NoError(t, locker.Close())
		})
	})
	t.Run("postgres", func(t *testing.T) {
		dsn := pgtest.DSN(t)
		proxy := pgtest.NewProxy(t, pgtest.Target(dsn))
		s, err := pgstore.Open(context.Background(), proxy.DSN(dsn), pgstore.Options{OpTimeout: time.Second, ConnectTimeout: time.Second})
		require.NoError(t, err)
		t.Cleanup(func() { s.Close() })
		outage(t, s, proxy.Cut, proxy.Restore)
	})
}

func outage(t *testing.T, s ledger.Store, down, up func()) {
	srv, pc := popolniFake(t, popolnitest.WithStepsPerPoll(1))
	var storeErrs atomic.Int32
	var lastErr atomic.Value
	l, err := ledger.New(s, fast(ledger.Options{
		Lease:        time.Second,
		Batch:        50,
		Sends:        4,
		PollInterval: 20 * time.Millisecond,
		OnError: func(err error) {
			if errors.Is(err, ledger.ErrStore) {
				storeErrs.Add(1)
				lastErr.Store(err.Error())
			}
		},
	}), pc)
	require.NoError(t, err)
	reqs := requests(9_000_000_001, 300)
	_, err = l.Submit(context.Background(), reqs...)
	require.NoError(t, err)
	running(t, l)

	// Mid-run: some paid, not all.
	require.Eventually(t, func() bool { return len(srv.Payments()) >= 20 }, 20*time.Second, time.Millisecond)
	down()
	require.Eventually(t, func() bool { return l.Health() != nil }, 15*time.Second, 5*time.Millisecond, "Health says the store is down")
	require.ErrorIs(t, l.Health(), ledger.ErrStore)
	// Sends already marked InFlight may finish; within the lease the
	// ledger stops them and sends nothing more.
	time.Sleep(1500 * time.Millisecond)
	pays := srv.Count(popolnitest.OpPay)
	paid := len(srv.Payments())
	time.Sleep(time.Second)
	require.Equal(t, pays, srv.Count(popolnitest.OpPay), "no pay request while the store is down")
	require.Equal(t, paid, len(srv.Payments()))
	require.Less(t, paid, len(reqs), "the outage landed mid-run")
	require.Positive(t, storeErrs.Load())
	t.Logf("store down after %d payments; OnError: %s", paid, lastErr.Load())

	up()
	waitFinal(t, s, 60*time.Second)
	paidOncePopolni(t, srv, reqs)
	require.Eventually(t, func() bool { return l.Health() == nil }, 5*time.Second, 5*time.Millisecond)
}
