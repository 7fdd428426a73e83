-- A payout.Router's shared bindings (ledger.RouterBindings): the provider a
-- Ref is bound to, and the sends counted under that binding. Apart from
-- payouts: the ledger binds the payouts it works in their own records.
-- Times are unix microseconds.

CREATE TABLE bindings (
	ref        TEXT   PRIMARY KEY,
	provider   TEXT   NOT NULL CHECK (provider <> ''),
	sends      INT    NOT NULL CHECK (sends >= 0),
	created_at BIGINT NOT NULL, -- bound to this provider (moved here)
	updated_at BIGINT NOT NULL  -- the last acquire or move
);
