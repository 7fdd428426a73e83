package paykeepertest

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"html"
	"net/http"
	"net/url"
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
	return func(s *Server) { s.formSecret = secret }
}

// formCreate handles the payment form. An accepted form becomes an invoice
// (status sent: its link has reached the payer) that the payer can pay
// ([Server.PayInvoice], which notifies as usual), and the answer is a 302 to
// its page /bill/<id>/. A form with a wrong or missing sign, a bad sum or no
// orderid is refused with 400 and an HTML page naming the problem, and
// nothing is created: the fake's choice, PayKeeper's exact refusal is not
// known.
func (s *Server) formCreate(f url.Values) response {
	refuse := func(msg string) response {
		return htmlResponse(http.StatusBadRequest, `<!DOCTYPE html>
<html lang="ru"><head><meta charset="utf-8"><title>PayKeeper: ошибка</title></head>
<body><h1>Ошибка</h1><p class="error">`+html.EscapeString(msg)+`</p></body></html>
`)
	}
	sum := f.Get("sum")
	amt, ok := exactAmount(sum)
	h := sha256.Sum256([]byte(sum + f.Get("clientid") + f.Get("orderid") + f.Get("service_name") + f.Get("client_email") + f.Get("client_phone") + s.formSecret))
	switch {
	case s.formSecret == "":
		return refuse(MsgFormNoSecret)
	case !ok:
		return refuse(MsgBadAmount)
	case subtle.ConstantTimeCompare([]byte(f.Get("sign")), []byte(hex.EncodeToString(h[:]))) != 1:
		return refuse(MsgFormBadSign)
	case f.Get("orderid") == "":
		return refuse("Не указан номер заказа (orderid).")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	v := s.addInvoiceLocked(f, InvoiceSent, amt, time.Time{})
	v.cart = f.Get("cart")
	resp := htmlResponse(http.StatusFound, "")
	resp.Header = http.Header{"Location": {s.URL() + billPrefix + v.ID + "/"}}
	return resp
}
