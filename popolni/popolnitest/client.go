package popolnitest

import (
	"bufio"
	"context"
	"crypto/subtle"
	"crypto/tls"
	"errors"
	"fmt"
	"mime"
	"net"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/internal/fakeserver"
)

// Host is the provider's host name: the server's certificate is issued for it,
// and clients send it as the TLS server name, pinning it to [Server.Addr].
const Host = "popolni.club"

// Defaults of a [Server] made without options.
const (
	DefaultLogin       = "partner"
	DefaultPassword    = "s3cret-password"
	DefaultBalance     = 1_000_000 // kopecks
	DefaultCreditLimit = 0         // kopecks
	DefaultRateLimit   = 5         // requests per second, the document's limit
)

// maxBody caps the request body the server reads; a larger body is refused
// with 403 "Incorrect data format".
const maxBody = 1 << 20

// Server is a running fake popolni.club API. Make one with [NewServer] and
// [Server.Close] it when done. All methods are safe for concurrent use,
// including while requests are being served.
type Server struct {
	// Fake serves the route table and holds the fault switches and the
	// request log every fake shares.
	*fakeserver.Fake[Request]
	// Sources is the source-address allowlist: SetAllowedIPs.
	fakeserver.Sources
	base *fakeserver.Base

	mu           sync.Mutex  // guards config's state and everything below
	config                   // the options, then the state they set
	reserved     int64       // sum of amounts of payments in status 0 or 2
	admitted     []time.Time // admitted within the last second
	excessUsed   []time.Time // admitted over the rate within the last 10 minutes
	payments     map[int64]*payment
	order        []int64
	failAccounts map[string]int
	blacklist    map[string]bool
	notFoundOnce map[int64]int
}

// NewServer starts a fake popolni.club API on 127.0.0.1 with a random port,
// serving TLS with a certificate for [Host] from a fresh test CA. Like
// httptest.NewServer it panics only if the CA or the listener cannot be made.
func NewServer(opts ...Option) *Server {
	cfg := fakeserver.Configure(config{
		login:      DefaultLogin,
		password:   DefaultPassword,
		current:    DefaultBalance,
		credit:     DefaultCreditLimit,
		rateLimit:  DefaultRateLimit,
		steps:      1,
		apiEnabled: true,
		inSchedule: true,
		now:        time.Now,
	}, opts)
	s := &Server{
		base: fakeserver.New(fakeserver.Config{
			Name:  "popolnitest",
			Hosts: []string{Host},
			// Plain HTTP on the same port is answered 403, as popolni.club does.
			Listen: newSniffListener,
			Addr:   cfg.addr,
		}),
		config:       cfg,
		payments:     map[int64]*payment{},
		failAccounts: map[string]int{},
		blacklist:    map[string]bool{},
		notFoundOnce: map[int64]int{},
	}
	err := s.SetAllowedIPs(s.allowedIPs...)
	s.Fake = fakeserver.Start(s.base, s.spec(s.t))
	s.base.SetControl(fakeserver.ControlHandler("popolnitest", s.controlOps()))
	if s.t != nil {
		s.t.Cleanup(s.Close)
		if err != nil {
			s.t.Helper()
			s.t.Errorf("popolnitest: WithAllowedIPs: %v", err)
		}
	}
	return s
}

// config is what the options set: allowedIPs, t and the clock now, fixed at
// NewServer, and the server's starting state, guarded by Server.mu.
type config struct {
	login, password        string
	allowedIPs             []string
	current, credit        int64
	rateLimit              int
	rateExcess             int
	steps                  int
	maxAmount              int64
	notFoundFirst          bool
	apiEnabled, inSchedule bool
	t                      testing.TB
	now                    func() time.Time
	addr                   string
	latency                time.Duration
}

// Option configures a [Server] made by [NewServer].
type Option func(*config)

// WithCredentials sets the Basic-auth login and password the server accepts
// (default [DefaultLogin] / [DefaultPassword]). [Server.SetCredentials] changes
// them later, as a partner regenerating the password in the web cabinet.
func WithCredentials(login, password string) Option {
	return func(c *config) { c.login, c.password = login, password }
}

// WithAllowedIPs sets the source-address allowlist as SetAllowedIPs does
// later: IP addresses or CIDR prefixes ("127.0.0.0/8"); none (the default)
// allows every address. An entry that does not parse never matches (and is
// reported through [WithT]), so a typo fails closed with 403 "IP is not allowed".
func WithAllowedIPs(ips ...string) Option {
	return func(c *config) { c.allowedIPs = append([]string(nil), ips...) }
}

