package paykeepertest

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

func TestControlAPI(t *testing.T) {
	s := NewServer(WithT(t))
	st, body := control(t, s, "POST", "add_payment", `{"amount": "100.50", "orderid": "o-1"}`)
	var p paymentView
	if err := json.Unmarshal([]byte(body), &p); err != nil || st != 200 || p.ID == "" || p.Amount != "100.50" || p.OrderID != "o-1" || p.Status != StatusSuccess {
		t.Fatalf("add_payment: %d %s", st, body)
	}
	if rec, ok := s.Payment(p.ID); !ok || rec.OrderID != "o-1" {
		t.Errorf("Payment(%s) = %+v, %v", p.ID, rec, ok)
	}
	if st, body := control(t, s, "POST", "set_status", `{"id": "`+p.ID+`", "status": "obtained"}`); st != 200 || !strings.Contains(body, `"status": "obtained"`) {
		t.Errorf("set_status: %d %s", st, body)
	}
	for _, c := range []struct {
		op, body string
		status   int
	}{
		{"add_payment", `{"amount": "-1"}`, 400},
		{"add_payment", `{"amount": "abc"}`, 400},
		{"add_payment", `{"amount": "1", "status": "paid"}`, 400},
		{"set_status", `{"id": "` + p.ID + `", "status": "paid"}`, 400},
		{"set_status", `{"id": "1", "status": "success"}`, 404},
		{"notify", `{"id": "` + p.ID + `"}`, 400}, // no informer
		{"notify", `{"id": "1"}`, 404},
		{"pay_invoice", `{"id": "1"}`, 404},
		{"expire_invoice", `{"id": "1"}`, 404},
	} {
		if st, body := control(t, s, "POST", c.op, c.body); st != c.status || !json.Valid([]byte(body)) {
			t.Errorf("%s %s: %d %s, want %d with JSON", c.op, c.body, st, body, c.status)
		}
	}
	if n := len(s.Requests()); n != 0 {
		t.Errorf("%d requests recorded, want none: control requests are no provider operation", n)
	}
}

func TestControlNotify(t *testing.T) {
	const secret = "seed"
	var got url.Values
	merchant := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got, _ = url.ParseQuery(string(b))
		_, _ = io.WriteString(w, NotificationAck(got.Get("id"), secret))
	}))
	defer merchant.Close()
	s := NewServer(WithT(t), WithNotifications(merchant.URL, secret))
	id := s.AddPayment(PaymentSpec{Amount: "10.00", Status: StatusObtained, OrderID: "o-2"})
	st, body := control(t, s, "POST", "notify", `{"id": "`+id+`"}`)
	if st != 200 || !strings.Contains(body, `"acknowledged": true`) {
		t.Fatalf("notify: %d %s", st, body)
	}
	if got.Get("orderid") != "o-2" || got.Get("key") != SignNotification(id, "10.00", "", "o-2", secret) {
		t.Errorf("the merchant got %v", got)
	}
	if strings.Contains(body, secret) || strings.Contains(body, got.Get("key")) {
		t.Errorf("the control answer shows the secret or the signature: %s", body)
	}
	if st, body := control(t, s, "GET", "notifications", ""); st != 200 || !strings.Contains(body, `"payment_id": "`+id+`"`) {
		t.Errorf("notifications: %d %s", st, body)
	}
	if p, _ := s.Payment(id); p.Status != StatusSuccess {
		t.Errorf("status after an acknowledged notification: %s", p.Status)
	}
}
