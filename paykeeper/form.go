package paykeeper

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"html"
	"io"
	"log/slog"
	"net/url"
	"sort"
	"strings"

	"github.com/paysdk/payments"
)

// FormPath is the path of PayKeeper's payment form on the merchant's server.
const FormPath = "/create/"

// Form is PayKeeper's payment form: the fields a shop POSTs (or links) to
// <server>/create/, where the payer pays. It needs no cabinet login: only
// the form's secret word, held by a FormSigner.
//
// Not in the JSON API document: from observed use by PayKeeper's official
// modules (WooCommerce, Bitrix, PrestaShop, OpenCart), which all send these
// fields and the same sign.
type Form struct {
	// Amount is sum: positive, at most two decimals, sent as "990.00".
	Amount payments.Decimal
	// OrderID is orderid, the merchant's order number: required, it is how
	// the notification names the order.
	OrderID string
	// ClientID is clientid: the payer's name or id.
	ClientID    string
	ServiceName string // service_name, plain text
	Email       string // client_email
	Phone       string // client_phone
	// Cart, for fiscalised merchants, is the 54-FZ cart (cart, a JSON
	// string). It is not part of the sign.
	Cart []CartItem
	// Lang is the payment page's language, "ru" or "en" (optional).
	Lang string
	// UserResultCallback is where the payer returns after paying: an
	// absolute http(s) URL (optional).
	UserResultCallback string
}

// Validate refuses, with a *payments.ValidationError, what no signed form
// may carry: an amount that is not positive or has more than two decimals,
// a missing OrderID, over-long or non-UTF-8 text, a bad Lang or
// UserResultCallback, a bad cart line.
func (f Form) Validate() error {
	_, err := f.values()
	return err
}

// values is the form without its sign.
func (f Form) values() (url.Values, error) {
	sum, err := money("Amount", f.Amount)
	if err != nil {
		return nil, err
	}
	if f.OrderID == "" {
		return nil, &payments.ValidationError{Field: "OrderID", Reason: "required: the notification names the order by it"}
	}
	for _, t := range []struct{ name, v string }{{"OrderID", f.OrderID}, {"ClientID", f.ClientID}, {"ServiceName", f.ServiceName},
		{"Email", f.Email}, {"Phone", f.Phone}} {
		if err := checkText(t.name, t.v); err != nil {
			return nil, err
		}
	}
	switch f.Lang {
	case "", "ru", "en":
	default:
		return nil, &payments.ValidationError{Field: "Lang", Reason: `"ru" or "en"`}
	}
	v := url.Values{
		"sum": {sum}, "clientid": {f.ClientID}, "orderid": {f.OrderID}, "service_name": {f.ServiceName},
		"client_email": {f.Email}, "client_phone": {f.Phone},
	}
	if f.UserResultCallback != "" {
		if u, err := url.Parse(f.UserResultCallback); err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
			return nil, &payments.ValidationError{Field: "UserResultCallback", Reason: "an absolute http(s) URL"}
		}
		v.Set("user_result_callback", f.UserResultCallback)
	}
	if f.Lang != "" {
		v.Set("lang", f.Lang)
	}
	if len(f.Cart) > 0 {
		b, err := encodeCart(f.Cart)
		if err != nil {
			return nil, err
		}
		v.Set("cart", string(b))
	}
	return v, nil
}

// FormSign is the form's sign: the lowercase hex SHA-256 of
// sum + clientid + orderid + service_name + client_email + client_phone +
// secret, concatenated with no separators (sum as sent, "990.00"), as
// PayKeeper's official modules compute it.
//
// With no separators the sign does not fix where one field ends: a payer
// may move text between neighbours (clientid "A" and orderid "12" become
// clientid "A1" and orderid "2") and keep the sign. So the form proves the
// fields' text run together, not which order is paid: check the
// notification's orderid and sum against that order before shipping.
func FormSign(sum, clientID, orderID, serviceName, email, phone, secret string) string {
	h := sha256.Sum256([]byte(sum + clientID + orderID + serviceName + email + phone + secret))
	return hex.EncodeToString(h[:])
}

