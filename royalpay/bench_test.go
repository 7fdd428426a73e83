package royalpay_test

// CreatePayment and callback handling against the fake, next to the same
// work written by hand with net/http + encoding/json in the same run:
//
//	go test -run '^$' -bench . -benchmem ./royalpay/
//
// Like for like: the hand-written side decodes every field the SDK returns
// (the whole payment object, its eight decimals exact and its four
// timestamps parsed; a callback's five fields and its Raw map) and makes the
// checks a careful hand-written client needs to be correct: the HTTP status,
// a size cap on every body, a first-byte JSON check, a positive id, sum and a
// status, the id asked for, the callback's bearer token and the outter_id
// the API has. What only the SDK does (the attempt loop and its spans, the
// read-form memory, the handler's per-payment coalescing and confirmation
// budget, error mapping and scrubbing) is not copied: that is what the ratio
// prices.

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/royalpay"
	"github.com/paysdk/payments/royalpay/royalpaytest"
)

// handPayment is royalpay.Payment as a hand-written client declares it:
// the same fields, decimals exact (payments.Decimal reads a JSON string or
// number) and timestamps parsed (time.Time reads RFC 3339).
type handPayment struct {
	ID               int64            `json:"id"`
	Sum              payments.Decimal `json:"sum"`
	Status           string           `json:"status"`
	Type             string           `json:"type"`
	Currency         string           `json:"currency"`
	WorkCountry      string           `json:"work_country"`
	Bank             string           `json:"bank"`
	BankName         string           `json:"russified_name"`
	BIK              string           `json:"bik"`
	FullName         string           `json:"full_name"`
	CardNumber       string           `json:"card_number"`
	SBPPhoneNumber   string           `json:"sbp_phone_number"`
	AccountNumber    string           `json:"account_number"`
	TipsID           string           `json:"tips_id"`
	QRCode           string           `json:"qr_code"`
	QRCodeLink       string           `json:"qr_code_link"`
	NSPKURL          string           `json:"nspk_url"`
	DeeplinkURL      string           `json:"deeplink_url"`
	TPayLink         string           `json:"tpay_link"`
	RedirectURL      string           `json:"redirect_url"`
	CallbackURL      string           `json:"callback_url"`
	ClientID         string           `json:"client_id"`
	ClientIP         string           `json:"client_ip"`
	OutterID         string           `json:"outter_id"`
	OutterIDFromForm string           `json:"outter_id_from_form"`
	Project          string           `json:"project"`
	CreatedAt        time.Time        `json:"created_at"`
	UpdatedAt        time.Time        `json:"updated_at"`
	Detail           *struct {
		ID                   int64            `json:"id"`
		Course               payments.Decimal `json:"course"`
		Rate                 payments.Decimal `json:"rate"`
		CourseWithRate       payments.Decimal `json:"course_with_rate"`
		AmountInUSDT         payments.Decimal `json:"amount_in_usdt"`
		AccumulatedRate      payments.Decimal `json:"accumulated_rate"`
		AmountWithRate       payments.Decimal `json:"amount_with_rate"`
		AmountInUSDTWithRate payments.Decimal `json:"amount_in_usdt_with_rate"`
		CreatedAt            time.Time        `json:"created_at"`
		UpdatedAt            time.Time        `json:"updated_at"`
	} `json:"merchant_payment_detail"`
}

