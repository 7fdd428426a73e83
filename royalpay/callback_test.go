package royalpay

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/paysdk/payments"
)

func TestParseCallbackLeniently(t *testing.T) {
	cases := map[string]Callback{
		// The payload integrators observe.
		`{"id": 10440228, "status": "completed", "amount": 35005, "method": "card_number", "outter_id": "ORD123"}`: {ID: 10440228, Status: StatusCompleted, Amount: payments.MustDecimal("35005"), Method: "card_number", OutterID: "ORD123"},
		// sum for amount, type for method, form_outter_id for outter_id, id as a string.
		`{"id": "77", "status": "refund", "sum": "500.00", "type": "to_sbp_number", "form_outter_id": "F-1"}`:            {ID: 77, Status: StatusRefund, Amount: payments.MustDecimal("500.00"), Method: "to_sbp_number", OutterID: "F-1"},
		`{"id": 5, "status": "canceled", "amount": null, "outter_id": null, "form_outter_id": "F-2", "extra": {"x": 1}}`: {ID: 5, Status: StatusCanceled, OutterID: "F-2"},
	}
	for body, want := range cases {
		got, err := ParseCallback([]byte(body))
		require.NoError(t, err, body)
		assert.Equal(t, want.ID, got.ID, body)
		assert.Equal(t, want.Status, got.Status, body)
		assert.True(t, want.Amount.Equal(got.Amount), body)
		assert.Equal(t, want.Method, got.Method, body)
		assert.Equal(t, want.OutterID, got.OutterID, body)
		assert.NotEmpty(t, got.Raw)
	}
	for _, bad := range []string{``, `[]`, `null`, `{"status":"completed"}`, `{"id":0,"status":"completed"}`, `{"id":1}`, `{"id":1,"status":"completed","amount":"1,5"}`, `{"id":{},"status":"x"}`} {
		_, err := ParseCallback([]byte(bad))
		assert.ErrorIs(t, err, ErrBadCallback, bad)
	}
}

// fastRate lifts the confirmation budget's spacing in tests that are not
// about it, so that callbacks in a row do not wait a second each.
const fastRate = 1000

func callbackRequest(body, auth, remote string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/payment/callback", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	if auth != "" {
		r.Header.Set("Authorization", auth)
	}
	if remote != "" {
		r.RemoteAddr = remote
	}
	return r
}

func TestCallbackHandlerConfirmsWithTheAPI(t *testing.T) {
	// The API says the payment is completed for 2500.00 with outter_id ACC-12345.
	api := strings.Replace(string(fixture(t, "create_response_sbp.json")), `"status": "created"`, `"status": "completed"`, 1)
	c, log := mockClient(t, 200, api)
	var got []Event
	h := &CallbackHandler{Client: c, BearerToken: "cb-secret", ConfirmRate: fastRate, Handle: func(_ context.Context, e Event) error { got = append(got, e); return nil }}

	// The callback claims another amount: the API's figure wins.
	w := httptest.NewRecorder()
	h.ServeHTTP(w, callbackRequest(`{"id":10442449,"status":"completed","amount":"1.00","method":"sbp_number","outter_id":"ACC-12345"}`, "Bearer cb-secret", ""))
	assert.Equal(t, 200, w.Code)
	assert.JSONEq(t, `{"ok":true}`, w.Body.String())
	require.Len(t, got, 1)
	require.NotNil(t, got[0].Payment)
	assert.Equal(t, "2500.00", got[0].Payment.Sum.String())
	assert.Equal(t, StatusCompleted, got[0].Status())
	assert.Equal(t, "/api/v2/payments/10442449/", (*log)[0].path)

	// A forged outter_id is refused without calling Handle.
	w = httptest.NewRecorder()
	h.ServeHTTP(w, callbackRequest(`{"id":10442449,"status":"completed","outter_id":"SOMEONE-ELSE"}`, "Bearer cb-secret", ""))
	assert.Equal(t, 400, w.Code)
	assert.Len(t, got, 1)
}

