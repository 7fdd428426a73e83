package popolni

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jarcoal/httpmock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/paysdk/payments"
)

func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	require.NoError(t, err)
	return b
}

// mockAPI is a per-test httpmock transport (never the global one) with a
// recorder of what was sent to https://popolni.club/api.
type mockAPI struct {
	mock *httpmock.MockTransport
	mu   sync.Mutex
	sent []sentRequest
}

type sentRequest struct {
	method, query string
	header        http.Header
	body          []byte
}

func newMockClient(t *testing.T, answer func(r sentRequest, n int) (int, string)) (*Client, *mockAPI) {
	t.Helper()
	m := &mockAPI{mock: httpmock.NewMockTransport()}
	handler := func(r *http.Request) (*http.Response, error) {
		var body []byte
		if r.Body != nil {
			body, _ = io.ReadAll(r.Body)
		}
		s := sentRequest{method: r.Method, query: r.URL.RawQuery, header: r.Header.Clone(), body: body}
		m.mu.Lock()
		m.sent = append(m.sent, s)
		n := len(m.sent)
		m.mu.Unlock()
		st, b := answer(s, n)
		resp := httpmock.NewStringResponse(st, b)
		resp.Header.Set("Content-Type", "application/json")
		return resp, nil
	}
	m.mock.RegisterResponder("POST", DefaultURL, handler)
	m.mock.RegisterResponder("GET", DefaultURL, handler)
	c, err := New(Credentials{Login: "partner", Password: "hunter2-secret"},
		payments.WithTransport(m.mock),
		payments.WithLimiter(payments.Unlimited()),
		payments.WithRetry(payments.RetryPolicy{MaxAttempts: 3, BaseDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond}))
	require.NoError(t, err)
	return c.WithPollInterval(time.Millisecond), m
}

func (m *mockAPI) requests() []sentRequest {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]sentRequest(nil), m.sent...)
}

var docBatch = []Payment{
	{ID: 1000000001, Amount: 500, Account: "380991234567", TemplateID: 5},
	{ID: 1000000002, Amount: 2000, Account: "4111111111111111", TemplateID: 7, NoticePhone: "380501234567"},
}

func TestPayWritesTheDocumentsRequestAndReadsItsAnswer(t *testing.T) {
	c, m := newMockClient(t, func(sentRequest, int) (int, string) { return 200, string(fixture(t, "pay_response.json")) })
	res, err := c.Pay(context.Background(), docBatch)
	require.NoError(t, err)
	assert.Equal(t, []Result{{1000000001, StatusReceived}, {1000000002, StatusReceived}}, res)
	sent := m.requests()
	require.Len(t, sent, 1)
	assert.Equal(t, "POST", sent[0].method)
	assert.Equal(t, string(fixture(t, "pay_request.json")), string(sent[0].body), "byte-exact document request")
	assert.Equal(t, "application/json", sent[0].header.Get("Content-Type"))
	assert.Equal(t, "Basic cGFydG5lcjpodW50ZXIyLXNlY3JldA==", sent[0].header.Get("Authorization"))
	assert.Empty(t, sent[0].header.Get("Expect"), "the document warns against Expect: 100-continue")
}

func TestStatusWritesTheDocumentsRequestAndReadsItsAnswer(t *testing.T) {
	c, m := newMockClient(t, func(sentRequest, int) (int, string) { return 200, string(fixture(t, "status_response.json")) })
	res, err := c.Status(context.Background(), 1000000001, 1000000002)
	require.NoError(t, err)
	assert.Equal(t, []Result{{1000000001, StatusSucceeded}, {1000000002, StatusInProgress}}, res)
	assert.Equal(t, string(fixture(t, "status_request.json")), string(m.requests()[0].body))
}

func TestBalanceIsTheDocumentsGet(t *testing.T) {
	c, m := newMockClient(t, func(sentRequest, int) (int, string) { return 200, string(fixture(t, "balance_response.json")) })
	b, err := c.Balance(context.Background())
	require.NoError(t, err)
	assert.Equal(t, Balance{Current: -2000, CreditLimit: 10000}, b)
	assert.Equal(t, int64(8000), b.Available())
	sent := m.requests()[0]
	assert.Equal(t, "GET", sent.method)
	assert.Equal(t, "balance=", sent.query)
	assert.Empty(t, sent.body)
}

