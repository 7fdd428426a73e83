package paykeepertest

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/url"
	"testing"
)

// FuzzFormCreate: any form fields reach the fake's /create/ handler without
// a panic; it creates an invoice only for a form signed with its secret,
// and answers a redirect exactly then.
func FuzzFormCreate(f *testing.F) {
	f.Add("990.00", "Иванов", "A-1", "Подписка", "a@example.com", "", "", true)
	f.Add("1e3", "", "", "", "", "", "x", false)
	f.Add("-1.00", "", "1", "", "", "", "", true)
	f.Add("0.001", "", "1", "", "", "", "", true)
	f.Add("+990.00", "", "1", "", "", "", "", true)
	f.Add(".50", "", "1", "", "", "", "", true)
	f.Add(" 990.00", "", "1", "", "", "", "", true)
	s := NewServer(WithFormSecret("fuzz-form"))
	defer s.Close()
	f.Fuzz(func(t *testing.T, sum, client, order, service, email, sign string, cart string, signIt bool) {
		v := url.Values{"sum": {sum}, "clientid": {client}, "orderid": {order}, "service_name": {service}, "client_email": {email},
			"client_phone": {""}, "cart": {cart}}
		if signIt {
			h := sha256.Sum256([]byte(sum + client + order + service + email + "" + "fuzz-form"))
			sign = hex.EncodeToString(h[:])
		}
		v.Set("sign", sign)
		before := len(s.Invoices())
		resp := s.formCreate(v)
		after := len(s.Invoices())
		switch resp.Status {
		case http.StatusFound:
			if after != before+1 || !signIt || order == "" {
				t.Fatalf("accepted without a valid sign and order: %v", v)
			}
			// The invoice is for the signed sum written exactly as the
			// client writes it, and the signed order.
			inv := s.Invoices()[after-1]
			if inv.Amount != sum || inv.OrderID != order || inv.ClientID != client {
				t.Fatalf("invoice %+v made of %v", inv, v)
			}
		case http.StatusBadRequest:
			if after != before {
				t.Fatalf("refused but created an invoice: %v", v)
			}
		default:
			t.Fatalf("status %d", resp.Status)
		}
	})
}

// Without WithFormSecret every form is refused, a signed one included.
func TestFormWithoutASecretIsRefused(t *testing.T) {
	s := NewServer(WithT(t))
	h := sha256.Sum256([]byte("10.00" + "1"))
	resp := s.formCreate(url.Values{"sum": {"10.00"}, "orderid": {"1"}, "sign": {hex.EncodeToString(h[:])}})
	if resp.Status != http.StatusBadRequest || len(s.Invoices()) != 0 {
		t.Fatalf("status %d, %d invoices", resp.Status, len(s.Invoices()))
	}
}

// A binding charge and a printed receipt take a sum only as the client
// writes it: "1e2" or " 100.00" is not taken for 100.00, and nothing is
// charged or printed.
func TestLooseSumsAreRefused(t *testing.T) {
	s := NewServer(WithT(t))
	bank := s.AddBinding()
	pid := s.AddPayment(PaymentSpec{Amount: "100.00", Status: StatusSuccess})
	for _, sum := range []string{"1e2", " 100.00", "+100.00", "100", "100.0", "0100.00"} {
		s.hBindingExecute(&call{form: url.Values{"bank_id": {bank}, "orderid": {"R-1"}, "sum": {sum}}})
		s.hReceiptPrint(&call{form: url.Values{"payment_id": {pid}, "type": {"sale"}, "sum_cashless": {sum}, "cart": {`[{}]`}}})
	}
	if n := len(s.Payments()); n != 1 {
		t.Fatalf("%d payments: a loose sum charged", n)
	}
	if n := len(s.Receipts(pid)); n != 0 {
		t.Fatalf("%d receipts: a loose sum printed", n)
	}
	s.hBindingExecute(&call{form: url.Values{"bank_id": {bank}, "orderid": {"R-1"}, "sum": {"100.00"}}})
	if n := len(s.Payments()); n != 2 {
		t.Fatalf("%d payments: the exact sum was not charged", n)
	}
}
