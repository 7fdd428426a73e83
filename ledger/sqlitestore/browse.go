package sqlitestore

import (
	"context"
	"fmt"
	"time"

	"github.com/paysdk/payments/ledger"
)

var _ ledger.BrowseStore = (*Store)(nil)

// The queries of ledger.BrowseStore. Each reads an index of
// migrations/0004_browse.sql (RecentEvents events_received, of 0001): a
// partial index's WHERE is repeated term for term, so SQLite uses it.
const (
	// countsSQL reads payouts_provider_status alone, in group order.
	countsSQL = `SELECT provider, status, COUNT(*), MIN(created_at) FROM payouts
		GROUP BY provider, status ORDER BY provider, status`
	// unfinishedSQL is the first page, unfinishedAfterSQL the next ones:
	// payouts_unfinished from the cursor on, in its order, no sort.
	unfinishedSQL = `SELECT ` + recordCols + ` FROM payouts
		WHERE status NOT IN ('succeeded', 'failed')
		ORDER BY created_at, ref LIMIT ?`
	unfinishedAfterSQL = `SELECT ` + recordCols + ` FROM payouts
		WHERE status NOT IN ('succeeded', 'failed') AND (created_at, ref) > (?, ?)
		ORDER BY created_at, ref LIMIT ?`
	// finalsSQL reads payouts_final from since on (at least 1: 0 is "not
	// final"); the minute of a (positive) final_at is final_at less its
	// remainder. INDEXED BY, because on a large file SQLite preferred
	// payouts_status for the status IN and read every final record: the
	// dashboard's load test at 1,000,000 records took 555 ms for a window
	// of 10,800 finals, 17 ms with the index named.
	finalsSQL = `SELECT final_at - final_at % 60000000 AS minute, provider, status, COUNT(*) FROM payouts INDEXED BY payouts_final
		WHERE final_at >= ? AND status IN ('succeeded', 'failed')
		GROUP BY minute, provider, status ORDER BY minute, provider, status`
	// recentEventsSQL reads events_received backwards from before.
	recentEventsSQL = `SELECT ` + eventCols + ` FROM events WHERE received_at < ?
		ORDER BY received_at DESC, provider DESC, provider_id DESC, state DESC LIMIT ?`
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
// oldest CreatedAt of each (see ledger.BrowseStore), from the index
// payouts_provider_status alone.
func (s *Store) Counts(ctx context.Context) ([]ledger.Stat, error) {
	return s.stats(ctx, "counts", countsSQL)
}

// Unfinished returns a page of the records not final, oldest first, after
// the cursor (afterCreated, afterRef) when afterRef != "" (see
// ledger.BrowseStore), read from the index payouts_unfinished.
func (s *Store) Unfinished(ctx context.Context, afterCreated time.Time, afterRef string, limit int) ([]ledger.Record, error) {
	if err := checkLimit(limit); err != nil {
		return nil, s.fail("unfinished", err)
	}
	c, err := s.reader(ctx)
	if err != nil {
		return nil, s.fail("unfinished", s.explain(err))
	}
	defer c.Close()
	q, args := unfinishedSQL, []any{limit}
	if afterRef != "" {
		q, args = unfinishedAfterSQL, []any{micro(afterCreated), afterRef, limit}
	}
	rows, err := c.Query(q, args...)
	if err != nil {
		return nil, s.fail("unfinished", s.explain(err))
	}
	defer rows.Close()
	var out []ledger.Record
	for {
		if more, err := c.next(rows); err != nil {
			return nil, s.fail("unfinished", err)
		} else if !more {
			break
		}
		r, err := scanRecord(rows)
		if err != nil {
			return nil, s.fail("unfinished", err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, s.fail("unfinished", s.explain(err))
	}
	return out, nil
}

// Finals counts the records final since since per minute, provider and
// status (see ledger.BrowseStore), read from the index payouts_final.
func (s *Store) Finals(ctx context.Context, since time.Time) ([]ledger.Bucket, error) {
	c, err := s.reader(ctx)
	if err != nil {
		return nil, s.fail("finals", s.explain(err))
	}
	defer c.Close()
	rows, err := c.Query(finalsSQL, max(micro(since), 1))
	if err != nil {
		return nil, s.fail("finals", s.explain(err))
	}
	defer rows.Close()
	var out []ledger.Bucket
	for {
		if more, err := c.next(rows); err != nil {
			return nil, s.fail("finals", err)
		} else if !more {
			break
		}
		var b ledger.Bucket
		var minute int64
		var status string
		if err := rows.Scan(&minute, &b.Provider, &status, &b.Count); err != nil {
			return nil, s.fail("finals", err)
		}
		b.Minute, b.Status = fromMicro(minute), ledger.Status(status)
		out = append(out, b)
	}
	if err := rows.Err(); err != nil {
		return nil, s.fail("finals", s.explain(err))
	}
	return out, nil
}

// RecentEvents returns at most limit events, newest first, received before
// before when it is set (see ledger.BrowseStore), reading the index
// events_received backwards.
func (s *Store) RecentEvents(ctx context.Context, before time.Time, limit int) ([]ledger.Event, error) {
	if err := checkLimit(limit); err != nil {
		return nil, s.fail("recent events", err)
	}
	until := noLimit
	if !before.IsZero() {
		until = micro(before)
	}
	c, err := s.reader(ctx)
	if err != nil {
		return nil, s.fail("recent events", s.explain(err))
	}
	defer c.Close()
	rows, err := c.Query(recentEventsSQL, until, limit)
	if err != nil {
		return nil, s.fail("recent events", s.explain(err))
	}
	defer rows.Close()
	var out []ledger.Event
	for {
		if more, err := c.next(rows); err != nil {
			return nil, s.fail("recent events", err)
		} else if !more {
			break
		}
		e, err := scanEvent(rows)
		if err != nil {
			return nil, s.fail("recent events", err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, s.fail("recent events", s.explain(err))
	}
	return out, nil
}
