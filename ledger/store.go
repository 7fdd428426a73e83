package ledger

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/payout"
)

// Status is where a payout intent stands in the ledger.
type Status string

// The ledger's statuses. Recorded, InFlight and Pending are open; Succeeded
// and Failed are final and never change again.
const (
	// Recorded: durable in the store, never sent. Safe to send.
	Recorded Status = "recorded"
	// InFlight: a send was started (the mark was committed before the
	// first byte) and its outcome is not known: the provider may or may not
	// have the payout. Settled through the provider's status, or a resend
	// of the same Ref, never under a new one.
	InFlight Status = "in_flight"
	// Pending: the provider has the payout and it is not final yet.
	Pending Status = "pending"
	// Succeeded: the provider says the money moved. Final.
	Succeeded Status = "succeeded"
	// Failed: the provider says the money did not move and will not, or
	// refused the payout before it reached it. Final: pay again only under
	// a new Ref.
	Failed Status = "failed"
)

// Statuses lists every status, open ones first.
var Statuses = []Status{Recorded, InFlight, Pending, Succeeded, Failed}

// Final reports whether s can no longer change.
func (s Status) Final() bool { return s == Succeeded || s == Failed }

// Valid reports whether s is one of Statuses.
func (s Status) Valid() bool {
	for _, v := range Statuses {
		if s == v {
			return true
		}
	}
	return false
}

// Record is one payout intent as the ledger stores it.
type Record struct {
	// Ref is the merchant's reference: the key of the record and the
	// idempotency key at the provider.
	Ref string
	// Provider is the provider the payout is bound to (Capabilities().Provider).
	Provider string
	Amount   payments.Money
	// To is the destination. It formats with a card number masked.
	To     payout.Destination
	Status Status
	// ProviderID is the provider's own id of the payout, when it has one.
	ProviderID string
	// Code and Message are the provider's status code and text from its
	// latest answer about this payout (for a failed payout: why).
	Code    string
	Message string
	// LastError is the latest error met while working the record (a lost
	// answer, a rate limit, a store outage), with secrets scrubbed by the
	// transport; "" once an answer came.
	LastError string
	// Sends counts send attempts, Polls status lookups.
	Sends int
	Polls int
	// Timestamps of each step; the zero time when the step has not happened.
	// SentAt is the first send, AcceptedAt the first answer saying the
	// provider has the payout, FinalAt the final answer.
	CreatedAt  time.Time
	SentAt     time.Time
	AcceptedAt time.Time
	FinalAt    time.Time
	UpdatedAt  time.Time
	// NextAt is when the work loop looks at the record next.
	NextAt time.Time
	// Reported is set once the final record was handed to Options.OnFinal.
	Reported bool
}

// Request is the payout the record asks for.
func (r Record) Request() payout.Request {
	return payout.Request{Ref: r.Ref, Amount: r.Amount, To: r.To}
}

// String shows the record with card numbers masked, in the destination and
// in any provider text.
func (r Record) String() string { return payments.MaskPAN(r.text()) }

func (r Record) text() string {
	s := fmt.Sprintf("%s %s %s to %s at %s", r.Ref, r.Status, r.Amount, r.To, r.Provider)
	if r.ProviderID != "" {
		s += " id " + r.ProviderID
	}
	switch {
	case r.Message != "" && (r.Code == "" || strings.HasPrefix(r.Message, r.Code+" ")):
		s += " (" + r.Message + ")"
	case r.Code != "" || r.Message != "":
		s += fmt.Sprintf(" (code %s: %s)", r.Code, r.Message)
	}
	return s
}

// Format prints String for every verb: no verb shows a full card number.
func (r Record) Format(f fmt.State, _ rune) { io.WriteString(f, r.String()) }

// LogValue is String: a logged record shows no full card number.
func (r Record) LogValue() slog.Value { return slog.StringValue(r.String()) }

// MarshalJSON writes the record with the destination's account masked
// (a card number as its first six and last four digits) and every text
// masked: JSON of a record is for showing, never for storing a card number.
func (r Record) MarshalJSON() ([]byte, error) {
	type plain Record // no methods: no recursion
	p := plain(r)
	p.To.Account = payments.MaskPAN(p.To.Account)
	if p.To.Kind == payout.Card && strings.HasPrefix(p.To.Account, sealPrefix) {
		p.To.Account = "sealed"
	}
	p.Code, p.Message, p.LastError = payments.MaskPAN(p.Code), payments.MaskPAN(p.Message), payments.MaskPAN(p.LastError)
	return json.Marshal(p)
}

