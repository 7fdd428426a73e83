package royalpay_test

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/royalpay"
	"github.com/paysdk/payments/royalpay/royalpaytest"
)

// Create an SBP pay-in, receive the completion callback, and act on the
// status the API confirms.
func Example() {
	// The fake stands in for the provider; its callbacks carry the static
	// bearer token the provider's admins configure.
	srv := royalpaytest.NewServer(royalpaytest.WithCallbackToken("cb-static-token"))
	defer srv.Close()
	c, err := royalpay.New(royalpay.Credentials{Token: srv.Token()}, srv.ClientOptions()...)
	if err != nil {
		panic(err)
	}
	defer c.Close()

	done := make(chan royalpay.Event, 1)
	handler := &royalpay.CallbackHandler{
		Client:      c,
		BearerToken: "cb-static-token",
		Handle: func(_ context.Context, e royalpay.Event) error {
			done <- e
			return nil
		},
	}
	if err := handler.Validate(); err != nil { // at start-up, not at the first callback
		panic(err)
	}
	hook := httptest.NewServer(handler)
	defer hook.Close()

	p, err := c.CreatePayment(context.Background(), royalpay.CreateParams{
		Sum:         payments.MustDecimal("1500"),
		Type:        royalpay.TypeSBP,
		Bank:        "Tinkoff",
		OutterID:    "ORD-982134",
		CallbackURL: hook.URL + "/royalpay/callback",
	})
	if err != nil {
		panic(err)
	}
	fmt.Println(p.Status, p.Sum, p.Type, p.SBPPhoneNumber != "")

	_, _ = srv.Complete(p.ID) // the payer paid
	e := <-done
	fmt.Println(e.Status(), e.Status().State(), e.Payment.Sum)
	// Output:
	// created 1500.00 to_sbp_number true
	// completed succeeded 1500.00
}

// No requisites free: nothing was created, try later or another bank.
func ExampleErrNoAvailableCards() {
	srv := royalpaytest.NewServer()
	defer srv.Close()
	srv.NoCardsNext(1)
	c, _ := royalpay.New(royalpay.Credentials{Token: srv.Token()}, srv.ClientOptions()...)
	defer c.Close()

	_, err := c.CreatePayment(context.Background(), royalpay.CreateParams{Sum: payments.MustDecimal("500"), Type: royalpay.TypeCard})
	fmt.Println(errors.Is(err, royalpay.ErrNoAvailableCards), errors.Is(err, payments.ErrOutcomeUnknown))
	fmt.Println(err)
	// Output:
	// true false
	// royalpay create: HTTP 400, code 40005: No available cards. (declined)
}
