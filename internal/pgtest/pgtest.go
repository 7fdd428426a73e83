// Package pgtest gives tests a PostgreSQL of their own: DSN hands each test a
// fresh schema in the database named by PAYMENTS_TEST_POSTGRES, dropped when
// the test ends, so tests of several packages can run at once against one
// server without seeing each other's rows; Proxy stands between a store and
// the server so that a test can make the database vanish and come back.
//
// When no PostgreSQL answers, the tests that need it are skipped with one
// loud line per test binary, and fail instead under CI=true: CI always has
// the database, so there a missing one is a broken setup, not a skip.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// EnvDSN is the environment variable naming the test database.
const EnvDSN = "PAYMENTS_TEST_POSTGRES"

// DefaultDSN is the test database when EnvDSN is not set: the local
// PostgreSQL of the README and of CI.
const DefaultDSN = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// pingTimeout bounds how long DSN waits for the server to answer.
const pingTimeout = 2 * time.Second

// cleanupTimeout bounds the DROP SCHEMA at the end of a test.
const cleanupTimeout = 10 * time.Second

var skipOnce sync.Once

// Addr is the test database's address as DSN uses it: EnvDSN, or DefaultDSN.
func Addr() string {
	if v := os.Getenv(EnvDSN); v != "" {
		return v
	}
	return DefaultDSN
}

// DSN returns a DSN for a fresh, empty schema of the test database, first on
// the search_path, dropped with everything in it when t ends. When the
// database does not answer within 2 s it skips t (loudly, once per test
// binary) or, under CI=true, fails it.
func DSN(t testing.TB) string {
	t.Helper()
	dsn := Addr()
	ctx, cancel := context.WithTimeout(context.Background(), pingTimeout)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err == nil {
		err = conn.Ping(ctx)
		if err != nil {
			conn.Close(context.Background())
		}
	}
	if err != nil {
		unavailable(t, dsn, err)
		return ""
	}
	defer conn.Close(context.Background())

	schema := "t_" + randomHex(8)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+pgx.Identifier{schema}.Sanitize()); err != nil {
		t.Fatalf("pgtest: create schema %s at %s: %v", schema, Where(dsn), err)
	}
	t.Cleanup(func() { dropSchema(t, dsn, schema) })

	out, err := WithParam(dsn, "search_path", schema)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	return out
}

func dropSchema(t testing.TB, dsn, schema string) {
	ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Errorf("pgtest: drop schema %s: %v", schema, err)
		return
	}
	defer conn.Close(context.Background())
	// A test that leaked a transaction holding a lock must not hang the
	// cleanup: fail it instead.
	if _, err := conn.Exec(ctx, "SET lock_timeout = '5s'"); err != nil {
		t.Errorf("pgtest: drop schema %s: %v", schema, err)
		return
	}
	if _, err := conn.Exec(ctx, "DROP SCHEMA IF EXISTS "+pgx.Identifier{schema}.Sanitize()+" CASCADE"); err != nil {
		t.Errorf("pgtest: drop schema %s: %v", schema, err)
	}
}

// unavailable skips t, or fails it under CI=true, because the database at
// dsn did not answer.
func unavailable(t testing.TB, dsn string, err error) {
	t.Helper()
	where := Where(dsn)
	if os.Getenv("CI") == "true" {
		t.Fatalf("pgtest: no PostgreSQL at %s (%s=%q): %v; CI must start it before the tests", where, EnvDSN, Redact(dsn), err)
	}
	line := ""
	skipOnce.Do(func() {
		line = fmt.Sprintf("SKIP: no PostgreSQL at %s (set %s); the %s tests did not run: %v", where, EnvDSN, testedPackage(), err)
		// go test shows nothing of a passing package: `make test` says it
		// up front (internal/servicecheck); this shows with -v.
		fmt.Fprintln(os.Stderr, line)
	})
	if line == "" {
		line = fmt.Sprintf("no PostgreSQL at %s", where)
	}
	t.Skip(line)
}

// testedPackage names the package whose tests called DSN, from the first
// _test.go file on the stack ("ledger/pgstore"), or the test binary.
func testedPackage() string {
	pcs := make([]uintptr, 32)
	frames := runtime.CallersFrames(pcs[:runtime.Callers(2, pcs)])
	for {
		f, more := frames.Next()
		if strings.HasSuffix(f.File, "_test.go") && f.Function != "" {
			pkg := f.Function
			// "github.com/x/y/ledger/pgstore.TestFoo.func1" → the part before
			// the first dot after the last slash.
			slash := strings.LastIndex(pkg, "/")
			if dot := strings.Index(pkg[slash+1:], "."); dot >= 0 {
				pkg = pkg[:slash+1+dot]
			}
			return strings.TrimSuffix(strings.TrimPrefix(pkg, "github.com/paysdk/payments/"), "_test")
		}
		if !more {
			break
		}
	}
	return strings.TrimSuffix(path.Base(os.Args[0]), ".test")
}

// Where names the server and database of dsn, as "host:port/db", without
// user or password.
func Where(dsn string) string {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return "(unparsable " + EnvDSN + ")"
	}
	return fmt.Sprintf("%s:%d/%s", cfg.Host, cfg.Port, cfg.Database)
}

// Redact returns dsn with its password, if any, replaced by "xxxxx".
func Redact(dsn string) string {
	if isURL(dsn) {
		u, err := url.Parse(dsn)
		if err != nil {
			return "(unparsable)"
		}
		if _, has := u.User.Password(); has {
			u.User = url.UserPassword(u.User.Username(), "xxxxx")
		}
		return u.String()
	}
	fields := strings.Fields(dsn)
	for i, f := range fields {
		if strings.HasPrefix(f, "password=") {
			fields[i] = "password=xxxxx"
		}
	}
	return strings.Join(fields, " ")
}

// WithParam returns dsn with the run-time parameter key set to value (pgx
// passes unknown URL query parameters and key=value pairs to the server as
// run-time parameters, such as search_path). It handles URL DSNs and
// key=value DSNs whose values hold no spaces or quotes.
func WithParam(dsn, key, value string) (string, error) {
	if isURL(dsn) {
		u, err := url.Parse(dsn)
		if err != nil {
			return "", fmt.Errorf("pgtest: cannot parse %s as a URL", EnvDSN)
		}
		q := u.Query()
		q.Set(key, value)
		u.RawQuery = q.Encode()
		return u.String(), nil
	}
	if strings.ContainsAny(value, " '\\") {
		return "", fmt.Errorf("pgtest: value %q for %s needs quoting", value, key)
	}
	return replaceKV(dsn, map[string]string{key: value}), nil
}

func isURL(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}

// replaceKV sets keys in a key=value DSN, dropping their old values.
func replaceKV(dsn string, set map[string]string) string {
	var out []string
	for _, f := range strings.Fields(dsn) {
		k, _, _ := strings.Cut(f, "=")
		if _, ok := set[k]; ok {
			continue
		}
		out = append(out, f)
	}
	for k, v := range set {
		out = append(out, k+"="+v)
	}
	return strings.Join(out, " ")
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}
