// Package storetest is the conformance suite of ledger.Store: one subtest
// per clause of the Store contract in package ledger, each failing when a
// store breaks that clause. Both stores of this module (ledger/sqlitestore,
// ledger/pgstore) run it, and so can a merchant's own store:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) ledger.Store {
//			s := openFreshStore(t)
//			t.Cleanup(func() { s.Close() })
//			return s
//		})
//	}
//
// Where the contract leaves a choice open, the suite asks for the reading
// that is safest for exactly-once payouts; the test names say which.
package storetest

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/ledger"
	"github.com/paysdk/payments/payout"
)

// Opener returns a fresh, empty, migrated store for the (sub)test t. The
// caller arranges its cleanup (t.Cleanup); the suite may Close the store
// itself first, so the cleanup's Close must tolerate a store already closed.
type Opener func(t *testing.T) ledger.Store

// Run runs the whole suite against the stores open makes: every subtest
// opens its own store. The suite is sequential; against sqlitestore it
// takes about a second (ten or more under -race, which slows the pure-Go
// SQLite most).
func Run(t *testing.T, open func(t *testing.T) ledger.Store) {
	t.Helper()
	o := Opener(open)
	t.Run("Insert", func(t *testing.T) { testInsert(t, o) })
	t.Run("Claim", func(t *testing.T) { testClaim(t, o) })
	t.Run("Save", func(t *testing.T) { testSave(t, o) })
	t.Run("Renew", func(t *testing.T) { testRenew(t, o) })
	t.Run("Get", func(t *testing.T) { testGet(t, o) })
	t.Run("List", func(t *testing.T) { testList(t, o) })
	t.Run("Count", func(t *testing.T) { testCount(t, o) })
	t.Run("Stats", func(t *testing.T) { testStats(t, o) })
	t.Run("History", func(t *testing.T) { testHistory(t, o) })
	t.Run("Browse", func(t *testing.T) { testBrowse(t, o) })
	t.Run("Events", func(t *testing.T) { testEvents(t, o) })
	t.Run("Bindings", func(t *testing.T) { testBindings(t, o) })
	t.Run("Errors", func(t *testing.T) { testErrors(t, o) })
	t.Run("Cancel", func(t *testing.T) { testCancel(t, o) })
}

// t0 is the suite's clock origin, on a whole microsecond.
var t0 = time.Date(2025, 3, 14, 9, 26, 53, 589793000, time.UTC)

// at is t0 plus d.
func at(d time.Duration) time.Time { return t0.Add(d) }

var bg = context.Background()

// newRecord is a valid, minimal intent under ref.
func newRecord(ref string) ledger.Record {
	return ledger.Record{
		Ref:      ref,
		Provider: "popolni",
		Amount:   payments.MustMoney("12.34", "RUB"),
		To:       payout.Destination{Kind: payout.Mobile, Account: "79161234567"},
		Status:   ledger.Recorded,
	}
}

// fullRecord has every field set to a non-zero value, times off the
// microsecond (the store keeps microseconds).
func fullRecord(ref string) ledger.Record {
	msk := time.FixedZone("MSK", 3*3600)
	return ledger.Record{
		Ref:        ref,
		Provider:   "qiwi",
		Amount:     payments.MustMoney("1205.98", "RUB"),
		To:         payout.Destination{Kind: payout.SBP, Account: "79161234567", Bank: "100000000111"},
		Status:     ledger.Pending,
		ProviderID: "prov-" + ref,
		Code:       "ACCEPTED",
		Message:    "Платёж принят ✓",
		LastError:  "read tcp: connection reset\nby peer",
		Sends:      3,
		Polls:      123456,
		CreatedAt:  time.Date(2020, 1, 2, 3, 4, 5, 6789, time.UTC),
		SentAt:     time.Date(2025, 3, 14, 9, 0, 0, 123456789, time.UTC),
		AcceptedAt: time.Date(2025, 3, 14, 12, 0, 1, 999999999, msk),
		FinalAt:    time.Date(2099, 12, 31, 23, 59, 59, 1000, time.UTC),
		UpdatedAt:  time.Date(2021, 1, 1, 0, 0, 0, 0, time.UTC),
		NextAt:     time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC),
		Reported:   true,
	}
}

func refs(rs []ledger.Record) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.Ref
	}
	return out
}

func mustInsert(t *testing.T, s ledger.Store, now time.Time, rs ...ledger.Record) {
	t.Helper()
	n, err := s.Insert(bg, now, rs, nil)
	require.NoError(t, err, "Insert")
	require.Equal(t, len(rs), n, "Insert: inserted count")
}

func mustGet(t *testing.T, s ledger.Store, ref string) ledger.Record {
	t.Helper()
	r, err := s.Get(bg, ref)
	require.NoError(t, err, "Get %q", ref)
	return r
}

func mustClaim(t *testing.T, s ledger.Store, owner string, now time.Time, lease time.Duration, limit int) []ledger.Record {
	t.Helper()
	rs, err := s.Claim(bg, owner, now, lease, limit)
	require.NoError(t, err, "Claim by %s", owner)
	return rs
}

// requireClaimed claims as owner at now and requires exactly want (in order).
func requireClaimed(t *testing.T, s ledger.Store, owner string, now time.Time, lease time.Duration, limit int, want ...string) []ledger.Record {
	t.Helper()
	rs := mustClaim(t, s, owner, now, lease, limit)
	if want == nil {
		want = []string{}
	}
	require.Equal(t, want, refs(rs), "Claim by %s at t0%+v", owner, now.Sub(t0))
	return rs
}

