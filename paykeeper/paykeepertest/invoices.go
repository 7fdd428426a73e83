package paykeepertest

import (
	"cmp"
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/internal/fakeserver"
)

// invoice is an invoice as the server holds it.
type invoice struct {
	InvoiceRecord
	amount payments.Decimal
	cart   string // the form's cart field, "" when none
}

// InvoiceRecord is what the server holds about one invoice.
type InvoiceRecord struct {
	ID          string // 17 digits
	Status      string // InvoiceCreated, InvoiceSent, InvoicePaid or InvoiceExpired
	Amount      string // "1205.98"
	ClientID    string
	OrderID     string
	ServiceName string // as sent: a plain string or a JSON object string
	ClientEmail string
	ClientPhone string
	Expiry      time.Time
	Created     time.Time
	Paid        time.Time // zero until paid
	PaymentID   string    // the payment that paid it, "" until paid
}

// expireDueLocked moves unpaid invoices past their expiry to expired.
func (s *Server) expireDueLocked() {
	now := s.now()
	for _, v := range s.invoices {
		if (v.Status == InvoiceCreated || v.Status == InvoiceSent) && !now.Before(v.Expiry) {
			v.Status = InvoiceExpired
		}
	}
}

// Invoice returns the invoice with id, if the server has it.
func (s *Server) Invoice(id string) (InvoiceRecord, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expireDueLocked()
	v := s.invoices[id]
	if v == nil {
		return InvoiceRecord{}, false
	}
	return v.InvoiceRecord, true
}

// Invoices returns every invoice in the order they were created.
func (s *Server) Invoices() []InvoiceRecord {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expireDueLocked()
	return mapped(s.invoiceOrder, func(id string) InvoiceRecord { return s.invoices[id].InvoiceRecord })
}

// ExpireInvoice makes an unpaid invoice expired at once, as if its expiry
// had passed. It reports whether the invoice exists and was unpaid.
func (s *Server) ExpireInvoice(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	v := s.invoices[id]
	if v == nil || v.Status == InvoicePaid {
		return false
	}
	v.Status = InvoiceExpired
	return true
}

// PayInvoice pays invoice id as a payer would on its page: a payment for the
// invoice's amount, clientid, orderid and service name is created (status
// obtained), the invoice becomes paid with paymentid set, and the payment is
// notified as [Server.Notify] does (becoming success when the merchant
// acknowledges, stuck when not, success when no informer URL is set). It
// returns the payment id; the notification is in [Server.Notifications]. It
// fails when the invoice does not exist or is paid or expired.
func (s *Server) PayInvoice(id string) (string, error) {
	s.mu.Lock()
	s.expireDueLocked()
	v := s.invoices[id]
	switch {
	case v == nil:
		s.mu.Unlock()
		return "", fmt.Errorf("paykeepertest: no invoice %s", id)
	case v.Status == InvoicePaid || v.Status == InvoiceExpired:
		s.mu.Unlock()
		return "", fmt.Errorf("paykeepertest: invoice %s is %s", id, v.Status)
	}
	p := s.addPaymentLocked(PaymentSpec{
		Status: StatusObtained, ClientID: v.ClientID, OrderID: v.OrderID, ServiceName: v.ServiceName,
		ClientEmail: v.ClientEmail, ClientPhone: v.ClientPhone,
	}, v.amount)
	if cart := cmp.Or(v.cart, cartOf(v.ServiceName)); cart != "" {
		p.options["cart"] = cart
	}
	v.Status = InvoicePaid
	v.Paid = p.Obtained
	v.PaymentID = p.ID
	s.mu.Unlock()
	_, _ = s.Notify(p.ID)
	return p.ID, nil
}

// serviceObject parses a service_name sent as a JSON object; ok is false for
// a plain string.
func serviceObject(sn string) (m map[string]json.RawMessage, ok bool) {
	ok = strings.HasPrefix(sn, "{") && json.Unmarshal([]byte(sn), &m) == nil
	return m, ok
}

// displayServiceName is the service name a payer sees: the "service_name"
// member of a JSON service_name, or the plain string.
func displayServiceName(sn string) string {
	m, ok := serviceObject(sn)
	if !ok {
		return sn
	}
	var name string
	_ = json.Unmarshal(m["service_name"], &name) // "" when absent or not a string
	return name
}

// cartOf returns the cart of a JSON service_name as a JSON string holding
// the array (how /info/options/byid/ carries it), or "".
func cartOf(sn string) string {
	m, ok := serviceObject(sn)
	raw, has := m["cart"]
	var str string
	if !ok || !has || json.Unmarshal(raw, &str) == nil {
		return str // "" without a cart, else already a JSON string holding the array
	}
	return string(raw)
}

func (v *invoice) json() obj {
	return obj{
		{"id", v.ID},
		{"user_id", 1},
		{"status", v.Status},
		{"pay_amount", v.Amount},
		{"clientid", strOrNull(v.ClientID)},
		{"orderid", strOrNull(v.OrderID)},
		{"paymentid", strOrNull(v.PaymentID)},
		{"service_name", strOrNull(v.ServiceName)},
		{"client_email", strOrNull(v.ClientEmail)},
		{"client_phone", strOrNull(v.ClientPhone)},
		{"expiry_datetime", dt(v.Expiry)},
		{"created_datetime", dt(v.Created)},
		{"paid_datetime", dt(v.Paid)},
	}
}

