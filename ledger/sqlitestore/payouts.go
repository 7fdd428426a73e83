package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/ledger"
	"github.com/paysdk/payments/payout"
)

// Chunks of rows and refs a statement takes. The bundled SQLite allows
// 32766 bound variables a statement, but the driver binds each variable in
// time linear in their count, so a statement's cost grows with the square
// of its variables: small chunks are fastest (measured on 5,000 records).
const (
	insertChunk = 10  // rows of one INSERT: 10 × 23 variables
	refChunk    = 100 // refs of one IN (...)
)

// recordCols are the columns scanRecord reads, in its order.
const recordCols = `ref, provider, amount, currency, kind, account, bank, status,
	provider_id, code, message, last_error, sends, polls,
	created_at, sent_at, accepted_at, final_at, updated_at, next_at, reported`

// insertCols are recordCols and the lease.
const insertCols = recordCols + `, lease_owner, lease_until`

// queueTerm is the work queue: not final, or final and not reported. It is
// the WHERE of the payouts_queue index word for word, so Claim uses it.
const queueTerm = `(reported = 0 OR status NOT IN ('succeeded', 'failed'))`

type scanner interface{ Scan(dest ...any) error }

func scanRecord(sc scanner) (ledger.Record, error) {
	var (
		r                              ledger.Record
		amount, currency, kind, status string
		created, sent, accepted, final int64
		updated, next                  int64
		reported                       int
	)
	err := sc.Scan(&r.Ref, &r.Provider, &amount, &currency, &kind, &r.To.Account, &r.To.Bank, &status,
		&r.ProviderID, &r.Code, &r.Message, &r.LastError, &r.Sends, &r.Polls,
		&created, &sent, &accepted, &final, &updated, &next, &reported)
	if err != nil {
		return ledger.Record{}, err
	}
	m, err := money(amount, currency)
	if err != nil {
		return ledger.Record{}, fmt.Errorf("record %q: %w", r.Ref, err)
	}
	r.Amount, r.To.Kind, r.Status = m, payout.Kind(kind), ledger.Status(status)
	r.CreatedAt, r.SentAt, r.AcceptedAt = fromMicro(created), fromMicro(sent), fromMicro(accepted)
	r.FinalAt, r.UpdatedAt, r.NextAt = fromMicro(final), fromMicro(updated), fromMicro(next)
	r.Reported = reported != 0
	return r, nil
}

// money reads an amount as stored: the exact decimal text and the currency.
func money(amount, currency string) (payments.Money, error) {
	d, err := payments.ParseDecimal(amount)
	if err != nil {
		return payments.Money{}, fmt.Errorf("stored amount %q: %w", amount, err)
	}
	return payments.Money{Amount: d, Currency: currency}, nil
}

// placeholders is "?, ?, ..." n times.
func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

// Insert records rs in one transaction; see ledger.Store. check's error is
// returned as it is; every other error is a *ledger.StoreError. A batch
// naming a ref twice, which the contract rules out, is refused whole.
func (s *Store) Insert(ctx context.Context, now time.Time, rs []ledger.Record, check func(existing []ledger.Record) error) (int, error) {
	if len(rs) == 0 {
		return 0, nil
	}
	refs := make([]string, len(rs))
	seen := make(map[string]bool, len(rs))
	for i, r := range rs {
		if seen[r.Ref] {
			// The contract rules it out; inserting one of the two would
			// hide which details were meant.
			return 0, s.fail("insert", fmt.Errorf("ref %q appears twice in the batch", r.Ref))
		}
		seen[r.Ref] = true
		refs[i] = r.Ref
	}
	inserted := 0
	err := s.withTx(ctx, "insert", func(tx *conn) error {
		existing, err := s.byRefs(tx, refs)
		if err != nil {
			return s.fail("insert", err)
		}
		if check != nil {
			if err := check(existing); err != nil {
				return err // as it is: the ledger matches it
			}
		}
		stored := make(map[string]bool, len(existing))
		for _, r := range existing {
			stored[r.Ref] = true
		}
		fresh := make([]ledger.Record, 0, len(rs)-len(existing))
		for _, r := range rs {
			if !stored[r.Ref] {
				fresh = append(fresh, r)
			}
		}
		n, err := s.insertRows(tx, now, fresh)
		if err != nil {
			return s.fail("insert", err)
		}
		inserted = n
		return nil
	})
	if err != nil {
		return 0, err
	}
	return inserted, nil
}

