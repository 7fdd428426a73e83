package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/ledger"
)

const eventCols = `provider, provider_id, state, order_ref, checkout_id, amount, currency, received_at, handled_at`

const eventKey = `provider = ? AND provider_id = ? AND state = ?`

func scanEvent(sc scanner) (ledger.Event, error) {
	var (
		e                 ledger.Event
		state             int
		amount, currency  string
		received, handled int64
	)
	if err := sc.Scan(&e.Provider, &e.ProviderID, &state, &e.OrderRef, &e.CheckoutID, &amount, &currency, &received, &handled); err != nil {
		return ledger.Event{}, err
	}
	m, err := money(amount, currency)
	if err != nil {
		return ledger.Event{}, fmt.Errorf("event %s/%s/%d: %w", e.Provider, e.ProviderID, state, err)
	}
	e.State, e.Amount = payments.State(state), m
	e.ReceivedAt, e.HandledAt = fromMicro(received), fromMicro(handled)
	return e, nil
}

// AddEvent records e, received now, unless an event with its key
// (Provider, ProviderID, State) is stored, and returns the stored event and
// whether it was added now. A new event is unhandled whatever e.HandledAt
// says: only HandleEvent marks an event handled.
func (s *Store) AddEvent(ctx context.Context, now time.Time, e ledger.Event) (ledger.Event, bool, error) {
	var stored ledger.Event
	var added bool
	err := s.withTx(ctx, "add event", func(tx *conn) error {
		res, err := tx.Exec(`INSERT INTO events (`+eventCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0)
			ON CONFLICT (provider, provider_id, state) DO NOTHING`,
			e.Provider, e.ProviderID, int(e.State), e.OrderRef, e.CheckoutID,
			e.Amount.Amount.String(), e.Amount.Currency, micro(now))
		if err != nil {
			return s.fail("add event", s.explain(err))
		}
		n, err := res.RowsAffected()
		if err != nil {
			return s.fail("add event", err)
		}
		added = n == 1
		stored, err = scanEvent(tx.QueryRow(`SELECT `+eventCols+` FROM events WHERE `+eventKey,
			e.Provider, e.ProviderID, int(e.State)))
		if err != nil {
			return s.fail("add event", s.explain(err))
		}
		return nil
	})
	if err != nil {
		return ledger.Event{}, false, err
	}
	return stored, added, nil
}

// HandleEvent sets HandledAt = now on the event with e's key unless it is
// set already. An event that is not stored is an error matching
// payments.ErrNotFound: nothing is recorded for it.
func (s *Store) HandleEvent(ctx context.Context, now time.Time, e ledger.Event) error {
	return s.withTx(ctx, "handle event", func(tx *conn) error {
		var handled int64
		err := tx.QueryRow(`SELECT handled_at FROM events WHERE `+eventKey,
			e.Provider, e.ProviderID, int(e.State)).Scan(&handled)
		if errors.Is(err, sql.ErrNoRows) {
			return s.fail("handle event", fmt.Errorf("event %s/%s/%s: %w", e.Provider, e.ProviderID, e.State, payments.ErrNotFound))
		}
		if err != nil {
			return s.fail("handle event", s.explain(err))
		}
		if handled != 0 {
			return nil
		}
		if _, err := tx.Exec(`UPDATE events SET handled_at = ? WHERE `+eventKey,
			micro(now), e.Provider, e.ProviderID, int(e.State)); err != nil {
			return s.fail("handle event", s.explain(err))
		}
		return nil
	})
}

// Events returns the stored events, oldest ReceivedAt first, then by
// provider, provider id and state; at most limit of them (0: all).
func (s *Store) Events(ctx context.Context, limit int) ([]ledger.Event, error) {
	q := `SELECT ` + eventCols + ` FROM events ORDER BY received_at, provider, provider_id, state`
	if limit > 0 {
		q += fmt.Sprintf(" LIMIT %d", limit)
	}
	c, err := s.reader(ctx)
	if err != nil {
		return nil, s.fail("events", s.explain(err))
	}
	defer c.Close()
	rows, err := c.Query(q)
	if err != nil {
		return nil, s.fail("events", s.explain(err))
	}
	defer rows.Close()
	var out []ledger.Event
	for {
		if more, err := c.next(rows); err != nil {
			return nil, s.fail("events", err)
		} else if !more {
			break
		}
		e, err := scanEvent(rows)
		if err != nil {
			return nil, s.fail("events", err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, s.fail("events", s.explain(err))
	}
	return out, nil
}
