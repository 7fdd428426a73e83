package paykeeper

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/jarcoal/httpmock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/paykeeper/paykeepertest"
)

const (
	testPassword = "hunter2-pk"
	testToken    = "fd50e47596cff6c63c7ea0a633c0d2a8"
)

// printings renders v every way a merchant might print or log it.
func printings(v any) map[string]string {
	out := map[string]string{}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%d", "%x", "%X", "%q", "%10.3v", "%T"} {
		out[verb] = fmt.Sprintf(verb, v)
	}
	out["nested %+v"] = fmt.Sprintf("%+v", struct{ V any }{v})
	out["nested %d"] = fmt.Sprintf("%d", []any{v})
	out["Sprint"] = fmt.Sprint(v)
	for name, h := range map[string]func(io.Writer) slog.Handler{
		"slog text": func(w io.Writer) slog.Handler { return slog.NewTextHandler(w, nil) },
		"slog json": func(w io.Writer) slog.Handler { return slog.NewJSONHandler(w, nil) },
	} {
		var b bytes.Buffer
		slog.New(h(&b)).Info("x", "v", v)
		out[name] = b.String()
	}
	return out
}

// TestSecretsNeverPrint: every paykeeper type that holds a secret, printed
// with every fmt verb and through slog's text and JSON handlers, shows none.
func TestSecretsNeverPrint(t *testing.T) {
	basic := base64.StdEncoding.EncodeToString([]byte("demo:" + testPassword))
	c, _ := mockAnswers(t, answer{200, `{"result":"success"}`, nil})
	require.NoError(t, c.ResetNotificationCounter(context.Background(), "1")) // the token is held now
	secrets := []string{testPassword, basic, testToken, "seed-secret", "smtp-secret", "user-secret", "informer-secret"}

	values := map[string]any{
		"Credentials":          Credentials{User: "demo", Password: testPassword},
		"*Credentials":         &Credentials{User: "demo", Password: testPassword},
		"*Client":              c,
		"Client":               *c,
		"OrganizationSettings": OrganizationSettings{ShopName: "s", InformerSeed: "seed-secret", SMTPPassword: "smtp-secret", All: map[string]string{"informer_seed": "seed-secret", "smtp_password": "smtp-secret"}},
		"NewUser":              NewUser{Login: "a", Password: "user-secret"},
		"UserUpdate":           UserUpdate{ID: "2", Password: "user-secret"},
		"NotificationHandler":  NotificationHandler{Secret: "informer-secret", Client: c},
		"*NotificationHandler": &NotificationHandler{Secret: "informer-secret", Client: c, SkipConfirmation: true},
	}
	for name, v := range values {
		for how, out := range printings(v) {
			for _, s := range secrets {
				assert.NotContains(t, out, s, "%s printed with %s", name, how)
			}
		}
	}
	// Still useful: the user, the cabinet.
	assert.Contains(t, fmt.Sprint(c), "demo")
	assert.Contains(t, fmt.Sprint(c), base)
	assert.Contains(t, fmt.Sprint(Credentials{User: "demo"}), "demo")
}

// TestNotificationNeverLogsAFullCardNumber: a notification logged through
// slog's JSON handler masks card numbers too.
func TestNotificationNeverLogsAFullCardNumber(t *testing.T) {
	const pan = "4111111111111111"
	key := notificationMD5("301", "100.00", "", "A-1", "s")
	n, err := ParseNotification(notificationForm("301", "100.00", "", "A-1", key, "card_number", pan), "s")
	require.NoError(t, err)
	for how, out := range printings(n) {
		assert.NotContains(t, out, pan, how)
		assert.NotContains(t, out, key, how)
	}
}

