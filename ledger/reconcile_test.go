package ledger_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/ledger"
	"github.com/paysdk/payments/payin"
	"github.com/paysdk/payments/payin/payinfake"
	"github.com/paysdk/payments/paykeeper/paykeepertest"
	"github.com/paysdk/payments/payout"
	"github.com/paysdk/payments/payout/payoutfake"
	"github.com/paysdk/payments/payout/royalpaypayout"
	"github.com/paysdk/payments/popolni/popolnitest"
	"github.com/paysdk/payments/qiwitopup/qiwitopuptest"
	"github.com/paysdk/payments/royalpay"
	"github.com/paysdk/payments/royalpay/royalpaytest"
)

// plant writes recs into s as if the ledger had worked them: inserted at
// created, then saved with each record's Status, ProviderID and FinalAt.
func plant(t *testing.T, s ledger.Store, created time.Time, recs ...ledger.Record) {
	t.Helper()
	ctx := context.Background()
	n, err := s.Insert(ctx, created, recs, nil)
	require.NoError(t, err)
	require.Equal(t, len(recs), n)
	want := map[string]ledger.Record{}
	for _, r := range recs {
		want[r.Ref] = r
	}
	now := time.Now().Add(time.Hour) // every planted record is due
	claimed, err := s.Claim(ctx, "planter", now, time.Minute, 100000)
	require.NoError(t, err)
	var save []ledger.Record
	for _, c := range claimed {
		w, ok := want[c.Ref]
		if !ok {
			continue
		}
		c.Status, c.ProviderID = w.Status, w.ProviderID
		if c.Status.Final() {
			c.FinalAt = now
		}
		save = append(save, c)
	}
	require.Len(t, save, len(recs))
	lost, err := s.Save(ctx, "planter", now, 0, save)
	require.NoError(t, err)
	require.Empty(t, lost)
}

func rec(ref, provider string, status ledger.Status, amount payments.Money, to payout.Destination) ledger.Record {
	return ledger.Record{Ref: ref, Provider: provider, Amount: amount, To: to, Status: status}
}

var phone = payout.Destination{Kind: payout.Mobile, Account: "79161234567"}

// limitedRoyalPay opens a second royalpay payout client on srv whose
// limiter admits perSecond requests, one at a time.
func limitedRoyalPay(t *testing.T, srv *royalpaytest.Server, perSecond float64) *payout.Client {
	c, err := payout.Open(context.Background(), royalpaypayout.Scheme+"://",
		payments.OpenCredentials(royalpay.Credentials{PayoutToken: royalpaytest.DefaultPayoutToken, Token: srv.Token()}),
		payments.OpenClientOptions(append(srv.ClientOptions(), payments.WithRateLimit(perSecond, 1))...))
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	return c
}

