package royalpaypayout_test

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jarcoal/httpmock"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/payout"
	"github.com/paysdk/payments/payout/payouttest"
	"github.com/paysdk/payments/payout/royalpaypayout"
	"github.com/paysdk/payments/royalpay"
	"github.com/paysdk/payments/royalpay/royalpaytest"
)

var nextRef atomic.Int64

func newRef() string { return "ORD-" + strconv.FormatInt(nextRef.Add(1), 10) }

func newDriver(t *testing.T, srv *royalpaytest.Server, opts ...payments.Option) *royalpaypayout.Driver {
	t.Helper()
	c, err := royalpay.New(royalpay.Credentials{PayoutToken: royalpaytest.DefaultPayoutToken}, append(srv.ClientOptions(), opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	d, err := royalpaypayout.New(c, royalpaypayout.Options{PollInterval: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

func fixture(t *testing.T, opts ...payments.Option) payouttest.Fixture {
	srv := royalpaytest.NewServer(royalpaytest.WithT(t))
	d := newDriver(t, srv, opts...)
	return payouttest.Fixture{
		Driver:      d,
		LoseAnswers: srv.DropPayoutNext,
		Held:        func(ref string) int { return len(srv.PayoutsByOutterID(ref)) },
		Payouts:     func() int { return len(srv.Payouts()) },
		Requests:    func() int { return len(srv.Requests()) },
		Settle: func() {
			for _, p := range srv.Payouts() {
				if _, err := srv.CompletePayout(p.ID); err != nil {
					t.Error(err)
				}
			}
		},
	}
}

func harness() payouttest.Harness {
	return payouttest.Harness{
		New: fixture,
		Destination: func(kind payout.Kind) payout.Destination {
			if kind == payout.Card {
				return payout.Destination{Kind: kind, Account: "4111111111111111"}
			}
			return payout.Destination{Kind: kind, Account: "79161234567", Bank: "100000000004"}
		},
		Amount:         payments.MustMoney("1500", "RUB"),
		NewRef:         newRef,
		BadRef:         "ORD 1/2",
		ProviderClient: new(*royalpay.Client),
	}
}

func TestConformance(t *testing.T) { payouttest.RunConformanceTests(t, harness()) }

// TestSendMapsFields: the body the fake received names the SBP bank by
// RoyalPay's name (the member id mapped), the amount in whole roubles, the
// Ref as outter_id, and the card method INTERBANK.
func TestSendMapsFields(t *testing.T) {
	srv := royalpaytest.NewServer(royalpaytest.WithT(t))
	c := payout.NewClient(newDriver(t, srv))
	ctx := context.Background()
	if _, err := c.Send(ctx, payout.Request{Ref: "SBP-1", Amount: payments.MustMoney("1500", "RUB"),
		To: payout.Destination{Kind: payout.SBP, Account: "79161234567", Bank: "100000000004"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Send(ctx, payout.Request{Ref: "CARD-1", Amount: payments.MustMoney("700.00", "RUB"),
		To: payout.Destination{Kind: payout.Card, Account: "4111111111111111"}}); err != nil {
		t.Fatal(err)
	}
	ps := srv.Payouts()
	if len(ps) != 2 {
		t.Fatalf("%d payouts", len(ps))
	}
	if p := ps[0]; p.Method != "SBP" || p.Bank != "Tinkoff" || p.Amount != 1500 || p.OutterID != "SBP-1" || p.Requisite != "79161234567" || p.Geo != "Россия" {
		t.Errorf("sbp payout at the fake: %+v", p)
	}
	if p := ps[1]; p.Method != "INTERBANK" || p.Amount != 700 || p.OutterID != "CARD-1" || p.Bank != "" {
		t.Errorf("card payout at the fake: %+v", p)
	}
}

// TestSendRefusesBeforeSending: what RoyalPay cannot take is refused with a
// ValidationError and no request.
func TestSendRefusesBeforeSending(t *testing.T) {
	srv := royalpaytest.NewServer(royalpaytest.WithT(t))
	c := payout.NewClient(newDriver(t, srv))
	for name, r := range map[string]payout.Request{
		"fraction":         {Ref: "A1", Amount: payments.MustMoney("10.50", "RUB"), To: payout.Destination{Kind: payout.Card, Account: "4111111111111111"}},
		"luhn":             {Ref: "A2", Amount: payments.MustMoney("10", "RUB"), To: payout.Destination{Kind: payout.Card, Account: "4111111111111112"}},
		"unknown sbp bank": {Ref: "A3", Amount: payments.MustMoney("10", "RUB"), To: payout.Destination{Kind: payout.SBP, Account: "79161234567", Bank: "999"}},
		"mobile":           {Ref: "A4", Amount: payments.MustMoney("10", "RUB"), To: payout.Destination{Kind: payout.Mobile, Account: "79161234567"}},
	} {
		_, err := c.Send(context.Background(), r)
		var v *payments.ValidationError
		if !errors.As(err, &v) {
			t.Errorf("%s: %v, want a ValidationError", name, err)
		}
	}
	if n := len(srv.Requests()); n != 0 {
		t.Errorf("%d requests sent", n)
	}
}

// TestWaitConfirmIsNotFinal: Wait does not stop at wait_confirm.
func TestWaitConfirmIsNotFinal(t *testing.T) {
	srv := royalpaytest.NewServer(royalpaytest.WithT(t), royalpaytest.WithPayoutCompleteAfterPolls(4))
	c := payout.NewClient(newDriver(t, srv))
	ctx := context.Background()
	p, err := c.Send(ctx, payout.Request{Ref: "W-1", Amount: payments.MustMoney("100", "RUB"),
		To: payout.Destination{Kind: payout.Card, Account: "4111111111111111"}})
	if err != nil {
		t.Fatal(err)
	}
	id, _ := strconv.ParseInt(p.ProviderID, 10, 64)
	if _, err := srv.WaitConfirm(id); err != nil { // no callback URL: stays wait_confirm
		t.Fatal(err)
	}
	if got, _ := c.Get(ctx, "W-1"); got.State != payments.StatePending || got.Code != "wait_confirm" {
		t.Fatalf("wait_confirm read as %v %q", got.State, got.Code)
	}
	got, err := c.Wait(ctx, payout.Query{Ref: "W-1"})
	if err != nil || got.State != payments.StateSucceeded {
		t.Fatalf("wait: %v %v", got.State, err)
	}
}

func TestOpenFromURL(t *testing.T) {
	srv := royalpaytest.NewServer(royalpaytest.WithT(t))
	env := map[string]string{royalpaypayout.EnvPayoutToken: royalpaytest.DefaultPayoutToken}
	c, err := payout.Open(context.Background(), "royalpay://?base_url="+srv.URL()+"&poll_interval=2s&card_method=SBER",
		payments.OpenEnv(func(k string) (string, bool) { v, ok := env[k]; return v, ok }),
		payments.OpenClientOptions(srv.ClientOptions()...))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if caps := c.Capabilities(); caps.PollInterval != 2*time.Second || caps.Provider != "royalpay" {
		t.Fatalf("caps %+v", caps)
	}
	if _, err := payout.Open(context.Background(), "royalpay://?card_method=WALLET",
		payments.OpenEnv(func(k string) (string, bool) { v, ok := env[k]; return v, ok }),
		payments.OpenClientOptions(srv.ClientOptions()...)); !errors.Is(err, payments.ErrInvalidRequest) {
		t.Fatalf("bad card_method: %v", err)
	}
}

// TestConcurrentSendsOfOneRefPayOnce: Sends of one Ref in one driver are
// serialised around the lookup and the create.
func TestConcurrentSendsOfOneRefPayOnce(t *testing.T) {
	srv := royalpaytest.NewServer(royalpaytest.WithT(t))
	c := payout.NewClient(newDriver(t, srv, payments.WithLimiter(payments.Unlimited())))
	r := payout.Request{Ref: "SAME-1", Amount: payments.MustMoney("100", "RUB"), To: payout.Destination{Kind: payout.Card, Account: "4111111111111111"}}
	errs := make(chan error, 10)
	for i := 0; i < 10; i++ {
		go func() { _, err := c.Send(context.Background(), r); errs <- err }()
	}
	for i := 0; i < 10; i++ {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	if n := len(srv.PayoutsByOutterID("SAME-1")); n != 1 {
		t.Fatalf("%d payouts for one Ref sent 10 times at once", n)
	}
}

// TestBalanceWithoutABalanceIsNotSupported: an account answer without a
// balance field is ErrNotSupported, not a zero balance.
func TestBalanceWithoutABalanceIsNotSupported(t *testing.T) {
	srv := royalpaytest.NewServer(royalpaytest.WithT(t), royalpaytest.WithBalance(""))
	_, err := payout.NewClient(newDriver(t, srv)).Balance(context.Background())
	if !errors.Is(err, payments.ErrNotSupported) {
		t.Fatalf("%v, want ErrNotSupported", err)
	}
}

// TestSendCreatesOnlyAfterAnEmptyList: a lookup answered 404 (maybe a host
// without the route), 500, or a list without the Ref creates nothing.
func TestSendCreatesOnlyAfterAnEmptyList(t *testing.T) {
	for _, tc := range []struct {
		status int
		body   string
	}{{404, `<h1>Not Found</h1>`}, {404, `{"detail":"Не найдено."}`}, {500, `oops`}, {200, `[{"id":1,"status":"completed","outter_id":"OTHER"}]`}, {200, `{"detail":"x"}`}} {
		mock := httpmock.NewMockTransport()
		var posts atomic.Int32
		mock.RegisterNoResponder(func(r *http.Request) (*http.Response, error) {
			if r.Method == http.MethodPost {
				posts.Add(1)
				return httpmock.NewStringResponse(201, `{"id":1,"status":"pending","outter_id":"L-1"}`), nil
			}
			return httpmock.NewStringResponse(tc.status, tc.body), nil
		})
		rc, err := royalpay.New(royalpay.Credentials{PayoutToken: "t"}, payments.WithBaseURL("https://royal-pay.org"), payments.WithTransport(mock), payments.WithTestTiming())
		if err != nil {
			t.Fatal(err)
		}
		d, _ := royalpaypayout.New(rc, royalpaypayout.Options{})
		_, err = payout.NewClient(d).Send(context.Background(), payout.Request{Ref: "L-1", Amount: payments.MustMoney("10", "RUB"),
			To: payout.Destination{Kind: payout.Card, Account: "4111111111111111"}})
		if err == nil || posts.Load() != 0 {
			t.Errorf("lookup %d %s: err %v, %d creates", tc.status, tc.body, err, posts.Load())
		}
		d.Close()
	}
}

// TestSendOfAFoundRefTellsItsOwnOutcome: a Send of a Ref RoyalPay already
// has does not report the new request's amount as paid, and a failed payout
// found is an error, not an accepted send.
func TestSendOfAFoundRefTellsItsOwnOutcome(t *testing.T) {
	srv := royalpaytest.NewServer(royalpaytest.WithT(t))
	c := payout.NewClient(newDriver(t, srv, payments.WithLimiter(payments.Unlimited())))
	to := payout.Destination{Kind: payout.Card, Account: "4111111111111111"}
	first, err := c.Send(context.Background(), payout.Request{Ref: "FOUND-1", Amount: payments.MustMoney("100", "RUB"), To: to})
	if err != nil {
		t.Fatal(err)
	}
	again, err := c.Send(context.Background(), payout.Request{Ref: "FOUND-1", Amount: payments.MustMoney("5000", "RUB"), To: to})
	if err != nil {
		t.Fatal(err)
	}
	if !again.Amount.IsZero() || again.To != (payout.Destination{}) {
		t.Fatalf("found payout reported as %s to %v: not sent in this call", again.Amount, again.To)
	}
	if n := len(srv.PayoutsByOutterID("FOUND-1")); n != 1 {
		t.Fatalf("%d payouts", n)
	}
	id, _ := strconv.ParseInt(first.ProviderID, 10, 64)
	if _, err := srv.FailPayout(id); err != nil {
		t.Fatal(err)
	}
	p, err := c.Send(context.Background(), payout.Request{Ref: "FOUND-1", Amount: payments.MustMoney("100", "RUB"), To: to})
	if err == nil || !errors.Is(err, payments.ErrDeclined) || p.State != payments.StateFailed {
		t.Fatalf("failed payout found: %v, %v; want a declined error", p.State, err)
	}
}
