package qiwitopuptest

import (
	"crypto"
	"crypto/md5"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"maps"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/paysdk/payments"

	"github.com/paysdk/payments/internal/fakeserver"
)

// maxBody caps the request body the server reads; a larger body is answered
// as not well-formed (300, fatal).
const maxBody = 1 << 20

// Request-level codes (the documents' "request processing" table).
const (
	codeOK      = 0
	codeAuth    = 150
	codeUnknown = 300
	codeIP      = 339
)

// Payment statuses.
const (
	statusAccepted  = 50
	statusCrediting = 52
	statusSuccess   = 60
	statusDeclined  = 150
	statusCancelled = 160
)

// msk is Moscow time, the fake's time zone for txn-date.
var msk = time.FixedZone("MSK", 3*3600)

const txnDateLayout = "02.01.2006 15:04:05"

const garbageHTML = `<!DOCTYPE html>
<html><head><title>502 Bad Gateway</title></head>
<body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>
`

type payment struct {
	PaymentRecord
	in      intent
	minor   int64 // amount in kopecks; 0 if it did not parse
	debited bool
}

func (p *payment) final() bool { return p.Status == statusSuccess || p.Status > 100 }

// intent is what makes two pay requests "the same payment": the details the
// documents list (amount, currency, customer, service) plus the recipient
// extras that identify the customer for card, SBP and mobile payouts.
type intent struct {
	service, account, amount, fromCCY, toCCY string
	account0, account1, bankID               string
}

// spec is the fake's route table: the two documented endpoints, POST only,
// on either host; the operation is the body's request-type.
func (s *Server) spec(t fakeserver.Reporter) fakeserver.Spec[Request] {
	opOf := func(_ *http.Request, body []byte, ok bool) string {
		if req, err := parseRequest(body); ok && err == nil {
			return opOf(req)
		}
		return OpInvalid
	}
	return fakeserver.Spec[Request]{
		MaxBody: maxBody,
		Routes: []fakeserver.Route[Request]{
			{Method: http.MethodPost, Path: PathTopup, OpOf: opOf, Handle: s.handle},
			{Method: http.MethodPost, Path: PathXMLCP, OpOf: opOf, Handle: s.handle},
		},
		Record: func(r *http.Request, body []byte, _ bool, op string) *Request {
			rec := &Request{Op: op, Host: hostOf(r), Method: r.Method, Path: r.URL.Path,
				Header: r.Header.Clone(), Body: body, RemoteAddr: r.RemoteAddr, Time: s.cfg.now(), ResultCode: -1}
			if r.TLS != nil {
				rec.SNI = r.TLS.ServerName
				if len(r.TLS.PeerCertificates) > 0 {
					rec.ClientCertCN = r.TLS.PeerCertificates[0].Subject.CommonName
				}
			}
			return rec
		},
		Op:         func(r *Request) string { return r.Op },
		Clone:      cloneRequest,
		Answered:   func(r *Request, status int) { r.Answered = status },
		Unknown:    OpUnknown,
		NotFound:   fakeserver.Text(http.StatusNotFound, "Not Found"),
		RoutesHelp: "QIWI Top-Up has no such route (only POST " + PathTopup + " and POST " + PathXMLCP + ")",
		T:          t,
		Fail: func(f fakeserver.Fault) fakeserver.Answer {
			if strings.HasPrefix(strings.TrimSpace(f.Body), "<") {
				return fakeserver.Answer{Status: f.Status, Type: "text/xml; charset=utf-8", Body: []byte(f.Body)}
			}
			return fakeserver.Text(f.Status, f.Body)
		},
		Before: func(c *fakeserver.Call[Request]) (fakeserver.Answer, bool) {
			if c.Fault.Kind != faultError {
				return fakeserver.Answer{}, false
			}
			return answer(c, errorDoc(c.Fault.Code, c.Fault.Flag)), true
		},
		After: func(c *fakeserver.Call[Request], a *fakeserver.Answer) {
			if c.Fault.Kind == faultEmpty {
				a.Body = nil
			}
		},
		Garbage: fakeserver.Answer{Status: http.StatusOK, Type: "text/html; charset=utf-8", Body: []byte(garbageHTML)},
	}
}

// handle answers a request to either endpoint under the state lock, so each
// request is atomic with respect to the others.
func (s *Server) handle(c *fakeserver.Call[Request]) fakeserver.Answer {
	s.mu.Lock()
	defer s.mu.Unlock()
	return answer(c, s.checkLocked(c))
}

