package royalpay

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/jarcoal/httpmock"

	"github.com/paysdk/payments"
)

// TestPayoutCallbackSharesReadsByOutterIDOnly: a callback carrying a genuine
// payout id with someone else's outter_id starts a read by that outter_id;
// the genuine callback of the id, arriving meanwhile, must not take that
// read's answer (not found) but read its own outter_id, and be accepted.
func TestPayoutCallbackSharesReadsByOutterIDOnly(t *testing.T) {
	evilAsked, release := make(chan struct{}), make(chan struct{})
	defer func() {
		select {
		case <-release:
		default:
			close(release)
		}
	}()
	mock := httpmock.NewMockTransport()
	mock.RegisterNoResponder(func(r *http.Request) (*http.Response, error) {
		switch r.URL.Query().Get("outter_id") {
		case "EVIL":
			close(evilAsked)
			<-release
			return httpmock.NewStringResponse(200, `[]`), nil
		case "PO-1":
			return httpmock.NewStringResponse(200, `[{"id":7,"status":"wait_confirm","outter_id":"PO-1"}]`), nil
		}
		return httpmock.NewStringResponse(404, `{}`), nil
	})
	c, err := New(Credentials{PayoutToken: "t"}, payments.WithBaseURL(base), payments.WithTransport(mock),
		payments.WithTestTiming(), payments.WithLimiter(payments.Unlimited()))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	handled := make(chan PayoutEvent, 2)
	h := &PayoutCallbackHandler{Client: c, AllowUnauthenticated: true, MaxConfirmations: 2, ConfirmRate: 1000,
		Handle: func(_ context.Context, e PayoutEvent) error { handled <- e; return nil }}
	post := func(body string) int {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body)))
		return w.Code
	}
	evil := make(chan int, 1)
	go func() { evil <- post(`{"id":7,"status":"wait_confirm","outter_id":"EVIL"}`) }()
	<-evilAsked
	genuine := make(chan int, 1)
	go func() { genuine <- post(`{"id":7,"status":"wait_confirm","outter_id":"PO-1"}`) }()
	select {
	case code := <-genuine:
		if code != http.StatusOK {
			t.Fatalf("genuine callback answered %d", code)
		}
	case <-time.After(60 * time.Second):
		close(release)
		t.Fatalf("genuine callback waited for the forged one's read, then answered %d", <-genuine)
	}
	close(release)
	if code := <-evil; code != http.StatusBadRequest {
		t.Errorf("forged callback answered %d", code)
	}
	if e := <-handled; e.Payout.OutterID != "PO-1" || e.Payout.ID != 7 {
		t.Errorf("handled %v", e.Payout)
	}
}
