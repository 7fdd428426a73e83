package payments

import "fmt"

type currencyInfo struct {
	exp     int // digits of the minor unit
	numeric int // ISO 4217 numeric code
}

// currencies are the ISO 4217 currencies the providers of this module can
// be asked about. A currency outside the list is refused before sending.
var currencies = map[string]currencyInfo{
	"RUB": {2, 643}, "USD": {2, 840}, "EUR": {2, 978}, "KZT": {2, 398}, "UAH": {2, 980},
	"BYN": {2, 933}, "UZS": {2, 860}, "KGS": {2, 417}, "AZN": {2, 944}, "AMD": {2, 51},
	"TJS": {2, 972}, "GEL": {2, 981}, "MDL": {2, 498}, "TRY": {2, 949}, "CNY": {2, 156},
	"GBP": {2, 826}, "INR": {2, 356}, "JPY": {0, 392},
}

// CurrencyExponent returns the digits of code's minor unit (2 for RUB: one
// rouble is 100 kopecks) and whether code is a currency this module knows.
func CurrencyExponent(code string) (int, bool) {
	c, ok := currencies[code]
	return c.exp, ok
}

// CurrencyNumeric returns the ISO 4217 numeric code of code (643 for RUB),
// the form QIWI's protocol uses.
func CurrencyNumeric(code string) (int, bool) {
	c, ok := currencies[code]
	return c.numeric, ok
}

// CurrencyFromNumeric returns the letter code of an ISO 4217 numeric code.
func CurrencyFromNumeric(n int) (string, bool) {
	for code, c := range currencies {
		if c.numeric == n {
			return code, true
		}
	}
	return "", false
}

func unknownCurrency(code string) error {
	return &ValidationError{Field: "currency", Reason: fmt.Sprintf("%q is not an ISO 4217 currency this module knows", truncate(code))}
}
