package ledger_test

import (
	"context"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/ledger"
	"github.com/paysdk/payments/payin"
	"github.com/paysdk/payments/payin/paykeeperpayin"
	"github.com/paysdk/payments/paykeeper"
	"github.com/paysdk/payments/paykeeper/paykeepertest"
)

// TestPayKeeperRepeatsOneEvent: through the unified handler, PayKeeper's
// notification of one payment delivered three times is one event and one
// call of the merchant's code, each delivery acknowledged; with the store
// down, PayKeeper is not acknowledged (it will repeat) and nothing is
// handed on.
func TestPayKeeperRepeatsOneEvent(t *testing.T) {
	eachStore(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		const secret = "informer-seed-e2e"
		srv := paykeepertest.NewServer(paykeepertest.WithT(t), paykeepertest.WithNotifications("http://127.0.0.1:1/unset", secret))
		t.Cleanup(srv.Close)
		pk, err := paykeeper.New(paykeeper.Credentials{User: paykeepertest.DefaultUser, Password: paykeepertest.DefaultPassword},
			append(srv.ClientOptions(), payments.WithTestTiming())...)
		require.NoError(t, err)
		client := payin.NewClient(paykeeperpayin.New(pk, paykeeperpayin.Options{Secret: secret}))
		t.Cleanup(func() { client.Close() })

		s := b.open(t)
		var handled atomic.Int32
		h, err := payin.NewHandler(ledger.Notifications(s, func(context.Context, payin.Event) error {
			handled.Add(1)
			return nil
		}), client)
		require.NoError(t, err)
		web := httptest.NewServer(h)
		t.Cleanup(web.Close)
		srv.SetSetting("informer_url", web.URL+"/notify/paykeeper")

		co, err := client.Create(ctx, payin.Request{OrderRef: "A-77", Amount: payments.MustMoney("990.00", "RUB"),
			Customer: payin.Customer{Name: "Иванов Иван", Email: "ivanov@example.com"}})
		require.NoError(t, err)
		id, err := srv.PayInvoice(co.ID)
		require.NoError(t, err)
		for range 2 {
			_, err := srv.Notify(id)
			require.NoError(t, err)
		}
		ns := srv.Notifications()
		require.Len(t, ns, 3)
		for _, n := range ns {
			require.True(t, n.Acknowledged, "delivery acknowledged: %d %s", n.Status, n.Body)
		}
		require.EqualValues(t, 1, handled.Load(), "the merchant's code ran once")
		evs, err := s.Events(ctx, 0)
		require.NoError(t, err)
		require.Len(t, evs, 1)
		require.Equal(t, id, evs[0].ProviderID)
		require.Equal(t, "A-77", evs[0].OrderRef)
		require.True(t, evs[0].Handled())

		// A second payment while the store is down: not acknowledged.
		co2, err := client.Create(ctx, payin.Request{OrderRef: "A-78", Amount: payments.MustMoney("10.00", "RUB"),
			Customer: payin.Customer{Name: "Иванов Иван", Email: "ivanov@example.com"}})
		require.NoError(t, err)
		require.NoError(t, s.Close())
		_, err = srv.PayInvoice(co2.ID)
		require.NoError(t, err)
		ns = srv.Notifications()
		require.False(t, ns[len(ns)-1].Acknowledged, "no durable record, no acknowledgement")
		require.EqualValues(t, 1, handled.Load())
	})
}
