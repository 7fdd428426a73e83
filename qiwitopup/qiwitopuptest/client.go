package qiwitopuptest

import (
	"crypto"
	_ "crypto/md5" // registers the hashes of signatureHashes
	"crypto/rsa"
	_ "crypto/sha1"
	"crypto/subtle"
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/internal/fakeserver"
	"github.com/paysdk/payments/internal/testca"
)

// Host names of the two QIWI endpoints.
const (
	Host        = "api.qiwi.com"         // password and signature authentication
	PrivateHost = "private-api.qiwi.com" // client-certificate (mutual TLS) authentication
)

// Paths of the two documented endpoints (POST only).
const (
	PathTopup = "/xml/topup.jsp"
	PathXMLCP = "/xml/xmlcp.jsp"
)

// Values of [Request.AuthMode].
const (
	AuthPassword    = "password"
	AuthSignature   = "signature"
	AuthCertificate = "certificate"
)

// Defaults of a [Server] made without options.
const (
	DefaultTerminalID = "123"
	DefaultPassword   = "test-password"
	// The agent account (RUB) a server has unless [WithBalance] sets it.
	DefaultCurrency = "643"
	DefaultBalance  = "100000.00"
	// The payment limits: below the minimum 241, above the maximum 242.
	DefaultMinAmount = "1.00"
	DefaultMaxAmount = "15000.00"
)

type config struct {
	terminalID, password string
	pub                  *rsa.PublicKey
	allowedIPs           []string
	balances             [][2]string // (ccy, amount) in option order; later wins
	minAmount, maxAmount string
	steps                int
	wrapSBP              bool
	allExist             bool
	t                    testing.TB
	now                  func() time.Time
	addr                 string
}

// Option configures a [Server] made by [NewServer].
type Option func(*config)

// WithTerminalID sets the agent ID every request must carry in
// <terminal-id> (default [DefaultTerminalID]).
func WithTerminalID(id string) Option {
	return func(c *config) { c.terminalID = id }
}

// WithPassword sets the password the server accepts in
// <extra name="password"> (default [DefaultPassword]).
func WithPassword(p string) Option {
	return func(c *config) { c.password = p }
}

// WithPublicKey sets the key that verifies signed requests on [Host] (see
// the package documentation). Without it any signed request gets 150.
func WithPublicKey(pub *rsa.PublicKey) Option {
	return func(c *config) { c.pub = pub }
}

// WithAllowedIPs sets the source-address allowlist as SetAllowedIPs does
// (default: every address); other addresses get result-code 339. An entry
// that does not parse is reported through [WithT].
func WithAllowedIPs(ips ...string) Option {
	return func(c *config) { c.allowedIPs = append([]string(nil), ips...) }
}

// WithBalance opens the agent account in currency ccy (numeric ISO 4217 or a
// letter code) with amount, as [Server.SetBalance]; for one currency given
// twice (as "840" and "USD", say) the last wins. The RUB account ("643")
// has [DefaultBalance] unless set here. NewServer panics on an invalid
// currency or amount.
func WithBalance(ccy string, amount string) Option {
	return func(c *config) { c.balances = append(c.balances, [2]string{ccy, amount}) }
}

// WithLimits sets the smallest and largest payment amount ("" keeps the
// default). NewServer panics on an invalid amount.
func WithLimits(minAmount, maxAmount string) Option {
	return func(c *config) {
		if minAmount != "" {
			c.minAmount = minAmount
		}
		if maxAmount != "" {
			c.maxAmount = maxAmount
		}
	}
}

// WithStepsPerPoll sets how many steps along 50 → 52 → final (default 1) each
// status request moves the payments it names; zero or less freezes them:
// they move only through [Server.Complete] and [Server.SetStatus].
func WithStepsPerPoll(n int) Option {
	return func(c *config) { c.steps = n }
}