// TestReconcileFindsEachDifference plants every kind of difference across
// popolni, QIWI, RoyalPay, the in-memory payout provider and PayKeeper, and
// checks that Reconcile reports exactly those, asks each provider in
// batches of its StatusBatch at its limiter's pace, and sends nothing that
// moves money.
func TestReconcileFindsEachDifference(t *testing.T) {
	eachStore(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		s := b.open(t)
		t0 := time.Now().Truncate(time.Microsecond)

		// popolni: 101 records of the period (two status requests of 100).
		pc, psrv := payoutfake.Popolni(t)
		paid := func(ref string, status int) {
			_, err := pc.Send(ctx, payout.Request{Ref: ref, Amount: rub(10000), To: phone})
			require.NoError(t, err)
			id, _ := strconv.ParseInt(ref, 10, 64)
			require.True(t, psrv.SetStatus(id, status))
		}
		paid("1000", 3)   // paid, ledger pending: paid_not_final
		paid("1001", 3)   // paid, ledger succeeded: agrees
		paid("1003", 101) // failed, ledger succeeded: final_disagrees
		paid("1004", 3)   // paid, ledger failed: final_disagrees (the worst)
		paid("1005", 101) // failed, ledger failed: agrees
		paid("999", 3)    // paid, ledger pending, but created before the period
		var recs []ledger.Record
		status := map[string]ledger.Status{"1000": ledger.Pending, "1001": ledger.Succeeded, "1002": ledger.Succeeded,
			"1003": ledger.Succeeded, "1004": ledger.Failed, "1005": ledger.Failed}
		for i := 1000; i <= 1100; i++ {
			ref := strconv.Itoa(i)
			st := status[ref]
			if st == "" {
				st = ledger.Recorded // never sent, not at the provider: agrees
			}
			recs = append(recs, rec(ref, "popolni", st, rub(10000), phone))
		}
		// "1002": succeeded in the ledger, unknown at popolni: final_disagrees

		// QIWI: 51 records (two status requests of 50).
		qc, qsrv := payoutfake.QIWI(t)
		qsrv.SetProvider("916", 42) // the mobile operator of the phone
		for _, ref := range []string{"2000", "2001"} {
			_, err := qc.Send(ctx, payout.Request{Ref: ref, Amount: rub(10000), To: phone})
			require.NoError(t, err)
			require.True(t, qsrv.Complete(ref))
		}
		for i := 2000; i <= 2050; i++ {
			st := ledger.Recorded
			switch i {
			case 2000:
				st = ledger.InFlight // paid at QIWI: paid_not_final
			case 2001:
				st = ledger.Succeeded
			}
			recs = append(recs, rec(strconv.Itoa(i), "qiwitopup", st, rub(10000), phone))
		}

		// RoyalPay: six lookups by outter_id, through a limiter of 20 a
		// second, one at a time.
		_, rsrv := payoutfake.RoyalPay(t)
		rc := limitedRoyalPay(t, rsrv, 20)
		for i := 3000; i <= 3005; i++ {
			recs = append(recs, rec(strconv.Itoa(i), "royalpay", ledger.Recorded, rub(10000), phone))
		}

		// The in-memory provider reports amounts and destinations.
		mc, md := payoutfake.Mem(t)
		_, err := mc.Send(ctx, payout.Request{Ref: "4000", Amount: rub(15000), To: phone})
		require.NoError(t, err)
		const panLedger, panMem = "4111111111111111", "5500000000000004"
		_, err = mc.Send(ctx, payout.Request{Ref: "4001", Amount: rub(10000), To: payout.Destination{Kind: payout.Card, Account: panMem}})
		require.NoError(t, err)
		sealed, err := testCards.Seal(ctx, "4001", panLedger)
		require.NoError(t, err)
		recs = append(recs,
			rec("4000", "mem", ledger.Succeeded, rub(10000), phone),                                                  // amount differs
			rec("4001", "mem", ledger.Succeeded, rub(10000), payout.Destination{Kind: payout.Card, Account: sealed})) // card differs

		// A provider no client is given for: not checked, no difference.
		recs = append(recs, rec("5000", "ghost", ledger.Succeeded, rub(10000), phone))
		plant(t, s, t0, recs...)
		plant(t, s, t0.Add(-48*time.Hour), rec("999", "popolni", ledger.Pending, rub(10000), phone))

		// PayKeeper: payments of the period against recorded events.
		kc, ksrv := payinfake.PayKeeper(t)
		p1 := ksrv.AddPayment(paykeepertest.PaymentSpec{Amount: "100.00", OrderID: "A-1"})                               // recorded: agrees
		p2 := ksrv.AddPayment(paykeepertest.PaymentSpec{Amount: "50.00", OrderID: "A-2"})                                // no event: unrecorded
		p3 := ksrv.AddPayment(paykeepertest.PaymentSpec{Amount: "70.00", OrderID: "A-3"})                                // event of 75.00: mismatch
		ksrv.AddPayment(paykeepertest.PaymentSpec{Amount: "9.00", OrderID: "A-4", Status: paykeepertest.StatusCanceled}) // not paid
		ksrv.AddPayment(paykeepertest.PaymentSpec{Amount: "8.00", OrderID: "old", Created: t0.AddDate(0, 0, -3)})        // before the period
		for _, e := range []ledger.Event{
			{Provider: "paykeeper", ProviderID: p1, State: payments.StateSucceeded, OrderRef: "A-1", Amount: payments.MustMoney("100.00", "RUB")},
			{Provider: "paykeeper", ProviderID: p3, State: payments.StateSucceeded, OrderRef: "A-3", Amount: payments.MustMoney("75.00", "RUB")},
		} {
			_, _, err := s.AddEvent(ctx, t0, e)
			require.NoError(t, err)
		}

		psrv.Reset()
		qsrv.Reset()
		rsrv.Reset()
		ksrv.Reset()
		memBefore, memPayouts := md.Requests(), len(md.Payouts())

		start := time.Now()
		rep, err := ledger.Reconcile(ctx, s, ledger.ReconcileOptions{
			Payouts: []*payout.Client{pc, qc, rc, mc},
			Payins:  []*payin.Client{kc},
			Since:   t0.Add(-time.Hour), Until: t0.Add(time.Hour),
			Cards: testCards,
		})
		require.NoError(t, err)

		var got []string
		for _, d := range rep.Differences {
			got = append(got, fmt.Sprintf("%s/%s/%s", d.Provider, d.Ref, d.Kind))
		}
		require.ElementsMatch(t, []string{
			"popolni/1000/paid_not_final",
			"popolni/1002/final_disagrees",
			"popolni/1003/final_disagrees",
			"popolni/1004/final_disagrees",
			"qiwitopup/2000/paid_not_final",
			"mem/4000/mismatch",
			"mem/4001/mismatch",
			"paykeeper/A-2/unrecorded_payment",
			"paykeeper/A-3/mismatch",
		}, got, "%v", rep.Differences)
		require.Equal(t, map[string]int{"popolni": 101, "qiwitopup": 51, "royalpay": 6, "mem": 2}, rep.Checked)
		require.Equal(t, map[string]int{"paykeeper": 4}, rep.CheckedPayments)
		require.Equal(t, map[string]int{"ghost": 1}, rep.NotChecked)
		require.Empty(t, rep.Errors)
		require.Equal(t, 160, rep.Records())
		require.Equal(t, 5, rep.Providers())
		for _, d := range rep.Differences {
			switch d.Ref {
			case "1004":
				require.Contains(t, d.Detail, "money out that the ledger thinks failed")
			case "A-2":
				require.Equal(t, p2, d.ProviderID)
				require.True(t, d.AtProvider.Amount.Equal(payments.MustMoney("50.00", "RUB")))
			case "4000":
				require.True(t, d.AtProvider.Amount.Equal(rub(15000)), "%v", d)
			}
		}

		// Status requests in batches of StatusBatch, and nothing that pays.
		// popolni: ceil(101/100) = 2 batches, and the driver asks each
		// batch's 125s ("not found") once more before believing them
		// (popolni.Client.StatusConfirmed): 2 requests per batch here.
		require.Equal(t, 2*2, psrv.Count(popolnitest.OpStatus), "ceil(101/100) batches, each confirmed")
		require.Zero(t, psrv.Count(popolnitest.OpPay))
		require.Len(t, psrv.Requests(), 4)
		require.Equal(t, 2, qsrv.Count(qiwitopuptest.OpStatus), "ceil(51/50)")
		require.Zero(t, qsrv.Count(qiwitopuptest.OpPay))
		require.Len(t, qsrv.Requests(), 2)
		require.Equal(t, 6, rsrv.Count(royalpaytest.OpPayoutGet), "one lookup per outter_id")
		require.Zero(t, rsrv.Count(royalpaytest.OpPayoutCreate))
		require.Zero(t, rsrv.Count(royalpaytest.OpCreate))
		require.Len(t, rsrv.Requests(), 6)
		require.Equal(t, 1, ksrv.Count(paykeepertest.OpSystemsList))
		require.Equal(t, 1, ksrv.Count(paykeepertest.OpPaymentsByDate))
		require.Len(t, ksrv.Requests(), 2, "reads only: no invoice, no refund")
		require.Equal(t, memBefore+1, md.Requests(), "one status read for the two mem records")
		require.Len(t, md.Payouts(), memPayouts)

		// The limiter's pace: 20 a second, one at a time, so the sixth
		// lookup cannot reach the fake before 5/20 s after the start (a
		// lower bound: it holds on a loaded machine).
		reqs := rsrv.Requests()
		require.GreaterOrEqual(t, reqs[len(reqs)-1].Time.Sub(start), 250*time.Millisecond)

		// No full card number in the report's JSON or text.
		js, err := json.Marshal(rep)
		require.NoError(t, err)
		text := fmt.Sprint(rep.Differences)
		for _, out := range []string{string(js), text} {
			require.NotContains(t, out, panLedger)
			require.NotContains(t, out, panMem)
			require.NotContains(t, out, "enc:v1:")
		}
		require.Contains(t, string(js), "550000******0004")
		require.Contains(t, string(js), `"kind":"unrecorded_payment"`)
	})
}

