package qiwitopup

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/paysdk/payments"
)

// node is one element of a request. Requests are written by hand, in the
// element order of the document's examples, two spaces an indent level, as
// the English examples are.
type node struct {
	name, extraName, text string
	kids                  []node
}

func el(name string, kids ...node) node { return node{name: name, kids: kids} }
func leaf(name, text string) node       { return node{name: name, text: text} }
func extra(name, value string) node     { return node{name: "extra", extraName: name, text: value} }
func (n node) with(kids ...node) node   { n.kids = append(n.kids, kids...); return n }
func nodes(cond bool, n ...node) []node {
	if cond {
		return n
	}
	return nil
}

func (n node) write(b *bytes.Buffer, depth int) {
	indent(b, depth)
	b.WriteByte('<')
	b.WriteString(n.name)
	if n.extraName != "" {
		b.WriteString(` name="`)
		escape(b, n.extraName)
		b.WriteByte('"')
	}
	b.WriteByte('>')
	if len(n.kids) == 0 {
		escape(b, n.text)
	} else {
		b.WriteByte('\n')
		for _, k := range n.kids {
			k.write(b, depth+1)
		}
		indent(b, depth)
	}
	b.WriteString("</")
	b.WriteString(n.name)
	b.WriteString(">\n")
}

func indent(b *bytes.Buffer, depth int) {
	for range depth {
		b.WriteString("  ")
	}
}

// escape writes s as xml.EscapeText does: printable ASCII other than
// " ' & < > is written as it is, anything else goes through EscapeText.
func escape(b *bytes.Buffer, s string) {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c < 0x20 || c > 0x7e || c == '"' || c == '\'' || c == '&' || c == '<' || c == '>':
			_ = xml.EscapeText(b, []byte(s))
			return
		}
	}
	b.WriteString(s)
}

// document renders a request with the XML declaration of the examples.
func document(root node) []byte {
	var b bytes.Buffer
	b.Grow(768) // a pay request is about 600 bytes
	b.WriteString(`<?xml version="1.0" encoding="utf-8"?>` + "\n")
	root.write(&b, 0)
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}

// response is a decoded <response>.
type response struct {
	HasCode  bool
	Code     ResultCode
	Fatal    bool
	Message  string
	Payments []Payment
	Balances []Balance
	// HasBalances: the answer has a <balances> element (ping's data).
	HasBalances bool
	// check-user / check-deposit-possible flags, nil when absent.
	Exist, DepositPossible *bool
	ProviderID             string
}

type wireResultCode struct {
	Fatal   string `xml:"fatal,attr"`
	Message string `xml:"message,attr"`
	Msg     string `xml:"msg,attr"`
	Value   string `xml:",chardata"`
}

type wireExtra struct {
	Name  string `xml:"name,attr"`
	Value string `xml:",chardata"`
}

// xmlAttr is an attribute of a <payment>, and whether the element had it.
type xmlAttr struct {
	v  string
	ok bool
}

// UnmarshalXMLAttr keeps the attribute's value; the last one wins when the
// element repeats it (under two prefixes).
func (a *xmlAttr) UnmarshalXMLAttr(x xml.Attr) error {
	a.v, a.ok = x.Value, true
	return nil
}

// wirePayment is a <payment>. Its attributes are matched by local name,
// whatever their prefix.
type wirePayment struct {
	TxnID       xmlAttr `xml:"txn_id,attr"`
	Number      xmlAttr `xml:"transaction-number,attr"`
	Message     xmlAttr `xml:"message,attr"`
	Msg         xmlAttr `xml:"msg,attr"`
	FatalError  xmlAttr `xml:"fatal-error,attr"`
	Status      xmlAttr `xml:"status,attr"`
	ResultCode  xmlAttr `xml:"result-code,attr"`
	ResultCodeC xmlAttr `xml:"result-\u0441ode,attr"` // spelled with a Cyrillic "с" in the status examples: read as result-code
	FinalStatus xmlAttr `xml:"final-status,attr"`
	TxnDate     xmlAttr `xml:"txn-date,attr"`
	From        struct {
		Amount string `xml:"amount"`
		Ccy    string `xml:"ccy"`
	} `xml:"from"`
	To struct {
		ServiceID     string      `xml:"service-id"`
		Amount        string      `xml:"amount"`
		Ccy           string      `xml:"ccy"`
		AccountNumber string      `xml:"account-number"`
		Extras        []wireExtra `xml:"extra"`
	} `xml:"to"`
	Extras []wireExtra `xml:"extra"`
}

