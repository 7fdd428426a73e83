package popolnitest

import (
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/paysdk/payments/internal/fakeserver"
)

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
	s.locked(func() { s.failAccounts[msisdn] = status })
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

// SetNotFoundFirst switches [WithNotFoundFirst] on or off. Payments already
// asked about (Polls above 0) are not affected.
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

func jsonResponse(body []byte) fakeserver.Answer {
	return fakeserver.Answer{Status: http.StatusOK, Type: "application/json", Body: body}
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
	amount, ka := parseInteger(it["amount"])
	msisdn, km := parseString(it["msisdn"])
	notice, kn := parseString(it["msisdnNotice"])
	tmpl, kt := parseInteger(it["templateId"])
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
	if status == statusReceived {
		s.reserved += amount
	}
	s.payments[id] = &payment{PaymentRecord: PaymentRecord{TransactionID: id, Amount: amount,
		Msisdn: msisdn, MsisdnNotice: notice, TemplateID: tmpl, Status: status, Created: now}}
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
		p.flip = p.Status == statusBlacklisted
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
