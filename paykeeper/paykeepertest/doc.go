// Package paykeepertest runs a fake of one merchant's PayKeeper personal
// cabinet JSON API for tests, the way net/http/httptest runs a fake HTTP
// server. It is stateful: payments are refunded and captured, invoices go
// from created to sent to paid, settings, form fields, report e-mails and
// users change, tokens expire, and paid payments are notified to the
// merchant's informer URL with a signed form POST.
//
// The authority is PayKeeper's JSON API document (sections 1-8); what
// PayKeeper's own modules and public integrations show fills in what it
// leaves out (form bodies, status[] arrays, error_code 67, the notification
// protocol). Where they disagree the document wins, except where noted
// below.
//
// # Connecting
//
// A [Server] listens on 127.0.0.1 with real TLS (1.2 or later, HTTP/1.1
// only). Its certificate is for [Host], demo.server.paykeeper.ru (and
// localhost, 127.0.0.1), issued by a fresh test CA whose PEM
// [Server.CACertPEM] hands to the client. A client under test verifies
// certificates as in production: it trusts the CA, pins [Host] to
// [Server.Addr] and calls [Server.URL]. [Server.ClientOptions] returns these
// settings as SDK options and [Server.Client] a ready *http.Client (which
// adds no credentials).
//
//	srv := paykeepertest.NewServer(paykeepertest.WithT(t))
//	c, err := paykeeper.New(creds, srv.ClientOptions()...)
//
// # Authentication and the security token
//
// Every request but the payer's /bill/<id>/ page needs Basic auth with a
// cabinet user's login and password ([WithCredentials], default
// [DefaultUser] / [DefaultPassword]; users added through /change/user/add/
// work too). Without it the answer is HTTP 401 with the cabinet's HTML
// login page ([LoginPageHTML]) and WWW-Authenticate: Basic, not JSON.
//
// GET /info/settings/token/ answers {"token":"<32 hex>"}. The token lives
// [WithTokenLifetime] (24 hours by default: "Смена токена происходит раз в 24
// часа") by the server's clock ([WithClock]); [Server.RotateToken] replaces
// it at once. Every POST must carry the current token in its
// application/x-www-form-urlencoded body as the token field (GETs need
// none); otherwise — no token, an old one, or a body that is not form
// encoded, whose fields PHP never sees — the answer is HTTP 200
// {"result":"fail","msg":"Токен безопасности не верен.","error_code":67} and
// nothing happens. [Server.TokenFetches] counts token requests.
//
// # Answers
//
// JSON is written as PHP's json_encode writes it: compact, Cyrillic as
// \uXXXX, "/" as "\/". Amounts, ids and counts are strings ("100.00",
// "97452", "0") as the document's examples show them, datetimes
// "YYYY-MM-DD HH:MM:SS" in Moscow time ([Moscow]), absent values null.
// Errors are HTTP 200 {"result":"fail","msg":"<Russian text>"}; successful
// changes answer {"result":"success"}. The Msg constants hold the texts;
// only [MsgBadToken] and [MsgInvoiceNotFound] are PayKeeper's own words.
//
// # Routes
//
// GET (query parameters): /info/settings/token/; statistics
// /info/systems/list/, /info/systems/sums/, /info/systems/sums/details/,
// /info/systems/allsum/ (start, end); payments /info/payments/bydate/
// (start, end, status[], payment_system_id[], from, limit),
// /info/payments/bydatecount/, /info/payments/byid/, /info/options/byid/,
// /info/params/byid/, /info/httplog/byid/, /info/refunds/bypaymentid/ (id),
// /info/payments/search/ (query, beg_date, end_date); invoices
// /info/invoice/byid/, /info/invoice/list/, /info/invoice/listcount/
// (start_date, end_date, status[], from, limit); settings
// /info/user/settings/, /info/user/lastvisit/, /info/organization/settings/,
// /info/organization/notifications/, /info/organization/fields/,
// /info/organization/reportemails/, /info/organization/users/; and
// /export/payments/. From observed use beyond the document:
// /info/payments/byid/ with advanced=true (extra fields of the fake's
// choice), /info/receipts/bypaymentid/ (id; an array of the fake's choice)
// and /info/errors/total/.
//
// POST (form body plus token): /change/payment/reverse/ (id, amount,
// partial, refund_cart), /change/payment/repeatcnt/,
// /change/payment/capture/ (id); /change/invoice/preview/,
// /change/invoice/send/, /change/invoice/revoke/ (id);
// /change/organization/setting/ (name, value),
// /change/organization/formfield/, /change/organization/addreportemail/
// (email), /change/organization/deletereportemail/ (id); /change/user/add/,
// /change/user/update/, /change/user/delete/ (the document's section 5
// paths for users, not /change/organization/...user/). From observed use:
// /change/binding/execute/ (bank_id from [Server.AddBinding], orderid,
// sum...: a new success payment each time), /change/payment/post-sale-receipt/
// (id) and /change/receipt/print/ (payment_id, type, is_post_sale,
// sum_cashless, contact, cart, receipt_key): a new receipt each time
// ([Server.Receipts]); sbp_refund_to on reverse is recorded.
//
// The payment form, GET or POST /create/ with sum, clientid, orderid,
// service_name, client_email, client_phone, cart, lang,
// user_result_callback and sign, needs no authentication: with
// [WithFormSecret] a form whose sign matches becomes an invoice (status
// sent) answered 302 to its /bill/<id>/ page, to be paid with
// [Server.PayInvoice]; a wrong sign is 400 with an HTML page naming
// [MsgFormBadSign] (the fake's choice), and nothing is created.
//
// Paths end in "/" as in the document; any other path or method (a path
// without its slash, a GET to a /change/ path, the reserved
// /change/payment/create/) answers 404 with an HTML page, is recorded and,
// under [WithT], fails the test. Array parameters are read in every PHP
// encoding: status[]=a&status[]=b (also percent-encoded), status[0]=a, and
// a plain status=a.
//
// # Interpretations
//
//   - Lists: with no status[] or no payment_system_id[], bydate and the
//     export select nothing (the document: "выводится пустой массив"), and
//     the invoice list needs status[]; the count endpoints filter only by
//     what is given. from skips, limit caps (no limit when absent; the
//     export caps at 1000 and fails above). Dates are inclusive Moscow
//     dates: payments by pending_datetime, invoices by created_datetime,
//     the statistics by obtain_datetime. Newest first.
//   - /info/payments/byid/ answers an array with one object (as every
//     client reads it; the document's example is a bare object), [] for an
//     unknown id. /info/invoice/byid/ answers an object, and "Счёт не
//     найден." for an unknown id. The invoice object also carries user_id
//     and paymentid (the payment that paid it, null before).
//   - /info/payments/bydatecount/ answers one object {"statuses",
//     "payment_systems", "fullcount"}: the document prints three objects in
//     a row, which is not JSON.
//   - The statistics: success sums the payments whose money was taken
//     (obtained, success, stuck, partially_refunded) net of refunds, account
//     those the merchant acknowledged (success, partially_refunded), stuck
//     the unacknowledged ones. sums/details answers, per payment system with
//     payments, [unix milliseconds, amount] points (one a day up to 30
//     days, else 30 equal spans): the example's timestamps are milliseconds.
//   - /info/refunds/bypaymentid/ sends the remainder under both "reminder"
//     (the document's spelling) and "remainder"; /info/user/settings/ sends
//     the refund flag as both refund_allow (the example) and refund_allowed
//     (the table).
//   - Refunds (/change/payment/reverse/): only for obtained, success, stuck
//     and partially_refunded payments, only by a user whose "refund" count
//     is not 0 ([WithUserRights], [Server.SetRefundAllowed]; the daily count
//     itself is not enforced). partial=true refunds amount (positive, at most
//     two decimals, at most the remainder); partial=false refunds the whole
//     remainder, and an amount, if sent, must equal it. A refund_cart, if
//     sent, must be a JSON array. The payment becomes refunded when nothing
//     remains, else partially_refunded. Refunds are done at once (status
//     "done"); refunding is reached only through [Server.SetPaymentStatus].
//   - Holds: a [PaymentSpec] with Hold is authorised (obtained, batch_date
//     in its notification, five days after it was obtained) until
//     /change/payment/capture/, which takes it in full (success). Reversing
//     an uncaptured hold in full cancels it (canceled); in part lowers what
//     the capture takes. Capturing anything else fails.
//   - Invoices: /change/invoice/preview/ needs pay_amount; service_name is
//     kept as sent, a plain string or a JSON object string (one starting
//     with "{" must parse); expiry is YYYY-MM-DD (midnight, "не
//     включительно") or YYYY-MM-DD HH:MM:SS, Moscow time, in the future;
//     without it the invoice runs to midnight four days after its creation,
//     as both document examples do. The answer is {"invoice_id":"<17
//     digits: Moscow YYYYMMDDhhmmss + 3>","invoice_url":"<URL>/bill/<id>/",
//     "invoice":"<HTML>"} and the invoice is created (not listed in the
//     history). send makes it sent, revoke expired; both fail on a paid
//     invoice and send on an expired one. [Server.PayInvoice] pays it,
//     [Server.ExpireInvoice] expires it, and it expires by itself when the
//     clock passes its expiry.
//   - Settings: non-administrators see only shopname, shopdomain,
//     legal_name and paykeeper_id, and every /change/organization/ and
//     /change/user/ request of theirs fails. smtp_host, smtp_port, smtp_user
//     and smtp_password are left out while smtp_use_custom is not "true".
//     Only the document's editable settings can be changed; a request
//     without value changes nothing and succeeds. Changing the form field
//     sum fails, as the document says. Changing a user's password changes
//     what Basic auth accepts; a user cannot delete itself.
//   - /info/user/lastvisit/ answers the user's previous request (IP and
//     time), or this one on the first visit.
//
// # Export
//
// GET /export/payments/?type=xlsx&... answers a real xlsx workbook
// (Content-Type [XLSXContentType], a zip with one sheet of the selected
// payments), generated while it is sent. [WithExportSize] pads it with a
// stored filler entry to exactly n bytes (Content-Length n), so a client
// can be tested streaming many MiB. type other than xlsx, or limit over
// 1000, answers a fail object.
//
// # Notifications
//
// With [WithNotifications] (informer_type post, informer_url, informer_seed,
// which /change/organization/setting/ can also change), [Server.Notify],
// [Server.PayInvoice] and /change/payment/repeatcnt/ POST a form to the
// informer URL with id, sum ("100.00"), clientid, orderid, key,
// service_name (the display name of a JSON service_name), client_email,
// client_phone, ps_id, batch_date (uncaptured holds only), obtain_datetime
// and pk_hostname, where key = md5(id + sum + clientid + orderid + secret)
// in lowercase hex ([SignNotification]). The merchant must answer 200 with
// exactly "OK " + md5(id + secret) ([NotificationAck]), nothing around it;
// then the payment becomes success (an uncaptured hold stays obtained).
// Anything else leaves it stuck with repeat_counter one higher;
// /change/payment/repeatcnt/ resets the counter and sends again. There is
// no automatic retry schedule. Without an informer, payments become success
// when notified. [Server.Notifications] records every attempt;
// [NotificationForm] builds a signed form for testing a handler alone.
//
// # Faults
//
// [Server.FailNext], [Server.DropNext], [Server.DropBeforeNext],
// [Server.DelayNext], [Server.TruncateNext] and [Server.HTMLNext] queue
// faults for the next requests to known routes, token requests included;
// [Server.DropNextOp] loses the answers of one operation only.
//
// # Assertions
//
// [Server.Requests] returns what arrived (without Authorization, the token
// field masked, with whether it was valid), [Server.Count] counts requests
// per operation (the Op constants, named after the routes), [Server.Reset]
// forgets them. [Server.Payment], [Server.Invoice], [Server.Setting],
// [Server.Users] and [Server.ReportEmails] show the state.
//
// # Control API
//
// The server answers a JSON control API under /_fake/ on its own port
// (see docs/fakes.md for the protocol): GET /_fake/ lists the operations;
// POST /_fake/OP takes a JSON object of parameters. Besides the shared
// fault switches (fail_next, drop_next, drop_before_next, delay_next,
// truncate_next, garbage_next, drop_next_op, count) it has payments,
// payment {id}, add_payment {amount, status, orderid, clientid,
// service_name, hold}, set_status {id, status}, notify {id},
// notifications, invoices, pay_invoice {id} and expire_invoice {id}: the
// methods AddPayment, SetPaymentStatus, Notify, PayInvoice... Its answers
// never show the informer's secret nor a notification's key. Control
// requests are not recorded, not counted and take no fault.
package paykeepertest
