package payinfake_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/payin"
	"github.com/paysdk/payments/payin/payinfake"
)

type recorder struct {
	mu     sync.Mutex
	events []payin.Event
	got    chan struct{}
}

func (r *recorder) handle(_ context.Context, e payin.Event) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
	select {
	case r.got <- struct{}{}:
	default:
	}
	return nil
}

// TestHelpers: each helper opens a client on its fake whose notifications
// reach the merchant's handler, and closes both when the test ends.
func TestHelpers(t *testing.T) {
	ctx := context.Background()
	for name, pay := range map[string]func(t *testing.T, endpoint string) (*payin.Client, payin.Request, func(co payin.Checkout)){
		"paykeeper": func(t *testing.T, endpoint string) (*payin.Client, payin.Request, func(payin.Checkout)) {
			c, srv := payinfake.PayKeeper(t)
			srv.SetSetting("informer_url", endpoint+"/paykeeper")
			return c, payin.Request{}, func(co payin.Checkout) {
				if _, err := srv.PayInvoice(co.ID); err != nil {
					t.Fatal(err)
				}
			}
		},
		"royalpay": func(t *testing.T, endpoint string) (*payin.Client, payin.Request, func(payin.Checkout)) {
			c, srv := payinfake.RoyalPay(t)
			return c, payin.Request{Method: payin.SBP, CallbackURL: endpoint + "/royalpay"}, func(co payin.Checkout) {
				id, _ := strconv.ParseInt(co.ID, 10, 64)
				if _, err := srv.Complete(id); err != nil {
					t.Fatal(err)
				}
			}
		},
		"mem": func(t *testing.T, _ string) (*payin.Client, payin.Request, func(payin.Checkout)) {
			c, d := payinfake.Mem(t)
			return c, payin.Request{}, func(co payin.Checkout) {
				if err := d.Pay(ctx, co.ID); err != nil {
					t.Fatal(err)
				}
			}
		},
	} {
		var c *payin.Client
		t.Run(name, func(t *testing.T) {
			rec := &recorder{got: make(chan struct{}, 1)}
			mux := &handlerSwitch{}
			srv := httptest.NewServer(mux)
			defer srv.Close()
			var r payin.Request
			var payFn func(payin.Checkout)
			c, r, payFn = pay(t, srv.URL+"/notify")
			h, err := payin.NewHandler(rec.handle, c)
			if err != nil {
				t.Fatal(err)
			}
			mux.set(h)
			r.OrderRef, r.Amount = "ORD-1", payments.MustMoney("1500.00", "RUB")
			co, err := c.Create(ctx, r)
			if err != nil {
				t.Fatalf("create: %v", err)
			}
			payFn(co)
			select {
			case <-rec.got:
			case <-time.After(time.Minute):
				t.Fatal("no notification reached the handler")
			}
			rec.mu.Lock()
			ev := rec.events[0]
			rec.mu.Unlock()
			if ev.Provider != name || ev.OrderRef != "ORD-1" || ev.State != payments.StateSucceeded {
				t.Fatalf("event %v", ev)
			}
		})
		if _, err := c.Get(ctx, "1"); err == nil {
			t.Errorf("%s: the client still answers after the test ended", name)
		}
	}
}

// handlerSwitch serves the handler set once the client exists.
type handlerSwitch struct {
	mu sync.Mutex
	h  http.Handler
}

func (s *handlerSwitch) set(h http.Handler) { s.mu.Lock(); s.h = h; s.mu.Unlock() }

func (s *handlerSwitch) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	h := s.h
	s.mu.Unlock()
	if h == nil {
		http.Error(w, "not ready", http.StatusServiceUnavailable)
		return
	}
	h.ServeHTTP(w, r)
}

// TestMerchantStyle is the README's pay-in example: the merchant's
// notification handling on mem://, the payer played by the test.
func TestMerchantStyle(t *testing.T) {
	ctx := context.Background()
	c, mem := payinfake.Mem(t) // mem://: checkouts in memory
	var paid []payin.Event     // the merchant's handle records what it was told
	h, err := payin.NewHandler(func(_ context.Context, e payin.Event) error { paid = append(paid, e); return nil }, c)
	if err != nil {
		t.Fatal(err)
	}
	_ = h // the merchant mounts h at /notify/; mem.Pay delivers to it in process
	co, err := c.Create(ctx, payin.Request{OrderRef: "ORD-1", Amount: payments.MustMoney("1500.00", "RUB")})
	if err != nil {
		t.Fatal(err)
	}
	if err := mem.Pay(ctx, co.ID); err != nil || len(paid) != 1 || paid[0].State != payments.StateSucceeded {
		t.Fatalf("pay: %v, events %v", err, paid)
	}
}
