package paykeepertest

import (
	"bytes"
	"fmt"
	"net/http"
	"net/url"
	"time"
	"unicode/utf16"
	"unicode/utf8"
)

// Request is one request the server received.
type Request struct {
	// Op is the operation: one of the Op constants, named after the route
	// (the path without its leading and trailing slash), [OpBill] for a
	// payer's invoice page, or [OpUnknown] for a method and path PayKeeper
	// does not have. It describes the request, whatever its outcome.
	Op     string
	Method string
	Path   string
	Query  url.Values
	// Form is the parsed application/x-www-form-urlencoded body of a POST,
	// with the value of the token field replaced by [MaskedToken]; nil for
	// other requests.
	Form url.Values
	// TokenValid tells whether a POST carried the token valid at the time.
	TokenValid bool
	// User is the Basic-auth login sent, valid or not; "" without Basic auth.
	User       string
	Header     http.Header // as received, without Authorization
	RemoteAddr string
	Time       time.Time
	// Answered is the HTTP status sent, or 0 if the connection was dropped
	// (or the client went away) without an answer, or the request is still
	// being handled.
	Answered int
}

// Values of [Request.Op] and arguments of [Server.Count]: each route's path
// without its leading and trailing slash, so OpReverse (a refund) is
// "change/payment/reverse" for POST /change/payment/reverse/. A request with
// the right path but the wrong method is OpUnknown.
const (
	OpToken = "info/settings/token" // GET /info/settings/token/

	OpSystemsList        = "info/systems/list"
	OpSystemsSums        = "info/systems/sums"
	OpSystemsSumsDetails = "info/systems/sums/details"
	OpSystemsAllSum      = "info/systems/allsum"

	OpPaymentsByDate      = "info/payments/bydate"
	OpPaymentsByDateCount = "info/payments/bydatecount"
	OpPaymentByID         = "info/payments/byid"
	OpPaymentsSearch      = "info/payments/search"
	OpOptionsByID         = "info/options/byid"
	OpParamsByID          = "info/params/byid"
	OpHTTPLogByID         = "info/httplog/byid"
	OpRefundsByPaymentID  = "info/refunds/bypaymentid"
	OpReverse             = "change/payment/reverse" // a refund
	OpRepeatCnt           = "change/payment/repeatcnt"
	OpCapture             = "change/payment/capture"

	OpInvoiceByID      = "info/invoice/byid"
	OpInvoiceList      = "info/invoice/list"
	OpInvoiceListCount = "info/invoice/listcount"
	OpInvoicePreview   = "change/invoice/preview" // creates an invoice
	OpInvoiceSend      = "change/invoice/send"
	OpInvoiceRevoke    = "change/invoice/revoke"

	OpUserSettings     = "info/user/settings"
	OpUserLastVisit    = "info/user/lastvisit"
	OpOrgSettings      = "info/organization/settings"
	OpOrgNotifications = "info/organization/notifications"
	OpOrgFields        = "info/organization/fields"
	OpOrgReportEmails  = "info/organization/reportemails"
	OpOrgUsers         = "info/organization/users"

	OpChangeSetting     = "change/organization/setting"
	OpChangeFormField   = "change/organization/formfield"
	OpAddReportEmail    = "change/organization/addreportemail"
	OpDeleteReportEmail = "change/organization/deletereportemail"
	OpUserAdd           = "change/user/add"
	OpUserUpdate        = "change/user/update"
	OpUserDelete        = "change/user/delete"

	OpExportPayments = "export/payments"

	// OpBill is the payer's invoice page, GET /bill/<id>/, served without
	// authentication.
	OpBill = "bill"
	// OpForm is the payment form, GET or POST /create/, served without
	// authentication (see [WithFormSecret]).
	OpForm = "create"
	// OpBindingExecute charges a saved card: POST /change/binding/execute/.
	OpBindingExecute = "change/binding/execute"
	// OpPostSaleReceipt, OpReceiptPrint and OpReceipts are the 54-FZ
	// receipts; OpErrorsTotal the error counts.
	OpPostSaleReceipt = "change/payment/post-sale-receipt"
	OpReceiptPrint    = "change/receipt/print"
	OpReceipts        = "info/receipts/bypaymentid"
	OpErrorsTotal     = "info/errors/total"
	// OpUnknown is a method and path PayKeeper does not have (answered 404).
	OpUnknown = "unknown"
)

// MaskedToken replaces the token form field in recorded requests.
const MaskedToken = "[masked]"

func cloneRequest(r Request) Request {
	r.Header = r.Header.Clone()
	r.Query = cloneValues(r.Query)
	r.Form = cloneValues(r.Form)
	return r
}

func cloneValues(v url.Values) url.Values {
	if v == nil {
		return nil
	}
	out := make(url.Values, len(v))
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}

// kv is one member of an ordered JSON object.
type kv struct {
	k string
	v any
}

// obj is an ordered JSON object. Values may be string, nil, bool, int,
// int64, number (a numeric token written as is), obj, []obj, []any or
// []string.
type obj []kv

// number is a JSON number token written verbatim, e.g. "120.50".
type number string

func (o *obj) add(k string, v any) { *o = append(*o, kv{k, v}) }

// strOrNull is s, or nil (JSON null) when s is empty.
func strOrNull(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// encode writes v as PHP's json_encode does with default flags: keys in a
// fixed order, compact, every non-ASCII character as \uXXXX and "/" as
// "\/". Clients must decode it as any JSON; nothing here is exotic JSON.
func encode(v any) []byte {
	var b bytes.Buffer
	writeValue(&b, v)
	return b.Bytes()
}

func writeValue(b *bytes.Buffer, v any) {
	switch x := v.(type) {
	case nil:
		b.WriteString("null")
	case string:
		writeString(b, x)
	case bool, int, int64, number:
		fmt.Fprint(b, x)
	case kv:
		writeString(b, x.k)
		b.WriteByte(':')
		writeValue(b, x.v)
	case obj:
		writeList(b, "{}", x)
	case []obj:
		writeList(b, "[]", x)
	case []any:
		writeList(b, "[]", x)
	case []string:
		writeList(b, "[]", x)
	default:
		panic(fmt.Sprintf("paykeepertest: cannot encode %T", v))
	}
}

func writeList[T any](b *bytes.Buffer, brackets string, xs []T) {
	b.WriteByte(brackets[0])
	for i, e := range xs {
		if i > 0 {
			b.WriteByte(',')
		}
		writeValue(b, e)
	}
	b.WriteByte(brackets[1])
}

var jsonEscapes = map[rune]string{'"': `\"`, '\\': `\\`, '/': `\/`, '\n': `\n`, '\r': `\r`, '\t': `\t`}

func writeString(b *bytes.Buffer, s string) {
	b.WriteByte('"')
	for _, r := range s {
		if e, ok := jsonEscapes[r]; ok {
			b.WriteString(e)
		} else if r < 0x20 || r >= utf8.RuneSelf {
			for _, u := range utf16.Encode([]rune{r}) {
				fmt.Fprintf(b, `\u%04x`, u)
			}
		} else {
			b.WriteByte(byte(r))
		}
	}
	b.WriteByte('"')
}
