package paykeeper_test

// Reading a payment and refunding part of it against the fake, next to the
// same work written by hand with net/http + encoding/json in the same run:
//
//	go test -run '^$' -bench . -benchmem ./paykeeper/

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/paykeeper"
	"github.com/paysdk/payments/paykeeper/paykeepertest"
)

func BenchmarkGetPayment(b *testing.B) {
	srv := paykeepertest.NewServer()
	b.Cleanup(srv.Close)
	id := srv.AddPayment(paykeepertest.PaymentSpec{Amount: "1000.00"})
	b.Run("sdk", func(b *testing.B) {
		c := newClient(b, srv)
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if _, err := c.GetPayment(context.Background(), id); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("nethttp", func(b *testing.B) {
		hc := srv.Client()
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			req, _ := http.NewRequest(http.MethodGet, srv.URL()+"/info/payments/byid/?id="+id, nil)
			req.SetBasicAuth(paykeepertest.DefaultUser, paykeepertest.DefaultPassword)
			resp, err := hc.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			var v []struct {
				ID        string `json:"id"`
				PayAmount string `json:"pay_amount"`
				Status    string `json:"status"`
			}
			err = json.NewDecoder(resp.Body).Decode(&v)
			resp.Body.Close()
			if err != nil || len(v) != 1 {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkRefund(b *testing.B) {
	srv := paykeepertest.NewServer()
	b.Cleanup(srv.Close)
	b.Run("sdk", func(b *testing.B) {
		c := newClient(b, srv)
		id := srv.AddPayment(paykeepertest.PaymentSpec{Amount: "100000000.00"})
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if err := c.RefundPayment(context.Background(), paykeeper.RefundParams{PaymentID: id, Amount: payments.MustDecimal("0.01")}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("nethttp", func(b *testing.B) {
		hc := srv.Client()
		id := srv.AddPayment(paykeepertest.PaymentSpec{Amount: "100000000.00"})
		token := ""
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if token == "" {
				req, _ := http.NewRequest(http.MethodGet, srv.URL()+"/info/settings/token/", nil)
				req.SetBasicAuth(paykeepertest.DefaultUser, paykeepertest.DefaultPassword)
				resp, err := hc.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				var v struct{ Token string }
				_ = json.NewDecoder(resp.Body).Decode(&v)
				resp.Body.Close()
				token = v.Token
			}
			form := url.Values{"id": {id}, "amount": {"0.01"}, "partial": {"true"}, "token": {token}}
			req, _ := http.NewRequest(http.MethodPost, srv.URL()+"/change/payment/reverse/", strings.NewReader(form.Encode()))
			req.SetBasicAuth(paykeepertest.DefaultUser, paykeepertest.DefaultPassword)
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			resp, err := hc.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			var v struct{ Result string }
			_ = json.NewDecoder(resp.Body).Decode(&v)
			resp.Body.Close()
			if v.Result != "success" {
				b.Fatal(v.Result)
			}
		}
	})
}
