package qiwitopup

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jarcoal/httpmock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/paysdk/payments"
)

// script answers each request type from its own queue (the last answer
// repeats); an empty answer string means a network error.
type script struct {
	mu   sync.Mutex
	q    map[string][]string
	seen []string
	// served, when set, is told the number of requests served so far,
	// before the answer goes back (the caller's context can end between
	// two attempts, never during one).
	served func(n int)
}

// calls is what was asked so far. httpmock answers on its own goroutine,
// which can still be running after a canceled call returned: read under the lock.
func (s *script) calls() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.seen...)
}

func (s *script) client(t *testing.T) *Client {
	// A synchronous transport, not httpmock's: httpmock answers a request
	// whose context ended with the context's error, even when the answer
	// was ready, and the script ends the caller's context from inside an
	// answer (see served).
	mock := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		b, _ := io.ReadAll(r.Body)
		body := string(b)
		op := "ping"
		for _, k := range []string{"check-deposit-possible", "check-user", "<status>", "<auth>"} {
			if strings.Contains(body, k) {
				op = k
				break
			}
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		s.seen = append(s.seen, op)
		if s.served != nil {
			s.served(len(s.seen))
		}
		q := s.q[op]
		if len(q) == 0 {
			t.Fatalf("no answer for %s", op)
		}
		a := q[0]
		if len(q) > 1 {
			s.q[op] = q[1:]
		}
		if a == "" {
			return nil, fmt.Errorf("dial tcp: connection refused: %w", payments.ErrNotSent)
		}
		resp := httpmock.NewStringResponse(200, a)
		resp.Request = r
		return resp, nil
	})
	c, err := New(PasswordAuth("123", "pw"), payments.WithTransport(mock), payments.WithLimiter(payments.Unlimited()),
		payments.WithRetry(payments.RetryPolicy{MaxAttempts: 1}))
	require.NoError(t, err)
	return c
}

func payment(status int, txn string, final bool) string {
	f := "false"
	if final {
		f = "true"
	}
	return `<response><result-code fatal="false">0</result-code><payment status='` + strconv.Itoa(status) + `' txn_id='` + txn +
		`' transaction-number='12345678' result-code='0' final-status='` + f + `' fatal-error='false' txn-date='02.03.2011 14:35:46'/></response>`
}

var fastPayout = PayoutOptions{PollInterval: time.Millisecond, ErrorWait: time.Millisecond}

func wallet() WalletPayment {
	return WalletPayment{Common: Common{TransactionNumber: "12345678", Amount: 100000}, Phone: "79181234567", NonCash: true}
}

const possible = `<response><result-code fatal="false">0</result-code><exist>1</exist><deposit-possible>1</deposit-possible></response>`

func TestPayoutFollowsTheFlowchart(t *testing.T) {
	s := &script{q: map[string][]string{
		"check-deposit-possible": {possible},
		// lost answer, then "not registered", then accepted
		"<auth>":   {"", payment(-1, "", false), payment(50, "777", false)},
		"<status>": {`<response><result-code fatal="false">300</result-code></response>`, `<response><result-code fatal="false">0</result-code></response>`, payment(60, "777", true)},
	}}
	p, err := s.client(t).Payout(context.Background(), wallet(), fastPayout)
	require.NoError(t, err)
	assert.True(t, p.Succeeded())
	assert.Equal(t, []string{"check-deposit-possible", "<auth>", "<auth>", "<auth>", "<status>", "<status>", "<status>"}, s.calls(),
		"pay again (same number) until registered; then status through a request error and a missing payment")
}

