package royalpay

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/paysdk/payments"
)

// Payment is a pay-in as the API returns it (the document's "Описание полей
// ответа"). Absent and null fields are zero values.
type Payment struct {
	ID     int64
	Sum    payments.Decimal // in the payment's currency, e.g. 2500.00
	Status Status
	Type   TransferType
	// Currency is the provider's currency name, e.g. "Рубль".
	Currency    string
	WorkCountry string // the country the payment is processed in, e.g. "Россия"

	// The requisites to show the payer; which are set depends on Type.
	Bank           string // short bank name, e.g. "Alfa"
	BankName       string // russified_name, e.g. "Альфа Банк"
	BIK            string
	FullName       string // the recipient's name
	CardNumber     string // to_card_number: the card to pay to (a full number: never log it)
	SBPPhoneNumber string
	AccountNumber  string
	TipsID         string

	// Links to send the payer to.
	QRCode      string // URL of a QR image (nspk)
	QRCodeLink  string // URL of a QR image (with_qr_code)
	NSPKURL     string // direct NSPK payment link
	DeeplinkURL string
	TPayLink    string // cross-border: where integrations redirect the payer
	RedirectURL string
	CallbackURL string

	ClientID         string
	ClientIP         string
	OutterID         string // the merchant's id (outter_id, the provider's spelling)
	OutterIDFromForm string // the merchant's id when the payment came through the payment form
	Project          string

	CreatedAt time.Time
	UpdatedAt time.Time
	// Detail is merchant_payment_detail: conversion to USDT and the rate.
	Detail *MerchantPaymentDetail
}

// String shows the payment with the card number masked.
func (p Payment) String() string {
	return fmt.Sprintf("royalpay.Payment{ID: %d, Sum: %s, Status: %s, Type: %s, Bank: %s, Card: %s, Account: %s, SBP: %s, OutterID: %s}",
		p.ID, p.Sum, p.Status, p.Type, p.Bank, payments.MaskPAN(p.CardNumber), payments.MaskPAN(p.AccountNumber), p.SBPPhoneNumber, p.OutterID)
}

// GoString is String, so %#v does not print a full card number either.
func (p Payment) GoString() string { return p.String() }

// Format prints String for every verb (%d and %x of a struct would
// otherwise print the card number field by field).
func (p Payment) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, p.String()) }

// LogValue is String, for slog (a JSON handler would otherwise print every
// field, the card number in full).
func (p Payment) LogValue() slog.Value { return slog.StringValue(p.String()) }

// MerchantPaymentDetail is the merchant_payment_detail block: how the payment
// converts to USDT for the merchant. Every figure is exact.
type MerchantPaymentDetail struct {
	ID                   int64
	Course               payments.Decimal // exchange rate
	Rate                 payments.Decimal
	CourseWithRate       payments.Decimal
	AmountInUSDT         payments.Decimal
	AccumulatedRate      payments.Decimal // the final rate, in percent
	AmountWithRate       payments.Decimal
	AmountInUSDTWithRate payments.Decimal
	CreatedAt            time.Time
	UpdatedAt            time.Time
}

// flex reads a JSON string, number, or null as text.
type flex string

func (f *flex) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) == 0 || string(b) == "null":
		*f = ""
	case b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*f = flex(s)
	case b[0] == '-' || (b[0] >= '0' && b[0] <= '9'):
		var n json.Number
		if err := json.Unmarshal(b, &n); err != nil {
			return err
		}
		*f = flex(n.String())
	case string(b) == "true" || string(b) == "false":
		*f = flex(b)
	default:
		return fmt.Errorf("expected a string or a number")
	}
	return nil
}

func (f flex) decimal(field string) (payments.Decimal, error) {
	if f == "" {
		return payments.Decimal{}, nil
	}
	d, err := payments.ParseDecimal(strings.TrimSpace(string(f)))
	if err != nil {
		return payments.Decimal{}, fmt.Errorf("%s: %w", field, err)
	}
	return d, nil
}

