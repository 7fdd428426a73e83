// Package qiwitopuptest runs a fake QIWI Wallet Top-Up API (the XML
// "topup.jsp" protocol, plus the mobile payouts' "xmlcp.jsp" lookup) for
// tests, the way net/http/httptest runs a fake HTTP server.
//
// # Transport
//
// A [Server] listens on one 127.0.0.1 port with real TLS (minimum TLS 1.2,
// HTTP/1.1 only). Its certificate is valid for both real host names,
// api.qiwi.com ([Host]) and private-api.qiwi.com ([PrivateHost]), and is
// issued by a fresh test CA whose PEM [Server.CACertPEM] hands to the client.
// The handshake asks for a client certificate and verifies one when given
// (tls.VerifyClientCertIfGiven) against a second fresh CA: the "CA
// certificate" QIWI gives an agent, [Server.ClientCAPEM], which issues
// [Server.ClientCertificate]. A client certificate from any other CA fails
// the handshake when the client sends it (Go's client does not send a
// certificate whose issuer the server did not name).
// [Server.ClientOptions] points an SDK client at the fake (public URL, both
// host names pinned to loopback, the CA trusted); [Server.PrivateClientOptions]
// does the same for mutual TLS. [Server.Client] and [Server.CertClient] are
// ready-made *http.Client values for tests that speak XML directly.
//
// Routes: POST /xml/topup.jsp and POST /xml/xmlcp.jsp on either host name.
// Anything else (another path, another method) is answered 404, recorded with
// Op [OpUnknown] and, with [WithT], fails the test. Answers are
// `<?xml version="1.0" encoding="utf-8"?>` + `<response>…</response>` with
// Content-Type "text/xml; charset=utf-8", in the documents' style: double
// quotes on <result-code> and <balance>, single quotes on <payment>
// attributes, message/msg attributes where the RU examples have them.
//
// # Request-level checks, in order
//
//  1. The body must be one well-formed XML document (at most 1 MiB) with a
//     <request> root and one non-empty <request-type>; otherwise
//     <result-code fatal="true" message="Неизвестная ошибка" …>300 (Op
//     [OpInvalid]). 300 is the documents' "unknown error"; it is fatal here
//     because the same body always fails the same way.
//  2. The source address must be allowed ([WithAllowedIPs]); otherwise 339,
//     fatal, "Ограничение по IP адресу".
//  3. Authentication (see below); otherwise 150, fatal, "Ошибка
//     авторизации", with no data in the answer.
//  4. The request type must be one the endpoint serves: get-provider-by-
//     phone-number only on xmlcp.jsp, the others only on topup.jsp; a pay
//     request needs exactly one of <auth> and <status>. Otherwise 300, fatal.
//
// # Authentication
//
// <terminal-id> must always equal [Server.TerminalID]. Then:
//
//   - On [PrivateHost] (by TLS server name or Host header) a verified client
//     certificate is required; without one the fake answers 150 rather than
//     closing the handshake, so tests can see it. With a certificate the
//     password is optional, but must be right if sent. Signature headers are
//     ignored there. Mode [AuthCertificate].
//   - On [Host], when X-Digital-Sign or X-Digital-Sign-Alg is present, the
//     request is authenticated by signature only (mode [AuthSignature]):
//     RSASSA-PKCS1-v1_5 with SHA-1 ("SHA1withRSA") or MD5 ("MD5withRSA") over
//     the exact body bytes, in standard padded base64, verified with the key
//     of [WithPublicKey]. A bad or missing signature, an unknown algorithm or
//     no configured key is 150, and a password does not rescue it; a password
//     sent along with a good signature is ignored.
//   - Otherwise <extra name="password"> must equal [Server.Password] (mode
//     [AuthPassword]). A client certificate sent to [Host] counts for nothing.
//
// Elements may come in any order, unknown elements and attributes are
// ignored, and extras are found by their name attribute. Currencies may be
// numeric ("643") or letter ("RUB", "USD", "EUR" and a few more) codes;
// answers always use numeric codes.
//
// # Operations
//
// ping answers 0 and <balances> with every agent account, in code order. The
// agent has a RUB ("643") account with [DefaultBalance] unless [WithBalance]
// sets it; [WithBalance] and [Server.SetBalance] open others.
//
// check-user (extra phone: 10–15 digits; optional extra ccy: a known
// currency; else 300 fatal) answers 0 and <exist>. A wallet exists when added
// with [Server.AddWallet] or created by an accepted wallet top-up; with
// [WithAllWalletsExist] every number exists. The ccy extra is only validated:
// a wallet holds every currency.
//
// check-deposit-possible (extra phone; extra income_wire_transfer "0" or "1",
// required; optional ccy) answers 0 with <exist> and
// <deposit-possible>1</deposit-possible>, including for a wallet that does
// not exist yet (a top-up creates it). For a wallet added as not identified,
// or a number given to [Server.SetDepositImpossible], it answers exactly like
// the document's example: <result-code fatal="true" message=… msg=…>204 with
// <exist> and <deposit-possible>0</deposit-possible>. For a number given to
// [Server.BlockAccount], the same with 319.
//
// get-provider-by-phone-number (on xmlcp.jsp; <phonenumber>, digits without
// the country code) answers <result-code fatal="false" message="Ок" msg="Ок">0
// and <provider id="…"/> for the longest prefix registered with
// [Server.SetProvider]; a number no prefix matches gets 300, fatal. No
// prefixes are registered by default.
//
// # pay
//
// A pay request with <auth> must hold exactly one <payment> whose
// transaction-number is a positive integer of at most 20 digits without a
// leading zero; otherwise 300, fatal, and nothing is stored. Then:
//
//   - Idempotency: (terminal, transaction-number) identifies a payment. A
//     resend with the same details (service-id, account-number, to/amount,
//     from and to currency, and the recipient extras account0, account1,
//     bankId; comments and other extras are not compared) answers the stored
//     payment as it is now: no new payment, no second debit, no step of its
//     status. This is also how the card document's rrn/billRegId are read. A
//     resend with other details answers result-code 0 and
//     <payment status='-1' … result-code='215' final-status='false'
//     fatal-error='true' /> with an empty txn_id and without <from>/<to>:
//     this request was not registered, and the stored payment is untouched.
//   - A new payment is validated, in order: to/service-id 99, 34020, 32911,
//     38413 or 29130, else 155 (36655, foreign cards, is "temporarily
//     stopped" in the document and is answered 155 too); to/amount with
//     exactly two decimals and a dot, else 300; from/ccy a known currency and
//     to/ccy (optional, defaults to from/ccy) the same currency, else 300 (the
//     fake does not convert or charge fees: from/amount equals to/amount);
//     per service: 99 needs the request-level income_wire_transfer 0 or 1
//     (else 300) and a 10–15 digit phone (else 298); 34020 a 13–19 digit card,
//     RUB only; 32911 "+" and a phone in account-number and a card in
//     to/extra account1, RUB only; 38413 an account-number "7" + 10 digits
//     and a digits-only to/extra bankId, RUB only; 29130 a non-empty
//     account-number and to/extra account0 "id:<n>;acc:<phone>;sum:<0.00>"
//     (all else 300); then the limits, below [DefaultMinAmount] 241 and above
//     [DefaultMaxAmount] 242 ([WithLimits]); an account (or 32911 card) given
//     to [Server.BlockAccount] 319; for service 99, a wallet added as not
//     identified or given to [Server.SetDepositImpossible] 204; an agent
//     account in from/ccy that is missing or holds less than the amount 220.
//   - A payment that fails validation is stored, with a txn_id, in status 150
//     (declined), final-status true, fatal-error true and that result-code;
//     nothing is debited, and status requests report it.
//   - A valid payment is stored in status 50, final-status false, and the
//     amount is debited from the agent account at once. A wallet top-up (99)
//     to an unknown number creates the wallet (identified).
//
// The answer is <result-code fatal="false">0</result-code>, then
// <payment status txn_id transaction-number result-code message msg
// final-status fatal-error txn-date> (message and msg 'Ok' for result-code 0,
// else the RU table's text) with <from><amount/><ccy/></from> and
// <to><service-id/><amount/><ccy/><account-number/></to>, then <balances>.
// Card numbers in account-number (34020, 36655) are masked as in the card
// document, first and last four digits kept ("4265********4411"); the 32911
// card in account1 is never echoed. A 34020 payout in status 60 also carries
// <extra name="rrn"> (12 digits) and <extra name="billRegId"> inside
// <payment>, in pay answers only. txn-date is when the payment was created,
// in Moscow time (UTC+3, "dd.MM.yyyy HH:mm:ss"); txn_id counts up from
// 20323739405.
//
// # status
//
// A pay request with <status> and one or more <payment> elements (else 300,
// fatal) answers 0, one self-closing <payment …/> per distinct known
// transaction-number in request order, and <balances>. Unknown numbers are
// simply absent, as the documents say; to/account-number is not checked.
// message and msg are empty for result-code 0. Each status request that includes
// a payment counts a poll and moves it [WithStepsPerPoll] steps (default 1)
// along 50 → 52 → final: 60 (success), or 160 with the result-code given to
// [Server.FailAccount] for its account-number (or 32911 card). Statuses below
// 50 step to 50; -1 and final statuses (60 and above 100) do not move.
//
// Balance rule: a payment in a status from 0 to 100 holds its amount debited;
// moving to -1 or above 100 returns it, moving back debits it again. This
// applies to [Server.SetStatus] and [Server.Complete] too.
//
// SBP style: with [WithWrappedPayments] on (the default, as in the SBP
// document's example), an answer holding an SBP payout (38413) puts all its
// payments inside <payments>, writes message ('Ок' in Cyrillic for 0) without
// msg on SBP payments, and adds <balances-ovd>, <f></f> and
// <lk-status>001</lk-status> after <balances>.
//
// # Faults and assertions
//
// [Server.ErrorNext] (a request-level error such as 13, 150, 300 or 339,
// request not processed), [Server.FailNext] (raw HTTP answer, not processed),
// [Server.DropNext] (processed, connection closed without an answer),
// [Server.DropBeforeNext] (closed, not processed), [Server.DelayNext],
// [Server.TruncateNext] (half the XML), [Server.EmptyNext] (200 with an empty
// body) and [Server.GarbageNext] (an HTML page) queue faults for the next
// requests to the two routes, in the order queued. [Server.Requests],
// [Server.Count] and [Server.Reset] tell what the server received; a
// [Request] keeps the body as received (with the password, if sent), the
// headers (X-Digital-Sign included), the host, SNI, client certificate CN,
// authentication mode, HTTP status and request-level result-code.
// [Server.Payment], [Server.Payments] and [Server.Balance] expose the state.
package qiwitopuptest
