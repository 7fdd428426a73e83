package pgstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/ledger"
)

// openPredicate selects the records in the work queue: not final, or final
// and not reported. It is written exactly as the partial index payouts_queue
// writes it (migrations/0001_init.sql), so the planner can use that index.
// It does not rely on Reported being set on final records only: a non-final
// record stays in the queue whatever its Reported says.
const openPredicate = `(status NOT IN ('succeeded', 'failed') OR NOT reported)`

var errNoOwner = errors.New("owner is empty")

// checkError carries Insert's check error through the transaction, to be
// returned as it is. It has no Unwrap on purpose: nothing in it must be
// mistaken for a database error to retry on.
type checkError struct{ err error }

func (e checkError) Error() string { return e.err.Error() }

const insertSQL = `INSERT INTO payouts (ref, provider, amount, currency, kind, account, bank, status,
		provider_id, code, message, last_error, sends, polls,
		created_at, sent_at, accepted_at, final_at, updated_at, next_at, reported)
	SELECT ref, provider, amount, currency, kind, account, bank, status,
		provider_id, code, message, last_error, sends, polls,
		$1, sent_at, accepted_at, final_at, $1, $1, reported
	FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[],
		$10::text[], $11::text[], $12::text[], $13::text[], $14::int[], $15::int[],
		$16::bigint[], $17::bigint[], $18::bigint[], $19::bool[])
		AS u(ref, provider, amount, currency, kind, account, bank, status,
		provider_id, code, message, last_error, sends, polls,
		sent_at, accepted_at, final_at, reported)
	ON CONFLICT (ref) DO NOTHING`

// Insert records rs in one transaction: it locks the records already stored
// under the refs of rs, passes them to check, and inserts the others with
// one statement. A concurrent Insert that stores one of the same refs first
// makes the transaction run again, so that check always sees every record
// that was stored under the refs when the records were inserted.
func (s *Store) Insert(ctx context.Context, now time.Time, rs []ledger.Record, check func(existing []ledger.Record) error) (int, error) {
	if len(rs) == 0 {
		if check != nil {
			if err := check(nil); err != nil {
				return 0, err
			}
		}
		return 0, nil
	}
	// Refs in order, so that concurrent Inserts lock and insert in the same
	// order and do not deadlock.
	rs = slices.Clone(rs)
	slices.SortFunc(rs, func(a, b ledger.Record) int { return strings.Compare(a.Ref, b.Ref) })
	refs := make([]string, len(rs))
	for i, r := range rs {
		if i > 0 && r.Ref == refs[i-1] {
			// The contract rules it out; inserting one of the two would
			// hide which details were meant.
			return 0, s.fail("insert", fmt.Errorf("ref %q appears twice in the batch", r.Ref))
		}
		refs[i] = r.Ref
	}
	at := micros(now)
	var inserted int
	err := s.tx(ctx, func(tx pgx.Tx) error {
		inserted = 0
		rows, err := tx.Query(ctx, "SELECT "+recordColumns+" FROM payouts WHERE ref = ANY($1) ORDER BY ref FOR UPDATE", refs)
		if err != nil {
			return err
		}
		existing, err := collectRecords(rows)
		if err != nil {
			return err
		}
		if check != nil {
			if err := check(existing); err != nil {
				return checkError{err}
			}
		}
		stored := make(map[string]bool, len(existing))
		for _, r := range existing {
			stored[r.Ref] = true
		}
		var c columns
		for _, r := range rs {
			if !stored[r.Ref] {
				c.add(r)
			}
		}
		if len(c.ref) == 0 {
			return nil
		}
		tag, err := tx.Exec(ctx, insertSQL, at, c.ref, c.provider, c.amount, c.currency, c.kind, c.account, c.bank, c.status,
			c.providerID, c.code, c.message, c.lastError, c.sends, c.polls, c.sentAt, c.acceptedAt, c.finalAt, c.reported)
		if err != nil {
			return err
		}
		if tag.RowsAffected() != int64(len(c.ref)) {
			return errRetry // another transaction stored some of them meanwhile
		}
		inserted = len(c.ref)
		return nil
	})
	var ce checkError
	if errors.As(err, &ce) {
		return 0, ce.err
	}
	if err != nil {
		return 0, s.fail("insert", err)
	}
	return inserted, nil
}

