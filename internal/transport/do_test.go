package transport

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jarcoal/httpmock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/paysdk/payments"
)

// countingLimiter counts tokens taken.
type countingLimiter struct {
	mu sync.Mutex
	n  int
}

func (l *countingLimiter) Wait(ctx context.Context) error {
	l.mu.Lock()
	l.n++
	l.mu.Unlock()
	return ctx.Err()
}

func (l *countingLimiter) count() int { l.mu.Lock(); defer l.mu.Unlock(); return l.n }

type mockSetup struct {
	c      *Client
	mock   *httpmock.MockTransport
	lim    *countingLimiter
	sleeps []time.Duration
	bodies [][]byte
}

func newMock(t *testing.T, opts ...payments.Option) *mockSetup {
	t.Helper()
	m := &mockSetup{mock: httpmock.NewMockTransport(), lim: &countingLimiter{}}
	all := append([]payments.Option{
		payments.WithTransport(m.mock),
		payments.WithLimiter(m.lim),
		payments.WithRetry(payments.RetryPolicy{MaxAttempts: 4, BaseDelay: 100 * time.Millisecond, MaxDelay: time.Second}),
	}, opts...)
	c, err := New(Config{Provider: "test", DefaultBaseURL: "https://api.example.test/api", Auth: BasicAuth("u", "p")}, all...)
	require.NoError(t, err)
	c.sleep = func(ctx context.Context, d time.Duration) error { m.sleeps = append(m.sleeps, d); return ctx.Err() }
	c.jitter = func(d time.Duration) time.Duration { return d }
	m.c = c
	return m
}

// respond answers the given statuses in turn, recording each request body.
func (m *mockSetup) respond(statuses ...int) {
	i := 0
	m.mock.RegisterResponder("POST", "https://api.example.test/api", func(r *http.Request) (*http.Response, error) {
		b, _ := io.ReadAll(r.Body)
		m.bodies = append(m.bodies, b)
		st := statuses[min(i, len(statuses)-1)]
		i++
		return httpmock.NewStringResponse(st, "answer"), nil
	})
}

func req(kind Kind) *Request {
	return &Request{Op: "op", Kind: kind, Ref: "42", Method: "POST", ContentType: "application/json", Body: []byte(`[{"id":42}]`)}
}

func TestRetryDocumentedUnprocessed503ForEveryKindWithATokenPerAttempt(t *testing.T) {
	for _, kind := range []Kind{Read, IdempotentWrite, UnsafeWrite} {
		m := newMock(t)
		m.c.cfg.Unprocessed = func(st int) bool { return st == 503 }
		m.respond(503, 503, 200)
		resp, err := m.c.Do(context.Background(), req(kind))
		require.NoError(t, err)
		assert.Equal(t, 200, resp.Status)
		assert.Equal(t, 3, resp.Attempts)
		assert.False(t, resp.Resent, "a 503 is refused unprocessed")
		assert.Equal(t, 3, m.lim.count(), "one limiter token per attempt")
		assert.Equal(t, 3, m.mock.GetTotalCallCount())
		for _, b := range m.bodies {
			assert.Equal(t, `[{"id":42}]`, string(b), "byte-identical body on every attempt")
		}
		assert.Equal(t, []time.Duration{100 * time.Millisecond, 200 * time.Millisecond}, m.sleeps, "exponential backoff")
	}
}

func TestServerErrorIsNeverResentForUnsafeWrite(t *testing.T) {
	for _, st := range []int{500, 502, 504} {
		m := newMock(t)
		m.respond(st, 200)
		_, err := m.c.Do(context.Background(), req(UnsafeWrite))
		require.Error(t, err)
		assert.ErrorIs(t, err, payments.ErrOutcomeUnknown)
		var ou *payments.OutcomeUnknownError
		require.ErrorAs(t, err, &ou)
		assert.Equal(t, "42", ou.Ref)
		var api *payments.APIError
		require.ErrorAs(t, err, &api)
		assert.Equal(t, st, api.HTTPStatus)
		assert.Equal(t, 1, m.mock.GetTotalCallCount(), "sent exactly once")
	}
}

