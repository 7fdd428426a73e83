package paykeepertest

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"mime"
	"net"
	"net/http"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/internal/fakeserver"
)

// Host is the merchant's PayKeeper host name, in the usual
// https://<name>.server.paykeeper.ru form. The server's certificate is issued
// for it, and clients must send it as the TLS server name (by pinning it to
// [Server.Addr]).
const Host = "demo.server.paykeeper.ru"

// Server is a running fake of one merchant's PayKeeper cabinet JSON API.
// Make one with [NewServer] and [Server.Close] it when done. All methods are
// safe for concurrent use, including while requests are being served.
type Server struct {
	// Fake serves the route table and holds the fault switches (FailNext,
	// DropNext, DropBeforeNext, DelayNext, TruncateNext, DropNextOp) and
	// the request log (Requests, Count) shared by every fake.
	*fakeserver.Fake[Request]
	base *fakeserver.Base
	now  func() time.Time
	t    testing.TB // WithT

	notifyClient *http.Client
	notifyOwned  *http.Transport // the default notification client's transport
	notifyCtx    context.Context
	notifyCancel context.CancelFunc

	formSecret string // WithFormSecret: the payment form's secret word
	addr       string // WithAddr

	mu            sync.Mutex // guards everything below
	tokenLifetime time.Duration
	token         string
	tokenIssued   time.Time
	tokenFetches  int
	exportSize    int
	users         []*user
	nextUserID    int
	payments      map[string]*payment
	paymentOrder  []string
	nextPaymentID int64
	nextRefundID  int64
	nextParamID   int64
	invoices      map[string]*invoice
	invoiceOrder  []string
	invoiceSeq    int
	settings      map[string]string
	fields        []*formField
	reportEmails  []reportEmail
	nextEmailID   int
	notifications []NotificationResult
	bindings      map[string]bool // saved cards (bank_id) that /change/binding/execute/ charges
	nextBindingID int64
	nextReceiptID int64
	// unboundReceipts are the receipts printed with no payment_id.
	unboundReceipts []ReceiptRecord
}

// NewServer starts a fake PayKeeper cabinet on 127.0.0.1 with a random port,
// serving TLS (1.2 or later, HTTP/1.1 only) with a certificate for [Host]
// from a fresh test CA. Like httptest.NewServer it panics only if the CA or
// the listener cannot be made.
func NewServer(opts ...Option) *Server {
	s := &Server{
		now: time.Now, tokenLifetime: DefaultTokenLifetime,
		users:      []*user{{User: User{ID: 1, Login: DefaultUser, Password: DefaultPassword, Refund: defaultRefundsPerDay, Admin: true}}},
		nextUserID: 2,
		// The first payment id is the document's example payment, 97452.
		payments: map[string]*payment{}, nextPaymentID: 97452, nextRefundID: 1, nextParamID: 189445,
		invoices: map[string]*invoice{}, bindings: map[string]bool{}, nextBindingID: 500001, nextReceiptID: 3300,
	}
	s.initSettings()
	for _, o := range opts {
		if o != nil {
			o(s)
		}
	}
	if s.now == nil {
		s.now = time.Now
	}
	s.exportSize = clampExport(s.exportSize)
	s.base = fakeserver.New(fakeserver.Config{Name: "paykeepertest", Hosts: []string{Host}, Addr: s.addr})
	s.notifyCtx, s.notifyCancel = context.WithCancel(context.Background())
	if s.notifyClient == nil {
		s.notifyClient, s.notifyOwned = fakeserver.NewOutboundClient(DefaultNotificationTimeout)
	}
	s.rotateTokenLocked()
	s.Fake = fakeserver.Start(s.base, s.spec(s.t))
	s.base.SetControl(fakeserver.ControlHandler("paykeepertest", s.controlOps()))
	if s.t != nil {
		s.t.Cleanup(s.Close)
	}
	return s
}

// Close shuts the server down: it stops listening, closes every connection,
// interrupts delayed answers and notifications in flight, and waits for
// running handlers to return. It may be called more than once.
func (s *Server) Close() {
	s.notifyCancel()
	s.base.Close()
	if s.notifyOwned != nil {
		s.notifyOwned.CloseIdleConnections()
	}
}

