package paykeepertest

import (
	"crypto/subtle"
	"errors"
	"html"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/paysdk/payments/internal/fakeserver"
)

// maxBody caps the request body the server reads; a larger body is refused
// with 413.
const maxBody = 1 << 20

type response struct {
	status int
	ctype  string
	body   []byte
	header http.Header // extra headers, may be nil

	// A streamed body (the export): length bytes written by stream.
	length int64
	stream func(w io.Writer) error
}

func jsonResponse(v any) response {
	return response{status: http.StatusOK, ctype: "application/json; charset=utf-8", body: encode(v)}
}

func success() response { return jsonResponse(obj{{"result", "success"}}) }

func fail(msg string) response { return jsonResponse(obj{{"result", "fail"}, {"msg", msg}}) }

func htmlResponse(status int, page string) response {
	return response{status: status, ctype: "text/html; charset=utf-8", body: []byte(page)}
}

// call is one authenticated request being handled.
type call struct {
	r      *http.Request
	q      url.Values
	form   url.Values
	user   *user
	prevIP string    // the user's previous visit, "" on the first
	prevAt time.Time // zero on the first visit
	ip     string
}

type handlerFunc func(s *Server, c *call) response

type route struct {
	method string
	fn     handlerFunc
}

// routes are PayKeeper's cabinet API: the document's sections 1-8 and, from
// observed use in public integrations, capture, revoke and search.
var routes map[string]route

func init() {
	get := func(fn handlerFunc) route { return route{http.MethodGet, fn} }
	post := func(fn handlerFunc) route { return route{http.MethodPost, fn} }
	routes = map[string]route{
		pathToken: get((*Server).hToken),

		"/info/systems/list/":         get((*Server).hSystemsList),
		"/info/systems/sums/":         get((*Server).hSystemsSums),
		"/info/systems/sums/details/": get((*Server).hSystemsDetails),
		"/info/systems/allsum/":       get((*Server).hSystemsAllSum),

		"/info/payments/bydate/":             get((*Server).hPaymentsByDate),
		"/info/payments/bydatecount/":        get((*Server).hPaymentsByDateCount),
		"/info/payments/byid/":               get((*Server).hPaymentByID),
		"/info/payments/search/":             get((*Server).hPaymentsSearch),
		"/info/options/byid/":                get((*Server).hOptionsByID),
		"/info/params/byid/":                 get((*Server).hParamsByID),
		"/info/httplog/byid/":                get((*Server).hHTTPLogByID),
		"/info/refunds/bypaymentid/":         get((*Server).hRefunds),
		"/change/payment/reverse/":           post((*Server).hReverse),
		"/change/payment/repeatcnt/":         post((*Server).hRepeatCnt),
		"/change/payment/capture/":           post((*Server).hCapture),
		"/change/binding/execute/":           post((*Server).hBindingExecute),
		"/change/payment/post-sale-receipt/": post((*Server).hPostSaleReceipt),
		"/change/receipt/print/":             post((*Server).hReceiptPrint),
		"/info/receipts/bypaymentid/":        get((*Server).hReceipts),
		"/info/errors/total/":                get((*Server).hErrorsTotal),

		"/info/invoice/byid/":      get((*Server).hInvoiceByID),
		"/info/invoice/list/":      get((*Server).hInvoiceList),
		"/info/invoice/listcount/": get((*Server).hInvoiceListCount),
		"/change/invoice/preview/": post((*Server).hInvoicePreview),
		"/change/invoice/send/":    post((*Server).hInvoiceSend),
		"/change/invoice/revoke/":  post((*Server).hInvoiceRevoke),

		"/info/user/settings/":              get((*Server).hUserSettings),
		"/info/user/lastvisit/":             get((*Server).hUserLastVisit),
		"/info/organization/settings/":      get((*Server).hOrgSettings),
		"/info/organization/notifications/": get((*Server).hOrgNotifications),
		"/info/organization/fields/":        get((*Server).hOrgFields),
		"/info/organization/reportemails/":  get((*Server).hOrgReportEmails),
		"/info/organization/users/":         get((*Server).hOrgUsers),

		"/change/organization/setting/":           post((*Server).hChangeSetting),
		"/change/organization/formfield/":         post((*Server).hChangeFormField),
		"/change/organization/addreportemail/":    post((*Server).hAddReportEmail),
		"/change/organization/deletereportemail/": post((*Server).hDeleteReportEmail),
		"/change/user/add/":                       post((*Server).hUserAdd),
		"/change/user/update/":                    post((*Server).hUserUpdate),
		"/change/user/delete/":                    post((*Server).hUserDelete),

		"/export/payments/": get((*Server).hExportPayments),
	}
}