// insertRows inserts rs in chunks of multi-row INSERTs and returns how many
// rows went in.
func (s *Store) insertRows(tx *conn, now time.Time, rs []ledger.Record) (int, error) {
	const cols = 23
	row := "(" + placeholders(cols) + ")"
	var stmt *prepared // the statement of a full chunk, prepared once
	defer func() {
		if stmt != nil {
			stmt.Close()
		}
	}()
	n := 0
	t := micro(now)
	args := make([]any, 0, insertChunk*cols)
	for start := 0; start < len(rs); start += insertChunk {
		chunk := rs[start:min(start+insertChunk, len(rs))]
		args = args[:0]
		for _, r := range chunk {
			args = append(args, r.Ref, r.Provider, r.Amount.Amount.String(), r.Amount.Currency,
				string(r.To.Kind), r.To.Account, r.To.Bank, string(r.Status),
				r.ProviderID, r.Code, r.Message, r.LastError, r.Sends, r.Polls,
				t, micro(r.SentAt), micro(r.AcceptedAt), micro(r.FinalAt), t, t, boolInt(r.Reported),
				"", int64(0))
		}
		q := `INSERT INTO payouts (` + insertCols + `) VALUES ` +
			strings.TrimSuffix(strings.Repeat(row+", ", len(chunk)), ", ") +
			` ON CONFLICT (ref) DO NOTHING`
		var res sql.Result
		var err error
		if len(chunk) == insertChunk {
			if stmt == nil {
				if stmt, err = tx.Prepare(q); err != nil {
					return 0, s.explain(err)
				}
			}
			res, err = stmt.Exec(args...)
		} else {
			res, err = tx.Exec(q, args...)
		}
		if err != nil {
			return 0, s.explain(err)
		}
		k, err := res.RowsAffected()
		if err != nil {
			return 0, err
		}
		n += int(k)
	}
	return n, nil
}

// byRefs reads the records of refs there are, in ref order.
func (s *Store) byRefs(tx *conn, refs []string) ([]ledger.Record, error) {
	return s.list(tx, ledger.Filter{Refs: refs})
}

