package paykeeper

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/paysdk/payments/paykeeper/paykeepertest"
)

// fakeClock is the budget's clock in these tests: it moves only when told.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// paymentsByID answers /info/payments/byid/ with a paid payment of 100.00
// (order O-<id>) for every five-digit id, and [] (unknown) for any other:
// the re-cuts of these tests shorten the id.
func paymentsByID(r *http.Request) (int, string) {
	id := r.URL.Query().Get("id")
	if len(id) != 5 {
		return 200, `[]`
	}
	return 200, `[{"id":"` + id + `","pay_amount":"100.00","orderid":"O-` + id + `","status":"success"}]`
}

// lockedRecorder records Handle's notifications from concurrent requests.
type lockedRecorder struct {
	mu  sync.Mutex
	got []Notification
}

func (r *lockedRecorder) handle(_ context.Context, n Notification) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, n)
	return nil
}

func (r *lockedRecorder) all() []Notification {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Notification(nil), r.got...)
}

func genuine(id string) map[string]string {
	return map[string]string{"id": id, "sum": "100.00", "clientid": "Иванов Иван", "orderid": "O-" + id}
}

// recut moves the id's last digit to the front of the sum: same key.
func recut(fields map[string]string) map[string]string {
	id := fields["id"]
	out := map[string]string{}
	for k, v := range fields {
		out[k] = v
	}
	out["id"], out["sum"] = id[:len(id)-1], id[len(id)-1:]+fields["sum"]
	return out
}

// 100 re-cut forgeries (valid keys, distinct ids, digits shifted) arrive at
// once while the budget's clock stands still: one lookup starts, at most
// two more notifications hold the budget (one running or waiting for its
// turn, one waiting), every other one is refused 503 with Retry-After
// before any request. Before the budget each cost a lookup: 100 requests.
// When the clock moves on, the held ones finish (refused by the API) and a
// genuine notification goes through: the budget refills.
func TestRecutFloodCostsAtMostTheBudget(t *testing.T) {
	c, requests := countingClient(t, paymentsByID)
	clock := &fakeClock{t: time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)}
	release := make(chan struct{})
	rec := &lockedRecorder{}
	h := &NotificationHandler{Secret: confirmSecret, Client: c, Handle: rec.handle, now: clock.now,
		sleep: func(ctx context.Context, _ time.Duration) error {
			select {
			case <-release:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		}}
	require.NoError(t, h.Validate())

	const n = 100
	g0 := genuine("10001")
	require.Equal(t, paykeepertest.NotificationForm(g0, confirmSecret).Get("key"), paykeepertest.NotificationForm(recut(g0), confirmSecret).Get("key"),
		"a re-cut keeps the key")
	var answered atomic.Int32
	codes := make(chan *httptest.ResponseRecorder, n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			g := genuine(fmt.Sprintf("%d%d", 1000+i, 1+i%9)) // 10001, 10012, ...: no 0 to lead the sum
			w := post(h, recut(g))
			answered.Add(1)
			codes <- w
		}(i)
	}
	// Every notification is either answered or holds the budget.
	require.Eventually(t, func() bool {
		st := h.state()
		st.budget.mu.Lock()
		held := st.budget.held
		st.budget.mu.Unlock()
		return int(answered.Load())+held == n
	}, 30*time.Second, time.Millisecond)
	assert.LessOrEqual(t, requests.Load(), int32(1), "lookups while the budget's clock stood still")

	clock.advance(10 * time.Second)
	close(release)
	wg.Wait()
	close(codes)
	byCode := map[int]int{}
	for w := range codes {
		byCode[w.Code]++
		assert.NotContains(t, w.Body.String(), "OK ")
		if w.Code == http.StatusServiceUnavailable {
			assert.NotEmpty(t, w.Header().Get("Retry-After"))
		}
	}
	assert.Equal(t, n, byCode[http.StatusForbidden]+byCode[http.StatusServiceUnavailable], "%v", byCode)
	assert.GreaterOrEqual(t, byCode[http.StatusServiceUnavailable], n-3, "%v", byCode)
	assert.LessOrEqual(t, requests.Load(), int32(3), "lookups in all: the first, and the two that held the budget")
	assert.Equal(t, int(requests.Load()), byCode[http.StatusForbidden], "each lookup refused its re-cut")
	assert.Empty(t, rec.all(), "no forgery reached Handle")
	_, err := h.HandleNotification(notificationRequest(http.MethodPost, paykeepertest.NotificationForm(recut(genuine("20001")), confirmSecret).Encode()))
	if err != nil {
		assert.NotErrorIs(t, err, ErrConfirmBudget, "the budget refilled")
	}

	// The budget refills: a genuine notification goes through.
	before := requests.Load()
	clock.advance(10 * time.Second)
	w := post(h, genuine("10001"))
	assert.Equal(t, http.StatusOK, w.Code)
	assert.Equal(t, AckNotification("10001", confirmSecret), w.Body.String())
	assert.Equal(t, before+1, requests.Load())
	require.Len(t, rec.all(), 1)
}

