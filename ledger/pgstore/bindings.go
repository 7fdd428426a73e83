package pgstore

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
)

var (
	errNoRef      = errors.New("empty ref")
	errNoProvider = errors.New("empty provider")
)

// AcquireBinding binds ref to provider unless it is bound already, counts
// one send under the binding, and returns the provider ref is bound to and
// the sends counted, this one included; see ledger.Store. It is one
// statement (INSERT ... ON CONFLICT DO UPDATE ... RETURNING), atomic
// against every replica: of concurrent first acquires one inserts, the
// others update its row.
func (s *Store) AcquireBinding(ctx context.Context, now time.Time, ref, provider string) (string, int, error) {
	if ref == "" {
		return "", 0, s.fail("acquire binding", errNoRef)
	}
	if provider == "" {
		return "", 0, s.fail("acquire binding", errNoProvider)
	}
	var bound string
	var sends int
	err := s.stmt(ctx, func(ctx context.Context, c *pgx.Conn) error {
		return c.QueryRow(ctx, `INSERT INTO bindings (ref, provider, sends, created_at, updated_at)
			VALUES ($1, $2, 1, $3, $3)
			ON CONFLICT (ref) DO UPDATE SET sends = bindings.sends + 1, updated_at = $3
			RETURNING provider, sends`, ref, provider, micros(now)).Scan(&bound, &sends)
	})
	if err != nil {
		return "", 0, s.fail("acquire binding", err)
	}
	return bound, sends, nil
}

// MoveBinding rebinds ref from provider from to provider to, with no send
// counted (to == "": unbinds it), only when ref is bound to from with
// exactly sends sends counted, and reports whether it did; see
// ledger.Store. A compare-and-swap in one statement.
func (s *Store) MoveBinding(ctx context.Context, now time.Time, ref, from, to string, sends int) (bool, error) {
	if ref == "" {
		return false, s.fail("move binding", errNoRef)
	}
	var moved bool
	err := s.stmt(ctx, func(ctx context.Context, c *pgx.Conn) error {
		q, args := `UPDATE bindings SET provider = $4, sends = 0, created_at = $5, updated_at = $5
			WHERE ref = $1 AND provider = $2 AND sends = $3`, []any{ref, from, sends, to, micros(now)}
		if to == "" {
			q, args = `DELETE FROM bindings WHERE ref = $1 AND provider = $2 AND sends = $3`, args[:3]
		}
		tag, err := c.Exec(ctx, q, args...)
		moved = err == nil && tag.RowsAffected() == 1
		return err
	})
	if err != nil {
		return false, s.fail("move binding", err)
	}
	return moved, nil
}

// Binding returns the provider ref is bound to, "" when none.
func (s *Store) Binding(ctx context.Context, ref string) (string, error) {
	var provider string
	err := s.stmt(ctx, func(ctx context.Context, c *pgx.Conn) error {
		err := c.QueryRow(ctx, `SELECT provider FROM bindings WHERE ref = $1`, ref).Scan(&provider)
		if errors.Is(err, pgx.ErrNoRows) {
			provider, err = "", nil
		}
		return err
	})
	if err != nil {
		return "", s.fail("binding", err)
	}
	return provider, nil
}