const pathToken = "/info/settings/token/"

// billPrefix is the payer's invoice page, /bill/<id>/, served without
// authentication.
const billPrefix = "/bill/"

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

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	body, bodyOK := fakeserver.ReadBody(r, maxBody)
	hdr := fakeserver.HeaderWithoutAuth(r.Header)
	login, _, _ := r.BasicAuth()
	rec := &Request{
		Method:     r.Method,
		Path:       r.URL.Path,
		Query:      r.URL.Query(),
		Header:     hdr,
		User:       login,
		RemoteAddr: r.RemoteAddr,
		Time:       s.now(),
	}
	var form url.Values
	if r.Method == http.MethodPost {
		form = url.Values{}
		if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err == nil &&
			mt == "application/x-www-form-urlencoded" && bodyOK {
			if f, err := url.ParseQuery(string(body)); err == nil {
				form = f
			}
		}
		rec.Form = cloneValues(form)
		if _, ok := rec.Form["token"]; ok {
			for i := range rec.Form["token"] {
				rec.Form["token"][i] = MaskedToken
			}
		}
	}
	s.mu.Lock()
	s.requests.Add(rec)
	s.mu.Unlock()

	if id, ok := billID(r); ok {
		s.answer(w, rec, s.billPage(id))
		return
	}
	if r.URL.Path == FormPath && (r.Method == http.MethodGet || r.Method == http.MethodPost) {
		if r.Method == http.MethodGet {
			form = r.URL.Query()
		}
		resp := htmlResponse(http.StatusRequestEntityTooLarge, "<html><body><h1>413 Request Entity Too Large</h1></body></html>\n")
		if bodyOK {
			resp = s.formCreate(form)
		}
		if _, drop := s.popOpFault(OpForm); drop { // DropNextOp(OpForm): done, then lost
			s.base.Drop(w)
			return
		}
		s.answer(w, rec, resp)
		return
	}
	rt, ok := routes[r.URL.Path]
	if !ok || rt.method != r.Method {
		if s.t != nil {
			s.t.Helper()
			s.t.Errorf("paykeepertest: unexpected request %s %s: PayKeeper has no such route", r.Method, r.URL.RequestURI())
		}
		s.answer(w, rec, htmlResponse(http.StatusNotFound, notFoundHTML))
		return
	}

	f, ok := s.popOpFault(opOf(r.Method, r.URL.Path)) // DropNextOp, opfaults.go
	if !ok {
		f = s.faults.Pop()
	}
	if f.kind == faultFail {
		s.answer(w, rec, failResponse(f))
		return
	}

	var resp response
	switch {
	case !bodyOK:
		resp = htmlResponse(http.StatusRequestEntityTooLarge, "<html><body><h1>413 Request Entity Too Large</h1></body></html>\n")
	default:
		resp = s.process(r, rec, rt, form)
	}

	switch f.kind {
	case faultDrop:
		s.base.Drop(w)
		return
	case faultDelay:
		if !s.base.Wait(r.Context(), f.delay) {
			s.base.Drop(w)
			return
		}
	case faultTruncate:
		if resp.stream != nil {
			resp.length /= 2
		} else {
			resp.body = resp.body[:len(resp.body)/2]
		}
	case faultHTML:
		resp = htmlResponse(http.StatusOK, HTMLPage)
	}
	s.answer(w, rec, resp)
}