func (f flex) int64(field string) (int64, error) {
	if f == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(string(f), 10, 64)
	if err != nil {
		d, derr := payments.ParseDecimal(string(f))
		if derr != nil {
			return 0, fmt.Errorf("%s: not an integer", field)
		}
		if n, err = d.Minor(0); err != nil {
			return 0, fmt.Errorf("%s: not an integer", field)
		}
	}
	return n, nil
}

func (f flex) time(field string) (time.Time, error) {
	if f == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, string(f))
	if err != nil {
		return time.Time{}, fmt.Errorf("%s: %w", field, err)
	}
	return t, nil
}

// wirePayment holds the answer's fields as text. They are read by their
// exact keys (encoding/json would match "ID" or "Status" too, and let a
// later "ID" override "id").
type wirePayment struct {
	ID, Sum, Amount, CardNumber, BankCard, CreatedAt, UpdatedAt    flex
	Bank, RussifiedName, BIK, Type, Status, QRCode, QRCodeLink     flex
	Currency, FullName, SBPPhoneNumber, AccountNumber, ClientID    flex
	ClientIP, OutterID, Project, OutterIDFromForm, TipsID, NSPKURL flex
	WorkCountry, RedirectURL, CallbackURL, DeeplinkURL, TPayLink   flex
	Detail                                                         *wireDetail
}

type wireDetail struct {
	ID, Course, Rate, CourseWithRate, AmountInUSDT, AccumulatedRate flex
	AmountWithRate, AmountInUSDTWithRate, CreatedAt, UpdatedAt      flex
}

// readExact unmarshals the JSON object raw and sets each field of fields
// from its exact key; absent keys leave it empty. It fails on anything but
// an object, or on a field that is neither a string, a number, a boolean
// nor null.
func readExact(raw []byte, fields map[string]*flex) (map[string]json.RawMessage, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, err
	}
	if m == nil {
		return nil, fmt.Errorf("not a JSON object")
	}
	for k, dst := range fields {
		if v, ok := m[k]; ok {
			if err := json.Unmarshal(v, dst); err != nil {
				return nil, fmt.Errorf("%s: %w", k, err)
			}
		}
	}
	return m, nil
}

// paymentKeys are the keys of a payment object the SDK reads, in the order
// of wirePayment.fields; detailKeys those of its merchant_payment_detail,
// in the order of wireDetail.fields.
var (
	paymentKeys = [...]string{"id", "sum", "amount", "card_number", "bank_card", "created_at", "updated_at", "bank",
		"russified_name", "bik", "type", "status", "qr_code", "qr_code_link", "currency", "full_name", "sbp_phone_number",
		"account_number", "client_id", "client_ip", "outter_id", "project", "outter_id_from_form", "tips_id", "nspk_url",
		"work_country", "redirect_url", "callback_url", "deeplink_url", "tpay_link"}
	detailKeys = [...]string{"id", "course", "rate", "course_with_rate", "amount_in_usdt", "accumulated_rate",
		"amount_with_rate", "amount_in_usdt_with_rate", "created_at", "updated_at"}
	paymentIndex, detailIndex = keyIndex(paymentKeys[:]), keyIndex(detailKeys[:])
)

func keyIndex(keys []string) map[string]int {
	m := make(map[string]int, len(keys))
	for i, k := range keys {
		m[k] = i
	}
	return m
}

func (w *wirePayment) fields() [len(paymentKeys)]*flex {
	return [...]*flex{&w.ID, &w.Sum, &w.Amount, &w.CardNumber, &w.BankCard, &w.CreatedAt, &w.UpdatedAt, &w.Bank,
		&w.RussifiedName, &w.BIK, &w.Type, &w.Status, &w.QRCode, &w.QRCodeLink, &w.Currency, &w.FullName, &w.SBPPhoneNumber,
		&w.AccountNumber, &w.ClientID, &w.ClientIP, &w.OutterID, &w.Project, &w.OutterIDFromForm, &w.TipsID, &w.NSPKURL,
		&w.WorkCountry, &w.RedirectURL, &w.CallbackURL, &w.DeeplinkURL, &w.TPayLink}
}

