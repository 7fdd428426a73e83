package royalpay

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jarcoal/httpmock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/paysdk/payments"
)

const payoutSecret = "sk_payout_secret_token"

// payoutMock answers every request with status and body, and records them.
func payoutMock(t *testing.T, status int, body string) (*Client, *[]sent, *atomic.Int32) {
	t.Helper()
	mock := httpmock.NewMockTransport()
	var log []sent
	var n atomic.Int32
	mock.RegisterNoResponder(func(r *http.Request) (*http.Response, error) {
		n.Add(1)
		var b []byte
		if r.Body != nil {
			b, _ = io.ReadAll(r.Body)
		}
		log = append(log, sent{r.Method, r.URL.RequestURI(), r.Header.Clone(), b})
		resp := httpmock.NewStringResponse(status, body)
		resp.Header.Set("Content-Type", "application/json")
		return resp, nil
	})
	c, err := New(Credentials{Token: "sk_test_secret_token", PayoutToken: payoutSecret, PayoutBaseURL: "https://royal-pay.org"},
		payments.WithBaseURL(base), payments.WithTransport(mock), payments.WithLimiter(payments.Unlimited()),
		payments.WithRetry(payments.RetryPolicy{MaxAttempts: 3, BaseDelay: time.Millisecond, MaxDelay: time.Millisecond}))
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	return c, &log, &n
}

var docPayout = PayoutParams{Method: PayoutSBP, Requisite: "79161234567", Amount: payments.MustDecimal("1500"), Bank: "Tinkoff", OutterID: "PAYOUT-2688"}

// TestCreatePayoutSendsTheFixture: the body equals testdata's field for
// field (a renamed or retyped field fails), with the payout token on the
// payout host.
func TestCreatePayoutSendsTheFixture(t *testing.T) {
	c, log, _ := payoutMock(t, 201, string(fixture(t, "payout_response.json")))
	p, err := c.CreatePayout(context.Background(), docPayout)
	require.NoError(t, err)
	require.Len(t, *log, 1)
	s := (*log)[0]
	assert.Equal(t, "POST", s.method)
	assert.Equal(t, "/api/v3/payouts/", s.path)
	assert.Equal(t, "Token "+payoutSecret, s.header.Get("Authorization"))
	var want, got map[string]any
	require.NoError(t, json.Unmarshal(fixture(t, "payout_create_request.json"), &want))
	require.NoError(t, json.Unmarshal(s.body, &got))
	assert.Equal(t, want, got)
	assert.NotContains(t, string(s.body), "1500.", "amount goes as an integer")
	assert.Equal(t, int64(2688), p.ID)
	assert.Equal(t, PayoutPending, p.Status)
	assert.Equal(t, "PAYOUT-2688", p.OutterID)
	assert.Equal(t, payments.StatePending, p.Status.State())
}

func TestPayoutUsesItsOwnBaseURL(t *testing.T) {
	mock := httpmock.NewMockTransport()
	var hosts []string
	mock.RegisterNoResponder(func(r *http.Request) (*http.Response, error) {
		hosts = append(hosts, r.URL.Host)
		return httpmock.NewStringResponse(200, `[]`), nil
	})
	c, err := New(Credentials{Token: "a", PayoutToken: "b", PayoutBaseURL: "https://royal-pay.org"}, payments.WithBaseURL(base), payments.WithTransport(mock))
	require.NoError(t, err)
	_, err = c.PayoutByOutterID(context.Background(), "X")
	require.ErrorIs(t, err, payments.ErrNotFound)
	assert.Equal(t, []string{"royal-pay.org"}, hosts)
	// Without a payout token, payouts are refused before sending.
	c2, err := New(Credentials{Token: "a"}, payments.WithBaseURL(base), payments.WithTransport(mock))
	require.NoError(t, err)
	_, err = c2.CreatePayout(context.Background(), docPayout)
	var v *payments.ValidationError
	require.ErrorAs(t, err, &v)
	assert.Len(t, hosts, 1)
}

