package popolni

import (
	"bytes"
	"context"
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
)

// echoTransport answers every request with status and a body that echoes
// the whole request back, headers and body, as a careless server or proxy
// does, with the decoded credentials spelt out on top.
func echoTransport(status int) http.RoundTripper {
	mock := httpmock.NewMockTransport()
	mock.RegisterNoResponder(func(r *http.Request) (*http.Response, error) {
		var body []byte
		if r.Body != nil {
			body, _ = io.ReadAll(r.Body)
		}
		var b strings.Builder
		user, pass, _ := r.BasicAuth()
		fmt.Fprintf(&b, "Incorrect auth data for %s:%s\n", user, pass)
		for k, vs := range r.Header {
			fmt.Fprintf(&b, "%s: %s\n", k, strings.Join(vs, ", "))
		}
		b.Write(body)
		return httpmock.NewStringResponse(status, b.String()), nil
	})
	return mock
}

// TestEchoedRequestNeverReachesAnError sends each call to a server that
// echoes the request (Basic header, password, card number) into its answer,
// with an error status and with a 200 that is not the document's answer,
// and looks for the secrets in the error and in the attempt log.
func TestEchoedRequestNeverReachesAnError(t *testing.T) {
	calls := map[string]func(context.Context, *Client) error{
		"pay": func(ctx context.Context, c *Client) error {
			_, err := c.Pay(ctx, []Payment{{ID: 1000000001, Amount: 500, Account: secretCard}})
			return err
		},
		"status": func(ctx context.Context, c *Client) error {
			_, err := c.Status(ctx, 1000000001)
			return err
		},
		"balance": func(ctx context.Context, c *Client) error {
			_, err := c.Balance(ctx)
			return err
		},
	}
	for _, status := range []int{200, 201, 400, 403, 429, 500, 503} {
		for op, call := range calls {
			var logs bytes.Buffer
			c, err := New(Credentials{Login: secretLogin, Password: secretPassword},
				payments.WithTransport(echoTransport(status)), payments.WithTestTiming(),
				payments.WithLogger(slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))))
			require.NoError(t, err)
			err = call(context.Background(), c)
			what := fmt.Sprintf("%s answered %d", op, status)
			require.Error(t, err, what)
			assert.Contains(t, err.Error(), "[REDACTED]", "%s: the echo is kept, scrubbed", what)
			assertClean(t, what+": the error", err.Error())
			assertClean(t, what+": %+v of the error", fmt.Sprintf("%+v", err))
			assertClean(t, what+": the log", logs.String())
		}
	}
}
