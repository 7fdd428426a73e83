package royalpaytest

import (
	"bytes"
	"cmp"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/paysdk/payments"
)

const (
	createPath = "/api/v2/payments/"
	// The first ids: the document's example payment is 10442449 and its
	// merchant_payment_detail 9336278; the two count up together.
	firstPaymentID = 10442449
	firstDetailID  = 9336278
	// Limits of "sum", modelled on a DRF DecimalField(max_digits=12,
	// decimal_places=2, min_value=0.01).
	maxDigits     = 12
	maxPlaces     = 2
	maxWholeDigit = maxDigits - maxPlaces
	minSum        = "0.01"
	// What the server fills in for a field the request leaves out.
	defaultGeo      = "Россия"
	defaultBank     = "Alfa"
	defaultFullName = "Testov Tester Testik"
)

// Transfer types the document lists for "type", plus with_qr_code (its
// example 12), in the document's order.
var transferTypes = []string{
	"to_sbp_number", "to_card_number", "to_account_number", "to_transgran_number",
	"to_transgran_sbp", "to_yandex_tips", "nspk", "to_mobile_commerce", "to_quasi_ecom",
	"with_qr_code",
}

// Values of "geo": the document's list plus Монголия (its example 13).
var geos = []string{"Россия", "Азербайджан", "Казахстан", "Узбекистан", "Кыргызстан", "Монголия"}

// banks maps a requested bank (lower case) to its Russian name and BIK.
var banks = map[string][2]string{
	"alfa":       {"Альфа Банк", "044525593"},
	"sber":       {"Сбербанк", "044525225"},
	"tinkoff":    {"Т-Банк", "044525974"},
	"vtb":        {"ВТБ", "044525187"},
	"ozon":       {"Озон Банк", "044525068"},
	"raiffeisen": {"Райффайзенбанк", "044525700"},
	"gasprom":    {"Газпромбанк", "044525823"},
	"gazprom":    {"Газпромбанк", "044525823"},
	"mts":        {"МТС Банк", "044525232"},
}

// BlockClient makes every create request from now on (after authentication)
// answer 403 {"error": "Client is blocked. Reason: <reason>", "code": 50000},
// creating nothing, as the document's table shows for a blocked account.
// BlockClient("") unblocks. Reading a payment is not affected.
func (s *Server) BlockClient(reason string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.blocked = reason
}

// Payment returns the payment with id, if the server has it.
func (s *Server) Payment(id int64) (PaymentRecord, bool) {
	p, ok := find(s, &s.payments, id)
	return p.PaymentRecord, ok
}

// Payments returns every stored payment in the order they were created.
func (s *Server) Payments() []PaymentRecord {
	return list(s, &s.payments, func(p *payment) (PaymentRecord, bool) { return p.PaymentRecord, true })
}

// create runs POST /api/v2/payments/. The provider's errors among the
// queued faults stand in for the creation step.
func (s *Server) create(c *call) response {
	if a := authenticate(c.R, true, s.token); a != nil {
		return *a
	}
	s.mu.Lock()
	reason := s.blocked
	s.mu.Unlock()
	if reason != "" {
		return errorResponse(http.StatusForbidden, "Client is blocked. Reason: "+reason, 50000)
	}
	if !c.BodyOK {
		return detailResponse(http.StatusBadRequest, msgTooLarge)
	}
	ct := c.R.Header.Get("Content-Type")
	if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/json" {
		return detailResponse(http.StatusBadRequest, fmt.Sprintf("Неподдерживаемый тип данных \"%s\" в запросе.", ct))
	}
	in, bad := parseCreate(c.Body)
	if bad != nil {
		return *bad
	}
	if f := c.Fault; f.Kind == faultRefusal && f.Flag {
		return errorResponse(http.StatusBadRequest, f.Body, strconv.Itoa(f.Code))
	} else if f.Kind == faultRefusal {
		return errorResponse(http.StatusBadRequest, f.Body, f.Code)
	}
	s.mu.Lock()
	p := s.newPaymentLocked(in)
	out := p.json()
	s.mu.Unlock()
	s.scheduleAutoComplete(p.ID)
	if c.Fault.Kind == faultServerTimeout {
		return errorResponse(http.StatusInternalServerError, msgTimeout, 50020)
	}
	return jsonResponse(http.StatusOK, out)
}

