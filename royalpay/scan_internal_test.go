package royalpay

// The one-pass readers of scan.go against the map-based readers they
// replaced (kept here verbatim as the reference): for any body, the same
// Payment or Callback, or an error from both.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"reflect"
	"testing"

	"github.com/paysdk/payments"
)

func (w *wirePayment) readMap(body []byte) error {
	m, err := readExact(body, map[string]*flex{
		"id": &w.ID, "sum": &w.Sum, "amount": &w.Amount, "card_number": &w.CardNumber, "bank_card": &w.BankCard,
		"created_at": &w.CreatedAt, "updated_at": &w.UpdatedAt, "bank": &w.Bank, "russified_name": &w.RussifiedName,
		"bik": &w.BIK, "type": &w.Type, "status": &w.Status, "qr_code": &w.QRCode, "qr_code_link": &w.QRCodeLink,
		"currency": &w.Currency, "full_name": &w.FullName, "sbp_phone_number": &w.SBPPhoneNumber,
		"account_number": &w.AccountNumber, "client_id": &w.ClientID, "client_ip": &w.ClientIP, "outter_id": &w.OutterID,
		"project": &w.Project, "outter_id_from_form": &w.OutterIDFromForm, "tips_id": &w.TipsID, "nspk_url": &w.NSPKURL,
		"work_country": &w.WorkCountry, "redirect_url": &w.RedirectURL, "callback_url": &w.CallbackURL,
		"deeplink_url": &w.DeeplinkURL, "tpay_link": &w.TPayLink,
	})
	if err != nil {
		return err
	}
	raw, ok := m["merchant_payment_detail"]
	if !ok || string(bytes.TrimSpace(raw)) == "null" {
		return nil
	}
	d := &wireDetail{}
	if _, err := readExact(raw, map[string]*flex{
		"id": &d.ID, "course": &d.Course, "rate": &d.Rate, "course_with_rate": &d.CourseWithRate,
		"amount_in_usdt": &d.AmountInUSDT, "accumulated_rate": &d.AccumulatedRate, "amount_with_rate": &d.AmountWithRate,
		"amount_in_usdt_with_rate": &d.AmountInUSDTWithRate, "created_at": &d.CreatedAt, "updated_at": &d.UpdatedAt,
	}); err != nil {
		return fmt.Errorf("merchant_payment_detail: %w", err)
	}
	w.Detail = d
	return nil
}

