package paykeepertest

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"html"
	"net/http"
	"time"
)

// FormPath is the payment form's path: a payer's browser POSTs (or GETs)
// the shop's signed form there, without authentication.
const FormPath = "/create/"

// Texts of the fake's answers to a refused payment form (the fake's own
// wording: no source shows PayKeeper's) and of an unknown card binding.
const (
	MsgFormBadSign     = "Неверная подпись формы (sign)."
	MsgFormNoSecret    = "Секретное слово формы не задано."
	MsgBindingNotFound = "Привязка карты не найдена."
)

// WithFormSecret sets the payment form's secret word ("секретное слово" of
// the form in the cabinet; not the informer seed). The form at /create/
// then accepts a form whose sign is the lowercase hex SHA-256 of sum +
// clientid + orderid + service_name + client_email + client_phone + secret.
// Without it every form is refused.
func WithFormSecret(secret string) Option {
	return func(c *config) { c.formSecret = secret }
}

// formCreate handles the payment form. An accepted form becomes an invoice
// (status sent: its link has reached the payer) that the payer can pay
// ([Server.PayInvoice], which notifies as usual), and the answer is a 302 to
// its page /bill/<id>/. A form with a wrong or missing sign, a bad sum or no
// orderid is refused with 400 and an HTML page naming the problem, and
// nothing is created: the fake's choice, PayKeeper's exact refusal is not
// known.
func (s *Server) formCreate(f map[string][]string) response {
	get := func(k string) string {
		if v := f[k]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	refuse := func(msg string) response {
		return htmlResponse(http.StatusBadRequest, `<!DOCTYPE html>
<html lang="ru"><head><meta charset="utf-8"><title>PayKeeper: ошибка</title></head>
<body><h1>Ошибка</h1><p class="error">`+html.EscapeString(msg)+`</p></body></html>
`)
	}
	s.mu.Lock()
	secret := s.formSecret
	s.mu.Unlock()
	if secret == "" {
		return refuse(MsgFormNoSecret)
	}
	sum := get("sum")
	amt, ok := exactAmount(sum)
	if !ok {
		return refuse(MsgBadAmount)
	}
	h := sha256.Sum256([]byte(sum + get("clientid") + get("orderid") + get("service_name") + get("client_email") + get("client_phone") + secret))
	want := hex.EncodeToString(h[:])
	if subtle.ConstantTimeCompare([]byte(get("sign")), []byte(want)) != 1 {
		return refuse(MsgFormBadSign)
	}
	if get("orderid") == "" {
		return refuse("Не указан номер заказа (orderid).")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	m := now.In(Moscow)
	id := s.newInvoiceIDLocked(now)
	v := &invoice{
		id: id, status: InvoiceSent, amount: amt,
		clientID: get("clientid"), orderID: get("orderid"), serviceName: get("service_name"),
		email: get("client_email"), phone: get("client_phone"), cart: get("cart"),
		expiry: time.Date(m.Year(), m.Month(), m.Day()+defaultExpiryDays, 0, 0, 0, 0, Moscow), created: now,
	}
	s.invoices[id] = v
	s.invoiceOrder = append(s.invoiceOrder, id)
	resp := htmlResponse(http.StatusFound, "")
	resp.Header = http.Header{"Location": {s.URL() + billPrefix + id + "/"}}
	return resp
}
