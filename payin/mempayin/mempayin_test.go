package mempayin_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/payin"
	"github.com/paysdk/payments/payin/mempayin"
	"github.com/paysdk/payments/payin/payintest"
)

var nextOrder atomic.Int64

func request() payin.Request {
	return payin.Request{OrderRef: "ORD-" + strconv.FormatInt(nextOrder.Add(1), 10), Amount: payments.MustMoney("1500.00", "RUB"),
		Description: "test order", CallbackURL: "https://shop.example/notify/mem"}
}

// secret is the fixtures' signing key, known here so that Forge can sign
// what a holder of a leaked key would.
var secret = []byte("mem-secret-for-tests")

func post(t *testing.T, endpoint string, body []byte, sig string) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, endpoint, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if sig != "" {
		req.Header.Set(mempayin.SignatureHeader, sig)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func hmacHex(key, body []byte) string {
	m := hmac.New(sha256.New, key)
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

func harness(o mempayin.Options) payintest.Harness {
	return payintest.Harness{
		New: func(t *testing.T, opts ...payments.Option) payintest.Fixture {
			o.Secret = secret
			d, err := mempayin.New(o, opts...)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { d.Close() })
			return payintest.Fixture{
				Driver:      d,
				LoseAnswers: d.LoseAnswers,
				Requests:    d.Requests,
				Pay: func(t *testing.T, co payin.Checkout, endpoint string) int {
					d.SetNotifyURL(endpoint)
					n := len(d.Deliveries())
					_ = d.Pay(context.Background(), co.ID) // a refused delivery is in Deliveries
					ds := d.Deliveries()
					if len(ds) != n+1 || ds[n].Err != nil && ds[n].Status == 0 {
						t.Fatalf("deliveries after Pay: %+v", ds[n:])
					}
					return ds[n].Status
				},
				Forge: func(t *testing.T, co payin.Checkout, endpoint string) []int {
					paid := mempayin.Notification{ID: co.ID, OrderRef: co.OrderRef, Amount: co.Amount.Amount.String(),
						Currency: co.Amount.Currency, State: payments.StateSucceeded.String()}
					body, _ := json.Marshal(paid)
					var sts []int
					// 1. No signature, 2. a wrong one, 3. a signature of another body.
					sts = append(sts, post(t, endpoint, body, ""))
					sts = append(sts, post(t, endpoint, body, hmacHex([]byte("not-the-secret"), body)))
					other, _ := json.Marshal(mempayin.Notification{ID: co.ID, State: "pending"})
					sts = append(sts, post(t, endpoint, body, hmacHex(secret, other)))
					// 4. A validly signed "paid" for the unpaid checkout (a leaked key).
					sts = append(sts, post(t, endpoint, body, hmacHex(secret, body)))
					// 5. A validly signed one with another amount.
					paid.Amount = "1.00"
					cheap, _ := json.Marshal(paid)
					sts = append(sts, post(t, endpoint, cheap, hmacHex(secret, cheap)))
					// 6. Too large.
					huge := append([]byte(`{"id":"`+co.ID+`","pad":"`), bytes.Repeat([]byte("x"), mempayin.MaxNotificationBytes)...)
					sts = append(sts, post(t, endpoint, huge, hmacHex(secret, huge)))
					// 7. What the provider's records say (pending), with no
					// or a wrong signature: only the signature refuses it.
					truth, _ := json.Marshal(mempayin.Notification{ID: co.ID, OrderRef: co.OrderRef, Amount: co.Amount.Amount.String(),
						Currency: co.Amount.Currency, State: payments.StatePending.String()})
					sts = append(sts, post(t, endpoint, truth, ""))
					sts = append(sts, post(t, endpoint, truth, hmacHex([]byte("not-the-secret"), truth)))
					return sts
				},
			}
		},
		Request:        request,
		ProviderClient: new(*mempayin.Driver),
	}
}

func TestConformance(t *testing.T) { payintest.RunConformanceTests(t, harness(mempayin.Options{})) }

// TestConformanceNoRefunds: a provider without refunds answers
// ErrNotSupported before anything is sent.
func TestConformanceNoRefunds(t *testing.T) {
	payintest.RunConformanceTests(t, harness(mempayin.Options{Capabilities: payin.Capabilities{
		Methods: []payin.Method{payin.SBP}, Currencies: []string{"RUB"}, Requisites: true}}))
}

type recorder struct {
	mu     sync.Mutex
	events []payin.Event
	fail   bool
}

func (r *recorder) handle(_ context.Context, e payin.Event) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail {
		return errors.New("the merchant's database is down")
	}
	r.events = append(r.events, e)
	return nil
}

