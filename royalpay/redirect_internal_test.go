package royalpay

import (
	"context"
	"encoding/json"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/paysdk/payments"
)

func TestSlashRedirectOnlyTogglesTheSlash(t *testing.T) {
	base, _ := url.Parse("https://royal-finance.org/root")
	moved := func(loc string) error {
		return &payments.APIError{HTTPStatus: 301, Category: payments.ErrUnavailable, Detail: &movedTo{location: loc}}
	}
	const path = "/api/v2/payments/7/"
	for loc, want := range map[string]string{
		"/root/api/v2/payments/7":                              "/api/v2/payments/7",
		"https://royal-finance.org/root/api/v2/payments/7":     "/api/v2/payments/7",
		"/root/api/v2/payments/7/":                             "", // the same path: a loop
		"/root/api/v2/payments/8":                              "", // another path
		"/api/v2/payments/7":                                   "", // outside the base path
		"https://evil.example/root/api/v2/payments/7":          "", // another host
		"http://royal-finance.org/root/api/v2/payments/7":      "", // another scheme
		"/root/api/v2/payments/7?x=1":                          "", // a query
		"/root/api/v2/payments/7//":                            "",
		"https://u:p@royal-finance.org/root/api/v2/payments/7": "",
	} {
		got, ok := slashRedirect(base, path, moved(loc))
		assert.Equal(t, want != "", ok, loc)
		assert.Equal(t, want, got, loc)
	}
	_, ok := slashRedirect(base, path, &payments.APIError{HTTPStatus: 302})
	assert.False(t, ok)
}

func TestCreateSendsRedirectURLs(t *testing.T) {
	c, log := mockClient(t, 200, string(fixture(t, "create_response_sbp.json")))
	p := docRequests[0]
	p.RedirectURL, p.SuccessRedirectURL, p.FailRedirectURL = "https://shop.example/r", "https://shop.example/ok", "https://shop.example/fail"
	_, err := c.CreatePayment(context.Background(), p)
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal((*log)[0].body, &m))
	assert.Equal(t, "https://shop.example/r", m["redirect_url"])
	assert.Equal(t, "https://shop.example/ok", m["success_redirect_url"])
	assert.Equal(t, "https://shop.example/fail", m["fail_redirect_url"])
	p.FailRedirectURL = "javascript:alert(1)"
	_, err = c.CreatePayment(context.Background(), p)
	var v *payments.ValidationError
	require.ErrorAs(t, err, &v)
	assert.Equal(t, "FailRedirectURL", v.Field)
	assert.Len(t, *log, 1)
}

func TestAccountKeepsUnknownShapes(t *testing.T) {
	for body, has := range map[string]bool{`[1,2]`: false, `{"balance":{"rub":1}}`: false, `{"balance":"12.50"}`: true, `{"balance":12}`: true} {
		c, _ := mockClient(t, 200, body)
		a, err := c.Account(context.Background())
		require.NoError(t, err, body)
		assert.Equal(t, has, a.HasBalance, body)
		assert.JSONEq(t, body, string(a.Raw))
	}
	c, _ := mockClient(t, 200, `<html>`)
	_, err := c.Account(context.Background())
	assert.Error(t, err)
}
