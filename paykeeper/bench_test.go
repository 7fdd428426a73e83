package paykeeper_test

// Reading a payment and refunding part of it against the fake, next to the
// same work written by hand with net/http + encoding/json in the same run:
//
//	go test -run '^$' -bench . -benchmem ./paykeeper/
//
// Like for like: the hand-written side decodes every field the SDK returns
// (the payment's fifteen fields, its two amounts exact, its counter an
// integer and its three Moscow dates parsed; a refund's result and message)
// and makes the checks a careful hand-written client needs to be correct:
// the HTTP status, a size cap on every body, a first-byte JSON check (the
// cabinet answers a fail object or an HTML page with 200), one payment and
// the one asked for. What only the SDK does (the attempt loop and its spans,
// the login-page and fail-object reading of every answer, error mapping and
// scrubbing, the shared token cache) is not copied: that is what the ratio
// prices.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/paykeeper"
	"github.com/paysdk/payments/paykeeper/paykeepertest"
)

// handBody reads an answer as a careful hand-written client does: a 200, at
// most 8 MiB (the SDK's default cap), starting like JSON (first is '[' or
// '{').
func handBody(resp *http.Response, first byte) ([]byte, error) {
	defer resp.Body.Close()
	const maxBody = 8 << 20
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	switch {
	case err != nil:
		return nil, err
	case resp.StatusCode != http.StatusOK:
		return nil, fmt.Errorf("status %d", resp.StatusCode)
	case len(body) > maxBody:
		return nil, errors.New("answer too large")
	}
	body = bytes.TrimSpace(body)
	if len(body) == 0 || body[0] != first {
		return nil, errors.New("not the JSON expected (a fail object, an HTML page?)")
	}
	return body, nil
}

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
		moscow, err := time.LoadLocation("Europe/Moscow")
		if err != nil {
			b.Fatal(err)
		}
		// PayKeeper's dates: Moscow time, no offset; zero or absent is none.
		date := func(s string) (time.Time, error) {
			if s == "" || s == "0000-00-00 00:00:00" {
				return time.Time{}, nil
			}
			return time.ParseInLocation(time.DateTime, s, moscow)
		}
		amount := func(s string) (payments.Decimal, error) {
			if s == "" {
				return payments.Decimal{}, nil
			}
			return payments.ParseDecimal(s)
		}
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, srv.URL()+"/info/payments/byid/?id="+url.QueryEscape(id), nil)
			if err != nil {
				b.Fatal(err)
			}
			req.SetBasicAuth(paykeepertest.DefaultUser, paykeepertest.DefaultPassword)
			resp, err := hc.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			body, err := handBody(resp, '[')
			if err != nil {
				b.Fatal(err)
			}
			var v []struct {
				ID                string `json:"id"`
				PayAmount         string `json:"pay_amount"`
				RefundAmount      string `json:"refund_amount"`
				ClientID          string `json:"clientid"`
				OrderID           string `json:"orderid"`
				PaymentSystemID   string `json:"payment_system_id"`
				UniqueID          string `json:"unique_id"`
				Status            string `json:"status"`
				RepeatCounter     string `json:"repeat_counter"`
				Pending           string `json:"pending_datetime"`
				Obtained          string `json:"obtain_datetime"`
				Success           string `json:"success_datetime"`
				SystemDescription string `json:"system_description"`
				SiteDescription   string `json:"site_description"`
			}
			if err := json.Unmarshal(body, &v); err != nil || len(v) != 1 || v[0].ID != id {
				b.Fatal(err, len(v))
			}
			w := v[0]
			p := paykeeper.Payment{ID: w.ID, ClientID: w.ClientID, OrderID: w.OrderID, PaymentSystemID: w.PaymentSystemID,
				UniqueID: w.UniqueID, Status: paykeeper.PaymentStatus(w.Status),
				SystemDescription: w.SystemDescription, SiteDescription: w.SiteDescription}
			var errs [6]error
			p.Amount, errs[0] = amount(w.PayAmount)
			p.RefundAmount, errs[1] = amount(w.RefundAmount)
			p.RepeatCounter, errs[2] = strconv.ParseInt(w.RepeatCounter, 10, 64)
			p.Pending, errs[3] = date(w.Pending)
			p.Obtained, errs[4] = date(w.Obtained)
			p.Success, errs[5] = date(w.Success)
			if err := errors.Join(errs[:]...); err != nil {
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
			if token == "" { // fetched once, kept: as the SDK's cache does
				req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, srv.URL()+"/info/settings/token/", nil)
				if err != nil {
					b.Fatal(err)
				}
				req.SetBasicAuth(paykeepertest.DefaultUser, paykeepertest.DefaultPassword)
				resp, err := hc.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				body, err := handBody(resp, '{')
				if err != nil {
					b.Fatal(err)
				}
				var v struct {
					Token string `json:"token"`
				}
				if err := json.Unmarshal(body, &v); err != nil || v.Token == "" {
					b.Fatal(err)
				}
				token = v.Token
			}
			amount, err := payments.MustDecimal("0.01").StringFixed(2)
			if err != nil {
				b.Fatal(err)
			}
			form := url.Values{"id": {id}, "amount": {amount}, "partial": {"true"}, "token": {token}}
			req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, srv.URL()+"/change/payment/reverse/", strings.NewReader(form.Encode()))
			if err != nil {
				b.Fatal(err)
			}
			req.SetBasicAuth(paykeepertest.DefaultUser, paykeepertest.DefaultPassword)
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			resp, err := hc.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			body, err := handBody(resp, '{')
			if err != nil {
				b.Fatal(err)
			}
			var v struct {
				Result string `json:"result"`
				Msg    string `json:"msg"`
			}
			if err := json.Unmarshal(body, &v); err != nil || v.Result != "success" {
				b.Fatal(err, v.Result, v.Msg)
			}
		}
	})
}
