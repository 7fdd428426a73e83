package royalpaytest

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/paysdk/payments/internal/fakeserver"
)

// WithSlashRedirect makes GET /api/v2/payments/{id}/ answer 301 with
// Location "/api/v2/payments/{id}" (no trailing slash), which then serves
// the payment: the path the adapter of imfoxboy/Eight-Connect uses. With
// a non-empty host, the Location is "https://<host>/api/v2/payments/{id}"
// instead (another host, which a client must not follow).
func WithSlashRedirect(host string) Option {
	return func(c *config) { c.slashRedirect = &host }
}

// WithPaymentReadForm makes the server route only one form of the payment
// read: GET /api/v2/payments/{id}/ when withSlash, GET
// /api/v2/payments/{id} otherwise (the form the adapter of
// imfoxboy/Eight-Connect uses). The other form answers 404 {"detail":
// "Страница не найдена."}, as a route the host does not have; it is
// recorded as [OpGet] (so [Server.Count] shows a client trying both) and is
// not reported through [WithT]. Without this option both forms are served.
func WithPaymentReadForm(withSlash bool) Option {
	return func(c *config) { c.paymentRead = &withSlash }
}

// paymentID is the id of a read, GET /api/v2/payments/{id}/ (with or
// without the slash); ok is false for any other request.
func paymentID(r *http.Request) (id int64, ok bool) {
	rest, ok := strings.CutPrefix(r.URL.Path, createPath)
	rest = strings.TrimSuffix(rest, "/")
	id, _ = strconv.ParseInt(rest, 10, 64) // too many digits: no payment has the max it gives
	return id, ok && r.Method == http.MethodGet && fakeserver.Digits(rest)
}

// read runs GET /api/v2/payments/{id}/, unless WithPaymentReadForm or
// WithSlashRedirect turn its form away.
func (s *Server) read(c *call) response {
	path := c.R.URL.Path
	slash := strings.HasSuffix(path, "/")
	switch {
	case s.paymentRead != nil && slash != *s.paymentRead:
		return detailResponse(http.StatusNotFound, msgNotFound) // the host does not route this form
	case s.slashRedirect != nil && slash:
		loc := strings.TrimSuffix(path, "/")
		if *s.slashRedirect != "" {
			loc = "https://" + *s.slashRedirect + loc
		}
		return response{Status: http.StatusMovedPermanently, Type: "text/html; charset=utf-8",
			Header: http.Header{"Location": {loc}}, Body: []byte{}}
	}
	if a := authenticate(c.R, true, s.token); a != nil {
		return *a
	}
	id, _ := paymentID(c.R)
	p, ok := find(s, &s.payments, id)
	if !ok {
		return detailResponse(http.StatusNotFound, msgNotFound)
	}
	return jsonResponse(http.StatusOK, p.json())
}

// FailGetNext answers the next n reads (GET /api/v2/payments/{id}/) with
// status and body without processing them, like FailNext for creates.
func (s *Server) FailGetNext(n, status int, body string) {
	s.reads.FailNext(n, status, body)
}

// DropGetNext closes the connection of the next n reads without an answer.
// Note that net/http clients may resend a GET once on a fresh connection
// after such a drop, using up the next queued read fault.
func (s *Server) DropGetNext(n int) { s.reads.DropBeforeNext(n) }

// EchoGetNext is EchoNext for the next n reads (GET /api/v2/payments/{id}/).
func (s *Server) EchoGetNext(n, status int) {
	fakeserver.Enqueue(&s.reads, n, fakeserver.Fault{Kind: faultEcho, Status: status})
}
