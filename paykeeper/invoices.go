package paykeeper

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"net/url"
	"time"
	"unicode/utf8"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/internal/transport"
)

// Invoice is an invoice (section 3).
type Invoice struct {
	ID string // 17 digits, kept as text
	// UserID is the cabinet user who issued it.
	UserID      string
	Status      InvoiceStatus
	Amount      payments.Decimal
	ClientID    string
	OrderID     string
	ServiceName string // as sent: a plain name or the JSON of ServiceName
	Email       string
	Phone       string
	// PaymentID is the payment that paid the invoice; empty until paid.
	PaymentID string
	Expiry    time.Time
	Created   time.Time
	Paid      time.Time
}

func readInvoice(r *record) Invoice {
	return Invoice{ID: r.str("id"), UserID: r.str("user_id"), Status: InvoiceStatus(r.str("status")), Amount: r.dec("pay_amount"),
		ClientID: r.str("clientid"), OrderID: r.str("orderid", "ordered"), ServiceName: r.str("service_name"), Email: r.str("client_email"),
		Phone: r.str("client_phone"), PaymentID: r.str("paymentid"), Expiry: r.time("expiry_datetime"), Created: r.time("created_datetime"),
		Paid: r.time("paid_datetime")}
}

// GetInvoice returns an invoice by its id (GET /info/invoice/byid/). An
// unknown id ("Счёт не найден.") is payments.ErrNotFound. A read; always safe.
func (c *Client) GetInvoice(ctx context.Context, id string) (_ Invoice, err error) {
	ctx, obs := c.operation(ctx, "invoice-byid", id)
	defer func() { obs.End(err) }()
	if err := checkCtx(ctx); err != nil {
		return Invoice{}, err
	}
	if err := checkID("id", id); err != nil {
		return Invoice{}, err
	}
	resp, err := c.get(ctx, "invoice-byid", "/info/invoice/byid/", url.Values{"id": {id}})
	if err != nil {
		return Invoice{}, err
	}
	inv, err := decodeOne(c, "invoice-byid", resp, readInvoice)
	if err != nil {
		return Invoice{}, err
	}
	setProviderID(obs, inv.ID)
	return inv, nil
}

// InvoiceFilter selects invoices by creation date and status. The document
// makes the statuses mandatory, and takes sent, paid and expired only:
// invoices in the "created" state are never listed ("Счета с этим статусом
// не возвращаются в запросе истории счетов"), so InvoiceCreated is refused.
type InvoiceFilter struct {
	Start, End time.Time
	Statuses   []InvoiceStatus
	PageSize   int // 0 means 100
}

func (f InvoiceFilter) query() (url.Values, error) {
	if f.Start.IsZero() || f.End.IsZero() || f.End.Before(f.Start) {
		return nil, &payments.ValidationError{Field: "period", Reason: "start and end are required, end not before start"}
	}
	if len(f.Statuses) == 0 {
		return nil, &payments.ValidationError{Field: "Statuses", Reason: "at least one of sent, paid, expired"}
	}
	q := url.Values{"start_date": {date(f.Start)}, "end_date": {date(f.End)}}
	for _, s := range f.Statuses {
		if s == InvoiceCreated {
			return nil, &payments.ValidationError{Field: "Statuses", Reason: "created invoices are never listed (the document); find one with GetInvoice by its id"}
		}
		q.Add("status[]", string(s))
	}
	return q, nil
}

// Invoices iterates the invoices of the filter, newest first (GET
// /info/invoice/list/), paging with from/limit. Invoices still in the
// "created" state are not among them (see InvoiceFilter). A read; always
// safe.
func (c *Client) Invoices(ctx context.Context, f InvoiceFilter) iter.Seq2[Invoice, error] {
	q, err := f.query()
	return pages(ctx, c, "invoice-list", "/info/invoice/list/", q, err, f.PageSize, readInvoice)
}

// InvoiceCounts are the counts of section 3.3.
type InvoiceCounts struct {
	ByStatus map[InvoiceStatus]int64
	Total    int64
}

// CountInvoices counts invoices by status (GET /info/invoice/listcount/).
// A read; always safe.
func (c *Client) CountInvoices(ctx context.Context, f InvoiceFilter) (_ InvoiceCounts, err error) {
	ctx, obs := c.operation(ctx, "invoice-listcount", "")
	defer func() { obs.End(err) }()
	if err := checkCtx(ctx); err != nil {
		return InvoiceCounts{}, err
	}
	q, err := f.query()
	if err != nil {
		return InvoiceCounts{}, err
	}
	resp, err := c.get(ctx, "invoice-listcount", "/info/invoice/listcount/", q)
	if err != nil {
		return InvoiceCounts{}, err
	}
	m, err := mergedObjects(resp.Body)
	out := InvoiceCounts{ByStatus: map[InvoiceStatus]int64{}}
	if err == nil {
		var rs []*record
		if rs, err = subList(m, "statuses"); err == nil {
			for _, r := range rs {
				out.ByStatus[InvoiceStatus(r.str("status"))] = r.int("count")
				if r.err != nil {
					err = r.err
				}
			}
		}
	}
	if err == nil {
		out.Total, err = fullCount(m)
	}
	if err != nil {
		return InvoiceCounts{}, c.t.Malformed("invoice-listcount", resp.Status, resp.Body, err)
	}
	return out, nil
}

