package royalpaytest

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/big"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/paysdk/payments"
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

const defaultGeo = "Россия"

// The answer's fixed figures: the document's example.
const (
	defaultBank     = "Alfa"
	defaultFullName = "Testov Tester Testik"
	currency        = "Рубль"
	course          = "78.90" // RUB per USDT
	courseCents     = 7890    // course in hundredths
	rate            = "0.00"
	accumulatedRate = "9.00" // percent kept by the provider
	keptPercent     = 91     // 100 - accumulatedRate
)

// Limits of "sum", modelled on a DRF DecimalField(max_digits=12,
// decimal_places=2, min_value=0.01).
const (
	maxDigits     = 12
	maxPlaces     = 2
	maxWholeDigit = maxDigits - maxPlaces
	minSum        = "0.01"
)

// Validation messages. Required and invalid-choice follow the texts the SDK
// expects; the others are Django REST Framework's Russian translations (DRF
// leaves "Must be a valid boolean." and "Not a valid string." untranslated).
const (
	msgRequired     = "Обязательное поле."
	msgNull         = "Это поле не может быть null."
	msgNumber       = "Требуется численное значение."
	msgTooLong      = "Слишком длинное значение."
	msgMaxDigits    = "Убедитесь, что в числе не больше %d знаков."
	msgMaxPlaces    = "Убедитесь, что в числе не больше %d знаков в дробной части."
	msgMaxWhole     = "Убедитесь, что в числе не больше %d знаков в целой части."
	msgMinValue     = "Убедитесь, что значение больше или равно %s."
	msgChoice       = "\"%s\" is not a valid choice."
	msgString       = "Not a valid string."
	msgBoolean      = "Must be a valid boolean."
	msgURL          = "Введите корректный URL."
	msgNotDict      = "Недопустимые данные. Ожидался dictionary, но был получен %s."
	msgUnsupported  = "Неподдерживаемый тип данных \"%s\" в запросе."
	msgJSONParse    = "JSON parse error - %s"
	msgNotFound     = "Страница не найдена."
	msgNoAuth       = "Учетные данные не были предоставлены."
	msgBadToken     = "Недопустимый токен."
	msgNoCards      = "No available cards."
	msgCreateFailed = "Payment creation failed"
	msgBlocked      = "Client is blocked. Reason: "
	msgTimeout      = "Request timed out. The server took too long to respond."
)

// bankInfo is what the answer says about a requested bank.
type bankInfo struct{ russified, bik string }