// readHandPayment is what a careful hand-written client does with an answer
// that should be a payment: a 200, at most 8 MiB (the SDK's default cap), a
// JSON object, a positive id, a sum that is not negative and a status.
func readHandPayment(resp *http.Response) (handPayment, error) {
	defer resp.Body.Close()
	const maxBody = 8 << 20
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	switch {
	case err != nil:
		return handPayment{}, err
	case resp.StatusCode != http.StatusOK:
		return handPayment{}, fmt.Errorf("status %d", resp.StatusCode)
	case len(body) > maxBody:
		return handPayment{}, errors.New("answer too large")
	}
	body = bytes.TrimSpace(body)
	if len(body) == 0 || body[0] != '{' {
		return handPayment{}, errors.New("not a JSON object")
	}
	var p handPayment
	if err := json.Unmarshal(body, &p); err != nil {
		return handPayment{}, err
	}
	if p.ID <= 0 || p.Sum.Sign() < 0 || p.Status == "" {
		return handPayment{}, errors.New("not a payment")
	}
	return p, nil
}

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
		type createBody struct {
			Sum      json.Number `json:"sum"`
			Type     string      `json:"type"`
			OutterID string      `json:"outter_id,omitempty"`
			Geo      string      `json:"geo,omitempty"`
		}
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			body, err := json.Marshal(createBody{Sum: "1500", Type: "to_sbp_number", OutterID: "ORD-bench", Geo: "Россия"})
			if err != nil {
				b.Fatal(err)
			}
			req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, srv.URL()+"/api/v2/payments/", bytes.NewReader(body))
			if err != nil {
				b.Fatal(err)
			}
			req.Header.Set("Authorization", "Token "+srv.Token())
			req.Header.Set("Content-Type", "application/json")
			resp, err := hc.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			p, err := readHandPayment(resp)
			if err != nil || p.Sum.Sign() <= 0 || p.Detail == nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkCallback: one authenticated callback in, confirmed with GET,
// answered {"ok":true}.
func BenchmarkCallback(b *testing.B) {
	const bearer = "cb-secret-0123456789"
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
			r := httptest.NewRequest(http.MethodPost, "/cb", strings.NewReader(payload))
			r.Header.Set("Authorization", "Bearer "+bearer)
			h.ServeHTTP(w, r)
			if w.Code != 200 {
				b.Fatal(w.Code, w.Body.String())
			}
		}
	}
	b.Run("sdk", func(b *testing.B) {
		// A budget that lets every callback of the loop through at once:
		// the default (one a second) would time the budget's wait.
		run(b, &royalpay.CallbackHandler{Client: c, BearerToken: bearer, ConfirmRate: 1e9,
			Handle: func(context.Context, royalpay.Event) error { return nil }})
	})
	b.Run("nethttp", func(b *testing.B) {
		hc := srv.Client()
		handle := func(context.Context, handPayment) error { return nil }
		run(b, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
			if r.Method != http.MethodPost || !ok || subtle.ConstantTimeCompare([]byte(got), []byte(bearer)) != 1 {
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
			const maxBody = 64 << 10
			body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
			if err != nil || len(body) > maxBody {
				w.WriteHeader(http.StatusBadRequest)
				return
			}
			// The callback as the SDK hands it over: its fields and every
			// key as sent.
			var cb struct {
				ID       int64            `json:"id"`
				Status   string           `json:"status"`
				Amount   payments.Decimal `json:"amount"`
				Method   string           `json:"method"`
				OutterID string           `json:"outter_id"`
			}
			var raw map[string]json.RawMessage
			if json.Unmarshal(body, &cb) != nil || json.Unmarshal(body, &raw) != nil || cb.ID <= 0 || cb.Status == "" {
				w.WriteHeader(http.StatusBadRequest)
				return
			}
			req, err := http.NewRequestWithContext(r.Context(), http.MethodGet, srv.URL()+"/api/v2/payments/"+strconv.FormatInt(cb.ID, 10)+"/", nil)
			if err != nil {
				w.WriteHeader(http.StatusInternalServerError)
				return
			}
			req.Header.Set("Authorization", "Token "+srv.Token())
			resp, err := hc.Do(req)
			if err != nil {
				w.WriteHeader(http.StatusServiceUnavailable)
				return
			}
			pay, err := readHandPayment(resp)
			if err != nil || pay.ID != cb.ID {
				w.WriteHeader(http.StatusServiceUnavailable)
				return
			}
			if cb.OutterID != "" && pay.OutterID != "" && cb.OutterID != pay.OutterID {
				w.WriteHeader(http.StatusBadRequest)
				return
			}
			if handle(r.Context(), pay) != nil {
				w.WriteHeader(http.StatusInternalServerError)
				return
			}
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"ok":true}` + "\n"))
		}))
	})
}
