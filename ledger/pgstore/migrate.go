package pgstore

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
)

// The schema's versions, one file each: NNNN_what.sql, applied in order.
// A file once released never changes: a change of schema is a new file.
//
//go:embed migrations/*.sql
var migrationFiles embed.FS

type migration struct {
	version int
	name    string
	sql     string
}

// migrations reads the embedded migrations, checked to be numbered 1, 2, 3...
func migrations() ([]migration, error) {
	names, err := fs.Glob(migrationFiles, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	var ms []migration
	for _, n := range names {
		base := path.Base(n)
		num, _, ok := strings.Cut(base, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("migration file %s: want NNNN_name.sql", base)
		}
		b, err := migrationFiles.ReadFile(n)
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{version: v, name: base, sql: string(b)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	for i, m := range ms {
		if m.version != i+1 {
			return nil, fmt.Errorf("migration %s: version %d, want %d", m.name, m.version, i+1)
		}
	}
	return ms, nil
}

// migrateLock is the advisory lock that serializes migrations of one schema
// across replicas: hashtext of this prefix and the schema's name.
const migrateLock = "paysdk/ledger/pgstore migrate "

// migrate checks that the database answers, then, in one transaction under
// the schema's advisory lock, applies the migrations it has not applied yet
// and records them in ledger_migrations. schema, when set, is created if
// missing; otherwise the first existing schema of the search_path is used.
func (s *Store) migrate(ctx context.Context, schema string) error {
	ms, err := migrations()
	if err != nil {
		return s.fail("migrate", err)
	}
	var failedOp string
	err = s.conn(ctx, func(ctx context.Context, c *pgx.Conn) error {
		if err := c.Ping(ctx); err != nil {
			return err
		}
		failedOp = "migrate"
		return runTx(ctx, c, func(tx pgx.Tx) error {
			return applyMigrations(ctx, tx, schema, ms)
		})
	})
	if err != nil {
		if failedOp == "" {
			failedOp = "open"
		}
		return s.fail(failedOp, err)
	}
	return nil
}

func applyMigrations(ctx context.Context, tx pgx.Tx, schema string, ms []migration) error {
	var where *string
	if schema != "" {
		where = &schema
	}
	var target string
	if err := tx.QueryRow(ctx, "SELECT coalesce($1::text, current_schema(), '')", where).Scan(&target); err != nil {
		return err
	}
	if target == "" {
		return fmt.Errorf("no schema on the search_path exists: create one, set search_path in the DSN, or set Options.Schema")
	}
	if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock(hashtext($1))", migrateLock+target); err != nil {
		return err
	}
	if schema != "" {
		if _, err := tx.Exec(ctx, "CREATE SCHEMA IF NOT EXISTS "+pgx.Identifier{schema}.Sanitize()); err != nil {
			return err
		}
	}
	if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS ledger_migrations (
		version    INT         PRIMARY KEY,
		applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
	)`); err != nil {
		return err
	}
	var current int
	if err := tx.QueryRow(ctx, "SELECT coalesce(max(version), 0) FROM ledger_migrations").Scan(&current); err != nil {
		return err
	}
	if current > len(ms) {
		return fmt.Errorf("schema %s is at version %d, newer than this code knows (%d): run a newer release of the code", target, current, len(ms))
	}
	for _, m := range ms[current:] {
		if _, err := tx.Exec(ctx, m.sql); err != nil {
			return fmt.Errorf("migration %s: %w", m.name, err)
		}
		if _, err := tx.Exec(ctx, "INSERT INTO ledger_migrations (version) VALUES ($1)", m.version); err != nil {
			return fmt.Errorf("migration %s: %w", m.name, err)
		}
	}
	return nil
}
