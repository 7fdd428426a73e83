package paykeepertest_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"

	"github.com/paysdk/payments/paykeeper/paykeepertest"
)

// An invoice paid and refunded through the fake with plain net/http: fetch
// the security token, create and send an invoice, let the payer pay it (the
// merchant's informer endpoint checks the key and acknowledges), then refund
// part of the payment. srv.Client() trusts the fake's CA and dials
// demo.server.paykeeper.ru to srv.Addr(); an SDK client gets the same from
// srv.ClientOptions().
func Example() {
	const secret = "s3cr3t"
	informer := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		f := r.PostForm
		if f.Get("key") != paykeepertest.SignNotification(f.Get("id"), f.Get("sum"), f.Get("clientid"), f.Get("orderid"), secret) {
			_, _ = io.WriteString(w, "Error! Hash mismatch")
			return
		}
		fmt.Println("notified: payment of", f.Get("sum"), "for order", f.Get("orderid"))
		_, _ = io.WriteString(w, paykeepertest.NotificationAck(f.Get("id"), secret))
	}))
	defer informer.Close()

	srv := paykeepertest.NewServer(paykeepertest.WithNotifications(informer.URL, secret))
	defer srv.Close()

	call := func(method, path string, form url.Values) map[string]any {
		var body io.Reader
		if form != nil {
			body = strings.NewReader(form.Encode())
		}
		req, _ := http.NewRequest(method, srv.URL()+path, body)
		req.SetBasicAuth(paykeepertest.DefaultUser, paykeepertest.DefaultPassword)
		if form != nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			panic(err)
		}
		defer resp.Body.Close()
		var v any
		_ = json.NewDecoder(resp.Body).Decode(&v)
		if a, ok := v.([]any); ok && len(a) == 1 { // payments/byid answers an array
			v = a[0]
		}
		m, _ := v.(map[string]any)
		return m
	}

	token := call("GET", "/info/settings/token/", nil)["token"].(string)
	inv := call("POST", "/change/invoice/preview/", url.Values{
		"pay_amount": {"1500.00"}, "clientid": {"Иванов Иван"}, "orderid": {"ORDER-42"},
		"service_name": {"Доставка"}, "token": {token},
	})
	id := inv["invoice_id"].(string)
	fmt.Println("invoice id has", len(id), "digits")
	fmt.Println("send:", call("POST", "/change/invoice/send/", url.Values{"id": {id}, "token": {token}})["result"])

	paymentID, _ := srv.PayInvoice(id)
	fmt.Println("invoice:", call("GET", "/info/invoice/byid/?id="+id, nil)["status"])

	r := call("POST", "/change/payment/reverse/", url.Values{
		"id": {paymentID}, "amount": {"500.00"}, "partial": {"true"}, "token": {token},
	})
	fmt.Println("refund:", r["result"])
	p := call("GET", "/info/payments/byid/?id="+paymentID, nil)
	fmt.Println("payment:", p["status"], p["pay_amount"], p["refund_amount"])

	r = call("POST", "/change/payment/reverse/", url.Values{
		"id": {paymentID}, "amount": {"5000.00"}, "partial": {"true"}, "token": {token},
	})
	fmt.Println("too much:", r["result"], r["msg"])

	r = call("POST", "/change/payment/reverse/", url.Values{"id": {paymentID}, "partial": {"false"}, "token": {"stale"}})
	fmt.Println("stale token:", r["msg"], r["error_code"])

	// Output:
	// invoice id has 17 digits
	// send: success
	// notified: payment of 1500.00 for order ORDER-42
	// invoice: paid
	// refund: success
	// payment: partially_refunded 1500.00 500.00
	// too much: fail Сумма возврата превышает остаток платежа.
	// stale token: Токен безопасности не верен. 67
}

// Testing a notification handler without a server: NotificationForm signs
// the fields as PayKeeper does, and NotificationAck is the only answer
// PayKeeper accepts.
func ExampleNotificationForm() {
	form := paykeepertest.NotificationForm(map[string]string{
		"id": "301", "sum": "100.00", "clientid": "Иванов Иван", "orderid": "ORDER-42",
	}, "s3cr3t")
	fmt.Println(form.Get("key"))
	fmt.Println(paykeepertest.NotificationAck("301", "s3cr3t"))
	// Output:
	// 6637eed64399e3c206ad40b2c347c1aa
	// OK ae837258fb03b8e2c6d4873963f2d56b
}