type wireBalance struct {
	Code  string `xml:"code,attr"`
	Value string `xml:",chardata"`
}

type wireResponse struct {
	XMLName    xml.Name        `xml:"response"`
	ResultCode *wireResultCode `xml:"result-code"`
	Payments   []wirePayment   `xml:"payment"`
	Wrapped    []wirePayment   `xml:"payments>payment"`
	Balances   *struct {
		Items []wireBalance `xml:"balance"`
	} `xml:"balances"`
	Exist           *string `xml:"exist"`
	DepositPossible *string `xml:"deposit-possible"`
	Provider        *struct {
		ID string `xml:"id,attr"`
	} `xml:"provider"`
}

// moscow is the zone of txn-date. The document does not name it; QIWI is a
// Moscow bank and its other APIs use Moscow time. A fixed offset: no tzdata
// needed, and Moscow has had no daylight saving time since 2014.
var moscow = time.FixedZone("MSK", 3*60*60)

// decodeResponse reads a response tolerantly: unknown elements and
// attributes are ignored, <payment> may be wrapped in <payments>, the
// <result-code> element may be missing, quotes may be single or double.
func decodeResponse(body []byte) (response, error) {
	var w wireResponse
	if len(bytes.TrimSpace(body)) == 0 {
		return response{}, fmt.Errorf("empty body")
	}
	d := xml.NewDecoder(bytes.NewReader(body))
	d.Strict = true
	d.CharsetReader = func(label string, in io.Reader) (io.Reader, error) {
		if strings.EqualFold(label, "utf-8") || strings.EqualFold(label, "utf8") {
			return in, nil
		}
		return nil, fmt.Errorf("charset %q is not UTF-8", label)
	}
	if err := d.Decode(&w); err != nil {
		return response{}, err
	}
	var r response
	if rc := w.ResultCode; rc != nil {
		code, err := strconv.Atoi(strings.TrimSpace(rc.Value))
		if err != nil {
			return response{}, fmt.Errorf("result-code %q is not a number", clip(rc.Value))
		}
		r.HasCode, r.Code, r.Fatal = true, ResultCode(code), parseBool(rc.Fatal)
		r.Message = firstNonEmpty(rc.Message, rc.Msg)
	}
	for _, wp := range [][]wirePayment{w.Payments, w.Wrapped} {
		for i := range wp {
			p, err := wp[i].payment()
			if err != nil {
				return response{}, err
			}
			r.Payments = append(r.Payments, p)
		}
	}
	if w.Balances != nil {
		r.HasBalances = true
	}
	for _, wb := range balances(w) {
		amt, err := payments.ParseDecimal(strings.TrimSpace(wb.Value))
		if err != nil {
			return response{}, fmt.Errorf("balance %q: %w", clip(wb.Code), err)
		}
		r.Balances = append(r.Balances, Balance{Currency: strings.TrimSpace(wb.Code), Amount: amt})
	}
	for _, f := range []struct {
		name string
		src  *string
		dst  **bool
	}{{"exist", w.Exist, &r.Exist}, {"deposit-possible", w.DepositPossible, &r.DepositPossible}} {
		if f.src != nil {
			v, ok := parseFlag(*f.src)
			if !ok {
				return response{}, fmt.Errorf("%s %q is not 0 or 1", f.name, clip(*f.src))
			}
			*f.dst = &v
		}
	}
	if w.Provider != nil {
		r.ProviderID = strings.TrimSpace(w.Provider.ID)
	}
	return r, nil
}

