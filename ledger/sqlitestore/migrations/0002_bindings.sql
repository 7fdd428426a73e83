-- 0002: a payout.Router's shared bindings (ledger.RouterBindings): the
-- provider a Ref is bound to, and the sends counted under that binding.
-- Apart from payouts: the ledger binds the payouts it works in their own
-- records. Times are unix microseconds.

CREATE TABLE bindings (
	ref        TEXT    NOT NULL PRIMARY KEY,
	provider   TEXT    NOT NULL CHECK (provider <> ''),
	sends      INTEGER NOT NULL CHECK (sends >= 0),
	created_at INTEGER NOT NULL, -- bound to this provider (moved here)
	updated_at INTEGER NOT NULL  -- the last acquire or move
) STRICT, WITHOUT ROWID;