func TestServerErrorIsRetriedForReadsAndIdempotentWrites(t *testing.T) {
	m := newMock(t)
	m.respond(500, 200)
	resp, err := m.c.Do(context.Background(), req(Read))
	require.NoError(t, err)
	assert.Equal(t, 2, m.mock.GetTotalCallCount())
	assert.False(t, resp.Resent, "Resent only matters for writes")

	m = newMock(t)
	m.respond(502, 200)
	resp, err = m.c.Do(context.Background(), req(IdempotentWrite))
	require.NoError(t, err)
	assert.True(t, resp.Resent, "the 502'd attempt may have been delivered")
}

func TestIdempotentWriteGivingUpAfterServerErrorIsOutcomeUnknown(t *testing.T) {
	m := newMock(t)
	m.respond(500)
	_, err := m.c.Do(context.Background(), req(IdempotentWrite))
	assert.ErrorIs(t, err, payments.ErrOutcomeUnknown)
	assert.Equal(t, 4, m.mock.GetTotalCallCount())

	m = newMock(t)
	m.respond(500)
	_, err = m.c.Do(context.Background(), req(Read))
	assert.NotErrorIs(t, err, payments.ErrOutcomeUnknown, "a read has no outcome to doubt")
	assert.ErrorIs(t, err, payments.ErrUnavailable)
}

func TestClientErrorsAreNotRetried(t *testing.T) {
	for st, cat := range map[int]error{400: payments.ErrInvalidRequest, 401: payments.ErrUnauthorized, 403: payments.ErrForbidden, 404: payments.ErrNotFound, 409: payments.ErrDuplicate} {
		m := newMock(t)
		m.respond(st)
		_, err := m.c.Do(context.Background(), req(Read))
		assert.ErrorIs(t, err, cat)
		assert.Equal(t, 1, m.mock.GetTotalCallCount())
	}
}

// The mock is opaque to the SDK: it says "never sent" with payments.ErrNotSent.
func TestUnwrittenNetworkErrorIsRetriedEvenForUnsafeWrite(t *testing.T) {
	m := newMock(t)
	n := 0
	m.mock.RegisterResponder("POST", "https://api.example.test/api", func(r *http.Request) (*http.Response, error) {
		n++
		if n == 1 {
			return nil, fmt.Errorf("dial tcp: connection refused: %w", payments.ErrNotSent)
		}
		return httpmock.NewStringResponse(200, "ok"), nil
	})
	resp, err := m.c.Do(context.Background(), req(UnsafeWrite))
	require.NoError(t, err)
	assert.Equal(t, 2, resp.Attempts)
	assert.Equal(t, 2, m.lim.count())
}

func TestRetryAfterIsHonouredAndCapped(t *testing.T) {
	m := newMock(t)
	i := 0
	m.mock.RegisterResponder("POST", "https://api.example.test/api", func(r *http.Request) (*http.Response, error) {
		i++
		if i == 1 {
			resp := httpmock.NewStringResponse(429, "slow down")
			resp.Header.Set("Retry-After", "0") // no wait asked: backoff applies
			return resp, nil
		}
		if i == 2 {
			resp := httpmock.NewStringResponse(503, "slow down")
			resp.Header.Set("Retry-After", "120") // over MaxDelay: capped
			return resp, nil
		}
		return httpmock.NewStringResponse(200, "ok"), nil
	})
	_, err := m.c.Do(context.Background(), req(Read))
	require.NoError(t, err)
	assert.Equal(t, []time.Duration{100 * time.Millisecond, time.Second}, m.sleeps)
	assert.Equal(t, 7*time.Second, parseRetryAfter("7", time.Now()))
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	assert.Equal(t, 5*time.Second, parseRetryAfter(now.Add(5*time.Second).Format(http.TimeFormat), now))
	assert.Zero(t, parseRetryAfter("soon", now))
}

