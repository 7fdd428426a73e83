package ledger_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/internal/pgtest"
	"github.com/paysdk/payments/ledger"
	"github.com/paysdk/payments/ledger/pgstore"
	"github.com/paysdk/payments/ledger/sqlitestore"
	"github.com/paysdk/payments/payout"
	"github.com/paysdk/payments/payout/popolnipayout"
	"github.com/paysdk/payments/payout/qiwipayout"
	"github.com/paysdk/payments/popolni"
	"github.com/paysdk/payments/popolni/popolnitest"
	"github.com/paysdk/payments/qiwitopup"
	"github.com/paysdk/payments/qiwitopup/qiwitopuptest"
)

// backend is one kind of store. open gives a fresh store for the test;
// again opens a second handle on the same store (another replica), or
// returns the first for the embedded store, which one process owns.
type backend struct {
	name  string
	open  func(t *testing.T) ledger.Store
	again func(t *testing.T, first ledger.Store) ledger.Store
}

// eachStore runs f on the embedded SQLite store and on PostgreSQL (which
// skips loudly, or fails under CI=true, where there is none).
func eachStore(t *testing.T, f func(t *testing.T, b backend)) {
	t.Run("sqlite", func(t *testing.T) {
		f(t, backend{
			name: "sqlite",
			open: func(t *testing.T) ledger.Store {
				s, err := sqlitestore.Open(context.Background(), filepath.Join(t.TempDir(), "ledger.db"))
				require.NoError(t, err)
				t.Cleanup(func() { s.Close() })
				return s
			},
			again: func(t *testing.T, first ledger.Store) ledger.Store { return first },
		})
	})
	t.Run("postgres", func(t *testing.T) {
		dsn := pgtest.DSN(t)
		openAt := func(t *testing.T) ledger.Store {
			s, err := pgstore.Open(context.Background(), dsn, pgstore.Options{})
			require.NoError(t, err)
			t.Cleanup(func() { s.Close() })
			return s
		}
		f(t, backend{
			name:  "postgres",
			open:  openAt,
			again: func(t *testing.T, _ ledger.Store) ledger.Store { return openAt(t) },
		})
	})
}

// popolniFake is a popolni fake with room for every test's payouts and no
// rate limit, and a portable client over it that coalesces concurrent
// sends (as the batch job does).
func popolniFake(t testing.TB, opts ...popolnitest.Option) (*popolnitest.Server, *payout.Client) {
	return popolniFakeWith(t, []payments.Option{payments.WithTestTiming()}, opts...)
}

// popolniFakeCapped is popolniFake with the document's cap kept: 5
// requests a second, on both sides.
func popolniFakeCapped(t testing.TB) (*popolnitest.Server, *payout.Client) {
	lim, err := payments.NewLimiterWithMargin(5, 1, 0)
	require.NoError(t, err)
	return popolniFakeWith(t, []payments.Option{payments.WithLimiter(lim)}, popolnitest.WithRateLimit(5))
}

func popolniFakeWith(t testing.TB, clientOpts []payments.Option, opts ...popolnitest.Option) (*popolnitest.Server, *payout.Client) {
	srv := popolnitest.NewServer(append([]popolnitest.Option{popolnitest.WithT(t),
		popolnitest.WithBalance(1_000_000_000_00, 0), popolnitest.WithRateLimit(0)}, opts...)...)
	t.Cleanup(srv.Close)
	c, err := popolni.New(popolni.Credentials{Login: srv.Login(), Password: srv.Password()},
		append(srv.ClientOptions(), clientOpts...)...)
	require.NoError(t, err)
	pc := payout.NewClient(popolnipayout.New(c, popolnipayout.Options{PollInterval: 5 * time.Millisecond, Batch: &popolni.BatchOptions{}}))
	t.Cleanup(func() { pc.Close() })
	return srv, pc
}

func qiwiFake(t testing.TB) (*qiwitopuptest.Server, *payout.Client) {
	srv := qiwitopuptest.NewServer(qiwitopuptest.WithT(t))
	t.Cleanup(srv.Close)
	c, err := qiwitopup.New(qiwitopup.PasswordAuth(srv.TerminalID(), srv.Password()),
		append(srv.ClientOptions(), payments.WithTestTiming())...)
	require.NoError(t, err)
	qc := payout.NewClient(qiwipayout.New(c, qiwipayout.Options{PollInterval: 5 * time.Millisecond}))
	t.Cleanup(func() { qc.Close() })
	return srv, qc
}

