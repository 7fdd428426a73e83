// Package royalpaytest runs a fake RoyalPay (Royal Finance API v2) pay-in API
// for tests, the way net/http/httptest runs a fake HTTP server.
//
// A [Server] listens on 127.0.0.1 with real TLS (TLS 1.2 or later, HTTP/1.1
// only). Its certificate is for the host the provider document shows,
// pay-dev.royalsfinance.app ([Host]), and for localhost and 127.0.0.1, and is
// issued by a fresh test CA whose PEM [Server.CACertPEM] hands to the client.
// A client under test therefore verifies certificates exactly as in
// production: it trusts the CA, pins [Host] to [Server.Addr] and calls
// [Server.URL], the document's {{base_url}} (without /api).
// [Server.ClientOptions] returns these settings as SDK options, and
// [Server.Client] a ready *http.Client.
//
//	srv := royalpaytest.NewServer(royalpaytest.WithT(t))
//	c, err := royalpay.New(royalpay.Credentials{Token: srv.Token()}, srv.ClientOptions()...)
//
// # Routes
//
// The backend is Django REST Framework (DRF); the fake answers as DRF does
// and renders every JSON body compactly, in UTF-8 without \u escapes.
//
//   - POST /api/v2/payments/ creates a payment (Op [OpCreate]). Without the
//     trailing slash the route does not exist: Django cannot redirect a POST.
//   - GET /api/v2/payments/{id}/, also without the trailing slash, reads one
//     (Op [OpGet]). The document does not describe it; public integrations
//     use it. An unknown id answers 404 {"detail": "Страница не найдена."}.
//     With [WithSlashRedirect] the slashed form answers 301 to the other;
//     with [WithPaymentReadForm] only one form is routed, the other
//     answering 404.
//   - POST /api/v3/payouts/ creates a payout (Op [OpPayoutCreate]) with the
//     payout token ([WithPayoutToken], default [DefaultPayoutToken]; the
//     pay-in token is refused there, and the payout token on pay-in routes).
//     Bad fields answer DRF's field-keyed 400 {"amount": ["…"]}. A payout
//     starts "pending" and moves by [Server.WaitConfirm] (a 2xx answer to
//     its callback moves it to in_progress), [Server.CompletePayout],
//     [Server.FailPayout], [Server.CancelPayout], or after
//     [WithPayoutCompleteAfterPolls] lookups. Callbacks go to
//     [WithPayoutCallbackURL] / [Server.SetPayoutCallbackURL] with the
//     [WithCallbackToken] bearer token; their amount is in minor units.
//     [Server.DropPayoutNext] makes the payout and loses the answer;
//     [WithPayoutCreateOmit] leaves fields (such as "status") out of the
//     create's answer.
//   - GET /api/v3/payouts/?outter_id=… answers the array of payouts under
//     that outter_id, [] when none (Op [OpPayoutGet]).
//   - GET /api/v1/accounts/me (the document's authorisation page) and GET
//     /api/v2/accounts/me (Op [OpAccount]) answer {"id", "username",
//     "balance", "currency"} with either token ([WithBalance]);
//     [WithAccountReadVersion] routes only one of them, the other answering
//     404.
//   - Anything else, including other methods on those paths and a
//     non-numeric id, answers 404 {"detail": "Страница не найдена."}, is
//     recorded with Op [OpUnknown] and, under [WithT], fails the test.
//
// # Authentication
//
// Both routes take "Authorization: Token <token>" ([WithToken], default
// [DefaultToken]); the keyword is matched in any case, as DRF does. With no
// Authorization header, or another scheme such as Bearer (which
// TokenAuthentication ignores), the answer is the document's 403
// {"error": {"code": 10401, "msg": "Учетные данные не были предоставлены."}}.
// A wrong token, or a Token header without exactly one value, answers DRF's
// 401 {"detail": "Недопустимый токен."} with "WWW-Authenticate: Token".
//
// # Creating a payment
//
// After authentication, a create request meets, in order:
//
//  1. the block ([Server.BlockClient]): 403 {"error": "Client is blocked.
//     Reason: <reason>", "code": 50000};
//  2. the body: over 1 MiB, or a Content-Type other than application/json
//     (parameters such as charset allowed), answers 400 {"detail": ...}
//     (DRF would say 415 for the media type; the document only has 400 for
//     a bad body). JSON that does not parse answers 400 {"detail": "JSON
//     parse error - ..."}; JSON that is not an object answers 400
//     {"non_field_errors": ["Недопустимые данные. Ожидался dictionary, но
//     был получен list."]}. An empty body counts as {}.
//  3. validation, answering 400 with a DRF map of every failing field (in
//     the document's parameter order, client_ip last) to its messages, e.g. {"sum": ["Обязательное поле."],
//     "type": ["\"x\" is not a valid choice."]}. Unknown fields are ignored.
//  4. a queued provider error (see Faults);
//  5. creation: 200 (the document says 200 OK, not 201) with the payment.
//
// The fields:
//
//   - sum, required: a JSON number or a numeric string, read exactly (never
//     through a float). DRF DecimalField(max_digits=12, decimal_places=2,
//     min_value=0.01): "Требуется численное значение." for anything else,
//     "Убедитесь, что в числе не больше 12 знаков.", "... 2 знаков в дробной
//     части.", "... 10 знаков в целой части.", "Убедитесь, что значение
//     больше или равно 0.01.". Python reads a JSON number as a float, so
//     trailing zeros after the point do not count for a number (1500.000 is
//     fine) but do for a string ("1500.000" is refused).
//   - type, required: to_sbp_number, to_card_number, to_account_number,
//     to_transgran_number, to_transgran_sbp, to_yandex_tips, nspk,
//     to_mobile_commerce, to_quasi_ecom (the document's list), or
//     with_qr_code (the document's example 12); otherwise "\"<value>\" is
//     not a valid choice.".
//   - geo: Россия (the default), Азербайджан, Казахстан, Узбекистан,
//     Кыргызстан, or Монголия (the document's example 13); otherwise the
//     same choice message.
//   - bank, client_id, outter_id, client_ip (not in the document; an
//     integration sends it), callback_url: strings, trimmed. A number is
//     taken as its text, as DRF's CharField does; true/false, objects and
//     arrays get "Not a valid string.". callback_url must be an absolute
//     http or https URL with a host ("Введите корректный URL."); http:// on
//     loopback is fine, so an httptest.Server can receive callbacks.
//   - is_intrabank_transfer, is_allow_another_amount: booleans; DRF's
//     spellings ("true", "1", "yes", 1, 0...) are accepted, anything else
//     gets "Must be a valid boolean.".
//
// null and "" count as absent for every optional field (null for sum or type
// is "Это поле не может быть null."). The messages are DRF's Russian
// translations, except "Обязательное поле.", the choice message and the two
// DRF leaves untranslated.
//
// # The payment
//
// The answer to a create and to a read is the payment with exactly the keys
// of the document's example answer, in its order, with null where the example
// has null and the payment has nothing; account_number (after
// sbp_phone_number) and tpay_link (after nspk_url) are added only for the
// types that have them. Ids count up from the example's 10442449 (and the
// merchant_payment_detail ids from its 9336278). The values:
//
//   - sum: the current sum with 2 places, as a string ("1500.00");
//   - created_at, updated_at: Moscow time (+03:00) with microseconds, like
//     "2025-11-27T14:01:26.617629+03:00"; updated_at moves with every status
//     move and SetAmount;
//   - bank: as requested, or "Alfa"; russified_name and bik from the bank
//     (Alfa "Альфа Банк" 044525593, Sber "Сбербанк" 044525225, Tinkoff
//     "Т-Банк" 044525974, Vtb/VTB "ВТБ" 044525187, Ozon "Озон Банк"
//     044525068, Raiffeisen, Gasprom/Gazprom, MTS; any case), or the bank's
//     own name and a null bik for others;
//   - status "created", currency "Рубль", full_name "Testov Tester Testik",
//     project, outter_id_from_form and redirect_url null, work_country the
//     geo, callback_url as sent, deeplink_url
//     "https://pay-dev.royalsfinance.app/deeplink/<random UUID>";
//   - merchant_payment_detail: course "78.90", rate "0.00", course_with_rate
//     "78.90", accumulated_rate "9.00", amount_in_usdt = sum / course,
//     amount_with_rate = sum × 0.91, amount_in_usdt_with_rate =
//     amount_with_rate / course, all with 4 places, computed exactly and
//     rounded half up (sum 2500 gives the example's "31.6857", "2275.0000",
//     "28.8340").
//
// Requisites, per the document's "Отличающее поле" notes, derived from the id
// (fake but well-formed):
//
//   - to_sbp_number, to_mobile_commerce: sbp_phone_number "+7987…" (the
//     document's example answer); to_transgran_sbp: the same plus tpay_link;
//   - to_card_number: card_number, 16 digits passing the Luhn check;
//     to_transgran_number: the same plus tpay_link (integrations redirect
//     the payer to tpay_link for the cross-border types; the fake's link is
//     https://pay-dev.royalsfinance.app/tpay/<random UUID>);
//   - to_account_number: account_number, 20 digits;
//   - to_yandex_tips: tips_id (12 digits, a string as in the document's
//     example, though its field table says number), nspk_url
//     "https://qr.nspk.ru/…" and sbp_phone_number;
//   - nspk: qr_code (an image URL shaped like the document's) and nspk_url;
//   - with_qr_code: qr_code_link (an image URL) and account_number;
//   - to_quasi_ecom: none; the document shows no example, the payer goes
//     through deeplink_url.
//
// # Status moves and callbacks
//
// Payments leave "created" only when a test says so: [Server.Complete],
// [Server.Cancel], [Server.Refund] and [Server.Delete] set the status (any
// status from any other, no checks), bump updated_at and, when the payment
// has a callback_url, POST the callback there synchronously, returning what
// the receiver answered. [WithAutoComplete] completes every new payment
// after a delay. [Server.SetAmount] changes the sum of a payment created
// with is_allow_another_amount, without a callback.
//
// The callback is POST <callback_url> with Content-Type application/json and
// the body
//
//	{"id":10442449,"status":"completed","amount":"1500.00","method":"sbp_number","outter_id":"ORD-982134"}
//
// The document has no pay-in callback; this is the shape public integrations
// show: amount is the current sum as a 2-place decimal
// string (integrations see both numbers and strings), method is the type
// without its "to_" prefix, and outter_id is left out when empty. With
// [WithCallbackToken] it carries "Authorization: Bearer <token>", the
// provider's documented convention for payout callbacks. Callbacks are not
// retried. [Server.SendCallback] sends a hand-made body, and
// [Server.Callbacks] lists what was sent.
//
// # Faults
//
// [Server.NoCardsNext] (400 code 40005), [Server.NoCards40006Next] (the
// same text, code 40006), [Server.CreationFailedNext] (400 code "30002", a
// string as in the document) and [Server.ServerTimeoutNext] (500 code 50020
// after creating the payment) queue the provider's errors;
// [Server.FailNext], [Server.DropNext], [Server.DelayNext],
// [Server.TruncateNext] and [Server.GarbageNext] queue transport faults, and
// [Server.EchoNext] and [Server.EchoJSONNext] an answer that echoes the
// request, token included (a misconfigured proxy). All share one queue
// consumed by create requests, one each, in the order queued.
// [Server.FailGetNext], [Server.DropGetNext] and [Server.EchoGetNext] queue
// faults for reads.
//
// X-Request-Timeout (the document's note): whole or decimal seconds ("30",
// "0.5"), or a Go duration ("1500ms"); anything else is ignored. When a
// create delayed by [Server.DelayNext] would take longer than that timeout,
// the server answers 500 {"error": "Request timed out. The server took too
// long to respond.", "code": 50020} as the timeout elapses; the payment is
// created all the same. The header is recorded ([Request.Header] and the
// parsed [Request.RequestTimeout]).
//
// # Assertions
//
// [Server.Requests] and [Server.Count] tell what the server received (with
// Authorization removed); [Server.Payment] and [Server.Payments] what it
// holds; [Server.Reset] forgets requests and callbacks.
package royalpaytest