func TestContextEndDuringBackoffStops(t *testing.T) {
	m := newMock(t)
	m.c.cfg.Unprocessed = func(st int) bool { return st == 503 }
	m.respond(503)
	ctx, cancel := context.WithCancel(context.Background())
	m.c.sleep = func(context.Context, time.Duration) error { cancel(); return context.Canceled }
	_, err := m.c.Do(ctx, req(UnsafeWrite))
	assert.ErrorIs(t, err, context.Canceled)
	assert.NotErrorIs(t, err, payments.ErrOutcomeUnknown, "a 503 was not processed")
	assert.Equal(t, 1, m.mock.GetTotalCallCount())
}

func TestLimiterRefusalSendsNothing(t *testing.T) {
	m := newMock(t)
	m.respond(200)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := m.c.Do(ctx, req(Read))
	assert.ErrorIs(t, err, context.Canceled)
	assert.Zero(t, m.mock.GetTotalCallCount())
}

func TestResponseSizeCap(t *testing.T) {
	m := newMock(t, payments.WithMaxResponseBytes(10))
	m.mock.RegisterResponder("POST", "https://api.example.test/api", httpmock.NewStringResponder(200, "0123456789ABC"))
	_, err := m.c.Do(context.Background(), req(Read))
	var te *payments.TransportError
	require.ErrorAs(t, err, &te)
	assert.ErrorIs(t, err, errTooLarge)
	assert.Equal(t, 1, m.mock.GetTotalCallCount(), "a too large answer does not get smaller on retry")

	m = newMock(t, payments.WithMaxResponseBytes(10))
	m.mock.RegisterResponder("POST", "https://api.example.test/api", httpmock.NewStringResponder(200, "0123456789"))
	resp, err := m.c.Do(context.Background(), req(Read))
	require.NoError(t, err)
	assert.Equal(t, "0123456789", string(resp.Body))
}

func TestSinkStreamsBody(t *testing.T) {
	m := newMock(t, payments.WithMaxResponseBytes(4))
	m.mock.RegisterResponder("GET", "https://api.example.test/api/export", httpmock.NewStringResponder(200, "a long download body"))
	var buf bytes.Buffer
	resp, err := m.c.Do(context.Background(), &Request{Op: "export", Method: "GET", Path: "/export", Sink: &buf})
	require.NoError(t, err)
	assert.Nil(t, resp.Body)
	assert.Equal(t, "a long download body", buf.String(), "the size cap does not apply to a stream")
}

func TestHeadersSent(t *testing.T) {
	m := newMock(t, payments.WithUserAgent("merchant/1.0"))
	var got http.Header
	m.mock.RegisterResponder("POST", "https://api.example.test/api", func(r *http.Request) (*http.Response, error) {
		got = r.Header.Clone()
		return httpmock.NewStringResponse(200, "ok"), nil
	})
	r := req(Read)
	r.Header = http.Header{"X-Digital-Sign": {"sig"}}
	_, err := m.c.Do(context.Background(), r)
	require.NoError(t, err)
	assert.Equal(t, "Basic dTpw", got.Get("Authorization"))
	assert.Equal(t, "merchant/1.0", got.Get("User-Agent"))
	assert.Equal(t, "application/json", got.Get("Content-Type"))
	assert.Equal(t, "sig", got.Get("X-Digital-Sign"))
	assert.Empty(t, got.Get("Expect"))
}

func TestSnippet(t *testing.T) {
	assert.Equal(t, "card 411111******1111 refused", Snippet([]byte("card 4111111111111111 refused\n")))
	assert.Equal(t, "HTML page: Bad Gateway", Snippet([]byte("<html><head><title>Bad Gateway</title></head></html>")))
	assert.Equal(t, "a b", Snippet([]byte("a\x00b")))
	assert.Len(t, []rune(Snippet(bytes.Repeat([]byte("я"), 500))), 201)
}