// WithWrappedPayments chooses the answer style of SBP payouts (38413). On
// (the default, as in the SBP document's example), a pay or status answer
// with an SBP payment puts every <payment> inside <payments>, gives SBP
// payments a message ('Ок' for 0) without msg, and adds <balances-ovd>,
// <f></f> and <lk-status>001</lk-status> after <balances>. Off, they are
// answered like every other payment.
func WithWrappedPayments(on bool) Option {
	return func(c *config) { c.wrapSBP = on }
}

// WithAllWalletsExist makes check-user and check-deposit-possible answer
// <exist>1</exist> for every phone number.
func WithAllWalletsExist() Option {
	return func(c *config) { c.allExist = true }
}

// WithT ties the server to a test: a request to a route QIWI does not have
// and an invalid [WithAllowedIPs] entry fail it, and t.Cleanup closes the
// server.
func WithT(t testing.TB) Option {
	return func(c *config) { c.t = t }
}

// WithAddr makes the server listen on addr, "host:port", instead of
// 127.0.0.1 with a random port (a port of 0 still picks one). The
// certificate covers 127.0.0.1 and localhost besides [Host] and
// [PrivateHost]. NewServer panics when it cannot listen there.
func WithAddr(addr string) Option {
	return func(c *config) { c.addr = addr }
}

// withClock replaces time.Now for txn-date and request timestamps.
func withClock(now func() time.Time) Option {
	return func(c *config) { c.now = now }
}

// Server is a running fake QIWI Wallet Top-Up API. Make one with [NewServer]
// and Close it when done. All methods are safe for concurrent use.
type Server struct {
	*fakeserver.Fake[Request]                  // routes, fault switches, request log, Close
	fakeserver.Sources                         // SetAllowedIPs
	base                      *fakeserver.Base // its CA issues the server certificate
	clientCA                  *testca.CA       // "the CA QIWI issues": verifies client certificates

	mu                   sync.Mutex       // guards everything below
	cfg                  config           // the options: only the password changes
	balances             map[string]int64 // numeric ccy → kopecks
	minAmount, maxAmount int64            // the payment limits, in kopecks
	wallets              map[string]bool  // phone → identified
	depositImpossible    map[string]bool
	blocked              map[string]bool
	failAccounts         map[string]int
	providers            map[string]int
	nextTxn              int64
	payments             map[string]*payment
	order                []*payment
}

// NewServer starts a fake QIWI Top-Up API on 127.0.0.1 with a random port,
// serving TLS (minimum 1.2, HTTP/1.1 only) with one certificate valid for
// [Host] and [PrivateHost], from a fresh test CA. The handshake verifies a
// client certificate when one is sent (tls.VerifyClientCertIfGiven) against
// a second CA, [Server.ClientCAPEM]: one from any other CA fails it (Go's
// client does not send it). Like httptest.NewServer it panics if the CAs or
// the listener cannot be made, and on an invalid option.
func NewServer(opts ...Option) *Server {
	cfg := fakeserver.Configure(config{
		terminalID: DefaultTerminalID,
		password:   DefaultPassword,
		balances:   [][2]string{{DefaultCurrency, DefaultBalance}},
		minAmount:  DefaultMinAmount,
		maxAmount:  DefaultMaxAmount,
		steps:      1,
		wrapSBP:    true,
		now:        time.Now,
	}, opts)
	s := &Server{
		cfg:               cfg,
		balances:          map[string]int64{},
		wallets:           map[string]bool{},
		depositImpossible: map[string]bool{},
		blocked:           map[string]bool{},
		failAccounts:      map[string]int{},
		providers:         map[string]int{},
		nextTxn:           20323739405,
		payments:          map[string]*payment{},
	}
	for _, kv := range cfg.balances {
		if err := s.SetBalance(kv[0], kv[1]); err != nil {
			panic(err)
		}
	}
	minA, err1 := payments.ParseMinor(cfg.minAmount, 2)
	maxA, err2 := payments.ParseMinor(cfg.maxAmount, 2)
	if err1 != nil || err2 != nil || minA > maxA {
		panic(fmt.Sprintf("qiwitopuptest: WithLimits(%q, %q): invalid limits", cfg.minAmount, cfg.maxAmount))
	}
	s.minAmount, s.maxAmount = minA, maxA
	clientCA, err := testca.New()
	if err != nil {
		panic(fmt.Sprintf("qiwitopuptest: %v", err))
	}
	s.clientCA = clientCA
	s.base = fakeserver.New(fakeserver.Config{
		Name:  "qiwitopuptest",
		Hosts: []string{Host, PrivateHost},
		Addr:  cfg.addr,
		TLS: func(c *tls.Config) {
			c.ClientAuth = tls.VerifyClientCertIfGiven
			c.ClientCAs = clientCA.Pool()
		},
	})
	ipErr := s.SetAllowedIPs(cfg.allowedIPs...)
	s.Fake = fakeserver.Start(s.base, s.spec(cfg.t))
	s.base.SetControl(fakeserver.ControlHandler("qiwitopuptest", s.controlOps()))
	if t := cfg.t; t != nil {
		t.Helper()
		t.Cleanup(s.Close)
		if ipErr != nil {
			t.Errorf("qiwitopuptest: WithAllowedIPs: %v", ipErr)
		}
	}
	return s
}

