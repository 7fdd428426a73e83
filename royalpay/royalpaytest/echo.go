package royalpaytest

import (
	"github.com/paysdk/payments/internal/fakeserver"
	"net/http"
	"sort"
	"strings"
)

// faultEcho answers with the request echoed back, credentials included:
// a misconfigured proxy or debug page in front of the API.
const faultEcho = fakeserver.FaultCustom + 32

// echoJSON is faultEcho's flag for a {"detail": "<echo>"} body.
const echoJSON = "json"

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
	fakeserver.Enqueue(&s.Faults, n, fakeserver.Fault{Kind: faultEcho, Status: status, Body: echoJSON})
}

// EchoGetNext is EchoNext for the next n reads (GET /api/v2/payments/{id}/).
func (s *Server) EchoGetNext(n, status int) {
	fakeserver.Enqueue(&s.reads, n, fakeserver.Fault{Kind: faultEcho, Status: status})
}

// echoResponse builds faultEcho's answer from r as received.
func echoResponse(r *http.Request, body []byte, f fakeserver.Fault) response {
	var b strings.Builder
	if auth := r.Header.Get("Authorization"); auth != "" {
		b.WriteString("Authorization: " + auth + "\n")
	}
	b.WriteString(r.Method + " " + r.URL.RequestURI() + " " + r.Proto + "\n")
	keys := make([]string, 0, len(r.Header))
	for k := range r.Header {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		for _, v := range r.Header[k] {
			b.WriteString(k + ": " + v + "\n")
		}
	}
	b.WriteString("\n")
	b.Write(body)
	if f.Body == echoJSON {
		o := &object{}
		o.add("detail", b.String())
		return jsonResponse(f.Status, o)
	}
	return fakeserver.Text(f.Status, b.String())
}
