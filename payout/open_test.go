package payout_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/payout"
	_ "github.com/paysdk/payments/payout/popolnipayout"
	_ "github.com/paysdk/payments/payout/qiwipayout"
	"github.com/paysdk/payments/popolni"
)

func noEnv(string) (string, bool) { return "", false }

func TestOpenRefusesWhatItCannotOpen(t *testing.T) {
	ctx := context.Background()
	for url, want := range map[string]string{
		"stripe://":                              "registered: popolni, qiwitopup",
		"popolni://login:secretpw@/":             "credentials in the URL are not accepted",
		"popolni://":                             "POPOLNI_LOGIN",
		"qiwitopup://":                           "QIWI_TERMINAL_ID",
		"popolni://?local_adr=203.0.113.10":      "unknown parameter local_adr",
		"://nothing":                             "not a URL",
		"popolni://?template_id=1&template_id=2": "more than once",
	} {
		_, err := payout.Open(ctx, url, payments.OpenEnv(noEnv))
		require.Error(t, err, url)
		var v *payments.ValidationError
		assert.True(t, errors.As(err, &v), "%s: typed: %v", url, err)
		assert.Contains(t, err.Error(), want, url)
		assert.NotContains(t, err.Error(), "secretpw", url)
	}
	_, err := payout.Open(ctx, "popolni://", payments.OpenEnv(func(k string) (string, bool) {
		return map[string]string{"POPOLNI_LOGIN": "partner"}[k], k == "POPOLNI_LOGIN"
	}))
	assert.ErrorContains(t, err, "POPOLNI_PASSWORD", "the missing one is named")
	_, err = payout.Open(ctx, "popolni://", payments.OpenCredentials("not credentials"))
	assert.ErrorIs(t, err, payments.ErrInvalidRequest)
	//lint:ignore SA1012 the point is a nil context
	_, err = payout.Open(nil, "popolni://") //nolint:staticcheck
	assert.ErrorIs(t, err, payments.ErrNilContext)

	c, err := payout.Open(ctx, "popolni://?local_addr=127.0.0.1&template_id=5",
		payments.OpenCredentials(popolni.Credentials{Login: "l", Password: "p4ssw0rd"}))
	require.NoError(t, err)
	defer c.Close()
	var pc *popolni.Client
	assert.True(t, c.As(&pc))
	assert.NotNil(t, pc)
	assert.NotContains(t, fmtAll(c), "p4ssw0rd")
	assert.Equal(t, []string{"popolni", "qiwitopup"}, payout.Schemes())
}

func fmtAll(v any) string {
	return fmt.Sprintf("%v %+v %#v %s %d %x %q", v, v, v, v, v, v, v)
}

// TestPollIntervalIsTheDocumentsOrTheConfigured: the ledger polls each
// provider at Capabilities().PollInterval.
func TestPollIntervalIsTheDocumentsOrTheConfigured(t *testing.T) {
	ctx := context.Background()
	env := payments.OpenEnv(func(k string) (string, bool) {
		v := map[string]string{"POPOLNI_LOGIN": "x", "POPOLNI_PASSWORD": "x", "QIWI_TERMINAL_ID": "1", "QIWI_PASSWORD": "x"}[k]
		return v, v != ""
	})
	for url, want := range map[string]time.Duration{
		"popolni://":                     10 * time.Second,
		"popolni://?poll_interval=3s":    3 * time.Second,
		"qiwitopup://":                   10 * time.Minute,
		"qiwitopup://?poll_interval=20s": 20 * time.Second,
	} {
		c, err := payout.Open(ctx, url, env)
		require.NoError(t, err, url)
		assert.Equal(t, want, c.Capabilities().PollInterval, url)
		assert.True(t, c.Capabilities().Dedupes, "%s: the provider refuses a second payout under one Ref", url)
		require.NoError(t, c.Close())
	}
	a, err := payout.Open(ctx, "popolni://?poll_interval=3s", env)
	require.NoError(t, err)
	b, err := payout.Open(ctx, "qiwitopup://", env)
	require.NoError(t, err)
	r, err := payout.NewRouter(b, a)
	require.NoError(t, err)
	assert.Equal(t, 3*time.Second, r.Capabilities().PollInterval, "the router polls at its fastest client's pace")
}
