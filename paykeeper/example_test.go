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