func TestPayRefusesBadInputBeforeSending(t *testing.T) {
	ok := Payment{ID: 1000000001, Amount: 100, Account: "380991234567"}
	with := func(f func(*Payment)) []Payment { p := ok; f(&p); return []Payment{p} }
	cases := map[string][]Payment{
		"payments":                nil,
		"payments[0].Amount":      with(func(p *Payment) { p.Amount = 99 }),
		"payments[0].ID":          with(func(p *Payment) { p.ID = 0 }),
		"payments[0].Account":     with(func(p *Payment) { p.Account = "" }),
		"payments[0].NoticePhone": with(func(p *Payment) { p.NoticePhone = "+380501234567" }),
		"payments[0].TemplateID":  with(func(p *Payment) { p.TemplateID = -1 }),
		"payments[1].ID":          {ok, ok},
	}
	for field, batch := range cases {
		c, m := newMockClient(t, func(sentRequest, int) (int, string) { return 200, "[]" })
		_, err := c.Pay(context.Background(), batch)
		var ve *payments.ValidationError
		require.ErrorAs(t, err, &ve, field)
		assert.Equal(t, field, ve.Field)
		assert.ErrorIs(t, err, payments.ErrInvalidRequest)
		assert.Empty(t, m.requests(), "nothing sent for %s", field)
	}
	c, _ := newMockClient(t, func(sentRequest, int) (int, string) { return 200, "[]" })
	_, err := c.Pay(context.Background(), with(func(p *Payment) { p.Account = "4111 1111 1111 1111" }))
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "4111 1111 1111 1111", "no card number in the error")
	_, err = c.Status(context.Background())
	assert.ErrorIs(t, err, payments.ErrInvalidRequest)
	_, err = c.Status(context.Background(), -5)
	assert.ErrorIs(t, err, payments.ErrInvalidRequest)
}

func TestEachDenialTextIsItsOwnError(t *testing.T) {
	want := map[Denial]error{
		DenialIncorrectAuth:       payments.ErrUnauthorized,
		DenialIPNotAllowed:        payments.ErrForbidden,
		DenialAPIDisabled:         payments.ErrForbidden,
		DenialUnscheduled:         payments.ErrForbidden,
		DenialInsecureConnection:  payments.ErrForbidden,
		DenialIncorrectDataFormat: payments.ErrInvalidRequest,
	}
	for d, cat := range want {
		c, m := newMockClient(t, func(sentRequest, int) (int, string) { return 403, string(d) + " \n" })
		_, err := c.Balance(context.Background())
		assert.ErrorIs(t, err, cat, string(d))
		assert.ErrorIs(t, err, d, string(d))
		for other := range want {
			if other != d {
				assert.NotErrorIs(t, err, other, "%s is not %s", d, other)
			}
		}
		var api *payments.APIError
		require.ErrorAs(t, err, &api)
		assert.Equal(t, 403, api.HTTPStatus)
		assert.Equal(t, string(d), api.Code)
		assert.Len(t, m.requests(), 1, "a 403 is not retried")
	}
	c, _ := newMockClient(t, func(sentRequest, int) (int, string) { return 403, "Something new" })
	_, err := c.Balance(context.Background())
	assert.ErrorIs(t, err, payments.ErrForbidden)
	assert.Contains(t, err.Error(), "Something new")
}

func TestRateLimit503IsRetriedThenReported(t *testing.T) {
	c, m := newMockClient(t, func(_ sentRequest, n int) (int, string) {
		if n < 3 {
			return 503, "Service Unavailable"
		}
		return 200, string(fixture(t, "pay_response.json"))
	})
	res, err := c.Pay(context.Background(), docBatch)
	require.NoError(t, err)
	assert.Len(t, res, 2)
	assert.Len(t, m.requests(), 3)

	c, m = newMockClient(t, func(sentRequest, int) (int, string) { return 503, "Service Unavailable" })
	_, err = c.Pay(context.Background(), docBatch)
	assert.ErrorIs(t, err, payments.ErrRateLimited)
	assert.NotErrorIs(t, err, payments.ErrOutcomeUnknown, "every attempt was refused unprocessed")
	assert.Len(t, m.requests(), 3)
}

func isStatusQuery(body []byte) bool { return !bytes.Contains(body, []byte(`"amount"`)) }

func TestDuplicateAnsweringOurOwnResendIsResolvedByStatus(t *testing.T) {
	c, m := newMockClient(t, func(r sentRequest, n int) (int, string) {
		switch {
		case isStatusQuery(r.body):
			return 200, `[{"transactionId":1000000001,"status":2}]`
		case n == 1:
			return 502, "Bad Gateway" // the batch was taken in, the answer lost
		default:
			return 200, `[{"transactionId":1000000001,"status":124},{"transactionId":1000000002,"status":0}]`
		}
	})
	res, err := c.Pay(context.Background(), docBatch)
	require.NoError(t, err)
	assert.Equal(t, []Result{{1000000001, StatusInProgress}, {1000000002, StatusReceived}}, res)
	sent := m.requests()
	require.Len(t, sent, 3)
	assert.Equal(t, sent[0].body, sent[1].body, "the resend is byte-identical")
	assert.Equal(t, `[{"transactionId":1000000001,"status":0}]`, string(sent[2].body))
}

