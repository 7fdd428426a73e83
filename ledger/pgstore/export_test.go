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

// MigrationSQL is the text of the migration of version v ("" when none), for
// tests that build a schema of an older release.
func MigrationSQL(v int) string {
	ms, err := migrations()
	if err != nil || v < 1 || v > len(ms) {
		return ""
	}
	return ms[v-1].sql
}

// SchemaVersion is the version this code migrates a schema to.
func SchemaVersion() int {
	ms, err := migrations()
	if err != nil {
		return 0
	}
	return len(ms)
}

// The queries of BrowseStore, for EXPLAIN in tests.
const (
	CountsSQL          = countsSQL
	UnfinishedSQL      = unfinishedSQL
	UnfinishedAfterSQL = unfinishedAfterSQL
	FinalsSQL          = finalsSQL
	RecentEventsSQL    = recentEventsSQL
	NoLimit            = noLimit
)
