package royalpaytest

import (
	"crypto/subtle"
	"fmt"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/paysdk/payments/internal/fakeserver"
)

// maxBody caps the request body the server reads; a larger body is refused
// with 400.
const maxBody = 1 << 20

const (
	createPath = "/api/v2/payments/"
	routesHelp = "only POST " + createPath + ", GET " + createPath + "{id}/, POST and GET " + payoutPath +
		", GET " + accountPath + " and " + accountPathV2
)

const garbageHTML = `<html>
<head><title>502 Bad Gateway</title></head>
<body>
<center><h1>502 Bad Gateway</h1></center>
<hr><center>nginx</center>
</body>
</html>
`

type response = fakeserver.Answer

func jsonResponse(status int, o *object) response {
	return response{Status: status, Type: "application/json", Body: o.bytes()}
}

// detailResponse is DRF's {"detail": "..."}.
func detailResponse(status int, msg string) *response {
	o := &object{}
	o.add("detail", msg)
	r := jsonResponse(status, o)
	return &r
}

// errorResponse is the document's {"error": "...", "code": ...}.
func errorResponse(status int, msg string, code any) response {
	o := &object{}
	o.add("error", msg)
	o.add("code", code)
	return jsonResponse(status, o)
}

func timeoutResponse() response {
	return errorResponse(http.StatusInternalServerError, msgTimeout, 50020)
}

// spec is the fake's route table. Creates take the embedded queue, reads
// their own, payout creates theirs; payout reads and the account none.
func (s *Server) spec(t fakeserver.Reporter) fakeserver.Spec[Request] {
	get := http.MethodGet
	return fakeserver.Spec[Request]{
		MaxBody: maxBody,
		Routes: []fakeserver.Route[Request]{
			{Method: http.MethodPost, Path: payoutPath, Op: OpPayoutCreate, Faults: &s.payoutQ,
				Handle: func(c *fakeserver.Call[Request]) response { return s.createPayout(c.R, c.Body, c.BodyOK) }},
			{Method: get, Path: payoutPath, Op: OpPayoutGet, Faults: fakeserver.NoFaults,
				Handle: func(c *fakeserver.Call[Request]) response { return s.payoutGet(c.R) }},
			{Match: func(r *http.Request) bool {
				p := strings.TrimSuffix(r.URL.Path, "/")
				return r.Method == get && (p == accountPath || p == accountPathV2)
			}, Op: OpAccount, Faults: fakeserver.NoFaults,
				Handle: func(c *fakeserver.Call[Request]) response { return s.account(c.R) }},
			{Method: http.MethodPost, Path: createPath, Op: OpCreate,
				Handle: func(c *fakeserver.Call[Request]) response { return s.create(c.R, c.Body, c.BodyOK, c.Fault) }},
			{Match: func(r *http.Request) bool { _, ok := paymentID(r); return ok }, Op: OpGet, Faults: &s.reads,
				Handle: s.read},
		},
		Record: func(r *http.Request, body []byte, _ bool, op string) *Request {
			return &Request{Op: op, Method: r.Method, Path: r.URL.Path, Header: fakeserver.HeaderWithoutAuth(r.Header),
				Body: body, RemoteAddr: r.RemoteAddr, Time: s.now(),
				RequestTimeout: parseRequestTimeout(r.Header.Get("X-Request-Timeout"))}
		},
		Op:         func(r *Request) string { return r.Op },
		Clone:      cloneRequest,
		Answered:   func(r *Request, status int) { r.Answered = status },
		Unknown:    OpUnknown,
		NotFound:   *detailResponse(http.StatusNotFound, msgNotFound),
		RoutesHelp: "RoyalPay has no such route (" + routesHelp + ")",
		T:          t,
		Fail: func(f fakeserver.Fault) response {
			if fakeserver.LooksJSON(f.Body) {
				return response{Status: f.Status, Type: "application/json", Body: []byte(f.Body)}
			}
			return fakeserver.Text(f.Status, f.Body)
		},
		Garbage: response{Status: http.StatusBadGateway, Type: "text/html", Body: []byte(garbageHTML)},
		Before: func(c *fakeserver.Call[Request]) (response, bool) {
			return echoResponse(c.R, c.Body, c.Fault), c.Fault.Kind == faultEcho
		},
		After: func(c *fakeserver.Call[Request], a *response) {
			switch c.Fault.Kind {
			case fakeserver.FaultDelay:
				// A delay past X-Request-Timeout: the API's own 500 at the
				// timeout (the payment is created all the same).
				if d := parseRequestTimeout(c.R.Header.Get("X-Request-Timeout")); d > 0 && d < c.Fault.Delay {
					c.Fault.Delay, *a = d, timeoutResponse()
				}
			}
		},
	}
}

