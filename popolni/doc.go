// Package popolni is a client for the popolni.club top-up API: pay out to
// phones, bank cards and QIWI wallets in batches, poll the statuses, read the
// partner balance.
//
// # The provider
//
// One URL, https://popolni.club/api, takes everything: a POST of a JSON array
// of payments creates them, a POST of `[{"transactionId":N,"status":0}]` asks
// their statuses, and GET ?balance= reads the balance. Access needs HTTP Basic
// authentication, a source IP allowlisted in the partner's cabinet, the API
// switched on and the current time inside the API schedule; otherwise the
// answer is 403 with one of the fixed texts of Denial. At most 5 requests a
// second: beyond it popolni answers 503 without processing anything, and the
// client waits and sends again.
//
// # The flow
//
//  1. Pay a batch with IDs the partner has never used. Each payment answers
//     0 (received) or fails at once (101 insufficient funds, 124 duplicate
//     id, 208 canceled, 215 bad field or account).
//  2. Poll with Status, no more often than every 10 seconds, while a payment
//     is 0 or 2. WaitFinal does this.
//  3. 3 is success. 101, 121, 208, 215 and 423 are final failures: the money
//     stays with the partner; fix the cause and pay again with a new ID.
//  4. 125 on a status request is believed only when a second request
//     answers 125 again (StatusConfirmed asks the 125s once more;
//     WaitFinal at its next poll). A blacklisted payment alternates 125
//     and 423. A 124 means popolni holds the payment: never take a 125
//     after it for "not paid".
//
// # When the answer is lost
//
// If Pay returns payments.ErrOutcomeUnknown, the batch may have been
// accepted. Paying the same batch again, same IDs, is safe: popolni creates
// no second payment for an ID (124), and this client turns the 124 that
// answers its own resend into the payment's real status. Never pay the same
// top-up again under a new ID before Status has said the old one failed.
//
// # Clients, secrets and shutdown
//
// A Client is safe for concurrent use: make one per account, and Close it
// when done to release its keep-alive connections. No error, log line or
// printed value of this package (whatever the fmt verb or slog handler)
// shows the password, the Authorization header or a full card number: a
// card number shows as 411111******1111, and when a server or proxy echoes
// the request into its answer, the client's secrets are scrubbed out of
// the error.
package popolni
