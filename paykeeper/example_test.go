package paykeeper_test

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"strings"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/paykeeper"
	"github.com/paysdk/payments/paykeeper/paykeepertest"
)

// Create an invoice, then refund part of a payment and read its refunds.
func Example() {
	srv := paykeepertest.NewServer() // stands in for name.server.paykeeper.ru
	defer srv.Close()
	c, err := paykeeper.New(paykeeper.Credentials{User: paykeepertest.DefaultUser, Password: paykeepertest.DefaultPassword}, srv.ClientOptions()...)
	if err != nil {
		panic(err)
	}
	ctx := context.Background()

	inv, err := c.CreateInvoice(ctx, paykeeper.InvoiceParams{Amount: payments.MustDecimal("990"), OrderID: "A-1003", Service: paykeeper.ServiceName{Name: "Подписка"}})
	if err != nil {
		panic(err)
	}
	fmt.Println(strings.Contains(inv.URL, "/bill/"+inv.ID))

	id := srv.AddPayment(paykeepertest.PaymentSpec{Amount: "1500.00"})
	if err := c.RefundPayment(ctx, paykeeper.RefundParams{PaymentID: id, Amount: payments.MustDecimal("100")}); errors.Is(err, payments.ErrOutcomeUnknown) {
		fmt.Println("never refund again blind: read the refunds first")
	}
	refunds, _ := c.Refunds(ctx, id)
	p, _ := c.GetPayment(ctx, id)
	fmt.Println(refunds[0].Amount, refunds[0].Remainder, p.Status, p.Status.State())
	// Output:
	// true
	// 100.00 1400.00 partially_refunded succeeded
}

// Receive PayKeeper's payment notification: the handler checks the id and
// sum forms and the key, confirms the payment through the API with the
// client, and answers "OK <md5(id+secret)>" only when the merchant's
// function succeeds.
func ExampleNotificationHandler() {
	srv := paykeepertest.NewServer() // stands in for name.server.paykeeper.ru
	defer srv.Close()
	c, err := paykeeper.New(paykeeper.Credentials{User: paykeepertest.DefaultUser, Password: paykeepertest.DefaultPassword}, srv.ClientOptions()...)
	if err != nil {
		panic(err)
	}
	defer c.Close()
	id := srv.AddPayment(paykeepertest.PaymentSpec{Amount: "100.00", ClientID: "Иванов Иван", OrderID: "ORDER-42"})

	h := &paykeeper.NotificationHandler{Secret: "s3cr3t", Client: c, Handle: func(_ context.Context, n paykeeper.Notification) error {
		fmt.Println("paid:", n.SumText, n.OrderID, n.Payment.Status)
		return nil // idempotent: the same payment may be notified again
	}}
	if err := h.Validate(); err != nil {
		panic(err)
	}
	post := func(fields map[string]string) {
		form := paykeepertest.NotificationForm(fields, "s3cr3t")
		req := httptest.NewRequest("POST", "/paykeeper", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		fmt.Println(w.Code, w.Body.String() == paykeeper.AckNotification(fields["id"], "s3cr3t"))
	}
	post(map[string]string{"id": id, "sum": "100.00", "clientid": "Иванов Иван", "orderid": "ORDER-42"})
	// The same key re-cut into another payment and sum: the API has no such payment.
	post(map[string]string{"id": id[:len(id)-1], "sum": id[len(id)-1:] + "100.00", "clientid": "Иванов Иван", "orderid": "ORDER-42"})
	// Output:
	// paid: 100.00 ORDER-42 success
	// 200 true
	// 403 false
}

// Sign PayKeeper's payment form for the shop's page: no cabinet login, no
// request; the payer's browser posts the fields to Action.
func ExampleFormSigner() {
	signer, err := paykeeper.NewFormSigner("https://demo.server.paykeeper.ru", "form-s3cret")
	if err != nil {
		panic(err)
	}
	form := paykeeper.Form{Amount: payments.MustDecimal("990"), ClientID: "Иванов Иван", OrderID: "A-1003",
		ServiceName: "Подписка на месяц", Email: "client@example.com", Phone: "+79161234567"}
	v, err := signer.Values(form)
	if err != nil {
		panic(err)
	}
	fmt.Println(signer.Action())
	fmt.Println(v.Get("sum"), v.Get("sign"))
	fmt.Println(signer) // the secret never prints

	_, err = signer.Values(paykeeper.Form{Amount: payments.MustDecimal("9.999"), OrderID: "A-1004"})
	fmt.Println(err)
	// Output:
	// https://demo.server.paykeeper.ru/create/
	// 990.00 fb1c8a8f0149b8b42bb643705c36bf982923ea776b7786dd2519dc9111eb8ab3
	// paykeeper.FormSigner{Action: https://demo.server.paykeeper.ru/create/, Secret: [REDACTED]}
	// payments: invalid Amount: more than two digits after the point
}

// The signed form as a link, e.g. for an e-mail or a QR code.
func ExampleFormSigner_URL() {
	signer, _ := paykeeper.NewFormSigner("https://demo.server.paykeeper.ru/create/", "form-s3cret")
	link, err := signer.URL(paykeeper.Form{Amount: payments.MustDecimal("10"), OrderID: "A-1"})
	if err != nil {
		panic(err)
	}
	fmt.Println(link)
	// Output:
	// https://demo.server.paykeeper.ru/create/?client_email=&client_phone=&clientid=&orderid=A-1&service_name=&sign=26948cf4bacb50c215710a0086541490890baf6e29263a7d34d3be51322715f4&sum=10.00
}