// createInput is a validated create request.
type createInput struct {
	sum                payments.Decimal
	typ                string
	bank               string
	intrabank          bool
	clientID, clientIP string
	outterID           string
	geo                string
	allowAnother       bool
	callbackURL        string
}

// fieldErrors is a DRF validation answer: field → messages, in field order.
type fieldErrors struct{ object }

func (e *fieldErrors) add(field, msg string) {
	for i, m := range e.object {
		if m.key == field {
			e.object[i].val = append(m.val.([]string), msg)
			return
		}
	}
	e.object.add(field, []string{msg})
}

// refusal is a 400 answer rendering v.
func refusal(v any) *response {
	r := jsonResponse(http.StatusBadRequest, v)
	return &r
}

// parseCreate validates a create body that is already known to be JSON. It
// returns the input, or a 400 answer.
func parseCreate(body []byte) (createInput, *response) {
	var in createInput
	data := map[string]json.RawMessage{}
	if len(bytes.TrimSpace(body)) > 0 {
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.UseNumber()
		var v any
		if err := dec.Decode(&v); err != nil {
			return in, refusal(&object{{"detail", fmt.Sprintf(msgJSONParse, err)}})
		}
		if _, err := dec.Token(); err == nil {
			return in, refusal(&object{{"detail", fmt.Sprintf(msgJSONParse, "extra data after the JSON value")}})
		}
		if _, ok := v.(map[string]any); !ok {
			return in, refusal(&object{{"non_field_errors", []string{fmt.Sprintf("Недопустимые данные. Ожидался dictionary, но был получен %s.", pythonType(v))}}})
		}
		if err := json.Unmarshal(body, &data); err != nil { // cannot fail after Decode
			return in, refusal(&object{{"detail", fmt.Sprintf(msgJSONParse, err)}})
		}
	}

	errs := &fieldErrors{}
	in.sum = parseSum(data, errs)
	in.typ = parseChoice(data, "type", transferTypes, "", errs)
	in.bank = cmp.Or(parseString(data, "bank", errs), defaultBank)
	in.intrabank = parseBool(data, "is_intrabank_transfer", errs)
	in.clientID = parseString(data, "client_id", errs)
	in.outterID = parseString(data, "outter_id", errs)
	in.geo = parseChoice(data, "geo", geos, defaultGeo, errs)
	in.allowAnother = parseBool(data, "is_allow_another_amount", errs)
	in.callbackURL = parseString(data, "callback_url", errs)
	if in.callbackURL != "" && !validURL(in.callbackURL) {
		errs.add("callback_url", "Введите корректный URL.")
	}
	in.clientIP = parseString(data, "client_ip", errs)
	if len(errs.object) > 0 {
		return in, refusal(&errs.object)
	}
	return in, nil
}

// pythonType names a decoded JSON value the way DRF's message does.
func pythonType(v any) string {
	switch v := v.(type) {
	case nil:
		return "NoneType"
	case []any:
		return "list"
	case string:
		return "str"
	case bool:
		return "bool"
	case json.Number:
		if strings.ContainsAny(v.String(), ".eE") {
			return "float"
		}
		return "int"
	}
	return "dict"
}

// field returns the trimmed value of name unless it is absent or null,
// which a required field reports.
func field(data map[string]json.RawMessage, name string, required bool, errs *fieldErrors) (json.RawMessage, bool) {
	raw, ok := data[name]
	raw = bytes.TrimSpace(raw)
	switch {
	case ok && string(raw) != "null":
		return raw, true
	case required && ok:
		errs.add(name, "Это поле не может быть null.")
	case required:
		errs.add(name, msgRequired)
	}
	return nil, false
}