func TestAuthDoesNotPrint(t *testing.T) {
	a := BasicAuth("login", "hunter2")
	for _, s := range []string{a.String(), a.GoString()} {
		assert.NotContains(t, s, "aHVudGVyMg")
		assert.NotContains(t, s, "hunter2")
	}
}

func TestOptionValidation(t *testing.T) {
	cfg := Config{Provider: "test", DefaultBaseURL: "https://api.example.test/"}
	bad := []payments.Option{
		payments.WithLocalAddr("not-an-ip"),
		payments.WithResolve("", "127.0.0.1"),
		payments.WithResolve("popolni.club", "x"),
		payments.WithRootCAsPEM([]byte("no pem here")),
		payments.WithLimiter(nil),
		payments.WithRateLimit(0, 1),
		payments.WithRateLimit(5, 0),
		payments.WithTimeout(0),
		payments.WithRetry(payments.RetryPolicy{}),
		payments.WithBaseURL("http://plain.example/"),
		payments.WithBaseURL("https://user:pw@x.example/"),
		payments.WithUserAgent("a\r\nb"),
		payments.WithBaseURL("https://x.example:99999/"),
		payments.WithBaseURL("https://x.example:0/"),
		payments.WithBaseURL("https://x.example/api?key=v"),
		payments.WithBaseURL("https://x.example/api#frag"),
		payments.WithBaseURL("https://x.example:/api"),
		payments.WithBaseURL("https://user:s3cretpw@x.example:bad/"),
		payments.WithBaseURL("https://us er:s3cretpw@%zz/"),
		payments.WithBaseURL("/relative"),
		payments.Option{},
	}
	for i, o := range bad {
		_, err := New(cfg, o)
		require.Error(t, err, "option %d", i)
		var v *payments.ValidationError
		assert.ErrorAs(t, err, &v, "option %d: typed", i)
		assert.ErrorIs(t, err, payments.ErrInvalidRequest, "option %d", i)
		assert.NotContains(t, err.Error(), "pw", "option %d: no credentials echoed: %v", i, err)
	}
	_, err := New(cfg, payments.WithBaseURL("https://x.example:8443/api/"))
	assert.NoError(t, err, "a port in range is fine")
	_, err = New(cfg, payments.WithTransport(httpmock.NewMockTransport()), payments.WithLocalAddr("127.0.0.2"))
	assert.ErrorIs(t, err, payments.ErrInvalidRequest, "WithTransport makes WithLocalAddr meaningless")
	_, err = New(Config{Provider: "test"})
	assert.ErrorIs(t, err, payments.ErrInvalidRequest, "no base URL at all")
}

func TestMalformed(t *testing.T) {
	err := fmt.Errorf("wrapped: %w", Malformed("p", "op", 200, []byte("card 4111111111111111 <oops"), errors.New("bad json")))
	assert.True(t, IsMalformed(err))
	assert.ErrorIs(t, err, payments.ErrUnavailable)
	assert.Contains(t, err.Error(), "bad json")
	assert.NotContains(t, err.Error(), "4111111111111111", "the snippet is masked")
	assert.False(t, IsMalformed(errors.New("other")))
}