func mustSave(t *testing.T, s ledger.Store, owner string, now time.Time, hold time.Duration, rs ...ledger.Record) {
	t.Helper()
	lost, err := s.Save(bg, owner, now, hold, rs)
	require.NoError(t, err, "Save by %s", owner)
	require.Empty(t, lost, "Save by %s: lost", owner)
}

// us is t as the store keeps it: to the microsecond.
func us(t time.Time) time.Time { return t.Truncate(time.Microsecond) }

func requireTime(t *testing.T, want, got time.Time, field string, msgAndArgs ...any) {
	t.Helper()
	if want.IsZero() {
		require.True(t, got.IsZero(), "%s: want the zero time, got %v %s", field, got, fmtMsg(msgAndArgs))
		return
	}
	require.True(t, us(want).Equal(got), "%s: want %v, got %v %s", field, us(want), got, fmtMsg(msgAndArgs))
}

func fmtMsg(msgAndArgs []any) string {
	if len(msgAndArgs) == 0 {
		return ""
	}
	if f, ok := msgAndArgs[0].(string); ok {
		return "(" + fmt.Sprintf(f, msgAndArgs[1:]...) + ")"
	}
	return fmt.Sprint(msgAndArgs...)
}

func requireMoney(t *testing.T, want, got payments.Money, field string, msgAndArgs ...any) {
	t.Helper()
	require.Equal(t, want.Currency, got.Currency, "%s currency %s", field, fmtMsg(msgAndArgs))
	require.True(t, want.Amount.Equal(got.Amount), "%s: want %s, got %s %s", field, want.Amount, got.Amount, fmtMsg(msgAndArgs))
	require.Equal(t, want.Amount.String(), got.Amount.String(), "%s digits %s", field, fmtMsg(msgAndArgs))
}

// requireRecord requires got to be want as a store keeps it: every field
// equal, times to the microsecond, zero times zero.
func requireRecord(t *testing.T, want, got ledger.Record, msgAndArgs ...any) {
	t.Helper()
	m := fmtMsg(msgAndArgs)
	require.Equal(t, want.Ref, got.Ref, "Ref %s", m)
	require.Equal(t, want.Provider, got.Provider, "Provider of %s %s", want.Ref, m)
	requireMoney(t, want.Amount, got.Amount, "Amount of "+want.Ref, msgAndArgs...)
	require.Equal(t, want.To.Kind, got.To.Kind, "To.Kind of %s %s", want.Ref, m)
	require.Equal(t, want.To.Account, got.To.Account, "To.Account of %s %s", want.Ref, m)
	require.Equal(t, want.To.Bank, got.To.Bank, "To.Bank of %s %s", want.Ref, m)
	require.Equal(t, want.Status, got.Status, "Status of %s %s", want.Ref, m)
	require.Equal(t, want.ProviderID, got.ProviderID, "ProviderID of %s %s", want.Ref, m)
	require.Equal(t, want.Code, got.Code, "Code of %s %s", want.Ref, m)
	require.Equal(t, want.Message, got.Message, "Message of %s %s", want.Ref, m)
	require.Equal(t, want.LastError, got.LastError, "LastError of %s %s", want.Ref, m)
	require.Equal(t, want.Sends, got.Sends, "Sends of %s %s", want.Ref, m)
	require.Equal(t, want.Polls, got.Polls, "Polls of %s %s", want.Ref, m)
	requireTime(t, want.CreatedAt, got.CreatedAt, "CreatedAt of "+want.Ref, msgAndArgs...)
	requireTime(t, want.SentAt, got.SentAt, "SentAt of "+want.Ref, msgAndArgs...)
	requireTime(t, want.AcceptedAt, got.AcceptedAt, "AcceptedAt of "+want.Ref, msgAndArgs...)
	requireTime(t, want.FinalAt, got.FinalAt, "FinalAt of "+want.Ref, msgAndArgs...)
	requireTime(t, want.UpdatedAt, got.UpdatedAt, "UpdatedAt of "+want.Ref, msgAndArgs...)
	requireTime(t, want.NextAt, got.NextAt, "NextAt of "+want.Ref, msgAndArgs...)
	require.Equal(t, want.Reported, got.Reported, "Reported of %s %s", want.Ref, m)
}

// requireRecords is requireRecord over two lists, in order.
func requireRecords(t *testing.T, want, got []ledger.Record, msgAndArgs ...any) {
	t.Helper()
	require.Equal(t, refs(want), refs(got), "refs %s", fmtMsg(msgAndArgs))
	for i := range want {
		requireRecord(t, want[i], got[i], msgAndArgs...)
	}
}

// inserted is r as Insert at now stores it.
func inserted(r ledger.Record, now time.Time) ledger.Record {
	r.CreatedAt, r.UpdatedAt, r.NextAt = now, now, now
	return r
}

// unchanged requires the stored record of want.Ref to still be want.
func unchanged(t *testing.T, s ledger.Store, want ledger.Record, why string) {
	t.Helper()
	requireRecord(t, want, mustGet(t, s, want.Ref), why)
}

func seq(prefix string, n int) []ledger.Record {
	rs := make([]ledger.Record, n)
	for i := range rs {
		rs[i] = newRecord(fmt.Sprintf("%s-%05d", prefix, i))
	}
	return rs
}

func joinErrs(errs []error) string {
	var b strings.Builder
	for _, e := range errs {
		b.WriteString(e.Error())
		b.WriteByte('\n')
	}
	return b.String()
}