func decodePaymentMap(body []byte) (Payment, error) {
	var w wirePayment
	dec := json.NewDecoder(bytes.NewReader(body))
	var raw json.RawMessage
	if err := dec.Decode(&raw); err != nil {
		return Payment{}, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return Payment{}, fmt.Errorf("data after the JSON object")
	}
	if err := w.readMap(raw); err != nil {
		return Payment{}, err
	}
	var (
		p   Payment
		err error
		all []error
	)
	keep := func(e error) {
		if e != nil {
			all = append(all, e)
		}
	}
	p.ID, err = w.ID.int64("id")
	keep(err)
	if w.ID == "" || (err == nil && p.ID <= 0) {
		keep(fmt.Errorf("id: missing or not positive"))
	}
	sum := w.Sum
	if sum == "" {
		sum = w.Amount
	}
	if sum == "" {
		keep(fmt.Errorf("sum: missing"))
	}
	p.Sum, err = sum.decimal("sum")
	keep(err)
	if p.Sum.Sign() < 0 {
		keep(fmt.Errorf("sum: negative"))
	}
	if w.Status == "" {
		keep(fmt.Errorf("status: missing"))
	}
	p.CreatedAt, err = w.CreatedAt.time("created_at")
	keep(err)
	p.UpdatedAt, err = w.UpdatedAt.time("updated_at")
	keep(err)
	p.Status, p.Type = Status(w.Status), TransferType(w.Type)
	p.Currency, p.WorkCountry = string(w.Currency), string(w.WorkCountry)
	p.Bank, p.BankName, p.BIK, p.FullName = string(w.Bank), string(w.RussifiedName), string(w.BIK), string(w.FullName)
	p.CardNumber = string(w.CardNumber)
	if p.CardNumber == "" {
		p.CardNumber = string(w.BankCard)
	}
	p.SBPPhoneNumber, p.AccountNumber, p.TipsID = string(w.SBPPhoneNumber), string(w.AccountNumber), string(w.TipsID)
	p.QRCode, p.QRCodeLink, p.NSPKURL, p.DeeplinkURL = string(w.QRCode), string(w.QRCodeLink), string(w.NSPKURL), string(w.DeeplinkURL)
	p.TPayLink, p.RedirectURL, p.CallbackURL = string(w.TPayLink), string(w.RedirectURL), string(w.CallbackURL)
	p.ClientID, p.ClientIP, p.OutterID = string(w.ClientID), string(w.ClientIP), string(w.OutterID)
	p.OutterIDFromForm, p.Project = string(w.OutterIDFromForm), string(w.Project)
	if d := w.Detail; d != nil {
		md := &MerchantPaymentDetail{}
		md.ID, err = d.ID.int64("merchant_payment_detail.id")
		keep(err)
		for _, f := range []struct {
			dst  *payments.Decimal
			src  flex
			name string
		}{
			{&md.Course, d.Course, "course"}, {&md.Rate, d.Rate, "rate"}, {&md.CourseWithRate, d.CourseWithRate, "course_with_rate"},
			{&md.AmountInUSDT, d.AmountInUSDT, "amount_in_usdt"}, {&md.AccumulatedRate, d.AccumulatedRate, "accumulated_rate"},
			{&md.AmountWithRate, d.AmountWithRate, "amount_with_rate"}, {&md.AmountInUSDTWithRate, d.AmountInUSDTWithRate, "amount_in_usdt_with_rate"},
		} {
			*f.dst, err = f.src.decimal("merchant_payment_detail." + f.name)
			keep(err)
		}
		md.CreatedAt, err = d.CreatedAt.time("merchant_payment_detail.created_at")
		keep(err)
		md.UpdatedAt, err = d.UpdatedAt.time("merchant_payment_detail.updated_at")
		keep(err)
		p.Detail = md
	}
	if len(all) > 0 {
		return Payment{}, all[0]
	}
	return p, nil
}

func parseCallbackMap(body []byte) (Callback, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil || raw == nil {
		return Callback{}, fmt.Errorf("%w: not a JSON object", ErrBadCallback)
	}
	get := func(keys ...string) (flex, error) {
		for _, k := range keys {
			if v, ok := raw[k]; ok {
				var f flex
				if err := json.Unmarshal(v, &f); err != nil {
					return "", fmt.Errorf("%w: %s: %v", ErrBadCallback, k, err)
				}
				if f != "" {
					return f, nil
				}
			}
		}
		return "", nil
	}
	cb := Callback{Raw: raw}
	id, err := get("id")
	if err != nil {
		return Callback{}, err
	}
	if cb.ID, err = id.int64("id"); err != nil || cb.ID <= 0 {
		return Callback{}, fmt.Errorf("%w: id missing or not a positive integer", ErrBadCallback)
	}
	st, err := get("status")
	if err != nil {
		return Callback{}, err
	}
	if st == "" {
		return Callback{}, fmt.Errorf("%w: status missing", ErrBadCallback)
	}
	cb.Status = Status(st)
	amount, err := get("amount", "sum")
	if err != nil {
		return Callback{}, err
	}
	if cb.Amount, err = amount.decimal("amount"); err != nil {
		return Callback{}, fmt.Errorf("%w: %v", ErrBadCallback, err)
	}
	method, err := get("method", "type")
	if err != nil {
		return Callback{}, err
	}
	outter, err := get("outter_id", "form_outter_id")
	if err != nil {
		return Callback{}, err
	}
	cb.Method, cb.OutterID = string(method), string(outter)
	return cb, nil
}

