// Package ledger makes payouts exactly-once across crashes and replicas: it
// records each payout intent durably before any byte reaches a provider,
// works every intent to one final record through the portable payout API
// (package payout), and settles a lost answer through the provider's status
// or a resend of the same Ref, never a new one.
//
//	store, err := sqlitestore.Open(ctx, "payouts.db", sqlitestore.Exclusive())
//	l, err := ledger.New(store, ledger.Options{OnFinal: markPaid}, popolniClient, qiwiClient)
//	n, err := l.Submit(ctx, reqs...) // durable; idempotent on Ref
//	go l.Run(ctx)                     // sends, polls, settles, reports
//
// # What the work loop guarantees
//
//   - Submit commits the intent, bound to the first client that can take it,
//     before anything is sent. The same Ref again with the same amount and
//     destination records nothing; with others it is a *ConflictError and
//     nothing of the batch is recorded.
//   - Each send happens after an InFlight mark is committed, by the one
//     replica that holds the record's lease. A record found InFlight (a
//     crash, a lost answer) is asked about at its provider, in batches of
//     Capabilities().StatusBatch at Capabilities().PollInterval; one the
//     provider does not know is sent again under the same Ref, which the
//     payout drivers guarantee never pays twice.
//   - A refusal that proves the provider never got the payout
//     (payout.NeverReceived) moves it, durably, to the next client that can
//     take it, or retries it after a backoff; any other refusal is final.
//   - Every record ends Succeeded or Failed with the provider's id, code and
//     text and the time of each step, and is then handed to
//     Options.OnFinal, at least once across crashes.
//   - While the store does not answer, nothing is sent: Options.OnError and
//     Health say why, and the loop resumes when the store is back.
//
// # Telemetry
//
// Off until the application turns it on: the ledger uses the global
// OpenTelemetry providers, which record nothing until set, or those of
// Options.TracerProvider and Options.MeterProvider.
//
//   - Spans: "ledger submit" under Submit's context; "ledger claim", a root
//     for each claim of the work loop that took records (an idle claim makes
//     none); under it "ledger send" for each send (the Ref, the provider,
//     payments.result: sent, outcome_unknown, refused, failover, retry;
//     whether it was a resend) and "ledger poll" for each provider's batch of
//     status requests, with a "ledger settle" for each record it settled
//     (payments.state, payments.result: final, pending, unknown, resend,
//     wait); "ledger final" around each OnFinal call (ok, error, panic). The
//     provider operations a send or a poll causes ("popolni pay", "popolni
//     status" and their attempts) are its children when the payout clients
//     trace to the same provider.
//   - Counters: payments.ledger.sends {send} (payments.provider,
//     payments.result, "resend" for every send after a "not found"),
//     payments.ledger.finals {intent} (payments.provider, payments.state),
//     payments.ledger.store.errors {error} (payments.operation: the store's
//     operation).
//   - Gauges, while Run runs, read from a [StatsStore] by one query at most
//     every Options.StatsInterval: payments.ledger.intents {intent} (the work
//     queue by payments.provider and payments.state) and
//     payments.ledger.oldest_open.age (s, the oldest unfinished intent of
//     each payments.provider). Every replica reports the same store-wide
//     figures: aggregate them with max.
//
// Pay-in notifications are recorded once with [Notifications].
//
// The records live in a [Store]: ledger/sqlitestore (embedded, one file,
// one process, the default) or ledger/pgstore (PostgreSQL, shared by
// several replicas). Both pass ledger/storetest.
package ledger