// paymentID is the id text of a read, GET /api/v2/payments/{id}/ (with or
// without the slash).
func paymentID(r *http.Request) (string, bool) {
	rest, ok := strings.CutPrefix(r.URL.Path, createPath)
	if !ok || r.Method != http.MethodGet {
		return "", false
	}
	rest = strings.TrimSuffix(rest, "/")
	return rest, rest != "" && strings.Trim(rest, "0123456789") == ""
}

// read runs a read, unless WithPaymentReadForm or WithSlashRedirect turn
// its form away.
func (s *Server) read(c *fakeserver.Call[Request]) response {
	r := c.R
	if s.paymentRead != "" && strings.HasSuffix(r.URL.Path, "/") != (s.paymentRead == "/") {
		// WithPaymentReadForm: the host does not route this form.
		return *detailResponse(http.StatusNotFound, msgNotFound)
	}
	if s.slashRedir != "" && strings.HasSuffix(r.URL.Path, "/") {
		loc := strings.TrimSuffix(r.URL.Path, "/")
		if s.slashRedir != "/" {
			loc = s.slashRedir + loc
		}
		return response{Status: http.StatusMovedPermanently, Type: "text/html; charset=utf-8",
			Header: http.Header{"Location": {loc}}, Body: []byte{}}
	}
	id, _ := paymentID(r)
	return s.get(r, id)
}

// parseRequestTimeout reads X-Request-Timeout: whole or decimal seconds
// ("30", "0.5") or a Go duration ("1500ms", "2s"). Anything else, and values
// that are not positive, give 0 (no timeout).
func parseRequestTimeout(v string) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if strings.Trim(v, "0123456789.") == "" {
		v += "s"
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return 0
	}
	return d
}

// authenticate checks "Authorization: Token <token>" as DRF's
// TokenAuthentication does (the keyword in any case). It returns nil when the
// request may go on.
func (s *Server) authenticate(r *http.Request) *response {
	parts := strings.Fields(r.Header.Get("Authorization"))
	if len(parts) == 0 || !strings.EqualFold(parts[0], "Token") {
		// No credentials for TokenAuthentication: the document's 403.
		inner := &object{}
		inner.add("code", 10401)
		inner.add("msg", msgNoAuth)
		o := &object{}
		o.add("error", inner)
		resp := jsonResponse(http.StatusForbidden, o)
		return &resp
	}
	if len(parts) != 2 || subtle.ConstantTimeCompare([]byte(parts[1]), []byte(s.token)) != 1 {
		resp := detailResponse(http.StatusUnauthorized, msgBadToken)
		resp.Header = http.Header{"Www-Authenticate": {"Token"}}
		return resp
	}
	return nil
}

// create runs POST /api/v2/payments/. f is the fault the request took; the
// provider's errors among them stand in for the creation step.
func (s *Server) create(r *http.Request, body []byte, bodyOK bool, f fakeserver.Fault) response {
	if resp := s.authenticate(r); resp != nil {
		return *resp
	}
	s.mu.Lock()
	reason := s.blocked
	s.mu.Unlock()
	if reason != "" {
		return errorResponse(http.StatusForbidden, msgBlocked+reason, 50000)
	}
	if !bodyOK {
		return *detailResponse(http.StatusBadRequest, "Request body too large.")
	}
	ct := r.Header.Get("Content-Type")
	if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/json" {
		return *detailResponse(http.StatusBadRequest, fmt.Sprintf(msgUnsupported, ct))
	}
	in, bad := parseCreate(body)
	if bad != nil {
		return *bad
	}
	switch f.Kind {
	case faultNoCards:
		return errorResponse(http.StatusBadRequest, msgNoCards, 40005)
	case faultNoCards40006:
		return errorResponse(http.StatusBadRequest, msgNoCards, 40006)
	case faultCreationFailed:
		return errorResponse(http.StatusBadRequest, msgCreateFailed, "30002")
	}

	s.mu.Lock()
	p := s.newPaymentLocked(in)
	out := p.json()
	s.scheduleLocked(p.ID)
	s.mu.Unlock()

	if f.Kind == faultServerTimeout {
		return timeoutResponse()
	}
	return jsonResponse(http.StatusOK, out)
}

// get runs GET /api/v2/payments/{id}/.
func (s *Server) get(r *http.Request, idText string) response {
	if resp := s.authenticate(r); resp != nil {
		return *resp
	}
	id, err := strconv.ParseInt(idText, 10, 64)
	s.mu.Lock()
	p := s.payments[id]
	var out *object
	if err == nil && p != nil {
		out = p.json()
	}
	s.mu.Unlock()
	if out == nil {
		return *detailResponse(http.StatusNotFound, msgNotFound)
	}
	return jsonResponse(http.StatusOK, out)
}
