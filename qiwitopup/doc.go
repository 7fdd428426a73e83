// Package qiwitopup is a client for the QIWI Wallet Top-Up API, the XML
// protocol on https://api.qiwi.com/xml/topup.jsp: pay out to QIWI wallets,
// Russian cards, SBP and mobile accounts; check that a deposit is possible;
// check that a user exists; ask payment statuses; read the agent's balances.
//
// # Authentication
//
// Three ways, as the document describes them: PasswordAuth (terminal-id and
// a password element in every request), SignatureAuth (an RSA signature of
// the body in X-Digital-Sign, no password), and CertificateAuth (mutual TLS
// to private-api.qiwi.com with the certificate and CA that QIWI issues).
//
// # The flow (wallet)
//
//  1. CheckDepositPossible. Possible=false: the payment would be rejected.
//     Exist=false: QIWI creates the wallet with the payment, if you want that.
//  2. PayWallet with a transaction number that is yours alone. Payments are
//     idempotent on (terminal, transaction number): the same pay sent again
//     returns the same payment; the same number with other details is
//     result 215.
//  3. Until a final status: Status, no more often than every 10 minutes.
//     final-status true and 60 is success; above 100 is failure, the money
//     back on the agent's balance.
//
// Payout runs all of it. The rule that matters most: a doubtful answer (a
// network error once the request went out, a non-200, an empty or malformed
// body, a request-level error such as 300) never means the payment failed.
// PayWallet reports it as payments.ErrOutcomeUnknown with the transaction
// number; ask Status, or pay again with the same number and details.
// ErrOutcomeUnknown means QIWI may have the payment and nothing else: a pay
// that was never sent (a dial or TLS handshake failure, a context ended
// before sending) or that QIWI refused before processing it (150
// authorization, 339 sender IP: the fatal codes of the request-error table)
// returns that error instead; nothing was paid.
//
// # Lifetime and contexts
//
// A Client is safe for concurrent use; Close it when done (defer c.Close())
// to release its idle connections. Every call takes a context: a nil one is
// payments.ErrNilContext, before anything is sent. A cancelled or expired
// context comes back wrapped with "qiwitopup" and the operation, matching
// context.Canceled or context.DeadlineExceeded, and matching
// payments.ErrOutcomeUnknown only when a pay may already have reached QIWI.
//
// # Decoding
//
// Answers are read as the document demands: unknown elements and attributes
// are ignored, <payment> may sit in a <payments> wrapper, <result-code> may be
// missing, quotes may be single or double, and txn-date is dd.MM.yyyy
// HH:mm:ss in Moscow time. The document's status examples spell the
// attribute result-сode with a Cyrillic "с" (U+0441); the decoder reads that
// spelling as result-code, so the examples mean what they say (0).
//
// # Not offered
//
// Payouts to foreign cards (service 36655) are documented as "temporarily
// stopped" because of payment-system restrictions; there is no call for them.
package qiwitopup