// Filter selects records for Store.List. Zero fields select everything.
type Filter struct {
	// Status, when not empty, keeps the records in one of these statuses.
	Status []Status
	// Provider, when set, keeps the records bound to it.
	Provider string
	// Refs, when not empty, keeps these refs only.
	Refs []string
	// Open keeps the records still in the work queue: not final, or final
	// and not yet reported.
	Open bool
	// After, when set, keeps refs greater than After (a cursor: pass the
	// last Ref of the previous page).
	After string
	// Limit caps the records returned; 0 means no cap.
	Limit int
}

// Event is a pay-in notification as the ledger stores it. The key is
// (Provider, ProviderID, State): a provider repeating a notification
// produces one Event; the same payment reaching another state another.
type Event struct {
	Provider   string
	ProviderID string
	State      payments.State
	OrderRef   string
	CheckoutID string
	Amount     payments.Money
	ReceivedAt time.Time
	// HandledAt is when the merchant's handler accepted the event; zero
	// until then.
	HandledAt time.Time
}

// Handled reports whether the merchant's handler has accepted the event.
func (e Event) Handled() bool { return !e.HandledAt.IsZero() }

// ErrConflict is matched (errors.Is) by the error of a Submit whose Ref is
// already in the ledger with a different amount, destination or provider.
var ErrConflict = errors.New("ledger: ref already recorded with different details")

// StoreError wraps every error of a store: the store named (its kind and
// where it is, never a password) and what it was doing. errors.Is(err,
// ErrStore) matches it.
type StoreError struct {
	Store string // "sqlite /var/lib/app/payouts.db", "postgres 127.0.0.1:5432/test"
	Op    string // "open", "migrate", "insert", "claim", ...
	Err   error
}

// ErrStore is matched by every *StoreError.
var ErrStore = errors.New("ledger: store error")

func (e *StoreError) Error() string {
	return fmt.Sprintf("ledger store %s: %s: %v", e.Store, e.Op, e.Err)
}

// Unwrap gives the cause.
func (e *StoreError) Unwrap() error { return e.Err }

// Is matches ErrStore.
func (e *StoreError) Is(target error) bool { return target == ErrStore }

