package qiwitopuptest

import (
	"bytes"
	"cmp"
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

// out builds a response document; code is its request-level <result-code>.
type out struct {
	b    strings.Builder
	code int
}

// newOut starts a response with its request-level <result-code>, with
// message and msg attributes when msg is not "".
func newOut(code int, fatal bool, msg string) *out {
	o := &out{code: code}
	o.raw("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<response>\n<result-code")
	o.attr("fatal", strconv.FormatBool(fatal), '"')
	if msg != "" {
		o.attr("message", msg, '"')
		o.attr("msg", msg, '"')
	}
	o.raw(">" + strconv.Itoa(code) + "</result-code>\n")
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

// element writes <name>text</name> with indent.
func (o *out) element(indent, name, text string) {
	o.raw(indent + "<" + name + ">")
	o.text(text)
	o.raw("</" + name + ">\n")
}

// errorDoc is a response with only a request-level error, with message and
// msg as in the RU examples: "Неизвестная ошибка" for 300 and any code the
// documents do not list.
func errorDoc(code int, fatal bool) *out {
	return newOut(code, fatal, cmp.Or(requestMessages[code], "Неизвестная ошибка"))
}

// requestMessages are the Russian texts of the request-level codes.
var requestMessages = map[int]string{
	13:  "Повторите запрос через минуту",
	150: "Ошибка авторизации",
	204: "Недостаточный статус идентификации кошелька для проведения платежа",
	319: "Запрет на пополнение учетной записи данного номера телефона",
	339: "Ограничение по IP адресу",
}

// paymentMessages are the Russian texts of the payment result-codes (the RU
// error table); a code the table does not have has none.
var paymentMessages = map[int]string{
	0:   "Ok",
	155: "Запрещен прием платежей в пользу данного сервиса",
	204: "Недостаточный статус идентификации кошелька для проведения платежа",
	215: "Запрос проведения платежа содержит уже существующий номер транзакции платежа, но другие реквизиты платежа",
	220: "Недостаточно средств на счете для проведения платежа",
	241: "Сумма платежа меньше допустимой",
	242: "Сумма платежа больше допустимой",
	298: "Учетная запись Клиента с введенным номером телефона не может быть зарегистрирована в системе QIWI Wallet. Ошибочный номер телефона Клиента",
	300: "Неизвестная ошибка обработки платежа",
	316: "Попытка авторизации заблокированного Контрагента",
	319: "Запрет на пополнение учетной записи данного номера телефона",
	700: "Превышен месячный лимит на операции",
	702: "Превышен лимит на остаток учетной записи Клиента в системе QIWI Wallet",
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