// answer records the request-level code of o and sends it.
func answer(c *fakeserver.Call[Request], o *out) fakeserver.Answer {
	c.Update(func(rec *Request) { rec.ResultCode = o.code })
	return fakeserver.Answer{Status: http.StatusOK, Type: "text/xml; charset=utf-8", Body: o.bytes()}
}

// operations answer the request types the endpoints serve, by Request.Op.
var operations = map[string]func(*Server, *xRequest) *out{
	OpPing:                 (*Server).pingLocked,
	OpCheckUser:            (*Server).checkUserLocked,
	OpCheckDepositPossible: (*Server).checkDepositLocked,
	OpGetProvider:          (*Server).getProviderLocked,
	OpPay:                  (*Server).payLocked,
	OpStatus:               (*Server).statusLocked,
}

// checkLocked runs the request-level checks in order, then the operation.
func (s *Server) checkLocked(c *fakeserver.Call[Request]) *out {
	req, err := parseRequest(c.Body)
	if !c.BodyOK || err != nil {
		return errorDoc(codeUnknown, true)
	}
	if !fakeserver.Allowed(&s.Sources, c.R.RemoteAddr) {
		return errorDoc(codeIP, true)
	}
	mode, ok := s.authLocked(c.R, c.Body, req)
	if !ok {
		return errorDoc(codeAuth, true)
	}
	c.Update(func(rec *Request) { rec.AuthMode = mode })
	op := operations[c.Op]
	if op == nil || (c.Op == OpGetProvider) != (c.R.URL.Path == PathXMLCP) {
		return errorDoc(codeUnknown, true)
	}
	return op(s, req)
}

// hostOf is the host name a request was addressed to: its Host header,
// without the port, in lower case.
func hostOf(r *http.Request) string {
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	return strings.ToLower(host)
}

// isPrivate reports whether the request was addressed to PrivateHost, by
// TLS server name or by Host header.
func isPrivate(r *http.Request) bool {
	return hostOf(r) == PrivateHost || r.TLS != nil && strings.EqualFold(r.TLS.ServerName, PrivateHost)
}

func eq(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }

// authLocked authenticates the request and returns its mode.
func (s *Server) authLocked(r *http.Request, body []byte, req *xRequest) (string, bool) {
	if !eq(strings.TrimSpace(req.TerminalID), s.cfg.terminalID) {
		return "", false
	}
	pw, hasPW := extra(req.Extras, "password")
	if isPrivate(r) {
		if r.TLS == nil || len(r.TLS.PeerCertificates) == 0 {
			return "", false
		}
		if hasPW && !eq(pw, s.cfg.password) {
			return "", false
		}
		return AuthCertificate, true
	}
	sig, alg := r.Header.Get("X-Digital-Sign"), r.Header.Get("X-Digital-Sign-Alg")
	if sig != "" || alg != "" {
		if s.cfg.pub == nil || !verifySignature(s.cfg.pub, body, sig, alg) {
			return "", false
		}
		return AuthSignature, true
	}
	if !hasPW || !eq(pw, s.cfg.password) {
		return "", false
	}
	return AuthPassword, true
}

// verifySignature checks an RSASSA-PKCS1-v1_5 signature (standard padded
// base64) over body.
func verifySignature(pub *rsa.PublicKey, body []byte, sig64, alg string) bool {
	sig, err := base64.StdEncoding.Strict().DecodeString(strings.TrimSpace(sig64))
	if err != nil || len(sig) == 0 {
		return false
	}
	switch strings.TrimSpace(alg) {
	case "SHA1withRSA":
		h := sha1.Sum(body)
		return rsa.VerifyPKCS1v15(pub, crypto.SHA1, h[:], sig) == nil
	case "MD5withRSA":
		h := md5.Sum(body)
		return rsa.VerifyPKCS1v15(pub, crypto.MD5, h[:], sig) == nil
	}
	return false
}

// writeBalances writes the agent accounts in code order: as <balances>, one
// per line, or as the SBP document's <balances-ovd> on one line.
func (s *Server) writeBalances(o *out, suffix, nl string) {
	o.raw("<balances" + suffix + ">" + nl)
	for _, c := range slices.Sorted(maps.Keys(s.balances)) {
		o.raw("<balance" + suffix + ` code="` + c + `">` + payments.FormatMinor(s.balances[c], 2) + "</balance" + suffix + ">" + nl)
	}
	o.raw("</balances" + suffix + ">" + nl)
}

func (s *Server) pingLocked(*xRequest) *out {
	o := newOut(codeOK, false, "")
	s.writeBalances(o, "", "\n")
	return o
}

