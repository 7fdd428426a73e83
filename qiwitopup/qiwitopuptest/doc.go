// Package qiwitopuptest runs a fake QIWI Wallet Top-Up API (the XML
// "topup.jsp" protocol, plus the mobile payouts' "xmlcp.jsp" lookup) for
// tests, the way net/http/httptest runs a fake HTTP server.
//
// A [Server] serves TLS for both real host names, [Host] and [PrivateHost]
// ([NewServer]); [Server.ClientOptions] and [Server.PrivateClientOptions]
// point an SDK client at it, [Server.Client] and [Server.CertClient] speak
// XML to it directly. Routes: POST [PathTopup] and POST [PathXMLCP] on either
// host. Anything else is answered 404, recorded with Op [OpUnknown] and, with
// [WithT], fails the test. Answers are `<?xml version="1.0"
// encoding="utf-8"?>` + `<response>…</response>` as "text/xml;
// charset=utf-8", in the documents' style: double quotes on <result-code> and
// <balance>, single quotes on <payment> attributes, message/msg attributes
// where the RU examples have them.
//
// # Request-level checks, in order
//
//  1. The body must be one well-formed XML document (at most 1 MiB) with a
//     <request> root and one non-empty <request-type>; otherwise
//     <result-code fatal="true" message="Неизвестная ошибка" …>300 (Op
//     [OpInvalid]). 300 is the documents' "unknown error"; it is fatal here
//     because the same body always fails the same way.
//  2. The source address must be allowed ([WithAllowedIPs]); otherwise 339.
//  3. Authentication (below); otherwise 150, with no data in the answer.
//  4. The request type must be one the endpoint serves: get-provider-by-
//     phone-number only on xmlcp.jsp, the others only on topup.jsp; a pay
//     request needs exactly one of <auth> and <status>. Otherwise 300.
//
// These errors are fatal and carry the RU message and msg. Elements may come
// in any order, unknown elements and attributes are ignored, extras are found
// by their name attribute. Currencies may be numeric ("643") or letter
// ("RUB", "USD" and a few more) codes; answers use numeric codes.
//
// # Authentication
//
// <terminal-id> must always equal [Server.TerminalID]. Then:
//
//   - On [PrivateHost] (by TLS server name or Host header) a verified client
//     certificate is required: without one the answer is 150, not a closed
//     handshake, so tests can see it. A password is optional, but must be
//     right if sent; signature headers are ignored. Mode [AuthCertificate].
//   - On [Host], a request with X-Digital-Sign or X-Digital-Sign-Alg is
//     authenticated by signature only (mode [AuthSignature]):
//     RSASSA-PKCS1-v1_5 with SHA-1 ("SHA1withRSA") or MD5 ("MD5withRSA") over
//     the exact body bytes, in standard padded base64, verified with the key
//     of [WithPublicKey]. Anything amiss is 150, even with a good password.
//   - Otherwise <extra name="password"> must equal [Server.Password] (mode
//     [AuthPassword]). A client certificate sent to [Host] counts for nothing.
//
// # Operations
//
// ping answers 0 and <balances>: every agent account, in code order.
// check-user answers 0 and <exist>, 1 for a wallet added with
// [Server.AddWallet] or created by a wallet top-up. check-deposit-possible
// answers 0, <exist> and <deposit-possible>1, even for a wallet that does not
// exist yet; for a wallet not identified or given to
// [Server.SetDepositImpossible] it answers like the document's example,
// <result-code fatal="true" message=… msg=…>204, <exist> and
// <deposit-possible>0; for [Server.BlockAccount], the same with 319. A phone
// extra that is not 10–15 digits, an unknown ccy extra or (for
// check-deposit-possible) an income_wire_transfer other than 0 or 1 is 300.
// get-provider-by-phone-number answers <result-code fatal="false"
// message="Ок" msg="Ок">0 and <provider id="…"/> for the longest prefix given
// to [Server.SetProvider], else 300.
//
// A pay request with <auth> holds exactly one <payment> with a
// transaction-number of 1 to 20 digits, no leading zero (else 300). That
// number identifies the payment: a resend with the same details (service,
// account-number, amount, currencies, and the extras account0, account1 and
// bankId) answers the stored payment as it is now, with no second debit or
// status step (how the card document reads rrn and billRegId); a resend with
// other details answers result-code 0 and <payment status='-1' …
// result-code='215' final-status='false' fatal-error='true' /> with an empty
// txn_id: not registered, the stored payment untouched. A new payment is
// checked in order: the service (99, 34020, 32911, 38413 or 29130; 155 for
// any other, 36655 included); the amount (two decimals), from/ccy and to/ccy
// (the same known currency: no conversion, no fees) and the service's
// recipient fields, RUB only but for 99, which needs the request-level
// income_wire_transfer 0 or 1 (300; a bad wallet phone 298); the limits (241
// below, 242 above, [WithLimits]); [Server.BlockAccount] (319); for a wallet
// top-up, a deposit that is impossible (204); the agent account in from/ccy
// (220 if missing or short). A payment that fails is stored with a txn_id in
// status 150, final and fatal, nothing debited; a valid one is stored in
// status 50 and debited at once, and a wallet top-up to an unknown number
// creates the wallet.
//
// The pay answer is <result-code fatal="false">0</result-code>, the <payment
// status txn_id transaction-number result-code message msg final-status
// fatal-error txn-date> (message and msg 'Ok' for 0, else the RU table's
// text) with <from><amount/><ccy/></from> and
// <to><service-id/><amount/><ccy/><account-number/></to>, then <balances>.
// Card numbers (34020, 36655) are masked as in the card document
// ("4265********4411"); the 32911 card is never echoed. A 34020 payout in
// status 60 also carries <extra name="rrn"> (12 digits) and <extra
// name="billRegId"> in pay answers. txn-date is Moscow time ("dd.MM.yyyy
// HH:mm:ss"); txn_id counts up from 20323739405. SBP payouts follow
// [WithWrappedPayments].
//
// A pay request with <status> and one or more <payment> elements (else 300)
// answers 0, a self-closing <payment …/> (message and msg empty for 0) per
// distinct known transaction-number in request order (unknown ones are
// absent, as the documents say), and <balances>. Each status request moves
// the payments it names along 50 → 52 → final ([WithStepsPerPoll]): 60, or
// 160 with the code given to [Server.FailAccount]. Statuses below 50 step to
// 50; -1 and final statuses (60, above 100) stay. A payment in a status from
// 0 to 100 holds its amount debited; moving to -1 or above 100 returns it,
// moving back debits it again ([Server.SetStatus], [Server.Complete] too).
//
// # Faults
//
// The fault switches of the embedded Fake apply to the two routes only; a
// FailNext body starting with '<' is sent as text/xml, any other as
// text/plain, and GarbageNext sends nginx's 502 page with status 200.
// [Server.ErrorNext] and [Server.EmptyNext] are QIWI's own.
//
// # Control API
//
// The server answers a JSON control API under /_fake/ on its own port
// (see docs/fakes.md for the protocol): GET /_fake/ lists the operations;
// POST /_fake/OP takes a JSON object of parameters. Besides the shared
// fault switches (fail_next, drop_next, drop_before_next, delay_next,
// truncate_next, garbage_next, drop_next_op, count) it has payments,
// payment {txn}, balance {currency}, set_balance {amount, currency},
// complete {txn}, set_status {txn, status, result_code}, fail_account
// {account, result_code}, add_wallet {phone, identified}, block_account
// {account} and error_next {n, code, fatal}: the methods of the same
// names. Card numbers are masked in its answers. Control requests are not
// recorded, not counted and take no fault.
package qiwitopuptest
