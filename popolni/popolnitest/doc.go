// Package popolnitest runs a fake popolni.club top-up API for tests, the way
// net/http/httptest runs a fake HTTP server.
//
// A [Server] listens on 127.0.0.1 with real TLS (minimum TLS 1.2, HTTP/1.1
// only). Its certificate is for the real host name popolni.club (and
// localhost, 127.0.0.1) and is issued by a fresh test CA whose PEM
// [Server.CACertPEM] hands to the client. A client under test therefore
// verifies certificates exactly as in production: it trusts the CA, pins
// popolni.club to [Server.Addr] and calls [Server.URL]. [Server.ClientOptions]
// returns these settings as SDK options, and [Server.Client] a ready client.
//
//	srv := popolnitest.NewServer(popolnitest.WithT(t))
//	c, err := popolni.New(popolni.Credentials{Login: srv.Login(), Password: srv.Password()},
//		srv.ClientOptions()...)
//
// # What it models
//
// The provider document (sections 1-4) defines one URL, https://popolni.club/api
// (also accepted with a trailing slash), with three operations:
//
//   - pay: POST a JSON array of {"transactionId","amount","msisdn","templateId"
//     [,"msisdnNotice"]}; the answer is 200 with [{"transactionId","status"}], one
//     object per item, in order;
//   - status: POST a JSON array of {"transactionId","status":0}; same answer shape;
//   - balance: GET /api?balance= answers {"currentBalance","creditLimit"} in kopecks.
//
// A request body is a status query when its items carry a transactionId but
// neither amount nor msisdn; it is a payment batch when its items carry amount
// or msisdn. A body mixing both kinds, an empty array, or anything that is not
// a JSON array of objects is refused with 403 "Incorrect data format", as is a
// POST without Content-Type application/json (the document makes that header
// mandatory).
//
// Every request to /api goes through these checks, in this order, and the
// first failure answers with its HTTP status and a plain-text body:
//
//  1. plain HTTP instead of TLS on the same port: 403 "Insecure connection is not allowed";
//  2. the rate limit: 503, the request is not processed;
//  3. Basic authentication: 403 "Incorrect auth data";
//  4. the source IP ([WithAllowedIPs]): 403 "IP is not allowed";
//  5. the API switch ([Server.SetAPIEnabled]): 403 "API disabled";
//  6. the access schedule ([Server.SetInSchedule]): 403 "Request rejected entered unscheduled";
//  7. the body format: 403 "Incorrect data format".
//
// The document orders authentication, then IP, then schedule, and does not
// place "API disabled". It calls the rate limit DDoS protection that rejects
// requests before any processing, so every request counts, authenticated or
// not: a client must pace its retries of 403s too. The fake reads "не более 5
// запросов в секунду с кратковременным превышением в 11 запросов за последние
// 10 минут" as a sliding one-second window per server (per partner account)
// with an optional tolerance ([WithRateLimit], [WithRateLimitExcess]); a
// request over it is recorded but neither processed nor counted.
//
// # Payments
//
// An accepted payment gets status 0. Every status query that includes it moves
// it one step (see [WithStepsPerPoll]): 0 → 2 → final, where final is 3
// (success) or the status given to [Server.FailAccount] for its msisdn. When a
// payment reaches 3 the balance goes down by its amount. Items of a payment
// batch are answered, in order:
//
//   - 215 when transactionId is missing or not a JSON integer (the item is
//     not stored; its transactionId is echoed back as sent, or null);
//   - 124 when the transactionId already exists, including an id repeated
//     within the same batch (the first wins; the existing payment is untouched);
//   - 215 when amount or templateId is not a JSON integer, msisdn or
//     msisdnNotice is not a string, amount or msisdn is missing, or msisdn is
//     not digits only (the document: a wrong data type, or an account not in the
//     partner's format). Integral floats such as 100.0 count as integers, because
//     the public PHP clients send them; templateId may be absent (treated as 0);
//   - 208 when amount is below 100 kopecks or above [WithMaxAmount];
//   - 423 when the msisdn is blacklisted ([Server.Blacklist]);
//   - 101 when amount exceeds currentBalance + creditLimit minus the amounts of
//     the payments still in status 0 or 2;
//   - 0 otherwise.
//
// Items answered 215 (with a valid id), 208, 423 and 101 are stored with that
// final status, so their ids are taken and a status query reports them.
//
// A status query answers each item with the payment's status after the step,
// or 125: for an unknown id, for a known one after [Server.NotFoundOnce] or
// [WithNotFoundFirst] (the document's transient "payment moving between
// queues"), and every other time for a payment in 423 ([Server.Blacklist]).
// An id repeated within one query is stepped once and answered the same.
//
// # Faults and assertions
//
// The fault switches of the embedded Fake (FailNext, DropNext, DropBeforeNext,
// DelayNext, TruncateNext, GarbageNext, DropNextOp) apply to both routes;
// GarbageNext answers nginx's 502 page with status 200. A plain HTTP request
// and an unknown route use none up. A request to any other route is answered
// 404, recorded with Op "unknown" and, with [WithT], fails the test.
//
// # Control API
//
// The server answers a JSON control API under /_fake/ on its own port
// (see docs/fakes.md for the protocol): GET /_fake/ lists the operations;
// POST /_fake/OP takes a JSON object of parameters. Besides the shared
// fault switches (fail_next, drop_next, drop_before_next, delay_next,
// truncate_next, garbage_next, drop_next_op, count) it has payments,
// payment {id}, balance, set_balance {current, credit_limit}, complete {id},
// set_status {id, status}, fail_account {msisdn, status}, blacklist
// {msisdn}, not_found_once {id} and set_api_enabled {on}: the methods of the
// same names. Control requests are not recorded, not counted and take no
// fault; over plain HTTP they get 403.
package popolnitest
