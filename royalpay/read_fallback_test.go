package royalpay_test

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/royalpay"
	"github.com/paysdk/payments/royalpay/royalpaytest"
)

// readPaths are the paths of the recorded requests with Op op.
func readPaths(srv *royalpaytest.Server, op string) []string {
	var out []string
	for _, r := range srv.Requests() {
		if r.Op == op {
			out = append(out, r.Path)
		}
	}
	return out
}

// TestGetPaymentTriesTheOtherSlashFormOnceOn404: a host that routes the
// payment read only without the trailing slash (as the adapter of
// imfoxboy/Eight-Connect sends it) answers the slashed form 404; the read
// asks the other form once, on the same host, and then remembers it.
func TestGetPaymentTriesTheOtherSlashFormOnceOn404(t *testing.T) {
	srv := royalpaytest.NewServer(royalpaytest.WithT(t), royalpaytest.WithPaymentReadForm(false))
	c := newClient(t, srv)
	ctx := context.Background()
	p, err := c.CreatePayment(ctx, params(royalpay.TypeSBP, "F-1"))
	require.NoError(t, err)
	got, err := c.GetPayment(ctx, p.ID)
	require.NoError(t, err)
	assert.Equal(t, p.ID, got.ID)
	assert.Equal(t, []string{"/api/v2/payments/10442449/", "/api/v2/payments/10442449"}, readPaths(srv, royalpaytest.OpGet))

	// The form that answered is asked first from then on, alone.
	_, err = c.GetPayment(ctx, p.ID)
	require.NoError(t, err)
	assert.Equal(t, 3, srv.Count(royalpaytest.OpGet))
	// Its 404 is the payment's: not found, no second request.
	_, err = c.GetPayment(ctx, p.ID+1000)
	assert.ErrorIs(t, err, payments.ErrNotFound)
	assert.Equal(t, []string{"/api/v2/payments/10442449/", "/api/v2/payments/10442449", "/api/v2/payments/10442449",
		"/api/v2/payments/10443449"}, readPaths(srv, royalpaytest.OpGet))
}

// TestGetPaymentNotFoundInBothForms: a payment the host does not have
// costs two requests on a new client (one per form, never a third) and is
// payments.ErrNotFound keeping the HTTP status and the provider's text; a
// host that routes only the slashed form answers it at once.
func TestGetPaymentNotFoundInBothForms(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts []royalpaytest.Option
		want []string
	}{
		{"both forms routed", nil, []string{"/api/v2/payments/777/", "/api/v2/payments/777"}},
		{"slash only", []royalpaytest.Option{royalpaytest.WithPaymentReadForm(true)}, []string{"/api/v2/payments/777/", "/api/v2/payments/777"}},
		{"redirect, then 404", []royalpaytest.Option{royalpaytest.WithSlashRedirect("")}, []string{"/api/v2/payments/777/", "/api/v2/payments/777"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := royalpaytest.NewServer(append([]royalpaytest.Option{royalpaytest.WithT(t)}, tc.opts...)...)
			c := newClient(t, srv)
			_, err := c.GetPayment(context.Background(), 777)
			require.ErrorIs(t, err, payments.ErrNotFound)
			var api *payments.APIError
			require.True(t, errors.As(err, &api), "%v", err)
			assert.Equal(t, 404, api.HTTPStatus)
			assert.Equal(t, "Страница не найдена.", api.Message)
			assert.Equal(t, tc.want, readPaths(srv, royalpaytest.OpGet))
		})
	}
	srv := royalpaytest.NewServer(royalpaytest.WithT(t), royalpaytest.WithPaymentReadForm(true))
	c := newClient(t, srv)
	p, err := c.CreatePayment(context.Background(), params(royalpay.TypeSBP, "F-2"))
	require.NoError(t, err)
	_, err = c.GetPayment(context.Background(), p.ID)
	require.NoError(t, err)
	assert.Equal(t, []string{"/api/v2/payments/10442449/"}, readPaths(srv, royalpaytest.OpGet))
}

// TestAccountReadsTheDocumentsPathFirst: the account read asks GET
// /api/v1/accounts/me, the authorisation page's form; a host that has only
// /api/v2/accounts/me answers 404 there, and v2 is asked once, then first.
func TestAccountReadsTheDocumentsPathFirst(t *testing.T) {
	srv := royalpaytest.NewServer(royalpaytest.WithT(t), royalpaytest.WithAccountReadVersion(1))
	c := newClient(t, srv)
	a, err := c.Account(context.Background())
	require.NoError(t, err)
	assert.True(t, a.HasBalance)
	assert.Equal(t, []string{"/api/v1/accounts/me"}, readPaths(srv, royalpaytest.OpAccount))

	srv = royalpaytest.NewServer(royalpaytest.WithT(t), royalpaytest.WithAccountReadVersion(2))
	c = newClient(t, srv)
	a, err = c.Account(context.Background())
	require.NoError(t, err)
	assert.Equal(t, royalpaytest.DefaultBalance, a.Balance.String())
	assert.Equal(t, []string{"/api/v1/accounts/me", "/api/v2/accounts/me"}, readPaths(srv, royalpaytest.OpAccount))
	_, err = c.Account(context.Background())
	require.NoError(t, err)
	assert.Equal(t, []string{"/api/v1/accounts/me", "/api/v2/accounts/me", "/api/v2/accounts/me"}, readPaths(srv, royalpaytest.OpAccount))

	// The payout token's host is remembered apart: its first read tries
	// v1 too.
	pc, err := royalpay.New(royalpay.Credentials{Token: srv.Token(), PayoutToken: royalpaytest.DefaultPayoutToken},
		append(srv.ClientOptions(), payments.WithLimiter(payments.Unlimited()))...)
	require.NoError(t, err)
	defer pc.Close()
	_, err = pc.PayoutAccount(context.Background())
	require.NoError(t, err)
	assert.Equal(t, []string{"/api/v1/accounts/me", "/api/v2/accounts/me", "/api/v2/accounts/me", "/api/v1/accounts/me",
		"/api/v2/accounts/me"}, readPaths(srv, royalpaytest.OpAccount))
}
