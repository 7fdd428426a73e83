package pgstore

import "github.com/paysdk/payments/ledger"

// ClaimSQL is Claim's statement, for EXPLAIN in tests.
func ClaimSQL() string { return claimSQL }

// ListSQL is List's query for f, for EXPLAIN in tests.
func ListSQL(f ledger.Filter) string {
	q, _ := listQuery(f)
	return q
}

// StatsSQL is Stats' query, for EXPLAIN in tests.
func StatsSQL() string { return statsSQL }
