package qiwitopuptest

import (
	"bytes"
	"cmp"
	"encoding/xml"
	"errors"
	"io"
	"slices"
	"strconv"
	"strings"
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

// extrasMap maps the extras by name, trimmed; as with extra, the first wins.
func extrasMap(list []xExtra) map[string]string {
	if len(list) == 0 {
		return nil
	}
	m := make(map[string]string, len(list))
	for _, e := range slices.Backward(list) {
		m[e.Name] = strings.TrimSpace(e.Value)
	}
	return m
}

// parseRequest checks that body is one well-formed XML document with a
// <request> root holding exactly one <request-type>, and decodes it.
func parseRequest(body []byte) (*xRequest, error) {
	d := xml.NewDecoder(bytes.NewReader(body))
	var req *xRequest
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		switch tok := tok.(type) {
		case xml.StartElement: // a root: DecodeElement reads it to its end
			if req != nil {
				return nil, errors.New("more than one root element")
			}
			req = &xRequest{}
			if err := d.DecodeElement(req, &tok); err != nil {
				return nil, err
			}
		case xml.CharData:
			if len(bytes.TrimSpace(tok)) > 0 {
				return nil, errors.New("text outside the root element")
			}
		}
	}
	if req == nil || req.XMLName.Local != "request" || len(req.RequestType) != 1 || strings.TrimSpace(req.RequestType[0]) == "" {
		return nil, errors.New("not a <request> with one <request-type>")
	}
	return req, nil
}

// opOf classifies a parsed request: most Ops are the request-type itself.
func opOf(req *xRequest) string {
	switch typ := strings.TrimSpace(req.RequestType[0]); {
	case typ == OpPing || typ == OpCheckUser || typ == OpCheckDepositPossible:
		return typ
	case typ == "get-provider-by-phone-number":
		return OpGetProvider
	case typ != "pay" || (req.Auth == nil) == (req.Status == nil):
		return OpInvalid
	case req.Auth != nil:
		return OpPay
	}
	return OpStatus
}

// out builds a response document; code is its request-level <result-code>.
type out struct {
	strings.Builder
	code int
}

// newOut starts a response with its request-level <result-code>, with
// message and msg attributes when msg is not "".
func newOut(code int, fatal bool, msg string) *out {
	o := &out{code: code}
	o.WriteString("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<response>\n<result-code")
	o.attr("fatal", strconv.FormatBool(fatal), '"')
	if msg != "" {
		o.attr("message", msg, '"')
		o.attr("msg", msg, '"')
	}
	o.WriteString(">" + strconv.Itoa(code) + "</result-code>\n")
	return o
}

func (o *out) bytes() []byte {
	o.WriteString("</response>\n")
	return []byte(o.String())
}

func (o *out) text(s string) { _ = xml.EscapeText(o, []byte(s)) }

// attr writes ` name=qvalueq` with q the quote character.
func (o *out) attr(name, value string, q byte) {
	o.WriteString(" " + name + "=" + string(q))
	o.text(value)
	o.WriteString(string(q))
}

// element writes <name>text</name> with indent.
func (o *out) element(indent, name, text string) {
	o.WriteString(indent + "<" + name + ">")
	o.text(text)
	o.WriteString("</" + name + ">\n")
}

// errorDoc is a response with only a request-level error, with message and
// msg as in the RU examples: "Неизвестная ошибка" for 300 and any code the
// documents do not list.
func errorDoc(code int, fatal bool) *out {
	return newOut(code, fatal, cmp.Or(requestMessages[code], "Неизвестная ошибка"))
}