func (r *recorder) all() []payin.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]payin.Event(nil), r.events...)
}

func open(t *testing.T) (*payin.Client, *mempayin.Driver, *recorder, http.Handler) {
	t.Helper()
	c, err := payin.Open(context.Background(), "mem://")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	var d *mempayin.Driver
	if !c.As(&d) {
		t.Fatal("As(**mempayin.Driver) = false")
	}
	rec := &recorder{}
	h, err := payin.NewHandler(rec.handle, c)
	if err != nil {
		t.Fatal(err)
	}
	return c, d, rec, h
}

func TestPayDeliversInProcess(t *testing.T) {
	c, d, rec, _ := open(t)
	ctx := context.Background()
	r := request()
	co, err := c.Create(ctx, r)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Pay(ctx, co.ID); err != nil {
		t.Fatal(err)
	}
	evs := rec.all()
	if len(evs) != 1 || evs[0].State != payments.StateSucceeded || evs[0].OrderRef != r.OrderRef || evs[0].CheckoutID != co.ID {
		t.Fatalf("events %v", evs)
	}
	if got, _ := c.Get(ctx, co.ID); got.State != payments.StateSucceeded {
		t.Fatalf("paid checkout is %v", got.State)
	}
	if err := d.Pay(ctx, co.ID); err == nil {
		t.Fatal("a paid checkout was paid again")
	}
}

func TestCancel(t *testing.T) {
	c, d, rec, _ := open(t)
	ctx := context.Background()
	co, err := c.Create(ctx, request())
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Cancel(ctx, co.ID); err != nil {
		t.Fatal(err)
	}
	if evs := rec.all(); len(evs) != 1 || evs[0].State != payments.StateCanceled {
		t.Fatalf("events %v", evs)
	}
	if _, err := c.Refund(ctx, payin.RefundRequest{ID: co.ID, Full: true}); !errors.Is(err, payments.ErrDeclined) {
		t.Fatalf("refund of an unpaid checkout: %v", err)
	}
}

