package popolnitest

import (
	"bytes"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"math"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/paysdk/payments/internal/fakeserver"
)

// maxBody caps the request body the server reads; a larger body is refused
// with 403 "Incorrect data format".
const maxBody = 1 << 20

// rateExcessWindow is the "last 10 minutes" of the document's tolerance.
const rateExcessWindow = 10 * time.Minute

const garbageHTML = `<!DOCTYPE html>
<html><head><title>502 Bad Gateway</title></head>
<body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>
`

type payment struct {
	PaymentRecord
	// flip alternates the answers of a payment that stays in 423: true means
	// the last status query answered 125.
	flip bool
}

func pending(status int) bool { return status == statusReceived || status == statusInProgress }

func jsonResponse(body []byte) fakeserver.Answer {
	return fakeserver.Answer{Status: http.StatusOK, Type: "application/json", Body: body}
}

// spec is the fake's route table: POST /api (a payment batch or a status
// query, told apart by the body) and GET /api?balance=, either path with a
// trailing slash.
func (s *Server) spec(t fakeserver.Reporter) fakeserver.Spec[Request] {
	api := func(r *http.Request, method string) bool {
		return (r.URL.Path == "/api" || r.URL.Path == "/api/") && r.Method == method
	}
	return fakeserver.Spec[Request]{
		MaxBody: maxBody,
		Routes: []fakeserver.Route[Request]{{
			Match: func(r *http.Request) bool { return api(r, http.MethodPost) },
			OpOf: func(_ *http.Request, body []byte, ok bool) string {
				_, op := parseItems(body, ok)
				return op
			},
			Handle: s.process,
		}, {
			Match:  func(r *http.Request) bool { return api(r, http.MethodGet) && r.URL.Query().Has("balance") },
			Op:     OpBalance,
			Handle: s.process,
		}},
		Record: func(r *http.Request, body []byte, _ bool, op string) *Request {
			return &Request{Op: op, Method: r.Method, Path: r.URL.Path, RawQuery: r.URL.RawQuery,
				Header: fakeserver.HeaderWithoutAuth(r.Header), Body: body, RemoteAddr: r.RemoteAddr, Time: s.now()}
		},
		Op: func(r *Request) string { return r.Op },
		Clone: func(r Request) Request {
			r.Header, r.Body = r.Header.Clone(), append([]byte(nil), r.Body...)
			return r
		},
		Answered:   func(r *Request, status int) { r.Answered = status },
		Unknown:    OpUnknown,
		NotFound:   fakeserver.Text(http.StatusNotFound, "Not Found"),
		RoutesHelp: "popolni.club has no such route (only POST /api and GET /api?balance=)",
		T:          t,
		// Plain HTTP on the TLS port: popolni.club's 403, before any fault.
		Gate: func(r *http.Request) (fakeserver.Answer, bool) {
			return fakeserver.Text(http.StatusForbidden, TextInsecureConnection), r.TLS == nil
		},
		Fail: func(f fakeserver.Fault) fakeserver.Answer {
			if fakeserver.LooksJSON(f.Body) {
				return fakeserver.Answer{Status: f.Status, Type: "application/json", Body: []byte(f.Body)}
			}
			return fakeserver.Text(f.Status, f.Body)
		},
		Garbage: fakeserver.Answer{Status: http.StatusOK, Type: "text/html; charset=utf-8", Body: []byte(garbageHTML)},
	}
}

// process is both routes: it runs the checks in the order the package
// documentation gives, then the operation, under the state lock, so each
// request is atomic with respect to the others.
func (s *Server) process(c *fakeserver.Call[Request]) fakeserver.Answer {
	s.mu.Lock()
	defer s.mu.Unlock()
	now, r := s.now(), c.R
	if !s.admitLocked(now) {
		return fakeserver.Text(http.StatusServiceUnavailable, TextRateLimited)
	}
	user, pass, ok := r.BasicAuth()
	ok = ok && subtle.ConstantTimeCompare([]byte(user), []byte(s.login)) == 1 &&
		subtle.ConstantTimeCompare([]byte(pass), []byte(s.password)) == 1
	items, op := parseItems(c.Body, c.BodyOK)
	var refusal string
	switch mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); {
	case !ok:
		refusal = TextIncorrectAuth
	case !fakeserver.Allowed(&s.Sources, r.RemoteAddr):
		refusal = TextIPNotAllowed
	case !s.apiEnabled:
		refusal = TextAPIDisabled
	case !s.inSchedule:
		refusal = TextUnscheduled
	case r.Method == http.MethodGet:
		return jsonResponse(fmt.Appendf(nil, `{"currentBalance":%d,"creditLimit":%d}`, s.current, s.credit))
	case err != nil || mt != "application/json" || op == OpInvalid:
		refusal = TextIncorrectFormat
	case op == OpPay:
		return s.payLocked(items, now)
	default:
		return s.statusLocked(items)
	}
	return fakeserver.Text(http.StatusForbidden, refusal)
}