// WithBalance sets the starting balance and credit limit in kopecks (default
// [DefaultBalance] / [DefaultCreditLimit]). A payment is refused with 101 when
// its amount exceeds current + creditLimit minus what pending payments reserve.
func WithBalance(current, creditLimit int64) Option {
	return func(c *config) { c.current, c.credit = current, creditLimit }
}

// WithRateLimit sets how many requests the server admits in any sliding
// one-second window (default [DefaultRateLimit], the document's limit); the
// next one is answered 503. Zero or less disables the limit.
func WithRateLimit(perSecond int) Option {
	return func(c *config) { c.rateLimit = perSecond }
}

// WithRateLimitExcess tolerates up to n requests over the per-second limit
// within any trailing ten minutes before answering 503. The default is 0, a
// strict limit, because a client must not count on the tolerance;
// WithRateLimitExcess(11) models the document literally.
func WithRateLimitExcess(n int) Option {
	return func(c *config) { c.rateExcess = n }
}

// WithStepsPerPoll sets how far each status query that includes a payment
// moves it along 0 → 2 → final (default 1: the first query answers 2, the
// second the final status). A value of 2 or more makes the first query answer
// the final status. Zero or less freezes payments: they move only through
// [Server.Complete] and [Server.SetStatus].
func WithStepsPerPoll(n int) Option {
	return func(c *config) { c.steps = n }
}

// WithMaxAmount sets the largest amount in kopecks accepted for one payment;
// above it the item gets 208 (the document: the maximum is set per account by
// the manager). Zero or less (the default) means no maximum.
func WithMaxAmount(kopecks int64) Option {
	return func(c *config) { c.maxAmount = kopecks }
}

// WithNotFoundFirst makes the first status query that includes a payment
// answer 125 ("Платёж не найден") for it without moving it, for every payment:
// the document's transient 125 of a payment "в момент перехода платежа из
// одной очереди (ожидания) в другую". The following queries answer the truth
// (a payment in 423 then goes on 423, 125, 423...), so only a client that
// re-asks a 125, as the document says, is not fooled. Off by default;
// [Server.SetNotFoundFirst] switches it later.
func WithNotFoundFirst() Option {
	return func(c *config) { c.notFoundFirst = true }
}

// WithT ties the server to a test: a request to a route popolni.club does not
// have, and an invalid [WithAllowedIPs] entry, fail the test with t.Errorf, and
// the server is closed by t.Cleanup.
func WithT(t testing.TB) Option {
	return func(c *config) { c.t = t }
}

// WithAddr makes the server listen on addr, "host:port", instead of
// 127.0.0.1 with a random port (a port of 0 still picks one). The
// certificate covers 127.0.0.1 and localhost besides [Host]. NewServer
// panics with a *fakeserver.ListenError when it cannot listen there.
func WithAddr(addr string) Option {
	return func(c *config) { c.addr = addr }
}

// WithLatency makes the server take d over every answer, as popolni.club's
// own processing and a distant network do: a request is counted against the
// rate limit and carried out when it arrives, and its answer leaves d later
// (sooner if the client goes away). [Server.SetLatency] changes it later.
func WithLatency(d time.Duration) Option {
	return func(c *config) { c.latency = d }
}

// SetLatency sets the time every later answer takes (see [WithLatency]).
func (s *Server) SetLatency(d time.Duration) { s.locked(func() { s.latency = d }) }

// withClock replaces time.Now for the rate limiter and request timestamps, so
// tests of the limit do not depend on the machine's speed.
func withClock(now func() time.Time) Option {
	return func(c *config) { c.now = now }
}

// URL returns the API URL, "https://popolni.club:<port>/api". The host is the
// real one: the client must resolve it to [Server.Addr].
func (s *Server) URL() string { return s.base.URL(Host, "/api") }

// ClientOptions returns the options that point an SDK client at this server
// with certificate verification intact: the base URL, popolni.club pinned to
// the server's loopback address, and the server's test CA added to the roots.
// Add payments.WithTestTiming to drop the client's limiter and backoff; leave
// it out to test pacing against the fake's rate limit.
func (s *Server) ClientOptions() []payments.Option {
	return s.base.ClientOptions(s.URL())
}

// newClient builds a client like Client's, bound to the source address local
// when it is not nil.
func (s *Server) newClient(local net.Addr) *http.Client { return s.base.NewClient(local, nil) }

