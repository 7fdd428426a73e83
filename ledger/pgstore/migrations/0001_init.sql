-- The payout ledger's first schema. Times are unix microseconds, 0 for the
-- zero time; amounts are exact decimal strings (payments.Decimal), never
-- floating point.

CREATE TABLE payouts (
	ref         TEXT    PRIMARY KEY,
	provider    TEXT    NOT NULL,
	amount      TEXT    NOT NULL,
	currency    TEXT    NOT NULL,
	kind        TEXT    NOT NULL,
	account     TEXT    NOT NULL,
	bank        TEXT    NOT NULL DEFAULT '',
	status      TEXT    NOT NULL
		CHECK (status IN ('recorded', 'in_flight', 'pending', 'succeeded', 'failed')),
	provider_id TEXT    NOT NULL DEFAULT '',
	code        TEXT    NOT NULL DEFAULT '',
	message     TEXT    NOT NULL DEFAULT '',
	last_error  TEXT    NOT NULL DEFAULT '',
	sends       INT     NOT NULL DEFAULT 0,
	polls       INT     NOT NULL DEFAULT 0,
	created_at  BIGINT  NOT NULL,
	sent_at     BIGINT  NOT NULL DEFAULT 0,
	accepted_at BIGINT  NOT NULL DEFAULT 0,
	final_at    BIGINT  NOT NULL DEFAULT 0,
	updated_at  BIGINT  NOT NULL,
	next_at     BIGINT  NOT NULL,
	reported    BOOLEAN NOT NULL DEFAULT FALSE,
	lease_owner TEXT    NOT NULL DEFAULT '',
	lease_until BIGINT  NOT NULL DEFAULT 0
);

-- Claim's queue: the open records (not final, or final and not reported)
-- by NextAt. The predicate is written exactly as Claim and List write it,
-- so that the planner can use the index.
CREATE INDEX payouts_queue ON payouts (next_at, ref)
	WHERE status NOT IN ('succeeded', 'failed') OR NOT reported;

-- List by status, in Ref order; Count.
CREATE INDEX payouts_status ON payouts (status, ref);

CREATE TABLE events (
	provider    TEXT   NOT NULL,
	provider_id TEXT   NOT NULL,
	state       INT    NOT NULL,
	order_ref   TEXT   NOT NULL DEFAULT '',
	checkout_id TEXT   NOT NULL DEFAULT '',
	amount      TEXT   NOT NULL,
	currency    TEXT   NOT NULL DEFAULT '',
	received_at BIGINT NOT NULL,
	handled_at  BIGINT NOT NULL DEFAULT 0,
	PRIMARY KEY (provider, provider_id, state)
);

-- Events, oldest first.
CREATE INDEX events_received ON events (received_at, provider, provider_id, state);