// URL returns the public endpoint, "https://api.qiwi.com:<port>/xml/topup.jsp";
// the client must resolve the host to [Server.Addr].
func (s *Server) URL() string { return s.base.URL(Host, PathTopup) }

// PrivateURL returns the client-certificate endpoint,
// "https://private-api.qiwi.com:<port>/xml/topup.jsp".
func (s *Server) PrivateURL() string { return s.base.URL(PrivateHost, PathTopup) }

// XMLCPURL returns the mobile-operator lookup endpoint on the public host,
// "https://api.qiwi.com:<port>/xml/xmlcp.jsp".
func (s *Server) XMLCPURL() string { return s.base.URL(Host, PathXMLCP) }

// ClientCAPEM returns the PEM of the CA the server trusts for client
// certificates: the "CA certificate" QIWI hands an agent. It did not issue
// the server's certificate ([Server.CACertPEM]).
func (s *Server) ClientCAPEM() []byte { return s.clientCA.CertPEM() }

// ClientCertificate issues a client certificate for [PrivateHost] from the CA
// of [Server.ClientCAPEM], with the terminal ID in its common name.
func (s *Server) ClientCertificate() (tls.Certificate, error) {
	return s.clientCA.ClientCert("qiwi-agent-" + s.TerminalID())
}

// CertClient returns a new *http.Client like Client that presents cert.
func (s *Server) CertClient(cert tls.Certificate) *http.Client {
	return s.base.NewClient(nil, []tls.Certificate{cert})
}

// ClientOptions returns the options that point an SDK client at [Server.URL]
// with both host names pinned to the server and its CA trusted; no
// credentials:
//
//	c, err := qiwitopup.New(qiwitopup.PasswordAuth(srv.TerminalID(), srv.Password()),
//		srv.ClientOptions()...)
func (s *Server) ClientOptions() []payments.Option {
	return s.base.ClientOptions(s.URL())
}

// PrivateClientOptions is [Server.ClientOptions] for [Server.PrivateURL],
// presenting cert (from [Server.ClientCertificate]).
func (s *Server) PrivateClientOptions(cert tls.Certificate) []payments.Option {
	return append(s.base.ClientOptions(s.PrivateURL()), payments.WithClientCertificate(cert))
}

// TerminalID returns the agent ID the server accepts.
func (s *Server) TerminalID() string { return s.cfg.terminalID }

// Password returns the password the server accepts.
func (s *Server) Password() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cfg.password
}

