package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"time"
)

var (
	errNoRef      = errors.New("empty ref")
	errNoProvider = errors.New("empty provider")
)

// AcquireBinding binds ref to provider unless it is bound already, counts
// one send under the binding, and returns the provider ref is bound to and
// the sends counted, this one included; see ledger.Store. It is one UPSERT
// under the file's write lock (BEGIN IMMEDIATE), so it is atomic against
// every other connection to the file, in this process or another.
func (s *Store) AcquireBinding(ctx context.Context, now time.Time, ref, provider string) (string, int, error) {
	if ref == "" {
		return "", 0, s.fail("acquire binding", errNoRef)
	}
	if provider == "" {
		return "", 0, s.fail("acquire binding", errNoProvider)
	}
	var bound string
	var sends int
	err := s.withTx(ctx, "acquire binding", func(tx *conn) error {
		err := tx.QueryRow(`INSERT INTO bindings (ref, provider, sends, created_at, updated_at)
			VALUES (?1, ?2, 1, ?3, ?3)
			ON CONFLICT (ref) DO UPDATE SET sends = sends + 1, updated_at = ?3
			RETURNING provider, sends`, ref, provider, micro(now)).Scan(&bound, &sends)
		if err != nil {
			return s.fail("acquire binding", s.explain(err))
		}
		return nil
	})
	if err != nil {
		return "", 0, err
	}
	return bound, sends, nil
}

// MoveBinding rebinds ref from provider from to provider to, with no send
// counted (to == "": unbinds it), only when ref is bound to from with
// exactly sends sends counted, and reports whether it did; see
// ledger.Store. A compare-and-swap in one statement under the write lock.
func (s *Store) MoveBinding(ctx context.Context, now time.Time, ref, from, to string, sends int) (bool, error) {
	if ref == "" {
		return false, s.fail("move binding", errNoRef)
	}
	var moved bool
	err := s.withTx(ctx, "move binding", func(tx *conn) error {
		var res sql.Result
		var err error
		if to == "" {
			res, err = tx.Exec(`DELETE FROM bindings WHERE ref = ? AND provider = ? AND sends = ?`, ref, from, sends)
		} else {
			res, err = tx.Exec(`UPDATE bindings SET provider = ?1, sends = 0, created_at = ?2, updated_at = ?2
				WHERE ref = ?3 AND provider = ?4 AND sends = ?5`, to, micro(now), ref, from, sends)
		}
		if err != nil {
			return s.fail("move binding", s.explain(err))
		}
		n, err := res.RowsAffected()
		if err != nil {
			return s.fail("move binding", err)
		}
		moved = n == 1
		return nil
	})
	if err != nil {
		return false, err
	}
	return moved, nil
}

// Binding returns the provider ref is bound to, "" when none.
func (s *Store) Binding(ctx context.Context, ref string) (string, error) {
	c, err := s.reader(ctx)
	if err != nil {
		return "", s.fail("binding", s.explain(err))
	}
	defer c.Close()
	var provider string
	err = c.QueryRow(`SELECT provider FROM bindings WHERE ref = ?`, ref).Scan(&provider)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", s.fail("binding", s.explain(err))
	}
	return provider, nil
}
