package paykeepertest

import (
	"encoding/json"
	"fmt"
	"html"
	"net/mail"
	"net/url"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/paysdk/payments"
)

// MsgBadDate answers a date parameter that is not YYYY-MM-DD.
const MsgBadDate = "Неверный формат даты."

// ---- helpers ----

// arrayParam collects a PHP array parameter in any of its encodings:
// name[]=a&name[]=b, name[0]=a&name[1]=b, and a plain name=a.
func arrayParam(q url.Values, name string) []string {
	var out []string
	out = append(out, q[name+"[]"]...)
	type idx struct {
		i int
		v []string
	}
	var indexed []idx
	for k, vs := range q {
		rest, ok := strings.CutPrefix(k, name+"[")
		if !ok || !strings.HasSuffix(rest, "]") || rest == "]" {
			continue
		}
		n, err := strconv.Atoi(strings.TrimSuffix(rest, "]"))
		if err != nil {
			continue
		}
		indexed = append(indexed, idx{n, vs})
	}
	sort.Slice(indexed, func(a, b int) bool { return indexed[a].i < indexed[b].i })
	for _, e := range indexed {
		out = append(out, e.v...)
	}
	out = append(out, q[name]...)
	return out
}

func set(vs []string) map[string]bool {
	m := make(map[string]bool, len(vs))
	for _, v := range vs {
		m[v] = true
	}
	return m
}

// dateRange is an inclusive range of Moscow dates; a zero bound is open.
type dateRange struct{ from, to time.Time }

func (d dateRange) has(t time.Time) bool {
	if t.IsZero() {
		return false
	}
	if !d.from.IsZero() && t.Before(d.from) {
		return false
	}
	if !d.to.IsZero() && !t.Before(d.to.AddDate(0, 0, 1)) {
		return false
	}
	return true
}

// parseRange reads two YYYY-MM-DD parameters; absent ones leave the bound
// open, malformed ones fail.
func parseRange(q url.Values, startKey, endKey string) (dateRange, bool) {
	var d dateRange
	for _, p := range []struct {
		key string
		dst *time.Time
	}{{startKey, &d.from}, {endKey, &d.to}} {
		v := q.Get(p.key)
		if v == "" {
			continue
		}
		t, err := time.ParseInLocation(dateLayout, v, Moscow)
		if err != nil {
			return d, false
		}
		*p.dst = t
	}
	return d, true
}

// page reads from and limit; a missing or malformed limit means no limit.
func page(q url.Values) (from, limit int) {
	from, _ = strconv.Atoi(q.Get("from"))
	if from < 0 {
		from = 0
	}
	limit, err := strconv.Atoi(q.Get("limit"))
	if err != nil || limit < 0 {
		limit = -1
	}
	return from, limit
}

func paginate[T any](xs []T, from, limit int) []T {
	if from >= len(xs) {
		return nil
	}
	xs = xs[from:]
	if limit >= 0 && limit < len(xs) {
		xs = xs[:limit]
	}
	return xs
}

func dt(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.In(Moscow).Format(dateTimeLayout)
}

// amountField parses a money parameter: positive, at most 2 places.
func amountField(v string) (payments.Decimal, bool) {
	d, err := payments.ParseDecimal(strings.TrimSpace(v))
	if err != nil || d.Sign() <= 0 {
		return d, false
	}
	if _, err := d.StringFixed(2); err != nil {
		return d, false
	}
	return d, true
}

// exactAmount reads a sum that must be written as the client writes it,
// "990.00": positive, two decimals, no sign, exponent, space or leading
// zero. The form's sign covers the fields' text run together, so a looser
// sum would let text move between sum and clientid under the same sign.
func exactAmount(v string) (payments.Decimal, bool) {
	d, ok := amountField(v)
	return d, ok && fixed(d) == v
}

func truthy(v string) bool {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "true", "1", "on", "yes":
		return true
	}
	return false
}

func boolStr(b bool) string { return strconv.FormatBool(b) }

// ---- 6. token ----

