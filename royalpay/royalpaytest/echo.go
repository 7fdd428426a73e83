package royalpaytest

import (
	"net/http"
	"sort"
	"strings"
)

// faultEcho answers with the request echoed back, credentials included:
// a misconfigured proxy or debug page in front of the API. Its value stays
// clear of the iota kinds of server.go.
const faultEcho faultKind = 64

// echoJSON is faultEcho's flag for a {"detail": "<echo>"} body.
const echoJSON = "json"

// EchoNext answers the next n create requests with status and a text/plain
// body that echoes the request without processing it: the request line,
// every header as received (Authorization: Token <token> first) and the
// body. It is what a misconfigured proxy or a debug error page does, and
// what a client must not copy into its errors with the token in it.
func (s *Server) EchoNext(n, status int) {
	s.queue(false, n, fault{kind: faultEcho, status: status})
}

// EchoJSONNext is EchoNext with the echo inside DRF's {"detail": "..."}, as
// application/json: the token arrives JSON-escaped inside an error text.
func (s *Server) EchoJSONNext(n, status int) {
	s.queue(false, n, fault{kind: faultEcho, status: status, body: echoJSON})
}

// EchoGetNext is EchoNext for the next n reads (GET /api/v2/payments/{id}/).
func (s *Server) EchoGetNext(n, status int) {
	s.queue(true, n, fault{kind: faultEcho, status: status})
}

// echoResponse builds faultEcho's answer from r as received.
func echoResponse(r *http.Request, body []byte, f fault) response {
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
	if f.body == echoJSON {
		o := &object{}
		o.add("detail", b.String())
		return jsonResponse(f.status, o)
	}
	return response{status: f.status, ctype: "text/plain; charset=utf-8", body: []byte(b.String())}
}
