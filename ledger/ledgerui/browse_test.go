package ledgerui_test

import (
	"context"
	"sort"
	"testing"
	"time"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/ledger"
	"github.com/paysdk/payments/ledger/sqlitestore"
	"github.com/paysdk/payments/payout"
)

// browse is a test-only ledger.BrowseStore over a sqlitestore: it reads with
// List and sorts (the test data is bounded), until the stores implement
// BrowseStore themselves.
type browse struct {
	*sqlitestore.Store
}

var _ ledger.BrowseStore = browse{}
var _ ledger.HistoryStore = browse{}

func (b browse) Counts(ctx context.Context) ([]ledger.Stat, error) {
	all, err := b.List(ctx, ledger.Filter{})
	if err != nil {
		return nil, err
	}
	type key struct {
		p string
		s ledger.Status
	}
	m := map[key]*ledger.Stat{}
	for _, r := range all {
		k := key{r.Provider, r.Status}
		st := m[k]
		if st == nil {
			st = &ledger.Stat{Provider: r.Provider, Status: r.Status, Oldest: r.CreatedAt}
			m[k] = st
		}
		st.Count++
		if r.CreatedAt.Before(st.Oldest) {
			st.Oldest = r.CreatedAt
		}
	}
	var out []ledger.Stat
	for _, s := range m {
		out = append(out, *s)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Provider != out[j].Provider {
			return out[i].Provider < out[j].Provider
		}
		return out[i].Status < out[j].Status
	})
	return out, nil
}

func (b browse) Unfinished(ctx context.Context, afterCreated time.Time, afterRef string, limit int) ([]ledger.Record, error) {
	all, err := b.List(ctx, ledger.Filter{Status: []ledger.Status{ledger.Recorded, ledger.InFlight, ledger.Pending}})
	if err != nil {
		return nil, err
	}
	sort.Slice(all, func(i, j int) bool {
		if !all[i].CreatedAt.Equal(all[j].CreatedAt) {
			return all[i].CreatedAt.Before(all[j].CreatedAt)
		}
		return all[i].Ref < all[j].Ref
	})
	var out []ledger.Record
	for _, r := range all {
		if afterRef != "" && (r.CreatedAt.Before(afterCreated) || r.CreatedAt.Equal(afterCreated) && r.Ref <= afterRef) {
			continue
		}
		if len(out) == limit {
			break
		}
		out = append(out, r)
	}
	return out, nil
}

func (b browse) Finals(ctx context.Context, since time.Time) ([]ledger.Bucket, error) {
	all, err := b.List(ctx, ledger.Filter{Status: []ledger.Status{ledger.Succeeded, ledger.Failed}})
	if err != nil {
		return nil, err
	}
	type key struct {
		m time.Time
		p string
		s ledger.Status
	}
	m := map[key]int{}
	for _, r := range all {
		if r.FinalAt.Before(since) {
			continue
		}
		m[key{r.FinalAt.UTC().Truncate(time.Minute), r.Provider, r.Status}]++
	}
	var out []ledger.Bucket
	for k, n := range m {
		out = append(out, ledger.Bucket{Minute: k.m, Provider: k.p, Status: k.s, Count: n})
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Minute.Equal(out[j].Minute) {
			return out[i].Minute.Before(out[j].Minute)
		}
		if out[i].Provider != out[j].Provider {
			return out[i].Provider < out[j].Provider
		}
		return out[i].Status < out[j].Status
	})
	return out, nil
}

func (b browse) RecentEvents(ctx context.Context, before time.Time, limit int) ([]ledger.Event, error) {
	all, err := b.Events(ctx, 0)
	if err != nil {
		return nil, err
	}
	var out []ledger.Event
	for i := len(all) - 1; i >= 0 && len(out) < limit; i-- {
		if !before.IsZero() && !all[i].ReceivedAt.Before(before) {
			continue
		}
		out = append(out, all[i])
	}
	return out, nil
}

// The clock of the seeded ledgers.
var t0 = time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)