// admitLocked applies the rate limit: at most rateLimit admitted requests in
// the window (now-1s, now], plus up to rateExcess more within the last ten
// minutes. Refused requests do not count.
func (s *Server) admitLocked(now time.Time) bool {
	if s.rateLimit <= 0 {
		return true
	}
	s.admitted = prune(s.admitted, now.Add(-time.Second))
	if len(s.admitted) < s.rateLimit {
		s.admitted = append(s.admitted, now)
		return true
	}
	if s.rateExcess > 0 {
		s.excessUsed = prune(s.excessUsed, now.Add(-rateExcessWindow))
		if len(s.excessUsed) < s.rateExcess {
			s.excessUsed = append(s.excessUsed, now)
			return true
		}
	}
	return false
}

// prune drops the leading times not after cut.
func prune(ts []time.Time, cut time.Time) []time.Time {
	i := 0
	for i < len(ts) && !ts[i].After(cut) {
		i++
	}
	return slices.Delete(ts, 0, i)
}

// item is one object of a POST body's array.
type item map[string]json.RawMessage

// parseItems decodes a POST body read whole (ok). It returns the items and
// OpPay or OpStatus when the body is a non-empty JSON array of objects all of
// one kind, and nil and OpInvalid otherwise.
func parseItems(body []byte, ok bool) ([]item, string) {
	var items []item
	if !ok || json.Unmarshal(body, &items) != nil || len(items) == 0 {
		return nil, OpInvalid
	}
	op := ""
	for i, it := range items {
		k := kindOf(it)
		if k == "" || (i > 0 && k != op) {
			return nil, OpInvalid
		}
		op = k
	}
	return items, op
}

// kindOf tells a payment item (it has amount or msisdn) from a status query
// item (transactionId without either); "" for neither.
func kindOf(it item) string {
	_, a := it["amount"]
	_, m := it["msisdn"]
	if a || m {
		return OpPay
	}
	if _, ok := it["transactionId"]; ok {
		return OpStatus
	}
	return ""
}

type valueKind int

const (
	valueMissing valueKind = iota // absent or null
	valueOK
	valueBad // present with the wrong JSON type, or not an integer
)

