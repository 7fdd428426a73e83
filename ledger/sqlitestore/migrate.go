package sqlitestore

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
	"time"
)

// migrationFiles are the schema's steps, NNNN_what.sql, applied in order.
//
//go:embed migrations/*.sql
var migrationFiles embed.FS

// ErrNewerSchema is matched (errors.Is) by Open's error for a file whose
// schema a newer release of this package migrated: this one would not know
// what it may write.
var ErrNewerSchema = errors.New("sqlitestore: the file's schema is newer than this release knows")

type migration struct {
	version int
	name    string
	sql     string
}

// migrations reads the embedded steps: versions 1, 2, ... without a gap.
func migrations() ([]migration, error) {
	names, err := fs.Glob(migrationFiles, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	var ms []migration
	for _, name := range names {
		base := strings.TrimPrefix(name, "migrations/")
		digits, _, ok := strings.Cut(base, "_")
		v, err := strconv.Atoi(digits)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("migration %s: the name must be NNNN_what.sql", base)
		}
		b, err := migrationFiles.ReadFile(name)
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

// SchemaVersion is the schema version this release migrates files to.
func SchemaVersion() int {
	ms, err := migrations()
	if err != nil {
		return 0
	}
	return len(ms)
}

// migrate applies the steps the file lacks, all in one transaction that
// holds the write lock: two processes opening one new file at once apply
// them once.
func (s *Store) migrate(ctx context.Context) error {
	ms, err := migrations()
	if err != nil {
		return s.fail("migrate", err)
	}
	return s.withTx(ctx, "migrate", func(tx *conn) error {
		if _, err := tx.Exec(`CREATE TABLE IF NOT EXISTS ledger_migrations (
			version    INTEGER NOT NULL PRIMARY KEY,
			applied_at INTEGER NOT NULL -- unix microseconds
		) STRICT`); err != nil {
			return s.fail("migrate", s.explain(err))
		}
		var current int
		if err := tx.QueryRow(`SELECT COALESCE(MAX(version), 0) FROM ledger_migrations`).Scan(&current); err != nil {
			return s.fail("migrate", s.explain(err))
		}
		if current > len(ms) {
			return s.fail("migrate", fmt.Errorf("%w: schema version %d, this release knows up to %d; open the file with the release that wrote it or a newer one", ErrNewerSchema, current, len(ms)))
		}
		for _, m := range ms[current:] {
			if _, err := tx.Exec(m.sql); err != nil {
				return s.fail("migrate", fmt.Errorf("%s: %w", m.name, s.explain(err)))
			}
			if _, err := tx.Exec(`INSERT INTO ledger_migrations (version, applied_at) VALUES (?, ?)`,
				m.version, time.Now().UnixMicro()); err != nil {
				return s.fail("migrate", fmt.Errorf("%s: %w", m.name, s.explain(err)))
			}
		}
		return nil
	})
}
