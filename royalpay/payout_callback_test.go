package royalpay_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/royalpay"
	"github.com/paysdk/payments/royalpay/royalpaytest"
)

const payoutCBToken = "payout-static-bearer"

func payoutClient(t testing.TB, srv *royalpaytest.Server) *royalpay.Client {
	t.Helper()
	c, err := royalpay.New(royalpay.Credentials{PayoutToken: royalpaytest.DefaultPayoutToken},
		append(srv.ClientOptions(), payments.WithLimiter(payments.Unlimited()))...)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// payoutSetup: a fake posting payout callbacks with the bearer token to a
// PayoutCallbackHandler whose Handle answers with decide.
func payoutSetup(t *testing.T, decide func(royalpay.PayoutEvent) error) (*royalpaytest.Server, *royalpay.Client, *[]royalpay.PayoutEvent) {
	srv := royalpaytest.NewServer(royalpaytest.WithT(t), royalpaytest.WithCallbackToken(payoutCBToken))
	c := payoutClient(t, srv)
	var mu sync.Mutex
	var events []royalpay.PayoutEvent
	h := &royalpay.PayoutCallbackHandler{Client: c, BearerToken: payoutCBToken, ConfirmRate: 1000, MaxConfirmations: 4,
		Handle: func(_ context.Context, e royalpay.PayoutEvent) error {
			mu.Lock()
			events = append(events, e)
			mu.Unlock()
			return decide(e)
		}}
	require.NoError(t, h.Validate())
	rcv := httptest.NewServer(h)
	t.Cleanup(rcv.Close)
	srv.SetPayoutCallbackURL(rcv.URL)
	return srv, c, &events
}

func sendPayout(t *testing.T, c *royalpay.Client, outter string) royalpay.Payout {
	p, err := c.CreatePayout(context.Background(), royalpay.PayoutParams{Method: royalpay.PayoutInterbank,
		Requisite: "4111111111111111", Amount: payments.MustDecimal("1500"), OutterID: outter})
	require.NoError(t, err)
	return p
}

// TestWaitConfirmAnsweredOKActivatesThePayout: Handle returning nil answers
// 200 {"ok":true}, which the fake (like the provider, as the adapter of
// imfoxboy/Eight-Connect observes) takes as the confirmation.
func TestWaitConfirmAnsweredOKActivatesThePayout(t *testing.T) {
	srv, c, events := payoutSetup(t, func(royalpay.PayoutEvent) error { return nil })
	p := sendPayout(t, c, "PO-1")
	res, err := srv.WaitConfirm(p.ID)
	require.NoError(t, err)
	require.NoError(t, res.Err)
	assert.Equal(t, 200, res.Status)
	assert.JSONEq(t, `{"ok":true}`, string(res.Body))
	rec, _ := srv.Payout(p.ID)
	assert.Equal(t, royalpaytest.PayoutInProgress, rec.Status)
	require.Len(t, *events, 1)
	e := (*events)[0]
	assert.True(t, e.NeedsConfirmation())
	assert.Equal(t, "PO-1", e.Payout.OutterID)
	assert.NotEmpty(t, e.Callback.RequestID)
	assert.Equal(t, "150000", e.Callback.Amount.String(), "the callback's amount is in minor units")

	_, err = srv.CompletePayout(p.ID)
	require.NoError(t, err)
	require.Len(t, *events, 2)
	assert.Equal(t, royalpay.PayoutCompleted, (*events)[1].Status())
}

// TestWaitConfirmRefusedIsNotActivated: Handle's error answers 500 and the
// payout stays in wait_confirm.
func TestWaitConfirmRefusedIsNotActivated(t *testing.T) {
	srv, c, _ := payoutSetup(t, func(e royalpay.PayoutEvent) error { return errors.New("not ours") })
	p := sendPayout(t, c, "PO-2")
	res, err := srv.WaitConfirm(p.ID)
	require.NoError(t, err)
	assert.Equal(t, 500, res.Status)
	rec, _ := srv.Payout(p.ID)
	assert.Equal(t, royalpaytest.PayoutWaitConfirm, rec.Status)
}

func postPayoutCallback(h http.Handler, auth, body string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodPost, "/payout-callback", strings.NewReader(body))
	if auth != "" {
		r.Header.Set("Authorization", auth)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// TestPayoutCallbackRefusals: no token, a wrong token, a body over the cap,
// no outter_id, an id other than the API's: refused, Handle never called;
// a forged status: Handle sees the API's.
func TestPayoutCallbackRefusals(t *testing.T) {
	srv := royalpaytest.NewServer(royalpaytest.WithT(t))
	c := payoutClient(t, srv)
	p := sendPayout(t, c, "PO-3")
	var called []royalpay.PayoutEvent
	h := &royalpay.PayoutCallbackHandler{Client: c, BearerToken: payoutCBToken, MaxBodyBytes: 512, ConfirmRate: 1000,
		Handle: func(_ context.Context, e royalpay.PayoutEvent) error { called = append(called, e); return nil }}
	id := strconv.FormatInt(p.ID, 10)
	good := `{"id":` + id + `,"status":"completed","amount":150000,"outter_id":"PO-3"}`
	before := srv.Count(royalpaytest.OpPayoutGet)
	for name, tc := range map[string]struct {
		auth, body string
		status     int
	}{
		"no token":     {"", good, 401},
		"wrong token":  {"Bearer nope", good, 401},
		"token scheme": {"Token " + payoutCBToken, good, 401},
		"too large":    {"Bearer " + payoutCBToken, `{"id":1,"status":"x","pad":"` + strings.Repeat("a", 600) + `"}`, 413},
		"no outter_id": {"Bearer " + payoutCBToken, `{"id":` + id + `,"status":"completed"}`, 400},
		"not json":     {"Bearer " + payoutCBToken, `id=1`, 400},
	} {
		w := postPayoutCallback(h, tc.auth, tc.body)
		assert.Equal(t, tc.status, w.Code, name)
	}
	assert.Equal(t, before, srv.Count(royalpaytest.OpPayoutGet), "refused before any API call")
	w := postPayoutCallback(h, "Bearer "+payoutCBToken, `{"id":99999,"status":"completed","outter_id":"PO-3"}`)
	assert.Equal(t, 400, w.Code, "an id the API does not have under that outter_id")
	assert.Empty(t, called)
	w = postPayoutCallback(h, "Bearer "+payoutCBToken, good)
	assert.Equal(t, 200, w.Code)
	require.Len(t, called, 1)
	assert.Equal(t, royalpay.PayoutPending, called[0].Status(), "Handle acts on the API's status, not the forged one")
	assert.NotContains(t, h.String(), payoutCBToken)
	assert.Error(t, (&royalpay.PayoutCallbackHandler{Client: c, Handle: h.Handle}).Validate(), "no token and not AllowUnauthenticated")
}

// TestPayoutCallbackFloodIsBudgeted: 30 concurrent forged callbacks with the
// right token reach the API at most as the budget allows; the rest are 503
// with Retry-After before any API call.
func TestPayoutCallbackFloodIsBudgeted(t *testing.T) {
	srv := royalpaytest.NewServer(royalpaytest.WithT(t))
	c := payoutClient(t, srv)
	sendPayout(t, c, "PO-4")
	var handled atomic.Int32
	h := &royalpay.PayoutCallbackHandler{Client: c, BearerToken: payoutCBToken,
		Handle: func(context.Context, royalpay.PayoutEvent) error { handled.Add(1); return nil }}
	before := srv.Count(royalpaytest.OpPayoutGet)
	var wg sync.WaitGroup
	var refused atomic.Int32
	for i := 0; i < 30; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			w := postPayoutCallback(h, "Bearer "+payoutCBToken, `{"id":`+strconv.Itoa(100000+i)+`,"status":"completed","outter_id":"PO-4"}`)
			if w.Code == 503 && w.Header().Get("Retry-After") != "" {
				refused.Add(1)
			}
		}(i)
	}
	wg.Wait()
	reads := srv.Count(royalpaytest.OpPayoutGet) - before
	assert.LessOrEqual(t, reads, 3, "API reads for 30 forged callbacks")
	assert.GreaterOrEqual(t, int(refused.Load()), 27)
	assert.Zero(t, handled.Load())
}