// parseInteger reads a JSON integer. Integral floats (100.0, 1e2) count,
// because the public PHP clients send round()ed floats; anything else that is
// not an integer fitting int64 is valueBad.
func parseInteger(raw json.RawMessage) (int64, valueKind) {
	s := strings.TrimSpace(string(raw))
	if s == "" || s == "null" {
		return 0, valueMissing
	}
	if c := s[0]; c != '-' && (c < '0' || c > '9') {
		return 0, valueBad
	}
	if v, err := strconv.ParseInt(s, 10, 64); err == nil {
		return v, valueOK
	}
	if !strings.ContainsAny(s, "eE") {
		if intPart, frac, ok := strings.Cut(s, "."); ok && strings.Trim(frac, "0") == "" {
			if v, err := strconv.ParseInt(intPart, 10, 64); err == nil {
				return v, valueOK
			}
		}
		return 0, valueBad
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f != math.Trunc(f) || math.Abs(f) > 1<<53 {
		return 0, valueBad
	}
	return int64(f), valueOK
}

// parseString reads a JSON string.
func parseString(raw json.RawMessage) (string, valueKind) {
	s := strings.TrimSpace(string(raw))
	if s == "" || s == "null" {
		return "", valueMissing
	}
	var v string
	if s[0] != '"' || json.Unmarshal([]byte(s), &v) != nil {
		return "", valueBad
	}
	return v, valueOK
}

// echoID renders a transactionId that is not a valid integer as it was sent
// (compacted), or null if it was absent.
func echoID(raw json.RawMessage) string {
	var b bytes.Buffer
	if len(raw) == 0 || json.Compact(&b, raw) != nil {
		return "null"
	}
	return b.String()
}

// answerItems answers a batch item by item, in order, with
// [{"transactionId","status"}]: an item whose transactionId is an integer of
// at least minID gets status(id, it), any other bad with its transactionId
// echoed.
func answerItems(items []item, minID int64, bad int, status func(int64, item) int) fakeserver.Answer {
	out := make([]string, len(items))
	for i, it := range items {
		idText, st := echoID(it["transactionId"]), bad
		if id, k := parseInteger(it["transactionId"]); k == valueOK && id >= minID {
			idText, st = strconv.FormatInt(id, 10), status(id, it)
		}
		out[i] = fmt.Sprintf(`{"transactionId":%s,"status":%d}`, idText, st)
	}
	return jsonResponse([]byte("[" + strings.Join(out, ",") + "]"))
}

// payLocked answers a payment batch: 124 for an id already taken, else the
// status of the new payment.
func (s *Server) payLocked(items []item, now time.Time) fakeserver.Answer {
	return answerItems(items, 1, statusGatewayError, func(id int64, it item) int {
		if _, exists := s.payments[id]; exists {
			return statusDuplicate
		}
		return s.acceptLocked(id, it, now)
	})
}

// acceptLocked creates payment id from a batch item and returns its status.
func (s *Server) acceptLocked(id int64, it item, now time.Time) int {
	p := &payment{PaymentRecord: PaymentRecord{TransactionID: id, Created: now}}
	amount, ka := parseInteger(it["amount"])
	msisdn, km := parseString(it["msisdn"])
	notice, kn := parseString(it["msisdnNotice"])
	tmpl, kt := parseInteger(it["templateId"])
	if ka == valueOK {
		p.Amount = amount
	}
	p.Msisdn, p.MsisdnNotice, p.TemplateID = msisdn, notice, tmpl

	status := statusReceived
	switch {
	case ka != valueOK, km != valueOK, kn == valueBad, kt == valueBad, !fakeserver.Digits(msisdn):
		status = statusGatewayError
	case amount < 100, s.maxAmount > 0 && amount > s.maxAmount:
		status = statusCanceled
	case s.blacklist[msisdn]:
		status = statusBlacklisted
	case amount > s.current+s.credit-s.reserved:
		status = statusInsufficientFunds
	}
	p.Status = status
	if status == statusReceived {
		s.reserved += amount
	}
	s.payments[id] = p
	s.order = append(s.order, id)
	return status
}

// statusLocked answers a status query; each distinct id is looked up (and
// stepped) once.
func (s *Server) statusLocked(items []item) fakeserver.Answer {
	seen := map[int64]int{}
	return answerItems(items, math.MinInt64, statusNotFound, func(id int64, _ item) int {
		if _, ok := seen[id]; !ok {
			seen[id] = s.pollLocked(id)
		}
		return seen[id]
	})
}

// pollLocked is one status query for id: it steps the payment and returns
// the status to answer.
func (s *Server) pollLocked(id int64) int {
	p := s.payments[id]
	if p == nil {
		return statusNotFound
	}
	p.Polls++
	if s.notFoundOnce[id] > 0 {
		s.notFoundOnce[id]--
		return statusNotFound
	}
	if s.notFoundFirst && p.Polls == 1 {
		// The document's transient 125 of a payment moving between queues.
		// For a payment already in 423 it is the 125 of its 125, 423
		// alternation: the next query answers 423.
		if p.Status == statusBlacklisted {
			p.flip = true
		}
		return statusNotFound
	}
	before := p.Status
	for i := 0; i < s.steps && pending(p.Status); i++ {
		next := statusInProgress
		if p.Status == statusInProgress {
			next = s.finalForLocked(p)
		}
		s.transitionLocked(p, next)
	}
	if p.Status == statusBlacklisted && before == statusBlacklisted {
		p.flip = !p.flip
		if p.flip {
			return statusNotFound
		}
	}
	return p.Status
}

// finalForLocked is the status payment p ends in.
func (s *Server) finalForLocked(p *payment) int {
	if s.blacklist[p.Msisdn] {
		return statusBlacklisted
	}
	if st, ok := s.failAccounts[p.Msisdn]; ok {
		return st
	}
	return statusSuccess
}

// transitionLocked moves p to status, keeping the reserve and the balance
// right: statuses 0 and 2 reserve the amount, entering 3 debits it, leaving 3
// credits it back.
func (s *Server) transitionLocked(p *payment, status int) {
	from := p.Status
	if from == status {
		return
	}
	if pending(from) && !pending(status) {
		s.reserved -= p.Amount
	}
	if !pending(from) && pending(status) {
		s.reserved += p.Amount
	}
	if status == statusSuccess {
		s.current -= p.Amount
	}
	if from == statusSuccess {
		s.current += p.Amount
	}
	p.Status = status
	p.flip = false
}
