package pgstore

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/ledger"
)

var _ ledger.HistoryStore = (*Store)(nil)

// historySQL reads the steps of a ref and, in the same statement (one
// snapshot), its record's state as a step of its own, flagged: the caller
// uses that row only when the ref has no step (a record stored before
// migrations/0003_history.sql and unchanged since). No row: no record.
const historySQL = `SELECT false, s.seq, s.at, s.status, s.provider, s.code, s.message, s.last_error, s.sends, s.polls
		FROM payout_steps s WHERE s.ref = $1
	UNION ALL
	SELECT true, 1, p.updated_at, p.status, p.provider, p.code, p.message, p.last_error, p.sends, p.polls
		FROM payouts p WHERE p.ref = $1
	ORDER BY 1, 2`

// History returns the steps kept of ref, oldest first (see
// ledger.HistoryStore): the rows of payout_steps, written by the triggers of
// migrations/0003_history.sql in the statement of each Insert and of each
// Save that changed the record's answer.
func (s *Store) History(ctx context.Context, ref string) ([]ledger.Step, error) {
	var out []ledger.Step
	err := s.stmt(ctx, func(ctx context.Context, c *pgx.Conn) error {
		out = out[:0]
		rows, err := c.Query(ctx, historySQL, ref)
		if err != nil {
			return err
		}
		var (
			record bool
			st     ledger.Step
			at     int64
			status string
		)
		found := false
		_, err = pgx.ForEachRow(rows, []any{&record, &st.Seq, &at, &status, &st.Provider, &st.Code, &st.Message,
			&st.LastError, &st.Sends, &st.Polls}, func() error {
			found = true
			if record && len(out) > 0 {
				return nil // the steps say it all
			}
			st.At, st.Status = fromMicros(at), ledger.Status(status)
			out = append(out, st)
			return nil
		})
		if err != nil {
			return err
		}
		if !found {
			return fmt.Errorf("ref %q: %w", ref, payments.ErrNotFound)
		}
		return nil
	})
	if err != nil {
		return nil, s.fail("history", err)
	}
	return out, nil
}
