package paykeepertest

import (
	"cmp"
	"fmt"
	"maps"
	"net/url"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/paysdk/payments"
)

// DefaultPaymentSystemID is the payment system of payments that do not name
// one (the document's example payments use "3").
const DefaultPaymentSystemID = "3"

// payment is a payment as the server holds it: its record, whose Amount,
// RefundAmount and Remainder [payment.record] fills in, and what the
// record does not show.
type payment struct {
	PaymentRecord
	amount, refunded payments.Decimal
	receipts         []ReceiptRecord
	options          map[string]string
	paramIDs         [2]int64
}

// PaymentSpec describes a payment for [Server.AddPayment]. Only Amount is
// required.
type PaymentSpec struct {
	Amount          string // decimal roubles, "100.00" or "100"; required, positive
	Status          string // default StatusSuccess
	PaymentSystemID string // default DefaultPaymentSystemID
	ClientID        string // clientid: the payer's name or id
	OrderID         string // orderid
	UniqueID        string // unique_id, the transaction id; null when ""
	ServiceName     string
	ClientEmail     string
	ClientPhone     string
	// Hold makes a two-stage payment: authorised (status obtained, a
	// batch_date in its notification) until /change/payment/capture/.
	Hold bool
	// Created is pending_datetime; default now. obtain_datetime is one
	// second later for payments whose money was taken.
	Created time.Time
	// Options are extra keys for /info/options/byid/.
	Options map[string]string
}

// PaymentRecord is what the server holds about one payment.
type PaymentRecord struct {
	ID              string
	Amount          string // pay_amount, "100.00"
	RefundAmount    string // refund_amount, "0.00"
	Remainder       string // what may still be refunded, "100.00"
	PaymentSystemID string
	ClientID        string
	OrderID         string
	UniqueID        string
	ServiceName     string
	ClientEmail     string
	ClientPhone     string
	Status          string
	RepeatCounter   int
	Hold            bool   // a two-stage payment
	Captured        bool   // a two-stage payment that was captured
	BatchDate       string // the hold's capture date, "" for one-stage payments
	Pending         time.Time
	Obtained        time.Time // zero when the money was not taken
	Success         time.Time // zero until the merchant acknowledged
	Refunds         []RefundRecord
}

// RefundRecord is one refund of a payment.
type RefundRecord struct {
	ID         string
	Number     int    // refund_number, 1 for the first refund of the payment
	User       string // the login that made it
	Amount     string // "50.00"
	Remainder  string // what was left to refund after it
	Time       time.Time
	RefundCart string // the refund_cart field as sent, "" when absent
	// SBPRefundTo is the sbp_refund_to field as sent, "" when absent.
	SBPRefundTo string
}

func (p *payment) remainder() payments.Decimal { return p.amount.Sub(p.refunded) }

func (p *payment) record() PaymentRecord {
	r := p.PaymentRecord
	r.Amount, r.RefundAmount, r.Remainder = fixed(p.amount), fixed(p.refunded), fixed(p.remainder())
	r.Refunds = slices.Clone(r.Refunds)
	return r
}

