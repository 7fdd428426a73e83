package paykeeperpayin_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/payin"
	"github.com/paysdk/payments/payin/paykeeperpayin"
	"github.com/paysdk/payments/paykeeper"
	"github.com/paysdk/payments/paykeeper/paykeepertest"
)

const formSecret = "form-secret-w0rd"

// followForm opens the checkout's link as the payer's browser would and
// returns the invoice the fake made of it.
func followForm(t *testing.T, srv *paykeepertest.Server, co payin.Checkout) string {
	t.Helper()
	hc := *srv.Client()
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := hc.Get(co.PaymentURL)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusFound, resp.StatusCode, "the fake accepts the signed link")
	return strings.Trim(strings.TrimPrefix(resp.Header.Get("Location"), srv.URL()+"/bill/"), "/")
}

// Form mode without the cabinet login: Create signs and sends nothing, the
// link is accepted by the fake; Get and Refund are not supported,
// notifications refused.
func TestFormModeWithoutTheCabinet(t *testing.T) {
	ctx := context.Background()
	srv := paykeepertest.NewServer(paykeepertest.WithT(t), paykeepertest.WithFormSecret(formSecret))
	c, err := payin.Open(ctx, "paykeeper://?form=true&base_url="+url.QueryEscape(srv.URL()),
		env(map[string]string{"PAYKEEPER_FORM_SECRET": formSecret}))
	require.NoError(t, err)
	defer c.Close()

	r := request()
	co, err := c.Create(ctx, r)
	require.NoError(t, err)
	assert.Empty(t, srv.Requests(), "nothing sent: no token, no API call")
	assert.Equal(t, paykeeperpayin.FormIDPrefix+r.OrderRef, co.ID)
	assert.Equal(t, payments.StatePending, co.State)
	u, err := url.Parse(co.PaymentURL)
	require.NoError(t, err)
	assert.Equal(t, "/create/", u.Path)
	q := u.Query()
	assert.Equal(t, "1500.00", q.Get("sum"))
	assert.Equal(t, r.OrderRef, q.Get("orderid"))
	assert.Equal(t, "Иванов Иван", q.Get("clientid"))
	assert.Equal(t, r.Description, q.Get("service_name"))
	assert.Equal(t, r.ReturnURL, q.Get("user_result_callback"))
	assert.Equal(t, paykeeper.FormSign("1500.00", "Иванов Иван", r.OrderRef, r.Description, r.Customer.Email, r.Customer.Phone, formSecret), q.Get("sign"))

	inv, ok := srv.Invoice(followForm(t, srv, co))
	require.True(t, ok)
	assert.Equal(t, r.OrderRef, inv.OrderID)

	_, err = c.Get(ctx, co.ID)
	assert.ErrorIs(t, err, payments.ErrNotSupported)
	_, err = c.Refund(ctx, payin.RefundRequest{ID: co.ID, Full: true})
	assert.ErrorIs(t, err, payments.ErrNotSupported)
	_, err = payin.NewHandler(func(context.Context, payin.Event) error { return nil }, c)
	var v *payments.ValidationError
	require.ErrorAs(t, err, &v)
	assert.Equal(t, "PAYKEEPER_USER", v.Field)
	var pk *paykeeper.Client
	assert.False(t, c.As(&pk))

	_, err = c.Create(ctx, payin.Request{Amount: payments.MustMoney("1", "RUB"), Method: payin.AnyMethod})
	assert.Error(t, err, "no order ref: refused before signing")
}

