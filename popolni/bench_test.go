package popolni_test

// Each popolni call against the fake, next to the same call written by hand
// with net/http + encoding/json on the same fake, in the same run:
//
//	go test -run '^$' -bench . -benchmem ./popolni/
//
// The fake's rate limit is off and the SDK's limiter unlimited, so what is
// measured is the cost of the SDK itself.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync/atomic"
	"testing"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/popolni"
	"github.com/paysdk/payments/popolni/popolnitest"
)

func benchServer(b *testing.B) (*popolnitest.Server, *popolni.Client) {
	b.Helper()
	srv := popolnitest.NewServer(popolnitest.WithRateLimit(0), popolnitest.WithBalance(1<<60, 0))
	b.Cleanup(srv.Close)
	c, err := popolni.New(popolni.Credentials{Login: srv.Login(), Password: srv.Password()},
		append(srv.ClientOptions(), payments.WithLimiter(payments.Unlimited()))...)
	if err != nil {
		b.Fatal(err)
	}
	return srv, c
}

type handResult struct {
	TransactionID int64 `json:"transactionId"`
	Status        int   `json:"status"`
}

// handPost is the baseline: what a merchant would write without the SDK.
func handPost(hc *http.Client, srv *popolnitest.Server, v any) ([]handResult, error) {
	body, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequest(http.MethodPost, srv.URL(), bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.SetBasicAuth(srv.Login(), srv.Password())
	req.Header.Set("Content-Type", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != 200 {
		return nil, fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	var out []handResult
	return out, json.Unmarshal(raw, &out)
}

var nextID atomic.Int64

func init() { nextID.Store(1000000000) }

func BenchmarkPay(b *testing.B) {
	b.Run("sdk", func(b *testing.B) {
		_, c := benchServer(b)
		ctx := context.Background()
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if _, err := c.Pay(ctx, []popolni.Payment{{ID: nextID.Add(1), Amount: 500, Account: "380991234567", TemplateID: 5}}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("nethttp", func(b *testing.B) {
		srv, _ := benchServer(b)
		hc := srv.Client()
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			p := []map[string]any{{"transactionId": nextID.Add(1), "amount": 500, "msisdn": "380991234567", "templateId": 5}}
			if _, err := handPost(hc, srv, p); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkStatus(b *testing.B) {
	const n = 20
	ids := make([]int64, n)
	setup := func(b *testing.B) (*popolnitest.Server, *popolni.Client) {
		srv, c := benchServer(b)
		batch := make([]popolni.Payment, n)
		for i := range batch {
			ids[i] = nextID.Add(1)
			batch[i] = popolni.Payment{ID: ids[i], Amount: 500, Account: "380991234567"}
		}
		if _, err := c.Pay(context.Background(), batch); err != nil {
			b.Fatal(err)
		}
		return srv, c
	}
	b.Run("sdk", func(b *testing.B) {
		_, c := setup(b)
		ctx := context.Background()
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if _, err := c.Status(ctx, ids...); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("nethttp", func(b *testing.B) {
		srv, _ := setup(b)
		hc := srv.Client()
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			q := make([]handResult, n)
			for j, id := range ids {
				q[j] = handResult{TransactionID: id}
			}
			if _, err := handPost(hc, srv, q); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkBalance(b *testing.B) {
	b.Run("sdk", func(b *testing.B) {
		_, c := benchServer(b)
		ctx := context.Background()
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if _, err := c.Balance(ctx); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("nethttp", func(b *testing.B) {
		srv, _ := benchServer(b)
		hc := srv.Client()
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			req, _ := http.NewRequest(http.MethodGet, srv.URL()+"?balance=", nil)
			req.SetBasicAuth(srv.Login(), srv.Password())
			resp, err := hc.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			var v struct{ CurrentBalance, CreditLimit int64 }
			err = json.NewDecoder(resp.Body).Decode(&v)
			resp.Body.Close()
			if err != nil {
				b.Fatal(err)
			}
		}
	})
}
