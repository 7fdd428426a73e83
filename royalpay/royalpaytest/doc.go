// Package royalpaytest runs a fake RoyalPay (Royal Finance API v2) pay-in
// and payout API for tests, the way net/http/httptest runs a fake HTTP
// server: on 127.0.0.1, with real TLS (1.2 or later, HTTP/1.1 only) and a
// certificate for [Host] from a fresh test CA. A client under test verifies
// certificates exactly as in production: it trusts [Server.CACertPEM], pins
// [Host] to [Server.Addr] and calls [Server.URL], the document's
// {{base_url}} (without /api). [Server.ClientOptions] returns these settings
// as SDK options, and [Server.Client] a ready *http.Client.
//
//	srv := royalpaytest.NewServer(royalpaytest.WithT(t))
//	c, err := royalpay.New(royalpay.Credentials{Token: srv.Token()}, srv.ClientOptions()...)
//
// # Routes
//
// The backend is Django REST Framework (DRF); the fake answers as DRF does
// and renders every JSON body compactly, in UTF-8 without \u escapes.
//
//   - POST /api/v2/payments/ creates a payment (Op [OpCreate]); without the
//     trailing slash the route does not exist (Django cannot redirect a POST).
//   - GET /api/v2/payments/{id}/, also without the slash, reads one (Op
//     [OpGet]; not in the document, public integrations use it); an unknown
//     id answers 404 {"detail": "Страница не найдена."}, as does anything
//     else (another method on those paths, a non-numeric id...), which is
//     also recorded with Op [OpUnknown] and, under [WithT], fails the test.
//   - POST /api/v3/payouts/ and GET /api/v3/payouts/?outter_id=… create a
//     payout and list those under an outter_id, [] when none (Ops
//     [OpPayoutCreate], [OpPayoutGet]), with the payout token
//     ([WithPayoutToken]). Without it they answer 401 {"detail": ...}; bad
//     fields answer DRF's field-keyed 400 {"amount": ["…"]}.
//   - GET /api/v1/accounts/me (the document's authorisation page) and
//     /api/v2/accounts/me (Op [OpAccount]) answer {"id", "username",
//     "balance", "currency"} with either token.
//
// # Authentication
//
// Pay-in routes take "Authorization: Token <token>" ([WithToken]); the
// keyword is matched in any case, as DRF does. With no Authorization header,
// or another scheme such as Bearer (which TokenAuthentication ignores), the
// answer is the document's 403 {"error": {"code": 10401, "msg": "Учетные
// данные не были предоставлены."}}. A wrong token, or a Token header without
// exactly one value, answers DRF's 401 {"detail": "Недопустимый токен."}
// with "WWW-Authenticate: Token".
//
// # Creating a payment
//
// After authentication, a create request meets, in order:
//
//  1. the block ([Server.BlockClient]);
//  2. the body: over 1 MiB, a Content-Type other than application/json
//     (parameters allowed; DRF would say 415, the document has only 400) or
//     JSON that does not parse ("JSON parse error - ...") answer 400
//     {"detail": ...}; JSON that is not an object answers 400
//     {"non_field_errors": ["Недопустимые данные. Ожидался dictionary, но
//     был получен list."]}. An empty body is {}.
//  3. validation, answering 400 with a DRF map of every failing field (in
//     the document's parameter order, client_ip last) to its messages, e.g.
//     {"sum": ["Обязательное поле."], "type": ["\"x\" is not a valid
//     choice."]}. Unknown fields are ignored.
//  4. a queued provider error (see Faults);
//  5. creation: 200 (the document says 200 OK, not 201) with the payment.
//
// The fields, with DRF's Russian messages (except "Обязательное поле.", the
// choice message and the two DRF leaves untranslated):
//
//   - sum, required: a JSON number or a numeric string, read exactly (never
//     through a float), as DRF's DecimalField(max_digits=12,
//     decimal_places=2, min_value=0.01) with its messages ("Требуется
//     численное значение.", "Убедитесь, что в числе не больше 12 знаков."...).
//     Python reads a JSON number as a float, so trailing zeros after the
//     point do not count for a number (1500.000 is fine) but do for a string
//     ("1500.000" is refused).
//   - type, required: one of the document's list, or with_qr_code (its
//     example 12); geo: one of its list (Россия by default), or Монголия
//     (example 13); otherwise "\"<value>\" is not a valid choice.".
//   - bank, client_id, outter_id, client_ip (not in the document; an
//     integration sends it), callback_url: strings, trimmed; a number is
//     taken as its text, as DRF's CharField does; true/false, objects and
//     arrays get "Not a valid string.". callback_url must be an absolute
//     http or https URL with a host ("Введите корректный URL."); http:// on
//     loopback is fine, so an httptest.Server can receive callbacks.
//   - is_intrabank_transfer, is_allow_another_amount: booleans in DRF's
//     spellings ("true", "1", "yes", 1, 0...), else "Must be a valid boolean.".
//
// null and "" count as absent for every optional field (null for sum or type
// is "Это поле не может быть null.").
//
// # The payment
//
// A create and a read answer the payment with exactly the keys of the
// document's example answer, in its order, null where the payment has
// nothing; account_number (after sbp_phone_number) and tpay_link (after
// nspk_url) only for the types that have them. Ids count up from the
// example's 10442449 (merchant_payment_detail's from 9336278); times are
// Moscow time with microseconds ("2025-11-27T14:01:26.617629+03:00"). bank
// is as requested or "Alfa", russified_name and bik follow from it (Alfa
// "Альфа Банк" 044525593, Sber, Tinkoff, Vtb, Ozon, Raiffeisen,
// Gasprom/Gazprom, MTS, in any case) or are the bank's own name and null.
// deeplink_url and tpay_link are https://pay-dev.royalsfinance.app/deeplink/
// (or /tpay/) and a random UUID. currency, full_name and
// merchant_payment_detail's course, rate and accumulated_rate are the
// example's; amount_in_usdt = sum / course, amount_with_rate = sum × 0.91
// and amount_in_usdt_with_rate = amount_with_rate / course have 4 places,
// computed exactly and rounded half up (sum 2500 gives the example's
// "31.6857", "2275.0000", "28.8340").
//
// Requisites follow the document's "Отличающее поле" notes, derived from the
// id (fake but well-formed): sbp_phone_number "+7987…" for to_sbp_number,
// to_mobile_commerce, to_transgran_sbp and to_yandex_tips; card_number (16
// digits passing the Luhn check) for to_card_number and to_transgran_number;
// tpay_link for the two transgran types; account_number (20 digits) for
// to_account_number and with_qr_code; tips_id (12 digits, a string) and
// nspk_url for to_yandex_tips; qr_code and nspk_url for nspk; qr_code_link
// for with_qr_code; none for to_quasi_ecom (the payer goes through
// deeplink_url).
//
// # Callbacks
//
// Payments and payouts move only when a test says so ([Server.Complete],
// [Server.WaitConfirm]...), each move POSTing a callback. The document has no
// pay-in callback; the fake sends the shape public integrations show, the
// amount a 2-place decimal string, the type without "to_", no empty outter_id:
//
//	{"id":10442449,"status":"completed","amount":"1500.00","method":"sbp_number","outter_id":"ORD-982134"}
//
// A payout callback goes to [WithPayoutCallbackURL] as {"id", "status",
// "amount" (in minor units), "outter_id", "receipts", "X-Request-Id"}. With
// [WithCallbackToken] callbacks carry "Authorization: Bearer <token>", the
// provider's documented convention for payout callbacks. None is retried.
//
// # Faults
//
// The provider's errors ([Server.NoCardsNext] and its siblings), the shared
// switches of the embedded [fakeserver.Faults] and [Server.EchoNext] share
// one queue taken by create requests, one each, in the order queued. The
// provider's errors stand in for the creation step, so a request that fails
// authentication, the block or validation gets that answer instead and the
// queued error is spent. Reads have their own queue ([Server.FailGetNext]
// and its siblings), payout creates theirs ([Server.FailPayoutNext],
// [Server.DropPayoutNext]); payout lookups, the account read and unknown
// routes take none. A create delayed by DelayNext past its
// X-Request-Timeout ([Request.RequestTimeout]) is answered, as that timeout
// elapses, 500 {"error": "Request timed out. The server took too long to
// respond.", "code": 50020}; the payment is created all the same.
//
// # Control API
//
// The server answers a JSON control API under /_fake/ on its own port
// (see docs/fakes.md for the protocol): GET /_fake/ lists the operations;
// POST /_fake/OP takes a JSON object of parameters. Besides the shared
// fault switches (fail_next, drop_next, drop_before_next, delay_next,
// truncate_next, garbage_next, drop_next_op, count; here they queue for
// pay-in creates) it has payments, payment {id}, payouts, payout {id},
// complete, cancel, refund and delete {id} (pay-ins, with their callback),
// set_amount {id, sum}, send_callback {id, payload}, wait_confirm,
// complete_payout, fail_payout and cancel_payout {id} (payouts, with their
// callback), callbacks, payout_callbacks, block_client {reason},
// drop_payout_next, fail_payout_next, drop_get_next, no_cards_next,
// creation_failed_next and server_timeout_next {n}: the methods of the same
// names. Card numbers are masked in its answers. Control requests are not
// recorded, not counted and take no fault.
package royalpaytest