// The budget's refusal is a 503 with ErrConfirmBudget, never the ack.
func TestBudgetRefusalIsNotTheAck(t *testing.T) {
	c, requests := countingClient(t, paymentsByID)
	clock := &fakeClock{t: time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)}
	block := make(chan struct{})
	defer close(block)
	rec := &lockedRecorder{}
	h := &NotificationHandler{Secret: confirmSecret, Client: c, Handle: rec.handle, now: clock.now,
		sleep: func(ctx context.Context, _ time.Duration) error {
			select {
			case <-block:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		}}
	// Take the budget: the next start is a second away and the clock
	// stands still, so two notifications of other ids hold it.
	st := h.state()
	st.budget.mu.Lock()
	st.budget.held = st.budget.maxHeld
	st.budget.mu.Unlock()
	_, err := h.HandleNotification(notificationRequest(http.MethodPost, paykeepertest.NotificationForm(genuine("10001"), confirmSecret).Encode()))
	require.ErrorIs(t, err, ErrConfirmBudget)
	var ne *NotificationError
	require.ErrorAs(t, err, &ne)
	assert.Equal(t, http.StatusServiceUnavailable, ne.Status)
	assert.GreaterOrEqual(t, ne.RetryAfter, time.Second)
	w := post(h, genuine("10001"))
	assert.Equal(t, http.StatusServiceUnavailable, w.Code)
	assert.NotEmpty(t, w.Header().Get("Retry-After"))
	assert.NotContains(t, w.Body.String(), "OK ")
	assert.Zero(t, requests.Load())
	assert.Empty(t, rec.all())
}

// 100 replays of a genuine notification after its first confirmation are
// acknowledged without a lookup (before the cache: 100 lookups); a re-cut
// of it, or the same payment announced as a hold, is not a cache hit.
func TestReplaysOfAConfirmedNotificationCostNoLookup(t *testing.T) {
	c, requests := countingClient(t, paymentsByID)
	clock := &fakeClock{t: time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)}
	rec := &lockedRecorder{}
	h := &NotificationHandler{Secret: confirmSecret, Client: c, Handle: rec.handle, now: clock.now,
		sleep: func(_ context.Context, d time.Duration) error { clock.advance(d); return nil }}
	g := genuine("97452")
	w := post(h, g)
	require.Equal(t, http.StatusOK, w.Code)
	require.EqualValues(t, 1, requests.Load())

	const n = 100
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := post(h, g)
			assert.Equal(t, http.StatusOK, w.Code)
			assert.Equal(t, AckNotification("97452", confirmSecret), w.Body.String())
		}()
	}
	wg.Wait()
	assert.EqualValues(t, 1, requests.Load(), "replays cost no lookup")
	require.Len(t, rec.all(), 1+n, "Handle sees every replay (it must be idempotent)")
	for _, got := range rec.all() {
		require.NotNil(t, got.Payment)
		assert.Equal(t, "97452", got.Payment.ID)
		assert.Equal(t, "100.00", got.Payment.Amount.String())
	}

	// A re-cut has the same key but is another cache key: looked up, refused.
	w = post(h, recut(g))
	assert.Equal(t, http.StatusForbidden, w.Code)
	assert.EqualValues(t, 2, requests.Load())
	// The same fields announced as a hold: another state, looked up.
	hold := genuine("97452")
	hold["batch_date"] = "2026-05-02"
	assert.Equal(t, http.StatusOK, post(h, hold).Code)
	assert.EqualValues(t, 3, requests.Load())
	// Another clientid: not the notification confirmed, looked up.
	other := genuine("97452")
	other["clientid"] = "Петров"
	assert.Equal(t, http.StatusOK, post(h, other).Code)
	assert.EqualValues(t, 4, requests.Load())
}