// AddPayment stores a payment as if a payer had made it and returns its id
// (ids are numeric strings counting up from 97452, the document's example).
// No notification is sent: call [Server.Notify] for that. It panics on an
// Amount that is not a positive decimal or an unknown Status, which are
// mistakes in the test.
func (s *Server) AddPayment(spec PaymentSpec) string {
	amount, err := payments.ParseDecimal(spec.Amount)
	if err != nil || amount.Sign() <= 0 {
		panic(fmt.Sprintf("paykeepertest: AddPayment: amount %q is not a positive decimal", spec.Amount))
	}
	if spec.Status == "" {
		spec.Status = StatusSuccess
		if spec.Hold {
			spec.Status = StatusObtained
		}
	}
	if !slices.Contains(paymentStatuses, spec.Status) {
		panic(fmt.Sprintf("paykeepertest: AddPayment: unknown status %q", spec.Status))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addPaymentLocked(spec, amount).ID
}

func (s *Server) addPaymentLocked(spec PaymentSpec, amount payments.Decimal) *payment {
	created := spec.Created
	if created.IsZero() {
		created = s.now()
	}
	if spec.PaymentSystemID == "" {
		spec.PaymentSystemID = DefaultPaymentSystemID
	}
	p := &payment{PaymentRecord: PaymentRecord{
		ID: strconv.FormatInt(s.nextPaymentID, 10), PaymentSystemID: spec.PaymentSystemID,
		ClientID: spec.ClientID, OrderID: spec.OrderID, UniqueID: spec.UniqueID, ServiceName: spec.ServiceName,
		ClientEmail: spec.ClientEmail, ClientPhone: spec.ClientPhone, Status: spec.Status, Hold: spec.Hold, Pending: created,
	}, amount: amount, options: map[string]string{}, paramIDs: [2]int64{s.nextParamID, s.nextParamID + 1}}
	s.nextPaymentID++
	s.nextParamID += 2
	maps.Copy(p.options, spec.Options)
	if !slices.Contains([]string{StatusPending, StatusCanceled, StatusFailed}, p.Status) {
		p.Obtained = created.Add(time.Second)
	}
	switch p.Status {
	case StatusSuccess, StatusRefunded, StatusPartiallyRefunded, StatusRefunding:
		p.Success = p.Obtained
		p.Captured = p.Hold
	}
	if p.Hold {
		p.BatchDate = p.Obtained.In(Moscow).AddDate(0, 0, 5).Format(dateLayout)
	}
	if p.Status == StatusRefunded {
		p.refunded = amount
	}
	s.payments[p.ID] = p
	s.paymentOrder = append(s.paymentOrder, p.ID)
	return p
}

// Payment returns the payment with id, if the server has it.
func (s *Server) Payment(id string) (PaymentRecord, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.payments[id]
	if p == nil {
		return PaymentRecord{}, false
	}
	return p.record(), true
}

// Payments returns every stored payment in the order they were created.
func (s *Server) Payments() []PaymentRecord {
	s.mu.Lock()
	defer s.mu.Unlock()
	return mapped(s.paymentOrder, func(id string) PaymentRecord { return s.payments[id].record() })
}

// SetPaymentStatus sets the status of payment id to any of the Status
// constants (for example StatusRefunding, which the fake never reaches by
// itself), without notifications or other effects. It reports whether the
// payment exists and the status is known.
func (s *Server) SetPaymentStatus(id, status string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.payments[id]
	if p == nil || !slices.Contains(paymentStatuses, status) {
		return false
	}
	p.Status = status
	if moneyTaken(status) && p.Obtained.IsZero() {
		p.Obtained = s.now()
	}
	return true
}

// sortedPaymentsLocked returns the payments newest first (by
// pending_datetime, then id: ids count up, so the newest id first keeps
// ties in that order).
func (s *Server) sortedPaymentsLocked() []*payment {
	var out []*payment
	for _, id := range slices.Backward(s.paymentOrder) {
		out = append(out, s.payments[id])
	}
	slices.SortStableFunc(out, func(a, b *payment) int { return b.Pending.Compare(a.Pending) })
	return out
}

func (p *payment) listJSON() obj {
	return obj{
		{"id", p.ID},
		{"pay_amount", fixed(p.amount)},
		{"refund_amount", fixed(p.refunded)},
		{"clientid", strOrNull(p.ClientID)},
		{"orderid", strOrNull(p.OrderID)},
		{"payment_system_id", p.PaymentSystemID},
		{"unique_id", strOrNull(p.UniqueID)},
		{"status", p.Status},
		{"repeat_counter", strconv.Itoa(p.RepeatCounter)},
		{"pending_datetime", dt(p.Pending)},
		{"obtain_datetime", dt(p.Obtained)},
		{"success_datetime", dt(p.Success)},
	}
}

// filterPaymentsLocked applies the registry filters shared by bydate,
// bydatecount and the export. With required set, a missing status[] or
// payment_system_id[] selects nothing, as the document says for bydate.
func (s *Server) filterPaymentsLocked(q url.Values, required bool) ([]*payment, bool) {
	rng, ok := parseRange(q, "start", "end")
	statuses, systems := arrayParam(q, "status"), arrayParam(q, "payment_system_id")
	if !ok || required && (len(statuses) == 0 || len(systems) == 0) {
		return nil, ok
	}
	return slices.DeleteFunc(s.sortedPaymentsLocked(), func(p *payment) bool {
		return !selects(statuses, p.Status) || !selects(systems, p.PaymentSystemID) || !rng.has(p.Pending)
	}), true
}

func (s *Server) hPaymentsByDate(c *call) response {
	ps, ok := s.filterPaymentsLocked(c.q, true)
	return listPage(c.q, ps, ok, (*payment).listJSON)
}

// hPaymentsByDateCount answers one object with statuses, payment_systems
// and fullcount (the document prints three objects in a row, which is not
// JSON; this is the shape of /info/invoice/listcount/).
func (s *Server) hPaymentsByDateCount(c *call) response {
	ps, ok := s.filterPaymentsLocked(c.q, false)
	if !ok {
		return fail(MsgBadDate)
	}
	byStatus, bySystem := map[string]int{}, map[string]int{}
	for _, p := range ps {
		byStatus[p.Status]++
		bySystem[p.PaymentSystemID]++
	}
	systems := slices.SortedFunc(maps.Keys(bySystem), func(a, b string) int {
		x, _ := strconv.Atoi(a)
		y, _ := strconv.Atoi(b)
		return cmp.Compare(x, y)
	})
	return jsonResponse(obj{
		{"statuses", counts("status", paymentStatuses, byStatus)},
		{"payment_systems", counts("payment_system_id", systems, bySystem)},
		{"fullcount", []obj{{{"count", strconv.Itoa(len(ps))}}}},
	})
}

// hPaymentByID answers an array with the one payment (as every client reads
// it), or an empty array for an unknown id.
func (s *Server) hPaymentByID(c *call) response {
	p := s.payments[c.q.Get("id")]
	if p == nil {
		return jsonResponse([]obj{})
	}
	o := p.listJSON()
	if truthy(c.q.Get("advanced")) {
		// advanced=true: the fake's choice of extra fields (no source lists them).
		o = append(o, obj{{"client_email", strOrNull(p.ClientEmail)},
			{"client_phone", strOrNull(p.ClientPhone)}, {"service_name", strOrNull(p.ServiceName)},
			{"bank_id", strOrNull(p.options["bank_id"])}, {"receipts_count", strconv.Itoa(len(p.receipts))}}...)
	}
	return jsonResponse([]obj{o})
}

// hPaymentsSearch finds payments whose id, orderid, clientid, unique_id or
// client e-mail contain query (case-insensitively), or match it as a
// pattern when it has a '*' wildcard, in the beg_date..end_date range.
func (s *Server) hPaymentsSearch(c *call) response {
	rng, ok := parseRange(c.q, "beg_date", "end_date")
	if !ok {
		return fail(MsgBadDate)
	}
	query := strings.ToLower(strings.TrimSpace(c.q.Get("query")))
	match := func(v string) bool {
		v = strings.ToLower(v)
		if v == "" {
			return false
		}
		if strings.Contains(query, "*") {
			ok, _ := path.Match(query, v)
			return ok
		}
		return strings.Contains(v, query)
	}
	var out []*payment
	for _, p := range s.sortedPaymentsLocked() {
		if query != "" && rng.has(p.Pending) && slices.ContainsFunc([]string{p.ID, p.OrderID, p.ClientID, p.UniqueID, p.ClientEmail}, match) {
			out = append(out, p)
		}
	}
	return jsonResponse(mapped(out, (*payment).listJSON))
}

// byPayment answers a read of the payment the id parameter names with what
// read makes of it; an unknown id answers [] (PHP's empty array).
func byPayment(read func(*payment) any) handlerFunc {
	return func(s *Server, c *call) response {
		if p := s.payments[c.q.Get("id")]; p != nil {
			return jsonResponse(read(p))
		}
		return jsonResponse([]obj{})
	}
}

// optionsJSON is the payment's options object, with the bank's answer
// fields once the money was taken.
func (p *payment) optionsJSON() any {
	o := obj{
		{"client_ip", "81.5.119.7"},
		{"orderid", p.OrderID},
		{"service_name", displayServiceName(p.ServiceName)},
		{"client_email", p.ClientEmail},
		{"client_phone", p.ClientPhone},
		{"qiwi_phone", ""},
		{"bill_name", ""},
	}
	if !p.Obtained.IsZero() {
		o = append(o, obj{
			{"msgtype", "Visa"},
			{"RRN", fmt.Sprintf("4134%08s", p.ID)},
			{"APPROVAL_CODE", fmt.Sprintf("%06s", p.ID)[:6]},
			{"CARD_NUMBER", "5***********8624"},
			{"RESULT", "OK"},
			{"RESULT_CODE", "000"},
			{"3DSECURE", "AUTHENTICATED"},
		}...)
	}
	for _, k := range slices.Sorted(maps.Keys(p.options)) {
		o.add(k, p.options[k])
	}
	return o
}

// paramsJSON is the bank's answer fields, once the money was taken.
func (p *payment) paramsJSON() any {
	if p.Obtained.IsZero() {
		return []obj{}
	}
	return []obj{
		{{"id", strconv.FormatInt(p.paramIDs[0], 10)}, {"payment_id", p.ID}, {"field", "RESULT"}, {"value", "OK"}},
		{{"id", strconv.FormatInt(p.paramIDs[1], 10)}, {"payment_id", p.ID}, {"field", "RESULT_CODE"}, {"value", "000"}},
	}
}

// httpLogJSON is the bank's callback that completed the payment.
func (p *payment) httpLogJSON() any {
	if p.Obtained.IsZero() {
		return []obj{}
	}
	return []obj{{
		{"id", strconv.FormatInt(p.paramIDs[0], 10)}, {"payment_id", p.ID},
		{"request_method", "POST"}, {"request_uri", "/external/"}, {"ip", "62.76.178.170"},
		{"body", ""}, {"datetime", dt(p.Obtained)},
	}}
}

// refundsJSON sends the remainder after each refund under both "reminder"
// (the document's spelling, in its table and example) and "remainder".
func (p *payment) refundsJSON() any {
	return mapped(p.Refunds, func(f RefundRecord) obj {
		return obj{{"id", f.ID}, {"payment_id", p.ID}, {"refund_number", strconv.Itoa(f.Number)}, {"user", f.User},
			{"amount", f.Amount}, {"reminder", f.Remainder}, {"remainder", f.Remainder},
			{"datetime", dt(f.Time)}, {"status", "done"}}
	})
}

// hReverse refunds a payment in full (partial=false: the whole remainder;
// an amount, if sent, must equal it) or in part (partial=true: amount up to
// the remainder).
func (s *Server) hReverse(c *call) response {
	p := s.payments[c.form.Get("id")]
	if p == nil {
		return fail(MsgPaymentNotFound)
	}
	if !c.user.refundAllowed() {
		return fail(MsgRefundForbidden)
	}
	if !moneyTaken(p.Status) && p.Status != StatusPartiallyRefunded {
		return fail(MsgNotRefundable)
	}
	rem, raw, partial := p.remainder(), c.form.Get("amount"), truthy(c.form.Get("partial"))
	amt := rem
	if partial || strings.TrimSpace(raw) != "" {
		d, ok := amountField(raw)
		switch {
		case !ok:
			return fail(MsgBadAmount)
		case d.Cmp(rem) > 0:
			return fail(MsgRefundExceeds)
		case !partial && d.Cmp(rem) < 0:
			return fail(MsgFullRefundAmount)
		}
		amt = d
	}
	cart := c.form.Get("refund_cart")
	if _, ok := jsonArray(cart); strings.TrimSpace(cart) != "" && !ok {
		return fail(MsgBadRefundCart)
	}
	p.refunded = p.refunded.Add(amt)
	left := p.remainder()
	p.Refunds = append(p.Refunds, RefundRecord{
		ID: strconv.FormatInt(s.nextRefundID, 10), Number: len(p.Refunds) + 1, User: c.user.Login,
		Amount: fixed(amt), Remainder: fixed(left), Time: s.now(), RefundCart: cart, SBPRefundTo: c.form.Get("sbp_refund_to"),
	})
	s.nextRefundID++
	switch {
	case p.Hold && !p.Captured:
		// Reversing an authorisation: all of it cancels the payment; a part
		// lowers what a capture takes.
		if left.Sign() == 0 {
			p.Status = StatusCanceled
		}
	case left.Sign() == 0:
		p.Status = StatusRefunded
	default:
		p.Status = StatusPartiallyRefunded
	}
	return success()
}

// hRepeatCnt resets the notification counter and runs the informer again
// for a payment whose money was taken.
func (s *Server) hRepeatCnt(c *call) response {
	id := c.form.Get("id")
	p := s.payments[id]
	if p == nil {
		return fail(MsgPaymentNotFound)
	}
	if !moneyTaken(p.Status) {
		return fail(MsgNoNotify)
	}
	p.RepeatCounter = 0
	if s.informerLocked() != nil {
		c.after = func() { _, _ = s.Notify(id) }
	}
	return success()
}

// hCapture charges an authorised two-stage payment in full.
func (s *Server) hCapture(c *call) response {
	p := s.payments[c.form.Get("id")]
	if p == nil {
		return fail(MsgPaymentNotFound)
	}
	if !p.Hold || p.Captured || !moneyTaken(p.Status) {
		return fail(MsgNotHold)
	}
	p.Captured = true
	p.Status = StatusSuccess
	if p.refunded.Sign() > 0 {
		p.Status = StatusPartiallyRefunded
	}
	if p.Success.IsZero() {
		p.Success = s.now()
	}
	return success()
}