// CartItem is one line of a 54-FZ receipt cart.
type CartItem struct {
	Name        string           `json:"name"` // at most 128 characters
	Price       payments.Decimal `json:"price"`
	Quantity    payments.Decimal `json:"quantity"`
	Sum         payments.Decimal `json:"sum"` // price × quantity, VAT included
	Tax         string           `json:"tax"` // none, vat0, vat10, vat20, vat110, vat120...
	ItemType    string           `json:"item_type,omitempty"`
	PaymentType string           `json:"payment_type,omitempty"`
	Measure     string           `json:"measure,omitempty"`
}

func encodeCart(items []CartItem) ([]byte, error) {
	type wire struct {
		Name        string      `json:"name"`
		Price       json.Number `json:"price"`
		Quantity    json.Number `json:"quantity"`
		Sum         json.Number `json:"sum"`
		Tax         string      `json:"tax"`
		ItemType    string      `json:"item_type,omitempty"`
		PaymentType string      `json:"payment_type,omitempty"`
		Measure     string      `json:"measure,omitempty"`
	}
	out := make([]wire, len(items))
	for i, it := range items {
		f := func(name string) string { return fmt.Sprintf("Cart[%d].%s", i, name) }
		if it.Name == "" || utf8.RuneCountInString(it.Name) > 128 {
			return nil, &payments.ValidationError{Field: f("Name"), Reason: "1 to 128 characters"}
		}
		if it.Tax == "" {
			return nil, &payments.ValidationError{Field: f("Tax"), Reason: "required (none, vat0, vat10, vat20...)"}
		}
		price, err := money(f("Price"), it.Price)
		if err != nil {
			return nil, err
		}
		sum, err := money(f("Sum"), it.Sum)
		if err != nil {
			return nil, err
		}
		if it.Quantity.Sign() <= 0 {
			return nil, &payments.ValidationError{Field: f("Quantity"), Reason: "must be positive"}
		}
		out[i] = wire{Name: it.Name, Price: json.Number(price), Quantity: json.Number(it.Quantity.String()), Sum: json.Number(sum),
			Tax: it.Tax, ItemType: it.ItemType, PaymentType: it.PaymentType, Measure: it.Measure}
	}
	return marshalNoEscape(out)
}

// ServiceName is the service_name of an invoice. With only Name set it is
// sent as plain text; with anything else it is sent as the JSON object
// PayKeeper reads: service_name, user_result_callback, lang,
// receipt_properties, cart (embedded as an array).
type ServiceName struct {
	Name string
	// UserResultCallback is where the payer returns after paying.
	UserResultCallback string
	Lang               string // "ru" or "en"
	// ReceiptProperties is the 54-FZ receipt_properties object, as JSON,
	// e.g. {"client":{"identity":"...","inn":"..."}}.
	ReceiptProperties json.RawMessage
	Cart              []CartItem
}

func (s ServiceName) encode() (string, error) {
	if s.UserResultCallback == "" && s.Lang == "" && len(s.ReceiptProperties) == 0 && len(s.Cart) == 0 {
		return s.Name, nil
	}
	if s.UserResultCallback != "" {
		if u, err := url.Parse(s.UserResultCallback); err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
			return "", &payments.ValidationError{Field: "Service.UserResultCallback", Reason: "an absolute http(s) URL"}
		}
	}
	if len(s.ReceiptProperties) > 0 && !json.Valid(s.ReceiptProperties) {
		return "", &payments.ValidationError{Field: "Service.ReceiptProperties", Reason: "not valid JSON"}
	}
	var b bytes.Buffer
	b.WriteString("{")
	first := true
	add := func(k string, v []byte) {
		if !first {
			b.WriteString(",")
		}
		first = false
		kb, _ := marshalNoEscape(k)
		b.Write(kb)
		b.WriteString(":")
		b.Write(v)
	}
	for _, kv := range []struct{ k, v string }{{"service_name", s.Name}, {"user_result_callback", s.UserResultCallback}, {"lang", s.Lang}} {
		if kv.v != "" {
			v, _ := marshalNoEscape(kv.v)
			add(kv.k, v)
		}
	}
	if len(s.ReceiptProperties) > 0 {
		add("receipt_properties", s.ReceiptProperties)
	}
	if len(s.Cart) > 0 {
		cart, err := encodeCart(s.Cart)
		if err != nil {
			return "", err
		}
		add("cart", cart)
	}
	b.WriteString("}")
	return b.String(), nil
}

