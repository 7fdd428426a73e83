package storetest

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"
	_ "modernc.org/sqlite" // the "sqlite" database/sql driver
)

// dumpTimeout bounds a dump.
const dumpTimeout = 30 * time.Second

// DumpSQLite returns every row of every table of the SQLite ledger file at
// path (committed rows, the WAL's included) as text: for each table a line
// "== table (col, col, ...)", then one line per row, its columns as text
// joined by " | ", rows in the order of the first column. It is for tests
// that check what a store keeps at rest, e.g. that no full card number is
// in it:
//
//	require.NotContains(t, storetest.DumpSQLite(t, path), "4111111111111111")
//
// The file is opened on a connection of its own, beside any Store open on
// it. An in-memory ledger (sqlitestore.Memory) cannot be dumped.
func DumpSQLite(t testing.TB, path string) string {
	t.Helper()
	abs, err := filepath.Abs(path)
	require.NoError(t, err)
	u := url.URL{Scheme: "file", Path: filepath.ToSlash(abs)}
	if !strings.HasPrefix(u.Path, "/") {
		u.Path = "/" + u.Path
	}
	db, err := sql.Open("sqlite", u.String()+"?_pragma=busy_timeout(5000)")
	require.NoError(t, err)
	defer db.Close()
	db.SetMaxOpenConns(1)
	ctx, cancel := context.WithTimeout(context.Background(), dumpTimeout)
	defer cancel()

	tables := queryStrings(ctx, t, db, `SELECT name FROM sqlite_schema
		WHERE type = 'table' AND name NOT LIKE 'sqlite\_%' ESCAPE '\' ORDER BY name`)
	require.NotEmpty(t, tables, "DumpSQLite: no table in %s", abs)
	var b strings.Builder
	for _, table := range tables {
		cols := queryStrings(ctx, t, db, `SELECT name FROM pragma_table_info(?) ORDER BY cid`, table)
		sel := make([]string, len(cols))
		for i, c := range cols {
			sel[i] = fmt.Sprintf("COALESCE(CAST(%s AS TEXT), 'NULL')", sqliteIdent(c))
		}
		fmt.Fprintf(&b, "== %s (%s)\n", table, strings.Join(cols, ", "))
		rows, err := db.QueryContext(ctx, "SELECT "+strings.Join(sel, ", ")+" FROM "+sqliteIdent(table)+" ORDER BY 1")
		require.NoError(t, err, "DumpSQLite: table %s", table)
		dumpRows(t, &b, rows, len(cols), table)
	}
	return b.String()
}

func sqliteIdent(name string) string { return `"` + strings.ReplaceAll(name, `"`, `""`) + `"` }

func queryStrings(ctx context.Context, t testing.TB, db *sql.DB, q string, args ...any) []string {
	t.Helper()
	rows, err := db.QueryContext(ctx, q, args...)
	require.NoError(t, err, q)
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		require.NoError(t, rows.Scan(&s))
		out = append(out, s)
	}
	require.NoError(t, rows.Err())
	return out
}

func dumpRows(t testing.TB, b *strings.Builder, rows *sql.Rows, n int, table string) {
	t.Helper()
	defer rows.Close()
	vals := make([]string, n)
	ptrs := make([]any, n)
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		require.NoError(t, rows.Scan(ptrs...), "DumpSQLite: table %s", table)
		b.WriteString(strings.Join(vals, " | "))
		b.WriteByte('\n')
	}
	require.NoError(t, rows.Err(), "DumpSQLite: table %s", table)
}

// DumpPostgres is DumpSQLite for PostgreSQL: every table of the schema the
// DSN's connections use first (current_schema(): the search_path, as
// internal/pgtest's DSN sets it for each test, or Options.Schema's when
// passed as search_path), in the same text form.
//
//	dsn := pgtest.DSN(t)
//	s, _ := pgstore.Open(ctx, dsn, pgstore.Options{})
//	...
//	require.NotContains(t, storetest.DumpPostgres(t, dsn), "4111111111111111")
func DumpPostgres(t testing.TB, dsn string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), dumpTimeout)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	require.NoError(t, err, "DumpPostgres: connect")
	defer conn.Close(context.Background())

	var schema string
	require.NoError(t, conn.QueryRow(ctx, "SELECT coalesce(current_schema(), '')").Scan(&schema))
	require.NotEmpty(t, schema, "DumpPostgres: no schema on the search_path exists")
	tables := pgStrings(ctx, t, conn, `SELECT table_name FROM information_schema.tables
		WHERE table_schema = $1 AND table_type = 'BASE TABLE' ORDER BY table_name`, schema)
	require.NotEmpty(t, tables, "DumpPostgres: no table in schema %s", schema)
	var b strings.Builder
	for _, table := range tables {
		cols := pgStrings(ctx, t, conn, `SELECT column_name FROM information_schema.columns
			WHERE table_schema = $1 AND table_name = $2 ORDER BY ordinal_position`, schema, table)
		sel := make([]string, len(cols))
		for i, c := range cols {
			sel[i] = fmt.Sprintf("coalesce(%s::text, 'NULL')", pgx.Identifier{c}.Sanitize())
		}
		fmt.Fprintf(&b, "== %s (%s)\n", table, strings.Join(cols, ", "))
		rows, err := conn.Query(ctx, "SELECT "+strings.Join(sel, ", ")+" FROM "+
			pgx.Identifier{schema, table}.Sanitize()+" ORDER BY 1")
		require.NoError(t, err, "DumpPostgres: table %s", table)
		for rows.Next() {
			vals := make([]string, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			require.NoError(t, rows.Scan(ptrs...), "DumpPostgres: table %s", table)
			b.WriteString(strings.Join(vals, " | "))
			b.WriteByte('\n')
		}
		require.NoError(t, rows.Err(), "DumpPostgres: table %s", table)
	}
	return b.String()
}

func pgStrings(ctx context.Context, t testing.TB, conn *pgx.Conn, q string, args ...any) []string {
	t.Helper()
	rows, err := conn.Query(ctx, q, args...)
	require.NoError(t, err, q)
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err, q)
	return out
}
