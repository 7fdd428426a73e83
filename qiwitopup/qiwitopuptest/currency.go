package qiwitopuptest

import (
	"regexp"
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

// amountPattern is an amount as the documents write it: exactly two
// decimals, no leading zero ("1115.00"), at most 15 integer digits.
const amountPattern = `(0|[1-9][0-9]{0,14})\.[0-9]{2}`

var amountFormat = regexp.MustCompile(`^` + amountPattern + `$`)

// parseAmount reads an amount in amountPattern into kopecks.
func parseAmount(s string) (int64, bool) {
	if !amountFormat.MatchString(s) {
		return 0, false
	}
	v, err := strconv.ParseInt(strings.Replace(s, ".", "", 1), 10, 64)
	return v, err == nil
}
