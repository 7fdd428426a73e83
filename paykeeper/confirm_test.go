package paykeeper

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jarcoal/httpmock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/paykeeper/paykeepertest"
)

const confirmSecret = "seed-word"

// fakeWithPayment starts the fake with one payment (id 97452, 100.00,
// order ORDER-42) and a client of it.
func fakeWithPayment(t *testing.T, spec paykeepertest.PaymentSpec) (*paykeepertest.Server, *Client, string) {
	t.Helper()
	srv := paykeepertest.NewServer(paykeepertest.WithT(t))
	c, err := New(Credentials{User: paykeepertest.DefaultUser, Password: paykeepertest.DefaultPassword}, append(srv.ClientOptions(), payments.WithTestTiming())...)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return srv, c, srv.AddPayment(spec)
}

func post(h *NotificationHandler, fields map[string]string) *httptest.ResponseRecorder {
	form := paykeepertest.NotificationForm(fields, confirmSecret)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, notificationRequest(http.MethodPost, form.Encode()))
	return w
}

// TestForgedNotificationNeverReachesHandle is the forgery of the issue: a
// genuine notification re-cut into another payment and sum keeps its key;
// the API lookup refuses it before Handle runs.
func TestForgedNotificationNeverReachesHandle(t *testing.T) {
	srv, c, id := fakeWithPayment(t, paykeepertest.PaymentSpec{Amount: "100.00", ClientID: "Иванов Иван", OrderID: "ORDER-42"})
	require.Equal(t, "97452", id)
	rec := &notificationRecorder{}
	h := &NotificationHandler{Secret: confirmSecret, Client: c, Handle: rec.handle}

	genuine := map[string]string{"id": "97452", "sum": "100.00", "clientid": "Иванов Иван", "orderid": "ORDER-42"}
	forged := map[string]string{"id": "9745", "sum": "2100.00", "clientid": "Иванов Иван", "orderid": "ORDER-42"}
	require.Equal(t, paykeepertest.NotificationForm(genuine, confirmSecret).Get("key"), paykeepertest.NotificationForm(forged, confirmSecret).Get("key"),
		"the same key: the signature has no separators")

	w := post(h, forged)
	assert.Equal(t, http.StatusForbidden, w.Code)
	assert.NotContains(t, w.Body.String(), "OK")
	assert.Empty(t, rec.got, "Handle never sees the forgery")
	_, err := h.HandleNotification(notificationRequest(http.MethodPost, paykeepertest.NotificationForm(forged, confirmSecret).Encode()))
	assert.ErrorIs(t, err, ErrNotConfirmed)

	w = post(h, genuine)
	assert.Equal(t, http.StatusOK, w.Code)
	assert.Equal(t, AckNotification("97452", confirmSecret), w.Body.String())
	require.Len(t, rec.got, 1)
	require.NotNil(t, rec.got[0].Payment)
	assert.Equal(t, "100.00", rec.got[0].Payment.Amount.String())
	assert.Equal(t, PaymentSuccess, rec.got[0].Payment.Status)
	assert.Equal(t, 3, srv.Count(paykeepertest.OpPaymentByID), "one lookup each")
}

// TestNotificationMustMatchTheAPI: the lookup must agree on id, sum, order
// id and a status whose money was taken.
func TestNotificationMustMatchTheAPI(t *testing.T) {
	payment := func(id, amount, order, status string) string {
		return `[{"id":"` + id + `","pay_amount":"` + amount + `","orderid":"` + order + `","status":"` + status + `"}]`
	}
	n := map[string]string{"id": "30", "sum": "1100.00", "orderid": "A-1"}
	for name, c := range map[string]struct {
		status int
		body   string
		want   int
	}{
		"match":                 {200, payment("30", "1100.00", "A-1", "obtained"), http.StatusOK},
		"match, stuck":          {200, payment("30", "1100", "A-1", "stuck"), http.StatusOK},
		"match, part refunded":  {200, payment("30", "1100.00", "A-1", "partially_refunded"), http.StatusOK},
		"other sum":             {200, payment("30", "100.00", "A-1", "success"), http.StatusForbidden},
		"other order":           {200, payment("30", "1100.00", "A-2", "success"), http.StatusForbidden},
		"no order":              {200, `[{"id":"30","pay_amount":"1100.00","orderid":null,"status":"success"}]`, http.StatusForbidden},
		"pending":               {200, payment("30", "1100.00", "A-1", "pending"), http.StatusForbidden},
		"canceled":              {200, payment("30", "1100.00", "A-1", "canceled"), http.StatusForbidden},
		"refunded":              {200, payment("30", "1100.00", "A-1", "refunded"), http.StatusForbidden},
		"unknown status":        {200, payment("30", "1100.00", "A-1", "paid?"), http.StatusForbidden},
		"another payment":       {200, payment("301", "1100.00", "A-1", "success"), http.StatusServiceUnavailable},
		"unknown to the API":    {200, `[]`, http.StatusForbidden},
		"API down":              {500, `oops`, http.StatusServiceUnavailable},
		"API answers HTML":      {200, `<html>maintenance</html>`, http.StatusServiceUnavailable},
		"credentials refused":   {401, loginPage, http.StatusServiceUnavailable},
		"API answers a refusal": {200, `{"result":"fail","msg":"Ошибка"}`, http.StatusServiceUnavailable},
	} {
		t.Run(name, func(t *testing.T) {
			cl, _ := mockAnswers(t, answer{c.status, c.body, nil})
			rec := &notificationRecorder{}
			h := &NotificationHandler{Secret: confirmSecret, Client: cl, Handle: rec.handle}
			w := post(h, n)
			assert.Equal(t, c.want, w.Code)
			if c.want == http.StatusOK {
				require.Len(t, rec.got, 1)
				assert.Equal(t, "30", rec.got[0].Payment.ID)
			} else {
				assert.Empty(t, rec.got, "Handle must not run")
				assert.NotContains(t, w.Body.String(), "OK ")
			}
		})
	}
}