func TestDuplicateOnFirstAttemptIsReal(t *testing.T) {
	c, m := newMockClient(t, func(sentRequest, int) (int, string) {
		return 200, `[{"transactionId":1000000001,"status":124},{"transactionId":1000000002,"status":0}]`
	})
	res, err := c.Pay(context.Background(), docBatch)
	require.NoError(t, err)
	assert.Equal(t, StatusDuplicate, res[0].Status)
	assert.ErrorIs(t, res[0].Err(), payments.ErrDuplicate)
	assert.NoError(t, res[1].Err())
	assert.Len(t, m.requests(), 1, "no status lookup for a first-attempt 124")
}

func TestResentDuplicateThatStaysNotFoundIsOutcomeUnknown(t *testing.T) {
	c, m := newMockClient(t, func(r sentRequest, n int) (int, string) {
		switch {
		case isStatusQuery(r.body):
			return 200, `[{"transactionId":1000000001,"status":125}]`
		case n == 1:
			return 504, "Gateway Timeout"
		default:
			return 200, `[{"transactionId":1000000001,"status":124},{"transactionId":1000000002,"status":0}]`
		}
	})
	_, err := c.Pay(context.Background(), docBatch)
	assert.ErrorIs(t, err, payments.ErrOutcomeUnknown)
	assert.Len(t, m.requests(), 4, "pay, resend, status, status again (125 rule)")
}

func TestUnreadablePayAnswerIsOutcomeUnknown(t *testing.T) {
	for _, body := range []string{`<html>oops</html>`, `[{"transactionId":1000000001,"status":0}`, `[{"transactionId":1000000001,"status":0}]`, `{}`} {
		c, m := newMockClient(t, func(sentRequest, int) (int, string) { return 200, body })
		_, err := c.Pay(context.Background(), docBatch)
		assert.ErrorIs(t, err, payments.ErrOutcomeUnknown, body)
		var ou *payments.OutcomeUnknownError
		require.ErrorAs(t, err, &ou)
		assert.Equal(t, "1000000001,1000000002", ou.Ref)
		assert.Len(t, m.requests(), 1)

		c, _ = newMockClient(t, func(sentRequest, int) (int, string) { return 200, body })
		_, err = c.Status(context.Background(), 1000000001, 1000000002)
		assert.ErrorIs(t, err, payments.ErrUnavailable, body)
		assert.NotErrorIs(t, err, payments.ErrOutcomeUnknown, "a status read has no outcome")
	}
}

func TestWaitFinalAppliesThe125Rule(t *testing.T) {
	// Per poll, the statuses of 1 (moves to success through a transient
	// 125), 2 (blacklisted: 125, 423), 3 (really unknown: 125, 125).
	polls := []map[int64]int{
		{1: 0, 2: 125, 3: 125},
		{1: 125, 2: 423, 3: 125},
		{1: 3},
	}
	var asked [][]int64
	c, _ := newMockClient(t, func(r sentRequest, n int) (int, string) {
		p := polls[min(n-1, len(polls)-1)]
		var ids []int64
		var out []string
		for _, id := range []int64{1, 2, 3} {
			if bytes.Contains(r.body, []byte(fmt.Sprintf(`"transactionId":%d,`, id))) {
				ids = append(ids, id)
				out = append(out, fmt.Sprintf(`{"transactionId":%d,"status":%d}`, id, p[id]))
			}
		}
		asked = append(asked, ids)
		return 200, "[" + strings.Join(out, ",") + "]"
	})
	res, err := c.WaitFinal(context.Background(), 1, 2, 3)
	require.NoError(t, err)
	assert.Equal(t, []Result{{1, StatusSucceeded}, {2, StatusBlacklisted}, {3, StatusNotFound}}, res)
	assert.Equal(t, [][]int64{{1, 2, 3}, {1, 2, 3}, {1}}, asked, "final payments are not asked again")
}

