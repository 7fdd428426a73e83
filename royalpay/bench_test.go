package royalpay_test

// CreatePayment and callback handling against the fake, next to the same
// work written by hand with net/http + encoding/json in the same run:
//
//	go test -run '^$' -bench . -benchmem ./royalpay/

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/paysdk/payments/royalpay"
	"github.com/paysdk/payments/royalpay/royalpaytest"
)

func BenchmarkCreatePayment(b *testing.B) {
	srv := royalpaytest.NewServer()
	b.Cleanup(srv.Close)
	b.Run("sdk", func(b *testing.B) {
		c := newClient(b, srv)
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if _, err := c.CreatePayment(context.Background(), params(royalpay.TypeSBP, "ORD-bench")); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("nethttp", func(b *testing.B) {
		hc := srv.Client()
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			body, _ := json.Marshal(map[string]any{"sum": json.Number("1500"), "type": "to_sbp_number", "outter_id": "ORD-bench", "geo": "Россия"})
			req, _ := http.NewRequest(http.MethodPost, srv.URL()+"/api/v2/payments/", bytes.NewReader(body))
			req.Header.Set("Authorization", "Token "+srv.Token())
			req.Header.Set("Content-Type", "application/json")
			resp, err := hc.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			var v struct {
				ID  int64       `json:"id"`
				Sum json.Number `json:"sum"`
			}
			err = json.NewDecoder(resp.Body).Decode(&v)
			resp.Body.Close()
			if err != nil || resp.StatusCode != 200 {
				b.Fatal(err, resp.StatusCode)
			}
		}
	})
}

// BenchmarkCallback: one callback in, confirmed with GET, answered {"ok":true}.
func BenchmarkCallback(b *testing.B) {
	srv := royalpaytest.NewServer()
	b.Cleanup(srv.Close)
	c := newClient(b, srv)
	p, err := c.CreatePayment(context.Background(), params(royalpay.TypeSBP, "ORD-cb"))
	if err != nil {
		b.Fatal(err)
	}
	payload := fmt.Sprintf(`{"id":%d,"status":"completed","amount":"1500.00","method":"sbp_number","outter_id":"ORD-cb"}`, p.ID)
	run := func(b *testing.B, h http.Handler) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			w := httptest.NewRecorder()
			h.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/cb", strings.NewReader(payload)))
			if w.Code != 200 {
				b.Fatal(w.Code, w.Body.String())
			}
		}
	}
	b.Run("sdk", func(b *testing.B) {
		// No authentication, as the hand-written handler has none; a budget
		// that lets every callback of the loop through.
		run(b, &royalpay.CallbackHandler{Client: c, AllowUnauthenticated: true, ConfirmRate: 1e9,
			Handle: func(context.Context, royalpay.Event) error { return nil }})
	})
	b.Run("nethttp", func(b *testing.B) {
		hc := srv.Client()
		run(b, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			var cb struct {
				ID     int64  `json:"id"`
				Status string `json:"status"`
			}
			if json.NewDecoder(io.LimitReader(r.Body, 64<<10)).Decode(&cb) != nil {
				w.WriteHeader(400)
				return
			}
			req, _ := http.NewRequest(http.MethodGet, fmt.Sprintf("%s/api/v2/payments/%d/", srv.URL(), cb.ID), nil)
			req.Header.Set("Authorization", "Token "+srv.Token())
			resp, err := hc.Do(req)
			if err != nil {
				w.WriteHeader(503)
				return
			}
			var got struct{ Status string }
			_ = json.NewDecoder(resp.Body).Decode(&got)
			resp.Body.Close()
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"ok":true}`))
		}))
	})
}
