package pgstore

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/paysdk/payments/ledger"
)

var _ ledger.BrowseStore = (*Store)(nil)

// The queries of ledger.BrowseStore. Each can be answered by an index of
// migrations/0004_browse.sql (RecentEvents by events_received, of 0001): a
// partial index's predicate is repeated in the WHERE, so that the planner
// can prove the index holds every row the query asks for.
const (
	// countsSQL: payouts_provider_status alone, in group order.
	countsSQL = `SELECT provider, status, count(*), min(created_at) FROM payouts
		GROUP BY provider, status ORDER BY provider, status`
	// unfinishedSQL is the first page, unfinishedAfterSQL the next ones:
	// payouts_unfinished from the cursor on, in its order, no sort.
	unfinishedSQL = `SELECT ` + recordColumns + ` FROM payouts
		WHERE status NOT IN ('succeeded', 'failed')
		ORDER BY created_at, ref LIMIT $1`
	unfinishedAfterSQL = `SELECT ` + recordColumns + ` FROM payouts
		WHERE status NOT IN ('succeeded', 'failed') AND (created_at, ref) > ($1, $2)
		ORDER BY created_at, ref LIMIT $3`
	// finalsSQL: payouts_final from since on (at least 1: 0 is "not
	// final"); the minute of a (positive) final_at is final_at less its
	// remainder.
	finalsSQL = `SELECT final_at - final_at % 60000000 AS minute, provider, status, count(*) FROM payouts
		WHERE final_at >= $1 AND status IN ('succeeded', 'failed')
		GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`
	// recentEventsSQL: events_received backwards from before.
	recentEventsSQL = `SELECT ` + eventColumns + ` FROM events WHERE received_at < $1
		ORDER BY received_at DESC, provider DESC, provider_id DESC, state DESC LIMIT $2`
)

// noLimit is the before of RecentEvents without one: past every time.
const noLimit = int64(1<<63 - 1)

// checkLimit refuses a limit below 1: the queries are bounded.
func checkLimit(limit int) error {
	if limit < 1 {
		return fmt.Errorf("limit %d: want at least 1", limit)
	}
	return nil
}

// Counts returns the records by provider and status, all of them, with the
// oldest CreatedAt of each (see ledger.BrowseStore).
func (s *Store) Counts(ctx context.Context) ([]ledger.Stat, error) {
	return s.stats(ctx, "counts", countsSQL)
}

// Unfinished returns a page of the records not final, oldest first, after
// the cursor (afterCreated, afterRef) when afterRef != "" (see
// ledger.BrowseStore).
func (s *Store) Unfinished(ctx context.Context, afterCreated time.Time, afterRef string, limit int) ([]ledger.Record, error) {
	if err := checkLimit(limit); err != nil {
		return nil, s.fail("unfinished", err)
	}
	q, args := unfinishedSQL, []any{limit}
	if afterRef != "" {
		q, args = unfinishedAfterSQL, []any{micros(afterCreated), afterRef, limit}
	}
	var rs []ledger.Record
	err := s.stmt(ctx, func(ctx context.Context, c *pgx.Conn) error {
		rows, err := c.Query(ctx, q, args...)
		if err != nil {
			return err
		}
		rs, err = collectRecords(rows)
		return err
	})
	if err != nil {
		return nil, s.fail("unfinished", err)
	}
	return rs, nil
}

// Finals counts the records final since since per minute, provider and
// status (see ledger.BrowseStore).
func (s *Store) Finals(ctx context.Context, since time.Time) ([]ledger.Bucket, error) {
	var out []ledger.Bucket
	err := s.stmt(ctx, func(ctx context.Context, c *pgx.Conn) error {
		out = out[:0]
		rows, err := c.Query(ctx, finalsSQL, max(micros(since), 1))
		if err != nil {
			return err
		}
		var (
			b      ledger.Bucket
			minute int64
			status string
		)
		_, err = pgx.ForEachRow(rows, []any{&minute, &b.Provider, &status, &b.Count}, func() error {
			b.Minute, b.Status = fromMicros(minute), ledger.Status(status)
			out = append(out, b)
			return nil
		})
		return err
	})
	if err != nil {
		return nil, s.fail("finals", err)
	}
	return out, nil
}

// RecentEvents returns at most limit events, newest first, received before
// before when it is set (see ledger.BrowseStore).
func (s *Store) RecentEvents(ctx context.Context, before time.Time, limit int) ([]ledger.Event, error) {
	if err := checkLimit(limit); err != nil {
		return nil, s.fail("recent events", err)
	}
	until := noLimit
	if !before.IsZero() {
		until = micros(before)
	}
	var es []ledger.Event
	err := s.stmt(ctx, func(ctx context.Context, c *pgx.Conn) error {
		rows, err := c.Query(ctx, recentEventsSQL, until, limit)
		if err != nil {
			return err
		}
		es, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (ledger.Event, error) { return scanEvent(row) })
		return err
	})
	if err != nil {
		return nil, s.fail("recent events", err)
	}
	return es, nil
}