func (d *wireDetail) fields() [len(detailKeys)]*flex {
	return [...]*flex{&d.ID, &d.Course, &d.Rate, &d.CourseWithRate, &d.AmountInUSDT, &d.AccumulatedRate,
		&d.AmountWithRate, &d.AmountInUSDTWithRate, &d.CreatedAt, &d.UpdatedAt}
}

// readObject sets dst[i] from the member keys[i] of obj (index maps a key
// to its i), by exact key; absent keys leave it empty. obj is valid JSON.
// It fails on anything but an object, or on such a member that is neither
// a string, a number, a boolean nor null; other is called with the raw
// value of each member not in index. keys has at most len(paymentKeys)
// entries.
func readObject(obj []byte, keys []string, index map[string]int, dst []*flex, other func(key, val []byte)) error {
	if err := isObject(obj); err != nil {
		return err
	}
	var vals [len(paymentKeys)][]byte // the last value of each key, as a map keeps it
	members(obj, func(k, v []byte) {
		if i, ok := index[string(k)]; ok {
			vals[i] = v
		} else if other != nil {
			other(k, v)
		}
	})
	for i, d := range dst {
		f, err := flexOf(vals[i])
		if err != nil {
			return fmt.Errorf("%s: %w", keys[i], err)
		}
		*d = f
	}
	return nil
}

// isObject is nil when the valid JSON raw is an object, else the error
// json.Unmarshal gives for it into a map (errNotObject for null).
func isObject(raw []byte) error {
	raw = bytes.TrimSpace(raw)
	if len(raw) > 0 && raw[0] == '{' {
		return nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return err
	}
	return errNotObject
}

// read reads the payment object obj (valid JSON).
func (w *wirePayment) read(obj []byte) error {
	var detail []byte
	fields := w.fields()
	if err := readObject(obj, paymentKeys[:], paymentIndex, fields[:], func(k, v []byte) {
		if string(k) == "merchant_payment_detail" {
			detail = v
		}
	}); err != nil {
		return err
	}
	if detail == nil || string(detail) == "null" {
		return nil
	}
	d := &wireDetail{}
	dfields := d.fields()
	if err := readObject(detail, detailKeys[:], detailIndex, dfields[:], nil); err != nil {
		return fmt.Errorf("merchant_payment_detail: %w", err)
	}
	w.Detail = d
	return nil
}

// decodePayment reads a payment object. It needs a positive id, a sum (or
// amount) that is not negative and a status; everything else is optional,
// but what is there must be well-formed.
func decodePayment(body []byte) (Payment, error) {
	var w wirePayment
	if !json.Valid(body) {
		return Payment{}, invalidJSON(body)
	}
	if err := w.read(body); err != nil {
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
			{&md.Course, d.Course, "merchant_payment_detail.course"}, {&md.Rate, d.Rate, "merchant_payment_detail.rate"},
			{&md.CourseWithRate, d.CourseWithRate, "merchant_payment_detail.course_with_rate"},
			{&md.AmountInUSDT, d.AmountInUSDT, "merchant_payment_detail.amount_in_usdt"},
			{&md.AccumulatedRate, d.AccumulatedRate, "merchant_payment_detail.accumulated_rate"},
			{&md.AmountWithRate, d.AmountWithRate, "merchant_payment_detail.amount_with_rate"},
			{&md.AmountInUSDTWithRate, d.AmountInUSDTWithRate, "merchant_payment_detail.amount_in_usdt_with_rate"},
		} {
			*f.dst, err = f.src.decimal(f.name)
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
