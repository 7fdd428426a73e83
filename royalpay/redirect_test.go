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

// TestGetPaymentFollowsTheSlashRedirectOnce: a 301 to the same path without
// the trailing slash is followed once, and the payment read.
func TestGetPaymentFollowsTheSlashRedirectOnce(t *testing.T) {
	srv := royalpaytest.NewServer(royalpaytest.WithT(t), royalpaytest.WithSlashRedirect(""))
	c := newClient(t, srv)
	p, err := c.CreatePayment(context.Background(), params(royalpay.TypeSBP, "R-1"))
	require.NoError(t, err)
	got, err := c.GetPayment(context.Background(), p.ID)
	require.NoError(t, err)
	assert.Equal(t, p.ID, got.ID)
	var paths []string
	for _, r := range srv.Requests() {
		if r.Op == royalpaytest.OpGet {
			paths = append(paths, r.Path)
		}
	}
	assert.Equal(t, []string{"/api/v2/payments/10442449/", "/api/v2/payments/10442449"}, paths)
}

// TestGetPaymentNeverFollowsToAnotherHost: the same redirect to another host
// is the error it is, and nothing more is sent.
func TestGetPaymentNeverFollowsToAnotherHost(t *testing.T) {
	srv := royalpaytest.NewServer(royalpaytest.WithT(t), royalpaytest.WithSlashRedirect("evil.example"))
	c := newClient(t, srv)
	p, err := c.CreatePayment(context.Background(), params(royalpay.TypeSBP, "R-2"))
	require.NoError(t, err)
	_, err = c.GetPayment(context.Background(), p.ID)
	var api *payments.APIError
	require.True(t, errors.As(err, &api), "%v", err)
	assert.Equal(t, 301, api.HTTPStatus)
	assert.Equal(t, 1, srv.Count(royalpaytest.OpGet))
}

func TestAccountOnTheFake(t *testing.T) {
	srv := royalpaytest.NewServer(royalpaytest.WithT(t))
	c := newClient(t, srv)
	a, err := c.Account(context.Background())
	require.NoError(t, err)
	assert.True(t, a.HasBalance)
	assert.Equal(t, royalpaytest.DefaultBalance, a.Balance.String())
	assert.Equal(t, "RUB", a.Currency)
	assert.Equal(t, 1, srv.Count(royalpaytest.OpAccount))

	srv2 := royalpaytest.NewServer(royalpaytest.WithT(t), royalpaytest.WithBalance(""))
	a, err = newClient(t, srv2).Account(context.Background())
	require.NoError(t, err)
	assert.False(t, a.HasBalance)
	assert.Contains(t, string(a.Raw), `"username"`)
}
