package royalpaytest

import (
	"context"
	"crypto/subtle"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/internal/fakeserver"
)

// Host is the provider's host name: the only one the document shows (in
// deeplink_url). The server's certificate is issued for it, and clients must
// send it as the TLS server name (by pinning it to [Server.Addr]).
const Host = "pay-dev.royalsfinance.app"

// DefaultToken is the API token a [Server] made without [WithToken] accepts
// in "Authorization: Token <token>".
const DefaultToken = "rp-test-token"

// Server is a running fake RoyalPay API. Make one with [NewServer] and
// [Server.Close] it when done. All methods are safe for concurrent use,
// including while requests are being served.
type Server struct {
	// Fake serves the route table and holds the request log and the shared
	// fault switches, which here queue for create requests.
	*fakeserver.Fake[Request]
	config
	base     *fakeserver.Base
	cbOwned  *http.Transport // the default callback client's transport, closed by Close
	cbCtx    context.Context // the context of callbacks and auto-completions, cancelled by Close
	cbCancel context.CancelFunc
	acWG     sync.WaitGroup    // auto-completions armed or running
	reads    fakeserver.Faults // for GET /api/v2/payments/{id}/
	payoutQ  fakeserver.Faults // for POST /api/v3/payouts/

	callbacks, payoutCallbacks *fakeserver.Log[CallbackResult] // sent, pay-in and payout

	mu       sync.Mutex // guards everything below and config.payoutCallback
	payments records[payment]
	payouts  records[PayoutRecord]
	blocked  string // the BlockClient reason; "" when not blocked
}

// NewServer starts a fake RoyalPay API (see the package documentation). Like
// httptest.NewServer it panics only if the CA or the listener cannot be made.
func NewServer(opts ...Option) *Server {
	cfg := fakeserver.Configure(config{token: DefaultToken, now: time.Now,
		payoutToken: DefaultPayoutToken, balance: DefaultBalance}, opts)
	s := &Server{
		config:          cfg,
		base:            fakeserver.New(fakeserver.Config{Name: "royalpaytest", Hosts: []string{Host}, Addr: cfg.addr}),
		payments:        records[payment]{next: firstPaymentID},
		payouts:         records[PayoutRecord]{next: firstPayoutID},
		callbacks:       newCallbackLog(),
		payoutCallbacks: newCallbackLog(),
	}
	s.cbCtx, s.cbCancel = context.WithCancel(context.Background())
	if s.callbackClient == nil {
		s.callbackClient, s.cbOwned = fakeserver.NewOutboundClient(DefaultCallbackTimeout)
	}
	s.Fake = fakeserver.Start(s.base, s.spec())
	s.base.SetControl(fakeserver.ControlHandler("royalpaytest", s.controlOps()))
	if s.t != nil {
		s.t.Cleanup(s.Close)
	}
	return s
}

// Close shuts the server down as [fakeserver.Fake.Close] does, and also
// disarms pending auto-completions and cancels callbacks in flight (waiting
// for them). It may be called more than once.
func (s *Server) Close() {
	s.cbCancel()
	s.Fake.Close()
	s.acWG.Wait()
	if s.cbOwned != nil {
		s.cbOwned.CloseIdleConnections()
	}
}

// URL returns the base URL, "https://pay-dev.royalsfinance.app:<port>",
// without the /api path: the document's {{base_url}}. The host is the real
// one: the client must resolve it to [Server.Addr].
func (s *Server) URL() string { return s.base.URL(Host, "") }

// Token returns the API token the server accepts.
func (s *Server) Token() string { return s.token }

// ClientOptions returns the options that point an SDK client at this server
// with certificate verification intact: the base URL, [Host] pinned to the
// server's loopback address, and the server's test CA added to the roots.
func (s *Server) ClientOptions() []payments.Option {
	return s.base.ClientOptions(s.URL())
}

// call is one request a route handles.
type call = fakeserver.Call[Request]

// Option configures a [Server] made by [NewServer].
type Option func(*config)

type config struct {
	t              testing.TB
	now            func() time.Time
	token          string
	payoutToken    string
	callbackToken  string
	callbackClient *http.Client
	autoComplete   time.Duration
	balance        string
	payoutCallback string  // the payout callback URL "set by the admins"
	payoutPolls    int     // lookups of a payout after which it completes (0: never)
	slashRedirect  *string // nil off, else the Location's host ("" the same)
	payoutOmit     []string
	paymentRead    *bool // nil both forms, else whether the one served has the slash
	accountRead    int   // 1 or 2: the only /api/v<n>/accounts/me served
	addr           string
}

// WithT ties the server to a test: a request to a route RoyalPay does not
// have fails the test with t.Errorf (it is answered 404 and recorded with Op
// [OpUnknown] with or without WithT), and the server is closed by t.Cleanup.
func WithT(t testing.TB) Option {
	return func(c *config) { c.t = t }
}

// WithAddr makes the server listen on addr, "host:port", instead of
// 127.0.0.1 with a random port (a port of 0 still picks one). The
// certificate covers 127.0.0.1 and localhost besides [Host]. NewServer
// panics when it cannot listen there.
func WithAddr(addr string) Option {
	return func(c *config) { c.addr = addr }
}

// withClock replaces time.Now for payment timestamps and request times, so
// tests can check the rendered times exactly.
func withClock(now func() time.Time) Option {
	return func(c *config) { c.now = now }
}

// WithToken sets the API token the server accepts (default [DefaultToken]).
func WithToken(token string) Option {
	return func(c *config) { c.token = token }
}

// maxBody caps the request body the server reads; a larger one is refused.
const maxBody = 1 << 20

const garbageHTML = `<html>
<head><title>502 Bad Gateway</title></head>
<body>
<center><h1>502 Bad Gateway</h1></center>
<hr><center>nginx</center>
</body>
</html>
`

