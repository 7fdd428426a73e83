package qiwitopuptest_test

import (
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/paysdk/payments/qiwitopup/qiwitopuptest"
)

// A wallet top-up through the fake with plain net/http: pay, poll the status
// twice, read the balance. srv.Client() trusts the fake's CA and dials
// api.qiwi.com to srv.Addr(); the SDK's own client does the same with
// srv.ClientOptions().
func ExampleNewServer() {
	srv := qiwitopuptest.NewServer(qiwitopuptest.WithBalance("643", "2000.00"))
	defer srv.Close()

	call := func(inner string) string {
		body := `<?xml version="1.0" encoding="utf-8"?>
<request>
  <request-type>pay</request-type>
  <terminal-id>` + srv.TerminalID() + `</terminal-id>
  <extra name="password">` + srv.Password() + `</extra>
` + inner + `</request>`
		resp, err := srv.Client().Post(srv.URL(), "application/xml", strings.NewReader(body))
		if err != nil {
			return err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		var doc struct {
			Payment struct {
				Status string `xml:"status,attr"`
				Final  string `xml:"final-status,attr"`
			} `xml:"payment"`
			Balance string `xml:"balances>balance"`
		}
		if err := xml.Unmarshal(b, &doc); err != nil {
			return err.Error()
		}
		return fmt.Sprintf("%d status=%s final=%s balance=%s", resp.StatusCode, doc.Payment.Status, doc.Payment.Final, doc.Balance)
	}

	pay := `  <extra name="income_wire_transfer">1</extra>
  <auth><payment>
    <transaction-number>12345678</transaction-number>
    <from><ccy>RUB</ccy></from>
    <to><amount>1115.00</amount><ccy>RUB</ccy><service-id>99</service-id><account-number>79181234567</account-number></to>
  </payment></auth>
`
	status := `  <status><payment>
    <transaction-number>12345678</transaction-number>
    <to><account-number>79181234567</account-number></to>
  </payment></status>
`
	fmt.Println(call(pay))
	fmt.Println(call(pay)) // an idempotent resend: the same payment
	fmt.Println(call(status))
	fmt.Println(call(status))
	fmt.Println(srv.Count(qiwitopuptest.OpPay), "pay,", srv.Count(qiwitopuptest.OpStatus), "status,", len(srv.Payments()), "payment")
	// Output:
	// 200 status=50 final=false balance=885.00
	// 200 status=50 final=false balance=885.00
	// 200 status=52 final=false balance=885.00
	// 200 status=60 final=true balance=885.00
	// 2 pay, 2 status, 1 payment
}

// Fault injection: the next request gets QIWI's "try again in a minute"
// answer without being processed.
func ExampleServer_ErrorNext() {
	srv := qiwitopuptest.NewServer()
	defer srv.Close()
	srv.ErrorNext(1, 13, false)

	body := `<request><request-type>ping</request-type><terminal-id>` + srv.TerminalID() +
		`</terminal-id><extra name="password">` + srv.Password() + `</extra></request>`
	resp, err := srv.Client().Post(srv.URL(), "application/xml", strings.NewReader(body))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	fmt.Print(string(b))
	fmt.Println(resp.StatusCode == http.StatusOK)
	// Output:
	// <?xml version="1.0" encoding="utf-8"?>
	// <response>
	// <result-code fatal="false" message="Повторите запрос через минуту" msg="Повторите запрос через минуту">13</result-code>
	// </response>
	// true
}
