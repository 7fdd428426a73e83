package pgstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/ledger"
)

// AddEvent records e, with ReceivedAt = now and not handled, unless an
// event with its key (Provider, ProviderID, State) is stored; it returns the
// stored event and whether it was added now. A HandledAt in e is not stored:
// only HandleEvent marks an event handled, so that no notification can skip
// the merchant's handler.
func (s *Store) AddEvent(ctx context.Context, now time.Time, e ledger.Event) (ledger.Event, bool, error) {
	var (
		stored ledger.Event
		added  bool
	)
	err := s.stmt(ctx, func(ctx context.Context, c *pgx.Conn) error {
		var err error
		stored, err = scanEvent(c.QueryRow(ctx, `INSERT INTO events (`+eventColumns+`)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
			ON CONFLICT (provider, provider_id, state) DO NOTHING
			RETURNING `+eventColumns,
			e.Provider, e.ProviderID, int(e.State), e.OrderRef, e.CheckoutID,
			e.Amount.Amount.String(), e.Amount.Currency, micros(now), 0))
		if err == nil {
			added = true
			return nil
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		// Stored already (perhaps by a transaction that committed after
		// the INSERT's snapshot: this new statement sees it).
		added = false
		stored, err = scanEvent(c.QueryRow(ctx, `SELECT `+eventColumns+` FROM events
			WHERE provider = $1 AND provider_id = $2 AND state = $3`, e.Provider, e.ProviderID, int(e.State)))
		return err
	})
	if err != nil {
		return ledger.Event{}, false, s.fail("add event", err)
	}
	return stored, added, nil
}

// HandleEvent sets HandledAt = now on the event with e's key, unless it is
// set already. An event that is not stored is an error matching
// payments.ErrNotFound.
func (s *Store) HandleEvent(ctx context.Context, now time.Time, e ledger.Event) error {
	err := s.stmt(ctx, func(ctx context.Context, c *pgx.Conn) error {
		var found bool
		err := c.QueryRow(ctx, `WITH upd AS (
				UPDATE events SET handled_at = $4
				WHERE provider = $1 AND provider_id = $2 AND state = $3 AND handled_at = 0
				RETURNING 1
			)
			SELECT EXISTS (SELECT 1 FROM upd) OR EXISTS (SELECT 1 FROM events
				WHERE provider = $1 AND provider_id = $2 AND state = $3)`,
			e.Provider, e.ProviderID, int(e.State), micros(now)).Scan(&found)
		if err == nil && !found {
			return fmt.Errorf("event %s %s %s: %w", e.Provider, e.ProviderID, e.State, payments.ErrNotFound)
		}
		return err
	})
	return s.fail("handle event", err)
}

// Events returns the stored events, oldest ReceivedAt first (then by
// provider, id and state), at most limit (0: all).
func (s *Store) Events(ctx context.Context, limit int) ([]ledger.Event, error) {
	q := `SELECT ` + eventColumns + ` FROM events ORDER BY received_at, provider, provider_id, state`
	var args []any
	if limit > 0 {
		q += ` LIMIT $1`
		args = append(args, limit)
	}
	var es []ledger.Event
	err := s.stmt(ctx, func(ctx context.Context, c *pgx.Conn) error {
		rows, err := c.Query(ctx, q, args...)
		if err != nil {
			return err
		}
		es, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (ledger.Event, error) { return scanEvent(row) })
		return err
	})
	if err != nil {
		return nil, s.fail("events", err)
	}
	return es, nil
}