func (s *Server) hToken(c *call) response {
	s.mu.Lock()
	s.tokenFetches++
	tok := s.currentTokenLocked()
	s.mu.Unlock()
	return jsonResponse(obj{{"token", tok}})
}

// ---- 1. statistics ----

// PaymentSystems lists the merchant's payment systems (read only) as
// /info/systems/list/ answers them: id, system_description, site_description.
var PaymentSystems = [][3]string{
	{"1", "WebMoney", "WebMoney Transfer"},
	{"2", "Qiwi", "Visa Qiwi Wallet"},
	{"3", "Card", "Банковская карта Visa, MasterCard, Мир"},
	{"6", "RSB", "Russian Standart Bank"},
	{"9", "SBP", "Система быстрых платежей"},
}

func (s *Server) hSystemsList(*call) response {
	out := []obj{}
	for _, ps := range PaymentSystems {
		out = append(out, obj{{"id", ps[0]}, {"system_description", ps[1]}, {"site_description", ps[2]}})
	}
	return jsonResponse(out)
}

// sums are the three balances of the statistics: success counts every
// payment whose money was taken (obtained, success, stuck, partially
// refunded), account those the merchant acknowledged (success, partially
// refunded), stuck the unacknowledged ones; each net of refunds.
type sums struct{ success, account, stuck payments.Decimal }

func (x *sums) add(p *payment) {
	net := p.remainder()
	switch p.status {
	case StatusObtained:
		x.success = x.success.Add(net)
	case StatusSuccess, StatusPartiallyRefunded:
		x.success = x.success.Add(net)
		x.account = x.account.Add(net)
	case StatusStuck:
		x.success = x.success.Add(net)
		x.stuck = x.stuck.Add(net)
	}
}

func (s *Server) sumsLocked(rng dateRange, system string) sums {
	var x sums
	for _, p := range s.payments {
		if (system == "" || p.systemID == system) && rng.has(p.obtained.In(Moscow)) {
			x.add(p)
		}
	}
	return x
}