var scanSeeds = []string{
	``, `null`, `[]`, `"x"`, `12`, `{}`, `{} `, ` {"id":1} x`, `{"id":1}{}`, `{"id":1,}`, `{"id"}`,
	`{"id":1,"sum":"2.5","status":"created"}`,
	`{"id":"7","amount":3,"status":"completed","ID":9,"Status":"x"}`,
	`{"id":1,"sum":"1","status":"a","id":2}`,
	`{"id":[1],"id":3,"sum":"1","status":"a"}`,
	`{"\u0069d":5,"sum":"1","st\u0061tus":"ok","bank":"A\nB","full_name":"\u0416\ud83d\ude00"}`,
	"{\"id\":1,\"sum\":\"1\",\"status\":\"a\",\"bank\":\"\xff\xfeA\",\"i\xffd\":2}",
	`{"id":1,"sum":"1","status":"a","bank":true,"bik":false,"qr_code":null,"x":{"a":[1,{"b":"}"}]},"y":[[],"]"]}`,
	`{"id":1,"sum":"1","status":"a","merchant_payment_detail":null}`,
	`{"id":1,"sum":"1","status":"a","merchant_payment_detail":[]}`,
	`{"id":1,"sum":"1","status":"a","merchant_payment_detail":"x"}`,
	`{"id":1,"sum":"1","status":"a","merchant_payment_detail":{"id":"4","course":1e2,"rate":"-0.5","created_at":"2025-11-27T14:01:26.798306+03:00","id":{}}}`,
	`{"id":1,"sum":"1","status":"a","merchant_payment_detail":{"course":[]}}`,
	`{"id":1.0,"sum":" 1 ","status":"a","created_at":"bad"}`,
	`  {"id" : 1 , "sum" : "1" , "status" : "a" , "amount" : 2 }  `,
	`{"id":1,"status":"completed","amount":"10.00","method":"sbp","outter_id":"O","form_outter_id":"F","type":"t","sum":"9"}`,
	`{"id":1,"status":"","amount":"","method":null,"outter_id":""}`,
	`{"id":-1,"status":"x"}`, `{"id":1,"status":{}}`, `{"id":1,"status":"x","amount":"1e-999"}`,
}

func scanCorpus(f *testing.F) {
	for _, s := range scanSeeds {
		f.Add([]byte(s))
	}
	for _, p := range []string{"testdata/create_response_sbp.json", "testdata/payout_response.json"} {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
}

func FuzzDecodePaymentMatchesMap(f *testing.F) {
	scanCorpus(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		got, gerr := decodePayment(body)
		want, werr := decodePaymentMap(body)
		if (gerr == nil) != (werr == nil) {
			t.Fatalf("%q: error %v, the map reader's %v", body, gerr, werr)
		}
		if gerr == nil && (!reflect.DeepEqual(got, want) || got.String() != want.String()) {
			t.Fatalf("%q:\n got %#v %+v\nwant %+v", body, got, got.Detail, want.Detail)
		}
	})
}

func FuzzParseCallbackMatchesMap(f *testing.F) {
	scanCorpus(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		in := bytes.Clone(body)
		got, gerr := ParseCallback(in)
		want, werr := parseCallbackMap(body)
		if (gerr == nil) != (werr == nil) {
			t.Fatalf("%q: error %v, the map reader's %v", body, gerr, werr)
		}
		if gerr != nil {
			return
		}
		for i := range in { // Raw must not share the caller's body
			in[i] = 'X'
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%q:\n got %+v\nwant %+v", body, got, want)
		}
	})
}

// jsonStringByEncoder is jsonString as it was: an encoding/json Encoder.
func jsonStringByEncoder(s string) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)
	return bytes.TrimRight(b.Bytes(), "\n")
}

func FuzzJSONStringMatchesEncoder(f *testing.F) {
	for _, s := range []string{"", "ORD-1", "Россия", `a"b\c`, "<&>", "\x00\x01\b\f\n\r\t\x1f\x7f", "\xff\xfe", "\u2028\u2029",
		"https://x.example/cb?a=1&b=<2>", "\xe2\x80", "😀", "\xed\xa0\x80"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := jsonString(s), jsonStringByEncoder(s); !bytes.Equal(got, want) {
			t.Fatalf("%q: %s, encoding/json %s", s, got, want)
		}
	})
}
