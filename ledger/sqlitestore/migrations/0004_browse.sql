-- 0004: the indexes of ledger.BrowseStore, a dashboard's bounded queries,
-- so that none of them reads the table: each query's WHERE repeats its
-- partial index's WHERE term for term, so SQLite uses the index.

-- Counts: every record by provider and status, with the oldest of each.
-- The index holds all three columns: the count reads it in order, never
-- the table's rows (a covering index scan, no sort).
CREATE INDEX payouts_provider_status ON payouts (provider, status, created_at);

-- Unfinished: the records not final, oldest first, paged by key.
CREATE INDEX payouts_unfinished ON payouts (created_at, ref)
	WHERE status NOT IN ('succeeded', 'failed');

-- Finals: the records final since a time, per minute, provider and status,
-- from the index alone. Not partial: a second lower bound on final_at (the
-- predicate's) would be the one the query seeks by, reading every final
-- record, since the first.
CREATE INDEX payouts_final ON payouts (final_at, provider, status);

-- RecentEvents reads events_received (0001) backwards.
