package popolnitest

import (
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/paysdk/payments/internal/fakeserver"
)

// Host is the provider's host name. The server's certificate is issued for it,
// and clients must send it as the TLS server name (by pinning it to
// [Server.Addr]).
const Host = "popolni.club"

// The plain-text bodies of the 403 answers, verbatim from the document, and
// the body of the 503 answer to a request over the rate limit.
const (
	TextInsecureConnection = "Insecure connection is not allowed"
	TextIncorrectAuth      = "Incorrect auth data"
	TextAPIDisabled        = "API disabled"
	TextIPNotAllowed       = "IP is not allowed"
	TextIncorrectFormat    = "Incorrect data format"
	TextUnscheduled        = "Request rejected entered unscheduled"
	TextRateLimited        = "503 Service Temporarily Unavailable"
)

// Payment statuses the fake assigns (the document's table, section 3).
const (
	statusReceived          = 0
	statusInProgress        = 2
	statusSuccess           = 3
	statusInsufficientFunds = 101
	statusDuplicate         = 124
	statusNotFound          = 125
	statusCanceled          = 208
	statusGatewayError      = 215
	statusBlacklisted       = 423
)

// Server is a running fake popolni.club API. Make one with [NewServer] and
// [Server.Close] it when done. All methods are safe for concurrent use,
// including while requests are being served.
type Server struct {
	// Fake serves the route table and holds the fault switches (FailNext,
	// DropNext, DropBeforeNext, DelayNext, TruncateNext, GarbageNext,
	// DropNextOp) and the request log (Requests, Count, Reset) shared by
	// every fake.
	*fakeserver.Fake[Request]
	// Sources is the source-address allowlist: SetAllowedIPs.
	fakeserver.Sources
	base *fakeserver.Base

	mu           sync.Mutex  // guards config's state and everything below
	config                   // the options, then the state they set
	reserved     int64       // sum of amounts of payments in status 0 or 2
	admitted     []time.Time // admitted within the last second
	excessUsed   []time.Time // admitted over the rate within the last 10 minutes
	payments     map[int64]*payment
	order        []int64
	failAccounts map[string]int
	blacklist    map[string]bool
	notFoundOnce map[int64]int
}

// NewServer starts a fake popolni.club API on 127.0.0.1 with a random port,
// serving TLS with a certificate for [Host] from a fresh test CA. Like
// httptest.NewServer it panics only if the CA or the listener cannot be made.
func NewServer(opts ...Option) *Server {
	s := &Server{
		base: fakeserver.New(fakeserver.Config{
			Name:  "popolnitest",
			Hosts: []string{Host},
			// Plain HTTP on the same port is answered 403, as popolni.club does.
			Listen: newSniffListener,
		}),
		config:       fakeserver.Configure(defaultConfig(), opts),
		payments:     map[int64]*payment{},
		failAccounts: map[string]int{},
		blacklist:    map[string]bool{},
		notFoundOnce: map[int64]int{},
	}
	if err := s.SetAllowedIPs(s.allowedIPs...); err != nil && s.t != nil {
		s.t.Helper()
		s.t.Errorf("popolnitest: WithAllowedIPs: %v", err)
	}
	s.Fake = fakeserver.Start(s.base, s.spec(s.t))
	if s.t != nil {
		s.t.Cleanup(s.Close)
	}
	return s
}

// URL returns the API URL, "https://popolni.club:<port>/api". The host is the
// real one: the client must resolve it to [Server.Addr].
func (s *Server) URL() string { return s.base.URL(Host, "/api") }

// newClient builds a client like Client's, bound to the source address local
// when it is not nil.
func (s *Server) newClient(local net.Addr) *http.Client { return s.base.NewClient(local, nil) }

// locked runs fn under the state lock.
func (s *Server) locked(fn func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fn()
}

// Login returns the Basic-auth login the server accepts.
func (s *Server) Login() (login string) {
	s.locked(func() { login = s.login })
	return login
}

// Password returns the Basic-auth password the server accepts.
func (s *Server) Password() (password string) {
	s.locked(func() { password = s.password })
	return password
}

// SetCredentials replaces the accepted login and password; requests with the
// old ones get 403 "Incorrect auth data".
func (s *Server) SetCredentials(login, password string) {
	s.locked(func() { s.login, s.password = login, password })
}

// SetAPIEnabled switches the API on or off, as the partner can in the web
// cabinet. While off, authenticated requests from allowed addresses get 403
// "API disabled".
func (s *Server) SetAPIEnabled(on bool) { s.locked(func() { s.apiEnabled = on }) }

// SetInSchedule says whether "now" falls inside the partner's API schedule.
// While false, requests that pass the other checks get 403 "Request rejected
// entered unscheduled".
func (s *Server) SetInSchedule(in bool) { s.locked(func() { s.inSchedule = in }) }

