package qiwitopuptest

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"strconv"
	"strings"

	"github.com/paysdk/payments/internal/fakeserver"
)

// xRequest is a <request> document, decoded tolerantly: element order is
// free, unknown elements are ignored, extras are looked up by name.
type xRequest struct {
	XMLName     xml.Name
	RequestType []string `xml:"request-type"`
	TerminalID  string   `xml:"terminal-id"`
	Extras      []xExtra `xml:"extra"`
	PhoneNumber string   `xml:"phonenumber"`
	Auth        *xBlock  `xml:"auth"`
	Status      *xBlock  `xml:"status"`
}

type xExtra struct {
	Name  string `xml:"name,attr"`
	Value string `xml:",chardata"`
}

type xBlock struct {
	Payments []xPayment `xml:"payment"`
}

type xPayment struct {
	TransactionNumber string `xml:"transaction-number"`
	From              xParty `xml:"from"`
	To                xParty `xml:"to"`
}

type xParty struct {
	Amount        string   `xml:"amount"`
	CCY           string   `xml:"ccy"`
	ServiceID     string   `xml:"service-id"`
	AccountNumber string   `xml:"account-number"`
	Extras        []xExtra `xml:"extra"`
}

// extra returns the value of the extra named name (trimmed) and whether it is
// present; the first one wins.
func extra(list []xExtra, name string) (string, bool) {
	for _, e := range list {
		if e.Name == name {
			return strings.TrimSpace(e.Value), true
		}
	}
	return "", false
}

func extrasMap(list []xExtra) map[string]string {
	if len(list) == 0 {
		return nil
	}
	m := make(map[string]string, len(list))
	for _, e := range list {
		if _, dup := m[e.Name]; !dup {
			m[e.Name] = strings.TrimSpace(e.Value)
		}
	}
	return m
}

// parseRequest checks that body is one well-formed XML document with a
// <request> root holding exactly one <request-type>, and decodes it.
func parseRequest(body []byte) (*xRequest, error) {
	d := xml.NewDecoder(bytes.NewReader(body))
	roots, depth := 0, 0
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			if depth == 0 {
				roots++
			}
			depth++
		case xml.EndElement:
			depth--
		case xml.CharData:
			if depth == 0 && len(bytes.TrimSpace(tok)) > 0 {
				return nil, errors.New("text outside the root element")
			}
		}
	}
	if roots != 1 {
		return nil, errors.New("not exactly one root element")
	}
	var req xRequest
	if err := xml.Unmarshal(body, &req); err != nil {
		return nil, err
	}
	if req.XMLName.Local != "request" {
		return nil, errors.New("root element is not <request>")
	}
	if len(req.RequestType) != 1 || strings.TrimSpace(req.RequestType[0]) == "" {
		return nil, errors.New("no single <request-type>")
	}
	return &req, nil
}

// opOf classifies a parsed request.
func opOf(req *xRequest) string {
	if req == nil {
		return OpInvalid
	}
	switch strings.TrimSpace(req.RequestType[0]) {
	case "pay":
		switch {
		case req.Auth != nil && req.Status == nil:
			return OpPay
		case req.Status != nil && req.Auth == nil:
			return OpStatus
		}
	case "check-user":
		return OpCheckUser
	case "check-deposit-possible":
		return OpCheckDepositPossible
	case "ping":
		return OpPing
	case "get-provider-by-phone-number":
		return OpGetProvider
	}
	return OpInvalid
}

// out builds a response document.
type out struct{ b strings.Builder }

func newOut() *out {
	o := &out{}
	o.b.WriteString("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<response>\n")
	return o
}

func (o *out) bytes() []byte {
	o.b.WriteString("</response>\n")
	return []byte(o.b.String())
}

func (o *out) raw(s string) { o.b.WriteString(s) }

func (o *out) text(s string) { _ = xml.EscapeText(&o.b, []byte(s)) }

// attr writes ` name=qvalueq` with q the quote character.
func (o *out) attr(name, value string, q byte) {
	o.b.WriteByte(' ')
	o.b.WriteString(name)
	o.b.WriteByte('=')
	o.b.WriteByte(q)
	o.text(value)
	o.b.WriteByte(q)
}

// resultCode writes the request-level <result-code>. withMsg adds the
// message and msg attributes.
func (o *out) resultCode(code int, fatal bool, msg string, withMsg bool) {
	o.raw("<result-code")
	o.attr("fatal", strconv.FormatBool(fatal), '"')
	if withMsg {
		o.attr("message", msg, '"')
		o.attr("msg", msg, '"')
	}
	o.raw(">" + strconv.Itoa(code) + "</result-code>\n")
}

// element writes <name>text</name> with indent.
func (o *out) element(indent, name, text string) {
	o.raw(indent + "<" + name + ">")
	o.text(text)
	o.raw("</" + name + ">\n")
}