// A notification Handle refused is not cached: its re-send is confirmed
// again. The cache is bounded; a negative size turns it off.
func TestConfirmedCacheBounds(t *testing.T) {
	c, requests := countingClient(t, paymentsByID)
	clock := &fakeClock{t: time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)}
	fail := true
	h := &NotificationHandler{Secret: confirmSecret, Client: c, ConfirmedCacheSize: 2, now: clock.now,
		sleep: func(_ context.Context, d time.Duration) error { clock.advance(d); return nil },
		Handle: func(context.Context, Notification) error {
			if fail {
				return fmt.Errorf("database down")
			}
			return nil
		}}
	assert.Equal(t, http.StatusInternalServerError, post(h, genuine("10001")).Code)
	fail = false
	assert.Equal(t, http.StatusOK, post(h, genuine("10001")).Code)
	assert.EqualValues(t, 2, requests.Load(), "a notification Handle refused is looked up again")
	assert.Equal(t, http.StatusOK, post(h, genuine("10001")).Code)
	assert.EqualValues(t, 2, requests.Load())

	assert.Equal(t, http.StatusOK, post(h, genuine("10002")).Code)
	assert.Equal(t, http.StatusOK, post(h, genuine("10003")).Code)
	assert.EqualValues(t, 4, requests.Load())
	assert.Equal(t, 2, h.state().confirmed.len())
	assert.Equal(t, http.StatusOK, post(h, genuine("10001")).Code)
	assert.EqualValues(t, 5, requests.Load(), "the oldest was forgotten")

	c2, requests2 := countingClient(t, paymentsByID)
	off := &NotificationHandler{Secret: confirmSecret, Client: c2, ConfirmedCacheSize: -1, now: clock.now,
		sleep:  func(_ context.Context, d time.Duration) error { clock.advance(d); return nil },
		Handle: func(context.Context, Notification) error { return nil }}
	for i := 0; i < 3; i++ {
		assert.Equal(t, http.StatusOK, post(off, genuine("10001")).Code)
	}
	assert.EqualValues(t, 3, requests2.Load())
}

func TestBudgetSettingsValidated(t *testing.T) {
	c, _ := countingClient(t, paymentsByID)
	rec := &lockedRecorder{}
	for name, h := range map[string]*NotificationHandler{
		"negative running": {Secret: confirmSecret, Client: c, Handle: rec.handle, MaxConfirmations: -1},
		"negative rate":    {Secret: confirmSecret, Client: c, Handle: rec.handle, ConfirmRate: -1},
		"infinite rate":    {Secret: confirmSecret, Client: c, Handle: rec.handle, ConfirmRate: inf()},
		"negative body":    {Secret: confirmSecret, Client: c, Handle: rec.handle, MaxBodyBytes: -1},
	} {
		assert.Error(t, h.Validate(), name)
	}
}

func inf() float64 { z := 0.0; return 1 / z }