// locked runs fn under the state lock.
func (s *Server) locked(fn func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fn()
}

// Login returns the Basic-auth login the server accepts.
func (s *Server) Login() (login string) {
	s.locked(func() { login = s.login })
	return login
}

// Password returns the Basic-auth password the server accepts.
func (s *Server) Password() (password string) {
	s.locked(func() { password = s.password })
	return password
}

// SetCredentials replaces the accepted login and password; requests with the
// old ones get 403 "Incorrect auth data".
func (s *Server) SetCredentials(login, password string) {
	s.locked(func() { s.login, s.password = login, password })
}

// SetAPIEnabled switches the API on or off, as the partner can in the web
// cabinet. While off, authenticated requests from allowed addresses get 403
// "API disabled".
func (s *Server) SetAPIEnabled(on bool) { s.locked(func() { s.apiEnabled = on }) }

// SetInSchedule says whether "now" falls inside the partner's API schedule.
// While false, requests that pass the other checks get 403 "Request rejected
// entered unscheduled".
func (s *Server) SetInSchedule(in bool) { s.locked(func() { s.inSchedule = in }) }

// spec is the fake's route table: POST /api (a payment batch or a status
// query, told apart by the body) and GET /api?balance=, either path with a
// trailing slash.
func (s *Server) spec(t fakeserver.Reporter) fakeserver.Spec[Request] {
	api := func(r *http.Request, method string) bool {
		return (r.URL.Path == "/api" || r.URL.Path == "/api/") && r.Method == method
	}
	return fakeserver.Spec[Request]{
		MaxBody: maxBody,
		Routes: []fakeserver.Route[Request]{{
			Match: func(r *http.Request) bool { return api(r, http.MethodPost) },
			OpOf: func(_ *http.Request, body []byte, ok bool) string {
				_, op := parseItems(body, ok)
				return op
			},
			Handle: s.serve,
		}, {
			Match:  func(r *http.Request) bool { return api(r, http.MethodGet) && r.URL.Query().Has("balance") },
			Op:     OpBalance,
			Handle: s.serve,
		}},
		Record: func(r *http.Request, body []byte, _ bool, op string) *Request {
			return &Request{Op: op, Method: r.Method, Path: r.URL.Path, RawQuery: r.URL.RawQuery,
				Header: fakeserver.HeaderWithoutAuth(r.Header), Body: body, RemoteAddr: r.RemoteAddr, Time: s.now()}
		},
		Op: func(r *Request) string { return r.Op },
		Clone: func(r Request) Request {
			r.Header, r.Body = r.Header.Clone(), append([]byte(nil), r.Body...)
			return r
		},
		Answered:   func(r *Request, status int) { r.Answered = status },
		Unknown:    OpUnknown,
		NotFound:   fakeserver.Text(http.StatusNotFound, "Not Found"),
		RoutesHelp: "popolni.club has no such route (only POST /api and GET /api?balance=)",
		T:          t,
		// Plain HTTP on the TLS port: popolni.club's 403, before any fault.
		Gate: func(r *http.Request) (fakeserver.Answer, bool) {
			return fakeserver.Text(http.StatusForbidden, TextInsecureConnection), r.TLS == nil
		},
		Fail: func(f fakeserver.Fault) fakeserver.Answer {
			if fakeserver.LooksJSON(f.Body) {
				return fakeserver.Answer{Status: f.Status, Type: "application/json", Body: []byte(f.Body)}
			}
			return fakeserver.Text(f.Status, f.Body)
		},
		Garbage: fakeserver.Answer{Status: http.StatusOK, Type: "text/html; charset=utf-8", Body: []byte(garbageHTML)},
	}
}

const garbageHTML = `<!DOCTYPE html>
<html><head><title>502 Bad Gateway</title></head>
<body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>
`

// serve is process, then the latency: the answer leaves that much after
// the request arrived and was counted.
func (s *Server) serve(c *fakeserver.Call[Request]) fakeserver.Answer {
	a := s.process(c)
	var d time.Duration
	s.locked(func() { d = s.latency })
	if d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
		case <-c.R.Context().Done():
		}
	}
	return a
}

