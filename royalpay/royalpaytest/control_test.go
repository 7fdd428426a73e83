package royalpaytest

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestControlAPI(t *testing.T) {
	s := NewServer(WithT(t))
	for _, op := range []string{"payments", "payouts", "callbacks", "payout_callbacks"} {
		if st, body := control(t, s, "GET", op, ""); st != 200 || strings.TrimSpace(body) != "[]" {
			t.Errorf("%s: %d %s, want []", op, st, body)
		}
	}
	for _, c := range []struct {
		op, body string
		status   int
	}{
		{"complete", `{"id": 1}`, 404},
		{"complete", `{"id": "one"}`, 400},
		{"complete_payout", `{"id": 1}`, 404},
		{"set_amount", `{"id": 1, "sum": "10"}`, 404},
		{"send_callback", `{"id": 1, "payload": "{}"}`, 404},
		{"fail_payout_next", `{"status": 99}`, 400},
		{"fail_payout_next", `{"status": 502, "body": "{}"}`, 200},
		{"no_cards_next", `{"n": 2}`, 200},
		{"block_client", `{"reason": "test"}`, 200},
		{"block_client", `{"reason": ""}`, 200},
		{"payment", `{"id": 5}`, 404},
	} {
		if st, body := control(t, s, "POST", c.op, c.body); st != c.status || !json.Valid([]byte(body)) {
			t.Errorf("%s %s: %d %s, want %d with JSON", c.op, c.body, st, body, c.status)
		}
	}
	if n := len(s.Requests()); n != 0 {
		t.Errorf("%d requests recorded, want none: control requests are no provider operation", n)
	}
}
