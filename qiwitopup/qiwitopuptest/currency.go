package qiwitopuptest

import (
	"strconv"
	"strings"

	"github.com/paysdk/payments/internal/fakeserver"
)

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