func TestHandlerFailureIsRedelivered(t *testing.T) {
	c, d, rec, h := open(t)
	ctx := context.Background()
	co, err := c.Create(ctx, request())
	if err != nil {
		t.Fatal(err)
	}
	rec.fail = true
	if err := d.Pay(ctx, co.ID); err == nil || !strings.Contains(err.Error(), "500") {
		t.Fatalf("a failing Handle: %v", err)
	}
	rec.mu.Lock()
	rec.fail = false
	rec.mu.Unlock()
	req, err := d.NewNotification(ctx, co.ID, "http://shop.example/notify/mem")
	if err != nil {
		t.Fatal(err)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	if w.Code != http.StatusOK || len(rec.all()) != 1 {
		t.Fatalf("redelivery answered %d, %d events", w.Code, len(rec.all()))
	}
}

func TestStaleNotificationRefused(t *testing.T) {
	c, d, rec, h := open(t)
	ctx := context.Background()
	co, err := c.Create(ctx, request())
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Pay(ctx, co.ID); err != nil {
		t.Fatal(err)
	}
	stale, err := d.NewNotification(ctx, co.ID, "http://shop.example/notify/mem")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Refund(ctx, payin.RefundRequest{ID: co.ID, Full: true}); err != nil {
		t.Fatal(err)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, stale) // says succeeded; the checkout is refunded now
	if w.Code != http.StatusBadRequest || len(rec.all()) != 1 {
		t.Fatalf("a stale notification answered %d with %d events", w.Code, len(rec.all()))
	}
}

func TestRefunds(t *testing.T) {
	c, d, _, _ := open(t)
	ctx := context.Background()
	co, err := c.Create(ctx, request())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Refund(ctx, payin.RefundRequest{ID: co.ID, Full: true}); !errors.Is(err, payments.ErrDeclined) {
		t.Fatalf("refund before payment: %v", err)
	}
	if err := d.Pay(ctx, co.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Refund(ctx, payin.RefundRequest{ID: co.ID, Amount: payments.MustMoney("2000.00", "RUB")}); !errors.Is(err, payments.ErrDeclined) {
		t.Fatalf("refund above the amount: %v", err)
	}
	r, err := c.Refund(ctx, payin.RefundRequest{ID: co.ID, Amount: payments.MustMoney("500.00", "RUB")})
	if err != nil || !r.Amount.Equal(payments.MustMoney("500.00", "RUB")) {
		t.Fatalf("partial refund: %v %v", r, err)
	}
	if got, _ := c.Get(ctx, co.ID); got.State != payments.StateSucceeded {
		t.Fatalf("after a partial refund: %v", got.State)
	}
	r, err = c.Refund(ctx, payin.RefundRequest{ID: co.ID, Full: true})
	if err != nil || !r.Amount.Equal(payments.MustMoney("1000.00", "RUB")) {
		t.Fatalf("the rest: %v %v", r, err)
	}
	if got, _ := c.Get(ctx, co.ID); got.State != payments.StateRefunded {
		t.Fatalf("after the full refund: %v", got.State)
	}
	if _, err := c.Refund(ctx, payin.RefundRequest{ID: "404", Full: true}); !errors.Is(err, payments.ErrNotFound) {
		t.Fatalf("refund of an unknown checkout: %v", err)
	}
}

func TestScriptedRefusalAndLostAnswer(t *testing.T) {
	c, d, _, _ := open(t)
	ctx := context.Background()
	d.RefuseNext(1, payments.ErrForbidden)
	if _, err := c.Create(ctx, request()); !errors.Is(err, payments.ErrForbidden) {
		t.Fatalf("refused create: %v", err)
	}
	if n := len(d.Checkouts()); n != 0 {
		t.Fatalf("a refused create made %d checkouts", n)
	}
	d.LoseAnswers(1)
	r := request()
	if _, err := c.Create(ctx, r); !errors.Is(err, payments.ErrOutcomeUnknown) {
		t.Fatalf("lost create: %v", err)
	}
	cos := d.Checkouts()
	if len(cos) != 1 || cos[0].OrderRef != r.OrderRef {
		t.Fatalf("the lost create must have made its checkout: %v", cos)
	}
	if err := d.Pay(ctx, cos[0].ID); err != nil {
		t.Fatal(err)
	}
	d.LoseAnswers(1)
	if _, err := c.Refund(ctx, payin.RefundRequest{ID: cos[0].ID, Full: true}); !errors.Is(err, payments.ErrOutcomeUnknown) {
		t.Fatalf("lost refund: %v", err)
	}
	if co, _ := d.Checkout(cos[0].ID); co.State != payments.StateRefunded {
		t.Fatalf("the lost refund must have been made: %v", co.State)
	}
}

func TestSecretNotFormatted(t *testing.T) {
	d, err := mempayin.New(mempayin.Options{Secret: secret})
	if err != nil {
		t.Fatal(err)
	}
	o := mempayin.Options{Secret: secret}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%x", "%q"} {
		for _, v := range []any{d, o, &o, struct{ O mempayin.Options }{o}} {
			s := fmt.Sprintf(verb, v)
			for _, leak := range []string{string(secret), fmt.Sprintf("%x", secret), fmt.Sprint(secret[:4])[1:8], "0x6d, 0x65"} {
				if strings.Contains(s, leak) {
					t.Errorf("%s of %T shows the secret: %s", verb, v, s)
				}
			}
		}
	}
}

func TestOpenRefusesCredentialsAndUnknownParameters(t *testing.T) {
	ctx := context.Background()
	if _, err := payin.Open(ctx, "mem://", payments.OpenCredentials("x")); !errors.Is(err, payments.ErrInvalidRequest) {
		t.Errorf("credentials: %v", err)
	}
	if _, err := payin.Open(ctx, "mem://?secret=x"); !errors.Is(err, payments.ErrInvalidRequest) {
		t.Errorf("unknown parameter: %v", err)
	}
	c, err := payin.Open(ctx, "mem://?provider=shop-b")
	if err != nil || c.Provider() != "shop-b" {
		t.Fatalf("provider parameter: %v %v", c, err)
	}
}