const (
	pan   = "4111111111111111"
	xss1  = "<script>alert(1)</script>"
	xss2  = `"'><img src=x onerror=alert(2)>`
	token = "s3cret-token-0123456789"
)

// cards is the test's card sealer.
func cards(t testing.TB) *ledger.AESGCM {
	t.Helper()
	c, err := ledger.NewAESGCM("k1", map[string][]byte{"k1": []byte("0123456789abcdef0123456789abcdef")})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func money(t testing.TB, s string) payments.Money {
	t.Helper()
	m, err := payments.ParseMoney(s, "RUB")
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// seeded is a ledger with records in every state at two providers, a card
// payout sealed, provider texts holding a card number and markup,
// notifications, and finals spread over the last hour.
func seeded(t testing.TB) browse {
	t.Helper()
	s, err := sqlitestore.Open(context.Background(), sqlitestore.Memory)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	seed(t, s)
	return browse{s}
}

// seed writes the records and notifications of seeded into s.
func seed(t testing.TB, s ledger.Store) {
	t.Helper()
	ctx := context.Background()
	sealed, err := cards(t).Seal(ctx, "card-1", pan)
	if err != nil {
		t.Fatal(err)
	}
	phone := payout.Destination{Kind: payout.Mobile, Account: "79001234567"}
	ins := func(at time.Time, rs ...ledger.Record) {
		t.Helper()
		if _, err := s.Insert(ctx, at, rs, nil); err != nil {
			t.Fatal(err)
		}
	}
	// open ones, oldest first: old-1 .. old-3 (3 h, 2 h, 1 h old)
	ins(t0.Add(-3*time.Hour), ledger.Record{Ref: "old-1", Provider: "popolni", Amount: money(t, "10.00"), To: phone, Status: ledger.Recorded})
	ins(t0.Add(-2*time.Hour), ledger.Record{Ref: "old-2", Provider: "qiwi", Amount: money(t, "20.00"), To: phone, Status: ledger.InFlight,
		LastError: "lost answer " + xss1, Sends: 1})
	ins(t0.Add(-1*time.Hour), ledger.Record{Ref: "card-1", Provider: "qiwi", Amount: money(t, "30.00"),
		To: payout.Destination{Kind: payout.Card, Account: sealed}, Status: ledger.Pending,
		Code: "7", Message: "card " + pan + " accepted " + xss2, Sends: 1, Polls: 2})
	ins(t0.Add(-30*time.Minute), ledger.Record{Ref: "xss-" + "1", Provider: "popolni", Amount: money(t, "1.00"), To: phone, Status: ledger.Pending,
		Code: xss2, Message: xss1})
	// finals over the last hour
	for i := 0; i < 40; i++ {
		st, prov, msg := ledger.Succeeded, "popolni", "ok"
		if i%4 == 0 {
			st, prov, msg = ledger.Failed, "qiwi", "declined "+pan
		}
		fin := t0.Add(-time.Duration(i+1) * 90 * time.Second)
		ins(fin.Add(-time.Minute), ledger.Record{Ref: "fin-" + twoDigits(i), Provider: prov, Amount: money(t, "5.00"), To: phone,
			Status: st, Code: "0", Message: msg, FinalAt: fin, SentAt: fin.Add(-time.Minute), Sends: 1})
	}
	for i, e := range []ledger.Event{
		{Provider: "paykeeper", ProviderID: "pk-1", State: payments.StateSucceeded, OrderRef: "order-1", CheckoutID: "co-1", Amount: money(t, "100.00")},
		{Provider: "royalpay", ProviderID: "rp-2", State: payments.StatePending, OrderRef: xss1, CheckoutID: xss2, Amount: money(t, "7.50")},
		{Provider: "royalpay", ProviderID: "rp-3", State: payments.StateFailed, OrderRef: "pan " + pan, CheckoutID: "co-3", Amount: money(t, "1.00")},
	} {
		if _, _, err := s.AddEvent(ctx, t0.Add(-time.Duration(10-i)*time.Minute), e); err != nil {
			t.Fatal(err)
		}
	}
}

func twoDigits(i int) string { return string(rune('0'+i/10)) + string(rune('0'+i%10)) }
