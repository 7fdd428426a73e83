// Package fakeserver is the plumbing shared by the provider fakes
// (popolnitest, royalpaytest, qiwitopuptest, paykeepertest): a TLS listener
// on 127.0.0.1 with a certificate from a fresh [testca.CA] for the provider's
// real host names, HTTP/1.1 only (so faults can hijack the connection), an
// *http.Client that dials those host names to the fake, the accounting of
// running handlers that lets Close wait for them, and small helpers for the
// fault queues (drop, delay), and the request log ([Log]) through which every
// fake records and counts requests by operation name.
//
// It holds no provider logic: each fake keeps its own state, routes, answers
// and exported API, and holds a [*Base] for the rest.
package fakeserver

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/internal/testca"
)

// Reporter is the part of testing.TB a fake uses to fail the test it is tied
// to (its WithT option); a fake without one holds nil.
type Reporter interface {
	Helper()
	Errorf(format string, args ...any)
}

// Config describes the server [New] makes.
type Config struct {
	// Name prefixes panics and errors, e.g. "popolnitest".
	Name string
	// Hosts are the provider's host names, in the order ClientOptions pins
	// them. The certificate is issued for them (and for localhost and
	// 127.0.0.1); the clients dial only them.
	Hosts []string
	// TLS, when not nil, adjusts the server's tls.Config (certificate,
	// TLS 1.2 minimum, "http/1.1" only) before it is used, for example to
	// ask for client certificates.
	TLS func(*tls.Config)
	// Listen, when not nil, makes the listener to serve from the plain TCP
	// listener on 127.0.0.1 and the TLS configuration; by default it is
	// tls.NewListener.
	Listen func(inner net.Listener, conf *tls.Config) net.Listener
	// Addr is the TCP address to listen on, "host:port"; "" means
	// "127.0.0.1:0", a random port on the loopback interface. The
	// certificate covers only 127.0.0.1, localhost and Hosts, so a client
	// reaching another address must pin one of them to it.
	Addr string
}

// Base is the running part a fake embeds: the listener, the certificate, the
// client and the in-flight handler accounting. Make one with [New], start it
// with [Base.Serve] and [Base.Close] it when done. All methods are safe for
// concurrent use.
type Base struct {
	name   string
	hosts  []string
	ca     *testca.CA
	caPEM  []byte
	addr   string
	port   int
	ln     net.Listener
	srv    *http.Server
	client *http.Client

	closeOnce sync.Once
	done      chan struct{}

	control atomic.Pointer[http.Handler] // SetControl's; nil: none

	hmu    sync.Mutex // guards the handler count below
	hcond  *sync.Cond
	active int
	closed bool
}

// New makes a fresh test CA and a server certificate for cfg.Hosts, and
// listens on cfg.Addr (by default 127.0.0.1 with a random port); it does not
// serve yet (see [Base.Serve]), so the fake can finish its own set-up first.
// Like httptest.NewServer it panics only if the CA or the listener cannot be
// made (an address in use, say); the panic value is then a *[ListenError].
func New(cfg Config) *Base {
	ca, err := testca.New()
	if err != nil {
		panic(fmt.Sprintf("%s: %v", cfg.Name, err))
	}
	cert, err := ca.ServerCert(append(append([]string(nil), cfg.Hosts...), "localhost", "127.0.0.1")...)
	if err != nil {
		panic(fmt.Sprintf("%s: %v", cfg.Name, err))
	}
	addr := cfg.Addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	inner, err := net.Listen("tcp", addr)
	if err != nil {
		panic(&ListenError{Name: cfg.Name, Addr: addr, Err: err})
	}

	b := &Base{
		name:  cfg.Name,
		hosts: append([]string(nil), cfg.Hosts...),
		ca:    ca,
		caPEM: ca.CertPEM(),
		addr:  inner.Addr().String(),
		port:  inner.Addr().(*net.TCPAddr).Port,
		done:  make(chan struct{}),
	}
	b.hcond = sync.NewCond(&b.hmu)

	tlsConf := &tls.Config{
		Certificates: []tls.Certificate{cert},
		MinVersion:   tls.VersionTLS12,
		NextProtos:   []string{"http/1.1"},
	}
	if cfg.TLS != nil {
		cfg.TLS(tlsConf)
	}
	if cfg.Listen != nil {
		b.ln = cfg.Listen(inner, tlsConf)
	} else {
		b.ln = tls.NewListener(inner, tlsConf)
	}
	b.client = b.NewClient(nil, nil)
	return b
}

// Serve starts serving h in the background. Every call of h is counted as
// running until it returns; once [Base.Close] has begun, requests get a bare
// 503 with "Connection: close" instead of reaching h. Requests under
// [ControlPrefix] go to the handler of [Base.SetControl] instead of h, so
// the fake never records or counts them. Call Serve once.
func (b *Base) Serve(h http.Handler) {
	b.srv = &http.Server{
		Handler:           b.wrap(h),
		ReadHeaderTimeout: 30 * time.Second,
		// HTTP/1.1 only: dropping a connection needs http.Hijacker.
		TLSNextProto: map[string]func(*http.Server, *tls.Conn, http.Handler){},
		// Handshake failures (a client that distrusts the CA, a client
		// certificate from another CA) are expected in tests.
		ErrorLog: log.New(io.Discard, "", 0),
	}
	go b.srv.Serve(b.ln) //nolint:errcheck // returns ErrServerClosed on Close
}

