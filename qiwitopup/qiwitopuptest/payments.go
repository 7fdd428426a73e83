package qiwitopuptest

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/internal/fakeserver"
)

type payment struct {
	PaymentRecord
	in      intent
	minor   int64 // amount in kopecks; 0 if it did not parse
	debited bool
}

func (p *payment) final() bool { return p.Status == statusSuccess || p.Status > 100 }

// intent is what makes two pay requests the same payment: the details the
// documents list, and the extras that name the recipient of a payout.
type intent struct {
	service, account, amount, fromCCY, toCCY string
	account0, account1, bankID               string
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
	if len(txn) > 20 || !fakeserver.Digits(txn) || txn[0] == '0' {
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
	p.FromCCY, _ = normCCY(in.fromCCY) // "" for an unknown currency
	if code := s.validateLocked(p); code != 0 {
		s.transitionLocked(p, statusDeclined, code)
	} else {
		s.transitionLocked(p, statusAccepted, 0)
		if _, ok := s.wallets[p.Account]; !ok && p.ServiceID == 99 {
			s.wallets[p.Account] = true // a top-up creates the wallet
		}
	}
	s.payments[txn] = p
	s.order = append(s.order, p)
	return s.paymentsDoc([]*payment{p}, true)
}

// validateLocked returns the payment result-code a new payment gets at once:
// 0 to accept it, or the code it is declined with.
func (s *Server) validateLocked(p *payment) int {
	valid, ok := services[p.ServiceID]
	if !ok { // 36655 (foreign cards, stopped) and anything else
		return 155
	}
	if _, ok := parseAmount(p.Amount); !ok {
		return codeUnknown
	}
	if p.FromCCY == "" || p.in.toCCY != p.in.fromCCY {
		return codeUnknown
	}
	if p.ServiceID != 99 && p.ToCCY != "643" { // the payouts are RUB only
		return codeUnknown
	}
	if !valid(p) {
		return codeUnknown
	}
	if p.ServiceID == 99 && !validPhone(p.Account) {
		return 298
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
	exists, identified := s.walletLocked(p.Account)
	if p.ServiceID == 99 && (s.depositImpossible[p.Account] || exists && !identified) {
		return 204
	}
	if bal, ok := s.balances[p.FromCCY]; !ok || bal < p.minor {
		return 220
	}
	return 0
}

// services are the to/service-ids the fake pays, with the check of the
// recipient fields (else 300); a wallet top-up's phone is checked next (298).
var services = map[int]func(p *payment) bool{
	99:    func(p *payment) bool { return p.IncomeWireTransfer == "0" || p.IncomeWireTransfer == "1" },
	34020: func(p *payment) bool { return validCard(p.Account) },
	32911: func(p *payment) bool {
		return strings.HasPrefix(p.Account, "+") && validPhone(p.Account[1:]) && validCard(p.in.account1)
	},
	38413: func(p *payment) bool {
		return len(p.Account) == 11 && p.Account[0] == '7' && fakeserver.Digits(p.Account) && fakeserver.Digits(p.in.bankID)
	},
	29130: func(p *payment) bool { return p.Account != "" && account0.MatchString(p.in.account0) },
}

// account0 is the mobile payout's "id:<provider>;acc:<phone>;sum:<amount>".
var account0 = regexp.MustCompile(`^id:[0-9]+;acc:[^;]+;sum:` + amountPattern + `$`)

// validPhone reports whether s is a phone in international format without
// '+': 10 to 15 digits.
func validPhone(s string) bool { return len(s) >= 10 && len(s) <= 15 && fakeserver.Digits(s) }

// validCard reports whether s is a card number: 13 to 19 digits.
func validCard(s string) bool { return len(s) >= 13 && len(s) <= 19 && fakeserver.Digits(s) }

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
	o.WriteString(indent + "<payment")
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
		o.attr("txn-date", p.Created.In(time.FixedZone("MSK", 3*3600)).Format("02.01.2006 15:04:05"), '\'')
	}
	if !full {
		o.WriteString(" />\n")
		return
	}
	o.WriteString(">\n")
	amount := p.Amount
	if p.minor > 0 || amount == "" {
		amount = payments.FormatMinor(p.minor, 2)
	}
	o.WriteString(indent + "  <from>\n")
	o.element(indent+"    ", "amount", amount)
	o.element(indent+"    ", "ccy", p.FromCCY)
	o.WriteString(indent + "  </from>\n")
	o.WriteString(indent + "  <to>\n")
	o.element(indent+"    ", "service-id", strconv.Itoa(p.ServiceID))
	o.element(indent+"    ", "amount", amount)
	o.element(indent+"    ", "ccy", p.ToCCY)
	acct := p.Account
	if p.ServiceID == 34020 || p.ServiceID == 36655 {
		acct = maskCard(acct)
	}
	o.element(indent+"    ", "account-number", acct)
	o.WriteString(indent + "  </to>\n")
	if p.RRN != "" { // set with BillRegID
		o.WriteString(indent + `  <extra name="rrn">` + p.RRN + "</extra>\n")
		o.WriteString(indent + `  <extra name="billRegId">` + p.BillRegID + "</extra>\n")
	}
	o.WriteString(indent + "</payment>\n")
}