// echo answers every request (the token route excepted) with status and a
// body that repeats the request: its Authorization header and its form.
func echoClient(t *testing.T, status int, wrap func(echo string) string) *Client {
	t.Helper()
	mock := httpmock.NewMockTransport()
	mock.RegisterNoResponder(func(r *http.Request) (*http.Response, error) {
		if r.URL.Path == "/info/settings/token/" {
			return httpmock.NewStringResponse(200, `{"token":"`+testToken+`"}`), nil
		}
		var body []byte
		if r.Body != nil {
			body, _ = io.ReadAll(r.Body)
		}
		echo := "Authorization: " + r.Header.Get("Authorization") + " body: " + string(body) + " query: " + r.URL.RawQuery
		return httpmock.NewStringResponse(status, wrap(echo)), nil
	})
	c, err := New(Credentials{User: "demo", Password: testPassword}, payments.WithBaseURL(base), payments.WithTransport(mock), payments.WithTestTiming())
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// TestEchoingServerDoesNotLeakSecrets: a server (or a proxy) that echoes
// the request into its error puts neither the Basic header, the password
// nor the token into any error, whatever the status and the shape.
func TestEchoingServerDoesNotLeakSecrets(t *testing.T) {
	basic := base64.StdEncoding.EncodeToString([]byte("demo:" + testPassword))
	jsonString := func(s string) string { b, _ := marshalNoEscape(s); return string(b) }
	shapes := map[string]func(string) string{
		"plain":       func(e string) string { return e },
		"fail object": func(e string) string { return `{"result":"fail","msg":` + jsonString(e) + `}` },
		"html":        func(e string) string { return "<html><body>" + e + "</body></html>" },
		"json":        func(e string) string { return `{"result":"pending","echo":` + jsonString(e) + `}` },
	}
	for _, st := range []int{200, 400, 403, 500, 503} {
		for shape, wrap := range shapes {
			c := echoClient(t, st, wrap)
			ctx := context.Background()
			errs := map[string]error{}
			_, errs["GetPayment"] = c.GetPayment(ctx, "1")
			errs["RefundPayment"] = c.RefundPayment(ctx, RefundParams{PaymentID: "1", Amount: payments.MustDecimal("1")})
			_, errs["CreateInvoice"] = c.CreateInvoice(ctx, InvoiceParams{Amount: payments.MustDecimal("1"), OrderID: "A-1"})
			errs["AddUser"] = c.AddUser(ctx, NewUser{Login: "clerk", Password: "new-user-pw"})
			errs["UpdateUser"] = c.UpdateUser(ctx, UserUpdate{ID: "2", Password: "new user&pw<>"})
			errs["ChangeSetting"] = c.ChangeSetting(ctx, "informer_seed", "new-seed-word")
			for op, err := range errs {
				require.Error(t, err, "%d %s %s", st, shape, op)
				var api *payments.APIError
				if assert.ErrorAs(t, err, &api, "%d %s %s", st, shape, op) {
					for _, s := range []string{testPassword, basic, testToken, "new-user-pw", "new user&pw<>", "new+user%26pw%3C%3E", "new-seed-word"} {
						assert.NotContains(t, api.Message, s, "%d %s %s: message", st, shape, op)
						assert.NotContains(t, err.Error(), s, "%d %s %s", st, shape, op)
					}
				}
			}
		}
	}
}

// TestTruncatedTokenAnswerDoesNotLeakIt: the token answer cut in half is an
// error that quotes none of it.
func TestTruncatedTokenAnswerDoesNotLeakIt(t *testing.T) {
	srv := paykeepertest.NewServer(paykeepertest.WithT(t))
	c, err := New(Credentials{User: paykeepertest.DefaultUser, Password: paykeepertest.DefaultPassword}, append(srv.ClientOptions(), payments.WithTestTiming())...)
	require.NoError(t, err)
	defer c.Close()
	tok := srv.Token()
	srv.TruncateNext(1)
	err = c.ResetNotificationCounter(context.Background(), srv.AddPayment(paykeepertest.PaymentSpec{Amount: "1.00"}))
	require.Error(t, err)
	assert.ErrorIs(t, err, payments.ErrUnavailable)
	assert.NotErrorIs(t, err, payments.ErrOutcomeUnknown, "the refund was never sent")
	for i := 0; i+6 <= len(tok); i++ {
		require.NotContains(t, err.Error(), tok[i:i+6], "a piece of the token in %q", err)
	}
	assert.Equal(t, 0, srv.Count(paykeepertest.OpRepeatCnt), "nothing was sent without a token")

	// Every later error scrubs the token that was fetched.
	require.NoError(t, c.ResetNotificationCounter(context.Background(), srv.AddPayment(paykeepertest.PaymentSpec{Amount: "1.00"})))
	srv.FailNext(1, 500, "echo: token="+tok)
	err = c.RefundPayment(context.Background(), RefundParams{PaymentID: "97452", Amount: payments.MustDecimal("0.5")})
	require.Error(t, err)
	assert.NotContains(t, err.Error(), tok)
	assert.True(t, strings.Contains(err.Error(), "[REDACTED]"), err.Error())
}