// SetBalance sets the current balance and credit limit in kopecks.
func (s *Server) SetBalance(current, creditLimit int64) {
	s.locked(func() { s.current, s.credit = current, creditLimit })
}

// Balance returns the current balance and credit limit in kopecks, what
// GET /api?balance= answers.
func (s *Server) Balance() (current, creditLimit int64) {
	s.locked(func() { current, creditLimit = s.current, s.credit })
	return current, creditLimit
}

// FailAccount makes payments to msisdn end in status (a final code such as
// 101, 121, 208, 215 or 423) instead of 3 when they reach their final step,
// including payments already pending. FailAccount(msisdn, 3) undoes it.
func (s *Server) FailAccount(msisdn string, status int) {
	s.locked(func() {
		if status == statusSuccess {
			delete(s.failAccounts, msisdn)
		} else {
			s.failAccounts[msisdn] = status
		}
	})
}

// Blacklist puts msisdn on the partner's blacklist: new payments to it are
// answered 423 at once, pending ones end in 423, and status queries for such a
// payment then alternate 125, 423, 125, 423... as the document describes.
func (s *Server) Blacklist(msisdn string) { s.locked(func() { s.blacklist[msisdn] = true }) }

// NotFoundOnce makes the next status query that includes the existing payment
// id answer 125 for it once (the document's transient answer while a payment
// moves between queues); that query does not move the payment, and the
// following one answers the truth. Calls add up.
func (s *Server) NotFoundOnce(id int64) { s.locked(func() { s.notFoundOnce[id]++ }) }

// SetNotFoundFirst switches [WithNotFoundFirst] on or off: while on, the
// first status query that includes a payment (its Polls becoming 1) answers
// 125 for it without moving it. Payments already asked about are not
// affected.
func (s *Server) SetNotFoundFirst(on bool) { s.locked(func() { s.notFoundFirst = on }) }

// withPayment runs fn on payment id under the state lock; it reports whether
// the payment exists.
func (s *Server) withPayment(id int64, fn func(p *payment)) (ok bool) {
	s.locked(func() {
		if p := s.payments[id]; p != nil {
			ok = true
			fn(p)
		}
	})
	return ok
}

// Complete moves payment id straight to its final status (3, or what
// FailAccount or Blacklist says), with the balance effect. A payment already
// final is left alone. It reports whether the payment exists.
func (s *Server) Complete(id int64) bool {
	return s.withPayment(id, func(p *payment) {
		if pending(p.Status) {
			s.transitionLocked(p, s.finalForLocked(p))
		}
	})
}

// SetStatus sets the status of payment id to any code. Entering 3 debits the
// balance by the amount, leaving 3 credits it back, and statuses 0 and 2
// reserve the amount against new payments. It reports whether the payment
// exists.
func (s *Server) SetStatus(id int64, status int) bool {
	return s.withPayment(id, func(p *payment) { s.transitionLocked(p, status) })
}

// PaymentRecord is what the server holds about one payment.
type PaymentRecord struct {
	TransactionID int64
	Amount        int64 // kopecks; 0 if the item's amount was not a valid integer
	Msisdn        string
	MsisdnNotice  string // as sent; "" if absent
	TemplateID    int64  // 0 if absent
	Status        int    // current status
	Polls         int    // status queries that included this payment
	Created       time.Time
}

// Payment returns the payment with transaction id, if the server has it.
func (s *Server) Payment(id int64) (rec PaymentRecord, ok bool) {
	ok = s.withPayment(id, func(p *payment) { rec = p.PaymentRecord })
	return rec, ok
}

// Payments returns every stored payment in the order they were created.
func (s *Server) Payments() (out []PaymentRecord) {
	s.locked(func() {
		out = make([]PaymentRecord, 0, len(s.order))
		for _, id := range s.order {
			out = append(out, s.payments[id].PaymentRecord)
		}
	})
	return out
}

// Request is one request the server received.
type Request struct {
	// Op is OpPay, OpStatus, OpBalance, OpInvalid (a POST to /api whose body is
	// neither a payment batch nor a status query) or OpUnknown (a route
	// popolni.club does not have). It describes the request, whatever its
	// outcome.
	Op         string
	Method     string
	Path       string
	RawQuery   string
	Header     http.Header // as received, without Authorization
	Body       []byte
	RemoteAddr string
	Time       time.Time
	// Answered is the HTTP status sent, or 0 if the connection was dropped
	// (or the client went away) without an answer, or the request is still
	// being handled.
	Answered int
}

// Values of [Request.Op] and arguments of [Server.Count].
const (
	OpPay     = "pay"
	OpStatus  = "status"
	OpBalance = "balance"
	OpInvalid = "invalid"
	OpUnknown = "unknown"
)