// SetPassword replaces the accepted password, as QIWI staff would on the
// agent's request; requests with the old one get 150.
func (s *Server) SetPassword(p string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cfg.password = p
}

const maxBody = 1 << 20 // a larger body is not well-formed: 300

const garbageHTML = `<!DOCTYPE html>
<html><head><title>502 Bad Gateway</title></head>
<body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>
`

// spec is the route table: the two endpoints, POST only, on either host; the
// operation is the body's request-type.
func (s *Server) spec(t fakeserver.Reporter) fakeserver.Spec[Request] {
	opOf := func(_ *http.Request, body []byte, ok bool) string {
		if req, err := parseRequest(body); ok && err == nil {
			return opOf(req)
		}
		return OpInvalid
	}
	return fakeserver.Spec[Request]{
		MaxBody: maxBody,
		Routes: []fakeserver.Route[Request]{
			{Method: http.MethodPost, Path: PathTopup, OpOf: opOf, Handle: s.handle},
			{Method: http.MethodPost, Path: PathXMLCP, OpOf: opOf, Handle: s.handle},
		},
		Record: func(r *http.Request, body []byte, _ bool, op string) *Request {
			rec := &Request{Op: op, Host: hostOf(r), Method: r.Method, Path: r.URL.Path,
				Header: r.Header.Clone(), Body: body, RemoteAddr: r.RemoteAddr, Time: s.cfg.now(), ResultCode: -1}
			if r.TLS != nil {
				rec.SNI = r.TLS.ServerName
				if len(r.TLS.PeerCertificates) > 0 {
					rec.ClientCertCN = r.TLS.PeerCertificates[0].Subject.CommonName
				}
			}
			return rec
		},
		Op:         func(r *Request) string { return r.Op },
		Clone:      cloneRequest,
		Answered:   func(r *Request, status int) { r.Answered = status },
		Unknown:    OpUnknown,
		NotFound:   fakeserver.Text(http.StatusNotFound, "Not Found"),
		RoutesHelp: "QIWI Top-Up has no such route (only POST " + PathTopup + " and POST " + PathXMLCP + ")",
		T:          t,
		Fail: func(f fakeserver.Fault) fakeserver.Answer {
			if strings.HasPrefix(strings.TrimSpace(f.Body), "<") {
				return fakeserver.Answer{Status: f.Status, Type: "text/xml; charset=utf-8", Body: []byte(f.Body)}
			}
			return fakeserver.Text(f.Status, f.Body)
		},
		Before: func(c *fakeserver.Call[Request]) (fakeserver.Answer, bool) {
			if c.Fault.Kind != faultError {
				return fakeserver.Answer{}, false
			}
			return answer(c, errorDoc(c.Fault.Code, c.Fault.Flag)), true
		},
		After: func(c *fakeserver.Call[Request], a *fakeserver.Answer) {
			if c.Fault.Kind == faultEmpty {
				a.Body = nil
			}
		},
		Garbage: fakeserver.Answer{Status: http.StatusOK, Type: "text/html; charset=utf-8", Body: []byte(garbageHTML)},
	}
}

// handle answers a request to either endpoint under the state lock, so
// requests are atomic.
func (s *Server) handle(c *fakeserver.Call[Request]) fakeserver.Answer {
	s.mu.Lock()
	defer s.mu.Unlock()
	return answer(c, s.checkLocked(c))
}

// answer records the request-level code of o and sends it.
func answer(c *fakeserver.Call[Request], o *out) fakeserver.Answer {
	c.Update(func(rec *Request) { rec.ResultCode = o.code })
	return fakeserver.Answer{Status: http.StatusOK, Type: "text/xml; charset=utf-8", Body: o.bytes()}
}

// operations answer the request types the endpoints serve, by Request.Op.
var operations = map[string]func(*Server, *xRequest) *out{
	OpPing:                 (*Server).pingLocked,
	OpCheckUser:            (*Server).checkUserLocked,
	OpCheckDepositPossible: (*Server).checkDepositLocked,
	OpGetProvider:          (*Server).getProviderLocked,
	OpPay:                  (*Server).payLocked,
	OpStatus:               (*Server).statusLocked,
}

