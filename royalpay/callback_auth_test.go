package royalpay

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jarcoal/httpmock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/paysdk/payments"
)

const forgedCompletion = `{"id":10442449,"status":"completed","amount":"999999.00","method":"sbp_number","outter_id":"ORD-1"}`

// With no bearer token and no allowed sources, a handler that skips
// confirmation would hand a forged "completed" for 999999.00 to Handle.
// Such a configuration, and one without authentication that has not said
// it relies on confirmation alone, refuses every callback.
func TestUnauthenticatedConfigurationsAreRefused(t *testing.T) {
	c, log := mockClient(t, 200, string(fixture(t, "create_response_sbp.json")))
	handled := 0
	handle := func(context.Context, Event) error { handled++; return nil }
	cases := map[string]*CallbackHandler{
		"skip confirm, no auth":         {SkipConfirm: true, Handle: handle},
		"skip confirm, client, no auth": {SkipConfirm: true, Client: c, Handle: handle},
		"confirm, no auth, not allowed": {Client: c, Handle: handle},
		"skip confirm, allow unauth":    {SkipConfirm: true, AllowUnauthenticated: true, Handle: handle},
		"no handle":                     {Client: c, BearerToken: "cb"},
		"no client":                     {BearerToken: "cb", Handle: handle},
		"token with a space":            {Client: c, BearerToken: "cb ", Handle: handle},
		"token with a line break":       {Client: c, BearerToken: "c\nb", Handle: handle},
		"zero prefix":                   {Client: c, AllowedSources: []netip.Prefix{{}}, Handle: handle},
		"negative body cap":             {Client: c, BearerToken: "cb", MaxBodyBytes: -1, Handle: handle},
		"negative confirmations":        {Client: c, BearerToken: "cb", MaxConfirmations: -1, Handle: handle},
		"negative rate":                 {Client: c, BearerToken: "cb", ConfirmRate: -1, Handle: handle},
		"infinite rate":                 {Client: c, BearerToken: "cb", ConfirmRate: math.Inf(1), Handle: handle},
	}
	for name, h := range cases {
		err := h.Validate()
		var ve *payments.ValidationError
		require.ErrorAs(t, err, &ve, name)
		assert.True(t, strings.HasPrefix(ve.Field, "CallbackHandler."), name)
		assert.ErrorIs(t, err, payments.ErrInvalidRequest, name)
		for _, auth := range []string{"", "Bearer cb"} {
			w := httptest.NewRecorder()
			h.ServeHTTP(w, callbackRequest(forgedCompletion, auth, ""))
			assert.Equal(t, http.StatusInternalServerError, w.Code, name)
		}
	}
	assert.Zero(t, handled, "a refused configuration never calls Handle")
	assert.Empty(t, *log, "nor the API")
	var nilHandler *CallbackHandler
	assert.Error(t, nilHandler.Validate())

	// The accepted configurations.
	for name, h := range map[string]*CallbackHandler{
		"bearer":                     {Client: c, BearerToken: "cb", Handle: handle},
		"sources":                    {Client: c, AllowedSources: []netip.Prefix{netip.MustParsePrefix("134.209.192.8/32")}, Handle: handle},
		"confirmation alone, chosen": {Client: c, AllowUnauthenticated: true, Handle: handle},
		"skip confirm with bearer":   {SkipConfirm: true, BearerToken: "cb", Handle: handle},
	} {
		assert.NoError(t, h.Validate(), name)
	}
}

// Confirmation alone: the forged amount never reaches Handle, the API's does.
func TestConfirmationAloneHandsOverTheAPIsTruth(t *testing.T) {
	api := strings.Replace(string(fixture(t, "create_response_sbp.json")), `"status": "created"`, `"status": "completed"`, 1)
	c, log := mockClient(t, 200, api)
	var got []Event
	h := &CallbackHandler{Client: c, AllowUnauthenticated: true, Handle: func(_ context.Context, e Event) error { got = append(got, e); return nil }}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, callbackRequest(strings.Replace(forgedCompletion, "ORD-1", "ACC-12345", 1), "", ""))
	assert.Equal(t, http.StatusOK, w.Code)
	require.Len(t, got, 1)
	assert.Equal(t, "2500.00", got[0].Payment.Sum.String())
	assert.Len(t, *log, 1)
}