// maxTextLen bounds the free-text fields of an invoice (clientid, orderid,
// client_email, client_phone), refused before sending when longer. The
// document gives no length ("Строка, любые буквы и цифры"); 255 characters is
// far beyond any order number, name, address or phone, and the width of a
// usual database column.
const maxTextLen = 255

// InvoiceParams create an invoice (section 3.4).
type InvoiceParams struct {
	Amount   payments.Decimal // pay_amount, at most two decimals
	ClientID string           // the payer (clientid), at most 255 characters
	OrderID  string           // the merchant's order number (orderid), at most 255 characters
	Service  ServiceName
	Email    string // client_email, at most 255 characters
	Phone    string // client_phone, at most 255 characters
	// Expiry, optional, is the first day on which the invoice can no longer
	// be paid: the document's expiry, "Срок действия счёта в формате
	// YYYY-MM-DD (не включительно)" — a Moscow date, exclusive. An invoice
	// with Expiry DateOf(time.Now().AddDate(0, 0, 3)) can be paid today and
	// for the next two days. Without it PayKeeper picks the expiry.
	Expiry Date
}

// CreatedInvoice is what creating an invoice returns.
type CreatedInvoice struct {
	ID string
	// URL is the payment link to give the payer (invoice_url); never build it by hand.
	URL string
	// PreviewHTML is the e-mail SendInvoice would send.
	PreviewHTML string
}

// lostInvoiceAdvice ends every outcome-unknown invoice creation: what the
// merchant can do, since the invoice list does not show a created invoice.
const lostInvoiceAdvice = "an invoice in the \"created\" state is not returned by the invoice list and nothing finds it without its id; " +
	"its link reached nobody (only this lost answer carried it, and only SendInvoice e-mails it), so create a new invoice; " +
	"with an Expiry a lost one lapses and then shows in Invoices as expired"

// CreateInvoice creates an invoice and its e-mail preview (POST
// /change/invoice/preview/, section 3.4); the invoice is "created" and can
// be paid at URL, or e-mailed with SendInvoice. nil means the document's
// answer came back: an object with invoice_id (digits: "Строка из символов
// 0-9") and the invoice's HTML.
//
// Resend safety: UNSAFE. "Этот запрос создаёт по переданным параметрам
// оплаты счёт в базе данных": each call creates a new invoice (an obligation
// to pay), and nothing in table 3.4.1 lets PayKeeper recognise a repeat. It
// is sent once, also when answered 429 or 503, and a lost or unreadable
// answer is a *payments.OutcomeUnknownError carrying OrderID.
//
// After such an error the invoice cannot be looked up: the document says
// "Созданному счёту назначается служебный статус created. Счета с этим
// статусом не возвращаются в запросе истории счетов", and no documented
// request finds an invoice by its order id (GetInvoice needs the id the lost
// answer carried). But its payment link went nowhere — only the lost answer
// carried it, and only SendInvoice e-mails it — so nobody can pay it: create
// a new invoice. Give invoices an Expiry, so that a lost one lapses; it then
// appears in Invoices with status expired.
func (c *Client) CreateInvoice(ctx context.Context, p InvoiceParams) (_ CreatedInvoice, err error) {
	const op = "invoice-preview"
	ctx, obs := c.operation(ctx, op, p.OrderID)
	defer func() { obs.End(err) }()
	if err := checkCtx(ctx); err != nil {
		return CreatedInvoice{}, err
	}
	amount, err := money("Amount", p.Amount)
	if err != nil {
		return CreatedInvoice{}, err
	}
	for _, f := range []struct{ name, v string }{{"ClientID", p.ClientID}, {"OrderID", p.OrderID}, {"Email", p.Email}, {"Phone", p.Phone}} {
		if err := checkText(f.name, f.v); err != nil {
			return CreatedInvoice{}, err
		}
	}
	svc, err := p.Service.encode()
	if err != nil {
		return CreatedInvoice{}, err
	}
	form := url.Values{"pay_amount": {amount}}
	for k, v := range map[string]string{"clientid": p.ClientID, "orderid": p.OrderID, "service_name": svc, "client_email": p.Email, "client_phone": p.Phone} {
		if v != "" {
			form.Set(k, v)
		}
	}
	if !p.Expiry.IsZero() {
		if !p.Expiry.valid() {
			return CreatedInvoice{}, &payments.ValidationError{Field: "Expiry", Reason: "not a calendar date"}
		}
		form.Set("expiry", p.Expiry.String())
	}
	var inv CreatedInvoice
	_, err = c.post(ctx, write{op: op, path: "/change/invoice/preview/", kind: transport.UnsafeWrite, ref: p.OrderID, form: form,
		success: func(m map[string]json.RawMessage) error {
			var err error
			inv, err = readCreatedInvoice(m)
			return err
		}})
	if err != nil {
		var ou *payments.OutcomeUnknownError
		if errors.As(err, &ou) {
			ou.Err = fmt.Errorf("%w; %s", ou.Err, lostInvoiceAdvice)
		}
		return CreatedInvoice{}, err
	}
	setProviderID(obs, inv.ID)
	return inv, nil
}