// Claim leases to owner, until now+lease, up to limit due records of the
// work queue that nobody holds, earliest NextAt first; see ledger.Store. The
// UPDATE runs under the write lock, so no other connection to the file,
// in this process or another, can claim the same records at once.
func (s *Store) Claim(ctx context.Context, owner string, now time.Time, lease time.Duration, limit int) ([]ledger.Record, error) {
	if owner == "" {
		return nil, s.fail("claim", errors.New("empty owner"))
	}
	if limit <= 0 {
		if err := ctx.Err(); err != nil {
			return nil, s.fail("claim", err)
		}
		return nil, nil
	}
	t := micro(now)
	var out []ledger.Record
	err := s.withTx(ctx, "claim", func(tx *conn) error {
		rows, err := tx.Query(`UPDATE payouts SET lease_owner = ?1, lease_until = ?2
			WHERE ref IN (
				SELECT ref FROM payouts
				WHERE `+queueTerm+` AND next_at <= ?3 AND (lease_owner = '' OR lease_until <= ?3)
				ORDER BY next_at, ref
				LIMIT ?4)
			RETURNING `+recordCols,
			owner, micro(now.Add(lease)), t, limit)
		if err != nil {
			return s.fail("claim", s.explain(err))
		}
		defer rows.Close()
		for rows.Next() {
			r, err := scanRecord(rows)
			if err != nil {
				return s.fail("claim", err)
			}
			out = append(out, r)
		}
		if err := rows.Err(); err != nil {
			return s.fail("claim", s.explain(err))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	// RETURNING keeps no order.
	sort.Slice(out, func(i, j int) bool {
		if !out[i].NextAt.Equal(out[j].NextAt) {
			return out[i].NextAt.Before(out[j].NextAt)
		}
		return out[i].Ref < out[j].Ref
	})
	return out, nil
}

// Save writes the ledger's fields of the records owner still holds, in one
// transaction, keeping the lease until now+hold (hold > 0) or releasing it;
// see ledger.Store. A record owner does not hold (leased to another, never
// leased, released, or not stored) is not written and its ref is in lost.
// A record whose Status, Provider, Code, Message or LastError changes gets a
// step of its history (ledger.HistoryStore), in the same transaction.
func (s *Store) Save(ctx context.Context, owner string, now time.Time, hold time.Duration, rs []ledger.Record) ([]string, error) {
	if owner == "" {
		return nil, s.fail("save", errors.New("empty owner"))
	}
	leaseOwner, leaseUntil := owner, micro(now.Add(hold))
	if hold <= 0 {
		leaseOwner, leaseUntil = "", 0
	}
	refs := make([]string, len(rs))
	for i, r := range rs {
		refs[i] = r.Ref
	}
	t := micro(now)
	var lost []string
	err := s.withTx(ctx, "save", func(tx *conn) error {
		lost = lost[:0]
		// What the records say before the Save: a record whose answer
		// changes gets a step (history.go).
		var err error
		var was map[string]answer
		if !s.noSteps {
			if was, err = s.answers(tx, owner, refs); err != nil {
				return s.fail("save", err)
			}
		}
		var add, drop []stepRow
		stmt, err := tx.Prepare(`UPDATE payouts SET
			provider = ?, status = ?, provider_id = ?, code = ?, message = ?, last_error = ?,
			sends = ?, polls = ?, sent_at = ?, accepted_at = ?, final_at = ?, next_at = ?,
			reported = ?, updated_at = ?, lease_owner = ?, lease_until = ?
			WHERE ref = ? AND lease_owner = ?`)
		if err != nil {
			return s.fail("save", s.explain(err))
		}
		defer stmt.Close()
		for _, r := range rs {
			res, err := stmt.Exec(
				r.Provider, string(r.Status), r.ProviderID, r.Code, r.Message, r.LastError,
				r.Sends, r.Polls, micro(r.SentAt), micro(r.AcceptedAt), micro(r.FinalAt), micro(r.NextAt),
				boolInt(r.Reported), t, leaseOwner, leaseUntil,
				r.Ref, owner)
			if err != nil {
				return s.fail("save", s.explain(err))
			}
			if n, err := res.RowsAffected(); err != nil {
				return s.fail("save", err)
			} else if n == 0 {
				lost = append(lost, r.Ref)
				continue
			}
			if s.noSteps {
				continue
			}
			w, ok := was[r.Ref]
			if !ok {
				return s.fail("save", fmt.Errorf("ref %q: written, but not read before", r.Ref))
			}
			was[r.Ref], add, drop = stepsOf(w, r, t, add, drop)
		}
		if err := s.writeSteps(tx, add, drop); err != nil {
			return s.fail("save", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return lost, nil
}

// Renew extends owner's leases on refs to now+lease, and returns the refs
// owner no longer holds; see ledger.Store.
func (s *Store) Renew(ctx context.Context, owner string, now time.Time, lease time.Duration, refs []string) ([]string, error) {
	if owner == "" {
		return nil, s.fail("renew", errors.New("empty owner"))
	}
	var lost []string
	err := s.withTx(ctx, "renew", func(tx *conn) error {
		lost = lost[:0]
		stmt, err := tx.Prepare(`UPDATE payouts SET lease_until = ? WHERE ref = ? AND lease_owner = ?`)
		if err != nil {
			return s.fail("renew", s.explain(err))
		}
		defer stmt.Close()
		until := micro(now.Add(lease))
		for _, ref := range refs {
			res, err := stmt.Exec(until, ref, owner)
			if err != nil {
				return s.fail("renew", s.explain(err))
			}
			if n, err := res.RowsAffected(); err != nil {
				return s.fail("renew", err)
			} else if n == 0 {
				lost = append(lost, ref)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return lost, nil
}

// Get returns the record of ref; an error matching payments.ErrNotFound (and
// ledger.ErrStore) when there is none.
func (s *Store) Get(ctx context.Context, ref string) (ledger.Record, error) {
	c, err := s.reader(ctx)
	if err != nil {
		return ledger.Record{}, s.fail("get", s.explain(err))
	}
	defer c.Close()
	r, err := scanRecord(c.QueryRow(`SELECT `+recordCols+` FROM payouts WHERE ref = ?`, ref))
	if errors.Is(err, sql.ErrNoRows) {
		return ledger.Record{}, s.fail("get", fmt.Errorf("ref %q: %w", ref, payments.ErrNotFound))
	}
	if err != nil {
		return ledger.Record{}, s.fail("get", s.explain(err))
	}
	return r, nil
}

// List returns the records f selects, ordered by Ref; see ledger.Filter.
func (s *Store) List(ctx context.Context, f ledger.Filter) ([]ledger.Record, error) {
	c, err := s.reader(ctx)
	if err != nil {
		return nil, s.fail("list", s.explain(err))
	}
	defer c.Close()
	rs, err := s.list(c, f)
	if err != nil {
		return nil, s.fail("list", err)
	}
	return rs, nil
}

// list runs f on q. With Refs it asks for them a chunk at a time, the refs
// sorted, so the chunks' results come in ref order and Limit can stop early.
func (s *Store) list(q *conn, f ledger.Filter) ([]ledger.Record, error) {
	var where []string
	var args []any
	if len(f.Status) > 0 {
		where = append(where, "status IN ("+placeholders(len(f.Status))+")")
		for _, st := range f.Status {
			args = append(args, string(st))
		}
	}
	if f.Provider != "" {
		where = append(where, "provider = ?")
		args = append(args, f.Provider)
	}
	if f.Open {
		where = append(where, queueTerm)
	}
	if f.After != "" {
		where = append(where, "ref > ?")
		args = append(args, f.After)
	}
	limit := max(f.Limit, 0)

	chunks := [][]string{nil}
	if len(f.Refs) > 0 {
		refs := append([]string(nil), f.Refs...)
		sort.Strings(refs)
		refs = compact(refs)
		chunks = chunks[:0]
		for start := 0; start < len(refs); start += refChunk {
			chunks = append(chunks, refs[start:min(start+refChunk, len(refs))])
		}
	}
	var out []ledger.Record
	for _, chunk := range chunks {
		w, a := where, args
		if chunk != nil {
			w = append(w[:len(w):len(w)], "ref IN ("+placeholders(len(chunk))+")")
			a = a[:len(a):len(a)]
			for _, ref := range chunk {
				a = append(a, ref)
			}
		}
		query := `SELECT ` + recordCols + ` FROM payouts`
		if len(w) > 0 {
			query += ` WHERE ` + strings.Join(w, " AND ")
		}
		query += ` ORDER BY ref`
		if limit > 0 {
			query += fmt.Sprintf(" LIMIT %d", limit-len(out))
		}
		rows, err := q.Query(query, a...)
		if err != nil {
			return nil, s.explain(err)
		}
		for {
			more, err := q.next(rows)
			if err != nil || !more {
				if err != nil {
					rows.Close()
					return nil, err
				}
				break
			}
			r, err := scanRecord(rows)
			if err != nil {
				rows.Close()
				return nil, err
			}
			out = append(out, r)
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, s.explain(err)
		}
		if limit > 0 && len(out) >= limit {
			break
		}
	}
	return out, nil
}

// compact drops the repeats of a sorted slice.
func compact(ss []string) []string {
	out := ss[:0]
	for i, s := range ss {
		if i == 0 || s != ss[i-1] {
			out = append(out, s)
		}
	}
	return out
}

// Count returns how many records are in each status there is.
func (s *Store) Count(ctx context.Context) (map[ledger.Status]int, error) {
	c, err := s.reader(ctx)
	if err != nil {
		return nil, s.fail("count", s.explain(err))
	}
	defer c.Close()
	rows, err := c.Query(`SELECT status, COUNT(*) FROM payouts GROUP BY status`)
	if err != nil {
		return nil, s.fail("count", s.explain(err))
	}
	defer rows.Close()
	out := map[ledger.Status]int{}
	for {
		if more, err := c.next(rows); err != nil {
			return nil, s.fail("count", err)
		} else if !more {
			break
		}
		var st string
		var n int
		if err := rows.Scan(&st, &n); err != nil {
			return nil, s.fail("count", err)
		}
		out[ledger.Status(st)] = n
	}
	if err := rows.Err(); err != nil {
		return nil, s.fail("count", s.explain(err))
	}
	return out, nil
}

// statsSQL is Stats' query: the work queue by provider and status. Its
// WHERE is queueTerm, so SQLite can read the partial index payouts_queue
// (the queue's rows only), never the whole history; INDEXED BY makes it:
// without statistics (no ANALYZE) SQLite would rather read
// payouts_provider_status (migration 4), every record, for its order.
const statsSQL = `SELECT provider, status, COUNT(*), MIN(created_at) FROM payouts INDEXED BY payouts_queue
	WHERE ` + queueTerm + `
	GROUP BY provider, status ORDER BY provider, status`

// Stats summarizes the work queue (see ledger.StatsStore) in one query over
// the payouts_queue index.
func (s *Store) Stats(ctx context.Context) ([]ledger.Stat, error) {
	return s.stats(ctx, "stats", statsSQL)
}

// stats runs query, whose rows are provider, status, count and the oldest
// created_at, as the store's operation op.
func (s *Store) stats(ctx context.Context, op, query string) ([]ledger.Stat, error) {
	c, err := s.reader(ctx)
	if err != nil {
		return nil, s.fail(op, s.explain(err))
	}
	defer c.Close()
	rows, err := c.Query(query)
	if err != nil {
		return nil, s.fail(op, s.explain(err))
	}
	defer rows.Close()
	var out []ledger.Stat
	for {
		if more, err := c.next(rows); err != nil {
			return nil, s.fail(op, err)
		} else if !more {
			break
		}
		var st ledger.Stat
		var status string
		var oldest int64
		if err := rows.Scan(&st.Provider, &status, &st.Count, &oldest); err != nil {
			return nil, s.fail(op, err)
		}
		st.Status, st.Oldest = ledger.Status(status), fromMicro(oldest)
		out = append(out, st)
	}
	if err := rows.Err(); err != nil {
		return nil, s.fail(op, s.explain(err))
	}
	return out, nil
}
