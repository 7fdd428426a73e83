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
// reads 2011 dates (UTC+3) and 2014 dates (UTC+4) right.
//
// # Payments and their statuses
//
// obtained, stuck and success all mean the money was taken (stuck: the
// merchant did not acknowledge the notification). canceled and failed mean
// it was not. RefundPayment and CreateInvoice are never sent twice: a lost
// answer is payments.ErrOutcomeUnknown — look at Refunds or Invoices before
// trying again.
//
// # Notifications
//
// NotificationHandler receives PayKeeper's POST to the informer_url, checks
// the key signature, hands the notification to the merchant's function and
// answers "OK <md5(id+secret)>" only when that function succeeds. PayKeeper
// repeats notifications until acknowledged, so the same payment can arrive
// more than once.
//
// Beyond the document, from observed use by PayKeeper's own modules and
// integrators: CapturePayment, RevokeInvoice, SearchPayments.
package paykeeper