// TestReconcileKeepsGoingAndSaysWhatFailed: a provider that cannot be read
// leaves its records not checked and the others compared, with a
// *ReconcileError; when none can be read the error matches
// ErrNothingRead; a pay-in provider that refuses the period stops
// Reconcile before any payout provider is asked.
func TestReconcileKeepsGoingAndSaysWhatFailed(t *testing.T) {
	ctx := context.Background()
	s := eachStoreSQLite(t)
	t0 := time.Now()
	pc, psrv := payoutfake.Popolni(t)
	mc, _ := payoutfake.Mem(t)
	plant(t, s, t0, rec("1", "popolni", ledger.Succeeded, rub(100), phone), rec("2", "mem", ledger.Succeeded, rub(100), phone))

	psrv.FailNext(10, 500, "down")
	rep, err := ledger.Reconcile(ctx, s, ledger.ReconcileOptions{Payouts: []*payout.Client{pc, mc}})
	var re *ledger.ReconcileError
	require.ErrorAs(t, err, &re)
	require.False(t, errors.Is(err, ledger.ErrNothingRead))
	require.Equal(t, map[string]int{"popolni": 1}, rep.NotChecked)
	require.Equal(t, 1, rep.Checked["mem"])
	require.Len(t, rep.Errors, 1)
	require.True(t, strings.HasPrefix(rep.Errors[0], "popolni: "), rep.Errors[0])
	// mem does not know "2": final_disagrees, still reported.
	require.Len(t, rep.Differences, 1)

	psrv.FailNext(10, 500, "down")
	_, err = ledger.Reconcile(ctx, s, ledger.ReconcileOptions{Payouts: []*payout.Client{pc}})
	require.ErrorIs(t, err, ledger.ErrNothingRead)

	kc, _ := payinfake.PayKeeper(t)
	before := psrv.Count(popolnitest.OpStatus)
	_, err = ledger.Reconcile(ctx, s, ledger.ReconcileOptions{Payouts: []*payout.Client{pc}, Payins: []*payin.Client{kc}})
	var ve *payments.ValidationError
	require.ErrorAs(t, err, &ve, "PayKeeper needs a start")
	require.Equal(t, before, psrv.Count(popolnitest.OpStatus), "nothing asked")

	_, err = ledger.Reconcile(ctx, s, ledger.ReconcileOptions{})
	require.ErrorAs(t, err, &ve)
	_, err = ledger.Reconcile(ctx, s, ledger.ReconcileOptions{Payouts: []*payout.Client{pc, pc}})
	require.ErrorAs(t, err, &ve)
	require.True(t, slices.Contains(ledger.DifferenceKinds, ledger.DiffUnrecorded))
}
