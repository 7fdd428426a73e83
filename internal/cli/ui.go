package cli

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/spf13/cobra"

	"github.com/paysdk/payments/ledger/ledgerui"
)

// envUIToken is the token "payments ui" requires of every request when it
// listens beyond the loopback (a variable, never a flag: flags show in ps).
const envUIToken = "PAYMENTS_UI_TOKEN"

// uiCommand: payments ui [--addr HOST:PORT].
func (a *app) uiCommand() *cobra.Command {
	var addr string
	c := &cobra.Command{
		Use:   "ui",
		Short: "Serve the ledger's read-only dashboard (ledger/ledgerui) for PAYMENTS_STORE",
		Long: `ui serves the payout ledger's dashboard: intents by state and provider, the
unfinished ones oldest first, payouts finalised per minute, a search by
reference, each record's timeline, the pay-in notifications. It reads only:
nothing on it moves money. Card numbers are masked (PAYOUTS_CARD_KEYS opens
sealed ones only to mask them).

It listens on 127.0.0.1:8080 by default. Anything but a loopback address
needs PAYMENTS_UI_TOKEN: every request must then carry it (Authorization:
Bearer TOKEN, or ?token=TOKEN once, which sets a cookie). Behind your own
authentication, mount ledgerui.New's handler in your admin server instead.`,
		Example: `  PAYMENTS_STORE=payouts.db payments ui
  PAYMENTS_STORE=postgres://ledger@db/payments PAYMENTS_UI_TOKEN=$(cat ui.token) payments ui --addr 0.0.0.0:8080`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			host, _, err := net.SplitHostPort(addr)
			if err != nil {
				return usageError("--addr %q: HOST:PORT", addr)
			}
			token := a.env(envUIToken)
			if token == "" && !loopback(host) {
				return usageError("--addr %s is not a loopback address: set %s (every request must then carry it), or put the handler behind your own authentication", addr, envUIToken)
			}
			store, cards, err := a.openLedger(ctx)
			if err != nil {
				return err
			}
			defer store.Close()
			h, err := ledgerui.New(store, ledgerui.Options{Token: token, Cards: cards})
			if err != nil {
				return err
			}
			ln, err := net.Listen("tcp", addr)
			if err != nil {
				return fmt.Errorf("ui: %w", err)
			}
			srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
				WriteTimeout: 60 * time.Second, IdleTimeout: 120 * time.Second, MaxHeaderBytes: 64 << 10}
			a.say("serving the ledger %s at http://%s/ until interrupted (Ctrl-C)", redactStore(a.storeWhere()), ln.Addr())
			if token != "" {
				a.say("every request needs the token of %s", envUIToken)
			}
			a.out.Flush()
			done := make(chan error, 1)
			go func() { done <- srv.Serve(ln) }()
			select {
			case err := <-done:
				return fmt.Errorf("ui: %w", err)
			case <-ctx.Done():
			}
			shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = srv.Shutdown(shut)
			if err := <-done; err != nil && !errors.Is(err, http.ErrServerClosed) {
				return fmt.Errorf("ui: %w", err)
			}
			return nil
		},
	}
	c.Flags().StringVar(&addr, "addr", "127.0.0.1:8080", "listen on `HOST:PORT` (beyond the loopback only with PAYMENTS_UI_TOKEN)")
	return c
}

// loopback reports whether host is a loopback address or "localhost".
func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// redactStore names a store without a password.
func redactStore(where string) string {
	if !isPostgres(where) {
		return where
	}
	if u, err := url.Parse(where); err == nil {
		return u.Redacted()
	}
	return "postgres://..."
}