// columns are records as column arrays, for unnest.
type columns struct {
	ref, provider, amount, currency, kind, account, bank, status []string
	providerID, code, message, lastError                         []string
	sends, polls                                                 []int32
	sentAt, acceptedAt, finalAt, nextAt                          []int64
	reported                                                     []bool
}

func (c *columns) add(r ledger.Record) {
	c.ref = append(c.ref, r.Ref)
	c.provider = append(c.provider, r.Provider)
	c.amount = append(c.amount, r.Amount.Amount.String())
	c.currency = append(c.currency, r.Amount.Currency)
	c.kind = append(c.kind, string(r.To.Kind))
	c.account = append(c.account, r.To.Account)
	c.bank = append(c.bank, r.To.Bank)
	c.status = append(c.status, string(r.Status))
	c.providerID = append(c.providerID, r.ProviderID)
	c.code = append(c.code, r.Code)
	c.message = append(c.message, r.Message)
	c.lastError = append(c.lastError, r.LastError)
	c.sends = append(c.sends, int32(r.Sends))
	c.polls = append(c.polls, int32(r.Polls))
	c.sentAt = append(c.sentAt, micros(r.SentAt))
	c.acceptedAt = append(c.acceptedAt, micros(r.AcceptedAt))
	c.finalAt = append(c.finalAt, micros(r.FinalAt))
	c.nextAt = append(c.nextAt, micros(r.NextAt))
	c.reported = append(c.reported, r.Reported)
}

// claimSQL picks the due, unleased records of the queue, earliest NextAt
// first, skipping the rows other transactions hold (another replica's
// Claim in progress), and leases them, in one statement.
var claimSQL = `WITH picked AS (
		SELECT ref FROM payouts
		WHERE ` + openPredicate + ` AND next_at <= $3 AND lease_until <= $3
		ORDER BY next_at, ref
		LIMIT $4
		FOR UPDATE SKIP LOCKED
	), claimed AS (
		UPDATE payouts p SET lease_owner = $1, lease_until = $2
		FROM picked WHERE p.ref = picked.ref
		RETURNING ` + recordColumnsOf("p") + `
	)
	SELECT ` + recordColumns + ` FROM claimed ORDER BY next_at, ref`

// Claim leases to owner, until now+lease, up to limit due records of the
// work queue that no one holds a lease on, earliest NextAt first. Concurrent
// Claims never return the same record while its lease lasts (FOR UPDATE
// SKIP LOCKED, and the lease condition rechecked on the locked row).
func (s *Store) Claim(ctx context.Context, owner string, now time.Time, lease time.Duration, limit int) ([]ledger.Record, error) {
	if owner == "" {
		return nil, s.fail("claim", errNoOwner)
	}
	if limit <= 0 {
		return nil, nil
	}
	var rs []ledger.Record
	err := s.stmt(ctx, func(ctx context.Context, c *pgx.Conn) error {
		rows, err := c.Query(ctx, claimSQL, owner, micros(now.Add(lease)), micros(now), limit)
		if err != nil {
			return err
		}
		rs, err = collectRecords(rows)
		return err
	})
	if err != nil {
		return nil, s.fail("claim", err)
	}
	return rs, nil
}

