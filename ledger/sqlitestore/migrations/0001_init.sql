-- 0001: the payouts ledger and the pay-in events.
-- Times are unix microseconds, 0 meaning the zero time. Amounts are the
-- exact decimal text of payments.Decimal ("12.34"), never a float.

CREATE TABLE payouts (
	ref         TEXT    NOT NULL PRIMARY KEY,
	provider    TEXT    NOT NULL,
	amount      TEXT    NOT NULL,
	currency    TEXT    NOT NULL,
	kind        TEXT    NOT NULL,
	account     TEXT    NOT NULL,
	bank        TEXT    NOT NULL,
	status      TEXT    NOT NULL,
	provider_id TEXT    NOT NULL,
	code        TEXT    NOT NULL,
	message     TEXT    NOT NULL,
	last_error  TEXT    NOT NULL,
	sends       INTEGER NOT NULL,
	polls       INTEGER NOT NULL,
	created_at  INTEGER NOT NULL,
	sent_at     INTEGER NOT NULL,
	accepted_at INTEGER NOT NULL,
	final_at    INTEGER NOT NULL,
	updated_at  INTEGER NOT NULL,
	next_at     INTEGER NOT NULL,
	reported    INTEGER NOT NULL CHECK (reported IN (0, 1)),
	lease_owner TEXT    NOT NULL DEFAULT '', -- '' : no lease
	lease_until INTEGER NOT NULL DEFAULT 0
) STRICT;

-- Claim: the work queue (not final, or final and not reported) by next_at.
-- Claim's WHERE repeats this one term for term, so SQLite uses the index.
CREATE INDEX payouts_queue ON payouts (next_at, ref)
	WHERE reported = 0 OR status NOT IN ('succeeded', 'failed');

-- List by status, in ref order.
CREATE INDEX payouts_status ON payouts (status, ref);

CREATE TABLE events (
	provider    TEXT    NOT NULL,
	provider_id TEXT    NOT NULL,
	state       INTEGER NOT NULL, -- payments.State
	order_ref   TEXT    NOT NULL,
	checkout_id TEXT    NOT NULL,
	amount      TEXT    NOT NULL,
	currency    TEXT    NOT NULL,
	received_at INTEGER NOT NULL,
	handled_at  INTEGER NOT NULL DEFAULT 0,
	PRIMARY KEY (provider, provider_id, state)
) STRICT, WITHOUT ROWID;

CREATE INDEX events_received ON events (received_at, provider, provider_id, state);