// process authenticates the request, checks a POST's token and runs the
// route.
func (s *Server) process(r *http.Request, rec *Request, rt route, form url.Values) response {
	u, ok := s.authenticate(r)
	if !ok {
		resp := htmlResponse(http.StatusUnauthorized, LoginPageHTML)
		resp.header = http.Header{"Www-Authenticate": {`Basic realm="PayKeeper"`}}
		return resp
	}
	ip, _, _ := net.SplitHostPort(r.RemoteAddr)
	c := &call{r: r, q: r.URL.Query(), form: form, ip: ip}
	s.mu.Lock()
	c.user = u
	c.prevIP, c.prevAt = u.lastIP, u.lastVisit
	u.lastIP, u.lastVisit = ip, s.now()
	if r.Method == http.MethodPost {
		sent := form.Get("token")
		cur := s.currentTokenLocked()
		rec.TokenValid = sent != "" && subtle.ConstantTimeCompare([]byte(sent), []byte(cur)) == 1
	}
	valid := rec.TokenValid
	s.mu.Unlock()
	if r.Method == http.MethodPost && !valid {
		return jsonResponse(obj{{"result", "fail"}, {"msg", MsgBadToken}, {"error_code", ErrorCodeBadToken}})
	}
	return rt.fn(s, c)
}

// ErrorCodeBadToken is the error_code of the fail object answered to a POST
// without the current security token.
const ErrorCodeBadToken = 67

// authenticate checks Basic auth against the cabinet's users.
func (s *Server) authenticate(r *http.Request) (*user, bool) {
	login, password, ok := r.BasicAuth()
	if !ok {
		return nil, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, u := range s.users {
		if u.login == login && subtle.ConstantTimeCompare([]byte(u.password), []byte(password)) == 1 {
			return u, true
		}
	}
	return nil, false
}

func failResponse(f fault) response {
	if fakeserver.LooksJSON(f.body) {
		return response{status: f.status, ctype: "application/json; charset=utf-8", body: []byte(f.body)}
	}
	return response{status: f.status, ctype: "text/html; charset=utf-8", body: []byte(f.body)}
}

func billID(r *http.Request) (string, bool) {
	rest, ok := strings.CutPrefix(r.URL.Path, billPrefix)
	if !ok || r.Method != http.MethodGet {
		return "", false
	}
	rest = strings.TrimSuffix(rest, "/")
	if rest == "" || strings.Trim(rest, "0123456789") != "" {
		return "", false
	}
	return rest, true
}

// billPage is the payer's page of an invoice (no authentication).
func (s *Server) billPage(id string) response {
	s.mu.Lock()
	s.expireDueLocked()
	v := s.invoices[id]
	var rec InvoiceRecord
	if v != nil {
		rec = v.record()
	}
	s.mu.Unlock()
	if v == nil {
		return htmlResponse(http.StatusNotFound, notFoundHTML)
	}
	return htmlResponse(http.StatusOK, `<!DOCTYPE html>
<html lang="ru"><head><meta charset="utf-8"><title>Оплата счёта № `+rec.ID+`</title></head>
<body><h1>Счёт № `+rec.ID+`</h1>
<p class="amount">`+rec.Amount+` руб.</p>
<p class="service">`+html.EscapeString(displayServiceName(rec.ServiceName))+`</p>
<p class="status">`+rec.Status+`</p>
</body></html>
`)
}

var errTruncated = errors.New("paykeepertest: body truncated")

// limitWriter passes through n bytes, then fails.
type limitWriter struct {
	w io.Writer
	n int64
}

func (l *limitWriter) Write(p []byte) (int, error) {
	if l.n <= 0 {
		return 0, errTruncated
	}
	if int64(len(p)) > l.n {
		k, err := l.w.Write(p[:l.n])
		l.n -= int64(k)
		if err == nil {
			err = errTruncated
		}
		return k, err
	}
	k, err := l.w.Write(p)
	l.n -= int64(k)
	return k, err
}

// answer records the status and then writes the response, so a client that
// has its answer always finds it in Requests.
func (s *Server) answer(w http.ResponseWriter, rec *Request, resp response) {
	s.mu.Lock()
	rec.Answered = resp.status
	s.mu.Unlock()
	if resp.stream == nil {
		fakeserver.Write(w, resp.status, resp.ctype, resp.header, resp.body)
		return
	}
	h := w.Header()
	for k, vs := range resp.header {
		h[k] = vs
	}
	h.Set("Content-Type", resp.ctype)
	h.Set("Content-Length", strconv.FormatInt(resp.length, 10))
	w.WriteHeader(resp.status)
	_ = resp.stream(&limitWriter{w: w, n: resp.length})
}
