package pgstore

import (
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/ledger"
	"github.com/paysdk/payments/payout"
)

// micros is t as stored: unix microseconds, 0 for the zero time.
func micros(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

// fromMicros reads a stored time back, in UTC; 0 is the zero time.
func fromMicros(us int64) time.Time {
	if us == 0 {
		return time.Time{}
	}
	return time.UnixMicro(us).UTC()
}

// decimal reads a stored amount. "0" reads as the zero Decimal, so that a
// zero Money (an event without an amount) reads back as it was written.
func decimal(s string) (payments.Decimal, error) {
	if s == "0" {
		return payments.Decimal{}, nil
	}
	return payments.ParseDecimal(s)
}

// recordColumns are the columns scanRecord reads, in its order.
const recordColumns = `ref, provider, amount, currency, kind, account, bank, status,
	provider_id, code, message, last_error, sends, polls,
	created_at, sent_at, accepted_at, final_at, updated_at, next_at, reported`

// recordColumnsOf is recordColumns qualified by a table alias.
func recordColumnsOf(alias string) string {
	return alias + `.ref, ` + alias + `.provider, ` + alias + `.amount, ` + alias + `.currency, ` +
		alias + `.kind, ` + alias + `.account, ` + alias + `.bank, ` + alias + `.status, ` +
		alias + `.provider_id, ` + alias + `.code, ` + alias + `.message, ` + alias + `.last_error, ` +
		alias + `.sends, ` + alias + `.polls, ` + alias + `.created_at, ` + alias + `.sent_at, ` +
		alias + `.accepted_at, ` + alias + `.final_at, ` + alias + `.updated_at, ` + alias + `.next_at, ` +
		alias + `.reported`
}

// scanRecord reads a row of recordColumns.
func scanRecord(row pgx.Row) (ledger.Record, error) {
	var (
		r                                   ledger.Record
		amount, kind, status                string
		created, sent, accepted, final, upd int64
		next                                int64
	)
	err := row.Scan(&r.Ref, &r.Provider, &amount, &r.Amount.Currency, &kind, &r.To.Account, &r.To.Bank, &status,
		&r.ProviderID, &r.Code, &r.Message, &r.LastError, &r.Sends, &r.Polls,
		&created, &sent, &accepted, &final, &upd, &next, &r.Reported)
	if err != nil {
		return ledger.Record{}, err
	}
	if r.Amount.Amount, err = decimal(amount); err != nil {
		return ledger.Record{}, fmt.Errorf("record %q: stored amount: %w", r.Ref, err)
	}
	r.To.Kind = payout.Kind(kind)
	r.Status = ledger.Status(status)
	r.CreatedAt, r.SentAt, r.AcceptedAt = fromMicros(created), fromMicros(sent), fromMicros(accepted)
	r.FinalAt, r.UpdatedAt, r.NextAt = fromMicros(final), fromMicros(upd), fromMicros(next)
	return r, nil
}

// collectRecords reads every row of rows.
func collectRecords(rows pgx.Rows) ([]ledger.Record, error) {
	defer rows.Close()
	var rs []ledger.Record
	for rows.Next() {
		r, err := scanRecord(rows)
		if err != nil {
			return nil, err
		}
		rs = append(rs, r)
	}
	return rs, rows.Err()
}

// eventColumns are the columns scanEvent reads, in its order.
const eventColumns = `provider, provider_id, state, order_ref, checkout_id, amount, currency, received_at, handled_at`

func scanEvent(row pgx.Row) (ledger.Event, error) {
	var (
		e                 ledger.Event
		state             int
		amount            string
		received, handled int64
	)
	if err := row.Scan(&e.Provider, &e.ProviderID, &state, &e.OrderRef, &e.CheckoutID, &amount, &e.Amount.Currency, &received, &handled); err != nil {
		return ledger.Event{}, err
	}
	e.State = payments.State(state)
	var err error
	if e.Amount.Amount, err = decimal(amount); err != nil {
		return ledger.Event{}, fmt.Errorf("event %s %s %s: stored amount: %w", e.Provider, e.ProviderID, e.State, err)
	}
	e.ReceivedAt, e.HandledAt = fromMicros(received), fromMicros(handled)
	return e, nil
}