// saveSQL locks owner's rows among the refs in Ref order (so that a Save
// and a Renew of the same owner never deadlock), then writes them.
const saveSQL = `WITH locked AS (
		SELECT ref FROM payouts WHERE ref = ANY($1::text[]) AND lease_owner = $2 ORDER BY ref FOR UPDATE
	)
	UPDATE payouts p SET provider = u.provider, status = u.status, provider_id = u.provider_id,
		code = u.code, message = u.message, last_error = u.last_error, sends = u.sends, polls = u.polls,
		sent_at = u.sent_at, accepted_at = u.accepted_at, final_at = u.final_at, next_at = u.next_at,
		reported = u.reported, updated_at = $3, lease_owner = $4, lease_until = $5
	FROM locked, unnest($1::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[],
		$12::int[], $13::int[], $14::bigint[], $15::bigint[], $16::bigint[], $17::bigint[], $18::bool[])
		AS u(ref, provider, status, provider_id, code, message, last_error,
		sends, polls, sent_at, accepted_at, final_at, next_at, reported)
	WHERE p.ref = locked.ref AND u.ref = p.ref
	RETURNING p.ref`

// Save writes the ledger's fields of the records owner still holds, in one
// statement (one transaction), keeping owner's lease until now+hold, or
// releasing it when hold is 0. It returns the refs it did not write.
func (s *Store) Save(ctx context.Context, owner string, now time.Time, hold time.Duration, rs []ledger.Record) ([]string, error) {
	if owner == "" {
		return nil, s.fail("save", errNoOwner)
	}
	if len(rs) == 0 {
		return nil, nil
	}
	var c columns
	for _, r := range rs {
		c.add(r)
	}
	leaseOwner, leaseUntil := owner, micros(now.Add(hold))
	if hold <= 0 {
		leaseOwner, leaseUntil = "", 0
	}
	var saved []string
	err := s.stmt(ctx, func(ctx context.Context, conn *pgx.Conn) error {
		rows, err := conn.Query(ctx, saveSQL, c.ref, owner, micros(now), leaseOwner, leaseUntil,
			c.provider, c.status, c.providerID, c.code, c.message, c.lastError,
			c.sends, c.polls, c.sentAt, c.acceptedAt, c.finalAt, c.nextAt, c.reported)
		if err != nil {
			return err
		}
		saved, err = pgx.CollectRows(rows, pgx.RowTo[string])
		return err
	})
	if err != nil {
		return nil, s.fail("save", err)
	}
	return missing(c.ref, saved), nil
}

const renewSQL = `WITH locked AS (
		SELECT ref FROM payouts WHERE ref = ANY($1::text[]) AND lease_owner = $2 ORDER BY ref FOR UPDATE
	)
	UPDATE payouts p SET lease_until = $3 FROM locked WHERE p.ref = locked.ref
	RETURNING p.ref`

// Renew extends owner's leases on refs to now+lease, and returns the refs
// owner no longer holds (another owner claimed them, Save released them, or
// they are not stored).
func (s *Store) Renew(ctx context.Context, owner string, now time.Time, lease time.Duration, refs []string) ([]string, error) {
	if owner == "" {
		return nil, s.fail("renew", errNoOwner)
	}
	if len(refs) == 0 {
		return nil, nil
	}
	var renewed []string
	err := s.stmt(ctx, func(ctx context.Context, c *pgx.Conn) error {
		rows, err := c.Query(ctx, renewSQL, refs, owner, micros(now.Add(lease)))
		if err != nil {
			return err
		}
		renewed, err = pgx.CollectRows(rows, pgx.RowTo[string])
		return err
	})
	if err != nil {
		return nil, s.fail("renew", err)
	}
	return missing(refs, renewed), nil
}

// missing returns the refs of all not in done, in all's order, once each.
func missing(all, done []string) []string {
	got := make(map[string]bool, len(done))
	for _, r := range done {
		got[r] = true
	}
	var lost []string
	for _, r := range all {
		if !got[r] {
			got[r] = true
			lost = append(lost, r)
		}
	}
	return lost
}