// FormSigner signs payment forms for one PayKeeper server with the form's
// secret word ("секретное слово" of the payment form, set in the cabinet;
// not the informer_seed that signs notifications). It sends nothing and
// needs no cabinet login. Safe for concurrent use. It never prints the
// secret, whatever the fmt verb or slog handler.
type FormSigner struct {
	action string // https://server/create/
	inline string // https://server/order/inline/
	secret string
}

// NewFormSigner returns a signer for the server and the form's secret word.
// serverURL is the server (https://name.server.paykeeper.ru) or any form
// address a merchant may copy from the cabinet or from a PayKeeper module's
// settings: the path is cut at its last /create or /order segment, as
// PayKeeper's own Bitrix module does before calling the API
// (`strrpos($paykeeper_url, "/create")`, then "/order", in the official
// Bitrix handler PayKeeperHandler::refund, repository unidentified, cited
// [idx] in the implementer notes), so that
//
//	https://x.server.paykeeper.ru
//	https://x.server.paykeeper.ru/
//	https://x.server.paykeeper.ru/create  and  .../create/
//	https://x.server.paykeeper.ru/order   and  .../order/
//	https://x.server.paykeeper.ru/order/inline  and  .../order/inline/
//
// all give the action https://x.server.paykeeper.ru/create/ (and the inline
// form's https://x.server.paykeeper.ru/order/inline/, see InlineAction). A
// path before those segments (a white-label host's prefix) is kept. The
// URL must be https with a host and no user, query or fragment; the secret
// is required.
func NewFormSigner(serverURL, secret string) (*FormSigner, error) {
	if secret == "" {
		return nil, &payments.ValidationError{Field: "secret", Reason: "required: the payment form's secret word, set in the cabinet"}
	}
	u, err := url.Parse(strings.TrimSpace(serverURL))
	if err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil || u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || u.Opaque != "" {
		return nil, &payments.ValidationError{Field: "serverURL", Reason: "an https URL of the PayKeeper server, e.g. https://name.server.paykeeper.ru"}
	}
	base := "https://" + u.Host + formBasePath(u.Path)
	return &FormSigner{action: base + FormPath, inline: base + InlineFormPath, secret: secret}, nil
}

// formBasePath cuts a form address's path at its last /create segment, or
// else at its last /order segment (a segment: followed by / or the end),
// and drops trailing slashes: "/order/inline/" and "/create/" give "",
// "/pk/create" gives "/pk".
func formBasePath(p string) string {
	p = strings.TrimRight(p, "/")
	for _, seg := range []string{"/create", "/order"} {
		for i := strings.LastIndex(p, seg); i >= 0; i = strings.LastIndex(p[:i], seg) {
			if rest := p[i+len(seg):]; rest == "" || rest[0] == '/' {
				return strings.TrimRight(p[:i], "/")
			}
		}
	}
	return p
}

// Action is the form's target, https://<server>/create/.
func (s *FormSigner) Action() string { return s.action }

// InlineFormPath is the path of PayKeeper's second form type, the "order"
// form: PayKeeper's OpenCart, Bitrix and WooCommerce modules treat a form
// address containing "/order/inline" as this type (getPaymentFormType in
// their shared paykeeper.class.php, e.g. mahab-22/paykeeper_opencart2_3
// upload/catalog/controller/extension/payment/paykeeper_common_class/paykeeper.class.php).
const InlineFormPath = "/order/inline/"

// InlineAction is the inline form's target, https://<server>/order/inline/.
func (s *FormSigner) InlineAction() string { return s.inline }