func TestPayoutParamsValidate(t *testing.T) {
	ok := docPayout
	require.NoError(t, ok.Validate())
	cases := map[string]func(p *PayoutParams){
		"unknown method":    func(p *PayoutParams) { p.Method = "WALLET" },
		"sbp without bank":  func(p *PayoutParams) { p.Bank = "" },
		"sbp with card":     func(p *PayoutParams) { p.Requisite = "4111111111111111a" },
		"card failing luhn": func(p *PayoutParams) { p.Method, p.Requisite = PayoutInterbank, "4111111111111112" },
		"card too short":    func(p *PayoutParams) { p.Method, p.Requisite = PayoutSber, "411111111111" },
		"account 19 digits": func(p *PayoutParams) { p.Method, p.Requisite = PayoutAccountNumber, "4081781000000000000" },
		"fraction":          func(p *PayoutParams) { p.Amount = payments.MustDecimal("1500.50") },
		"zero":              func(p *PayoutParams) { p.Amount = payments.Decimal{} },
		"negative":          func(p *PayoutParams) { p.Amount = payments.MustDecimal("-1") },
		"huge":              func(p *PayoutParams) { p.Amount = payments.MustDecimal("10000000000000000") },
		"no outter_id":      func(p *PayoutParams) { p.OutterID = "" },
		"outter_id spaces":  func(p *PayoutParams) { p.OutterID = " A" },
		"unknown geo":       func(p *PayoutParams) { p.Geo = "RU" },
	}
	c, log, _ := payoutMock(t, 201, string(fixture(t, "payout_response.json")))
	for name, f := range cases {
		p := ok
		f(&p)
		_, err := c.CreatePayout(context.Background(), p)
		var v *payments.ValidationError
		assert.True(t, errors.As(err, &v), "%s: %v", name, err)
	}
	assert.Empty(t, *log, "refused input must send nothing")
	good := []PayoutParams{
		{Method: PayoutInterbank, Requisite: "4111111111111111", Amount: payments.MustDecimal("10"), OutterID: "A"},
		{Method: PayoutTinkoff, Requisite: "5555555555554444", Amount: payments.MustDecimal("10.00"), OutterID: "A"},
		{Method: PayoutAccountNumber, Requisite: "40817810000000000001", Amount: payments.MustDecimal("10"), OutterID: "A", Geo: GeoKazakhstan},
	}
	for _, p := range good {
		assert.NoError(t, p.Validate(), "%v", p)
	}
}

// TestCreatePayoutIsNeverResent: 429, 503, 500 and a lost answer are sent
// once and are outcome-unknown carrying the outter_id; a DRF field error
// keeps its status and text and is not outcome-unknown.
func TestCreatePayoutIsNeverResent(t *testing.T) {
	for _, st := range []int{429, 500, 502, 503} {
		c, _, n := payoutMock(t, st, `{"detail":"busy"}`)
		_, err := c.CreatePayout(context.Background(), docPayout)
		assert.ErrorIs(t, err, payments.ErrOutcomeUnknown, "%d", st)
		var ou *payments.OutcomeUnknownError
		if assert.ErrorAs(t, err, &ou) {
			assert.Equal(t, "PAYOUT-2688", ou.Ref)
		}
		assert.EqualValues(t, 1, n.Load(), "%d: sent %d times", st, n.Load())
	}
	c, _, n := payoutMock(t, 400, `{"amount":["Убедитесь, что это значение больше либо равно 100."]}`)
	_, err := c.CreatePayout(context.Background(), docPayout)
	require.Error(t, err)
	assert.NotErrorIs(t, err, payments.ErrOutcomeUnknown)
	var api *payments.APIError
	require.ErrorAs(t, err, &api)
	assert.Equal(t, 400, api.HTTPStatus)
	assert.Contains(t, api.Message, "amount: Убедитесь")
	assert.EqualValues(t, 1, n.Load())
	// A 2xx that is not a payout: outcome unknown.
	for _, body := range []string{`{}`, `{"id":0,"status":"pending"}`, `[]`, `{"id":1}`, `{"id":5,"status":"pending","outter_id":"OTHER"}`} {
		c, _, _ := payoutMock(t, 201, body)
		_, err := c.CreatePayout(context.Background(), docPayout)
		assert.ErrorIs(t, err, payments.ErrOutcomeUnknown, body)
		assert.NotContains(t, fmt.Sprint(err), payoutSecret)
	}
}