// The context ends from inside the server's answer to a chosen request, so
// that what WaitFinal heard before does not depend on the machine's speed.
func TestWaitFinalReturnsWhatItKnowsWhenContextEnds(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c, _ := newMockClient(t, func(_ sentRequest, n int) (int, string) {
		if n == 2 { // the first answer was read
			cancel()
		}
		return 200, `[{"transactionId":1,"status":2},{"transactionId":2,"status":0}]`
	})
	res, err := c.WaitFinal(ctx, 1, 2)
	assert.ErrorIs(t, err, context.Canceled)
	assert.Equal(t, []Result{{1, StatusInProgress}, {2, StatusReceived}}, res)

	ctx, cancel = context.WithCancel(context.Background())
	defer cancel()
	c, m := newMockClient(t, func(_ sentRequest, n int) (int, string) {
		if n == 5 {
			cancel()
		}
		return 500, "Internal Server Error"
	})
	res, err = c.WaitFinal(ctx, 1)
	assert.ErrorIs(t, err, context.Canceled)
	assert.Equal(t, []Result{{1, StatusUnknown}}, res, "never heard of")
	assert.Greater(t, len(m.requests()), 3, "server errors are polled through")
}

func TestWaitFinalStopsOnAccessErrors(t *testing.T) {
	c, m := newMockClient(t, func(sentRequest, int) (int, string) { return 403, "IP is not allowed" })
	_, err := c.WaitFinal(context.Background(), 1)
	assert.ErrorIs(t, err, DenialIPNotAllowed)
	assert.Len(t, m.requests(), 1)
}

func TestStatusTable(t *testing.T) {
	type row struct {
		final bool
		state payments.State
		cat   error
	}
	table := map[Status]row{
		StatusReceived:          {false, payments.StatePending, nil},
		StatusInProgress:        {false, payments.StatePending, nil},
		StatusSucceeded:         {true, payments.StateSucceeded, nil},
		StatusInsufficientFunds: {true, payments.StateFailed, payments.ErrInsufficientFunds},
		StatusProviderNotFound:  {true, payments.StateFailed, payments.ErrDeclined},
		StatusDuplicate:         {false, payments.StateFailed, payments.ErrDuplicate},
		StatusNotFound:          {false, payments.StatePending, payments.ErrNotFound},
		StatusCanceled:          {true, payments.StateCanceled, payments.ErrDeclined},
		StatusGatewayError:      {true, payments.StateFailed, payments.ErrInvalidRequest},
		StatusBlacklisted:       {true, payments.StateFailed, payments.ErrDeclined},
	}
	for s, want := range table {
		assert.True(t, s.Known())
		assert.Equal(t, want.final, s.Final(), s.String())
		assert.Equal(t, want.state, s.State(), s.String())
		err := Result{ID: 7, Status: s}.Err()
		if want.cat == nil {
			assert.NoError(t, err, s.String())
		} else {
			assert.ErrorIs(t, err, want.cat, s.String())
		}
	}
	assert.False(t, Status(999).Known())
	assert.Equal(t, payments.StateUnknown, Status(999).State())
	assert.Equal(t, "423 number is blacklisted", StatusBlacklisted.String())
}

func TestSecretsNeverPrint(t *testing.T) {
	cred := Credentials{Login: "partner", Password: "hunter2-secret"}
	for _, s := range []string{fmt.Sprint(cred), fmt.Sprintf("%+v", cred), fmt.Sprintf("%#v", cred), fmt.Sprint(&cred)} {
		assert.NotContains(t, s, "hunter2")
		assert.Contains(t, s, "partner")
	}
	var logs bytes.Buffer
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("creds", "c", cred)
	assert.NotContains(t, logs.String(), "hunter2")

	p := docBatch[1]
	for _, s := range []string{fmt.Sprint(p), fmt.Sprintf("%+v", p), fmt.Sprintf("%#v", p), fmt.Sprint([]Payment{p})} {
		assert.NotContains(t, s, "4111111111111111")
		assert.Contains(t, s, "411111******1111")
	}
}

func TestNewRefusesBadCredentials(t *testing.T) {
	for _, cred := range []Credentials{{}, {Login: "a"}, {Password: "b"}, {Login: "a:b", Password: "c"}} {
		_, err := New(cred)
		assert.ErrorIs(t, err, payments.ErrInvalidRequest)
	}
	_, err := New(Credentials{Login: "a", Password: "b"}, payments.WithLocalAddr("nope"))
	assert.Error(t, err)
}

