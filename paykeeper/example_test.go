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

// Receive PayKeeper's payment notification: the handler checks the key and
// answers "OK <md5(id+secret)>" only when the merchant's function succeeds.
func ExampleNotificationHandler() {
	h := &paykeeper.NotificationHandler{Secret: "s3cr3t", Handle: func(_ context.Context, n paykeeper.Notification) error {
		fmt.Println("paid:", n.ID, n.SumText, n.OrderID)
		return nil // idempotent: the same payment may be notified again
	}}
	form := paykeepertest.NotificationForm(map[string]string{"id": "301", "sum": "100.00", "clientid": "Иванов Иван", "orderid": "ORDER-42"}, "s3cr3t")
	req := httptest.NewRequest("POST", "/paykeeper", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	fmt.Println(w.Code, w.Body.String())
	// Output:
	// paid: 301 100.00 ORDER-42
	// 200 OK ae837258fb03b8e2c6d4873963f2d56b
}
