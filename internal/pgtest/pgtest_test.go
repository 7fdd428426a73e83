package pgtest

import (
	"bufio"
	"context"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestDSNFreshSchemaFirstOnSearchPath(t *testing.T) {
	DSN(t) // skips here when there is no PostgreSQL
	var schemas []string
	t.Run("use", func(t *testing.T) {
		a, b := DSN(t), DSN(t)
		if a == b {
			t.Fatalf("two calls gave the same DSN %s", a)
		}
		for _, dsn := range []string{a, b} {
			ctx := context.Background()
			conn, err := pgx.Connect(ctx, dsn)
			if err != nil {
				t.Fatal(err)
			}
			var schema string
			if err := conn.QueryRow(ctx, "SELECT current_schema()").Scan(&schema); err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(schema, "t_") {
				t.Errorf("current_schema() = %q, want the fresh t_ schema", schema)
			}
			// An unqualified table lands in the fresh schema.
			if _, err := conn.Exec(ctx, "CREATE TABLE x (n INT)"); err != nil {
				t.Fatal(err)
			}
			var where string
			if err := conn.QueryRow(ctx, "SELECT table_schema FROM information_schema.tables WHERE table_name = 'x' AND table_schema = $1", schema).Scan(&where); err != nil {
				t.Fatalf("table x not in %s: %v", schema, err)
			}
			conn.Close(ctx)
			schemas = append(schemas, schema)
		}
	})
	if len(schemas) != 2 || schemas[0] == schemas[1] {
		t.Fatalf("schemas %v: want two different ones", schemas)
	}
	// The subtest's cleanup dropped both.
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var n int
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM pg_namespace WHERE nspname = ANY($1)", schemas).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("%d of the schemas %v outlived their test", n, schemas)
	}
}

func TestWithParamAndRedact(t *testing.T) {
	got, err := WithParam("postgres://u:secret@h:5/db?sslmode=disable", "search_path", "t_1")
	if err != nil || !strings.Contains(got, "search_path=t_1") || !strings.Contains(got, "sslmode=disable") {
		t.Errorf("URL: %q, %v", got, err)
	}
	got, err = WithParam("host=h port=5 search_path=old dbname=db", "search_path", "t_1")
	if err != nil || got != "host=h port=5 dbname=db search_path=t_1" {
		t.Errorf("key=value: %q, %v", got, err)
	}
	for _, dsn := range []string{"postgres://u:secret@h:5/db", "host=h password=secret"} {
		if r := Redact(dsn); strings.Contains(r, "secret") {
			t.Errorf("Redact(%q) = %q", dsn, r)
		}
	}
	if w := Where("postgres://u:secret@h:5/db"); w != "h:5/db" {
		t.Errorf("Where = %q", w)
	}
}

// echoServer answers every line with the same line, until the test ends.
func echoServer(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	conns := make(chan net.Conn, 100)
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns <- c
			go func() { _, _ = io.Copy(c, c) }()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
		close(conns)
		for c := range conns {
			c.Close()
		}
	})
	return ln.Addr().String()
}

func roundTrip(c net.Conn, msg string) (string, error) {
	return roundTripWithin(c, msg, 2*time.Second)
}

func roundTripWithin(c net.Conn, msg string, d time.Duration) (string, error) {
	_ = c.SetDeadline(time.Now().Add(d))
	if _, err := io.WriteString(c, msg+"\n"); err != nil {
		return "", err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	return strings.TrimSuffix(line, "\n"), err
}

func TestProxyCutAndRestore(t *testing.T) {
	p := NewProxy(t, echoServer(t))

	c1, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c1.Close()
	if got, err := roundTrip(c1, "one"); err != nil || got != "one" {
		t.Fatalf("through the proxy: %q, %v", got, err)
	}

	p.Cut()
	if got, err := roundTrip(c1, "two"); err == nil {
		t.Fatalf("an open connection still answered %q after Cut", got)
	}
	c2, err := net.Dial("tcp", p.Addr())
	if err == nil {
		got, err := roundTrip(c2, "three")
		c2.Close()
		if err == nil {
			t.Fatalf("a new connection answered %q during Cut", got)
		}
	}

	p.Restore()
	c3, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c3.Close()
	if got, err := roundTrip(c3, "four"); err != nil || got != "four" {
		t.Fatalf("after Restore: %q, %v", got, err)
	}
}

func TestProxyStallAndRestore(t *testing.T) {
	p := NewProxy(t, echoServer(t))
	c1, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c1.Close()
	if got, err := roundTrip(c1, "one"); err != nil || got != "one" {
		t.Fatalf("through the proxy: %q, %v", got, err)
	}

	p.Stall()
	r1 := bufio.NewReader(c1)
	_ = c1.SetDeadline(time.Now().Add(300 * time.Millisecond))
	if _, err := io.WriteString(c1, "two\n"); err != nil {
		t.Fatal(err)
	}
	if line, err := r1.ReadString('\n'); err == nil {
		t.Fatalf("an open connection answered %q during Stall", line)
	}
	// A new connection is accepted, and silent.
	c2, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatalf("a new connection during Stall: %v", err)
	}
	defer c2.Close()
	if got, err := roundTripWithin(c2, "three", 300*time.Millisecond); err == nil {
		t.Fatalf("a new connection answered %q during Stall", got)
	}

	p.Restore()
	// What was held back arrives now, and the connection works on.
	_ = c1.SetDeadline(time.Now().Add(2 * time.Second))
	if line, err := r1.ReadString('\n'); err != nil || line != "two\n" {
		t.Fatalf("held back line after Restore: %q, %v", line, err)
	}
	c3, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c3.Close()
	if got, err := roundTrip(c3, "four"); err != nil || got != "four" {
		t.Fatalf("after Restore: %q, %v", got, err)
	}
}

func TestProxyDSN(t *testing.T) {
	p := NewProxy(t, "127.0.0.1:5432")
	host, port, _ := net.SplitHostPort(p.Addr())
	if got := p.DSN("postgres://u:pw@db.example:5432/test?sslmode=disable"); got != "postgres://u:pw@"+p.Addr()+"/test?sslmode=disable" {
		t.Errorf("URL: %q", got)
	}
	if got := p.DSN("host=db.example port=5432 dbname=test"); !strings.Contains(got, "host="+host) || !strings.Contains(got, "port="+port) || strings.Contains(got, "db.example") {
		t.Errorf("key=value: %q", got)
	}
	if got := Target("postgres://u@db.example/test"); got != "db.example:5432" {
		t.Errorf("Target = %q", got)
	}
}

// TestProxyPostgres: a real PostgreSQL connection through the proxy dies at
// Cut, a new one is refused, and after Restore one works again.
func TestProxyPostgres(t *testing.T) {
	dsn := DSN(t)
	p := NewProxy(t, Target(dsn))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, p.DSN(dsn))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if err := conn.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	p.Cut()
	if err := conn.Ping(ctx); err == nil {
		t.Fatal("ping through a cut proxy succeeded")
	}
	if c, err := pgx.Connect(ctx, p.DSN(dsn)); err == nil {
		c.Close(ctx)
		t.Fatal("connect through a cut proxy succeeded")
	}
	p.Restore()
	c, err := pgx.Connect(ctx, p.DSN(dsn))
	if err != nil {
		t.Fatalf("connect after Restore: %v", err)
	}
	defer c.Close(ctx)
	var n int
	if err := c.QueryRow(ctx, "SELECT 1").Scan(&n); err != nil || n != 1 {
		t.Fatalf("after Restore: %d, %v", n, err)
	}
}
