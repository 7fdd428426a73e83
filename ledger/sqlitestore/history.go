package sqlitestore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/ledger"
)

var _ ledger.HistoryStore = (*Store)(nil)

// History returns the steps kept of ref, oldest first (see
// ledger.HistoryStore): the rows of payout_steps, written by the triggers of
// migrations/0003_history.sql in the transaction of each Insert and of each
// Save that changed the record's answer. A record stored before that
// migration and unchanged since has one step, made from the record.
func (s *Store) History(ctx context.Context, ref string) ([]ledger.Step, error) {
	c, err := s.reader(ctx)
	if err != nil {
		return nil, s.fail("history", s.explain(err))
	}
	defer c.Close()
	// One read transaction: the steps and, when there are none, the record
	// are of the same moment.
	if _, err := c.Exec("BEGIN DEFERRED"); err != nil {
		return nil, s.fail("history", s.explain(err))
	}
	defer func() {
		if _, err := c.c.ExecContext(c.run(), "ROLLBACK"); err != nil {
			// Never give the pool a connection inside a transaction: it
			// would hold back the WAL's checkpoints.
			_ = c.c.Raw(func(any) error { return driver.ErrBadConn })
		}
	}()
	steps, err := s.steps(c, ref)
	if err != nil {
		return nil, s.fail("history", err)
	}
	if len(steps) > 0 {
		return steps, nil
	}
	r, err := scanRecord(c.QueryRow(`SELECT `+recordCols+` FROM payouts WHERE ref = ?`, ref))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, s.fail("history", fmt.Errorf("ref %q: %w", ref, payments.ErrNotFound))
	}
	if err != nil {
		return nil, s.fail("history", s.explain(err))
	}
	return []ledger.Step{{Seq: 1, At: r.UpdatedAt, Status: r.Status, Provider: r.Provider,
		Code: r.Code, Message: r.Message, LastError: r.LastError, Sends: r.Sends, Polls: r.Polls}}, nil
}

func (s *Store) steps(c *conn, ref string) ([]ledger.Step, error) {
	rows, err := c.Query(`SELECT seq, at, status, provider, code, message, last_error, sends, polls
		FROM payout_steps WHERE ref = ? ORDER BY seq`, ref)
	if err != nil {
		return nil, s.explain(err)
	}
	defer rows.Close()
	var out []ledger.Step
	for {
		if more, err := c.next(rows); err != nil {
			return nil, err
		} else if !more {
			break
		}
		var st ledger.Step
		var at int64
		var status string
		if err := rows.Scan(&st.Seq, &at, &status, &st.Provider, &st.Code, &st.Message, &st.LastError,
			&st.Sends, &st.Polls); err != nil {
			return nil, err
		}
		st.At, st.Status = fromMicro(at), ledger.Status(status)
		out = append(out, st)
	}
	if err := rows.Err(); err != nil {
		return nil, s.explain(err)
	}
	return out, nil
}
