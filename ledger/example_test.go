package ledger_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/ledger"
	"github.com/paysdk/payments/ledger/sqlitestore"
	"github.com/paysdk/payments/payout"
	"github.com/paysdk/payments/payout/popolnipayout"
	"github.com/paysdk/payments/popolni"
	"github.com/paysdk/payments/popolni/popolnitest"
)

// A ledger on the embedded store pays two payouts through popolni (here its
// fake) and reports each once it is final. Submitting them again, as a
// restarted job would, records and pays nothing new.
func Example() {
	ctx := context.Background()
	srv := popolnitest.NewServer()
	defer srv.Close()
	pc, _ := popolni.New(popolni.Credentials{Login: srv.Login(), Password: srv.Password()}, srv.ClientOptions()...)
	client := payout.NewClient(popolnipayout.New(pc, popolnipayout.Options{PollInterval: 20 * time.Millisecond}))
	defer client.Close()

	dir, _ := os.MkdirTemp("", "ledger-example")
	defer os.RemoveAll(dir)
	store, err := sqlitestore.Open(ctx, filepath.Join(dir, "payouts.db"), sqlitestore.Exclusive())
	if err != nil {
		fmt.Println(err)
		return
	}
	defer store.Close()

	var mu sync.Mutex
	var lines []string
	done := make(chan struct{}, 2)
	// Card numbers are sealed before they reach the store: the key (32
	// random bytes, from your secret manager) is never stored.
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	cards, err := ledger.NewAESGCM("2026-12", map[string][]byte{"2026-12": key})
	if err != nil {
		fmt.Println(err)
		return
	}
	l, _ := ledger.New(store, ledger.Options{
		Cards: cards,
		OnFinal: func(_ context.Context, r ledger.Record) error {
			mu.Lock()
			lines = append(lines, r.String())
			mu.Unlock()
			done <- struct{}{}
			return nil
		},
	}, client)

	reqs := []payout.Request{
		{Ref: "1000000001", Amount: payments.MustMoney("150.00", "RUB"), To: payout.Destination{Kind: payout.Mobile, Account: "79161234567"}},
		{Ref: "1000000002", Amount: payments.MustMoney("2500.00", "RUB"), To: payout.Destination{Kind: payout.Card, Account: "4111111111111111"}},
	}
	n, _ := l.Submit(ctx, reqs...)
	fmt.Println("new intents:", n)

	runCtx, stop := context.WithCancel(ctx)
	ran := make(chan error, 1)
	go func() { ran <- l.Run(runCtx) }()
	<-done
	<-done
	stop()
	<-ran

	sort.Strings(lines)
	for _, line := range lines {
		fmt.Println(line)
	}
	n, _ = l.Submit(ctx, reqs...)
	fmt.Println("new intents on a second submit:", n, "- payments at popolni:", len(srv.Payments()))
	// Output:
	// new intents: 2
	// 1000000001 succeeded 150.00 RUB to mobile:79161234567 at popolni (3 succeeded)
	// 1000000002 succeeded 2500.00 RUB to card:411111******1111 at popolni (3 succeeded)
	// new intents on a second submit: 0 - payments at popolni: 2
}