// An unsafe write answered 429 or 503 by a provider whose document does not
// say such an answer is unprocessed is sent once and is outcome-unknown; a
// read is retried; an idempotent write is resent but then counts as maybe
// delivered.
func TestUndocumented429And503NeverResendAnUnsafeWrite(t *testing.T) {
	for _, st := range []int{429, 503} {
		m := newMock(t)
		m.respond(st, 200)
		_, err := m.c.Do(context.Background(), req(UnsafeWrite))
		require.Error(t, err)
		assert.ErrorIs(t, err, payments.ErrOutcomeUnknown, "%d", st)
		var api *payments.APIError
		require.ErrorAs(t, err, &api)
		assert.Equal(t, st, api.HTTPStatus, "the status is kept")
		assert.Equal(t, 1, m.mock.GetTotalCallCount(), "%d: sent exactly once", st)

		m = newMock(t)
		m.respond(st, 200)
		resp, err := m.c.Do(context.Background(), req(Read))
		require.NoError(t, err)
		assert.Equal(t, 2, resp.Attempts)

		m = newMock(t)
		m.respond(st, 200)
		resp, err = m.c.Do(context.Background(), req(IdempotentWrite))
		require.NoError(t, err)
		assert.True(t, resp.Resent, "%d from an undocumented provider may have been processed", st)
	}
}

func TestNilContextIsAnErrorNotAPanic(t *testing.T) {
	m := newMock(t)
	m.respond(200)
	//lint:ignore SA1012 the point is a nil context
	_, err := m.c.Do(nil, req(Read)) //nolint:staticcheck
	assert.ErrorIs(t, err, payments.ErrNilContext)
	assert.ErrorIs(t, err, payments.ErrInvalidRequest)
	assert.Zero(t, m.mock.GetTotalCallCount())
}

func TestContextErrorsNameProviderAndOp(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, kind := range []Kind{Read, UnsafeWrite} {
		m := newMock(t)
		m.respond(200)
		_, err := m.c.Do(ctx, req(kind))
		assert.ErrorIs(t, err, context.Canceled)
		assert.NotErrorIs(t, err, payments.ErrOutcomeUnknown, "nothing was sent")
		assert.Contains(t, err.Error(), "test op")
	}
	dctx, dcancel := context.WithTimeout(context.Background(), time.Nanosecond)
	defer dcancel()
	<-dctx.Done()
	m := newMock(t)
	_, err := m.c.Do(dctx, req(Read))
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Contains(t, err.Error(), "test op")
}

func TestClosedClientSendsNothing(t *testing.T) {
	m := newMock(t)
	m.respond(200)
	require.NoError(t, m.c.Close())
	require.NoError(t, m.c.Close(), "twice is fine")
	_, err := m.c.Do(context.Background(), req(Read))
	assert.ErrorIs(t, err, ErrClosed)
	assert.ErrorIs(t, err, payments.ErrUnavailable)
	assert.NotErrorIs(t, err, payments.ErrOutcomeUnknown)
	assert.Zero(t, m.mock.GetTotalCallCount())
}

func TestRetryAfterBeyondTheCapIsCappedNotIgnored(t *testing.T) {
	for _, ra := range []string{"999999", "86401", time.Now().Add(48 * time.Hour).UTC().Format(http.TimeFormat)} {
		m := newMock(t)
		i := 0
		m.mock.RegisterResponder("POST", "https://api.example.test/api", func(r *http.Request) (*http.Response, error) {
			i++
			if i == 1 {
				resp := httpmock.NewStringResponse(429, "slow down")
				resp.Header.Set("Retry-After", ra)
				return resp, nil
			}
			return httpmock.NewStringResponse(200, "ok"), nil
		})
		_, err := m.c.Do(context.Background(), req(Read))
		require.NoError(t, err)
		assert.Equal(t, []time.Duration{time.Second}, m.sleeps, "Retry-After %q: waits MaxDelay", ra)
	}
}

