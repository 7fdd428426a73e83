package sqlitestore_test

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/ledger"
	"github.com/paysdk/payments/ledger/sqlitestore"
	"github.com/paysdk/payments/payout"
)

func TestExclusiveRefusesASecondOwnerAndFreesDeadLeases(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "ledger.db")

	// A process that leased everything for an hour, then died.
	s, err := sqlitestore.Open(ctx, path)
	require.NoError(t, err)
	now := time.Now().Truncate(time.Microsecond)
	recs := make([]ledger.Record, 3)
	for i := range recs {
		recs[i] = ledger.Record{Ref: string(rune('a' + i)), Provider: "popolni", Status: ledger.InFlight,
			Amount: payments.MustMoney("1.00", "RUB"), To: payout.Destination{Kind: payout.Mobile, Account: "79160000000"}}
	}
	_, err = s.Insert(ctx, now, recs, nil)
	require.NoError(t, err)
	got, err := s.Claim(ctx, "dead", now, time.Hour, 10)
	require.NoError(t, err)
	require.Len(t, got, 3)
	require.NoError(t, s.Close())

	plain, err := sqlitestore.Open(ctx, path)
	require.NoError(t, err)
	got, err = plain.Claim(ctx, "next", now, time.Minute, 10)
	require.NoError(t, err)
	require.Empty(t, got, "without Exclusive the dead process's leases stand")
	require.NoError(t, plain.Close())

	ex, err := sqlitestore.Open(ctx, path, sqlitestore.Exclusive())
	require.NoError(t, err)
	got, err = ex.Claim(ctx, "next", now, time.Minute, 10)
	require.NoError(t, err)
	require.Len(t, got, 3, "Exclusive freed them at once")

	_, err = sqlitestore.Open(ctx, path, sqlitestore.Exclusive())
	require.ErrorIs(t, err, ledger.ErrStore)
	require.ErrorContains(t, err, "in use by another process")
	require.ErrorContains(t, err, path)
	require.NoError(t, ex.Close())

	again, err := sqlitestore.Open(ctx, path, sqlitestore.Exclusive())
	require.NoError(t, err, "Close let go of the lock")
	require.NoError(t, again.Close())
}

// TestExclusiveLockDiesWithItsProcess: a process killed with SIGKILL
// holds the lock while alive, and the next Open gets it once it is dead.
func TestExclusiveLockDiesWithItsProcess(t *testing.T) {
	if path := os.Getenv("SQLITESTORE_HOLD"); path != "" {
		s, err := sqlitestore.Open(context.Background(), path, sqlitestore.Exclusive())
		if err != nil {
			os.Stdout.WriteString("error " + err.Error() + "\n")
			os.Exit(3)
		}
		defer s.Close()
		os.Stdout.WriteString("holding\n")
		time.Sleep(time.Minute)
		return
	}
	path := filepath.Join(t.TempDir(), "ledger.db")
	cmd := exec.Command(os.Args[0], "-test.run=^TestExclusiveLockDiesWithItsProcess$")
	cmd.Env = append(os.Environ(), "SQLITESTORE_HOLD="+path)
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	line, err := bufio.NewReader(out).ReadString('\n')
	require.NoError(t, err)
	require.Equal(t, "holding\n", line)

	_, err = sqlitestore.Open(context.Background(), path, sqlitestore.Exclusive())
	require.ErrorContains(t, err, "in use by another process")

	require.NoError(t, cmd.Process.Kill())
	_ = cmd.Wait()
	s, err := sqlitestore.Open(context.Background(), path, sqlitestore.Exclusive())
	require.NoError(t, err, "the dead process's lock is gone")
	require.NoError(t, s.Close())
}
