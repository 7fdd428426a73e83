package paykeepertest

import (
	"encoding/json"
	"fmt"
	"net/url"
	"path"
	"slices"
	"sort"
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
	if !validPaymentStatus(spec.Status) {
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
	}, amount: amount, options: map[string]string{}}
	s.nextPaymentID++
	for k, v := range spec.Options {
		p.options[k] = v
	}
	p.paramIDs = [2]int64{s.nextParamID, s.nextParamID + 1}
	s.nextParamID += 2
	switch p.Status {
	case StatusPending, StatusCanceled, StatusFailed:
	default:
		p.Obtained = created.Add(time.Second)
	}
	switch p.Status {
	case StatusSuccess, StatusRefunded, StatusPartiallyRefunded, StatusRefunding:
		p.Success = p.Obtained
		if p.Hold {
			p.Captured = true
		}
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
	out := make([]PaymentRecord, 0, len(s.paymentOrder))
	for _, id := range s.paymentOrder {
		out = append(out, s.payments[id].record())
	}
	return out
}

// SetPaymentStatus sets the status of payment id to any of the Status
// constants (for example StatusRefunding, which the fake never reaches by
// itself), without notifications or other effects. It reports whether the
// payment exists and the status is known.
func (s *Server) SetPaymentStatus(id, status string) bool {
	if !validPaymentStatus(status) {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.payments[id]
	if p == nil {
		return false
	}
	p.Status = status
	if moneyTaken(status) && p.Obtained.IsZero() {
		p.Obtained = s.now()
	}
	return true
}

// sortedPayments returns the payments newest first (by pending_datetime,
// then id).
func (s *Server) sortedPaymentsLocked() []*payment {
	out := make([]*payment, 0, len(s.payments))
	for _, id := range s.paymentOrder {
		out = append(out, s.payments[id])
	}
	sort.SliceStable(out, func(i, j int) bool {
		if !out[i].Pending.Equal(out[j].Pending) {
			return out[i].Pending.After(out[j].Pending)
		}
		a, _ := strconv.ParseInt(out[i].ID, 10, 64)
		b, _ := strconv.ParseInt(out[j].ID, 10, 64)
		return a > b
	})
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

// filterPayments applies the registry filters shared by bydate, bydatecount
// and the export. With required set, a missing status[] or
// payment_system_id[] selects nothing, as the document says for bydate.
func (s *Server) filterPaymentsLocked(q url.Values, required bool) ([]*payment, bool) {
	rng, ok := parseRange(q, "start", "end")
	if !ok {
		return nil, false
	}
	statuses, systems := arrayParam(q, "status"), arrayParam(q, "payment_system_id")
	if required && (len(statuses) == 0 || len(systems) == 0) {
		return nil, true
	}
	st, sy := set(statuses), set(systems)
	var out []*payment
	for _, p := range s.sortedPaymentsLocked() {
		if len(st) > 0 && !st[p.Status] || len(sy) > 0 && !sy[p.PaymentSystemID] || !rng.has(p.Pending.In(Moscow)) {
			continue
		}
		out = append(out, p)
	}
	return out, true
}

func (s *Server) hPaymentsByDate(c *call) response {
	ps, ok := s.filterPaymentsLocked(c.q, true)
	if !ok {
		return fail(MsgBadDate)
	}
	from, limit := page(c.q)
	out := []obj{}
	for _, p := range paginate(ps, from, limit) {
		out = append(out, p.listJSON())
	}
	return jsonResponse(out)
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
	statuses := []obj{}
	for _, st := range []string{StatusPending, StatusObtained, StatusCanceled, StatusSuccess, StatusFailed,
		StatusStuck, StatusRefunded, StatusRefunding, StatusPartiallyRefunded} {
		if n := byStatus[st]; n > 0 {
			statuses = append(statuses, obj{{"status", st}, {"count", strconv.Itoa(n)}})
		}
	}
	ids := make([]string, 0, len(bySystem))
	for id := range bySystem {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool {
		a, _ := strconv.Atoi(ids[i])
		b, _ := strconv.Atoi(ids[j])
		return a < b
	})
	systems := []obj{}
	for _, id := range ids {
		systems = append(systems, obj{{"payment_system_id", id}, {"count", strconv.Itoa(bySystem[id])}})
	}
	return jsonResponse(obj{
		{"statuses", statuses},
		{"payment_systems", systems},
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
	out := []obj{}
	if query == "" {
		return jsonResponse(out)
	}
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
	for _, p := range s.sortedPaymentsLocked() {
		if !rng.has(p.Pending.In(Moscow)) {
			continue
		}
		if match(p.ID) || match(p.OrderID) || match(p.ClientID) || match(p.UniqueID) || match(p.ClientEmail) {
			out = append(out, p.listJSON())
		}
	}
	return jsonResponse(out)
}

// hOptionsByID answers the payment's options object; bank answer fields
// only once the money was taken. An unknown id answers [] (PHP's empty
// array).
func (s *Server) hOptionsByID(c *call) response {
	p := s.payments[c.q.Get("id")]
	if p == nil {
		return jsonResponse([]obj{})
	}
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
	keys := make([]string, 0, len(p.options))
	for k := range p.options {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		o.add(k, p.options[k])
	}
	return jsonResponse(o)
}

func (s *Server) hParamsByID(c *call) response {
	out := []obj{}
	p := s.payments[c.q.Get("id")]
	if p == nil || p.Obtained.IsZero() {
		return jsonResponse(out)
	}
	for i, fv := range [][2]string{{"RESULT", "OK"}, {"RESULT_CODE", "000"}} {
		out = append(out, obj{
			{"id", strconv.FormatInt(p.paramIDs[i], 10)}, {"payment_id", p.ID},
			{"field", fv[0]}, {"value", fv[1]},
		})
	}
	return jsonResponse(out)
}

// hHTTPLogByID answers the bank's callback that completed the payment.
func (s *Server) hHTTPLogByID(c *call) response {
	out := []obj{}
	p := s.payments[c.q.Get("id")]
	if p == nil || p.Obtained.IsZero() {
		return jsonResponse(out)
	}
	out = append(out, obj{
		{"id", strconv.FormatInt(p.paramIDs[0], 10)}, {"payment_id", p.ID},
		{"request_method", "POST"}, {"request_uri", "/external/"}, {"ip", "62.76.178.170"},
		{"body", ""}, {"datetime", dt(p.Obtained)},
	})
	return jsonResponse(out)
}

// hRefunds answers the refunds of a payment. The remainder after each
// refund is sent under both "reminder" (the document's spelling, in its
// table and example) and "remainder".
func (s *Server) hRefunds(c *call) response {
	out := []obj{}
	p := s.payments[c.q.Get("id")]
	if p == nil {
		return jsonResponse(out)
	}
	for _, f := range p.Refunds {
		out = append(out, obj{
			{"id", f.ID}, {"payment_id", p.ID}, {"refund_number", strconv.Itoa(f.Number)}, {"user", f.User},
			{"amount", f.Amount}, {"reminder", f.Remainder}, {"remainder", f.Remainder},
			{"datetime", dt(f.Time)}, {"status", "done"},
		})
	}
	return jsonResponse(out)
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
	switch p.Status {
	case StatusObtained, StatusSuccess, StatusStuck, StatusPartiallyRefunded:
	default:
		return fail(MsgNotRefundable)
	}
	rem := p.remainder()
	raw := c.form.Get("amount")
	var amt payments.Decimal
	if truthy(c.form.Get("partial")) {
		d, ok := amountField(raw)
		if !ok {
			return fail(MsgBadAmount)
		}
		if d.Cmp(rem) > 0 {
			return fail(MsgRefundExceeds)
		}
		amt = d
	} else {
		if strings.TrimSpace(raw) != "" {
			d, ok := amountField(raw)
			switch {
			case !ok:
				return fail(MsgBadAmount)
			case d.Cmp(rem) > 0:
				return fail(MsgRefundExceeds)
			case d.Cmp(rem) < 0:
				return fail(MsgFullRefundAmount)
			}
		}
		amt = rem
	}
	cart := c.form.Get("refund_cart")
	if strings.TrimSpace(cart) != "" {
		var items []json.RawMessage
		if json.Unmarshal([]byte(cart), &items) != nil {
			return fail(MsgBadRefundCart)
		}
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
	if p.refunded.Sign() > 0 {
		p.Status = StatusPartiallyRefunded
	} else {
		p.Status = StatusSuccess
	}
	if p.Success.IsZero() {
		p.Success = s.now()
	}
	return success()
}
