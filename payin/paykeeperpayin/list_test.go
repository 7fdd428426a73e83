package paykeeperpayin_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/payin"
	"github.com/paysdk/payments/payin/mempayin"
	"github.com/paysdk/payments/payin/paykeeperpayin"
	"github.com/paysdk/payments/paykeeper/paykeepertest"
)

// TestPaymentsOfAPeriod: the registry's payments created in [since, until)
// come back, in every state, with their ids, orders and amounts; those of
// the day before, and of the same day before since, do not; only reads are
// sent.
func TestPaymentsOfAPeriod(t *testing.T) {
	ctx := context.Background()
	srv := newFake(t)
	t.Cleanup(srv.Close)
	c := payin.NewClient(newDriver(t, srv, paykeeperpayin.Options{}))

	// Moscow noon, so that an hour either side stays on the same day.
	noon := time.Date(2024, 3, 5, 12, 0, 0, 0, paykeepertest.Moscow)
	in1 := srv.AddPayment(paykeepertest.PaymentSpec{Amount: "100.00", OrderID: "A-1", Created: noon})
	in2 := srv.AddPayment(paykeepertest.PaymentSpec{Amount: "7.50", OrderID: "A-2", Status: paykeepertest.StatusCanceled,
		Created: noon.Add(30 * time.Minute), PaymentSystemID: "9"})
	srv.AddPayment(paykeepertest.PaymentSpec{Amount: "1.00", OrderID: "early", Created: noon.Add(-time.Hour)})       // same day, before since
	srv.AddPayment(paykeepertest.PaymentSpec{Amount: "2.00", OrderID: "late", Created: noon.Add(time.Hour)})         // same day, at until
	srv.AddPayment(paykeepertest.PaymentSpec{Amount: "3.00", OrderID: "yesterday", Created: noon.AddDate(0, 0, -1)}) // another day
	srv.Reset()

	ps, err := c.Payments(ctx, noon.Add(-time.Minute), noon.Add(time.Hour))
	require.NoError(t, err)
	got := map[string]payin.Payment{}
	for _, p := range ps {
		got[p.ID] = p
	}
	require.Len(t, got, 2, "%v", ps)
	require.Equal(t, "A-1", got[in1].OrderRef)
	require.True(t, got[in1].Amount.Equal(payments.MustMoney("100.00", "RUB")))
	require.Equal(t, payments.StateSucceeded, got[in1].State)
	require.Equal(t, "paykeeper", got[in1].Provider)
	require.True(t, got[in1].Created.Equal(noon))
	require.Equal(t, payments.StateCanceled, got[in2].State)
	require.Equal(t, 1, srv.Count(paykeepertest.OpSystemsList))
	require.Equal(t, 1, srv.Count(paykeepertest.OpPaymentsByDate))
	require.Len(t, srv.Requests(), 2, "two reads, nothing else")

	// A zero start is refused before anything is sent.
	_, err = c.Payments(ctx, time.Time{}, noon)
	var ve *payments.ValidationError
	require.ErrorAs(t, err, &ve)
	_, err = c.Payments(ctx, noon, noon.Add(-time.Second))
	require.ErrorAs(t, err, &ve)
	require.Len(t, srv.Requests(), 2)
}

// TestPaymentsNotSupported: a driver without a list answers
// payments.ErrNotSupported; the in-memory one lists its checkouts.
func TestPaymentsNotSupported(t *testing.T) {
	ctx := context.Background()
	c := payin.NewClient(noList{})
	_, err := c.Payments(ctx, time.Now().Add(-time.Hour), time.Time{})
	require.True(t, errors.Is(err, payments.ErrNotSupported), "%v", err)

	d, err := mempayin.New(mempayin.Options{})
	require.NoError(t, err)
	mc := payin.NewClient(d)
	co, err := mc.Create(ctx, payin.Request{OrderRef: "O-1", Amount: payments.MustMoney("10.00", "RUB")})
	require.NoError(t, err)
	require.NoError(t, d.Pay(ctx, co.ID))
	ps, err := mc.Payments(ctx, time.Time{}, time.Time{})
	require.NoError(t, err)
	require.Len(t, ps, 1)
	require.Equal(t, co.ID, ps[0].ID)
	require.Equal(t, payments.StateSucceeded, ps[0].State)
}

// noList is a driver without payin.Lister.
type noList struct{ payin.Driver }

func (noList) Capabilities() payin.Capabilities { return payin.Capabilities{Provider: "nolist"} }