// InlineValues returns the inline ("order") form's fields: clientid,
// orderid, sum, client_email, client_phone and phone (the same number under
// both names) and the optional cart, with no sign — as PayKeeper's modules
// POST them server to server to InlineAction (generatePaymentForm in
// mahab-22/paykeeper_opencart2_3
// upload/catalog/controller/extension/payment/paykeeper.php; initiatePay of
// the official Bitrix handler [idx]). The modules send no service_name,
// lang or user_result_callback with it, so a Form carrying them is refused
// (*payments.ValidationError), as is every invalid Form.
//
// The answer, in those modules, is an HTML page (the payment form) that
// they show to the payer as it came; no source shows an invoice id or link
// in it, so the SDK does not send this request itself: POST the values as
// application/x-www-form-urlencoded to InlineAction from your server and
// show the answer, or prefer Values and Action (the signed /create/ form).
// The inline form is unsigned: anybody can post it for any order and sum,
// so, as with every form, check the notification's orderid and sum against
// the order before shipping.
//
// Sends nothing. Resend safety of the POST you make: UNSAFE to count on —
// no source says PayKeeper recognises a repeat, so each POST may open
// another payment page (an order or invoice on the server). No money moves
// until the payer pays, so a lost answer is answered by posting again only
// if the payer has not paid: look the order up (the notification, or
// Client.Invoices) first.
func (s *FormSigner) InlineValues(f Form) (url.Values, error) {
	switch {
	case f.ServiceName != "":
		return nil, &payments.ValidationError{Field: "ServiceName", Reason: "not sent by the inline form (the modules send none): use Values"}
	case f.Lang != "":
		return nil, &payments.ValidationError{Field: "Lang", Reason: "not sent by the inline form: use Values"}
	case f.UserResultCallback != "":
		return nil, &payments.ValidationError{Field: "UserResultCallback", Reason: "not sent by the inline form: use Values"}
	}
	v, err := f.values()
	if err != nil {
		return nil, err
	}
	v.Del("service_name")
	v.Set("phone", v.Get("client_phone"))
	return v, nil
}

// Values returns the signed form, to POST to Action (for example from a
// page the merchant renders, or with HTML): sum, clientid, orderid,
// service_name, client_email, client_phone (empty ones included, as they
// are signed), the optional cart, lang and user_result_callback, and sign.
// An invalid form is a *payments.ValidationError and nothing is signed.
//
// Sends nothing, so nothing here can be lost or resent. Each submission of
// the form opens a payment page at PayKeeper; the payer's money moves only
// when he pays, and the notification (NotificationHandler) names the order
// by orderid: check it against the order before shipping.
func (s *FormSigner) Values(f Form) (url.Values, error) {
	v, err := f.values()
	if err != nil {
		return nil, err
	}
	v.Set("sign", FormSign(v.Get("sum"), v.Get("clientid"), v.Get("orderid"), v.Get("service_name"),
		v.Get("client_email"), v.Get("client_phone"), s.secret))
	return v, nil
}

// URL returns the signed form as a link, Action with the form's fields in
// its query string. PayKeeper's modules POST the form; a GET of /create/
// with the same fields is not confirmed by any source at hand, so prefer
// Values in a POST form where a page can be rendered. Sends nothing.
func (s *FormSigner) URL(f Form) (string, error) {
	v, err := s.Values(f)
	if err != nil {
		return "", err
	}
	return s.action + "?" + v.Encode(), nil
}

// HTML returns a minimal HTML form (no script): the signed fields
// as hidden inputs and one submit button labelled button (escaped), posting
// to Action. Sends nothing.
func (s *FormSigner) HTML(f Form, button string) (string, error) {
	v, err := s.Values(f)
	if err != nil {
		return "", err
	}
	keys := make([]string, 0, len(v))
	for k := range v {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString(`<form method="post" action="` + html.EscapeString(s.action) + `" accept-charset="utf-8">` + "\n")
	for _, k := range keys {
		fmt.Fprintf(&b, `<input type="hidden" name="%s" value="%s">`+"\n", html.EscapeString(k), html.EscapeString(v.Get(k)))
	}
	fmt.Fprintf(&b, `<button type="submit">%s</button>`+"\n</form>\n", html.EscapeString(button))
	return b.String(), nil
}

// String names the form's target, never the secret.
func (s FormSigner) String() string {
	return "paykeeper.FormSigner{Action: " + s.action + ", Secret: [REDACTED]}"
}

// GoString is String.
func (s FormSigner) GoString() string { return s.String() }

// Format prints String for every verb, so that no verb prints the secret.
func (s FormSigner) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, s.String()) }

// LogValue names the form's target only.
func (s FormSigner) LogValue() slog.Value {
	return slog.GroupValue(slog.String("action", s.action), slog.String("secret", "[REDACTED]"))
}
