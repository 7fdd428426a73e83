package ledger_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/ledger"
	"github.com/paysdk/payments/payout"
)

// leaky is a driver whose send error quotes the card number in full, as a
// careless provider text might.
type leaky struct{ payout.Driver }

func (d leaky) Send(_ context.Context, r payout.Request) (payout.Payout, error) {
	return payout.Payout{}, fmt.Errorf("%w: card %s", payments.ErrOutcomeUnknown, r.To.Account)
}

// TestNoCardNumberInLastErrorOrLog: whatever a driver's error says, the
// ledger stores and logs the card number masked.
func TestNoCardNumberInLastErrorOrLog(t *testing.T) {
	_, pc := popolniFake(t)
	var mu sync.Mutex
	var logs bytes.Buffer
	s := eachStoreSQLite(t)
	l, err := ledger.New(s, ledger.Options{PollInterval: time.Hour, Idle: 5 * time.Millisecond, Cards: testCards,
		Logger: slog.New(slog.NewTextHandler(lockedWriter{&mu, &logs}, nil))}, payout.NewClient(leaky{pc.Driver()}))
	require.NoError(t, err)
	card := "4111111111111111"
	_, err = l.Submit(context.Background(), payout.Request{Ref: "1000000001", Amount: rub(10000),
		To: payout.Destination{Kind: payout.Card, Account: card}})
	require.NoError(t, err)
	running(t, l)
	require.Eventually(t, func() bool {
		r, err := l.Get(context.Background(), "1000000001")
		return err == nil && r.Status == ledger.InFlight && r.LastError != ""
	}, 10*time.Second, 5*time.Millisecond)
	r, _ := l.Get(context.Background(), "1000000001")
	require.NotContains(t, r.LastError, card)
	require.Contains(t, r.LastError, "411111******1111")
	mu.Lock()
	defer mu.Unlock()
	require.Contains(t, logs.String(), "411111******1111", "the error was logged")
	require.NotContains(t, logs.String(), card)
}

type lockedWriter struct {
	mu *sync.Mutex
	b  *bytes.Buffer
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}