// URL returns the cabinet's base URL, "https://demo.server.paykeeper.ru:<port>",
// without a trailing slash. The host is the real one: the client must resolve
// it to [Server.Addr].
func (s *Server) URL() string { return s.base.URL(Host, "") }

// ClientOptions returns the options that point an SDK client at this server
// with certificate verification intact: the base URL, [Host] pinned to the
// server's loopback address, and the server's test CA added to the roots.
//
//	c, err := paykeeper.New(creds, srv.ClientOptions()...) // creds: paykeepertest.DefaultUser, DefaultPassword
func (s *Server) ClientOptions() []payments.Option {
	return s.base.ClientOptions(s.URL())
}

// Defaults of a [Server] made without options.
const (
	// DefaultUser and DefaultPassword are the Basic-auth login and password
	// of the cabinet's administrator.
	DefaultUser     = "demo"
	DefaultPassword = "demo-password"
	// DefaultTokenLifetime is how long a security token stays valid: the
	// document's "Смена токена происходит раз в 24 часа".
	DefaultTokenLifetime = 24 * time.Hour
	// DefaultNotificationTimeout bounds one notification POST made by the
	// default notification client.
	DefaultNotificationTimeout = 10 * time.Second
	// MaxExportSize caps [WithExportSize]: 1 GiB.
	MaxExportSize = 1 << 30
)

// Option configures a [Server] made by [NewServer].
type Option func(*Server)

// WithCredentials sets the login and password of the cabinet's administrator,
// the user every request authenticates as with Basic auth (default
// [DefaultUser] / [DefaultPassword]). Users added through /change/user/add/
// can authenticate too.
func WithCredentials(user, password string) Option {
	return func(s *Server) { s.users[0].Login, s.users[0].Password = user, password }
}

// WithT ties the server to a test: a request to a route PayKeeper does not
// have fails the test with t.Errorf (it is still answered 404 and recorded),
// and the server is closed by t.Cleanup.
func WithT(t testing.TB) Option {
	return func(s *Server) { s.t = t }
}

// WithTokenLifetime sets how long a security token from /info/settings/token/
// stays valid before the server replaces it (default [DefaultTokenLifetime]).
// Zero or less keeps the default.
func WithTokenLifetime(d time.Duration) Option {
	return func(s *Server) {
		if d > 0 {
			s.tokenLifetime = d
		}
	}
}

// WithClock replaces time.Now for everything the server dates: token expiry,
// invoice expiry, the datetimes it answers and request timestamps. Tests of
// token rotation advance their own clock instead of sleeping.
func WithClock(now func() time.Time) Option {
	return func(s *Server) { s.now = now }
}

// WithAddr makes the server listen on addr, "host:port", instead of
// 127.0.0.1 with a random port (a port of 0 still picks one). The
// certificate covers 127.0.0.1 and localhost besides [Host]. NewServer
// panics when it cannot listen there.
func WithAddr(addr string) Option {
	return func(s *Server) { s.addr = addr }
}

func (s *Server) rotateTokenLocked() {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24 and later)
	s.token, s.tokenIssued = hex.EncodeToString(b), s.now()
}

// currentTokenLocked returns the valid token, replacing it first when its
// lifetime has run out.
func (s *Server) currentTokenLocked() string {
	if !s.now().Before(s.tokenIssued.Add(s.tokenLifetime)) {
		s.rotateTokenLocked()
	}
	return s.token
}

// Token returns the security token POST requests must carry now (replacing
// it first if its lifetime ran out), without counting as a fetch.
func (s *Server) Token() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.currentTokenLocked()
}

// RotateToken replaces the security token at once, as the daily change does,
// and returns the new one: POSTs with the old token then get error_code 67.
func (s *Server) RotateToken() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rotateTokenLocked()
	return s.token
}

// TokenFetches returns how many authenticated GET /info/settings/token/
// requests the server answered since the start or the last [Server.Reset].
func (s *Server) TokenFetches() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tokenFetches
}