// A server (or proxy) that echoes the request into its error page must not
// put the client's secrets into the error.
func TestEchoedSecretsAreScrubbed(t *testing.T) {
	const password = "hunter2-Pa$$&<word>"
	mock := httpmock.NewMockTransport()
	c, err := New(Config{Provider: "test", DefaultBaseURL: "https://api.example.test/api",
		Auth: BasicAuth("user", password), Secrets: []string{"body-secret-42"}},
		payments.WithTransport(mock), payments.WithTestTiming())
	require.NoError(t, err)
	c.AddSecret("runtime-token-777")
	for _, st := range []int{400, 403, 500} {
		mock.RegisterResponder("POST", "https://api.example.test/api", func(r *http.Request) (*http.Response, error) {
			b, _ := io.ReadAll(r.Body)
			// echo everything: the header, the body, the password in its
			// escaped forms, and a long tail so the snippet cuts a secret
			echo := fmt.Sprintf("Authorization: %s body=%s pw=%s xml=%s json=%q runtime-token-777 %s%s",
				r.Header.Get("Authorization"), b, password, "hunter2-Pa$$&amp;&lt;word&gt;", password,
				strings.Repeat("x", 170), "body-secret-42")
			return httpmock.NewStringResponse(st, echo), nil
		})
		_, err := c.Do(context.Background(), &Request{Op: "op", Kind: UnsafeWrite, Method: "POST",
			ContentType: "text/plain", Body: []byte("password=" + password + " body-secret-42")})
		require.Error(t, err)
		msg := fmt.Sprintf("%v %+v %#v %s", err, err, err, err)
		for _, secret := range []string{"hunter2", "aHVudGVy", "dXNlcjpodW50ZXIy", "runtime-token", "body-secret", "body-sec"} {
			assert.NotContains(t, msg, secret, "status %d", st)
		}
		assert.Contains(t, msg, "[REDACTED]", "status %d", st)
	}
}

func TestAuthFormatsRedactedForEveryVerb(t *testing.T) {
	a := BasicAuth("user", "hunter2")
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%d", "%x", "%q", "%T %v"} {
		out := fmt.Sprintf(verb, a)
		assert.NotContains(t, out, "hunter2", verb)
		assert.NotContains(t, out, "dXNlcjpodW50ZXIy", verb)
	}
}

// A stream is bounded by the timeout only while it stalls: a download that
// keeps sending bytes runs longer than one timeout.
func TestStreamIdleTimeout(t *testing.T) {
	if testing.Short() {
		t.Skip("takes a second")
	}
	// A pipe as the body, closed when the request's context ends, as a
	// real connection would be.
	stream := func(pr *io.PipeReader) httpmock.Responder {
		return func(r *http.Request) (*http.Response, error) {
			go func() { <-r.Context().Done(); pr.CloseWithError(r.Context().Err()) }()
			return &http.Response{StatusCode: 200, Body: pr, Header: http.Header{}, Request: r}, nil
		}
	}
	pr, pw := io.Pipe()
	mock := httpmock.NewMockTransport()
	mock.RegisterResponder("GET", "https://api.example.test/api", stream(pr))
	c, err := New(Config{Provider: "test", DefaultBaseURL: "https://api.example.test/api"},
		payments.WithTransport(mock), payments.WithTestTiming(), payments.WithTimeout(150*time.Millisecond))
	require.NoError(t, err)
	go func() {
		for i := 0; i < 10; i++ { // 10 × 50 ms: three timeouts long, never idle for one
			time.Sleep(50 * time.Millisecond)
			if _, err := pw.Write([]byte("chunk\n")); err != nil {
				return
			}
		}
		pw.Close()
	}()
	var sink bytes.Buffer
	_, err = c.Do(context.Background(), &Request{Op: "export", Kind: Read, Method: "GET", Sink: &sink})
	require.NoError(t, err)
	assert.Equal(t, strings.Repeat("chunk\n", 10), sink.String())

	pr2, pw2 := io.Pipe()
	defer pw2.Close()
	mock.RegisterResponder("GET", "https://api.example.test/api", stream(pr2))
	go pw2.Write([]byte("first bytes then silence"))
	_, err = c.Do(context.Background(), &Request{Op: "export", Kind: Read, Method: "GET", Sink: &sink})
	require.Error(t, err)
	assert.ErrorIs(t, err, errStalled)
}