func TestCallbackHandlerRefusals(t *testing.T) {
	ok := `{"id":1,"status":"completed"}`
	c, log := mockClient(t, 200, `{"id":1,"status":"completed","sum":"100.00"}`)
	handled := 0
	h := &CallbackHandler{Client: c, BearerToken: "cb-secret", MaxBodyBytes: 100, ConfirmRate: fastRate,
		AllowedSources: []netip.Prefix{netip.MustParsePrefix("134.209.192.8/32")},
		Handle:         func(context.Context, Event) error { handled++; return nil }}
	cases := []struct {
		req  *http.Request
		want int
	}{
		{callbackRequest(ok, "Bearer cb-secret", "10.0.0.1:5000"), 403},
		{callbackRequest(ok, "", "134.209.192.8:5000"), 401},
		{callbackRequest(ok, "Bearer cb-secreT", "134.209.192.8:5000"), 401},
		{callbackRequest(ok, "Token cb-secret", "134.209.192.8:5000"), 401},
		{callbackRequest(`{"id":1,"status":"completed","pad":"`+strings.Repeat("x", 200)+`"}`, "Bearer cb-secret", "134.209.192.8:5000"), 413},
		{callbackRequest(`not json`, "Bearer cb-secret", "134.209.192.8:5000"), 400},
		{httptest.NewRequest(http.MethodGet, "/cb", nil), 405},
	}
	for i, tc := range cases {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, tc.req)
		assert.Equal(t, tc.want, w.Code, "case %d", i)
	}
	assert.Zero(t, handled)
	assert.Empty(t, *log, "nothing refused reached the API")

	w := httptest.NewRecorder()
	h.ServeHTTP(w, callbackRequest(ok, "Bearer cb-secret", "[::ffff:134.209.192.8]:5000"))
	assert.Equal(t, 200, w.Code)
	assert.Equal(t, 1, handled)
}

func TestCallbackHandlerAsksAgainOnFailure(t *testing.T) {
	// The merchant's function fails: a non-2xx answer makes the provider resend.
	c, _ := mockClient(t, 200, `{"id":1,"status":"completed","sum":"100.00"}`)
	h := &CallbackHandler{Client: c, AllowUnauthenticated: true, ConfirmRate: fastRate, Handle: func(context.Context, Event) error { return errors.New("db down") }}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, callbackRequest(`{"id":1,"status":"completed"}`, "", ""))
	assert.Equal(t, 500, w.Code)

	// The API cannot be reached to confirm.
	c, _ = mockClient(t, 503, `busy`)
	h = &CallbackHandler{Client: c, AllowUnauthenticated: true, ConfirmRate: fastRate, Handle: func(context.Context, Event) error { t.Fatal("must not be called"); return nil }}
	w = httptest.NewRecorder()
	h.ServeHTTP(w, callbackRequest(`{"id":1,"status":"completed"}`, "", ""))
	assert.Equal(t, 503, w.Code)

	// The API does not know the payment: a forged callback.
	c, _ = mockClient(t, 404, `{"detail": "Страница не найдена."}`)
	h.Client = c
	w = httptest.NewRecorder()
	h.ServeHTTP(w, callbackRequest(`{"id":1,"status":"completed"}`, "", ""))
	assert.Equal(t, 400, w.Code)

	// Misconfigured: no client and no SkipConfirm.
	w = httptest.NewRecorder()
	(&CallbackHandler{Handle: func(context.Context, Event) error { return nil }}).ServeHTTP(w, callbackRequest(`{"id":1,"status":"completed"}`, "", ""))
	assert.Equal(t, 500, w.Code)

	// SkipConfirm (with authentication) hands over the callback as it came.
	var ev Event
	h = &CallbackHandler{SkipConfirm: true, BearerToken: "cb-secret", Handle: func(_ context.Context, e Event) error { ev = e; return nil }}
	w = httptest.NewRecorder()
	h.ServeHTTP(w, callbackRequest(`{"id":9,"status":"refund"}`, "Bearer cb-secret", ""))
	assert.Equal(t, 200, w.Code)
	assert.Nil(t, ev.Payment)
	assert.Equal(t, StatusRefund, ev.Status())
}

func FuzzParseCallback(f *testing.F) {
	f.Add([]byte(`{"id": 10440228, "status": "completed", "amount": 35005, "method": "card_number", "outter_id": "ORD123"}`))
	f.Add([]byte(`{"id": "77", "status": "refund", "sum": "500.00", "type": "to_sbp_number", "form_outter_id": "F-1"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		cb, err := ParseCallback(b)
		if err == nil && (cb.ID <= 0 || cb.Status == "") {
			t.Fatalf("accepted a callback without id or status: %q", b)
		}
	})
}

func FuzzDecodePayment(f *testing.F) {
	f.Add(fixture(f, "create_response_sbp.json"))
	f.Add([]byte(`{"id":"42","sum":7000,"status":"created","tips_id":111111111111}`))
	f.Add([]byte(`{"ID":1,"SUM":1,"STATUS":"created"}`))
	f.Add([]byte(`{"id":1,"sum":"-1","status":"created"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := decodePayment(b)
		if err == nil && !documentedPayment(b, p.ID) {
			t.Fatalf("accepted a payment without a positive id, a sum or a status: %q", b)
		}
	})
}

func FuzzErrorBody(f *testing.F) {
	for _, s := range []string{`{"error": "No available cards.", "code": 40005}`, `{"error": {"code": 10401, "msg": "x"}}`, `{"detail": "y"}`, `{"sum": ["z"]}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _, _ = parseErrorBody(b)
	})
}
