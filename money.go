package payments

import (
	"errors"
	"fmt"
	"strings"
)

// Money is an exact amount in one currency: the one money type of the
// portable API. It converts without loss to each provider's wire form
// (kopecks for popolni and QIWI, a decimal string for PayKeeper and
// RoyalPay), and a conversion that would have to round fails instead.
//
// The zero Money has no currency and is refused by every operation.
type Money struct {
	// Amount is exact; it never holds more digits after the point than the
	// currency's minor unit allows (Validate checks it).
	Amount Decimal
	// Currency is the ISO 4217 letter code: "RUB", "USD".
	Currency string
}

// NewMoney parses amount ("1205.98") in currency ("RUB"). It fails on an
// unknown currency and on an amount with more digits after the point than
// the currency's minor unit (0.005 RUB), instead of rounding.
func NewMoney(amount, currency string) (Money, error) {
	d, err := ParseDecimal(amount)
	if err != nil {
		return Money{}, err
	}
	m := Money{Amount: d, Currency: currency}
	if err := m.Validate(); err != nil {
		return Money{}, err
	}
	return m, nil
}

// ParseMoney reads an amount from outside (a form, a file, a provider's
// text) in currency: "1205.98" RUB. Anything that is not an exact amount of
// the currency's minor unit ("12.345" RUB, "1e3", " 5", "", "NaN") or an
// unknown currency is a *ValidationError (errors.Is ErrInvalidRequest),
// never a panic. Unlike NewMoney it refuses exponent forms ("1e3").
func ParseMoney(amount, currency string) (Money, error) {
	if strings.ContainsAny(amount, "eE") {
		return Money{}, &ValidationError{Field: "amount", Reason: fmt.Sprintf("%q: write the amount in plain digits", truncate(amount))}
	}
	m, err := NewMoney(amount, currency)
	var ve *ValidationError
	if err != nil && !errors.As(err, &ve) {
		return Money{}, &ValidationError{Field: "amount", Reason: strings.TrimPrefix(err.Error(), "payments: ")}
	}
	return m, err
}

// MustMoney is NewMoney for constants in code; it panics on a bad amount.
// Input from a form or a file goes through ParseMoney.
func MustMoney(amount, currency string) Money {
	m, err := NewMoney(amount, currency)
	if err != nil {
		panic(err)
	}
	return m
}

// MinorMoney is minor units (kopecks, cents) of currency: MinorMoney(120598,
// "RUB") is 1205.98 RUB.
func MinorMoney(minor int64, currency string) (Money, error) {
	exp, ok := CurrencyExponent(currency)
	if !ok {
		return Money{}, unknownCurrency(currency)
	}
	return Money{Amount: DecimalFromMinor(minor, exp), Currency: currency}, nil
}

// Validate reports, as a *ValidationError, a Money whose currency is unknown
// or whose amount is not exact in the currency's minor unit.
func (m Money) Validate() error {
	exp, ok := CurrencyExponent(m.Currency)
	if !ok {
		return unknownCurrency(m.Currency)
	}
	if _, err := m.Amount.Minor(exp); err != nil {
		return &ValidationError{Field: "amount", Reason: fmt.Sprintf("%s %s: %v", m.Amount, m.Currency, strings.TrimPrefix(err.Error(), "payments: "))}
	}
	return nil
}

// Minor returns the amount in minor units of its currency (kopecks for
// RUB): exact, or an error (ErrNotExact, ErrOutOfRange, an unknown currency).
func (m Money) Minor() (int64, error) {
	exp, ok := CurrencyExponent(m.Currency)
	if !ok {
		return 0, unknownCurrency(m.Currency)
	}
	return m.Amount.Minor(exp)
}

// Fixed returns the amount with exactly the currency's minor-unit digits
// ("1205.98", "100.00"), the decimal-string wire form.
func (m Money) Fixed() (string, error) {
	exp, ok := CurrencyExponent(m.Currency)
	if !ok {
		return "", unknownCurrency(m.Currency)
	}
	return m.Amount.StringFixed(exp)
}

// IsZero reports whether the amount is zero.
func (m Money) IsZero() bool { return m.Amount.IsZero() }

// Sign is -1, 0 or +1.
func (m Money) Sign() int { return m.Amount.Sign() }

// Equal reports whether m and o are the same amount in the same currency
// (1.5 RUB equals 1.50 RUB).
func (m Money) Equal(o Money) bool { return m.Currency == o.Currency && m.Amount.Equal(o.Amount) }

// Cmp compares amounts of one currency; ok is false when the currencies differ.
func (m Money) Cmp(o Money) (c int, ok bool) {
	if m.Currency != o.Currency {
		return 0, false
	}
	return m.Amount.Cmp(o.Amount), true
}

// String is "1205.98 RUB" (with the currency's digits when it is known).
func (m Money) String() string {
	if s, err := m.Fixed(); err == nil {
		return s + " " + m.Currency
	}
	return m.Amount.String() + " " + m.Currency
}