func (w *wirePayment) payment() (Payment, error) {
	p := Payment{
		TxnID:             strings.TrimSpace(w.TxnID.v),
		TransactionNumber: strings.TrimSpace(w.Number.v),
		Message:           firstNonEmpty(w.Message.v, w.Msg.v),
		FatalError:        parseBool(w.FatalError.v),
		FromCurrency:      strings.TrimSpace(w.From.Ccy),
		ToCurrency:        strings.TrimSpace(w.To.Ccy),
		Account:           strings.TrimSpace(w.To.AccountNumber),
	}
	if p.TransactionNumber == "" {
		return Payment{}, fmt.Errorf("payment without transaction-number")
	}
	if !w.Status.ok {
		return Payment{}, fmt.Errorf("payment %s without status", clip(p.TransactionNumber))
	}
	st := w.Status.v
	n, err := strconv.Atoi(strings.TrimSpace(st))
	if err != nil {
		return Payment{}, fmt.Errorf("payment status %q is not a number", clip(st))
	}
	p.Status = Status(n)
	// result-code and final-status are mandatory ("Описанные в документации
	// теги и атрибуты ... обязательны"): without them the answer does not
	// say whether the payment went through, and is not taken as one that does.
	rc := w.ResultCode
	if !rc.ok {
		rc = w.ResultCodeC
	}
	if !rc.ok {
		return Payment{}, fmt.Errorf("payment %s without result-code", clip(p.TransactionNumber))
	}
	code, err := strconv.Atoi(strings.TrimSpace(rc.v))
	if err != nil {
		return Payment{}, fmt.Errorf("payment result-code %q is not a number", clip(rc.v))
	}
	p.ResultCode = ResultCode(code)
	if !w.FinalStatus.ok {
		return Payment{}, fmt.Errorf("payment %s without final-status", clip(p.TransactionNumber))
	}
	fs := w.FinalStatus.v
	var ok bool
	if p.FinalStatus, ok = parseFlag(fs); !ok {
		return Payment{}, fmt.Errorf("payment final-status %q is not true or false", clip(fs))
	}
	if d := strings.TrimSpace(w.TxnDate.v); d != "" {
		if p.TxnDate, err = time.ParseInLocation("02.01.2006 15:04:05", d, moscow); err != nil {
			return Payment{}, fmt.Errorf("txn-date %q: not dd.MM.yyyy HH:mm:ss", clip(d))
		}
	}
	if s := strings.TrimSpace(w.To.ServiceID); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			return Payment{}, fmt.Errorf("service-id %q is not a number", clip(s))
		}
		p.Service = Service(n)
	}
	for _, f := range []struct {
		dst *payments.Decimal
		src string
	}{{&p.FromAmount, w.From.Amount}, {&p.ToAmount, w.To.Amount}} {
		if s := strings.TrimSpace(f.src); s != "" {
			if *f.dst, err = payments.ParseDecimal(s); err != nil {
				return Payment{}, fmt.Errorf("amount %q: %w", clip(s), err)
			}
		}
	}
	for _, e := range append(w.Extras, w.To.Extras...) {
		if p.Extras == nil {
			p.Extras = map[string]string{}
		}
		p.Extras[e.Name] = strings.TrimSpace(e.Value)
	}
	return p, nil
}

// balances is the <balance> list of an answer, empty without <balances>.
func balances(w wireResponse) []wireBalance {
	if w.Balances == nil {
		return nil
	}
	return w.Balances.Items
}

// parseFlag reads a documented boolean: true/false (final-status,
// fatal-error, fatal) or 0/1 (exist, deposit-possible).
func parseFlag(s string) (v, ok bool) {
	switch strings.TrimSpace(strings.ToLower(s)) {
	case "true", "1":
		return true, true
	case "false", "0":
		return false, true
	}
	return false, false
}

func parseBool(s string) bool {
	s = strings.TrimSpace(strings.ToLower(s))
	return s == "true" || s == "1"
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v = strings.TrimSpace(v); v != "" {
			return v
		}
	}
	return ""
}

func clip(s string) string { return payments.MaskPAN(truncate(s, 40)) }

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