// parseSum reads "sum": a JSON number or a numeric string, exactly, with at
// most 12 digits of which at most 2 after the point, at least 0.01.
func parseSum(data map[string]json.RawMessage, errs *fieldErrors) payments.Decimal {
	raw, ok := field(data, "sum", true, errs)
	if !ok {
		return payments.Decimal{}
	}
	text, fromString := string(raw), raw[0] == '"'
	if fromString && json.Unmarshal(raw, &text) != nil {
		text = "?" // not a number
	}
	text = strings.TrimSpace(text)
	d, err := payments.ParseDecimal(text)
	whole, places := digits(d, !fromString)
	switch {
	case fromString && len(text) > 1000:
		errs.add("sum", "Слишком длинное значение.")
	case err != nil:
		errs.add("sum", "Требуется численное значение.")
	case whole+places > maxDigits:
		errs.add("sum", fmt.Sprintf("Убедитесь, что в числе не больше %d знаков.", maxDigits))
	case places > maxPlaces:
		errs.add("sum", fmt.Sprintf("Убедитесь, что в числе не больше %d знаков в дробной части.", maxPlaces))
	case whole > maxWholeDigit:
		errs.add("sum", fmt.Sprintf("Убедитесь, что в числе не больше %d знаков в целой части.", maxWholeDigit))
	case d.Cmp(payments.MustDecimal(minSum)) < 0:
		errs.add("sum", fmt.Sprintf("Убедитесь, что значение больше или равно %s.", minSum))
	default:
		return d
	}
	return payments.Decimal{}
}

// digits counts the digits of d before and after the point, as DRF's
// DecimalField does. A JSON number reaches Python as a float, whose text has
// no trailing zeros after the point (1500.000 is 1500.0), so trimZeros drops
// them; a string keeps them ("1500.000" has 3 places).
func digits(d payments.Decimal, trimZeros bool) (whole, places int) {
	intPart, frac, _ := strings.Cut(strings.TrimPrefix(d.String(), "-"), ".")
	if trimZeros {
		frac = strings.TrimRight(frac, "0")
	}
	intPart = strings.TrimLeft(intPart, "0")
	return len(intPart), len(frac)
}

// parseChoice reads a choice field; absent or null gives def, or "required"
// when def is "".
func parseChoice(data map[string]json.RawMessage, name string, choices []string, def string, errs *fieldErrors) string {
	raw, ok := field(data, name, def == "", errs)
	if !ok {
		return def
	}
	var v string
	switch { // a value that is not a string as Python's str() prints it, near enough
	case string(raw) == "true":
		v = "True"
	case string(raw) == "false":
		v = "False"
	case json.Unmarshal(raw, &v) != nil:
		v = string(marshal(raw)) // compacted
	case slices.Contains(choices, v):
		return v
	}
	errs.add(name, fmt.Sprintf("\"%s\" is not a valid choice.", v))
	return def
}

// parseString reads an optional DRF CharField: a string (trimmed), or a
// number (its text); null or absent give "".
func parseString(data map[string]json.RawMessage, name string, errs *fieldErrors) string {
	raw, ok := field(data, name, false, errs)
	var v string
	switch {
	case !ok:
	case raw[0] == '"' && json.Unmarshal(raw, &v) == nil:
		return strings.TrimSpace(v)
	case raw[0] == '-' || (raw[0] >= '0' && raw[0] <= '9'):
		return string(raw)
	default:
		errs.add(name, "Not a valid string.")
	}
	return ""
}