func (s *Server) hSystemsSums(c *call) response {
	rng, ok := parseRange(c.q, "start", "end")
	if !ok {
		return fail(MsgBadDate)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []obj{}
	for _, ps := range PaymentSystems {
		x := s.sumsLocked(rng, ps[0])
		out = append(out, obj{
			{"id", ps[0]}, {"system_description", ps[1]}, {"site_description", ps[2]},
			{"success", fixed(x.success)}, {"account", fixed(x.account)}, {"stuck", fixed(x.stuck)},
			{"currency", "RUR"},
		})
	}
	return jsonResponse(out)
}

func (s *Server) hSystemsAllSum(c *call) response {
	rng, ok := parseRange(c.q, "start", "end")
	if !ok {
		return fail(MsgBadDate)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	x := s.sumsLocked(rng, "")
	return jsonResponse(obj{{"success", fixed(x.success)}, {"account", fixed(x.account)}, {"stuck", fixed(x.stuck)}})
}

// hSystemsDetails answers per payment system with payments in the period a
// series of [timestamp in milliseconds, amount]: one point per day for up to
// 30 days, else 30 points over equal spans (the document's example
// timestamps are milliseconds, though its text says seconds). A missing
// bound makes the period the 30 days up to today.
func (s *Server) hSystemsDetails(c *call) response {
	rng, ok := parseRange(c.q, "start", "end")
	if !ok {
		return fail(MsgBadDate)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if rng.from.IsZero() || rng.to.IsZero() {
		n := s.now().In(Moscow)
		today := time.Date(n.Year(), n.Month(), n.Day(), 0, 0, 0, 0, Moscow)
		rng = dateRange{from: today.AddDate(0, 0, -29), to: today}
	}
	days := int(rng.to.Sub(rng.from).Hours()/24) + 1
	if days < 1 {
		return jsonResponse([]obj{})
	}
	points := days
	if points > 30 {
		points = 30
	}
	out := []obj{}
	for _, ps := range PaymentSystems {
		buckets := make([]sums, points)
		found := false
		for _, p := range s.payments {
			t := p.obtained.In(Moscow)
			if p.systemID != ps[0] || !rng.has(t) {
				continue
			}
			day := int(t.Sub(rng.from).Hours() / 24)
			buckets[day*points/days].add(p)
			found = true
		}
		if !found {
			continue
		}
		data := []any{}
		for i := range buckets {
			start := rng.from.AddDate(0, 0, i*days/points)
			data = append(data, []any{start.UnixMilli(), number(fixed(buckets[i].success))})
		}
		out = append(out, obj{{"payment_system_id", ps[0]}, {"label", ps[2]}, {"data", data}})
	}
	return jsonResponse(out)
}

// ---- 2. payments ----

func (p *payment) listJSON() obj {
	return obj{
		{"id", p.id},
		{"pay_amount", fixed(p.amount)},
		{"refund_amount", fixed(p.refunded)},
		{"clientid", strOrNull(p.clientID)},
		{"orderid", strOrNull(p.orderID)},
		{"payment_system_id", p.systemID},
		{"unique_id", strOrNull(p.uniqueID)},
		{"status", p.status},
		{"repeat_counter", strconv.Itoa(p.repeatCounter)},
		{"pending_datetime", dt(p.pending)},
		{"obtain_datetime", dt(p.obtained)},
		{"success_datetime", dt(p.success)},
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
		if len(st) > 0 && !st[p.status] || len(sy) > 0 && !sy[p.systemID] || !rng.has(p.pending.In(Moscow)) {
			continue
		}
		out = append(out, p)
	}
	return out, true
}

func (s *Server) hPaymentsByDate(c *call) response {
	s.mu.Lock()
	defer s.mu.Unlock()
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
	s.mu.Lock()
	defer s.mu.Unlock()
	ps, ok := s.filterPaymentsLocked(c.q, false)
	if !ok {
		return fail(MsgBadDate)
	}
	byStatus, bySystem := map[string]int{}, map[string]int{}
	for _, p := range ps {
		byStatus[p.status]++
		bySystem[p.systemID]++
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
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.payments[c.q.Get("id")]
	if p == nil {
		return jsonResponse([]obj{})
	}
	o := p.listJSON()
	if truthy(c.q.Get("advanced")) {
		// advanced=true: the fake's choice of extra fields (no source lists them).
		o = append(o, obj{{"client_email", strOrNull(p.email)},
			{"client_phone", strOrNull(p.phone)}, {"service_name", strOrNull(p.serviceName)},
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
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range s.sortedPaymentsLocked() {
		if !rng.has(p.pending.In(Moscow)) {
			continue
		}
		if match(p.id) || match(p.orderID) || match(p.clientID) || match(p.uniqueID) || match(p.email) {
			out = append(out, p.listJSON())
		}
	}
	return jsonResponse(out)
}

// hOptionsByID answers the payment's options object; bank answer fields
// only once the money was taken. An unknown id answers [] (PHP's empty
// array).
func (s *Server) hOptionsByID(c *call) response {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.payments[c.q.Get("id")]
	if p == nil {
		return jsonResponse([]obj{})
	}
	o := obj{
		{"client_ip", p.clientIP},
		{"orderid", p.orderID},
		{"service_name", displayServiceName(p.serviceName)},
		{"client_email", p.email},
		{"client_phone", p.phone},
		{"qiwi_phone", ""},
		{"bill_name", ""},
	}
	if !p.obtained.IsZero() {
		o = append(o, obj{
			{"msgtype", "Visa"},
			{"RRN", fmt.Sprintf("4134%08s", p.id)},
			{"APPROVAL_CODE", fmt.Sprintf("%06s", p.id)[:6]},
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
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []obj{}
	p := s.payments[c.q.Get("id")]
	if p == nil || p.obtained.IsZero() {
		return jsonResponse(out)
	}
	for i, fv := range [][2]string{{"RESULT", "OK"}, {"RESULT_CODE", "000"}} {
		out = append(out, obj{
			{"id", strconv.FormatInt(p.paramIDs[i], 10)}, {"payment_id", p.id},
			{"field", fv[0]}, {"value", fv[1]},
		})
	}
	return jsonResponse(out)
}

// hHTTPLogByID answers the bank's callback that completed the payment.
func (s *Server) hHTTPLogByID(c *call) response {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []obj{}
	p := s.payments[c.q.Get("id")]
	if p == nil || p.obtained.IsZero() {
		return jsonResponse(out)
	}
	out = append(out, obj{
		{"id", strconv.FormatInt(p.paramIDs[0], 10)}, {"payment_id", p.id},
		{"request_method", "POST"}, {"request_uri", "/external/"}, {"ip", "62.76.178.170"},
		{"body", ""}, {"datetime", dt(p.obtained)},
	})
	return jsonResponse(out)
}

// hRefunds answers the refunds of a payment. The remainder after each
// refund is sent under both "reminder" (the document's spelling, in its
// table and example) and "remainder".
func (s *Server) hRefunds(c *call) response {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []obj{}
	p := s.payments[c.q.Get("id")]
	if p == nil {
		return jsonResponse(out)
	}
	for _, f := range p.refunds {
		out = append(out, obj{
			{"id", strconv.FormatInt(f.id, 10)}, {"payment_id", p.id},
			{"refund_number", strconv.Itoa(f.number)}, {"user", f.user},
			{"amount", fixed(f.amount)}, {"reminder", fixed(f.remainder)}, {"remainder", fixed(f.remainder)},
			{"datetime", dt(f.at)}, {"status", "done"},
		})
	}
	return jsonResponse(out)
}

// hReverse refunds a payment in full (partial=false: the whole remainder;
// an amount, if sent, must equal it) or in part (partial=true: amount up to
// the remainder).
func (s *Server) hReverse(c *call) response {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.payments[c.form.Get("id")]
	if p == nil {
		return fail(MsgPaymentNotFound)
	}
	if !c.user.refundAllowed() {
		return fail(MsgRefundForbidden)
	}
	switch p.status {
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
	p.refunds = append(p.refunds, refund{
		id: s.nextRefundID, number: len(p.refunds) + 1, user: c.user.login,
		amount: amt, remainder: left, at: s.now(), cart: cart, sbpTo: c.form.Get("sbp_refund_to"),
	})
	s.nextRefundID++
	switch {
	case p.hold && !p.captured:
		// Reversing an authorisation: all of it cancels the payment; a part
		// lowers what a capture takes.
		if left.Sign() == 0 {
			p.status = StatusCanceled
		}
	case left.Sign() == 0:
		p.status = StatusRefunded
	default:
		p.status = StatusPartiallyRefunded
	}
	return success()
}

// hRepeatCnt resets the notification counter and runs the informer again
// for a payment whose money was taken.
func (s *Server) hRepeatCnt(c *call) response {
	id := c.form.Get("id")
	s.mu.Lock()
	p := s.payments[id]
	if p == nil {
		s.mu.Unlock()
		return fail(MsgPaymentNotFound)
	}
	if !moneyTaken(p.status) {
		s.mu.Unlock()
		return fail(MsgNoNotify)
	}
	p.repeatCounter = 0
	informer := s.informerLocked() != nil
	s.mu.Unlock()
	if informer {
		_, _ = s.Notify(id)
	}
	return success()
}

// hCapture charges an authorised two-stage payment in full.
func (s *Server) hCapture(c *call) response {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.payments[c.form.Get("id")]
	if p == nil {
		return fail(MsgPaymentNotFound)
	}
	if !p.hold || p.captured || !moneyTaken(p.status) {
		return fail(MsgNotHold)
	}
	p.captured = true
	if p.refunded.Sign() > 0 {
		p.status = StatusPartiallyRefunded
	} else {
		p.status = StatusSuccess
	}
	if p.success.IsZero() {
		p.success = s.now()
	}
	return success()
}

// ---- 3. invoices ----

func (v *invoice) json() obj {
	return obj{
		{"id", v.id},
		{"user_id", 1},
		{"status", v.status},
		{"pay_amount", fixed(v.amount)},
		{"clientid", strOrNull(v.clientID)},
		{"orderid", strOrNull(v.orderID)},
		{"paymentid", strOrNull(v.paymentID)},
		{"service_name", strOrNull(v.serviceName)},
		{"client_email", strOrNull(v.email)},
		{"client_phone", strOrNull(v.phone)},
		{"expiry_datetime", dt(v.expiry)},
		{"created_datetime", dt(v.created)},
		{"paid_datetime", dt(v.paid)},
	}
}

func (s *Server) hInvoiceByID(c *call) response {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expireDueLocked()
	v := s.invoices[c.q.Get("id")]
	if v == nil {
		return fail(MsgInvoiceNotFound)
	}
	return jsonResponse(v.json())
}

// invoicesLocked selects invoices newest first by status (created ones never)
// and creation date.
func (s *Server) invoicesLocked(q url.Values, required bool) ([]*invoice, bool) {
	rng, ok := parseRange(q, "start_date", "end_date")
	if !ok {
		return nil, false
	}
	statuses := arrayParam(q, "status")
	if required && len(statuses) == 0 {
		return nil, true
	}
	st := set(statuses)
	s.expireDueLocked()
	var out []*invoice
	for i := len(s.invoiceOrder) - 1; i >= 0; i-- {
		v := s.invoices[s.invoiceOrder[i]]
		if v.status == InvoiceCreated || len(st) > 0 && !st[v.status] || !rng.has(v.created.In(Moscow)) {
			continue
		}
		out = append(out, v)
	}
	return out, true
}

func (s *Server) hInvoiceList(c *call) response {
	s.mu.Lock()
	defer s.mu.Unlock()
	vs, ok := s.invoicesLocked(c.q, true)
	if !ok {
		return fail(MsgBadDate)
	}
	from, limit := page(c.q)
	out := []obj{}
	for _, v := range paginate(vs, from, limit) {
		out = append(out, v.json())
	}
	return jsonResponse(out)
}

func (s *Server) hInvoiceListCount(c *call) response {
	s.mu.Lock()
	defer s.mu.Unlock()
	vs, ok := s.invoicesLocked(c.q, false)
	if !ok {
		return fail(MsgBadDate)
	}
	n := map[string]int{}
	for _, v := range vs {
		n[v.status]++
	}
	statuses := []obj{}
	for _, st := range []string{InvoicePaid, InvoiceExpired, InvoiceSent} {
		if n[st] > 0 {
			statuses = append(statuses, obj{{"status", st}, {"count", strconv.Itoa(n[st])}})
		}
	}
	return jsonResponse(obj{{"statuses", statuses}, {"fullcount", []obj{{{"count", strconv.Itoa(len(vs))}}}}})
}

// defaultExpiryDays: an invoice without expiry is valid until midnight four
// days after its creation date, as in both of the document's examples.
const defaultExpiryDays = 4

func (s *Server) hInvoicePreview(c *call) response {
	f := c.form
	amt, ok := amountField(f.Get("pay_amount"))
	if !ok {
		return fail(MsgBadAmount)
	}
	sn := f.Get("service_name")
	if strings.HasPrefix(strings.TrimSpace(sn), "{") {
		if _, ok := serviceObject(strings.TrimSpace(sn)); !ok {
			return fail(MsgBadServiceName)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	var expiry time.Time
	if e := strings.TrimSpace(f.Get("expiry")); e != "" {
		t, err := time.ParseInLocation(dateTimeLayout, e, Moscow)
		if err != nil {
			t, err = time.ParseInLocation(dateLayout, e, Moscow)
		}
		if err != nil || !t.After(now) {
			return fail(MsgBadExpiry)
		}
		expiry = t
	} else {
		m := now.In(Moscow)
		expiry = time.Date(m.Year(), m.Month(), m.Day()+defaultExpiryDays, 0, 0, 0, 0, Moscow)
	}
	id := s.newInvoiceIDLocked(now)
	v := &invoice{
		id: id, status: InvoiceCreated, amount: amt,
		clientID: f.Get("clientid"), orderID: f.Get("orderid"), serviceName: sn,
		email: f.Get("client_email"), phone: f.Get("client_phone"),
		expiry: expiry, created: now,
	}
	s.invoices[id] = v
	s.invoiceOrder = append(s.invoiceOrder, id)
	link := s.URL() + billPrefix + id + "/"
	return jsonResponse(obj{{"invoice_id", id}, {"invoice_url", link}, {"invoice", invoiceHTML(v, link)}})
}

// newInvoiceIDLocked makes a 17-digit id: the Moscow creation time
// YYYYMMDDhhmmss and three more digits.
// When a second's thousand ids are taken it borrows the following second's,
// so a burst of invoices never spins.
func (s *Server) newInvoiceIDLocked(now time.Time) string {
	t := now.In(Moscow)
	for {
		base := t.Format("20060102150405")
		for range 1000 {
			s.invoiceSeq++
			id := fmt.Sprintf("%s%03d", base, s.invoiceSeq%1000)
			if s.invoices[id] == nil {
				return id
			}
		}
		t = t.Add(time.Second)
	}
}

func invoiceHTML(v *invoice, link string) string {
	e := html.EscapeString
	return `<HTML><HEAD><META http-equiv=Content-Type content="text/html; charset=utf-8"><TITLE>Счёт № ` + v.id + `</TITLE></HEAD>` +
		`<BODY><P>Здравствуйте, ` + e(v.clientID) + `!</P>` +
		`<P>Вам выставлен счёт № ` + v.id + ` на сумму ` + fixed(v.amount) + ` руб.` +
		` за «` + e(displayServiceName(v.serviceName)) + `» (заказ ` + e(v.orderID) + `).</P>` +
		`<P>Оплатить счёт: <A href="` + e(link) + `">` + e(link) + `</A></P>` +
		`<P>Счёт действителен до ` + v.expiry.In(Moscow).Format(dateTimeLayout) + `.</P></BODY></HTML>`
}

func (s *Server) invoiceChange(c *call, to string) response {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expireDueLocked()
	v := s.invoices[c.form.Get("id")]
	switch {
	case v == nil:
		return fail(MsgInvoiceNotFound)
	case v.status == InvoicePaid:
		return fail(MsgInvoicePaid)
	case v.status == InvoiceExpired && to == InvoiceSent:
		return fail(MsgInvoiceExpired)
	}
	v.status = to
	return success()
}

// hInvoiceSend e-mails the invoice: created (or sent again) becomes sent.
func (s *Server) hInvoiceSend(c *call) response { return s.invoiceChange(c, InvoiceSent) }

// hInvoiceRevoke withdraws an unpaid invoice: it becomes expired.
func (s *Server) hInvoiceRevoke(c *call) response { return s.invoiceChange(c, InvoiceExpired) }

// ---- 4. settings ----

// hUserSettings answers the current user. The document's table calls the
// refund flag refund_allowed and its example refund_allow: both are sent.
func (s *Server) hUserSettings(c *call) response {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := c.user
	allowed := boolStr(u.refundAllowed())
	return jsonResponse(obj{
		{"user", u.login}, {"refund_allow", allowed}, {"refund_allowed", allowed},
		{"refund", u.refund}, {"admin", boolStr(u.admin)},
	})
}

// hUserLastVisit answers the visit before this request, or this one on the
// first visit.
func (s *Server) hUserLastVisit(c *call) response {
	ip, at := c.prevIP, c.prevAt
	if at.IsZero() {
		ip, at = c.ip, s.now()
	}
	return jsonResponse(obj{{"ip", ip}, {"datetime", dt(at)}})
}

func (s *Server) hOrgSettings(c *call) response {
	s.mu.Lock()
	defer s.mu.Unlock()
	o := obj{}
	for i, k := range settingOrder {
		if i >= 4 && !c.user.admin {
			break
		}
		if strings.HasPrefix(k, "smtp_") && k != "smtp_use_custom" && s.settings["smtp_use_custom"] != "true" {
			continue
		}
		o.add(k, s.settings[k])
	}
	return jsonResponse(o)
}

func (s *Server) hOrgNotifications(*call) response {
	return jsonResponse([]obj{
		{
			{"type", "important"},
			{"message", "<strong>ВНИМАНИЕ:</strong> ДО КОНЦА ОПЛАЧЕННОГО ПЕРИОДА ПОДДЕРЖКИ И ОБНОВЛЕНИЙ <strong>ОСТАЛОСЬ 10 ДНЕЙ</strong>"},
			{"link", "https://paykeeper.ru/paykeeper/pay/tech/"},
			{"link_caption", "ПРОДЛИТЬ"},
		},
		{
			{"type", "bottom"},
			{"message", "до конца оплаченного периода обновлений <br /> и поддержки <em>осталось 255 дней</em>"},
			{"link", "https://paykeeper.ru/paykeeper/pay/tech/"},
			{"link_caption", "Обратиться в службу поддержки"},
		},
	})
}

func (s *Server) hOrgFields(*call) response {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []obj{}
	for _, f := range s.fields {
		out = append(out, f.json())
	}
	return jsonResponse(out)
}

func (s *Server) hOrgReportEmails(*call) response {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []obj{}
	for _, e := range s.reportEmails {
		out = append(out, obj{{"id", strconv.Itoa(e.id)}, {"email", e.email}})
	}
	return jsonResponse(out)
}

func (s *Server) hOrgUsers(*call) response {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []obj{}
	for _, u := range s.users {
		out = append(out, obj{{"id", u.id}, {"login", u.login}, {"refund", u.refund}, {"admin", boolStr(u.admin)}})
	}
	return jsonResponse(out)
}

// ---- 5. changing settings (administrators only) ----

func (s *Server) hChangeSetting(c *call) response {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !c.user.admin {
		return fail(MsgNotAdmin)
	}
	name := c.form.Get("name")
	if !editableSettings[name] {
		return fail(MsgUnknownSetting)
	}
	if _, ok := c.form["value"]; !ok {
		return success() // "Если новое значение не указано модификации не произойдет."
	}
	value := c.form.Get("value")
	switch name {
	case "informer_type":
		if value != "post" && value != "email" {
			return fail(MsgBadSettingValue)
		}
	case "smtp_use_custom":
		if value != "true" && value != "false" {
			return fail(MsgBadSettingValue)
		}
	case "skip_default_pages":
		if value != "on" && value != "off" && value != "true" && value != "false" {
			return fail(MsgBadSettingValue)
		}
	case "smtp_port":
		if n, err := strconv.Atoi(value); err != nil || n <= 0 || n > 65535 {
			return fail(MsgBadSettingValue)
		}
	}
	s.settings[name] = value
	return success()
}

var fieldTypes = map[string]bool{"sum": true, "clientid": true, "orderid": true, "text": true, "phone": true, "email": true, "bool": true}

func (s *Server) hChangeFormField(c *call) response {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !c.user.admin {
		return fail(MsgNotAdmin)
	}
	name := c.form.Get("pk_name")
	if name == "sum" {
		return fail(MsgSumField)
	}
	var fld *formField
	for _, f := range s.fields {
		if f.name == name {
			fld = f
		}
	}
	if fld == nil {
		return fail(MsgFieldNotFound)
	}
	has := func(k string) (string, bool) {
		vs, ok := c.form[k]
		if !ok || len(vs) == 0 {
			return "", false
		}
		return vs[0], true
	}
	for _, k := range []string{"required", "enabled"} {
		if v, ok := has(k); ok && v != "true" && v != "false" {
			return fail(MsgBadFieldValue)
		}
	}
	if v, ok := has("type"); ok && !fieldTypes[v] {
		return fail(MsgBadFieldValue)
	}
	if v, ok := has("order"); ok {
		if n, err := strconv.Atoi(v); err != nil || n < 0 || n > 10000 {
			return fail(MsgBadFieldValue)
		}
	}
	for k, dst := range map[string]*string{
		"displayed_name": &fld.displayed, "placeholder": &fld.placeholder, "required": &fld.required,
		"enabled": &fld.enabled, "type": &fld.typ, "order": &fld.order,
	} {
		if v, ok := has(k); ok {
			*dst = v
		}
	}
	return success()
}

func (s *Server) hAddReportEmail(c *call) response {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !c.user.admin {
		return fail(MsgNotAdmin)
	}
	email := strings.TrimSpace(c.form.Get("email"))
	if a, err := mail.ParseAddress(email); err != nil || a.Address != email {
		return fail(MsgBadEmail)
	}
	s.reportEmails = append(s.reportEmails, reportEmail{id: s.nextEmailID, email: email})
	s.nextEmailID++
	return success()
}

func (s *Server) hDeleteReportEmail(c *call) response {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !c.user.admin {
		return fail(MsgNotAdmin)
	}
	id, err := strconv.Atoi(c.form.Get("id"))
	for i, e := range s.reportEmails {
		if err == nil && e.id == id {
			s.reportEmails = append(s.reportEmails[:i:i], s.reportEmails[i+1:]...)
			return success()
		}
	}
	return fail(MsgEmailNotFound)
}

var digitsRE = regexp.MustCompile(`^[0-9]{1,6}$`)

// userValues validates the optional refund and admin fields.
func userValues(f url.Values) bool {
	if v, ok := f["refund"]; ok && !digitsRE.MatchString(strings.Join(v, "")) {
		return false
	}
	if v, ok := f["admin"]; ok && v[0] != "true" && v[0] != "false" {
		return false
	}
	return true
}

func (s *Server) userByLoginLocked(login string) *user {
	for _, u := range s.users {
		if u.login == login {
			return u
		}
	}
	return nil
}

func (s *Server) hUserAdd(c *call) response {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !c.user.admin {
		return fail(MsgNotAdmin)
	}
	login, password := strings.TrimSpace(c.form.Get("login")), c.form.Get("password")
	if login == "" || password == "" {
		return fail(MsgBadUser)
	}
	if !userValues(c.form) {
		return fail(MsgBadFieldValue)
	}
	if s.userByLoginLocked(login) != nil {
		return fail(MsgUserExists)
	}
	u := &user{id: s.nextUserID, login: login, password: password, refund: "0"}
	if v := c.form.Get("refund"); v != "" {
		u.refund = v
	}
	u.admin = c.form.Get("admin") == "true"
	s.nextUserID++
	s.users = append(s.users, u)
	return success()
}

// findUserLocked finds the user of a change request by id, or by login
// when no id is sent.
func (s *Server) findUserLocked(f url.Values) *user {
	if idText := f.Get("id"); idText != "" {
		id, err := strconv.Atoi(idText)
		for _, u := range s.users {
			if err == nil && u.id == id {
				return u
			}
		}
		return nil
	}
	if login := f.Get("login"); login != "" {
		return s.userByLoginLocked(login)
	}
	return nil
}

func (s *Server) hUserUpdate(c *call) response {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !c.user.admin {
		return fail(MsgNotAdmin)
	}
	u := s.findUserLocked(c.form)
	if u == nil {
		return fail(MsgUserNotFound)
	}
	if !userValues(c.form) {
		return fail(MsgBadFieldValue)
	}
	if login := strings.TrimSpace(c.form.Get("login")); login != "" && login != u.login {
		if s.userByLoginLocked(login) != nil {
			return fail(MsgUserExists)
		}
		u.login = login
	}
	if p := c.form.Get("password"); p != "" {
		u.password = p
	}
	if v := c.form.Get("refund"); v != "" {
		u.refund = v
	}
	if v := c.form.Get("admin"); v != "" {
		u.admin = v == "true"
	}
	return success()
}

func (s *Server) hUserDelete(c *call) response {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !c.user.admin {
		return fail(MsgNotAdmin)
	}
	u := s.findUserLocked(url.Values{"id": {c.form.Get("id")}})
	if u == nil || c.form.Get("id") == "" {
		return fail(MsgUserNotFound)
	}
	if u == c.user {
		return fail(MsgDeleteSelf)
	}
	for i, x := range s.users {
		if x == u {
			s.users = append(s.users[:i:i], s.users[i+1:]...)
			break
		}
	}
	return success()
}
