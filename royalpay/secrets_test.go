package royalpay

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/internal/testcheck"
	"github.com/paysdk/payments/royalpay/royalpaytest"
)

// leaks reports the forms of secret found in s: as is, in hex (either case,
// as %x of a struct prints a string field), in base64.
func leaks(s, secret string) []string {
	var found []string
	for name, form := range map[string]string{
		"plain":  secret,
		"hex":    hex.EncodeToString([]byte(secret)),
		"HEX":    strings.ToUpper(hex.EncodeToString([]byte(secret))),
		"base64": base64.StdEncoding.EncodeToString([]byte(secret)),
	} {
		if strings.Contains(s, form) {
			found = append(found, name)
		}
	}
	return found
}

// Every exported royalpay type that holds a secret × every fmt verb × slog's
// text and JSON handlers.
func TestNoSecretInAnyFormattedValue(t *testing.T) {
	const token, cbToken = "rp-live-TOKEN-4242", "cb-static-BEARER-77"
	c, err := New(Credentials{Token: token}, payments.WithBaseURL(base))
	require.NoError(t, err)
	defer c.Close()
	h := &CallbackHandler{Client: c, BearerToken: cbToken, Handle: func(context.Context, Event) error { return nil },
		AllowedSources: []netip.Prefix{netip.MustParsePrefix("134.209.192.8/32")}}
	ph := &PayoutCallbackHandler{Client: c, BearerToken: cbToken, Handle: func(context.Context, PayoutEvent) error { return nil }}
	values := map[string]any{
		"*PayoutCallbackHandler": ph,
		"PayoutCallbackHandler":  *ph,
		"Credentials":            Credentials{Token: token},
		"*Credentials":           &Credentials{Token: token},
		"*Client":                c,
		"Client":                 *c,
		"*CallbackHandler":       h,
		"CallbackHandler":        *h, // a copy, as a careless caller prints it
		"[]any":                  []any{c, h, ph, Credentials{Token: token}},
		"struct":                 struct{ C *Client }{c},
	}
	verbs := []string{"%v", "%+v", "%#v", "%s", "%d", "%x", "%X", "%q"}
	for name, v := range values {
		for _, verb := range verbs {
			out := fmt.Sprintf(verb, v)
			assert.Empty(t, leaks(out, token), "%s with %s: %s", name, verb, out)
			assert.Empty(t, leaks(out, cbToken), "%s with %s: %s", name, verb, out)
		}
		js, err := json.Marshal(v)
		require.NoError(t, err, name)
		assert.Empty(t, leaks(string(js), token), "%s through encoding/json: %s", name, js)
		assert.Empty(t, leaks(string(js), cbToken), "%s through encoding/json: %s", name, js)
		for hname, mk := range map[string]func(*bytes.Buffer) slog.Handler{
			"text": func(b *bytes.Buffer) slog.Handler { return slog.NewTextHandler(b, nil) },
			"json": func(b *bytes.Buffer) slog.Handler { return slog.NewJSONHandler(b, nil) },
		} {
			var buf bytes.Buffer
			slog.New(mk(&buf)).Info("value", "v", v, slog.Any("any", v), slog.Group("g", "v", v))
			assert.Empty(t, leaks(buf.String(), token), "%s through slog %s: %s", name, hname, buf.String())
			assert.Empty(t, leaks(buf.String(), cbToken), "%s through slog %s: %s", name, hname, buf.String())
		}
	}
	// Still useful: the host of a client and whether a handler is set up.
	assert.Equal(t, "royalpay.Client{royal-finance.org}", fmt.Sprint(c))
	assert.Contains(t, fmt.Sprint(h), "BearerToken: [REDACTED]")
}

// A proxy or a debug page that echoes the request (Authorization header
// included) into its error body: the token never reaches an error.
func TestEchoingServerPutsNoTokenIntoErrors(t *testing.T) {
	const token = "rp-live-ECHOED-9d8f7e6a"
	srv := royalpaytest.NewServer(royalpaytest.WithT(t), royalpaytest.WithToken(token))
	c, err := New(Credentials{Token: token}, append(srv.ClientOptions(), payments.WithTestTiming())...)
	require.NoError(t, err)
	defer c.Close()
	check := func(name string, err error) {
		t.Helper()
		require.Error(t, err, name)
		testcheck.TypedError(t, err, token)
		assert.Empty(t, leaks(err.Error(), token), "%s: %v", name, err)
		assert.Empty(t, leaks(fmt.Sprintf("%+v %#v", err, err), token), name)
		for e := error(err); e != nil; e = errors.Unwrap(e) {
			var api *payments.APIError
			if errors.As(e, &api) {
				assert.Empty(t, leaks(api.Message+api.Code, token), "%s: APIError.Message %q", name, api.Message)
				assert.Contains(t, api.Message, "[REDACTED]", "%s: the echo is kept, scrubbed", name)
				return
			}
		}
		t.Fatalf("%s: no APIError in %v", name, err)
	}
	p := CreateParams{Sum: payments.MustDecimal("1500"), Type: TypeSBP, OutterID: "ECHO-1"}
	for _, status := range []int{400, 401, 403, 500, 502} {
		srv.EchoNext(1, status)
		_, err = c.CreatePayment(context.Background(), p)
		check(fmt.Sprintf("create, text echo, %d", status), err)
		srv.EchoJSONNext(1, status)
		_, err = c.CreatePayment(context.Background(), p)
		check(fmt.Sprintf("create, JSON echo, %d", status), err)
	}
	srv.EchoGetNext(2, 404) // both forms of the path (GetPayment asks the other after a 404)
	_, err = c.GetPayment(context.Background(), 10442449)
	check("get, text echo", err)

	// A 2xx that echoes: unreadable, so outcome-unknown, and scrubbed too.
	srv.EchoNext(1, 200)
	_, err = c.CreatePayment(context.Background(), p)
	check("create, 200 echo", err)
	assert.ErrorIs(t, err, payments.ErrOutcomeUnknown)
	assert.Empty(t, srv.Payments(), "an echo creates nothing")
}
