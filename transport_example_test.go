package payments_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/jarcoal/httpmock"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/royalpay"
)

// A unit test with httpmock. The SDK cannot see into the mock, so an error
// responder is a lost answer: the create may have been made, it is sent
// once and is outcome-unknown. payments.ErrNotSent is a refused connection:
// nothing left, so the create is tried again (four attempts under
// WithTestTiming) and is not outcome-unknown.
func ExampleWithTransport() {
	const base = "https://royal-finance.org"
	mock := httpmock.NewMockTransport()
	c, err := royalpay.New(royalpay.Credentials{Token: "sk_test_token"},
		payments.WithBaseURL(base), payments.WithTransport(mock), payments.WithTestTiming())
	if err != nil {
		panic(err)
	}
	defer c.Close()
	create := royalpay.CreateParams{Sum: payments.MustDecimal("1500"), Type: royalpay.TypeSBP, Bank: "Tinkoff",
		ClientID: "client_ABC123", OutterID: "ORD-982134", Geo: royalpay.GeoRussia}
	route := "POST " + base + "/api/v2/payments/"

	mock.RegisterResponder("POST", base+"/api/v2/payments/", httpmock.NewErrorResponder(errors.New("connection reset by peer")))
	_, err = c.CreatePayment(context.Background(), create)
	fmt.Println("lost answer: outcome unknown:", errors.Is(err, payments.ErrOutcomeUnknown), "sent:", mock.GetCallCountInfo()[route])

	mock.ZeroCallCounters()
	mock.RegisterResponder("POST", base+"/api/v2/payments/", httpmock.NewErrorResponder(payments.ErrNotSent))
	_, err = c.CreatePayment(context.Background(), create)
	fmt.Println("refused: outcome unknown:", errors.Is(err, payments.ErrOutcomeUnknown), "not sent:", errors.Is(err, payments.ErrNotSent),
		"attempts:", mock.GetCallCountInfo()[route])
	// Output:
	// lost answer: outcome unknown: true sent: 1
	// refused: outcome unknown: false not sent: true attempts: 4
}