// spec is the fake's route table, with the fault queue each route takes.
func (s *Server) spec() fakeserver.Spec[Request] {
	return fakeserver.Spec[Request]{
		MaxBody: maxBody,
		Routes: []fakeserver.Route[Request]{
			{Method: http.MethodPost, Path: payoutPath, Op: OpPayoutCreate, Faults: &s.payoutQ, Handle: s.createPayout},
			{Method: http.MethodGet, Path: payoutPath, Op: OpPayoutGet, Faults: fakeserver.NoFaults, Handle: s.payoutGet},
			{Match: isAccountRead, Op: OpAccount, Faults: fakeserver.NoFaults, Handle: s.account},
			{Method: http.MethodPost, Path: createPath, Op: OpCreate, Handle: s.create},
			{Match: func(r *http.Request) bool { _, ok := paymentID(r); return ok }, Op: OpGet, Faults: &s.reads, Handle: s.read},
		},
		Record: func(r *http.Request, body []byte, _ bool, op string) *Request {
			return &Request{Op: op, Method: r.Method, Path: r.URL.Path, Header: fakeserver.HeaderWithoutAuth(r.Header),
				Body: body, RemoteAddr: r.RemoteAddr, Time: s.now(),
				RequestTimeout: parseRequestTimeout(r.Header.Get("X-Request-Timeout"))}
		},
		Op: func(r *Request) string { return r.Op },
		Clone: func(r Request) Request {
			r.Header = r.Header.Clone()
			r.Body = append([]byte(nil), r.Body...)
			return r
		},
		Answered: func(r *Request, status int) { r.Answered = status },
		Unknown:  OpUnknown,
		NotFound: detailResponse(http.StatusNotFound, msgNotFound),
		RoutesHelp: "RoyalPay has no such route (only POST " + createPath + ", GET " + createPath + "{id}/, POST and GET " +
			payoutPath + ", GET " + accountPath + " and " + accountPathV2 + ")",
		T: s.t,
		Fail: func(f fakeserver.Fault) response {
			if fakeserver.LooksJSON(f.Body) {
				return response{Status: f.Status, Type: "application/json", Body: []byte(f.Body)}
			}
			return fakeserver.Text(f.Status, f.Body)
		},
		Garbage: response{Status: http.StatusBadGateway, Type: "text/html", Body: []byte(garbageHTML)},
		Before: func(c *call) (response, bool) {
			return echoResponse(c.R, c.Body, c.Fault), c.Fault.Kind == faultEcho
		},
		After: func(c *call, a *response) {
			// A delay past X-Request-Timeout: the API's own 500 at the
			// timeout (the payment is created all the same).
			d := parseRequestTimeout(c.R.Header.Get("X-Request-Timeout"))
			if c.Fault.Kind == fakeserver.FaultDelay && d > 0 && d < c.Fault.Delay {
				c.Fault.Delay, *a = d, errorResponse(http.StatusInternalServerError, msgTimeout, 50020)
			}
		},
	}
}

// authenticate checks "Authorization: Token <token>" against want and
// returns the refusal (see the package documentation) when it fails.
func authenticate(r *http.Request, payin bool, want ...string) *response {
	parts := strings.Fields(r.Header.Get("Authorization"))
	a := detailResponse(http.StatusUnauthorized, "Недопустимый токен.")
	switch {
	case (len(parts) == 0 || !strings.EqualFold(parts[0], "Token")) && payin:
		a = jsonResponse(http.StatusForbidden, &object{{"error", &object{{"code", 10401}, {"msg", msgNoAuth}}}})
	case len(parts) == 0 || !strings.EqualFold(parts[0], "Token"):
		a = detailResponse(http.StatusUnauthorized, msgNoAuth)
	case len(parts) == 2 && slices.ContainsFunc(want, func(w string) bool {
		return w != "" && subtle.ConstantTimeCompare([]byte(parts[1]), []byte(w)) == 1
	}):
		return nil
	case payin:
		a.Header = http.Header{"Www-Authenticate": {"Token"}}
	}
	return &a
}

// EchoNext answers the next n create requests with status and a text/plain
// body that echoes the request without processing it: the request line,
// every header as received (Authorization: Token <token> first) and the
// body. It is what a misconfigured proxy or a debug error page does, and
// what a client must not copy into its errors with the token in it.
func (s *Server) EchoNext(n, status int) {
	fakeserver.Enqueue(&s.Faults, n, fakeserver.Fault{Kind: faultEcho, Status: status})
}

// EchoJSONNext is EchoNext with the echo inside DRF's {"detail": "..."}, as
// application/json: the token arrives JSON-escaped inside an error text.
func (s *Server) EchoJSONNext(n, status int) {
	fakeserver.Enqueue(&s.Faults, n, fakeserver.Fault{Kind: faultEcho, Status: status, Flag: true})
}

// echoResponse builds faultEcho's answer from r as received; f.Flag asks
// for the JSON form.
func echoResponse(r *http.Request, body []byte, f fakeserver.Fault) response {
	var b strings.Builder
	if auth := r.Header.Get("Authorization"); auth != "" {
		b.WriteString("Authorization: " + auth + "\n")
	}
	b.WriteString(r.Method + " " + r.URL.RequestURI() + " " + r.Proto + "\n")
	for _, k := range slices.Sorted(maps.Keys(r.Header)) {
		for _, v := range r.Header[k] {
			b.WriteString(k + ": " + v + "\n")
		}
	}
	b.WriteString("\n")
	b.Write(body)
	if f.Flag {
		return detailResponse(f.Status, b.String())
	}
	return fakeserver.Text(f.Status, b.String())
}