// Store is where the ledger keeps its records. Every method that writes
// commits durably before it returns (SQLite: WAL with synchronous=FULL;
// PostgreSQL: a committed transaction). Every error is a *StoreError.
// Times are stored to the microsecond; "now" is always passed in by the
// ledger, so replicas sharing a store need clocks in step (NTP), well
// within the lease.
//
// The two implementations are ledger/sqlitestore (embedded, one file, the
// default) and ledger/pgstore (PostgreSQL, several replicas); both pass
// ledger/storetest.
type Store interface {
	// Insert records rs in one transaction. Inside it, it reads the
	// records already stored under any of the refs of rs and passes them
	// to check (nil check: no check); a non-nil error from check rolls the
	// whole transaction back and is returned as it is (not wrapped). Then
	// every record whose ref is not stored yet is inserted as given, with
	// CreatedAt, UpdatedAt and NextAt set to now, and no lease. It returns
	// how many it inserted. rs has no duplicate refs.
	Insert(ctx context.Context, now time.Time, rs []Record, check func(existing []Record) error) (int, error)

	// Claim leases to owner, until now+lease, up to limit records that are
	// in the work queue (not final, or final and not Reported), due
	// (NextAt <= now), and not leased (no lease, or a lease that ended at
	// or before now, whoever held it). Earliest NextAt first. Concurrent
	// Claims, in this process or any other sharing the store, never return
	// the same record while its lease lasts (PostgreSQL: FOR UPDATE SKIP
	// LOCKED).
	Claim(ctx context.Context, owner string, now time.Time, lease time.Duration, limit int) ([]Record, error)

	// Save writes the ledger's fields of each record (Provider, Status,
	// ProviderID, Code, Message, LastError, Sends, Polls, SentAt,
	// AcceptedAt, FinalAt, NextAt, Reported; UpdatedAt = now), in one
	// transaction, for the records still leased by owner (whether or not
	// the lease has ended: only a Claim by another owner takes it away).
	// With hold > 0 owner keeps the lease until now+hold; with hold == 0 the
	// lease is released. It returns the refs it did not write because
	// another owner holds them, or they are not stored.
	Save(ctx context.Context, owner string, now time.Time, hold time.Duration, rs []Record) (lost []string, err error)

	// Renew extends owner's leases on refs to now+lease, and returns the refs
	// owner no longer holds.
	Renew(ctx context.Context, owner string, now time.Time, lease time.Duration, refs []string) (lost []string, err error)

	// Get returns the record of ref; an error matching payments.ErrNotFound
	// when there is none.
	Get(ctx context.Context, ref string) (Record, error)

	// List returns the records f selects, ordered by Ref.
	List(ctx context.Context, f Filter) ([]Record, error)

	// Count returns how many records are in each status (statuses with
	// none are absent).
	Count(ctx context.Context) (map[Status]int, error)

	// AddEvent records e (ReceivedAt = now) unless an event with its key is
	// stored, and returns the stored event and whether it was added now.
	AddEvent(ctx context.Context, now time.Time, e Event) (stored Event, added bool, err error)

	// HandleEvent sets HandledAt = now on the event with e's key, unless it
	// is set already.
	HandleEvent(ctx context.Context, now time.Time, e Event) error

	// Events returns the stored events, oldest ReceivedAt first (then by
	// provider, id, state), at most limit (0: all).
	Events(ctx context.Context, limit int) ([]Event, error)

	// AcquireBinding binds ref to provider unless ref is bound already,
	// counts one send about to be made under the binding, and returns the
	// provider ref is bound to (provider, or the one bound before) and how
	// many sends have been counted under that binding, this one included.
	// It is atomic against every other process sharing the store. It is
	// what a payout.Router's shared bindings are made of
	// (ledger.RouterBindings).
	AcquireBinding(ctx context.Context, now time.Time, ref, provider string) (bound string, sends int, err error)

	// MoveBinding rebinds ref from provider from to provider to (to == "":
	// removes the binding) only when ref is bound to from with exactly
	// sends sends counted, and reports whether it did. A moved binding
	// starts with no send counted.
	MoveBinding(ctx context.Context, now time.Time, ref, from, to string, sends int) (bool, error)

	// Binding returns the provider ref is bound to, "" when none.
	Binding(ctx context.Context, ref string) (string, error)

	// Close closes the store's connections.
	Close() error
}

// Stat is one line of a StatsStore's summary of the work queue: the records
// bound to Provider in Status that are in the work queue (not final, or
// final and not yet Reported).
type Stat struct {
	Provider string
	Status   Status
	// Count is how many records of Provider in Status are in the queue.
	Count int
	// Oldest is the CreatedAt of the oldest of them.
	Oldest time.Time
}

// StatsStore is a Store that summarizes its work queue in one query: what
// the ledger's gauges (payments.ledger.intents,
// payments.ledger.oldest_open.age) are read from. It is optional: a Store
// without it gets no gauges. Both stores of this module, and the in-memory
// one (sqlitestore.Memory), implement it; ledger/storetest checks it.
type StatsStore interface {
	// Stats returns, for each provider and status with at least one
	// record in the work queue (not final, or final and not Reported), how
	// many there are and the oldest CreatedAt among them, ordered by
	// Provider, then Status. It reads the queue, not the whole history
	// (the stores use the work queue's index), in one query; an error is a
	// *StoreError.
	Stats(ctx context.Context) ([]Stat, error)
}

