package royalpay

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/jarcoal/httpmock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/paysdk/payments"
)

type routeAnswer struct {
	status int
	body   string
	loc    string
}

// routedClient is a client whose transport answers each path as routes
// says (404 "no route" for any other), recording host and path.
func routedClient(t *testing.T, routes map[string]routeAnswer) (*Client, *[]string) {
	t.Helper()
	mock := httpmock.NewMockTransport()
	var asked []string
	mock.RegisterNoResponder(func(r *http.Request) (*http.Response, error) {
		asked = append(asked, r.URL.Host+r.URL.Path)
		a, ok := routes[r.URL.Path]
		if !ok {
			a = routeAnswer{status: 404, body: `<html><title>Not Found</title></html>`}
		}
		resp := httpmock.NewStringResponse(a.status, a.body)
		if a.loc != "" {
			resp.Header.Set("Location", a.loc)
		}
		return resp, nil
	})
	c, err := New(Credentials{Token: "tok", PayoutToken: "ptok"}, payments.WithBaseURL(base), payments.WithTransport(mock),
		payments.WithTestTiming(), payments.WithLimiter(payments.Unlimited()))
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return c, &asked
}

// TestReadFallbackIsOneRequestOnTheSameHost: the other form is asked at
// most once, on the base URL's host, and only after a 404 or a slash-only
// redirect; what it answers decides, except a redirect back.
func TestReadFallbackIsOneRequestOnTheSameHost(t *testing.T) {
	const slash, bare = "/api/v2/payments/7/", "/api/v2/payments/7"
	const host = "royal-finance.org"
	payment := `{"id":7,"sum":"10.00","status":"created"}`
	for _, tc := range []struct {
		name   string
		routes map[string]routeAnswer
		asked  []string
		status int    // 0: success
		msg    string // the error's provider text
	}{
		{"slash answers", map[string]routeAnswer{slash: {200, payment, ""}}, []string{host + slash}, 0, ""},
		{"bare only", map[string]routeAnswer{bare: {200, payment, ""}}, []string{host + slash, host + bare}, 0, ""},
		// Django with APPEND_SLASH: the bare form redirects back; the
		// slashed form's 404 is the payment's.
		{"redirected back", map[string]routeAnswer{slash: {404, `{"detail":"Не найдено."}`, ""}, bare: {301, "", slash}},
			[]string{host + slash, host + bare}, 404, "Не найдено."},
		// A route missing on the slashed form, the payment missing on the
		// bare one: the second answer's text is kept.
		{"404 on both", map[string]routeAnswer{bare: {404, `{"detail":"Не найдено."}`, ""}},
			[]string{host + slash, host + bare}, 404, "Не найдено."},
		// The other form failing otherwise is not "not found".
		{"other form refuses", map[string]routeAnswer{bare: {400, `{"detail":"bad"}`, ""}}, []string{host + slash, host + bare}, 400, "bad"},
		// Only a 404 (or the slash redirect) leads to the other form.
		{"401", map[string]routeAnswer{slash: {401, `{"detail":"Недопустимый токен."}`, ""}, bare: {200, payment, ""}},
			[]string{host + slash}, 401, "Недопустимый токен."},
		{"redirect elsewhere", map[string]routeAnswer{slash: {301, "", "https://evil.example" + bare}, bare: {200, payment, ""}},
			[]string{host + slash}, 301, ""},
		{"redirect then 404", map[string]routeAnswer{slash: {308, "", bare}, bare: {404, `{"detail":"Не найдено."}`, ""}},
			[]string{host + slash, host + bare}, 404, "Не найдено."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, asked := routedClient(t, tc.routes)
			p, err := c.GetPayment(context.Background(), 7)
			assert.Equal(t, tc.asked, *asked)
			if tc.status == 0 {
				require.NoError(t, err)
				assert.Equal(t, int64(7), p.ID)
				return
			}
			var api *payments.APIError
			require.True(t, errors.As(err, &api), "%v", err)
			assert.Equal(t, tc.status, api.HTTPStatus)
			assert.Equal(t, tc.status == 404, errors.Is(err, payments.ErrNotFound), "%v", err)
			if tc.msg != "" {
				assert.Equal(t, tc.msg, api.Message)
			}
		})
	}
}

// TestAccountNotFoundOnBothVersions: v1 (the document's), then v2 once;
// a 404 on both is not found with the second answer's status and text.
func TestAccountNotFoundOnBothVersions(t *testing.T) {
	c, asked := routedClient(t, map[string]routeAnswer{"/api/v2/accounts/me": {404, `{"detail":"Страница не найдена."}`, ""}})
	_, err := c.Account(context.Background())
	require.ErrorIs(t, err, payments.ErrNotFound)
	var api *payments.APIError
	require.True(t, errors.As(err, &api))
	assert.Equal(t, 404, api.HTTPStatus)
	assert.Equal(t, "Страница не найдена.", api.Message)
	assert.Equal(t, []string{"royal-finance.org/api/v1/accounts/me", "royal-finance.org/api/v2/accounts/me"}, *asked)

	// v1 answering: v2 is never asked.
	c, asked = routedClient(t, map[string]routeAnswer{"/api/v1/accounts/me": {200, `{"balance":"5.00"}`, ""}})
	a, err := c.PayoutAccount(context.Background())
	require.NoError(t, err)
	assert.Equal(t, "5.00", a.Balance.String())
	assert.Equal(t, []string{"royal-finance.org/api/v1/accounts/me"}, *asked)
}
