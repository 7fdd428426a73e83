package cli

import (
	"context"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestUIServesTheDashboard runs "payments ui" on a ledger the batch job
// paid, reads the page over HTTP, and stops it with the context (Ctrl-C).
func TestUIServesTheDashboard(t *testing.T) {
	f := newFixture(t, t.TempDir()+"/ledger.db")
	f.seed(t)

	ctx, cancel := context.WithCancel(context.Background())
	out := &syncBuffer{}
	done := make(chan int, 1)
	go func() {
		done <- Run(ctx, []string{"ui", "--addr", "127.0.0.1:0"}, IO{Stdout: out, Stderr: out,
			LookupEnv: func(k string) (string, bool) { v, ok := f.env[k]; return v, ok }})
	}()
	addr := regexp.MustCompile(`http://127\.0\.0\.1:\d+/`)
	deadline := time.Now().Add(60 * time.Second)
	for addr.FindString(out.String()) == "" {
		select {
		case code := <-done:
			t.Fatalf("payments ui exited %d: %s", code, out)
		default:
		}
		require.True(t, time.Now().Before(deadline), "no address printed: %s", out)
		time.Sleep(10 * time.Millisecond)
	}
	resp, err := http.Get(addr.FindString(out.String()))
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, string(body))
	require.Contains(t, resp.Header.Get("Content-Security-Policy"), "default-src 'none'")
	require.Contains(t, string(body), "Payouts by state and provider")
	require.NotContains(t, string(body), testPAN)

	cancel()
	select {
	case code := <-done:
		require.Equal(t, ExitOK, code, out.String())
	case <-time.After(30 * time.Second):
		t.Fatal("payments ui did not stop")
	}
}

// TestUIRefusesAnOpenAddressWithoutAToken: beyond the loopback the page
// needs PAYMENTS_UI_TOKEN; nothing is served without it.
func TestUIRefusesAnOpenAddressWithoutAToken(t *testing.T) {
	f := newFixture(t, t.TempDir()+"/ledger.db")
	var out strings.Builder
	code := Run(context.Background(), []string{"ui", "--addr", "0.0.0.0:0"}, IO{Stdout: &out, Stderr: &out,
		LookupEnv: func(k string) (string, bool) { v, ok := f.env[k]; return v, ok }})
	require.Equal(t, ExitBadInput, code, out.String())
	require.Contains(t, out.String(), "PAYMENTS_UI_TOKEN")
}