// Get returns the record of ref; an error matching payments.ErrNotFound
// (and ledger.ErrStore) when there is none.
func (s *Store) Get(ctx context.Context, ref string) (ledger.Record, error) {
	var r ledger.Record
	err := s.stmt(ctx, func(ctx context.Context, c *pgx.Conn) error {
		var err error
		r, err = scanRecord(c.QueryRow(ctx, "SELECT "+recordColumns+" FROM payouts WHERE ref = $1", ref))
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("ref %q: %w", ref, payments.ErrNotFound)
		}
		return err
	})
	if err != nil {
		return ledger.Record{}, s.fail("get", err)
	}
	return r, nil
}

// List returns the records f selects, ordered by Ref.
func (s *Store) List(ctx context.Context, f ledger.Filter) ([]ledger.Record, error) {
	q, args := listQuery(f)
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
		return nil, s.fail("list", err)
	}
	return rs, nil
}

// Count returns how many records are in each status.
func (s *Store) Count(ctx context.Context) (map[ledger.Status]int, error) {
	counts := make(map[ledger.Status]int)
	err := s.stmt(ctx, func(ctx context.Context, c *pgx.Conn) error {
		clear(counts)
		rows, err := c.Query(ctx, "SELECT status, count(*) FROM payouts GROUP BY status")
		if err != nil {
			return err
		}
		var (
			status string
			n      int
		)
		_, err = pgx.ForEachRow(rows, []any{&status, &n}, func() error {
			counts[ledger.Status(status)] = n
			return nil
		})
		return err
	})
	if err != nil {
		return nil, s.fail("count", err)
	}
	return counts, nil
}

// statsSQL is Stats' query: the work queue by provider and status. Its
// WHERE is openPredicate, so the planner can read the partial index
// payouts_queue (the queue's rows only) instead of the whole history.
const statsSQL = `SELECT provider, status, count(*), min(created_at) FROM payouts
	WHERE ` + openPredicate + `
	GROUP BY provider, status ORDER BY provider, status`

// Stats summarizes the work queue (see ledger.StatsStore) in one query.
func (s *Store) Stats(ctx context.Context) ([]ledger.Stat, error) {
	return s.stats(ctx, "stats", statsSQL)
}

// stats runs query, whose rows are provider, status, count and the oldest
// created_at, as the store's operation op.
func (s *Store) stats(ctx context.Context, op, query string) ([]ledger.Stat, error) {
	var out []ledger.Stat
	err := s.stmt(ctx, func(ctx context.Context, c *pgx.Conn) error {
		out = out[:0]
		rows, err := c.Query(ctx, query)
		if err != nil {
			return err
		}
		var (
			st     ledger.Stat
			status string
			oldest int64
		)
		_, err = pgx.ForEachRow(rows, []any{&st.Provider, &status, &st.Count, &oldest}, func() error {
			st.Status, st.Oldest = ledger.Status(status), fromMicros(oldest)
			out = append(out, st)
			return nil
		})
		return err
	})
	if err != nil {
		return nil, s.fail(op, err)
	}
	return out, nil
}

// listQuery is the query of List for f, and its arguments.
func listQuery(f ledger.Filter) (string, []any) {
	var (
		where []string
		args  []any
	)
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	if len(f.Status) > 0 {
		st := make([]string, len(f.Status))
		for i, v := range f.Status {
			st[i] = string(v)
		}
		where = append(where, "status = ANY("+arg(st)+"::text[])")
	}
	if f.Provider != "" {
		where = append(where, "provider = "+arg(f.Provider))
	}
	if len(f.Refs) > 0 {
		where = append(where, "ref = ANY("+arg(f.Refs)+"::text[])")
	}
	if f.Open {
		where = append(where, openPredicate)
	}
	if f.After != "" {
		where = append(where, "ref > "+arg(f.After))
	}
	q := "SELECT " + recordColumns + " FROM payouts"
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY ref"
	if f.Limit > 0 {
		q += " LIMIT " + arg(f.Limit)
	}
	return q, args
}