// banks maps a requested bank (lower case) to its Russian name and BIK.
var banks = map[string]bankInfo{
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

// moscow is the offset the document's timestamps carry.
var moscow = time.FixedZone("MSK", 3*60*60)

const timeLayout = "2006-01-02T15:04:05.000000-07:00"

func formatTime(t time.Time) string { return t.In(moscow).Format(timeLayout) }

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
type fieldErrors struct {
	keys []string
	msgs map[string][]string
}

func (e *fieldErrors) add(field, msg string) {
	if e.msgs == nil {
		e.msgs = map[string][]string{}
	}
	if _, ok := e.msgs[field]; !ok {
		e.keys = append(e.keys, field)
	}
	e.msgs[field] = append(e.msgs[field], msg)
}

func (e *fieldErrors) empty() bool { return len(e.keys) == 0 }

func (e *fieldErrors) object() *object {
	o := &object{}
	for _, k := range e.keys {
		o.add(k, e.msgs[k])
	}
	return o
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
			return in, detailResponse(400, fmt.Sprintf(msgJSONParse, err))
		}
		if _, err := dec.Token(); err == nil {
			return in, detailResponse(400, fmt.Sprintf(msgJSONParse, "extra data after the JSON value"))
		}
		if _, ok := v.(map[string]any); !ok {
			e := &fieldErrors{}
			e.add("non_field_errors", fmt.Sprintf(msgNotDict, pythonType(v)))
			r := jsonResponse(400, e.object())
			return in, &r
		}
		if err := json.Unmarshal(body, &data); err != nil { // cannot fail after Decode
			return in, detailResponse(400, fmt.Sprintf(msgJSONParse, err))
		}
	}

	errs := &fieldErrors{}
	in.sum = parseSum(data, errs)
	in.typ = parseChoice(data, "type", transferTypes, "", errs)
	in.bank = parseString(data, "bank", errs)
	in.intrabank = parseBool(data, "is_intrabank_transfer", errs)
	in.clientID = parseString(data, "client_id", errs)
	in.outterID = parseString(data, "outter_id", errs)
	in.geo = parseChoice(data, "geo", geos, defaultGeo, errs)
	in.allowAnother = parseBool(data, "is_allow_another_amount", errs)
	in.callbackURL = parseString(data, "callback_url", errs)
	if in.callbackURL != "" && !validURL(in.callbackURL) {
		errs.add("callback_url", msgURL)
	}
	in.clientIP = parseString(data, "client_ip", errs)
	if !errs.empty() {
		r := jsonResponse(400, errs.object())
		return in, &r
	}
	if in.bank == "" {
		in.bank = defaultBank
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

func isNull(raw json.RawMessage) bool { return string(bytes.TrimSpace(raw)) == "null" }

// parseSum reads "sum": a JSON number or a numeric string, exactly, with at
// most 12 digits of which at most 2 after the point, at least 0.01.
func parseSum(data map[string]json.RawMessage, errs *fieldErrors) payments.Decimal {
	raw, ok := data["sum"]
	switch {
	case !ok:
		errs.add("sum", msgRequired)
		return payments.Decimal{}
	case isNull(raw):
		errs.add("sum", msgNull)
		return payments.Decimal{}
	}
	raw = bytes.TrimSpace(raw)
	var text string
	fromString := false
	switch c := raw[0]; {
	case c == '"':
		if err := json.Unmarshal(raw, &text); err != nil {
			errs.add("sum", msgNumber)
			return payments.Decimal{}
		}
		text = strings.TrimSpace(text)
		if len(text) > 1000 {
			errs.add("sum", msgTooLong)
			return payments.Decimal{}
		}
		fromString = true
	case c == '-' || (c >= '0' && c <= '9'):
		text = string(raw)
	default:
		errs.add("sum", msgNumber)
		return payments.Decimal{}
	}
	d, err := payments.ParseDecimal(text)
	if err != nil {
		errs.add("sum", msgNumber)
		return payments.Decimal{}
	}
	whole, places := digits(d, !fromString)
	switch {
	case whole+places > maxDigits:
		errs.add("sum", fmt.Sprintf(msgMaxDigits, maxDigits))
	case places > maxPlaces:
		errs.add("sum", fmt.Sprintf(msgMaxPlaces, maxPlaces))
	case whole > maxWholeDigit:
		errs.add("sum", fmt.Sprintf(msgMaxWhole, maxWholeDigit))
	case d.Cmp(payments.MustDecimal(minSum)) < 0:
		errs.add("sum", fmt.Sprintf(msgMinValue, minSum))
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
	s := strings.TrimPrefix(d.String(), "-")
	intPart, frac, _ := strings.Cut(s, ".")
	if trimZeros {
		frac = strings.TrimRight(frac, "0")
	}
	intPart = strings.TrimLeft(intPart, "0")
	return len(intPart), len(frac)
}

// parseChoice reads a choice field; absent or null gives def, or "required"
// when def is "".
func parseChoice(data map[string]json.RawMessage, field string, choices []string, def string, errs *fieldErrors) string {
	raw, ok := data[field]
	if !ok || isNull(raw) {
		if def == "" {
			if !ok {
				errs.add(field, msgRequired)
			} else {
				errs.add(field, msgNull)
			}
		}
		return def
	}
	var v string
	if json.Unmarshal(raw, &v) != nil {
		v = pythonText(raw)
	} else {
		for _, c := range choices {
			if v == c {
				return v
			}
		}
	}
	errs.add(field, fmt.Sprintf(msgChoice, v))
	return def
}

// pythonText renders a non-string JSON value as Python's str() would, near
// enough for an error message.
func pythonText(raw json.RawMessage) string {
	switch s := string(bytes.TrimSpace(raw)); s {
	case "true":
		return "True"
	case "false":
		return "False"
	default:
		var b bytes.Buffer
		if json.Compact(&b, raw) != nil {
			return s
		}
		return b.String()
	}
}

// parseString reads an optional DRF CharField: a string (trimmed), or a
// number (its text); null or absent give "".
func parseString(data map[string]json.RawMessage, field string, errs *fieldErrors) string {
	raw, ok := data[field]
	if !ok || isNull(raw) {
		return ""
	}
	raw = bytes.TrimSpace(raw)
	switch c := raw[0]; {
	case c == '"':
		var v string
		if json.Unmarshal(raw, &v) == nil {
			return strings.TrimSpace(v)
		}
	case c == '-' || (c >= '0' && c <= '9'):
		return string(raw)
	}
	errs.add(field, msgString)
	return ""
}

// DRF BooleanField's accepted spellings.
var (
	trueValues  = map[string]bool{"t": true, "T": true, "y": true, "Y": true, "yes": true, "Yes": true, "YES": true, "true": true, "True": true, "TRUE": true, "on": true, "On": true, "ON": true, "1": true}
	falseValues = map[string]bool{"f": true, "F": true, "n": true, "N": true, "no": true, "No": true, "NO": true, "false": true, "False": true, "FALSE": true, "off": true, "Off": true, "OFF": true, "0": true}
)

// parseBool reads an optional DRF BooleanField: true/false, 1/0, or one of
// DRF's strings; null or absent give false.
func parseBool(data map[string]json.RawMessage, field string, errs *fieldErrors) bool {
	raw, ok := data[field]
	if !ok || isNull(raw) {
		return false
	}
	raw = bytes.TrimSpace(raw)
	var text string
	switch c := raw[0]; {
	case c == '"':
		if json.Unmarshal(raw, &text) != nil {
			text = "?"
		}
	case c == 't' || c == 'f':
		text = string(raw)
	case c == '-' || (c >= '0' && c <= '9'):
		if d, err := payments.ParseDecimal(string(raw)); err == nil {
			switch {
			case d.Cmp(payments.MustDecimal("1")) == 0:
				text = "1"
			case d.IsZero():
				text = "0"
			}
		}
	}
	switch {
	case trueValues[text]:
		return true
	case falseValues[text]:
		return false
	}
	errs.add(field, msgBoolean)
	return false
}

// validURL accepts an absolute http or https URL with a host.
func validURL(s string) bool {
	if strings.ContainsAny(s, " \t\r\n") {
		return false
	}
	u, err := url.Parse(s)
	if err != nil {
		return false
	}
	scheme := strings.ToLower(u.Scheme)
	return (scheme == "http" || scheme == "https") && u.Hostname() != "" && u.Opaque == ""
}

// payment is one stored payment.
type payment struct {
	PaymentRecord
	sum           payments.Decimal
	detailCreated time.Time
	detailUpdated time.Time
}

func (p *payment) record() PaymentRecord { return p.PaymentRecord }

// newPaymentLocked creates and stores a payment from a validated request.
func (s *Server) newPaymentLocked(in createInput) *payment {
	now := s.now()
	id := s.nextID
	s.nextID++
	detailID := s.nextDetailID
	s.nextDetailID++
	p := &payment{
		PaymentRecord: PaymentRecord{
			ID:                 id,
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
			FullName:           defaultFullName,
			DeeplinkURL:        "https://" + Host + "/deeplink/" + newUUID(),
			DetailID:           detailID,
			CreatedAt:          now,
			UpdatedAt:          now,
		},
		detailCreated: now,
		detailUpdated: now,
	}
	p.setSum(in.sum)
	if b, ok := banks[strings.ToLower(in.bank)]; ok {
		p.RussifiedName, p.BIK = b.russified, b.bik
	} else {
		p.RussifiedName = in.bank
	}
	fillRequisites(&p.PaymentRecord)
	s.payments[id] = p
	s.order = append(s.order, id)
	return p
}

func (p *payment) setSum(d payments.Decimal) {
	p.sum = d
	p.Sum, _ = d.StringFixed(2) // validated: at most 2 places
}

// fillRequisites sets what the payer pays to, per type, following the
// document's "Отличающее поле" notes. The numbers derive from the id.
func fillRequisites(p *PaymentRecord) {
	id := p.ID
	phone := fmt.Sprintf("+7987%07d", id%10_000_000)
	switch p.Type {
	case "to_sbp_number", "to_mobile_commerce":
		p.SBPPhoneNumber = phone
	case "to_transgran_sbp":
		p.SBPPhoneNumber = phone
		p.TpayLink = "https://" + Host + "/tpay/" + newUUID()
	case "to_card_number":
		p.CardNumber = luhn(fmt.Sprintf("2200%011d", id%100_000_000_000))
	case "to_transgran_number":
		p.CardNumber = luhn(fmt.Sprintf("2200%011d", id%100_000_000_000))
		p.TpayLink = "https://" + Host + "/tpay/" + newUUID()
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
}

// luhn appends the Luhn check digit to digits.
func luhn(digits string) string {
	sum := 0
	double := true // the check digit will be rightmost, so the last digit here doubles
	for i := len(digits) - 1; i >= 0; i-- {
		d := int(digits[i] - '0')
		if double {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
		double = !double
	}
	return digits + strconv.Itoa((10-sum%10)%10)
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails (crypto/rand panics rather)
	return b
}

func newUUID() string {
	b := randomBytes(16)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

func nspkURL() string {
	return "https://qr.nspk.ru/AS1A" + strings.ToUpper(hex.EncodeToString(randomBytes(14)))
}

// detail computes merchant_payment_detail's figures from the sum, exactly,
// rounding half up to 4 places: amount_in_usdt = sum / course,
// amount_with_rate = sum × (100 - accumulated_rate)%, amount_in_usdt_with_rate
// = amount_with_rate / course.
func detail(sum payments.Decimal) (inUSDT, withRate, inUSDTWithRate string) {
	kop, _ := sum.Minor(2) // validated: at most 2 places, 12 digits
	k := big.NewInt(kop)
	c := big.NewInt(courseCents)
	// sum/course in 1e-4 units: kop·1e-2 / (c·1e-2) · 1e4 = kop·1e4 / c.
	inUSDT = fixed4(divRound(new(big.Int).Mul(k, big.NewInt(10_000)), c))
	// sum × 91% in 1e-4 units: kop·1e-2 · 91/100 · 1e4 = kop·91.
	wr := new(big.Int).Mul(k, big.NewInt(keptPercent))
	withRate = fixed4(wr)
	// (wr·1e-4) / (c·1e-2) · 1e4 = wr·100 / c.
	inUSDTWithRate = fixed4(divRound(new(big.Int).Mul(wr, big.NewInt(100)), c))
	return inUSDT, withRate, inUSDTWithRate
}

// divRound returns a/b rounded half up; a, b > 0.
func divRound(a, b *big.Int) *big.Int {
	q, r := new(big.Int).QuoRem(a, b, new(big.Int))
	if new(big.Int).Mul(r, big.NewInt(2)).Cmp(b) >= 0 {
		q.Add(q, big.NewInt(1))
	}
	return q
}

// fixed4 renders n × 1e-4 with 4 places.
func fixed4(n *big.Int) string {
	s := n.String()
	if len(s) < 5 {
		s = strings.Repeat("0", 5-len(s)) + s
	}
	return s[:len(s)-4] + "." + s[len(s)-4:]
}

// json renders the payment with the keys of the document's example answer,
// in its order, and account_number and tpay_link where they apply.
func (p *payment) json() *object {
	inUSDT, withRate, inUSDTWithRate := detail(p.sum)
	d := &object{}
	d.add("id", p.DetailID)
	d.add("course", course)
	d.add("rate", rate)
	d.add("course_with_rate", course)
	d.add("amount_in_usdt", inUSDT)
	d.add("accumulated_rate", accumulatedRate)
	d.add("amount_with_rate", withRate)
	d.add("amount_in_usdt_with_rate", inUSDTWithRate)
	d.add("created_at", formatTime(p.detailCreated))
	d.add("updated_at", formatTime(p.detailUpdated))

	o := &object{}
	o.add("id", p.ID)
	o.add("sum", p.Sum)
	o.add("card_number", nullable(p.CardNumber))
	o.add("created_at", formatTime(p.CreatedAt))
	o.add("updated_at", formatTime(p.UpdatedAt))
	o.add("bank", p.Bank)
	o.add("russified_name", p.RussifiedName)
	o.add("bik", nullable(p.BIK))
	o.add("type", p.Type)
	o.add("status", p.Status)
	o.add("qr_code", nullable(p.QRCode))
	o.add("qr_code_link", nullable(p.QRCodeLink))
	o.add("currency", currency)
	o.add("full_name", p.FullName)
	o.add("sbp_phone_number", nullable(p.SBPPhoneNumber))
	if p.AccountNumber != "" {
		o.add("account_number", p.AccountNumber)
	}
	o.add("client_id", nullable(p.ClientID))
	o.add("client_ip", nullable(p.ClientIP))
	o.add("outter_id", nullable(p.OutterID))
	o.add("project", nil)
	o.add("merchant_payment_detail", d)
	o.add("outter_id_from_form", nil)
	o.add("tips_id", nullable(p.TipsID))
	o.add("nspk_url", nullable(p.NSPKURL))
	if p.TpayLink != "" {
		o.add("tpay_link", p.TpayLink)
	}
	o.add("work_country", p.Geo)
	o.add("redirect_url", nil)
	o.add("callback_url", nullable(p.CallbackURL))
	o.add("deeplink_url", p.DeeplinkURL)
	return o
}

// nullable is s, or JSON null for "".
func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// object is a JSON object that keeps its keys in order. Values are nil,
// string, int, int64, bool, []string or *object.
type object struct {
	keys []string
	vals []any
}

func (o *object) add(k string, v any) {
	o.keys = append(o.keys, k)
	o.vals = append(o.vals, v)
}

// remove drops the named keys.
func (o *object) remove(keys ...string) {
	for _, k := range keys {
		for i := 0; i < len(o.keys); i++ {
			if o.keys[i] == k {
				o.keys = append(o.keys[:i], o.keys[i+1:]...)
				o.vals = append(o.vals[:i], o.vals[i+1:]...)
				i--
			}
		}
	}
}

// bytes renders o compactly, without HTML escaping, as DRF's JSONRenderer
// does (UTF-8, no \u escapes for Cyrillic).
func (o *object) bytes() []byte {
	var b bytes.Buffer
	o.write(&b)
	return b.Bytes()
}

func (o *object) write(b *bytes.Buffer) {
	b.WriteByte('{')
	for i, k := range o.keys {
		if i > 0 {
			b.WriteByte(',')
		}
		writeString(b, k)
		b.WriteByte(':')
		writeValue(b, o.vals[i])
	}
	b.WriteByte('}')
}

func writeValue(b *bytes.Buffer, v any) {
	switch v := v.(type) {
	case nil:
		b.WriteString("null")
	case string:
		writeString(b, v)
	case int:
		b.WriteString(strconv.Itoa(v))
	case int64:
		b.WriteString(strconv.FormatInt(v, 10))
	case bool:
		b.WriteString(strconv.FormatBool(v))
	case []string:
		b.WriteByte('[')
		for i, s := range v {
			if i > 0 {
				b.WriteByte(',')
			}
			writeString(b, s)
		}
		b.WriteByte(']')
	case *object:
		v.write(b)
	default:
		panic(fmt.Sprintf("royalpaytest: cannot render %T", v))
	}
}

func writeString(b *bytes.Buffer, s string) {
	var tmp bytes.Buffer
	enc := json.NewEncoder(&tmp)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // a string always encodes
	b.Write(bytes.TrimSuffix(tmp.Bytes(), []byte("\n")))
}