func boolDigit(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

// phoneExtras validates the phone and optional ccy extras of check-user and
// check-deposit-possible.
func phoneExtras(req *xRequest) (string, bool) {
	phone, _ := extra(req.Extras, "phone")
	if !validPhone(phone) {
		return "", false
	}
	if ccy, ok := extra(req.Extras, "ccy"); ok {
		if _, ok := normCCY(ccy); !ok {
			return "", false
		}
	}
	return phone, true
}

// walletLocked reports whether a wallet for phone exists and whether it is
// identified.
func (s *Server) walletLocked(phone string) (exists, identified bool) {
	identified, exists = s.wallets[phone]
	if !exists && s.cfg.allExist {
		return true, true
	}
	return exists, identified
}

func (s *Server) checkUserLocked(req *xRequest) *out {
	phone, ok := phoneExtras(req)
	if !ok {
		return errorDoc(codeUnknown, true)
	}
	exists, _ := s.walletLocked(phone)
	o := newOut(codeOK, false, "")
	o.element("", "exist", boolDigit(exists))
	return o
}

func (s *Server) checkDepositLocked(req *xRequest) *out {
	phone, ok := phoneExtras(req)
	iwt, _ := extra(req.Extras, "income_wire_transfer")
	if !ok || (iwt != "0" && iwt != "1") {
		return errorDoc(codeUnknown, true)
	}
	exists, identified := s.walletLocked(phone)
	o := newOut(codeOK, false, "")
	switch {
	case s.blocked[phone]:
		o = errorDoc(319, true)
	case s.depositImpossible[phone] || (exists && !identified):
		o = errorDoc(204, true)
	}
	o.element("", "exist", boolDigit(exists))
	o.element("", "deposit-possible", boolDigit(o.code == codeOK))
	return o
}

func (s *Server) getProviderLocked(req *xRequest) *out {
	num := strings.TrimSpace(req.PhoneNumber)
	if !fakeserver.Digits(num) || len(num) > 15 {
		return errorDoc(codeUnknown, true)
	}
	best, id := -1, 0
	for prefix, pid := range s.providers {
		if strings.HasPrefix(num, prefix) && len(prefix) > best {
			best, id = len(prefix), pid
		}
	}
	if best < 0 {
		return errorDoc(codeUnknown, true)
	}
	o := newOut(codeOK, false, "Ок")
	o.raw(`<provider id="` + strconv.Itoa(id) + "\"/>\n")
	return o
}

// intentOf extracts the payment details compared for idempotency.
func intentOf(xp *xPayment) intent {
	in := intent{
		service: strings.TrimSpace(xp.To.ServiceID),
		account: strings.TrimSpace(xp.To.AccountNumber),
		amount:  strings.TrimSpace(xp.To.Amount),
		fromCCY: strings.TrimSpace(xp.From.CCY),
		toCCY:   strings.TrimSpace(xp.To.CCY),
	}
	if c, ok := normCCY(in.fromCCY); ok {
		in.fromCCY = c
	}
	if in.toCCY == "" {
		in.toCCY = in.fromCCY
	} else if c, ok := normCCY(in.toCCY); ok {
		in.toCCY = c
	}
	in.account0, _ = extra(xp.To.Extras, "account0")
	in.account1, _ = extra(xp.To.Extras, "account1")
	in.bankID, _ = extra(xp.To.Extras, "bankId")
	return in
}

func (s *Server) payLocked(req *xRequest) *out {
	if len(req.Auth.Payments) != 1 {
		return errorDoc(codeUnknown, true)
	}
	xp := &req.Auth.Payments[0]
	txn := strings.TrimSpace(xp.TransactionNumber)
	if !validTxn(txn) {
		return errorDoc(codeUnknown, true)
	}
	in := intentOf(xp)
	if p := s.payments[txn]; p != nil {
		if p.in != in {
			// Other details: 215, not registered; the stored payment stays.
			return s.paymentsDoc([]*payment{{PaymentRecord: PaymentRecord{
				TransactionNumber: txn, Status: -1, ResultCode: 215, FatalError: true,
			}}}, false)
		}
		return s.paymentsDoc([]*payment{p}, true)
	}

	iwt, _ := extra(req.Extras, "income_wire_transfer")
	p := &payment{
		PaymentRecord: PaymentRecord{
			TransactionNumber:  txn,
			TxnID:              strconv.FormatInt(s.nextTxn, 10),
			Account:            in.account,
			Amount:             in.amount,
			FromCCY:            in.fromCCY,
			ToCCY:              in.toCCY,
			IncomeWireTransfer: iwt,
			FromExtras:         extrasMap(xp.From.Extras),
			ToExtras:           extrasMap(xp.To.Extras),
			Created:            s.cfg.now(),
		},
		in: in,
	}
	s.nextTxn++
	p.ServiceID, _ = strconv.Atoi(in.service)
	p.minor, _ = parseAmount(in.amount)
	if _, ok := normCCY(p.FromCCY); !ok {
		p.FromCCY = ""
	}
	code := s.validateLocked(p)
	if code == 0 {
		s.transitionLocked(p, statusAccepted, 0)
		if p.ServiceID == 99 {
			if _, ok := s.wallets[p.Account]; !ok {
				s.wallets[p.Account] = true
			}
		}
	} else {
		s.transitionLocked(p, statusDeclined, code)
	}
	s.payments[txn] = p
	s.order = append(s.order, p)
	return s.paymentsDoc([]*payment{p}, true)
}

// validateLocked returns the payment result-code a new payment gets at once:
// 0 to accept it, or the code it is declined with.
func (s *Server) validateLocked(p *payment) int {
	switch p.ServiceID {
	case 99, 34020, 32911, 38413, 29130:
	default: // 36655 (foreign cards, stopped) and anything else
		return 155
	}
	if _, ok := parseAmount(p.Amount); !ok {
		return codeUnknown
	}
	// FromCCY is "" when from/ccy is not a known currency.
	if p.FromCCY == "" || p.in.toCCY != p.in.fromCCY {
		return codeUnknown
	}
	if p.ServiceID != 99 && p.ToCCY != "643" { // the payouts are RUB only
		return codeUnknown
	}
	switch p.ServiceID {
	case 99:
		if iwt := p.IncomeWireTransfer; iwt != "0" && iwt != "1" {
			return codeUnknown
		}
		if !validPhone(p.Account) {
			return 298
		}
	case 34020:
		if !validCard(p.Account) {
			return codeUnknown
		}
	case 32911:
		if !strings.HasPrefix(p.Account, "+") || !validPhone(p.Account[1:]) || !validCard(p.in.account1) {
			return codeUnknown
		}
	case 38413:
		if len(p.Account) != 11 || p.Account[0] != '7' || !fakeserver.Digits(p.Account) || !fakeserver.Digits(p.in.bankID) {
			return codeUnknown
		}
	case 29130:
		if p.Account == "" || !validAccount0(p.in.account0) {
			return codeUnknown
		}
	}
	if p.minor < s.minAmount {
		return 241
	}
	if p.minor > s.maxAmount {
		return 242
	}
	if s.blocked[p.Account] || (p.in.account1 != "" && s.blocked[p.in.account1]) {
		return 319
	}
	if p.ServiceID == 99 {
		if s.depositImpossible[p.Account] {
			return 204
		}
		if identified, ok := s.wallets[p.Account]; ok && !identified {
			return 204
		}
	}
	if bal, ok := s.balances[p.FromCCY]; !ok || bal < p.minor {
		return 220
	}
	return 0
}

func (s *Server) sbpStyle(p *payment) bool { return s.cfg.wrapSBP && p.ServiceID == 38413 }

// writePayment writes one <payment>: with <from>, <to> and the card extras
// for a pay answer (full), self-closing for a status answer. A payment QIWI
// did not register (no txn_id) has no txn-date.
func (s *Server) writePayment(o *out, p *payment, full bool, indent string) {
	sbp := s.sbpStyle(p)
	msg := paymentMessages[p.ResultCode]
	if p.ResultCode == 0 {
		switch {
		case sbp:
			msg = "Ок"
		case !full:
			msg = ""
		}
	}
	o.raw(indent + "<payment")
	o.attr("status", strconv.Itoa(p.Status), '\'')
	o.attr("txn_id", p.TxnID, '\'')
	o.attr("transaction-number", p.TransactionNumber, '\'')
	o.attr("result-code", strconv.Itoa(p.ResultCode), '\'')
	o.attr("message", msg, '\'')
	if !sbp {
		o.attr("msg", msg, '\'')
	}
	o.attr("final-status", strconv.FormatBool(p.FinalStatus), '\'')
	o.attr("fatal-error", strconv.FormatBool(p.FatalError), '\'')
	if p.TxnID != "" {
		o.attr("txn-date", p.Created.In(msk).Format(txnDateLayout), '\'')
	}
	if !full {
		o.raw(" />\n")
		return
	}
	o.raw(">\n")
	amount := p.Amount
	if p.minor > 0 || amount == "" {
		amount = payments.FormatMinor(p.minor, 2)
	}
	o.raw(indent + "  <from>\n")
	o.element(indent+"    ", "amount", amount)
	o.element(indent+"    ", "ccy", p.FromCCY)
	o.raw(indent + "  </from>\n")
	o.raw(indent + "  <to>\n")
	o.element(indent+"    ", "service-id", strconv.Itoa(p.ServiceID))
	o.element(indent+"    ", "amount", amount)
	o.element(indent+"    ", "ccy", p.ToCCY)
	acct := p.Account
	if p.ServiceID == 34020 || p.ServiceID == 36655 {
		acct = maskCard(acct)
	}
	o.element(indent+"    ", "account-number", acct)
	o.raw(indent + "  </to>\n")
	if p.RRN != "" {
		o.raw(indent + `  <extra name="rrn">` + p.RRN + "</extra>\n")
	}
	if p.BillRegID != "" {
		o.raw(indent + `  <extra name="billRegId">` + p.BillRegID + "</extra>\n")
	}
	o.raw(indent + "</payment>\n")
}

// paymentsDoc answers a pay (full) or status request: result-code 0, the
// payments, wrapped in <payments> when any is an SBP payout and
// WithWrappedPayments is on, then the balances.
func (s *Server) paymentsDoc(list []*payment, full bool) *out {
	o := newOut(codeOK, false, "")
	wrap := false
	for _, p := range list {
		wrap = wrap || s.sbpStyle(p)
	}
	indent := ""
	if wrap {
		o.raw("<payments>\n")
		indent = "  "
	}
	for _, p := range list {
		s.writePayment(o, p, full, indent)
	}
	if wrap {
		o.raw("</payments>\n")
	}
	s.writeBalances(o, "", "\n")
	if wrap {
		s.writeBalances(o, "-ovd", "")
		o.raw("<f></f><lk-status>001</lk-status>\n")
	}
	return o
}

func (s *Server) statusLocked(req *xRequest) *out {
	if len(req.Status.Payments) == 0 {
		return errorDoc(codeUnknown, true)
	}
	seen := map[string]bool{}
	var list []*payment
	for i := range req.Status.Payments {
		txn := strings.TrimSpace(req.Status.Payments[i].TransactionNumber)
		p := s.payments[txn]
		if p == nil || seen[txn] {
			continue
		}
		seen[txn] = true
		p.Polls++
		s.stepLocked(p)
		list = append(list, p)
	}
	return s.paymentsDoc(list, false)
}

// stepLocked moves p along 50 → 52 → final, WithStepsPerPoll steps.
func (s *Server) stepLocked(p *payment) {
	for i := 0; i < s.cfg.steps && !p.final() && p.Status >= 0; i++ {
		switch {
		case p.Status < statusAccepted:
			s.transitionLocked(p, statusAccepted, 0)
		case p.Status < statusCrediting:
			s.transitionLocked(p, statusCrediting, 0)
		default:
			st, rc := s.outcomeLocked(p)
			s.transitionLocked(p, st, rc)
		}
	}
}

// outcomeLocked is the final status and result-code payment p ends in.
func (s *Server) outcomeLocked(p *payment) (int, int) {
	rc, ok := s.failAccounts[p.Account]
	if a1 := p.in.account1; !ok && a1 != "" {
		rc, ok = s.failAccounts[a1]
	}
	if ok {
		return statusCancelled, rc
	}
	return statusSuccess, 0
}

// transitionLocked moves p to status with resultCode, keeping the balance
// right: statuses 0..100 hold the amount debited, others return it.
func (s *Server) transitionLocked(p *payment, status, resultCode int) {
	hold := status >= 0 && status <= 100
	if p.FromCCY != "" {
		if hold && !p.debited {
			s.balances[p.FromCCY] -= p.minor
			p.debited = true
		} else if !hold && p.debited {
			s.balances[p.FromCCY] += p.minor
			p.debited = false
		}
	}
	p.Status, p.ResultCode = status, resultCode
	p.FinalStatus = p.final()
	p.FatalError = resultCode != 0
	if status == statusSuccess && p.ServiceID == 34020 && p.RRN == "" {
		n, _ := strconv.ParseInt(p.TxnID, 10, 64)
		p.RRN = fmt.Sprintf("%012d", n%1_000_000_000_000)
		p.BillRegID = "B" + p.TxnID
	}
}