// Form mode with the cabinet login: the payer pays the form's invoice and the
// notification reaches the portable handler, confirmed through the API.
func TestFormModeEndToEnd(t *testing.T) {
	ctx := context.Background()
	srv := paykeepertest.NewServer(paykeepertest.WithT(t), paykeepertest.WithFormSecret(formSecret),
		paykeepertest.WithNotifications("http://127.0.0.1:1/not-set-yet", secret))
	c, err := payin.Open(ctx, "paykeeper://?form=true", env(map[string]string{
		"PAYKEEPER_FORM_SECRET": formSecret, "PAYKEEPER_SECRET": secret, "PAYKEEPER_URL": srv.URL(),
		"PAYKEEPER_USER": paykeepertest.DefaultUser, "PAYKEEPER_PASSWORD": paykeepertest.DefaultPassword,
	}), payments.OpenClientOptions(append(srv.ClientOptions(), suiteOpts()...)...))
	require.NoError(t, err)
	defer c.Close()
	var (
		mu     sync.Mutex
		events []payin.Event
	)
	h, err := payin.NewHandler(func(_ context.Context, e payin.Event) error {
		mu.Lock()
		events = append(events, e)
		mu.Unlock()
		return nil
	}, c)
	require.NoError(t, err)
	hs := httptest.NewServer(h)
	defer hs.Close()
	srv.SetSetting("informer_url", hs.URL+"/notify/paykeeper")

	r := request()
	co, err := c.Create(ctx, r)
	require.NoError(t, err)
	assert.Empty(t, srv.Requests(), "Create sends nothing")
	invoiceID := followForm(t, srv, co)
	paymentID, err := srv.PayInvoice(invoiceID)
	require.NoError(t, err)
	mu.Lock()
	require.Len(t, events, 1)
	assert.Equal(t, r.OrderRef, events[0].OrderRef)
	assert.Equal(t, paymentID, events[0].ProviderID)
	assert.True(t, events[0].Amount.Equal(r.Amount))
	assert.Equal(t, payments.StateSucceeded, events[0].State)
	mu.Unlock()

	// A shop numbering its orders with digits: the form checkout of order
	// <invoiceID> is not the paid invoice of that number. Get must not call
	// it paid, nor Refund refund that invoice's payment.
	r.OrderRef = invoiceID
	co2, err := c.Create(ctx, r)
	require.NoError(t, err)
	got, err := c.Get(ctx, co2.ID)
	assert.ErrorIs(t, err, payments.ErrNotSupported, "got %+v", got)
	_, err = c.Refund(ctx, payin.RefundRequest{ID: co2.ID, Full: true})
	assert.ErrorIs(t, err, payments.ErrNotSupported)
	p, ok := srv.Payment(paymentID)
	require.True(t, ok)
	assert.Empty(t, p.Refunds, "nothing refunded")
	_, err = c.Get(ctx, invoiceID)
	assert.NoError(t, err, "invoice ids still read with the cabinet login")
}

func TestFormModeOpenRefusals(t *testing.T) {
	ctx := context.Background()
	refused := func(field, u string, m map[string]string) {
		t.Helper()
		_, err := payin.Open(ctx, u, env(m))
		var v *payments.ValidationError
		require.ErrorAs(t, err, &v, u)
		assert.Equal(t, field, v.Field, "%v", err)
	}
	refused("PAYKEEPER_FORM_SECRET", "paykeeper://?form=true", map[string]string{"PAYKEEPER_URL": "https://a.server.paykeeper.ru"})
	refused("PAYKEEPER_URL", "paykeeper://?form=true", map[string]string{"PAYKEEPER_FORM_SECRET": formSecret})
	refused("serverURL", "paykeeper://?form=true", map[string]string{"PAYKEEPER_FORM_SECRET": formSecret, "PAYKEEPER_URL": "http://a.server.paykeeper.ru"})
	refused("form", "paykeeper://?form=yes", map[string]string{"PAYKEEPER_FORM_SECRET": formSecret, "PAYKEEPER_URL": "https://a.server.paykeeper.ru"})
	refused("PAYKEEPER_PASSWORD", "paykeeper://?form=true", map[string]string{"PAYKEEPER_FORM_SECRET": formSecret,
		"PAYKEEPER_URL": "https://a.server.paykeeper.ru", "PAYKEEPER_USER": "demo"})
	_, err := paykeeperpayin.NewForm("https://a.server.paykeeper.ru", nil, paykeeperpayin.Options{})
	var v *payments.ValidationError
	require.ErrorAs(t, err, &v)
}

func TestFormSecretNeverPrints(t *testing.T) {
	d, err := paykeeperpayin.NewForm("https://a.server.paykeeper.ru", nil, paykeeperpayin.Options{FormSecret: formSecret, Secret: secret})
	require.NoError(t, err)
	var b strings.Builder
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%x", "%d"} {
		fmt.Fprintf(&b, verb+"\n", d)
		fmt.Fprintf(&b, verb+"\n", paykeeperpayin.Options{FormSecret: formSecret})
	}
	slog.New(slog.NewJSONHandler(&b, nil)).Info("d", "driver", d, "opts", paykeeperpayin.Options{FormSecret: formSecret})
	assert.NotContains(t, b.String(), formSecret)
	assert.NotContains(t, b.String(), secret)
	assert.NotContains(t, b.String(), fmt.Sprintf("%x", formSecret))
}