// readCreatedInvoice checks the answer of section 3.4: invoice_id, a string
// (or number) of digits, and invoice, the e-mail's HTML; invoice_url, seen
// in practice, is read when present. A result other than "success", if
// any, is not the documented answer.
func readCreatedInvoice(m map[string]json.RawMessage) (CreatedInvoice, error) {
	var inv CreatedInvoice
	if raw, ok := m["result"]; ok {
		var s string
		if json.Unmarshal(raw, &s) != nil || s != "success" {
			return inv, errors.New("a result other than success")
		}
	}
	id := bytes.TrimSpace(m["invoice_id"])
	if len(id) > 0 && id[0] == '"' {
		var s string
		if json.Unmarshal(id, &s) != nil {
			return inv, errors.New("invoice_id unreadable")
		}
		id = []byte(s)
	}
	if len(id) > 32 || !allDigits(string(id)) {
		return inv, errors.New("no invoice_id of digits")
	}
	inv.ID = string(id)
	if raw := bytes.TrimSpace(m["invoice"]); len(raw) == 0 || raw[0] != '"' || json.Unmarshal(raw, &inv.PreviewHTML) != nil {
		return CreatedInvoice{}, errors.New("no invoice (the e-mail's HTML)")
	}
	if raw := bytes.TrimSpace(m["invoice_url"]); len(raw) > 0 && raw[0] == '"' {
		_ = json.Unmarshal(raw, &inv.URL)
	}
	return inv, nil
}

// checkText refuses an over-long free-text field before sending.
func checkText(field, v string) error {
	if n := utf8.RuneCountInString(v); n > maxTextLen {
		return &payments.ValidationError{Field: field, Reason: fmt.Sprintf("too long: %d characters, at most %d", n, maxTextLen)}
	}
	if !utf8.ValidString(v) {
		return &payments.ValidationError{Field: field, Reason: "not valid UTF-8"}
	}
	return nil
}

// SendInvoice e-mails a created invoice to the client (POST
// /change/invoice/send/, section 3.5); it becomes "sent". nil means
// {"result":"success"} came back ("в случае, если отправка произошла
// успешно").
//
// Resend safety: not for blind resending, though it moves no money: "Данный
// запрос отправляет клиенту письмо" — each call sends the e-mail again. It
// is sent once; a lost answer is payments.ErrOutcomeUnknown: GetInvoice
// tells (sent, or still created) before trying again.
func (c *Client) SendInvoice(ctx context.Context, id string) (err error) {
	ctx, obs := c.operation(ctx, "invoice-send", id)
	defer func() { obs.End(err) }()
	if err := checkCtx(ctx); err != nil {
		return err
	}
	if err := checkID("id", id); err != nil {
		return err
	}
	_, err = c.post(ctx, write{op: "invoice-send", path: "/change/invoice/send/", kind: transport.UnsafeWrite, ref: id, form: url.Values{"id": {id}}})
	return err
}

// RevokeInvoice withdraws an invoice so it can no longer be paid (POST
// /change/invoice/revoke/). Not in the document: from observed use in
// public integrations, answered {"result":"success"}.
//
// Resend safety: safe, resent by the client after a lost answer. No line of
// the document covers it; by its nature revoking twice revokes once, and a
// revoke only stops money from coming. GetInvoice shows the result (expired).
func (c *Client) RevokeInvoice(ctx context.Context, id string) (err error) {
	ctx, obs := c.operation(ctx, "invoice-revoke", id)
	defer func() { obs.End(err) }()
	if err := checkCtx(ctx); err != nil {
		return err
	}
	if err := checkID("id", id); err != nil {
		return err
	}
	_, err = c.post(ctx, write{op: "invoice-revoke", path: "/change/invoice/revoke/", kind: transport.IdempotentWrite, ref: id, form: url.Values{"id": {id}}})
	return err
}

// marshalNoEscape is json.Marshal without HTML escaping, so Cyrillic and
// URLs go on the wire as they are.
func marshalNoEscape(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(b.Bytes(), "\n"), nil
}
