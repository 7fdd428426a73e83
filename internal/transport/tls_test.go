package transport

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/internal/testca"
)

const host = "popolni.club"

// tlsServer is an HTTPS server on loopback with a certificate for the real
// host name, issued by a fresh test CA.
type tlsServer struct {
	*httptest.Server
	ca      *testca.CA
	hits    atomic.Int32
	release chan struct{} // closed at cleanup: hanging handlers return
	mu      sync.Mutex
	peer    []string
}

func newTLSServer(t *testing.T, h func(s *tlsServer, w http.ResponseWriter, r *http.Request)) *tlsServer {
	t.Helper()
	ca, err := testca.New()
	require.NoError(t, err)
	cert, err := ca.ServerCert(host)
	require.NoError(t, err)
	s := &tlsServer{ca: ca, release: make(chan struct{})}
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.hits.Add(1)
		s.mu.Lock()
		s.peer = append(s.peer, r.RemoteAddr)
		s.mu.Unlock()
		h(s, w, r)
	}))
	s.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	s.StartTLS()
	t.Cleanup(s.Close)
	t.Cleanup(func() { close(s.release) }) // runs first: lets Close finish
	return s
}

func (s *tlsServer) port() string { _, p, _ := net.SplitHostPort(s.Listener.Addr().String()); return p }

func (s *tlsServer) client(t *testing.T, extra ...payments.Option) *Client {
	t.Helper()
	opts := append([]payments.Option{
		payments.WithBaseURL("https://" + host + ":" + s.port() + "/api"),
		payments.WithResolve(host, "127.0.0.1"),
		payments.WithRootCAsPEM(s.ca.CertPEM()),
		payments.WithLimiter(payments.Unlimited()),
		payments.WithRetry(payments.RetryPolicy{MaxAttempts: 3, BaseDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond}),
	}, extra...)
	c, err := New(Config{Provider: "test", DefaultBaseURL: "https://" + host + "/api", Auth: BasicAuth("login", "hunter2-password")}, opts...)
	require.NoError(t, err)
	return c
}

// dropAfterProcessing reads the whole request (the server has acted on it)
// and closes the connection without answering.
func dropAfterProcessing(_ *tlsServer, w http.ResponseWriter, r *http.Request) {
	_, _ = bytes.NewBuffer(nil).ReadFrom(r.Body)
	conn, _, err := w.(http.Hijacker).Hijack()
	if err == nil {
		_ = conn.Close()
	}
}

// hang reads the request and never answers (until the client leaves). A
// GET answers at once: tests warm the connection with one, so the write of
// the request under test cannot be delayed past its deadline by a handshake
// on a loaded machine.
func hang(s *tlsServer, w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodGet {
		_, _ = w.Write([]byte("warm"))
		return
	}
	_, _ = bytes.NewBuffer(nil).ReadFrom(r.Body)
	<-s.release // only the test's end: never an answer the client could take for success
	w.WriteHeader(http.StatusServiceUnavailable)
}

func warm(t *testing.T, c *Client) {
	t.Helper()
	_, err := c.Do(context.Background(), &Request{Op: "warm", Kind: Read, Method: http.MethodGet})
	require.NoError(t, err)
}

func TestUnsafeWriteDroppedMidFlightIsSentOnceAndUnknown(t *testing.T) {
	s := newTLSServer(t, dropAfterProcessing)
	c := s.client(t)
	_, err := c.Do(context.Background(), req(UnsafeWrite))
	require.Error(t, err)
	assert.ErrorIs(t, err, payments.ErrOutcomeUnknown)
	var te *payments.TransportError
	require.ErrorAs(t, err, &te)
	assert.True(t, te.Written)
	assert.EqualValues(t, 1, s.hits.Load(), "never resent")
}

func TestIdempotentWriteDroppedMidFlightIsResentAndMarked(t *testing.T) {
	s := newTLSServer(t, func(s *tlsServer, w http.ResponseWriter, r *http.Request) {
		if s.hits.Load() == 1 {
			dropAfterProcessing(s, w, r)
			return
		}
		_, _ = w.Write([]byte("ok"))
	})
	resp, err := s.client(t).Do(context.Background(), req(IdempotentWrite))
	require.NoError(t, err)
	assert.True(t, resp.Resent)
	assert.Equal(t, 2, resp.Attempts)
	assert.EqualValues(t, 2, s.hits.Load())
}

func TestReadDroppedIsRetriedAndGivingUpIsNotUnknown(t *testing.T) {
	s := newTLSServer(t, dropAfterProcessing)
	_, err := s.client(t).Do(context.Background(), req(Read))
	assert.ErrorIs(t, err, payments.ErrUnavailable)
	assert.NotErrorIs(t, err, payments.ErrOutcomeUnknown)
	assert.EqualValues(t, 3, s.hits.Load())
}

func TestUnsafeWriteTimingOutAfterSendIsUnknown(t *testing.T) {
	s := newTLSServer(t, hang)
	c := s.client(t, payments.WithTimeout(300*time.Millisecond))
	warm(t, c)
	_, err := c.Do(context.Background(), req(UnsafeWrite))
	assert.ErrorIs(t, err, payments.ErrOutcomeUnknown)
	assert.EqualValues(t, 2, s.hits.Load(), "the warm-up and one write")
}

