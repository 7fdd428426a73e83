-- 0003: each record's timeline (ledger.HistoryStore): one step per Insert,
-- and one per Save that changes status, provider, code, message or
-- last_error; a Save that only renews next_at, the lease or the counts
-- (a poll with the same answer) writes none. A trigger writes the Insert's
-- step, in its statement; Save writes its steps itself, in its transaction,
-- comparing the stored rows with the new ones (payouts.go: a trigger on
-- UPDATE would be compiled with every UPDATE statement, and the driver
-- prepares each statement at each run: it made every Save several times
-- slower, a step or not).
--
-- The cap: a record keeps its first 8 steps and its last 56
-- (ledger.HistoryFirst, ledger.HistoryLast); each step past the 64th
-- deletes the oldest of the last ones, so seq has a gap there. seq counts
-- every step ever written: 1 is the Insert.
--
-- A record stored before this migration has no step: its first change
-- writes, as seq 1, what it said before (at its updated_at), then the
-- change. Times are unix microseconds.

CREATE TABLE payout_steps (
	ref        TEXT    NOT NULL REFERENCES payouts (ref) ON DELETE CASCADE,
	seq        INTEGER NOT NULL CHECK (seq >= 1),
	at         INTEGER NOT NULL,
	status     TEXT    NOT NULL,
	provider   TEXT    NOT NULL,
	code       TEXT    NOT NULL,
	message    TEXT    NOT NULL,
	last_error TEXT    NOT NULL,
	sends      INTEGER NOT NULL,
	polls      INTEGER NOT NULL,
	PRIMARY KEY (ref, seq)
) STRICT, WITHOUT ROWID;

CREATE TRIGGER payout_steps_insert AFTER INSERT ON payouts
BEGIN
	-- Rows left by a delete made with foreign keys off would clash.
	DELETE FROM payout_steps WHERE ref = NEW.ref;
	INSERT INTO payout_steps (ref, seq, at, status, provider, code, message, last_error, sends, polls)
	VALUES (NEW.ref, 1, NEW.updated_at, NEW.status, NEW.provider, NEW.code, NEW.message, NEW.last_error,
		NEW.sends, NEW.polls);
END;