// Known refuses callbacks for payments the merchant never made before any
// API call; its error asks the provider to come back.
func TestKnownRefusesBeforeAnyAPICall(t *testing.T) {
	c, log := mockClient(t, 200, string(fixture(t, "create_response_sbp.json")))
	var asked []string
	h := &CallbackHandler{Client: c, AllowUnauthenticated: true, ConfirmRate: fastRate,
		Known: func(_ context.Context, id int64, outter string) (bool, error) {
			asked = append(asked, fmt.Sprint(id, "/", outter))
			switch {
			case outter == "DB-DOWN":
				return false, errors.New("db down")
			case id == 10442449:
				return true, nil
			}
			return false, nil
		},
		Handle: func(context.Context, Event) error { return nil }}
	for i := 0; i < 50; i++ {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, callbackRequest(fmt.Sprintf(`{"id":%d,"status":"completed","amount":"999999.00","outter_id":"X-%d"}`, 1000+i, i), "", ""))
		assert.Equal(t, http.StatusBadRequest, w.Code)
	}
	_, err := h.HandleCallback(callbackRequest(`{"id":5,"status":"completed"}`, "", ""))
	assert.ErrorIs(t, err, ErrUnknownPayment)
	assert.Empty(t, *log, "no API call for a payment nobody made")

	w := httptest.NewRecorder()
	h.ServeHTTP(w, callbackRequest(`{"id":7,"status":"completed","outter_id":"DB-DOWN"}`, "", ""))
	assert.Equal(t, http.StatusServiceUnavailable, w.Code)
	assert.Empty(t, *log)

	w = httptest.NewRecorder()
	h.ServeHTTP(w, callbackRequest(`{"id":10442449,"status":"created","form_outter_id":"ACC-12345"}`, "", ""))
	assert.Equal(t, http.StatusOK, w.Code)
	assert.Len(t, *log, 1)
	assert.Contains(t, asked, "10442449/ACC-12345", "Known sees the id and the outter_id (or form_outter_id)")
}

// blockingAPI is a mock API whose answers wait for release.
type blockingAPI struct {
	gets    atomic.Int32
	release chan struct{}
	answer  func(n int32) string
}

func newBlockingClient(t *testing.T, api *blockingAPI) *Client {
	t.Helper()
	mock := httpmock.NewMockTransport()
	mock.RegisterNoResponder(func(r *http.Request) (*http.Response, error) {
		n := api.gets.Add(1)
		select {
		case <-api.release:
		case <-r.Context().Done():
			return nil, r.Context().Err()
		}
		return httpmock.NewStringResponse(200, api.answer(n)), nil
	})
	c, err := New(Credentials{Token: "sk_test_secret_token"}, payments.WithBaseURL(base), payments.WithTransport(mock), payments.WithTestTiming())
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// Concurrent callbacks for one payment id share one GetPayment.
func TestCallbacksOfOnePaymentShareOneConfirmation(t *testing.T) {
	api := &blockingAPI{release: make(chan struct{}), answer: func(int32) string {
		return `{"id":42,"sum":"1500.00","status":"completed","outter_id":"ORD-42"}`
	}}
	c := newBlockingClient(t, api)
	var handled atomic.Int32
	h := &CallbackHandler{Client: c, BearerToken: "cb", Handle: func(_ context.Context, e Event) error {
		if e.Payment.Status == StatusCompleted {
			handled.Add(1)
		}
		return nil
	}}
	const n = 20
	codes := make([]int, n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			w := httptest.NewRecorder()
			h.ServeHTTP(w, callbackRequest(`{"id":42,"status":"completed","outter_id":"ORD-42"}`, "Bearer cb", ""))
			codes[i] = w.Code
		}(i)
		if i == 0 {
			// The first one's read is on its way before the others come.
			// (All at once, more than the budget's waiting room may arrive
			// before any read began, on a loaded machine, and be refused:
			// TestOverTheBudgetIsRefusedAtOnce.)
			require.Eventually(t, func() bool { return api.gets.Load() == 1 }, 60*time.Second, time.Millisecond)
		}
	}
	require.Eventually(t, func() bool { return h.state().waiting("payment 42") == n-1 }, 60*time.Second, time.Millisecond,
		"every other callback joins the first one's read")
	close(api.release)
	wg.Wait()
	assert.Equal(t, int32(1), api.gets.Load(), "one GetPayment for %d callbacks", n)
	assert.Equal(t, int32(n), handled.Load())
	for i, code := range codes {
		assert.Equal(t, http.StatusOK, code, i)
	}
}