// paymentsDoc answers a pay (full) or status request: result-code 0, the
// payments, wrapped in <payments> when any is an SBP payout and
// WithWrappedPayments is on, then the balances.
func (s *Server) paymentsDoc(list []*payment, full bool) *out {
	o := newOut(codeOK, false, "")
	wrap := slices.ContainsFunc(list, s.sbpStyle)
	indent := ""
	if wrap {
		o.WriteString("<payments>\n")
		indent = "  "
	}
	for _, p := range list {
		s.writePayment(o, p, full, indent)
	}
	if wrap {
		o.WriteString("</payments>\n")
	}
	s.writeBalances(o, "", "\n")
	if wrap {
		s.writeBalances(o, "-ovd", "")
		o.WriteString("<f></f><lk-status>001</lk-status>\n")
	}
	return o
}

func (s *Server) statusLocked(req *xRequest) *out {
	if len(req.Status.Payments) == 0 {
		return errorDoc(codeUnknown, true)
	}
	var list []*payment
	for i := range req.Status.Payments {
		p := s.payments[strings.TrimSpace(req.Status.Payments[i].TransactionNumber)]
		if p == nil || slices.Contains(list, p) {
			continue
		}
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
			s.finishLocked(p)
		}
	}
}

// finishLocked moves p to its final outcome: 160 with the FailAccount code of
// its account (or 32911 card), else 60.
func (s *Server) finishLocked(p *payment) {
	rc, ok := s.failAccounts[p.Account]
	if a1 := p.in.account1; !ok && a1 != "" {
		rc, ok = s.failAccounts[a1]
	}
	if ok {
		s.transitionLocked(p, statusCancelled, rc)
	} else {
		s.transitionLocked(p, statusSuccess, 0)
	}
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

// Complete moves the payment txn (transaction number) straight to 60, or its
// [Server.FailAccount] outcome, unless final; it reports whether it exists.
func (s *Server) Complete(txn string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.payments[txn]
	if p != nil && !p.final() && p.Status >= 0 {
		s.finishLocked(p)
	}
	return p != nil
}

// SetStatus sets the status and result-code of the payment txn, and the
// balance follows; final-status becomes true for 60 and above 100,
// fatal-error for a resultCode not 0. It reports whether the payment exists.
func (s *Server) SetStatus(txn string, status int, resultCode int) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.payments[txn]
	if p != nil {
		s.transitionLocked(p, status, resultCode)
	}
	return p != nil
}

// FailAccount makes payments to account (a to/account-number, or the card
// of a 32911 payout), pending ones too, end in 160 with resultCode (300 or
// 702, say) instead of 60, which returns the funds. Code 0 undoes it.
func (s *Server) FailAccount(account string, resultCode int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if resultCode == 0 {
		delete(s.failAccounts, account)
		return
	}
	s.failAccounts[account] = resultCode
}

// Payment returns the payment with transaction number txn, if there is one.
func (s *Server) Payment(txn string) (PaymentRecord, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p := s.payments[txn]; p != nil {
		return p.record(), true
	}
	return PaymentRecord{}, false
}

// Payments returns every stored payment in the order they were created.
func (s *Server) Payments() []PaymentRecord {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]PaymentRecord, len(s.order))
	for i, p := range s.order {
		out[i] = p.record()
	}
	return out
}

func (p *payment) record() PaymentRecord {
	r := p.PaymentRecord
	r.FromExtras = maps.Clone(p.FromExtras)
	r.ToExtras = maps.Clone(p.ToExtras)
	return r
}
