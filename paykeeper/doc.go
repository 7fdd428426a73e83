// Package paykeeper is a client for a merchant's PayKeeper personal cabinet
// JSON API: statistics, the payment registry, refunds (full and partial),
// invoices (create, send, list), settings and users, the xlsx export — and a
// handler for PayKeeper's POST payment notifications.
//
// # The server
//
// Every merchant has its own server (https://name.server.paykeeper.ru, or a
// bank's white-label host): give it with payments.WithBaseURL. The public
// demo cabinet is https://demo.paykeeper.ru with demo/demo. Every request
// carries HTTP Basic authentication; reads are GETs; changes are POSTs with
// a form body and the security token, which the client fetches from
// /info/settings/token/, shares between goroutines, renews after 24 hours or
// when the server rejects it (error_code 67), and never logs.
//
// # Money and dates
//
// Amounts are payments.Decimal, read from strings or numbers exactly.
// Dates are PayKeeper's "YYYY-MM-DD HH:MM:SS" in Europe/Moscow; the zone
// data ships inside the binary (time/tzdata), so a host without tzdata still
// reads 2011 dates (UTC+3) and 2014 dates (UTC+4) right. An invoice's
// expiry is a Date, the document's YYYY-MM-DD, exclusive.
//
// # Payments and their statuses
//
// obtained, stuck and success all mean the money was taken (stuck: the
// merchant did not acknowledge the notification). canceled and failed mean
// it was not. GetPayment of an id the cabinet does not know is
// payments.ErrNotFound.
//
// # Writes: done only when the answer says so
//
// A change (refund, capture, invoice creation and sending, revoke, the
// notification-counter reset, settings and users) returns nil only for the
// document's success answer: {"result":"success"}, or for an invoice
// invoice_id and invoice. The fail object {"result":"fail","msg":...}
// (section 7), a 4xx, and the cabinet's login page are definite refusals
// (ErrRefused, payments.ErrUnauthorized...): nothing was done. Anything else
// — {}, null, an HTML page, a 5xx, a 429 or 503 (the document says nothing
// of them), a lost answer — is payments.ErrOutcomeUnknown wrapping what came
// back, since PayKeeper may have acted. RefundPayment, CapturePayment,
// CreateInvoice and SendInvoice are never sent twice: look at Refunds,
// GetPayment or GetInvoice before trying again; a lost CreateInvoice cannot
// be looked up (a "created" invoice is not in the invoice list), but its
// link reached nobody, so create a new one. Each method's comment says
// whether a resend is safe and which line of the document makes it so. A
// full refund is asked for with RefundParams.Full; a zero amount alone is
// refused.
//
// Ids are digit strings of at most 20 digits and an invoice's free-text
// fields at most 255 characters: longer ones are refused before sending.
//
// # Secrets
//
// Neither the password, the Authorization value nor the security token
// appears in an error, a log line or a printed value (*Client, Credentials,
// OrganizationSettings, NewUser, UserUpdate, NotificationHandler, whatever
// the fmt verb or slog handler). A server that echoes the request into its
// answer has the client's secrets scrubbed out of every error built from it.
// Close releases the client's idle connections.
//
// # Notifications
//
// NotificationHandler receives PayKeeper's POST to the informer_url. Its
// signature, md5(id + sum + clientid + orderid + secret) with no separators,
// can be re-cut: a genuine notification for payment 301 of 100.00 is also a
// valid one for payment 30 of 1100.00. So the handler checks that id is a
// payment number and sum has exactly two decimals, then the key — forged
// notifications cost no API request — and then confirms the notification
// through the API (GetPayment: same id, sum and order id, money taken;
// concurrent notifications of one payment share one lookup) before the
// merchant's function sees it. It answers "OK <md5(id+secret)>" only when
// that function succeeds. PayKeeper repeats notifications until
// acknowledged, so the same payment can arrive more than once. Turning the
// confirmation off is the explicit SkipConfirmation field; a handler with
// neither a Client nor SkipConfirmation refuses every notification.
//
// # The payment form
//
// FormSigner signs PayKeeper's payment form (POST to <server>/create/:
// sum, clientid, orderid, service_name, client_email, client_phone, sign =
// sha256 of those and the form's secret word) with no cabinet login and no
// request; Values for a POST form, URL for a link, HTML for a minimal page.
//
// Beyond the document, from observed use by PayKeeper's own modules and
// integrators: CapturePayment, RevokeInvoice, SearchPayments, the payment
// form (FormSigner), ChargeBinding (recurring charges of a saved card),
// PostSaleReceipt and PrintReceipt (54-FZ receipts; never resent, like
// refunds), Receipts, GetPaymentDetails (advanced=true) and ErrorTotals.
package paykeeper