// A callback that joins a read begun before it arrived takes its answer
// only when it shows the status the callback announces: otherwise the read
// may predate the change, and the payment is read again.
func TestAStaleSharedAnswerIsReadAgain(t *testing.T) {
	api := &blockingAPI{release: make(chan struct{}), answer: func(n int32) string {
		if n == 1 {
			return `{"id":42,"sum":"1500.00","status":"created"}`
		}
		return `{"id":42,"sum":"1500.00","status":"completed"}`
	}}
	c := newBlockingClient(t, api)
	var mu sync.Mutex
	seen := map[Status]Status{} // announced → confirmed
	h := &CallbackHandler{Client: c, BearerToken: "cb", ConfirmRate: fastRate, Handle: func(_ context.Context, e Event) error {
		mu.Lock()
		seen[e.Callback.Status] = e.Payment.Status
		mu.Unlock()
		return nil
	}}
	var wg sync.WaitGroup
	send := func(status string) {
		defer wg.Done()
		w := httptest.NewRecorder()
		h.ServeHTTP(w, callbackRequest(`{"id":42,"status":"`+status+`"}`, "Bearer cb", ""))
		assert.Equal(t, http.StatusOK, w.Code, status)
	}
	wg.Add(1)
	go send("created")
	require.Eventually(t, func() bool { return api.gets.Load() == 1 }, 60*time.Second, time.Millisecond)
	wg.Add(1)
	go send("completed")
	require.Eventually(t, func() bool { return h.state().waiting("payment 42") == 1 }, 60*time.Second, time.Millisecond)
	close(api.release)
	wg.Wait()
	assert.Equal(t, int32(2), api.gets.Load())
	assert.Equal(t, map[Status]Status{StatusCreated: StatusCreated, StatusCompleted: StatusCompleted}, seen)
}

// Over the budget, a callback is refused at once with 503 and Retry-After,
// before any API call.
func TestOverTheBudgetIsRefusedAtOnce(t *testing.T) {
	api := &blockingAPI{release: make(chan struct{}), answer: func(int32) string {
		return `{"id":1,"sum":"1.00","status":"completed"}`
	}}
	c := newBlockingClient(t, api)
	h := &CallbackHandler{Client: c, BearerToken: "cb", Handle: func(context.Context, Event) error { return nil }}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // the first one runs (and blocks in the API)
		defer wg.Done()
		_, _ = h.HandleCallback(callbackRequest(`{"id":1,"status":"completed"}`, "Bearer cb", ""))
	}()
	require.Eventually(t, func() bool { return api.gets.Load() == 1 }, 60*time.Second, time.Millisecond)
	ctx, cancel := context.WithCancel(context.Background())
	wg.Add(1)
	go func() { // the second waits for its turn, until cancelled
		defer wg.Done()
		_, err := h.HandleCallback(callbackRequest(`{"id":2,"status":"completed"}`, "Bearer cb", "").WithContext(ctx))
		assert.ErrorIs(t, err, context.Canceled)
	}()
	require.Eventually(t, func() bool {
		h.st.mu.Lock()
		defer h.st.mu.Unlock()
		return h.st.held == 2
	}, 60*time.Second, time.Millisecond)
	// Refused at once: a callback that waited would see its deadline pass.
	soon, cancelSoon := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancelSoon()
	w := httptest.NewRecorder()
	h.ServeHTTP(w, callbackRequest(`{"id":3,"status":"completed"}`, "Bearer cb", "").WithContext(soon))
	assert.Equal(t, http.StatusServiceUnavailable, w.Code)
	assert.NotEmpty(t, w.Header().Get("Retry-After"))
	_, err := h.HandleCallback(callbackRequest(`{"id":4,"status":"completed"}`, "Bearer cb", "").WithContext(soon))
	assert.ErrorIs(t, err, ErrConfirmBudget)
	assert.Equal(t, int32(1), api.gets.Load())
	cancel()
	close(api.release)
	wg.Wait()
}

// fakeClock is a clock that moves only when the budget sleeps.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *fakeClock) sleep(ctx context.Context, d time.Duration) error {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
	return ctx.Err()
}

// A sustained flood, one forged callback after another: confirmations start
// at most ConfirmRate a second, whatever the pace of the callbacks. The
// client has never had a 2xx from the payment read, so each confirmation
// asks the forged id in both forms of the path (GetPayment's 404
// fallback): two requests, never more.
func TestConfirmationsStartAtMostConfirmRateASecond(t *testing.T) {
	for _, rate := range []float64{0, 1, 4} {
		c, log := mockClient(t, 404, `{"detail": "Страница не найдена."}`)
		clock := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
		h := &CallbackHandler{Client: c, AllowUnauthenticated: true, ConfirmRate: rate, now: clock.now, sleep: clock.sleep,
			Handle: func(context.Context, Event) error { t.Fatal("a forged callback reached Handle"); return nil }}
		start := clock.now()
		for i := 0; i < 50; i++ {
			w := httptest.NewRecorder()
			h.ServeHTTP(w, callbackRequest(fmt.Sprintf(`{"id":%d,"status":"completed"}`, 1000+i), "", ""))
			assert.Equal(t, http.StatusBadRequest, w.Code)
		}
		if rate == 0 {
			rate = 1 // the default
		}
		elapsed := clock.now().Sub(start)
		assert.Len(t, *log, 2*50, "each forged id asked once in each form")
		confirmations := len(*log) / 2
		assert.GreaterOrEqual(t, elapsed, time.Duration(float64(confirmations-1)/rate*float64(time.Second)),
			"rate %v: %d confirmations in %v", rate, confirmations, elapsed)
	}
}
