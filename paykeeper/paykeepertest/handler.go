package paykeepertest

import (
	"crypto/subtle"
	"html"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/paysdk/payments/internal/fakeserver"
)

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
	for path, rt := range routes {
		table = append(table, fakeserver.Route[Request]{Method: rt.method, Path: path, Op: strings.Trim(path, "/"),
			Handle: func(c *fakeserver.Call[Request]) response {
				if !c.BodyOK {
					return tooLarge
				}
				return s.process(c, rt, postForm(c.R, c.Body, c.BodyOK))
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

// process authenticates the request, checks a POST's token and runs the
// route.
func (s *Server) process(c0 *fakeserver.Call[Request], rt route, form url.Values) response {
	r := c0.R
	u, ok := s.authenticate(r)
	if !ok {
		resp := htmlResponse(http.StatusUnauthorized, LoginPageHTML)
		resp.Header = http.Header{"Www-Authenticate": {`Basic realm="PayKeeper"`}}
		return resp
	}
	ip, _, _ := net.SplitHostPort(r.RemoteAddr)
	c := &call{r: r, q: r.URL.Query(), form: form, ip: ip}
	s.mu.Lock()
	c.user = u
	c.prevIP, c.prevAt = u.lastIP, u.lastVisit
	u.lastIP, u.lastVisit = ip, s.now()
	valid := false
	if r.Method == http.MethodPost {
		sent := form.Get("token")
		cur := s.currentTokenLocked()
		valid = sent != "" && subtle.ConstantTimeCompare([]byte(sent), []byte(cur)) == 1
		c0.Update(func(rec *Request) { rec.TokenValid = valid })
	}
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
