package sqlitestore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"strings"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/ledger"
)

var _ ledger.HistoryStore = (*Store)(nil)

// History returns the steps kept of ref, oldest first (see
// ledger.HistoryStore): the rows of payout_steps, written by the trigger of
// migrations/0003_history.sql in the statement of each Insert, and by Save
// in the transaction of each Save that changed the record's answer. A record stored before that
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

// answer is what a stored record said, as Save compares it, and the number
// of its latest step (0: none stored).
type answer struct {
	status, provider, code, message, lastError string
	sends, polls                               int
	updatedAt                                  int64
	last                                       int
}

func answerOf(r ledger.Record) answer {
	return answer{status: string(r.Status), provider: r.Provider, code: r.Code, message: r.Message,
		lastError: r.LastError, sends: r.Sends, polls: r.Polls}
}

// same reports whether a and b say the same: no step between them.
func (a answer) same(b answer) bool {
	return a.status == b.status && a.provider == b.provider && a.code == b.code &&
		a.message == b.message && a.lastError == b.lastError
}

// stepRow is a row of payout_steps.
type stepRow struct {
	ref string
	seq int
	at  int64
	answer
}

// Rows of one INSERT into payout_steps, and (ref, seq) pairs of one DELETE.
const stepChunk = 20

// answers reads, in Save's transaction, what the records of refs that owner
// holds say now, with their latest step's number: one query per refChunk
// refs.
func (s *Store) answers(tx *conn, owner string, refs []string) (map[string]answer, error) {
	out := make(map[string]answer, len(refs))
	for start := 0; start < len(refs); start += refChunk {
		chunk := refs[start:min(start+refChunk, len(refs))]
		args := make([]any, 0, len(chunk)+1)
		args = append(args, owner)
		for _, ref := range chunk {
			args = append(args, ref)
		}
		rows, err := tx.Query(`SELECT ref, status, provider, code, message, last_error, sends, polls, updated_at,
			COALESCE((SELECT MAX(seq) FROM payout_steps s WHERE s.ref = p.ref), 0)
			FROM payouts p WHERE lease_owner = ? AND ref IN (`+placeholders(len(chunk))+`)`, args...)
		if err != nil {
			return nil, s.explain(err)
		}
		for rows.Next() {
			var ref string
			var a answer
			if err := rows.Scan(&ref, &a.status, &a.provider, &a.code, &a.message, &a.lastError,
				&a.sends, &a.polls, &a.updatedAt, &a.last); err != nil {
				rows.Close()
				return nil, err
			}
			out[ref] = a
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, s.explain(err)
		}
	}
	return out, nil
}

// stepsOf appends to add the steps a Save at now of r makes, r having been
// written over a record that said was, and to drop the steps the cap
// drops; it returns what r's record says now. A record without a stored
// step (stored before the history) first gets the step of what it said.
func stepsOf(was answer, r ledger.Record, now int64, add []stepRow, drop []stepRow) (answer, []stepRow, []stepRow) {
	is := answerOf(r)
	is.updatedAt, is.last = now, was.last
	if is.same(was) {
		return is, add, drop
	}
	if was.last == 0 {
		add = append(add, stepRow{ref: r.Ref, seq: 1, at: was.updatedAt, answer: was})
		is.last = 1
	}
	is.last++
	add = append(add, stepRow{ref: r.Ref, seq: is.last, at: now, answer: is})
	if old := is.last - ledger.HistoryLast; old > ledger.HistoryFirst {
		drop = append(drop, stepRow{ref: r.Ref, seq: old})
	}
	return is, add, drop
}

// writeSteps inserts add and deletes drop, in chunks.
func (s *Store) writeSteps(tx *conn, add, drop []stepRow) error {
	for start := 0; start < len(add); start += stepChunk {
		chunk := add[start:min(start+stepChunk, len(add))]
		args := make([]any, 0, 10*len(chunk))
		for _, st := range chunk {
			args = append(args, st.ref, st.seq, st.at, st.status, st.provider, st.code, st.message, st.lastError,
				st.sends, st.polls)
		}
		row := "(" + placeholders(10) + ")"
		if _, err := tx.Exec(`INSERT INTO payout_steps (ref, seq, at, status, provider, code, message, last_error, sends, polls)
			VALUES `+strings.TrimSuffix(strings.Repeat(row+", ", len(chunk)), ", "), args...); err != nil {
			return s.explain(err)
		}
	}
	for start := 0; start < len(drop); start += stepChunk {
		chunk := drop[start:min(start+stepChunk, len(drop))]
		args := make([]any, 0, 2*len(chunk))
		for _, st := range chunk {
			args = append(args, st.ref, st.seq)
		}
		if _, err := tx.Exec(`DELETE FROM payout_steps WHERE (ref, seq) IN (VALUES `+
			strings.TrimSuffix(strings.Repeat("(?, ?), ", len(chunk)), ", ")+`)`, args...); err != nil {
			return s.explain(err)
		}
	}
	return nil
}