// requests makes n payouts with refs from first, amounts 100.00 + i
// kopecks, to phones (and every fifth to a card).
func requests(first, n int) []payout.Request {
	out := make([]payout.Request, n)
	for i := range out {
		to := payout.Destination{Kind: payout.Mobile, Account: fmt.Sprintf("7916%07d", i)}
		if i%5 == 4 {
			to = payout.Destination{Kind: payout.Card, Account: "4111111111111111"}
		}
		out[i] = payout.Request{Ref: strconv.Itoa(first + i), Amount: rub(int64(10000 + i)), To: to}
	}
	return out
}

// fast are ledger options for tests: polls every 5 ms, short backoffs.
func fast(o ledger.Options) ledger.Options {
	if o.PollInterval == 0 {
		o.PollInterval = 5 * time.Millisecond
	}
	if o.Backoff == 0 {
		o.Backoff = 5 * time.Millisecond
	}
	if o.MaxBackoff == 0 {
		o.MaxBackoff = 50 * time.Millisecond
	}
	if o.Idle == 0 {
		o.Idle = 5 * time.Millisecond
	}
	if o.OnError == nil {
		o.OnError = func(error) {}
	}
	if o.Cards == nil {
		o.Cards = testCards
	}
	return o
}

// testCards seals the tests' card numbers with a key made for this run.
var testCards = func() ledger.Cards {
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		panic(err)
	}
	c, err := ledger.NewAESGCM("test-1", map[string][]byte{"test-1": key})
	if err != nil {
		panic(err)
	}
	return c
}()

// running starts l.Run and stops it when the test ends (or when the
// returned stop is called), failing the test if Run returns anything but
// its context's end.
func running(t *testing.T, l *ledger.Ledger) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- l.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				require.ErrorIs(t, err, context.Canceled)
			case <-time.After(30 * time.Second):
				t.Error("Run did not return within 30 s of its context's end")
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// waitFinal waits until every record in the store is final and reported.
func waitFinal(t *testing.T, s ledger.Store, within time.Duration) []ledger.Record {
	t.Helper()
	// within is what an idle machine needs many times over; the bound is
	// only there to end a stuck test, so give a loaded CI machine (the race
	// detector, two CPU hogs, the other packages) four times as long.
	within *= 4
	deadline := time.Now().Add(within)
	for {
		open, err := s.List(context.Background(), ledger.Filter{Open: true})
		if err == nil && len(open) == 0 {
			all, err := s.List(context.Background(), ledger.Filter{})
			require.NoError(t, err)
			return all
		}
		if time.Now().After(deadline) {
			require.NoError(t, err)
			t.Fatalf("%d records still open after %s; first: %v (last error %q)", len(open), within, open[0], open[0].LastError)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// finals counts OnFinal calls per ref.
type finals struct {
	mu sync.Mutex
	n  map[string]int
}

func (f *finals) on(_ context.Context, r ledger.Record) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.n == nil {
		f.n = map[string]int{}
	}
	f.n[r.Ref]++
	return nil
}

func (f *finals) count() (refs, calls int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, n := range f.n {
		refs++
		calls += n
	}
	return refs, calls
}

// paidOncePopolni asserts the fake holds exactly one payment per request,
// with its amount and account, and nothing else.
func paidOncePopolni(t *testing.T, srv *popolnitest.Server, reqs []payout.Request) {
	t.Helper()
	ps := srv.Payments()
	require.Len(t, ps, len(reqs), "one payment per payout")
	byID := map[int64]popolnitest.PaymentRecord{}
	for _, p := range ps {
		_, dup := byID[p.TransactionID]
		require.False(t, dup, "payment %d twice", p.TransactionID)
		byID[p.TransactionID] = p
	}
	for _, r := range reqs {
		id, _ := strconv.ParseInt(r.Ref, 10, 64)
		p, ok := byID[id]
		require.True(t, ok, "no payment for %s", r.Ref)
		kop, err := r.Amount.Minor()
		require.NoError(t, err)
		require.Equal(t, kop, p.Amount, r.Ref)
		require.Equal(t, r.To.Account, p.Msisdn, r.Ref)
	}
}

// rub is kopecks as roubles.
func rub(kopecks int64) payments.Money {
	return payments.Money{Amount: payments.DecimalFromMinor(kopecks, 2), Currency: "RUB"}
}

// eachStoreSQLite is a fresh embedded store for a test that needs one kind.
func eachStoreSQLite(t *testing.T) ledger.Store {
	s, err := sqlitestore.Open(context.Background(), filepath.Join(t.TempDir(), "ledger.db"))
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	return s
}