func (s *Server) hToken(*call) response {
	s.tokenFetches++
	return jsonResponse(obj{{"token", s.currentTokenLocked()}})
}

// maxBody caps the request body the server reads; a larger body is refused
// with 413.
const maxBody = 1 << 20

type response = fakeserver.Answer

func jsonResponse(v any) response {
	return response{Status: http.StatusOK, Type: "application/json; charset=utf-8", Body: encode(v)}
}

func success() response { return jsonResponse(obj{{"result", "success"}}) }

func fail(msg string) response { return jsonResponse(obj{{"result", "fail"}, {"msg", msg}}) }

func htmlResponse(status int, page string) response {
	return response{Status: status, Type: "text/html; charset=utf-8", Body: []byte(page)}
}

// call is one authenticated request being handled, under s.mu.
type call struct {
	r     *http.Request
	q     url.Values
	form  url.Values
	user  *user
	ip    string
	after func() // runs once s.mu is released: a notification to send
}

type handlerFunc func(s *Server, c *call) response

// The kinds of route: a read (GET), a change (POST with the token) and an
// administrator's change (section 5: anyone else gets [MsgNotAdmin]).
const (
	read = iota
	change
	adminChange
)

// route is one route of the cabinet API, at "/" + op + "/".
type route struct {
	op   string
	kind int
	fn   handlerFunc
}

// routes are PayKeeper's cabinet API: the document's sections 1-8 and, from
// observed use in public integrations, capture, revoke, search, card
// bindings, receipts and the error counts.
var routes = []route{
	{OpToken, read, (*Server).hToken},

	{OpSystemsList, read, (*Server).hSystemsList},
	{OpSystemsSums, read, (*Server).hSystemsSums},
	{OpSystemsSumsDetails, read, (*Server).hSystemsDetails},
	{OpSystemsAllSum, read, (*Server).hSystemsAllSum},

	{OpPaymentsByDate, read, (*Server).hPaymentsByDate},
	{OpPaymentsByDateCount, read, (*Server).hPaymentsByDateCount},
	{OpPaymentByID, read, (*Server).hPaymentByID},
	{OpPaymentsSearch, read, (*Server).hPaymentsSearch},
	{OpOptionsByID, read, byPayment((*payment).optionsJSON)},
	{OpParamsByID, read, byPayment((*payment).paramsJSON)},
	{OpHTTPLogByID, read, byPayment((*payment).httpLogJSON)},
	{OpRefundsByPaymentID, read, byPayment((*payment).refundsJSON)},
	{OpReverse, change, (*Server).hReverse},
	{OpRepeatCnt, change, (*Server).hRepeatCnt},
	{OpCapture, change, (*Server).hCapture},
	{OpBindingExecute, change, (*Server).hBindingExecute},
	{OpPostSaleReceipt, change, (*Server).hPostSaleReceipt},
	{OpReceiptPrint, change, (*Server).hReceiptPrint},
	{OpReceipts, read, byPayment((*payment).receiptsJSON)},
	{OpErrorsTotal, read, (*Server).hErrorsTotal},

	{OpInvoiceByID, read, (*Server).hInvoiceByID},
	{OpInvoiceList, read, (*Server).hInvoiceList},
	{OpInvoiceListCount, read, (*Server).hInvoiceListCount},
	{OpInvoicePreview, change, (*Server).hInvoicePreview},
	{OpInvoiceSend, change, (*Server).hInvoiceSend},
	{OpInvoiceRevoke, change, (*Server).hInvoiceRevoke},

	{OpUserSettings, read, (*Server).hUserSettings},
	{OpUserLastVisit, read, (*Server).hUserLastVisit},
	{OpOrgSettings, read, (*Server).hOrgSettings},
	{OpOrgNotifications, read, (*Server).hOrgNotifications},
	{OpOrgFields, read, (*Server).hOrgFields},
	{OpOrgReportEmails, read, (*Server).hOrgReportEmails},
	{OpOrgUsers, read, (*Server).hOrgUsers},

	{OpChangeSetting, adminChange, (*Server).hChangeSetting},
	{OpChangeFormField, adminChange, (*Server).hChangeFormField},
	{OpAddReportEmail, adminChange, (*Server).hAddReportEmail},
	{OpDeleteReportEmail, adminChange, (*Server).hDeleteReportEmail},
	{OpUserAdd, adminChange, (*Server).hUserAdd},
	{OpUserUpdate, adminChange, (*Server).hUserUpdate},
	{OpUserDelete, adminChange, (*Server).hUserDelete},

	{OpExportPayments, read, (*Server).hExportPayments},
}

