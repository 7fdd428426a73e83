package paykeeperpayin_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/payin"
	"github.com/paysdk/payments/payin/paykeeperpayin"
	"github.com/paysdk/payments/paykeeper"
	"github.com/paysdk/payments/paykeeper/paykeepertest"
)

// The informer secret (and the form's) can come with OpenCredentials, with
// nothing in the environment: the handler is built and acknowledges a
// genuine notification signed with it.
func TestSecretThroughOpenCredentials(t *testing.T) {
	ctx := context.Background()
	srv := newFake(t)
	fake := payments.OpenClientOptions(append(srv.ClientOptions(), suiteOpts()...)...)
	cabinet := paykeeper.Credentials{User: paykeepertest.DefaultUser, Password: paykeepertest.DefaultPassword}
	c, err := payin.Open(ctx, "paykeeper://?base_url="+url.QueryEscape(srv.URL()), env(map[string]string{}), fake,
		payments.OpenCredentials(paykeeperpayin.Credentials{Cabinet: cabinet, Secret: secret}))
	require.NoError(t, err)
	defer c.Close()
	var events atomic.Int32
	h, err := payin.NewHandler(func(context.Context, payin.Event) error { events.Add(1); return nil }, c)
	require.NoError(t, err, "the secret came with the credentials")
	hs := httptest.NewServer(h)
	defer hs.Close()
	co, err := c.Create(ctx, request())
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, pay(t, srv, co, hs.URL+"/notify/paykeeper"))
	assert.EqualValues(t, 1, events.Load())

	// The credentials' secret wins over the environment's.
	c2, err := payin.Open(ctx, "paykeeper://?base_url="+url.QueryEscape(srv.URL()), env(map[string]string{"PAYKEEPER_SECRET": "stale"}), fake,
		payments.OpenCredentials(paykeeperpayin.Credentials{Cabinet: cabinet, Secret: secret}))
	require.NoError(t, err)
	defer c2.Close()
	h2, err := payin.NewHandler(func(context.Context, payin.Event) error { return nil }, c2)
	require.NoError(t, err)
	hs2 := httptest.NewServer(h2)
	defer hs2.Close()
	co, err = c2.Create(ctx, request())
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, pay(t, srv, co, hs2.URL+"/notify/paykeeper"))

	// Without a secret in them, the environment's is used, as before.
	c3, err := payin.Open(ctx, "paykeeper://?base_url="+url.QueryEscape(srv.URL()), env(map[string]string{"PAYKEEPER_SECRET": secret}), fake,
		payments.OpenCredentials(paykeeperpayin.Credentials{Cabinet: cabinet}))
	require.NoError(t, err)
	defer c3.Close()
	_, err = payin.NewHandler(func(context.Context, payin.Event) error { return nil }, c3)
	require.NoError(t, err)

	// No secret anywhere: Notifications refuses, naming the variable.
	c4, err := payin.Open(ctx, "paykeeper://?base_url="+url.QueryEscape(srv.URL()), env(map[string]string{}), fake,
		payments.OpenCredentials(paykeeperpayin.Credentials{Cabinet: cabinet}))
	require.NoError(t, err)
	defer c4.Close()
	_, err = payin.NewHandler(func(context.Context, payin.Event) error { return nil }, c4)
	var v *payments.ValidationError
	require.ErrorAs(t, err, &v)
	assert.Equal(t, "PAYKEEPER_SECRET", v.Field)

	// An empty cabinet login is refused outside form mode.
	_, err = payin.Open(ctx, "paykeeper://?base_url="+url.QueryEscape(srv.URL()), env(map[string]string{}), fake,
		payments.OpenCredentials(paykeeperpayin.Credentials{Secret: secret}))
	require.ErrorAs(t, err, &v)
}

// Form mode takes the form's secret word from the credentials, with or
// without the cabinet login.
func TestFormSecretThroughOpenCredentials(t *testing.T) {
	ctx := context.Background()
	srv := newFake(t)
	c, err := payin.Open(ctx, "paykeeper://?form=true&base_url="+url.QueryEscape(srv.URL()), env(map[string]string{}),
		payments.OpenCredentials(paykeeperpayin.Credentials{FormSecret: "form-w0rd"}))
	require.NoError(t, err)
	defer c.Close()
	co, err := c.Create(ctx, request())
	require.NoError(t, err)
	u, err := url.Parse(co.PaymentURL)
	require.NoError(t, err)
	q := u.Query()
	assert.Equal(t, paykeeper.FormSign(q.Get("sum"), q.Get("clientid"), q.Get("orderid"), q.Get("service_name"),
		q.Get("client_email"), q.Get("client_phone"), "form-w0rd"), q.Get("sign"))
}

// Credentials never print the password or the secrets: fmt verbs, slog's
// text and JSON handlers, encoding/json.
func TestCredentialsNeverPrintSecrets(t *testing.T) {
	cr := paykeeperpayin.Credentials{Cabinet: paykeeper.Credentials{User: "shop", Password: "pa55-w0rd"}, Secret: "inf0rmer-seed", FormSecret: "f0rm-w0rd"}
	secrets := []string{"pa55-w0rd", "inf0rmer-seed", "f0rm-w0rd"}
	var outs []string
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%d", "%x", "%X", "%q"} {
		outs = append(outs, fmt.Sprintf(verb, cr), fmt.Sprintf(verb, &cr), fmt.Sprintf(verb, []any{cr}))
	}
	var buf bytes.Buffer
	slog.New(slog.NewTextHandler(&buf, nil)).Info("x", "cred", cr)
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("x", "cred", cr, "ptr", &cr)
	outs = append(outs, buf.String())
	b, err := json.Marshal(map[string]any{"cred": cr})
	require.NoError(t, err)
	outs = append(outs, string(b))
	for _, out := range outs {
		for _, s := range secrets {
			assert.NotContains(t, out, s)
		}
	}
	assert.Contains(t, cr.String(), "shop")
	assert.Contains(t, buf.String(), "shop")
}