// countingClient answers GET /info/payments/byid/ through answer, counting
// every request.
func countingClient(t *testing.T, answer func(r *http.Request) (int, string)) (*Client, *atomic.Int32) {
	t.Helper()
	mock := httpmock.NewMockTransport()
	var n atomic.Int32
	mock.RegisterNoResponder(func(r *http.Request) (*http.Response, error) {
		n.Add(1)
		st, body := answer(r)
		return httpmock.NewStringResponse(st, body), nil
	})
	c, err := New(Credentials{User: "demo", Password: testPassword}, payments.WithBaseURL(base), payments.WithTransport(mock), payments.WithTestTiming())
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return c, &n
}

// TestForgedFloodCostsNoAPICall: notifications with a bad key, or with an id
// or sum of the wrong form, are refused before any request.
func TestForgedFloodCostsNoAPICall(t *testing.T) {
	c, requests := countingClient(t, func(*http.Request) (int, string) { return 200, `[]` })
	rec := &notificationRecorder{}
	h := &NotificationHandler{Secret: confirmSecret, Client: c, Handle: rec.handle}
	var wg sync.WaitGroup
	for i := 0; i < 100; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			form := paykeepertest.NotificationForm(map[string]string{"id": "97452", "sum": "100.00"}, "not-the-secret")
			if i%2 == 1 { // a valid key over a sum of the wrong form
				form = paykeepertest.NotificationForm(map[string]string{"id": "97452", "sum": "100.0"}, confirmSecret)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, notificationRequest(http.MethodPost, form.Encode()))
			assert.Contains(t, []int{http.StatusForbidden, http.StatusBadRequest}, w.Code)
		}(i)
	}
	wg.Wait()
	assert.Zero(t, requests.Load(), "forged notifications cost no API request")
	assert.Empty(t, rec.got)
}

// TestConfirmationsOfOnePaymentShareOneLookup: 50 concurrent notifications
// of one payment id — forged copies of one re-cut, say — make one request.
func TestConfirmationsOfOnePaymentShareOneLookup(t *testing.T) {
	release := make(chan struct{})
	c, requests := countingClient(t, func(r *http.Request) (int, string) {
		<-release
		return 200, `[]` // unknown: the re-cut id
	})
	rec := &notificationRecorder{}
	h := &NotificationHandler{Secret: confirmSecret, Client: c, Handle: rec.handle}
	const n = 50
	codes := make(chan int, n)
	for i := 0; i < n; i++ {
		go func() {
			codes <- post(h, map[string]string{"id": "9745", "sum": "2100.00"}).Code
		}()
	}
	deadline := time.Now().Add(60 * time.Second) // a loaded machine: it ends as soon as they wait
	for c.lookups.waiting("9745") < n-1 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	require.Equal(t, n-1, c.lookups.waiting("9745"), "all but the first wait for its lookup")
	close(release)
	for i := 0; i < n; i++ {
		assert.Equal(t, http.StatusForbidden, <-codes)
	}
	assert.EqualValues(t, 1, requests.Load(), "one lookup for 50 notifications")
	assert.Empty(t, rec.got)

	// Afterwards a new notification asks again: nothing is cached.
	assert.Equal(t, http.StatusForbidden, post(h, map[string]string{"id": "9745", "sum": "2100.00"}).Code)
	assert.EqualValues(t, 2, requests.Load())
}

// TestSharedLookupOutlivesTheFirstCaller: when the caller that made the
// lookup goes away, a waiter whose request is alive asks again instead of
// failing with someone else's cancellation.
func TestSharedLookupOutlivesTheFirstCaller(t *testing.T) {
	var f flight
	firstIn := make(chan struct{})
	ctx1, cancel1 := context.WithCancel(context.Background())
	done1 := make(chan error)
	go func() {
		_, err := f.do(ctx1, "1", func(ctx context.Context) (Payment, error) {
			close(firstIn)
			<-ctx.Done()
			return Payment{}, ctx.Err()
		})
		done1 <- err
	}()
	<-firstIn
	done2 := make(chan Payment)
	go func() {
		p, err := f.do(context.Background(), "1", func(context.Context) (Payment, error) { return Payment{ID: "1"}, nil })
		assert.NoError(t, err)
		done2 <- p
	}()
	for f.waiting("1") < 1 {
		time.Sleep(time.Millisecond)
	}
	cancel1()
	assert.True(t, errors.Is(<-done1, context.Canceled))
	assert.Equal(t, "1", (<-done2).ID)
}

// A handler with SkipConfirmation hands on what the signature allows,
// without a request: the documented trade.
func TestSkipConfirmationIsExplicit(t *testing.T) {
	rec := &notificationRecorder{}
	h := &NotificationHandler{Secret: confirmSecret, Handle: rec.handle}
	assert.ErrorIs(t, h.Validate(), payments.ErrInvalidRequest)
	assert.Equal(t, http.StatusInternalServerError, post(h, map[string]string{"id": "9745", "sum": "2100.00"}).Code)
	assert.Empty(t, rec.got, "no client, no explicit skip: refused")

	h.SkipConfirmation = true
	assert.NoError(t, h.Validate())
	assert.Equal(t, http.StatusOK, post(h, map[string]string{"id": "9745", "sum": "2100.00"}).Code)
	require.Len(t, rec.got, 1)
	assert.Nil(t, rec.got[0].Payment)
}
