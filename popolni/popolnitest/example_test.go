package popolnitest_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/paysdk/payments/popolni/popolnitest"
)

// A payment through the fake with plain net/http: pay, poll twice, read the
// balance. srv.Client() trusts the fake's CA and dials popolni.club to
// srv.Addr(); the SDK's own client does the same with WithRootCAsPEM and
// WithResolve.
func ExampleNewServer() {
	srv := popolnitest.NewServer(popolnitest.WithBalance(10000, 0))
	defer srv.Close()

	call := func(method, url, body string) string {
		req, _ := http.NewRequest(method, url, strings.NewReader(body))
		req.SetBasicAuth(srv.Login(), srv.Password())
		req.Header.Set("Content-Type", "application/json")
		resp, err := srv.Client().Do(req)
		if err != nil {
			return err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return fmt.Sprintf("%d %s", resp.StatusCode, b)
	}

	fmt.Println(call("POST", srv.URL(), `[{"transactionId":1000000001,"amount":500,"msisdn":"380991234567","templateId":5}]`))
	fmt.Println(call("POST", srv.URL(), `[{"transactionId":1000000001,"status":0}]`))
	fmt.Println(call("POST", srv.URL(), `[{"transactionId":1000000001,"status":0}]`))
	fmt.Println(call("GET", srv.URL()+"?balance=", ""))
	fmt.Println(srv.Count(popolnitest.OpStatus), "status queries")
	// Output:
	// 200 [{"transactionId":1000000001,"status":0}]
	// 200 [{"transactionId":1000000001,"status":2}]
	// 200 [{"transactionId":1000000001,"status":3}]
	// 200 {"currentBalance":9500,"creditLimit":0}
	// 2 status queries
}

// Fault injection: the next payment request is processed but its connection
// is dropped before any answer, so the client must reconcile by status.
func ExampleServer_DropNext() {
	srv := popolnitest.NewServer()
	defer srv.Close()
	srv.DropNext(1)

	req, _ := http.NewRequest("POST", srv.URL(), strings.NewReader(`[{"transactionId":1000000001,"amount":500,"msisdn":"380991234567","templateId":0}]`))
	req.SetBasicAuth(srv.Login(), srv.Password())
	req.Header.Set("Content-Type", "application/json")
	_, err := srv.Client().Do(req)
	fmt.Println("answer received:", err == nil)

	p, ok := srv.Payment(1000000001)
	fmt.Println("payment exists:", ok, "status:", p.Status)
	fmt.Println("answered:", srv.Requests()[0].Answered)
	// Output:
	// answer received: false
	// payment exists: true status: 0
	// answered: 0
}