// A write answered with a status outside the table (a redirect, 501, a
// CDN's 520) may have been carried out: outcome-unknown, sent once. A 4xx is
// a refusal.
func TestUnlistedStatusesAfterAWriteAreOutcomeUnknown(t *testing.T) {
	for _, st := range []int{301, 302, 303, 501, 505, 520} {
		for _, kind := range []Kind{UnsafeWrite, IdempotentWrite} {
			m := newMock(t)
			m.respond(st, 200)
			_, err := m.c.Do(context.Background(), req(kind))
			assert.ErrorIs(t, err, payments.ErrOutcomeUnknown, "%d kind %d", st, kind)
			assert.Equal(t, 1, m.mock.GetTotalCallCount(), "%d: sent once", st)
		}
		m := newMock(t)
		m.respond(st, 200)
		_, err := m.c.Do(context.Background(), req(Read))
		assert.Error(t, err)
		assert.NotErrorIs(t, err, payments.ErrOutcomeUnknown, "%d: a read has no outcome", st)
	}
	m := newMock(t)
	m.respond(422)
	_, err := m.c.Do(context.Background(), req(UnsafeWrite))
	assert.ErrorIs(t, err, payments.ErrInvalidRequest)
	assert.NotErrorIs(t, err, payments.ErrOutcomeUnknown)
}

// A download cut within its first 4 KiB is an error, not a short file.
func TestStreamCutInItsHeadIsAnError(t *testing.T) {
	mock := httpmock.NewMockTransport()
	mock.RegisterResponder("GET", "https://api.example.test/api", func(r *http.Request) (*http.Response, error) {
		return &http.Response{StatusCode: 200, Header: http.Header{}, Request: r,
			Body: io.NopCloser(io.MultiReader(strings.NewReader("PK\x03\x04 partial"), errReader{io.ErrUnexpectedEOF}))}, nil
	})
	c, err := New(Config{Provider: "test", DefaultBaseURL: "https://api.example.test/api"},
		payments.WithTransport(mock), payments.WithTestTiming())
	require.NoError(t, err)
	var sink bytes.Buffer
	_, err = c.Do(context.Background(), &Request{Op: "export", Kind: Read, Method: "GET", Sink: &sink})
	assert.ErrorIs(t, err, io.ErrUnexpectedEOF)
	assert.Zero(t, sink.Len(), "nothing of a cut head reaches the sink")

	mock.RegisterResponder("GET", "https://api.example.test/api", httpmock.NewStringResponder(200, "short but whole"))
	_, err = c.Do(context.Background(), &Request{Op: "export", Kind: Read, Method: "GET", Sink: &sink})
	require.NoError(t, err)
	assert.Equal(t, "short but whole", sink.String())
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

// A resend refused with a 4xx does not undo the first attempt, which may
// have landed: the call is outcome-unknown.
func TestRefusalAfterAPossibleDeliveryIsOutcomeUnknown(t *testing.T) {
	m := newMock(t)
	m.respond(500, 403)
	_, err := m.c.Do(context.Background(), req(IdempotentWrite))
	assert.ErrorIs(t, err, payments.ErrOutcomeUnknown)
	assert.ErrorIs(t, err, payments.ErrForbidden, "the refusal is kept")
	assert.Equal(t, 2, m.mock.GetTotalCallCount())

	m = newMock(t)
	m.respond(403)
	_, err = m.c.Do(context.Background(), req(IdempotentWrite))
	assert.NotErrorIs(t, err, payments.ErrOutcomeUnknown, "a first refusal is just that")
}

func TestClientFormatsWithoutSecrets(t *testing.T) {
	m := newMock(t)
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%d", "%x", "%q"} {
		out := fmt.Sprintf(verb, m.c)
		assert.NotContains(t, out, "dTpw", verb) // base64 of u:p
		assert.Contains(t, out, "api.example.test", verb)
	}
}
