// Package ledger makes payouts exactly-once across crashes and replicas: it
// records each payout intent durably before any byte reaches a provider,
// works every intent to one final record through the portable payout API
// (package payout), and settles a lost answer through the provider's status
// or a resend of the same Ref, never a new one.
//
// The records live in a [Store]: ledger/sqlitestore (embedded, one file, the
// default) or ledger/pgstore (PostgreSQL, shared by several replicas).
package ledger