// LoginPageHTML is the body of the 401 answer to a request without valid
// Basic credentials: the cabinet's login page, not JSON.
const LoginPageHTML = `<!DOCTYPE html>
<html lang="ru">
<head><meta charset="utf-8"><title>PayKeeper: вход в личный кабинет</title></head>
<body>
<form class="login" method="post" action="/login/">
<h1>Вход в личный кабинет</h1>
<input type="text" name="login" placeholder="Логин">
<input type="password" name="password" placeholder="Пароль">
<button type="submit">Войти</button>
</form>
</body>
</html>
`

// HTMLPage is the body [Server.HTMLNext] answers with.
const HTMLPage = `<!DOCTYPE html>
<html lang="ru">
<head><meta charset="utf-8"><title>PayKeeper</title></head>
<body><div class="content">Личный кабинет PayKeeper</div></body>
</html>
`

const notFoundHTML = `<!DOCTYPE html>
<html><head><title>404 Not Found</title></head>
<body><h1>Not Found</h1><p>The requested URL was not found on this server.</p></body>
</html>
`

// spec is the fake's route table: the cabinet API of [routes], the payer's
// /bill/<id>/ pages and the payment form.
func (s *Server) spec(t fakeserver.Reporter) fakeserver.Spec[Request] {
	tooLarge := htmlResponse(http.StatusRequestEntityTooLarge, "<html><body><h1>413 Request Entity Too Large</h1></body></html>\n")
	table := []fakeserver.Route[Request]{{
		Match:  func(r *http.Request) bool { _, ok := billID(r); return ok },
		Op:     OpBill,
		Faults: fakeserver.NoFaults,
		Handle: func(c *fakeserver.Call[Request]) response { id, _ := billID(c.R); return s.billPage(id) },
	}, {
		Match: func(r *http.Request) bool {
			return r.URL.Path == FormPath && (r.Method == http.MethodGet || r.Method == http.MethodPost)
		},
		Op:     OpForm,
		OpOnly: true, // DropNextOp(OpForm): done, then lost
		Handle: func(c *fakeserver.Call[Request]) response {
			if !c.BodyOK {
				return tooLarge
			}
			if c.R.Method == http.MethodGet {
				return s.formCreate(c.R.URL.Query())
			}
			return s.formCreate(postForm(c.R, c.Body, c.BodyOK))
		},
	}}
	for _, rt := range routes {
		method := http.MethodPost
		if rt.kind == read {
			method = http.MethodGet
		}
		table = append(table, fakeserver.Route[Request]{Method: method, Path: "/" + rt.op + "/", Op: rt.op,
			Handle: func(c *fakeserver.Call[Request]) response {
				if !c.BodyOK {
					return tooLarge
				}
				return s.process(c, rt)
			}})
	}
	return fakeserver.Spec[Request]{
		MaxBody: maxBody,
		Routes:  table,
		Record: func(r *http.Request, body []byte, bodyOK bool, op string) *Request {
			login, _, _ := r.BasicAuth()
			rec := &Request{Op: op, Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(),
				Header: fakeserver.HeaderWithoutAuth(r.Header), User: login, RemoteAddr: r.RemoteAddr, Time: s.now()}
			if form := postForm(r, body, bodyOK); form != nil {
				rec.Form = form
				for i := range rec.Form["token"] {
					rec.Form["token"][i] = MaskedToken
				}
			}
			return rec
		},
		Op:         func(r *Request) string { return r.Op },
		Clone:      cloneRequest,
		Answered:   func(r *Request, status int) { r.Answered = status },
		Unknown:    OpUnknown,
		NotFound:   htmlResponse(http.StatusNotFound, notFoundHTML),
		RoutesHelp: "PayKeeper has no such route",
		T:          t,
		Fail: func(f fakeserver.Fault) response {
			if fakeserver.LooksJSON(f.Body) {
				return response{Status: f.Status, Type: "application/json; charset=utf-8", Body: []byte(f.Body)}
			}
			return htmlResponse(f.Status, f.Body)
		},
		Garbage: htmlResponse(http.StatusOK, HTMLPage),
	}
}