// errorDoc is a response with only a request-level error, with message and
// msg as in the RU examples.
func errorDoc(code int, fatal bool) []byte {
	o := newOut()
	o.resultCode(code, fatal, requestMessage(code), true)
	return o.bytes()
}

// requestMessage is the Russian text of a request-level code.
func requestMessage(code int) string {
	switch code {
	case 13:
		return "Повторите запрос через минуту"
	case 150:
		return "Ошибка авторизации"
	case 204:
		return "Недостаточный статус идентификации кошелька для проведения платежа"
	case 319:
		return "Запрет на пополнение учетной записи данного номера телефона"
	case 339:
		return "Ограничение по IP адресу"
	}
	return "Неизвестная ошибка"
}

// paymentMessage is the Russian text of a payment result-code (the RU error
// table), "" for codes the table does not have.
func paymentMessage(code int) string {
	switch code {
	case 0:
		return "Ok"
	case 155:
		return "Запрещен прием платежей в пользу данного сервиса"
	case 204:
		return "Недостаточный статус идентификации кошелька для проведения платежа"
	case 215:
		return "Запрос проведения платежа содержит уже существующий номер транзакции платежа, но другие реквизиты платежа"
	case 220:
		return "Недостаточно средств на счете для проведения платежа"
	case 241:
		return "Сумма платежа меньше допустимой"
	case 242:
		return "Сумма платежа больше допустимой"
	case 298:
		return "Учетная запись Клиента с введенным номером телефона не может быть зарегистрирована в системе QIWI Wallet. Ошибочный номер телефона Клиента"
	case 300:
		return "Неизвестная ошибка обработки платежа"
	case 316:
		return "Попытка авторизации заблокированного Контрагента"
	case 319:
		return "Запрет на пополнение учетной записи данного номера телефона"
	case 700:
		return "Превышен месячный лимит на операции"
	case 702:
		return "Превышен лимит на остаток учетной записи Клиента в системе QIWI Wallet"
	}
	return ""
}

// letterCCY maps the letter codes the fake understands to numeric ISO 4217.
var letterCCY = map[string]string{
	"RUB": "643", "USD": "840", "EUR": "978", "KZT": "398", "UAH": "980",
	"BYN": "933", "GBP": "826", "CNY": "156", "CZK": "203", "LVL": "428",
}

// normCCY returns the numeric code of a currency given as three digits or as
// a known letter code.
func normCCY(s string) (string, bool) {
	s = strings.TrimSpace(s)
	if len(s) == 3 && fakeserver.Digits(s) {
		return s, true
	}
	c, ok := letterCCY[strings.ToUpper(s)]
	return c, ok
}

// parseAmount reads an amount with exactly two decimals ("1115.00") into
// kopecks.
func parseAmount(s string) (int64, bool) {
	intPart, frac, ok := strings.Cut(s, ".")
	if !ok || len(frac) != 2 || !fakeserver.Digits(intPart) || !fakeserver.Digits(frac) || len(intPart) > 15 {
		return 0, false
	}
	if len(intPart) > 1 && intPart[0] == '0' {
		return 0, false
	}
	v, err := strconv.ParseInt(intPart+frac, 10, 64)
	return v, err == nil
}

// validTxn reports whether s is a positive integer of at most 20 digits.
func validTxn(s string) bool {
	return len(s) <= 20 && fakeserver.Digits(s) && s[0] != '0'
}

// validPhone reports whether s is a phone in international format without
// '+': 10 to 15 digits.
func validPhone(s string) bool { return len(s) >= 10 && len(s) <= 15 && fakeserver.Digits(s) }

// validCard reports whether s is a card number: 13 to 19 digits.
func validCard(s string) bool { return len(s) >= 13 && len(s) <= 19 && fakeserver.Digits(s) }

// maskCard keeps the first and last four digits of a card number, as the card
// document's answer does (4111********1123).
func maskCard(s string) string {
	if len(s) < 9 {
		return s
	}
	return s[:4] + strings.Repeat("*", len(s)-8) + s[len(s)-4:]
}

// validAccount0 checks the mobile payout's "id:<provider>;acc:<phone>;sum:<amount>".
func validAccount0(s string) bool {
	parts := strings.Split(s, ";")
	if len(parts) != 3 {
		return false
	}
	id, ok1 := strings.CutPrefix(parts[0], "id:")
	acc, ok2 := strings.CutPrefix(parts[1], "acc:")
	sum, ok3 := strings.CutPrefix(parts[2], "sum:")
	if !ok1 || !ok2 || !ok3 || !fakeserver.Digits(id) || acc == "" {
		return false
	}
	_, ok := parseAmount(sum)
	return ok
}
