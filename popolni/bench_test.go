package popolni_test

// Each popolni call against the fake, next to the same call written by hand
// with net/http + encoding/json on the same fake, in the same run:
//
//	go test -run '^$' -bench . -benchmem -count 5 ./popolni/
//
// The fake's rate limit is off and the SDK's limiter unlimited, so what is
// measured is the cost of the SDK itself.
//
// The hand-written side returns what the SDK returns (one {ID, Status} per
// payment asked, in the order asked; the balance's two int64 fields) and
// makes the checks a careful client needs to be right: HTTP 200, the body
// read under the same size cap (8 MiB), a JSON array (object) of integers,
// one result per id asked and none other. It leaves out what only the SDK
// does: the retry loop and its limiter token, the attempt timeout and
// written-or-not tracing, OpenTelemetry spans, secret scrubbing, exact JSON
// keys, integral floats (1000000001.0), outcome-unknown classification.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
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

// handMaxBody is the SDK's default response size cap.
const handMaxBody = 8 << 20

// handResult is what the SDK's Result holds: the id and the status code.
type handResult struct {
	TransactionID int64 `json:"transactionId"`
	Status        int   `json:"status"`
}

// handPayment is the document's pay item.
type handPayment struct {
	TransactionID int64  `json:"transactionId"`
	Amount        int64  `json:"amount"`
	Msisdn        string `json:"msisdn"`
	TemplateID    int64  `json:"templateId"`
}

// handDo is the baseline's exchange: what a merchant would write without
// the SDK. It sends body and reads a 200 answer under the size cap.
func handDo(hc *http.Client, srv *popolnitest.Server, method, query string, body []byte) ([]byte, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, srv.URL()+query, rd)
	if err != nil {
		return nil, err
	}
	req.SetBasicAuth(srv.Login(), srv.Password())
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, handMaxBody+1))
	if err != nil {
		return nil, err
	}
	if len(raw) > handMaxBody {
		return nil, errors.New("answer too large")
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	return raw, nil
}

// handPost posts v and returns one result per id, in the order of ids:
// exactly one result for each id asked (ids distinct), none for another.
func handPost(hc *http.Client, srv *popolnitest.Server, v any, ids []int64) ([]handResult, error) {
	body, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	raw, err := handDo(hc, srv, http.MethodPost, "", body)
	if err != nil {
		return nil, err
	}
	var got []handResult
	if err := json.Unmarshal(raw, &got); err != nil {
		return nil, err
	}
	if len(got) != len(ids) {
		return nil, fmt.Errorf("%d results for %d ids", len(got), len(ids))
	}
	inOrder := true
	for i := range got {
		if got[i].TransactionID != ids[i] {
			inOrder = false
			break
		}
	}
	if inOrder {
		return got, nil
	}
	by := make(map[int64]int, len(got))
	for _, r := range got {
		if _, twice := by[r.TransactionID]; twice {
			return nil, fmt.Errorf("two results for %d", r.TransactionID)
		}
		by[r.TransactionID] = r.Status
	}
	out := make([]handResult, len(ids))
	for i, id := range ids {
		st, ok := by[id]
		if !ok {
			return nil, fmt.Errorf("no result for %d", id)
		}
		out[i] = handResult{TransactionID: id, Status: st}
	}
	return out, nil
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
			id := nextID.Add(1)
			p := []handPayment{{TransactionID: id, Amount: 500, Msisdn: "380991234567", TemplateID: 5}}
			if _, err := handPost(hc, srv, p, []int64{id}); err != nil {
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
			if _, err := handPost(hc, srv, q, ids); err != nil {
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
			raw, err := handDo(hc, srv, http.MethodGet, "?balance=", nil)
			if err != nil {
				b.Fatal(err)
			}
			var v struct {
				CurrentBalance *int64 `json:"currentBalance"`
				CreditLimit    *int64 `json:"creditLimit"`
			}
			if err := json.Unmarshal(raw, &v); err != nil {
				b.Fatal(err)
			}
			if v.CurrentBalance == nil || v.CreditLimit == nil {
				b.Fatal("balance answer without currentBalance or creditLimit: " + strconv.Quote(string(raw)))
			}
		}
	})
}