func TestCallerCancelAfterSendIsUnknownForWrites(t *testing.T) {
	s := newTLSServer(t, hang)
	c := s.client(t)
	warm(t, c)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err := c.Do(ctx, req(IdempotentWrite))
	assert.ErrorIs(t, err, payments.ErrOutcomeUnknown)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.EqualValues(t, 2, s.hits.Load(), "the caller's deadline is never retried")
}

func TestDialFailureIsRetriedForUnsafeWrite(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	require.NoError(t, ln.Close()) // nothing listens there now
	lim := &countingLimiter{}
	c, err := New(Config{Provider: "test", DefaultBaseURL: "https://" + host + ":" + port + "/api"},
		payments.WithResolve(host, "127.0.0.1"), payments.WithLimiter(lim),
		payments.WithRetry(payments.RetryPolicy{MaxAttempts: 3, BaseDelay: time.Millisecond, MaxDelay: time.Millisecond}))
	require.NoError(t, err)
	_, err = c.Do(context.Background(), req(UnsafeWrite))
	assert.NotErrorIs(t, err, payments.ErrOutcomeUnknown, "nothing was written")
	var te *payments.TransportError
	require.ErrorAs(t, err, &te)
	assert.False(t, te.Written)
	assert.Equal(t, 3, lim.count(), "every retry took a token")
}

func TestUnknownCAIsRefusedAndNotRetried(t *testing.T) {
	s := newTLSServer(t, func(_ *tlsServer, w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("ok")) })
	other, err := testca.New()
	require.NoError(t, err)
	lim := &countingLimiter{}
	c, err := New(Config{Provider: "test", DefaultBaseURL: "https://" + host + ":" + s.port() + "/api"},
		payments.WithResolve(host, "127.0.0.1"), payments.WithRootCAsPEM(other.CertPEM()), payments.WithLimiter(lim))
	require.NoError(t, err)
	_, err = c.Do(context.Background(), req(Read))
	require.Error(t, err)
	var verr *tls.CertificateVerificationError
	assert.True(t, errors.As(err, &verr), "a certificate verification error: %v", err)
	assert.Zero(t, s.hits.Load(), "no request reached the server")
	assert.Equal(t, 1, lim.count(), "not retried")
}

func TestWrongHostNameIsRefused(t *testing.T) {
	s := newTLSServer(t, func(_ *tlsServer, w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("ok")) })
	c, err := New(Config{Provider: "test", DefaultBaseURL: "https://api.qiwi.com:" + s.port() + "/api"},
		payments.WithResolve("api.qiwi.com", "127.0.0.1"), payments.WithRootCAsPEM(s.ca.CertPEM()), payments.WithLimiter(payments.Unlimited()))
	require.NoError(t, err)
	_, err = c.Do(context.Background(), req(Read))
	require.Error(t, err)
	assert.Zero(t, s.hits.Load(), "the static resolve does not bypass the host name check")
}

func TestSourceAddressIsTheOneAskedFor(t *testing.T) {
	s := newTLSServer(t, func(_ *tlsServer, w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("ok")) })
	_, err := s.client(t, payments.WithLocalAddr("127.0.0.2")).Do(context.Background(), req(Read))
	require.NoError(t, err)
	h, _, err := net.SplitHostPort(s.peer[0])
	require.NoError(t, err)
	assert.Equal(t, "127.0.0.2", h)
}

func TestRedirectIsNotFollowed(t *testing.T) {
	s := newTLSServer(t, func(_ *tlsServer, w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/elsewhere", http.StatusFound)
	})
	_, err := s.client(t).Do(context.Background(), req(UnsafeWrite))
	var api *payments.APIError
	require.ErrorAs(t, err, &api)
	assert.Equal(t, http.StatusFound, api.HTTPStatus)
	assert.EqualValues(t, 1, s.hits.Load())
}

func TestNoCookieJar(t *testing.T) {
	var sawCookie atomic.Bool
	s := newTLSServer(t, func(_ *tlsServer, w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Cookie") != "" {
			sawCookie.Store(true)
		}
		http.SetCookie(w, &http.Cookie{Name: "session", Value: "abc"})
		_, _ = w.Write([]byte("ok"))
	})
	c := s.client(t)
	for i := 0; i < 2; i++ {
		_, err := c.Do(context.Background(), req(Read))
		require.NoError(t, err)
	}
	assert.False(t, sawCookie.Load())
}

func TestLogsCarryMetadataNotSecrets(t *testing.T) {
	s := newTLSServer(t, func(s *tlsServer, w http.ResponseWriter, r *http.Request) {
		if s.hits.Load() == 1 {
			w.WriteHeader(503)
			return
		}
		_, _ = w.Write([]byte(`{"card":"4111111111111111"}`))
	})
	var logs bytes.Buffer
	c := s.client(t, payments.WithLogger(slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))))
	r := req(Read)
	r.Body = []byte(`{"card":"4111111111111111","password":"hunter2-password"}`)
	_, err := c.Do(context.Background(), r)
	require.NoError(t, err)
	out := logs.String()
	assert.Contains(t, out, "op=op")
	assert.Contains(t, out, "status=503")
	assert.Contains(t, out, "attempt=2")
	for _, secret := range []string{"hunter2", "Basic", "bG9naW4", "4111111111111111", "Authorization"} {
		assert.NotContains(t, out, secret)
	}
}
