-- Each record's timeline (ledger.HistoryStore): one step per Insert, and
-- one per Save that changes status, provider, code, message or last_error;
-- a Save that only renews next_at, the lease or the counts (a poll with the
-- same answer) writes none. Triggers write the steps, in the statement (so
-- the transaction) that changed the record, comparing the stored row (OLD)
-- with the new one. Claim and Renew set lease columns only: no trigger runs.
--
-- The cap: a record keeps its first 8 steps and its last 56
-- (ledger.HistoryFirst, ledger.HistoryLast); each step past the 64th
-- deletes the oldest of the last ones, so seq has a gap there. seq counts
-- every step ever written: 1 is the Insert.
--
-- A record stored before this migration has no step: its first change
-- writes, as seq 1, what it said before (at its updated_at), then the
-- change. Times are unix microseconds.
--
-- The functions keep the search_path of the migration, so they write the
-- payout_steps of their own schema whatever the caller's search_path.

CREATE TABLE payout_steps (
	ref        TEXT   NOT NULL REFERENCES payouts (ref) ON DELETE CASCADE,
	seq        INT    NOT NULL CHECK (seq >= 1),
	at         BIGINT NOT NULL,
	status     TEXT   NOT NULL,
	provider   TEXT   NOT NULL,
	code       TEXT   NOT NULL,
	message    TEXT   NOT NULL,
	last_error TEXT   NOT NULL,
	sends      INT    NOT NULL,
	polls      INT    NOT NULL,
	PRIMARY KEY (ref, seq)
);

-- One statement-level trigger for a whole Insert batch.
CREATE FUNCTION payout_steps_inserted() RETURNS trigger LANGUAGE plpgsql
SET search_path FROM CURRENT AS $$
BEGIN
	INSERT INTO payout_steps (ref, seq, at, status, provider, code, message, last_error, sends, polls)
	SELECT ref, 1, updated_at, status, provider, code, message, last_error, sends, polls FROM inserted;
	RETURN NULL;
END
$$;

CREATE TRIGGER payout_steps_insert AFTER INSERT ON payouts
	REFERENCING NEW TABLE AS inserted
	FOR EACH STATEMENT EXECUTE FUNCTION payout_steps_inserted();

CREATE FUNCTION payout_steps_updated() RETURNS trigger LANGUAGE plpgsql
SET search_path FROM CURRENT AS $$
DECLARE
	last INT;
BEGIN
	SELECT max(seq) INTO last FROM payout_steps WHERE ref = NEW.ref;
	IF last IS NULL THEN
		INSERT INTO payout_steps (ref, seq, at, status, provider, code, message, last_error, sends, polls)
		VALUES (OLD.ref, 1, OLD.updated_at, OLD.status, OLD.provider, OLD.code, OLD.message, OLD.last_error,
			OLD.sends, OLD.polls);
		last := 1;
	END IF;
	INSERT INTO payout_steps (ref, seq, at, status, provider, code, message, last_error, sends, polls)
	VALUES (NEW.ref, last + 1, NEW.updated_at, NEW.status, NEW.provider, NEW.code, NEW.message,
		NEW.last_error, NEW.sends, NEW.polls);
	DELETE FROM payout_steps WHERE ref = NEW.ref AND seq > 8 AND seq <= last + 1 - 56;
	RETURN NULL;
END
$$;

-- Row-level, and only for the rows whose answer changed: the WHEN is
-- evaluated without calling the function.
CREATE TRIGGER payout_steps_update AFTER UPDATE OF status, provider, code, message, last_error ON payouts
	FOR EACH ROW
	WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.provider IS DISTINCT FROM NEW.provider
		OR OLD.code IS DISTINCT FROM NEW.code OR OLD.message IS DISTINCT FROM NEW.message
		OR OLD.last_error IS DISTINCT FROM NEW.last_error)
	EXECUTE FUNCTION payout_steps_updated();
