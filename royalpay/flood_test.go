package royalpay

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/royalpay/royalpaytest"
)

// fromCallback marks the contexts of the flood's callback requests, so the
// limiter can tell their tokens from the create's.
type fromCallback struct{}

// countingLimiter is the account's limiter, counting the tokens taken for
// callbacks (their confirmations) and for everything else, and how many the
// callbacks had taken when the last other token was granted.
type countingLimiter struct {
	inner            payments.Limiter
	callbacks, other atomic.Int32
	callbacksAtOther atomic.Int32
}

func (l *countingLimiter) Wait(ctx context.Context) error {
	err := l.inner.Wait(ctx)
	if err == nil {
		if ctx.Value(fromCallback{}) != nil {
			l.callbacks.Add(1)
		} else {
			l.callbacksAtOther.Store(l.callbacks.Load())
			l.other.Add(1)
		}
	}
	return err
}

// heldClock is a confirmation budget's clock that stands still: a
// confirmation waiting for the budget's spacing sleeps until its context
// ends. The budget then starts exactly one confirmation however long the
// flood takes on a loaded machine.
type heldClock struct{ t time.Time }

func (c heldClock) now() time.Time { return c.t }

func (heldClock) sleep(ctx context.Context, _ time.Duration) error {
	<-ctx.Done()
	return ctx.Err()
}

// 100 forged callbacks (unknown ids, no Known hook), authenticated or not,
// arrive together with a real CreatePayment on a client whose limiter is the
// account's real one (5 a second, burst 1). The forged callbacks take one
// limiter token in all, so they delay the create by at most one limiter
// interval (200 ms). Before the budget each took one: 100 tokens, and the
// create waited behind them for about 20 s.
//
// The proof counts tokens, not time: the budget's clock is held (the next
// confirmation would start a second later, and that second never comes),
// so no count depends on the machine's speed; the create's wall time is
// only logged.
func TestForgedCallbacksDoNotSpendTheAccountsRateLimit(t *testing.T) {
	for _, tc := range []struct {
		name string
		h    func(*Client) *CallbackHandler
		auth string
	}{
		{"unauthenticated, confirmation alone", func(c *Client) *CallbackHandler {
			return &CallbackHandler{Client: c, AllowUnauthenticated: true}
		}, ""},
		{"with the bearer token", func(c *Client) *CallbackHandler {
			return &CallbackHandler{Client: c, BearerToken: "cb-static-token"}
		}, "Bearer cb-static-token"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := royalpaytest.NewServer(royalpaytest.WithT(t))
			inner, err := payments.NewLimiter(payments.DefaultRate, payments.DefaultBurst)
			require.NoError(t, err)
			lim := &countingLimiter{inner: inner}
			c := fakeClient(t, srv, payments.WithLimiter(lim))
			// A client that has read a payment knows the form its host
			// routes the read in: a forged id's 404 there is final, one
			// request. (Before its first read a client asks a 404 once
			// more in the other form: two tokens for each confirmation,
			// see TestConfirmationsStartAtMostConfirmRateASecond.)
			warm, err := c.CreatePayment(context.Background(), sbp("ORD-warm"))
			require.NoError(t, err)
			_, err = c.GetPayment(context.Background(), warm.ID)
			require.NoError(t, err)
			lim.other.Store(0)
			gets := srv.Count(royalpaytest.OpGet)
			h := tc.h(c)
			clock := heldClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
			h.now, h.sleep = clock.now, clock.sleep
			var handled atomic.Int32
			h.Handle = func(context.Context, Event) error { handled.Add(1); return nil }
			require.NoError(t, h.Validate())

			// The flood's requests end with the test: a callback still
			// waiting for its turn then gives up without an API call.
			floodCtx, endFlood := context.WithCancel(context.WithValue(context.Background(), fromCallback{}, true))
			defer endFlood()
			const n = 100
			start := make(chan struct{})
			codes := make(chan int, n)
			var wg, entered sync.WaitGroup
			for i := 0; i < n; i++ {
				wg.Add(1)
				entered.Add(1)
				go func(i int) {
					defer wg.Done()
					body := fmt.Sprintf(`{"id":%d,"status":"completed","amount":"999999.00","outter_id":"FORGED-%d"}`, 90000000+i, i)
					r := httptest.NewRequest(http.MethodPost, "/cb", strings.NewReader(body)).WithContext(floodCtx)
					if tc.auth != "" {
						r.Header.Set("Authorization", tc.auth)
					}
					<-start
					entered.Done()
					w := httptest.NewRecorder()
					h.ServeHTTP(w, r)
					codes <- w.Code
				}(i)
			}
			close(start)
			// The create comes once the flood is under way: every callback is
			// being handled, a confirmation has its token and the account's
			// limiter is busy.
			entered.Wait()
			require.Eventually(t, func() bool { return lim.callbacks.Load() >= 1 }, 60*time.Second, time.Millisecond)
			t0 := time.Now()
			p, err := c.CreatePayment(context.Background(), sbp("ORD-real"))
			delay := time.Since(t0)
			require.NoError(t, err)
			assert.Positive(t, p.ID)

			endFlood()
			wg.Wait()
			close(codes)
			refused := map[int]int{}
			for code := range codes {
				refused[code]++
			}
			assert.Equal(t, int32(1), lim.other.Load(), "the create's own token")
			assert.Equal(t, int32(1), lim.callbacksAtOther.Load(), "tokens the forged callbacks took before the create had its own")
			assert.Equal(t, int32(1), lim.callbacks.Load(), "tokens the forged callbacks took in all")
			assert.Zero(t, handled.Load(), "no forged callback reached Handle")
			assert.Equal(t, n, refused[http.StatusServiceUnavailable]+refused[http.StatusBadRequest], "%v", refused)
			assert.Equal(t, int(lim.callbacks.Load()), srv.Count(royalpaytest.OpGet)-gets, "confirmations that reached the API")
			t.Logf("create with %d forged callbacks: %v; callback tokens %d; answers %v", n, delay.Round(time.Millisecond), lim.callbacks.Load(), refused)
		})
	}
}
