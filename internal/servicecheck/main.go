// Command servicecheck prints one loud line for each real service the
// tests use that does not answer, before `make test` runs them: go test
// shows nothing of a passing package, so a test that skipped for want of
// PostgreSQL or Redis would otherwise pass in silence. Under CI=true those
// tests fail instead of skipping; this command only says why in advance.
// It always exits 0.
package main

import (
	"fmt"
	"net"
	"os"
	"time"

	"github.com/paysdk/payments/internal/pgtest"
)

func main() {
	redis := os.Getenv("PAYMENTS_TEST_REDIS")
	if redis == "" {
		redis = "127.0.0.1:6379"
	}
	for _, s := range []struct{ name, addr, env, what string }{
		{"PostgreSQL", pgtest.Target(pgtest.Addr()), pgtest.EnvDSN, "the ledger's PostgreSQL tests (ledger, ledger/pgstore, examples/payouts, internal/pgtest)"},
		{"Redis", redis, "PAYMENTS_TEST_REDIS", "the shared-limiter tests (redislimit)"},
	} {
		c, err := net.DialTimeout("tcp", s.addr, 2*time.Second)
		if err == nil {
			c.Close()
			continue
		}
		verdict := "skip"
		if os.Getenv("CI") == "true" {
			verdict = "FAIL (CI=true)"
		}
		fmt.Printf("SKIP: no %s at %s (set %s): %s will %s\n", s.name, s.addr, s.env, s.what, verdict)
	}
}
