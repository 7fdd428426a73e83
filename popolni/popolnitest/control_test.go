package popolnitest

import (
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/paysdk/payments/internal/fakeserver"
)

// control calls control operation op of s over HTTPS (see [fakeserver.CallControl]).
func control(t *testing.T, s *Server, method, op, body string) (int, string) {
	t.Helper()
	return fakeserver.CallControl(t, s.base, method, op, body)
}

func TestControlAPI(t *testing.T) {
	s := newTestServer(t, WithBalance(100_000, 0))
	if st, body := control(t, s, "GET", "payments", ""); st != 200 || strings.TrimSpace(body) != "[]" {
		t.Fatalf("payments: %d %s, want []", st, body)
	}
	post(t, s, `[{"transactionId":1001,"amount":2500,"msisdn":"79001234567","templateId":0}]`)
	st, body := control(t, s, "GET", "payments", "")
	var ps []paymentView
	if err := json.Unmarshal([]byte(body), &ps); err != nil || st != 200 || len(ps) != 1 || ps[0].TransactionID != 1001 || ps[0].Status != 0 || ps[0].Amount != 2500 {
		t.Fatalf("payments: %d %s (%v)", st, body, err)
	}
	if st, body := control(t, s, "POST", "complete", `{"id": 1001}`); st != 200 || !strings.Contains(body, `"status": 3`) {
		t.Errorf("complete: %d %s, want status 3", st, body)
	}
	if cur, _ := s.Balance(); cur != 100_000-2500 {
		t.Errorf("balance after complete = %d, want %d", cur, 100_000-2500)
	}
	if st, body := control(t, s, "GET", "balance", ""); st != 200 || !strings.Contains(body, `"current_kopecks": 97500`) {
		t.Errorf("balance: %d %s", st, body)
	}
	if st, body := control(t, s, "POST", "set_status", `{"id": "1001", "status": "121"}`); st != 200 || !strings.Contains(body, `"status": 121`) {
		t.Errorf("set_status: %d %s", st, body)
	}
	if cur, _ := s.Balance(); cur != 100_000 {
		t.Errorf("balance after leaving 3 = %d, want it credited back", cur)
	}
	for _, c := range []struct {
		op, body string
		status   int
	}{
		{"complete", `{"id": 2}`, 404},
		{"complete", `{"id": "x"}`, 400},
		{"complete", `{}`, 400},
		{"not_found_once", `{"id": 2}`, 404},
		{"set_balance", `{"current": 1.5}`, 400},
		{"set_latency", `{"d": "soon"}`, 400},
		{"set_latency", `{"d": "-1s"}`, 400},
		{"set_latency", `{"d": "2m"}`, 400},
		{"payments", ``, 200},
		{"nosuch", ``, 404},
	} {
		if st, body := control(t, s, "POST", c.op, c.body); st != c.status || !json.Valid([]byte(body)) {
			t.Errorf("%s %s: %d %s, want %d with JSON", c.op, c.body, st, body, c.status)
		}
	}
	if st, _ := control(t, s, "POST", "set_balance", `{"current": 777}`); st != 200 {
		t.Errorf("set_balance: %d", st)
	}
	if cur, credit := s.Balance(); cur != 777 || credit != 0 {
		t.Errorf("after set_balance: %d, %d", cur, credit)
	}

	// Latency set over HTTP: the next answer leaves that much after its request.
	if st, _ := control(t, s, "POST", "set_latency", `{"d": "250ms"}`); st != 200 {
		t.Fatalf("set_latency: %d", st)
	}
	t0 := time.Now()
	post(t, s, `[{"transactionId":1003,"amount":100,"msisdn":"79001234567"}]`)
	if d := time.Since(t0); d < 250*time.Millisecond {
		t.Errorf("answered after %v, before the latency set", d)
	}
	if st, _ := control(t, s, "POST", "set_latency", `{"d": "0s"}`); st != 200 {
		t.Fatalf("set_latency 0: %d", st)
	}

	// A fault queued over HTTP: the next pay is processed, its answer lost.
	if st, _ := control(t, s, "POST", "drop_next_op", `{"op": "pay"}`); st != 200 {
		t.Fatalf("drop_next_op: %d", st)
	}
	req := newReq(t, s, http.MethodPost, s.URL(), `[{"transactionId":1002,"amount":100,"msisdn":"79001234567"}]`)
	if _, err := roundTrip(s.Client(), req); err == nil {
		t.Error("the pay after drop_next_op got an answer")
	}
	if _, ok := s.Payment(1002); !ok {
		t.Error("the dropped pay was not processed")
	}

	// Control requests are no provider operation: never recorded, never counted.
	if n := len(s.Requests()); n != 3 {
		t.Errorf("%d requests recorded, want the 3 pays only", n)
	}
	if n := s.Count(OpUnknown); n != 0 {
		t.Errorf("Count(unknown) = %d: control requests were taken for unknown routes", n)
	}
	if st, body := control(t, s, "GET", "count?op=pay", ""); st != 200 || !strings.Contains(body, `"count": 3`) {
		t.Errorf("count: %d %s", st, body)
	}
}

func TestControlNeedsTLS(t *testing.T) {
	s := newTestServer(t)
	c, err := net.Dial("tcp", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, _ = io.WriteString(c, "GET /_fake/payments HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
	b, _ := io.ReadAll(c)
	if !strings.HasPrefix(string(b), "HTTP/1.1 403") || !strings.Contains(string(b), "only over TLS") {
		t.Errorf("plain HTTP control request answered %q, want 403", b)
	}
}

func TestWithAddr(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	// In use: NewServer panics with an error wrapping the listen error.
	func() {
		defer func() {
			p := recover()
			var oe *net.OpError
			if e, ok := p.(error); !ok || !errors.As(e, &oe) {
				t.Errorf("NewServer on a port in use panicked with %v, want an error wrapping *net.OpError", p)
			}
		}()
		NewServer(WithAddr(ln.Addr().String()))
	}()
	ln.Close()
	s := newTestServer(t, WithAddr("127.0.0.1:"+strconv.Itoa(port)))
	if s.Addr() != "127.0.0.1:"+strconv.Itoa(port) {
		t.Errorf("Addr() = %s, want port %d", s.Addr(), port)
	}
	if res := getBalance(t, s); res.status != 200 {
		t.Errorf("balance on the chosen port: %d", res.status)
	}
}