// checkLocked runs the request-level checks in order, then the operation.
func (s *Server) checkLocked(c *fakeserver.Call[Request]) *out {
	req, err := parseRequest(c.Body)
	if !c.BodyOK || err != nil {
		return errorDoc(codeUnknown, true)
	}
	if !fakeserver.Allowed(&s.Sources, c.R.RemoteAddr) {
		return errorDoc(codeIP, true)
	}
	mode, ok := s.authLocked(c.R, c.Body, req)
	if !ok { // the mode is recorded only when it passes
		return errorDoc(codeAuth, true)
	}
	c.Update(func(rec *Request) { rec.AuthMode = mode })
	op := operations[c.Op]
	if op == nil || (c.Op == OpGetProvider) != (c.R.URL.Path == PathXMLCP) {
		return errorDoc(codeUnknown, true)
	}
	return op(s, req)
}

// hostOf is the name in the request's Host header, without port, lower case.
func hostOf(r *http.Request) string {
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	return strings.ToLower(host)
}

func eq(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }

// authLocked returns the authentication mode of the request and whether it
// passes.
func (s *Server) authLocked(r *http.Request, body []byte, req *xRequest) (string, bool) {
	pw, hasPW := extra(req.Extras, "password")
	pwOK := eq(pw, s.cfg.password)
	sig, alg := r.Header.Get("X-Digital-Sign"), r.Header.Get("X-Digital-Sign-Alg")
	switch {
	case !eq(strings.TrimSpace(req.TerminalID), s.cfg.terminalID):
		return "", false
	case hostOf(r) == PrivateHost || r.TLS != nil && strings.EqualFold(r.TLS.ServerName, PrivateHost):
		return AuthCertificate, r.TLS != nil && len(r.TLS.PeerCertificates) > 0 && (!hasPW || pwOK)
	case sig != "" || alg != "":
		return AuthSignature, s.cfg.pub != nil && verifySignature(s.cfg.pub, body, sig, alg)
	}
	return AuthPassword, hasPW && pwOK
}

// signatureHashes are the X-Digital-Sign-Alg values QIWI accepts.
var signatureHashes = map[string]crypto.Hash{"SHA1withRSA": crypto.SHA1, "MD5withRSA": crypto.MD5}

// verifySignature checks an RSASSA-PKCS1-v1_5 signature (standard padded
// base64) over body.
func verifySignature(pub *rsa.PublicKey, body []byte, sig64, alg string) bool {
	sig, err := base64.StdEncoding.Strict().DecodeString(strings.TrimSpace(sig64))
	h, ok := signatureHashes[strings.TrimSpace(alg)]
	if err != nil || len(sig) == 0 || !ok {
		return false
	}
	d := h.New()
	d.Write(body)
	return rsa.VerifyPKCS1v15(pub, h, d.Sum(nil), sig) == nil
}

// The fake's own fault kinds.
const (
	faultError = fakeserver.FaultCustom + iota
	faultEmpty
)

// ErrorNext answers the next n requests 200 with only a request-level error,
// <result-code fatal=".." message=".." msg="..">code</result-code>, without
// processing them. Use 13 (try again in a minute), 150, 300 or 339; the
// message is the documents' text, "Неизвестная ошибка" for an undocumented
// code.
func (s *Server) ErrorNext(n int, code int, fatal bool) {
	fakeserver.Enqueue(&s.Faults, n, fakeserver.Fault{Kind: faultError, Code: code, Flag: fatal})
}

// EmptyNext processes the next n requests and answers 200 with no body.
func (s *Server) EmptyNext(n int) {
	fakeserver.Enqueue(&s.Faults, n, fakeserver.Fault{Kind: faultEmpty})
}