func TestDecodeToleratesIntegralFloats(t *testing.T) {
	res, err := decodeResults([]byte(`[{"transactionId":1602071234567.0,"status":3.0}]`))
	require.NoError(t, err)
	assert.Equal(t, []Result{{1602071234567, StatusSucceeded}}, res)
	for _, bad := range []string{`[{"transactionId":"1","status":0}]`, `[{"transactionId":1.5,"status":0}]`, `[{"status":0}]`, `[{"transactionId":1,"status":99999999999}]`, `null`, `[] []`} {
		_, err := decodeResults([]byte(bad))
		assert.Error(t, err, bad)
	}
	_, err = decodeBalance([]byte(`{"currentBalance":"5","creditLimit":0}`))
	assert.Error(t, err)
}

func FuzzDecodeResults(f *testing.F) {
	f.Add(fixture(f, "pay_response.json"))
	f.Add(fixture(f, "status_response.json"))
	f.Add([]byte(`[{"transactionId":1e3,"status":-0}]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		res, err := decodeResults(b)
		if err == nil && res == nil {
			t.Fatal("nil results without an error")
		}
	})
}

func FuzzDecodeBalance(f *testing.F) {
	f.Add(fixture(f, "balance_response.json"))
	f.Add([]byte(`{"currentBalance":1.0e2,"creditLimit":-0}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = decodeBalance(b)
	})
}

// TestOnlyThe503IsAResendOfAnUnprocessedPay: the document's section 1 says
// a 503 is the rate limit, refused before any processing ("никак не связано
// с обработкой транзакций"), so a pay answered 503 is sent again as if for
// the first time. No other status is documented so: after a 500 (or an
// undocumented 429) the batch may have landed. Pay is still resent then —
// the document's 124 means popolni creates no second payment for an id — but
// as a resend: a 124 answering it is our own first attempt, resolved by
// Status, and a pay that never gets a readable answer is outcome-unknown.
func TestOnlyThe503IsAResendOfAnUnprocessedPay(t *testing.T) {
	dup := `[{"transactionId":1000000001,"status":124},{"transactionId":1000000002,"status":124}]`
	status := `[{"transactionId":1000000001,"status":3},{"transactionId":1000000002,"status":2}]`
	thenDup := func(first int) func(sentRequest, int) (int, string) {
		return func(r sentRequest, n int) (int, string) {
			switch {
			case isStatusQuery(r.body):
				return 200, status
			case n < 3:
				return first, "refused"
			default:
				return 200, dup
			}
		}
	}

	// 503, 503, 124: nothing of ours landed, so the 124 is someone else's
	// payment with our id, a real duplicate.
	c, m := newMockClient(t, thenDup(503))
	res, err := c.Pay(context.Background(), docBatch)
	require.NoError(t, err)
	assert.Equal(t, []Result{{1000000001, StatusDuplicate}, {1000000002, StatusDuplicate}}, res)
	assert.Equal(t, 3, len(m.requests()), "sent again after each 503, and no status lookup")

	// 500, 500, 124: the first attempt may have landed: the 124 is ours.
	for _, first := range []int{500, 429} {
		c, m = newMockClient(t, thenDup(first))
		res, err = c.Pay(context.Background(), docBatch)
		require.NoError(t, err, "after %d", first)
		assert.Equal(t, []Result{{1000000001, StatusSucceeded}, {1000000002, StatusInProgress}}, res, "after %d", first)
		assert.Equal(t, 4, len(m.requests()), "after %d: pay three times, then the status lookup", first)
	}

	// Every attempt refused: a 503 is a rate-limit refusal, nothing landed;
	// a 500 or a 429 leaves the outcome unknown.
	for st, unknown := range map[int]bool{503: false, 500: true, 429: true} {
		c, m = newMockClient(t, func(sentRequest, int) (int, string) { return st, "refused" })
		_, err = c.Pay(context.Background(), docBatch)
		assert.Equal(t, unknown, errors.Is(err, payments.ErrOutcomeUnknown), "%d: outcome unknown", st)
		assert.Equal(t, st != 500, errors.Is(err, payments.ErrRateLimited), "%d: rate limited", st)
		assert.Equal(t, 3, len(m.requests()), "%d: every attempt of the policy", st)
		var ou *payments.OutcomeUnknownError
		if errors.As(err, &ou) {
			assert.Equal(t, "1000000001,1000000002", ou.Ref)
		}
	}
	// Status reads are resent on all three and never outcome-unknown.
	for _, st := range []int{503, 500, 429} {
		c, m = newMockClient(t, func(sentRequest, int) (int, string) { return st, "refused" })
		_, err = c.Status(context.Background(), 1000000001)
		assert.NotErrorIs(t, err, payments.ErrOutcomeUnknown, "status %d", st)
		assert.Equal(t, 3, len(m.requests()), "status %d", st)
	}
}
