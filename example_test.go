package payments_test

import (
	"errors"
	"fmt"

	"github.com/paysdk/payments"
)

// Exact conversions between decimal strings and minor units: a fraction of
// a kopeck is refused, never rounded.
func ExampleParseMinor() {
	k, err := payments.ParseMinor("1205.98", 2)
	fmt.Println(k, err)
	_, err = payments.ParseMinor("0.005", 2)
	fmt.Println(errors.Is(err, payments.ErrNotExact))
	fmt.Println(payments.FormatMinor(50, 2))
	// Output:
	// 120598 <nil>
	// true
	// 0.50
}

// Decimal adds exactly where float64 would not.
func ExampleDecimal_Add() {
	sum := payments.MustDecimal("0.1").Add(payments.MustDecimal("0.2"))
	fmt.Println(sum, sum.Equal(payments.MustDecimal("0.3")))
	// Output: 0.3 true
}

// Card numbers in provider texts are cut to their first six and last four digits.
func ExampleMaskPAN() {
	fmt.Println(payments.MaskPAN("transfer to 4111 1111 1111 1111 declined"))
	// Output: transfer to 4111 11** **** 1111 declined
}

// One error, sorted by category whichever provider it came from.
func ExampleAPIError() {
	var err error = &payments.APIError{Provider: "popolni", Op: "pay", HTTPStatus: 403,
		Code: "API disabled", Message: "API disabled", Category: payments.ErrForbidden}
	fmt.Println(errors.Is(err, payments.ErrForbidden), errors.Is(err, payments.ErrOutcomeUnknown))
	fmt.Println(err)
	// Output:
	// true false
	// popolni pay: HTTP 403: API disabled (forbidden)
}
