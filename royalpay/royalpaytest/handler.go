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

type response struct {
	status int
	ctype  string
	body   []byte
	header http.Header // extra headers, may be nil
}

func jsonResponse(status int, o *object) response {
	return response{status: status, ctype: "application/json", body: o.bytes()}
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

// routeOf classifies a request: OpCreate, OpGet with the id text, or
// OpUnknown.
func routeOf(r *http.Request) (op, id string) {
	p := r.URL.Path
	switch {
	case p == payoutPath && r.Method == http.MethodPost:
		return OpPayoutCreate, ""
	case p == payoutPath && r.Method == http.MethodGet:
		return OpPayoutGet, ""
	case (p == accountPath || p == accountPath+"/" || p == accountPathV2 || p == accountPathV2+"/") && r.Method == http.MethodGet:
		return OpAccount, ""
	}
	if p == createPath {
		if r.Method == http.MethodPost {
			return OpCreate, ""
		}
		return OpUnknown, ""
	}
	rest, ok := strings.CutPrefix(p, createPath)
	if !ok || r.Method != http.MethodGet {
		return OpUnknown, ""
	}
	rest = strings.TrimSuffix(rest, "/")
	if rest == "" || strings.Trim(rest, "0123456789") != "" {
		return OpUnknown, ""
	}
	return OpGet, rest
}

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	body, bodyOK := fakeserver.ReadBody(r, maxBody)
	op, idText := routeOf(r)
	hdr := fakeserver.HeaderWithoutAuth(r.Header)
	timeout := parseRequestTimeout(r.Header.Get("X-Request-Timeout"))
	rec := &Request{
		Op:             op,
		Method:         r.Method,
		Path:           r.URL.Path,
		Header:         hdr,
		Body:           body,
		RemoteAddr:     r.RemoteAddr,
		Time:           s.now(),
		RequestTimeout: timeout,
	}
	s.mu.Lock()
	s.requests.Add(rec)
	s.mu.Unlock()

	if op == OpUnknown {
		if s.t != nil {
			s.t.Errorf("royalpaytest: unexpected request %s %s: RoyalPay has no such route (%s)",
				r.Method, r.URL.RequestURI(), routesHelp)
		}
		s.answer(w, rec, *detailResponse(http.StatusNotFound, msgNotFound))
		return
	}

	switch op {
	case OpPayoutCreate, OpPayoutGet, OpAccount:
		s.servePayout(w, r, rec, op, body, bodyOK)
		return
	}

	f := s.popFault(op)
	switch f.kind {
	case faultFail:
		s.answer(w, rec, failResponse(f))
		return
	case faultEcho:
		s.answer(w, rec, echoResponse(r, body, f))
		return
	}
	if op == OpGet && f.kind == faultDrop {
		s.base.Drop(w)
		return
	}

	if op == OpGet && s.paymentRead != "" && strings.HasSuffix(r.URL.Path, "/") != (s.paymentRead == "/") {
		// WithPaymentReadForm: the host does not route this form.
		s.answer(w, rec, *detailResponse(http.StatusNotFound, msgNotFound))
		return
	}
	if op == OpGet && s.slashRedir != "" && strings.HasSuffix(r.URL.Path, "/") {
		loc := strings.TrimSuffix(r.URL.Path, "/")
		if s.slashRedir != "/" {
			loc = s.slashRedir + loc
		}
		s.answer(w, rec, response{status: http.StatusMovedPermanently, ctype: "text/html; charset=utf-8",
			header: http.Header{"Location": {loc}}, body: []byte{}})
		return
	}

	var resp response
	if op == OpCreate {
		resp = s.create(r, body, bodyOK, f)
	} else {
		resp = s.get(r, idText)
	}

	switch f.kind {
	case faultDrop:
		s.base.Drop(w)
		return
	case faultDelay:
		wait := f.delay
		timedOut := timeout > 0 && timeout < f.delay
		if timedOut {
			wait = timeout
		}
		if !s.base.Wait(r.Context(), wait) {
			s.base.Drop(w)
			return
		}
		if timedOut {
			resp = timeoutResponse()
		}
	case faultTruncate:
		resp.body = resp.body[:len(resp.body)/2]
	case faultGarbage:
		resp = response{status: http.StatusBadGateway, ctype: "text/html", body: []byte(garbageHTML)}
	}
	s.answer(w, rec, resp)
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

func (s *Server) popFault(op string) fault {
	if op == OpGet {
		return s.getFaults.Pop()
	}
	return s.createFaults.Pop()
}

func failResponse(f fault) response {
	if fakeserver.LooksJSON(f.body) {
		return response{status: f.status, ctype: "application/json", body: []byte(f.body)}
	}
	return response{status: f.status, ctype: "text/plain; charset=utf-8", body: []byte(f.body)}
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
		resp.header = http.Header{"Www-Authenticate": {"Token"}}
		return resp
	}
	return nil
}

// create runs POST /api/v2/payments/. f is the fault the request took; the
// provider's errors among them stand in for the creation step.
func (s *Server) create(r *http.Request, body []byte, bodyOK bool, f fault) response {
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
	switch f.kind {
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

	if f.kind == faultServerTimeout {
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

// answer records the status and then writes the response, so a client that
// has its answer always finds it in Requests.
func (s *Server) answer(w http.ResponseWriter, rec *Request, resp response) {
	s.mu.Lock()
	rec.Answered = resp.status
	s.mu.Unlock()
	fakeserver.Write(w, resp.status, resp.ctype, resp.header, resp.body)
}