func TestPayoutStopsBeforePayingWhenImpossible(t *testing.T) {
	s := &script{q: map[string][]string{"check-deposit-possible": {`<response><result-code fatal="true" message="Недостаточный статус">204</result-code><exist>1</exist><deposit-possible>0</deposit-possible></response>`}}}
	_, err := s.client(t).Payout(context.Background(), wallet(), fastPayout)
	assert.ErrorIs(t, err, ErrDepositImpossible)
	assert.Equal(t, []string{"check-deposit-possible"}, s.calls())

	s = &script{q: map[string][]string{"check-deposit-possible": {strings.Replace(possible, "<exist>1", "<exist>0", 1)}}}
	_, err = s.client(t).Payout(context.Background(), wallet(), PayoutOptions{NoNewWallets: true})
	assert.ErrorIs(t, err, ErrDepositImpossible)

	s = &script{q: map[string][]string{"check-deposit-possible": {possible}, "check-user": {`<response><result-code fatal="false">0</result-code><exist>0</exist></response>`}}}
	_, err = s.client(t).Payout(context.Background(), wallet(), PayoutOptions{CheckUser: true, NoNewWallets: true})
	assert.ErrorIs(t, err, ErrDepositImpossible)
	assert.Equal(t, []string{"check-deposit-possible", "check-user"}, s.calls())
}

func TestPayoutReturnsAFinalFailure(t *testing.T) {
	s := &script{q: map[string][]string{"check-deposit-possible": {possible},
		"<auth>": {strings.Replace(payment(160, "9", true), "result-code='0'", "result-code='220'", 1)}}}
	p, err := s.client(t).Payout(context.Background(), wallet(), fastPayout)
	require.NoError(t, err)
	assert.True(t, p.Failed())
	assert.ErrorIs(t, p.Err(), payments.ErrInsufficientFunds)
}

func TestPayoutNeverGivesUpOnDoubtButHonoursTheContext(t *testing.T) {
	s := &script{q: map[string][]string{"check-deposit-possible": {possible},
		"<auth>":   {payment(50, "777", false)},
		"<status>": {""}}}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	p, err := s.client(t).Payout(ctx, wallet(), fastPayout)
	assert.ErrorIs(t, err, payments.ErrOutcomeUnknown)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Equal(t, "777", p.TxnID, "the last payment seen")
	assert.Greater(t, len(s.calls()), 5, "kept asking")
}

// A Payout whose every pay certainly did not land (never sent, or refused
// with a fatal request code) ends with the context's error and the last
// refusal, not outcome-unknown: there is nothing to reconcile. Once one pay
// may have landed, it stays outcome-unknown whatever comes after.
func TestPayoutOutcomeUnknownOnlyWhenAPayMayHaveLanded(t *testing.T) {
	refused := `<response><result-code fatal="true" message="Ошибка авторизации">150</result-code></response>`
	for name, tc := range map[string]struct {
		pays    []string
		unknown bool
		cause   error
	}{
		"never sent":              {pays: []string{""}, cause: payments.ErrUnavailable},
		"refused 150":             {pays: []string{refused}, cause: ErrAuth},
		"refused 339":             {pays: []string{`<response><result-code fatal="true">339</result-code></response>`}, cause: ErrIPBlocked},
		"never sent then refused": {pays: []string{"", refused}, cause: ErrAuth},
		"300 then refused":        {pays: []string{`<response><result-code fatal="false">300</result-code></response>`, refused}, unknown: true},
		"not registered":          {pays: []string{payment(-1, "", false)}, unknown: true},
	} {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			// Every scripted answer served, and the last one again twice;
			// then the caller gives up, between two attempts: a context that
			// ends during a request to a transport the SDK cannot see into
			// is a request that may have been written.
			s := &script{q: map[string][]string{"check-deposit-possible": {possible}, "<auth>": tc.pays},
				served: func(n int) {
					if n >= 1+len(tc.pays)+2 {
						cancel()
					}
				}}
			_, err := s.client(t).Payout(ctx, wallet(), fastPayout)
			assert.ErrorIs(t, err, context.Canceled)
			assert.ErrorContains(t, err, "qiwitopup payout")
			if tc.unknown {
				assert.ErrorIs(t, err, payments.ErrOutcomeUnknown)
				var ou *payments.OutcomeUnknownError
				if assert.ErrorAs(t, err, &ou) {
					assert.Equal(t, "12345678", ou.Ref)
				}
			} else {
				assert.NotErrorIs(t, err, payments.ErrOutcomeUnknown)
				assert.ErrorIs(t, err, tc.cause)
			}
		})
	}
}

// roundTripFunc is an http.RoundTripper that answers on the caller's
// goroutine.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