// process is both routes: it runs the checks in the order the package
// documentation gives, then the operation, under the state lock, so each
// request is atomic with respect to the others.
func (s *Server) process(c *fakeserver.Call[Request]) fakeserver.Answer {
	s.mu.Lock()
	defer s.mu.Unlock()
	now, r := s.now(), c.R
	if !s.admitLocked(now) {
		return fakeserver.Text(http.StatusServiceUnavailable, TextRateLimited)
	}
	user, pass, ok := r.BasicAuth()
	ok = ok && subtle.ConstantTimeCompare([]byte(user), []byte(s.login)) == 1 &&
		subtle.ConstantTimeCompare([]byte(pass), []byte(s.password)) == 1
	items, op := parseItems(c.Body, c.BodyOK)
	var refusal string
	switch mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); {
	case !ok:
		refusal = TextIncorrectAuth
	case !fakeserver.Allowed(&s.Sources, r.RemoteAddr):
		refusal = TextIPNotAllowed
	case !s.apiEnabled:
		refusal = TextAPIDisabled
	case !s.inSchedule:
		refusal = TextUnscheduled
	case r.Method == http.MethodGet:
		return jsonResponse(fmt.Appendf(nil, `{"currentBalance":%d,"creditLimit":%d}`, s.current, s.credit))
	case err != nil || mt != "application/json" || op == OpInvalid:
		refusal = TextIncorrectFormat
	case op == OpPay:
		return s.payLocked(items, now)
	default:
		return s.statusLocked(items)
	}
	return fakeserver.Text(http.StatusForbidden, refusal)
}

// admitLocked applies the rate limit: at most rateLimit admitted requests in
// the window (now-1s, now], plus up to rateExcess more within the last ten
// minutes. Refused requests do not count.
func (s *Server) admitLocked(now time.Time) bool {
	return s.rateLimit <= 0 || admit(&s.admitted, now, time.Second, s.rateLimit) ||
		admit(&s.excessUsed, now, 10*time.Minute, s.rateExcess)
}

// admit adds now to the times ts (in order) if fewer than limit of them are
// within window before now, dropping the older ones.
func admit(ts *[]time.Time, now time.Time, window time.Duration, limit int) bool {
	i := 0
	for i < len(*ts) && !(*ts)[i].After(now.Add(-window)) {
		i++
	}
	*ts = slices.Delete(*ts, 0, i)
	if len(*ts) >= limit {
		return false
	}
	*ts = append(*ts, now)
	return true
}

// sniffListener serves TLS and plain HTTP on one port. It peeks at the first
// byte of each connection: a TLS handshake record (0x16) gets a *tls.Conn, so
// net/http runs the handshake and sets Request.TLS; anything else is handed
// over as it is, and the handler answers it 403 "Insecure connection is not
// allowed" as popolni.club does.
type sniffListener struct {
	net.Listener // the plain TCP listener
	conf         *tls.Config
	ch           chan net.Conn
	closed       context.Context // ends on Close
	stop         context.CancelFunc
}

func newSniffListener(inner net.Listener, conf *tls.Config) net.Listener {
	l := &sniffListener{Listener: inner, conf: conf, ch: make(chan net.Conn)}
	l.closed, l.stop = context.WithCancel(context.Background())
	go l.acceptLoop()
	return l
}

func (l *sniffListener) acceptLoop() {
	for {
		switch c, err := l.Listener.Accept(); {
		case errors.Is(err, net.ErrClosed):
			return
		case err != nil:
			time.Sleep(5 * time.Millisecond) // e.g. too many open files
		default:
			go l.sniff(c)
		}
	}
}

// sniff hands c over as TLS or plain by its first byte. Close closes c while
// it is being sniffed; so does a silence of 30 s before the first byte.
func (l *sniffListener) sniff(c net.Conn) {
	unwatch := context.AfterFunc(l.closed, func() { c.Close() })
	br := bufio.NewReader(c)
	_ = c.SetReadDeadline(time.Now().Add(30 * time.Second))
	first, err := br.Peek(1)
	_ = c.SetReadDeadline(time.Time{})
	if !unwatch() || err != nil {
		c.Close()
		return
	}

	var out net.Conn = &peekedConn{Conn: c, r: br}
	if first[0] == 0x16 {
		out = tls.Server(out, l.conf)
	}
	select {
	case l.ch <- out:
	case <-l.closed.Done():
		out.Close()
	}
}

// Accept returns the next sniffed connection.
func (l *sniffListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.ch:
		return c, nil
	case <-l.closed.Done():
		return nil, net.ErrClosed
	}
}

// Close stops accepting and closes connections still being sniffed.
func (l *sniffListener) Close() error {
	l.stop()
	return l.Listener.Close()
}

// peekedConn replays the bytes the sniffer buffered before reading on.
type peekedConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *peekedConn) Read(p []byte) (int, error) { return c.r.Read(p) }
