package transport

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync/atomic"
	"testing"

	"github.com/jarcoal/httpmock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/paysdk/payments"
)

// A RoundTripper given to WithTransport that is not net/http's tells the
// SDK nothing of what it wrote. An error from it is "may have been
// written": an unsafe write is sent once and is outcome-unknown, a read and
// an idempotent write are retried as after a lost answer.
func TestOpaqueTransportErrorIsMaybeWritten(t *testing.T) {
	for _, kind := range []Kind{UnsafeWrite, IdempotentWrite, Read} {
		m := newMock(t)
		var bodies int
		m.mock.RegisterResponder("POST", "https://api.example.test/api", func(r *http.Request) (*http.Response, error) {
			if b, _ := io.ReadAll(r.Body); len(b) > 0 {
				bodies++
			}
			return nil, errors.New("proxy: upstream connection reset")
		})
		_, err := m.c.Do(context.Background(), req(kind))
		require.Error(t, err, "kind %d", kind)
		var te *payments.TransportError
		require.ErrorAs(t, err, &te, "kind %d", kind)
		assert.True(t, te.Written, "kind %d: the SDK cannot see into the transport", kind)
		assert.ErrorIs(t, err, payments.ErrUnavailable, "kind %d", kind)
		switch kind {
		case UnsafeWrite:
			assert.Equal(t, 1, m.mock.GetTotalCallCount(), "an unsafe write is sent once")
			assert.Equal(t, 1, bodies)
			assert.ErrorIs(t, err, payments.ErrOutcomeUnknown)
			var ou *payments.OutcomeUnknownError
			require.ErrorAs(t, err, &ou)
			assert.Equal(t, "42", ou.Ref)
		case IdempotentWrite:
			assert.Equal(t, 4, m.mock.GetTotalCallCount(), "the provider dedupes: resent")
			assert.ErrorIs(t, err, payments.ErrOutcomeUnknown, "an attempt may have been delivered")
		case Read:
			assert.Equal(t, 4, m.mock.GetTotalCallCount(), "a read is retried")
			assert.NotErrorIs(t, err, payments.ErrOutcomeUnknown)
		}
	}
}

// A request httpmock has no responder for is refused by the mock with an
// error; the SDK cannot tell that from a transport that sent the request and
// lost the answer, so an unsafe write is outcome-unknown and tried once.
func TestOpaqueTransportNoResponderIsMaybeWritten(t *testing.T) {
	m := newMock(t) // no responder registered
	_, err := m.c.Do(context.Background(), req(UnsafeWrite))
	assert.ErrorIs(t, err, payments.ErrOutcomeUnknown)
	assert.ErrorIs(t, err, httpmock.NoResponderFound)
	assert.Equal(t, 1, m.lim.count(), "one attempt")
}