func TestPayoutByOutterID(t *testing.T) {
	one := `{"id":7,"status":"completed","amount":1500,"outter_id":"A"}`
	other := `{"id":8,"status":"pending","amount":10,"outter_id":"B"}`
	cases := []struct {
		body   string
		id     int64
		status PayoutStatus
		err    error // nil, ErrNotFound, or errMalformed (any other)
	}{
		{`[` + one + `]`, 7, PayoutCompleted, nil},
		{`[` + other + `,` + one + `]`, 7, PayoutCompleted, nil},
		{one, 7, PayoutCompleted, nil},
		{`{"count":1,"next":null,"results":[` + one + `]}`, 7, PayoutCompleted, nil},
		{`[]`, 0, "", payments.ErrNotFound},
		{`{"count":0,"results":[]}`, 0, "", payments.ErrNotFound},
		{`[` + other + `]`, 0, "", errMalformed},
		{other, 0, "", errMalformed},
		{`"ok"`, 0, "", errMalformed},
		{`[{"id":"x","status":"pending","outter_id":"A"}]`, 0, "", errMalformed},
	}
	for _, tc := range cases {
		c, log, _ := payoutMock(t, 200, tc.body)
		p, err := c.PayoutByOutterID(context.Background(), "A")
		require.Len(t, *log, 1)
		assert.Equal(t, "/api/v3/payouts/?outter_id=A", (*log)[0].path)
		switch tc.err {
		case nil:
			require.NoError(t, err, tc.body)
			assert.Equal(t, tc.id, p.ID)
			assert.Equal(t, tc.status, p.Status)
		case payments.ErrNotFound:
			assert.ErrorIs(t, err, payments.ErrNotFound, tc.body)
		default:
			require.Error(t, err, tc.body)
			assert.NotErrorIs(t, err, payments.ErrNotFound, "%s: a list without our payout must never read as not found", tc.body)
		}
	}
	c, _, _ := payoutMock(t, 200, `[]`)
	_, err := c.PayoutByOutterID(context.Background(), "A")
	assert.ErrorIs(t, err, ErrNoPayout, "an empty list: the lookup worked and found nothing")
	c, log, _ := payoutMock(t, 404, `{"detail":"Не найдено."}`)
	_, err = c.PayoutByOutterID(context.Background(), "A&b=c")
	assert.ErrorIs(t, err, payments.ErrNotFound)
	assert.NotErrorIs(t, err, ErrNoPayout, "a 404 may be a missing route: not proof the outter_id is free")
	assert.Equal(t, "/api/v3/payouts/?outter_id=A%26b%3Dc", (*log)[0].path)
}

var errMalformed = errors.New("malformed")

func TestPayoutStatusStates(t *testing.T) {
	want := map[PayoutStatus]payments.State{
		PayoutPending: payments.StatePending, PayoutInProgress: payments.StatePending, PayoutWaitConfirm: payments.StatePending,
		PayoutCompleted: payments.StateSucceeded, PayoutFailed: payments.StateFailed, PayoutCanceled: payments.StateFailed,
		"refund": payments.StateUnknown,
		// Success only for the exact word: no case folding, no trimming.
		"Completed": payments.StateUnknown, "COMPLETED": payments.StateUnknown, " completed": payments.StateUnknown,
		"completed\n": payments.StateUnknown, "": payments.StateUnknown, "success": payments.StateUnknown,
	}
	for s, st := range want {
		assert.Equal(t, st, s.State(), string(s))
	}
	assert.False(t, PayoutWaitConfirm.Final())
}

func TestPayoutPrintsNoCardOrToken(t *testing.T) {
	p := Payout{ID: 1, Requisite: "4111111111111111"}
	pp := PayoutParams{Requisite: "4111111111111111"}
	cred := Credentials{Token: "tok-payin-1", PayoutToken: "tok-payout-2"}
	for _, s := range []string{fmt.Sprintf("%v %+v %#v %s %x %d", p, p, p, pp, pp, pp), fmt.Sprintf("%v %+v %#v %x", cred, cred, cred, cred)} {
		assert.NotContains(t, s, "4111111111111111")
		assert.NotContains(t, s, "tok-payout-2")
		assert.NotContains(t, s, "tok-payin-1")
		assert.NotContains(t, strings.ToLower(s), fmt.Sprintf("%x", "tok-payout-2"))
	}
	h := PayoutCallbackHandler{BearerToken: "bearer-secret-3"}
	for _, s := range []string{fmt.Sprintf("%v %+v %#v %s %x %q", h, h, h, h, h, h), fmt.Sprintf("%v %+v %x", &h, &h, &h)} {
		assert.NotContains(t, s, "bearer-secret-3")
		assert.NotContains(t, s, fmt.Sprintf("%x", "bearer-secret-3"))
	}
}
