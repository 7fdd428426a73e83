// Package royalpay is a client for RoyalPay (Royal Finance) in both
// directions. Pay-ins (API v2): create a payment that gives the payer
// requisites (an SBP phone, a card, an account, an NSPK QR code, a
// cross-border link...), read a payment, and receive the provider's status
// callbacks. Payouts (API v3, with a payout token of their own): create an
// SBP or card payout, look it up by outter_id, read the payout account, and
// receive the payout callbacks; see "Payouts (v3)" below.
//
// # Hosts
//
// No single public production host is known for this brand, so the base URL
// is a required option:
//
//	c, err := royalpay.New(royalpay.Credentials{Token: token},
//		payments.WithBaseURL("https://<host given by the provider>"))
//
// Hosts seen in the wild for the same API family (none is chosen here; ask
// the provider which is yours): royal-finance.org (v2 payments),
// page.royal-pay.cc (the documented base of the form API), royal-pay.org
// (payouts), api.royalpay.cc, and pay-dev.royalsfinance.app (the
// document's deeplinks; a test environment by its name).
//
// # The flow
//
//  1. CreatePayment with an OutterID of your own and a CallbackURL. Show the
//     payer the requisites or send them to a link (NSPKURL, DeeplinkURL,
//     QRCode, TPayLink). The payment is "created".
//  2. The provider posts callbacks to CallbackURL as the status changes.
//     CallbackHandler checks them (a bearer token or source addresses:
//     authenticated by default, see CallbackHandler.Validate), confirms each
//     with GetPayment (the API's answer is the truth, not the callback body)
//     within a budget that keeps forged callbacks from spending the
//     account's rate limit, and hands it over.
//  3. "completed" means the money arrived; "canceled" and "deleted" that it
//     will not; "refund" that it went back to the payer.
//
// The document says nothing of callback retries: a callback refused for any
// reason may not come again. Reconcile payments that stay "created" with
// GetPayment.
//
// # Errors and resends
//
// Bad input is a *payments.ValidationError before anything is sent
// (CreateParams.Validate). "No available cards" (40005, 40006) is
// ErrNoAvailableCards: nothing was created; try later or with another bank
// or type. A blocked client (50000) is payments.ErrForbidden. A create is
// never sent twice: the API has no idempotency key, so a lost answer, a 5xx,
// a 429 or 503 (the document does not say these leave a request alone), the
// provider's own timeout (50020) and any 2xx that is not the document's
// success answer are payments.ErrOutcomeUnknown carrying the OutterID; wait
// for the callback of that OutterID before creating another payment.
// ErrOutcomeUnknown means only that: when nothing was sent, or the answer
// carries one of the document's refusal codes, the error says so instead.
//
// # Payouts (v3)
//
// With Credentials.PayoutToken (a token of its own) and, when payouts have
// their own host, Credentials.PayoutBaseURL (the adapter of
// imfoxboy/Eight-Connect uses https://royal-pay.org):
//
//  1. CreatePayout (POST /api/v3/payouts/) with an OutterID of your own;
//     the amount is an integer of whole roubles (see PayoutParams for the
//     unit question). UNSAFE: never resent; a lost answer is
//     payments.ErrOutcomeUnknown, settled by PayoutByOutterID.
//  2. The provider posts payout callbacks (set up by its admins) with
//     "Authorization: Bearer {static_token}". PayoutCallbackHandler checks
//     the token, confirms with PayoutByOutterID and calls Handle; its 200
//     answer to a wait_confirm callback is what activates the payout
//     (observed behaviour), so Handle decides.
//  3. completed: paid; failed_to_send_payout and canceled: not paid.
//
// payout/royalpaypayout puts this behind the portable payout API.
//
// # Secrets and resources
//
// Credentials, Client and CallbackHandler never print their token, whatever
// the fmt verb or slog handler, and a server that echoes the request into
// its error body does not put the token into an error. Close a Client when
// done: it releases its idle connections.
package royalpay
