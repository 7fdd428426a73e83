package royalpaytest_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/paysdk/payments/royalpay/royalpaytest"
)

// A pay-in through the fake with plain net/http: create an SBP payment (the
// document's example 1), receive its callback when the payer "pays"
// (WithAutoComplete), then read the payment back. srv.Client() trusts the
// fake's CA and dials pay-dev.royalsfinance.app to srv.Addr(); an SDK client
// gets the same from srv.ClientOptions().
func Example() {
	// The merchant's callback endpoint.
	callbacks := make(chan string, 1)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		callbacks <- r.Header.Get("Authorization") + " " + string(body)
		_, _ = io.WriteString(w, `{"ok": true}`)
	}))
	defer hook.Close()

	srv := royalpaytest.NewServer(
		royalpaytest.WithAutoComplete(10*time.Millisecond),
		royalpaytest.WithCallbackToken("cb-secret"))
	defer srv.Close()

	call := func(method, path, body string) (int, map[string]any) {
		req, _ := http.NewRequest(method, srv.URL()+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Token "+srv.Token())
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			panic(err)
		}
		defer resp.Body.Close()
		var v map[string]any
		dec := json.NewDecoder(resp.Body)
		dec.UseNumber() // ids as written, never through a float
		_ = dec.Decode(&v)
		return resp.StatusCode, v
	}

	status, p := call("POST", "/api/v2/payments/", `{
		"sum": 1500,
		"type": "to_sbp_number",
		"bank": "Tinkoff",
		"client_id": "client_ABC123",
		"outter_id": "ORD-982134",
		"geo": "Россия",
		"is_allow_another_amount": true,
		"callback_url": "`+hook.URL+`/payment/callback"
	}`)
	fmt.Println(status, p["id"], p["sum"], p["status"], p["russified_name"], p["sbp_phone_number"])

	select {
	case cb := <-callbacks:
		fmt.Println(cb)
	case <-time.After(30 * time.Second):
		fmt.Println("no callback")
	}

	status, p = call("GET", fmt.Sprintf("/api/v2/payments/%v/", p["id"]), "")
	fmt.Println(status, p["status"])
	// Output:
	// 200 10442449 1500.00 created Т-Банк +79870442449
	// Bearer cb-secret {"id":10442449,"status":"completed","amount":"1500.00","method":"sbp_number","outter_id":"ORD-982134"}
	// 200 completed
}

// The provider's errors on demand: no card free to take the payment, then a
// blocked account.
func ExampleServer_NoCardsNext() {
	srv := royalpaytest.NewServer()
	defer srv.Close()
	srv.NoCardsNext(1)

	create := func() string {
		req, _ := http.NewRequest("POST", srv.URL()+"/api/v2/payments/", strings.NewReader(`{"sum": 1800, "type": "to_card_number"}`))
		req.Header.Set("Authorization", "Token "+srv.Token())
		req.Header.Set("Content-Type", "application/json")
		resp, err := srv.Client().Do(req)
		if err != nil {
			return err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return fmt.Sprintf("%d %s", resp.StatusCode, b)
	}

	fmt.Println(create())
	srv.BlockClient("spam")
	fmt.Println(create())
	fmt.Println(len(srv.Payments()), "payments,", srv.Count(royalpaytest.OpCreate), "create requests")
	// Output:
	// 400 {"error":"No available cards.","code":40005}
	// 403 {"error":"Client is blocked. Reason: spam","code":50000}
	// 0 payments, 2 create requests
}