// A context that ends while the merchant's transport holds the request: the
// request has left the SDK, so an unsafe write is outcome-unknown.
func TestOpaqueTransportContextEndWhileInFlightIsMaybeWritten(t *testing.T) {
	m := newMock(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	m.mock.RegisterResponder("POST", "https://api.example.test/api", func(r *http.Request) (*http.Response, error) {
		_, _ = io.ReadAll(r.Body)
		cancel() // the caller gives up while the request is out
		<-r.Context().Done()
		return nil, r.Context().Err()
	})
	_, err := m.c.Do(ctx, req(UnsafeWrite))
	assert.ErrorIs(t, err, context.Canceled)
	assert.ErrorIs(t, err, payments.ErrOutcomeUnknown)
	assert.Equal(t, 1, m.mock.GetTotalCallCount())
}

// A *http.Transport the merchant builds is net/http's own: it reports what it
// wrote as the built one does, so a refused dial is "not sent" and even an
// unsafe write is tried again.
func TestMerchantHTTPTransportKeepsTheTrace(t *testing.T) {
	var dials atomic.Int32
	rt := &http.Transport{DialContext: func(context.Context, string, string) (net.Conn, error) {
		dials.Add(1)
		return nil, errors.New("dial tcp: connection refused")
	}}
	defer rt.CloseIdleConnections()
	lim := &countingLimiter{}
	c, err := New(Config{Provider: "test", DefaultBaseURL: "https://api.example.test/api"},
		payments.WithTransport(rt), payments.WithLimiter(lim), payments.WithTestTiming(), payments.WithLimiter(lim))
	require.NoError(t, err)
	_, err = c.Do(context.Background(), req(UnsafeWrite))
	var te *payments.TransportError
	require.ErrorAs(t, err, &te)
	assert.False(t, te.Written)
	assert.NotErrorIs(t, err, payments.ErrOutcomeUnknown)
	assert.Equal(t, int32(4), dials.Load(), "not sent: retried as the table says")
}

// payments.ErrNotSent, returned as it is or wrapped, is the merchant's
// transport saying the request never left it: not written, retried as the
// table retries an unsent attempt (unsafe writes included), never
// outcome-unknown, and the caller can still see it.
func TestOpaqueTransportNotSentIsNotWritten(t *testing.T) {
	for name, e := range map[string]error{
		"bare":    payments.ErrNotSent,
		"wrapped": fmt.Errorf("dial tcp 10.0.0.1:443: connection refused: %w", payments.ErrNotSent),
	} {
		for _, kind := range []Kind{UnsafeWrite, IdempotentWrite, Read} {
			m := newMock(t)
			m.mock.RegisterResponder("POST", "https://api.example.test/api", httpmock.NewErrorResponder(e))
			_, err := m.c.Do(context.Background(), req(kind))
			var te *payments.TransportError
			require.ErrorAs(t, err, &te, "%s kind %d", name, kind)
			assert.False(t, te.Written, "%s kind %d", name, kind)
			assert.NotErrorIs(t, err, payments.ErrOutcomeUnknown, "%s kind %d", name, kind)
			assert.ErrorIs(t, err, payments.ErrNotSent, "%s kind %d", name, kind)
			assert.ErrorIs(t, err, payments.ErrUnavailable, "%s kind %d", name, kind)
			assert.Equal(t, 4, m.mock.GetTotalCallCount(), "%s kind %d: every attempt of the policy", name, kind)
		}
	}

	// Refused once, then answered: one payment, and not a resend.
	m := newMock(t)
	n := 0
	m.mock.RegisterResponder("POST", "https://api.example.test/api", func(r *http.Request) (*http.Response, error) {
		if n++; n == 1 {
			return nil, payments.ErrNotSent
		}
		return httpmock.NewStringResponse(200, "ok"), nil
	})
	resp, err := m.c.Do(context.Background(), req(UnsafeWrite))
	require.NoError(t, err)
	assert.Equal(t, 2, resp.Attempts)
	assert.False(t, resp.Resent)
}

// An idempotent write whose first attempt may have been delivered stays
// outcome-unknown when a later attempt was never sent: ErrNotSent speaks of
// the last attempt only, ErrOutcomeUnknown is tested first.
func TestOpaqueTransportNotSentAfterAMaybeDeliveredAttempt(t *testing.T) {
	m := newMock(t)
	n := 0
	m.mock.RegisterResponder("POST", "https://api.example.test/api", func(r *http.Request) (*http.Response, error) {
		if n++; n == 1 {
			return nil, errors.New("read: connection reset by peer")
		}
		return nil, payments.ErrNotSent
	})
	_, err := m.c.Do(context.Background(), req(IdempotentWrite))
	assert.ErrorIs(t, err, payments.ErrOutcomeUnknown)
	assert.Equal(t, 4, m.mock.GetTotalCallCount())
}

// cancellingLimiter ends the call's context and lets the attempt go on, as
// a limiter that does not watch the context would.
type cancellingLimiter struct{ cancel context.CancelFunc }

func (l cancellingLimiter) Wait(context.Context) error { l.cancel(); return nil }

// A context that ended before the attempt reached the transport: nothing is
// handed to the merchant's transport, so nothing can be unknown.
func TestContextEndedBeforeTheAttemptNeverReachesTheTransport(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	m := newMock(t, payments.WithLimiter(cancellingLimiter{cancel}))
	m.mock.RegisterResponder("POST", "https://api.example.test/api", httpmock.NewStringResponder(200, "ok"))
	_, err := m.c.Do(ctx, req(UnsafeWrite))
	assert.ErrorIs(t, err, context.Canceled)
	assert.NotErrorIs(t, err, payments.ErrOutcomeUnknown)
	assert.Zero(t, m.mock.GetTotalCallCount())
}