func (s *Server) hInvoiceByID(c *call) response {
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
	statuses := arrayParam(q, "status")
	if !ok || required && len(statuses) == 0 {
		return nil, ok
	}
	s.expireDueLocked()
	var out []*invoice
	for _, id := range slices.Backward(s.invoiceOrder) {
		if v := s.invoices[id]; v.Status != InvoiceCreated && selects(statuses, v.Status) && rng.has(v.Created) {
			out = append(out, v)
		}
	}
	return out, true
}

func (s *Server) hInvoiceList(c *call) response {
	vs, ok := s.invoicesLocked(c.q, true)
	return listPage(c.q, vs, ok, (*invoice).json)
}

func (s *Server) hInvoiceListCount(c *call) response {
	vs, ok := s.invoicesLocked(c.q, false)
	if !ok {
		return fail(MsgBadDate)
	}
	n := map[string]int{}
	for _, v := range vs {
		n[v.Status]++
	}
	return jsonResponse(obj{{"statuses", counts("status", []string{InvoicePaid, InvoiceExpired, InvoiceSent}, n)},
		{"fullcount", []obj{{{"count", strconv.Itoa(len(vs))}}}}})
}

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
	var expiry time.Time
	if e := strings.TrimSpace(f.Get("expiry")); e != "" {
		t, err := time.ParseInLocation(dateTimeLayout, e, Moscow)
		if err != nil {
			t, err = time.ParseInLocation(dateLayout, e, Moscow)
		}
		if err != nil || !t.After(s.now()) {
			return fail(MsgBadExpiry)
		}
		expiry = t
	}
	v := s.addInvoiceLocked(f, InvoiceCreated, amt, expiry)
	link := s.URL() + billPrefix + v.ID + "/"
	return jsonResponse(obj{{"invoice_id", v.ID}, {"invoice_url", link}, {"invoice", invoiceHTML(v, link)}})
}

// addInvoiceLocked creates an invoice of amount in status for the form's
// clientid, orderid, service_name, client_email and client_phone, valid
// until expiry or, when that is zero, midnight four days after its
// creation, as in both of the document's examples.
func (s *Server) addInvoiceLocked(f url.Values, status string, amount payments.Decimal, expiry time.Time) *invoice {
	now := s.now()
	if expiry.IsZero() {
		m := now.In(Moscow)
		expiry = time.Date(m.Year(), m.Month(), m.Day()+4, 0, 0, 0, 0, Moscow)
	}
	v := &invoice{InvoiceRecord: InvoiceRecord{ID: s.newInvoiceIDLocked(now), Status: status, Amount: fixed(amount),
		ClientID: f.Get("clientid"), OrderID: f.Get("orderid"), ServiceName: f.Get("service_name"),
		ClientEmail: f.Get("client_email"), ClientPhone: f.Get("client_phone"), Expiry: expiry, Created: now}, amount: amount}
	s.invoices[v.ID] = v
	s.invoiceOrder = append(s.invoiceOrder, v.ID)
	return v
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
	return `<HTML><HEAD><META http-equiv=Content-Type content="text/html; charset=utf-8"><TITLE>Счёт № ` + v.ID + `</TITLE></HEAD>` +
		`<BODY><P>Здравствуйте, ` + e(v.ClientID) + `!</P>` +
		`<P>Вам выставлен счёт № ` + v.ID + ` на сумму ` + v.Amount + ` руб.` +
		` за «` + e(displayServiceName(v.ServiceName)) + `» (заказ ` + e(v.OrderID) + `).</P>` +
		`<P>Оплатить счёт: <A href="` + e(link) + `">` + e(link) + `</A></P>` +
		`<P>Счёт действителен до ` + v.Expiry.In(Moscow).Format(dateTimeLayout) + `.</P></BODY></HTML>`
}

func (s *Server) invoiceChange(c *call, to string) response {
	s.expireDueLocked()
	v := s.invoices[c.form.Get("id")]
	switch {
	case v == nil:
		return fail(MsgInvoiceNotFound)
	case v.Status == InvoicePaid:
		return fail(MsgInvoicePaid)
	case v.Status == InvoiceExpired && to == InvoiceSent:
		return fail(MsgInvoiceExpired)
	}
	v.Status = to
	return success()
}

// hInvoiceSend e-mails the invoice: created (or sent again) becomes sent.
func (s *Server) hInvoiceSend(c *call) response { return s.invoiceChange(c, InvoiceSent) }

// hInvoiceRevoke withdraws an unpaid invoice: it becomes expired.
func (s *Server) hInvoiceRevoke(c *call) response { return s.invoiceChange(c, InvoiceExpired) }

// billPrefix is the payer's invoice page, /bill/<id>/, served without
// authentication.
const billPrefix = "/bill/"

func billID(r *http.Request) (string, bool) {
	rest, ok := strings.CutPrefix(r.URL.Path, billPrefix)
	if !ok || r.Method != http.MethodGet {
		return "", false
	}
	rest = strings.TrimSuffix(rest, "/")
	return rest, fakeserver.Digits(rest)
}

// billPage is the payer's page of an invoice (no authentication).
func (s *Server) billPage(id string) response {
	rec, ok := s.Invoice(id)
	if !ok {
		return htmlResponse(http.StatusNotFound, notFoundHTML)
	}
	return htmlResponse(http.StatusOK, `<!DOCTYPE html>
<html lang="ru"><head><meta charset="utf-8"><title>Оплата счёта № `+rec.ID+`</title></head>
<body><h1>Счёт № `+rec.ID+`</h1>
<p class="amount">`+rec.Amount+` руб.</p>
<p class="service">`+html.EscapeString(displayServiceName(rec.ServiceName))+`</p>
<p class="status">`+rec.Status+`</p>
</body></html>
`)
}