func (b *Base) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !b.enter() {
			w.Header().Set("Connection", "close")
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		defer b.leave()
		if isControl(r.URL.Path) {
			b.serveControl(w, r)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// ListenError is the panic value of [New] when the listener cannot be made.
type ListenError struct {
	Name string // the fake's Config.Name
	Addr string // the address asked for
	Err  error
}

func (e *ListenError) Error() string {
	return fmt.Sprintf("%s: listen on %s: %v", e.Name, e.Addr, e.Err)
}

func (e *ListenError) Unwrap() error { return e.Err }

// Close shuts the server down: it stops listening, closes every connection,
// interrupts [Base.Wait], waits for running handlers to return and closes the
// idle connections of [Base.Client]. It may be called more than once.
func (b *Base) Close() {
	b.closeOnce.Do(func() {
		close(b.done)
		if b.srv != nil {
			_ = b.srv.Close()
		} else {
			_ = b.ln.Close()
		}
		b.hmu.Lock()
		b.closed = true
		for b.active > 0 {
			b.hcond.Wait()
		}
		b.hmu.Unlock()
		b.client.CloseIdleConnections()
	})
}

// enter registers a running handler; it reports false once Close has begun.
func (b *Base) enter() bool {
	b.hmu.Lock()
	defer b.hmu.Unlock()
	if b.closed {
		return false
	}
	b.active++
	return true
}

func (b *Base) leave() {
	b.hmu.Lock()
	b.active--
	if b.active == 0 {
		b.hcond.Broadcast()
	}
	b.hmu.Unlock()
}

// Done returns a channel closed when [Base.Close] begins.
func (b *Base) Done() <-chan struct{} { return b.done }

// Addr returns the listening address, "127.0.0.1:<port>" by default.
func (b *Base) Addr() string { return b.addr }

// Port returns the listening port.
func (b *Base) Port() int { return b.port }

// CA returns the test CA that issued the server certificate.
func (b *Base) CA() *testca.CA { return b.ca }

// CACertPEM returns a copy of the PEM of [Base.CA], for the client's trusted
// roots.
func (b *Base) CACertPEM() []byte { return append([]byte(nil), b.caPEM...) }

// URL returns "https://<host>:<port><path>": the host is the real one, which
// the client must resolve to [Base.Addr].
func (b *Base) URL(host, path string) string {
	return "https://" + host + ":" + strconv.Itoa(b.port) + path
}

// Client returns the *http.Client made by NewClient(nil, nil). The same
// client is returned each time; Close closes its idle connections.
func (b *Base) Client() *http.Client { return b.client }

// NewClient returns a new *http.Client that trusts [Base.CA] and connects to
// [Base.Addr] whenever it dials one of the configured host names on any port,
// refusing any other host. It binds to the source address local when that is
// not nil and presents certs in the handshake.
func (b *Base) NewClient(local net.Addr, certs []tls.Certificate) *http.Client {
	d := &net.Dialer{Timeout: 10 * time.Second, LocalAddr: local}
	return &http.Client{
		Timeout: 60 * time.Second,
		Transport: &http.Transport{
			TLSClientConfig: &tls.Config{RootCAs: b.ca.Pool(), MinVersion: tls.VersionTLS12, Certificates: certs},
			DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
				host, _, err := net.SplitHostPort(addr)
				if err != nil {
					return nil, err
				}
				if !b.isHost(host) {
					return nil, fmt.Errorf("%s: client dials only %s, not %s", b.name, strings.Join(b.hosts, " and "), host)
				}
				return d.DialContext(ctx, "tcp4", b.addr)
			},
			MaxIdleConnsPerHost: 16,
			IdleConnTimeout:     30 * time.Second,
		},
	}
}

func (b *Base) isHost(host string) bool {
	for _, h := range b.hosts {
		if strings.EqualFold(host, h) {
			return true
		}
	}
	return false
}

// ClientOptions returns the SDK options that point a client at the server
// with certificate verification intact: baseURL, every configured host name
// pinned to the server's loopback address, and [Base.CA] added to the roots.
func (b *Base) ClientOptions(baseURL string) []payments.Option {
	ip, _, _ := net.SplitHostPort(b.addr)
	opts := []payments.Option{payments.WithBaseURL(baseURL)}
	for _, h := range b.hosts {
		opts = append(opts, payments.WithResolve(h, ip))
	}
	return append(opts, payments.WithRootCAsPEM(b.CACertPEM()))
}

// Wait sleeps d; it reports false if ctx (the request's context: the client
// went away) ends or the server is closing first.
func (b *Base) Wait(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	case <-b.done:
		return false
	}
}

// Drop closes the connection under the request without a byte of answer. A
// TLS connection's socket is closed directly, without close_notify, as when a
// connection dies.
func (b *Base) Drop(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(b.name + ": ResponseWriter is not a Hijacker (HTTP/2?)")
	}
	c, _, err := hj.Hijack()
	if err != nil {
		return
	}
	if tc, ok := c.(*tls.Conn); ok {
		_ = tc.NetConn().Close()
		return
	}
	_ = c.Close()
}