// Step is one change of a record as the store kept it: what the record
// said after its Insert, or after a Save that changed its Status,
// Provider, Code, Message or LastError. A Save that changes none of these
// (a lease renewed, NextAt moved, a poll counted with the same answer)
// makes no step, so a record polled 10,000 times keeps a few steps, not
// 10,000.
//
// Code, Message and LastError are the provider's text as stored: a card
// number in them is not masked (mask before showing, as Record does).
type Step struct {
	// Seq numbers the record's steps: 1 is its Insert, and each step
	// since adds one. Steps dropped by the cap (see HistoryStore) leave a
	// gap in the numbers, so a reader can say how many are missing.
	Seq int
	// At is the Save's (or the Insert's) now. For a record stored before
	// its store kept history, the step of what it said then is at its
	// UpdatedAt (see HistoryStore).
	At       time.Time
	Status   Status
	Provider string
	// Code and Message are the provider's code and text of the step, when
	// the provider answered; LastError the error met instead, if any.
	Code      string
	Message   string
	LastError string
	// Sends and Polls are the record's counts after the step.
	Sends int
	Polls int
}

// The cap on the steps a HistoryStore of this module keeps per record: the
// first HistoryFirst and the last HistoryLast. A step past the
// HistoryFirst+HistoryLast-th drops the oldest of the last ones, so a
// record that keeps changing holds at most 64 steps: its beginning (the
// Insert, the first sends and answers) and its latest history.
const (
	HistoryFirst = 8
	HistoryLast  = 56
)

// HistoryStore is a Store that keeps the Steps of each record, each written
// in the same transaction as the Insert or Save that made it: a record's
// timeline ("payments ledger show"). A Save that loses the record (another
// owner holds it) writes no step. It is optional; both stores of this
// module implement it, capped as HistoryFirst and HistoryLast say, and
// ledger/storetest checks it.
//
// A record stored before the store kept history (a file or database
// migrated from an older schema) has, until its first change, one step
// made from the record: Seq 1, at its UpdatedAt (its latest write, which a
// Save without a step moves too: the record tells no more). Its first
// change stores that step as it stands, then the change's.
type HistoryStore interface {
	Store
	// History returns the steps of ref kept, oldest (lowest Seq) first; an
	// error matching payments.ErrNotFound (and, in this module's stores,
	// ErrStore) when no record ref is stored. Every other error is a
	// *StoreError.
	History(ctx context.Context, ref string) ([]Step, error)
}

// Bucket is how many records became final in one minute: the payouts
// finalised per minute a dashboard draws.
type Bucket struct {
	// Minute is the start of the minute, UTC.
	Minute   time.Time
	Provider string
	// Status is Succeeded or Failed.
	Status Status
	Count  int
}

// BrowseStore is a Store that answers a dashboard's questions with bounded,
// indexed queries, so that a page over a ledger of millions of records
// never scans it: each query reads an index (the stores of this module add
// them in their schema version 4), and the two that return records or
// events return at most limit. It is optional; both stores of this module
// implement it, and ledger/storetest checks it. Every error is a
// *StoreError, a limit below 1 included.
type BrowseStore interface {
	Store
	// Counts returns how many records there are of each provider and
	// status (all records, final ones included), ordered by Provider, then
	// Status; Oldest is the earliest CreatedAt of each group. It reads an
	// index of (provider, status, created_at), never the records: its time
	// grows with the ledger, a small fraction of a scan's.
	Counts(ctx context.Context) ([]Stat, error)
	// Unfinished returns at most limit records that are not final
	// (recorded, in_flight, pending), oldest CreatedAt first, then by Ref;
	// after a cursor (afterRef != ""), only those after (afterCreated,
	// afterRef) in that order: keyset pagination, where the cursor is the
	// CreatedAt and Ref of the last record of the previous page. With
	// afterRef == "", afterCreated is ignored: the first page.
	Unfinished(ctx context.Context, afterCreated time.Time, afterRef string, limit int) ([]Record, error)
	// Finals returns the records that became final (Status Succeeded or
	// Failed, FinalAt at or after since) counted per minute of FinalAt,
	// provider and status, oldest minute first, then by Provider, then
	// Status. It reads the records final since since: bound it (the last
	// hours), the zero time counting the whole history.
	Finals(ctx context.Context, since time.Time) ([]Bucket, error)
	// RecentEvents returns at most limit pay-in events, newest ReceivedAt
	// first (events received in the same microsecond: the reverse of
	// Store.Events' order); with a non-zero before, only those received
	// before it. Paging with before = the last ReceivedAt of a page skips
	// the events received in that same microsecond that the page did not
	// hold.
	RecentEvents(ctx context.Context, before time.Time, limit int) ([]Event, error)
}
