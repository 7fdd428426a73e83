package qiwitopuptest

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestControlAPI(t *testing.T) {
	s := NewServer(WithT(t))
	if st, body := control(t, s, "GET", "balance", ""); st != 200 || !strings.Contains(body, `"amount": "100000.00"`) {
		t.Errorf("balance: %d %s", st, body)
	}
	if st, body := control(t, s, "POST", "set_balance", `{"amount": "5.25"}`); st != 200 || !strings.Contains(body, `"amount": "5.25"`) {
		t.Errorf("set_balance: %d %s", st, body)
	}
	if got := s.Balance("643"); got != "5.25" {
		t.Errorf("Balance after set_balance = %s", got)
	}
	for _, c := range []struct {
		op, body string
		status   int
	}{
		{"set_balance", `{"amount": "x"}`, 400},
		{"set_balance", `{"amount": "1", "currency": "XXX"}`, 400},
		{"balance", `{"currency": "840"}`, 404},
		{"complete", `{"txn": "nope"}`, 404},
		{"set_status", `{"txn": "nope", "status": 60}`, 404},
		{"set_status", `{"txn": "nope", "status": "sixty"}`, 400},
		{"error_next", `{"code": 13}`, 200},
		{"fail_account", `{"account": "79001234567", "result_code": 300}`, 200},
	} {
		if st, body := control(t, s, "POST", c.op, c.body); st != c.status || !json.Valid([]byte(body)) {
			t.Errorf("%s %s: %d %s, want %d with JSON", c.op, c.body, st, body, c.status)
		}
	}
	if st, body := control(t, s, "GET", "payments", ""); st != 200 || strings.TrimSpace(body) != "[]" {
		t.Errorf("payments: %d %s", st, body)
	}
	// The queued error answers the next provider request, and control
	// requests are never recorded.
	if n := len(s.Requests()); n != 0 {
		t.Errorf("%d requests recorded, want none: control requests are no provider operation", n)
	}
}