// parseBool reads an optional DRF BooleanField: true/false, 1/0, or one of
// DRF's strings; null or absent give false.
func parseBool(data map[string]json.RawMessage, name string, errs *fieldErrors) bool {
	raw, ok := field(data, name, false, errs)
	if !ok {
		return false
	}
	text := string(raw)
	switch d, err := payments.ParseDecimal(text); {
	case raw[0] == '"':
		if json.Unmarshal(raw, &text) != nil {
			text = "?"
		}
	case err == nil && d.Cmp(payments.MustDecimal("1")) == 0:
		text = "1"
	case err == nil && d.IsZero():
		text = "0"
	}
	switch text { // DRF BooleanField's spellings
	case "t", "T", "y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON", "1":
		return true
	case "f", "F", "n", "N", "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF", "0":
		return false
	}
	errs.add(name, "Must be a valid boolean.")
	return false
}

// validURL accepts an absolute http or https URL with a host.
func validURL(s string) bool {
	u, err := url.Parse(s)
	if err != nil || strings.ContainsAny(s, " \t\r\n") {
		return false
	}
	scheme := strings.ToLower(u.Scheme)
	return (scheme == "http" || scheme == "https") && u.Hostname() != "" && u.Opaque == ""
}

// newPaymentLocked creates and stores a payment from a validated request.
func (s *Server) newPaymentLocked(in createInput) *payment {
	now := s.now()
	p := &payment{
		PaymentRecord: PaymentRecord{
			ID:                 s.payments.next,
			Type:               in.typ,
			Status:             StatusCreated,
			Bank:               in.bank,
			Geo:                in.geo,
			ClientID:           in.clientID,
			ClientIP:           in.clientIP,
			OutterID:           in.outterID,
			CallbackURL:        in.callbackURL,
			IntrabankTransfer:  in.intrabank,
			AllowAnotherAmount: in.allowAnother,
			RussifiedName:      in.bank, // an unknown bank's own name, with no BIK
			FullName:           defaultFullName,
			DeeplinkURL:        "https://" + Host + "/deeplink/" + newUUID(),
			DetailID:           firstDetailID + s.payments.next - firstPaymentID,
			CreatedAt:          now,
			UpdatedAt:          now,
		},
		detailUpdated: now,
	}
	p.setSum(in.sum)
	if b, ok := banks[strings.ToLower(in.bank)]; ok {
		p.RussifiedName, p.BIK = b[0], b[1]
	}
	fillRequisites(&p.PaymentRecord)
	s.payments.add(p)
	return p
}

// fillRequisites sets what the payer pays to, per type, following the
// document's "Отличающее поле" notes. The numbers derive from the id.
func fillRequisites(p *PaymentRecord) {
	id := p.ID
	phone := fmt.Sprintf("+7987%07d", id%10_000_000)
	switch p.Type {
	case "to_sbp_number", "to_mobile_commerce", "to_transgran_sbp":
		p.SBPPhoneNumber = phone
	case "to_card_number", "to_transgran_number":
		p.CardNumber = luhn(fmt.Sprintf("2200%011d", id%100_000_000_000))
	case "to_account_number":
		p.AccountNumber = fmt.Sprintf("40817810%012d", id)
	case "to_yandex_tips":
		p.TipsID = fmt.Sprintf("1%011d", id%100_000_000_000)
		p.NSPKURL = nspkURL()
		p.SBPPhoneNumber = phone
	case "nspk":
		p.QRCode = fmt.Sprintf("https://rf-static.ams3.digitaloceanspaces.com/production/ams3/payment_qr_codes/BankCard_%d_qr.png", id)
		p.NSPKURL = nspkURL()
	case "with_qr_code":
		p.QRCodeLink = fmt.Sprintf("https://rf-static.ams3.digitaloceanspaces.com/production/ams3/payment_qr_codes/QR_%d_qr.png", id)
		p.AccountNumber = fmt.Sprintf("40702810%012d", id)
	}
	if strings.HasPrefix(p.Type, "to_transgran_") {
		p.TpayLink = "https://" + Host + "/tpay/" + newUUID()
	}
}

func nspkURL() string {
	return "https://qr.nspk.ru/AS1A" + strings.ToUpper(hex.EncodeToString(randomBytes(14)))
}