// postForm is the parsed application/x-www-form-urlencoded body of a POST
// (empty when the body is not one), nil for other methods.
func postForm(r *http.Request, body []byte, bodyOK bool) url.Values {
	if r.Method != http.MethodPost {
		return nil
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err == nil &&
		mt == "application/x-www-form-urlencoded" && bodyOK {
		if f, err := url.ParseQuery(string(body)); err == nil {
			return f
		}
	}
	return url.Values{}
}

// process runs the route for an authenticated request; what the handler
// leaves in call.after runs once s.mu is released.
func (s *Server) process(c0 *fakeserver.Call[Request], rt route) response {
	c := &call{r: c0.R, q: c0.R.URL.Query(), form: postForm(c0.R, c0.Body, c0.BodyOK)}
	c.ip, _, _ = net.SplitHostPort(c0.R.RemoteAddr)
	resp := s.run(c0, rt, c)
	if c.after != nil {
		c.after()
	}
	return resp
}

// run checks Basic auth against the cabinet's users, a POST's token and an
// administrator's right, and runs the handler, all under s.mu.
func (s *Server) run(c0 *fakeserver.Call[Request], rt route, c *call) response {
	login, password, ok := c.r.BasicAuth()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, u := range s.users {
		if ok && u.Login == login && subtle.ConstantTimeCompare([]byte(u.Password), []byte(password)) == 1 {
			c.user = u
			break
		}
	}
	if c.user == nil {
		resp := htmlResponse(http.StatusUnauthorized, LoginPageHTML)
		resp.Header = http.Header{"Www-Authenticate": {`Basic realm="PayKeeper"`}}
		return resp
	}
	now := s.now() // this visit, which /info/user/lastvisit/ answers next time
	defer func() { c.user.lastIP, c.user.lastVisit = c.ip, now }()
	if c.r.Method == http.MethodPost {
		cur, sent := s.currentTokenLocked(), c.form.Get("token")
		valid := sent != "" && subtle.ConstantTimeCompare([]byte(sent), []byte(cur)) == 1
		c0.Update(func(rec *Request) { rec.TokenValid = valid })
		if !valid {
			return jsonResponse(obj{{"result", "fail"}, {"msg", MsgBadToken}, {"error_code", ErrorCodeBadToken}})
		}
	}
	if rt.kind == adminChange && !c.user.Admin {
		return fail(MsgNotAdmin)
	}
	return rt.fn(s, c)
}

// Reset forgets the recorded requests, the notifications sent and the token
// fetch count. Payments, invoices, settings, users, the token and queued
// faults stay.
func (s *Server) Reset() {
	s.Fake.Reset()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.notifications = nil
	s.tokenFetches = 0
}

// Faults of the embedded [fakeserver.Faults] (GarbageNext answers 200 with
// [HTMLPage]) and HTMLNext apply to the next
// requests to PayKeeper's API routes (the token included), one request each,
// in the order they were queued, whatever the route. Unknown routes and the
// payer's /bill/ pages do not use one up; the payment form (/create/) takes
// only DropNextOp(OpForm). A FailNext body that starts with '{' or '[' is
// sent as application/json, any other as text/html.

// HTMLNext is GarbageNext under the name this package had first: it
// processes the next n requests and answers 200 with [HTMLPage] instead of
// the JSON, as the cabinet's login redirect or a proxy would.
func (s *Server) HTMLNext(n int) { s.GarbageNext(n) }
