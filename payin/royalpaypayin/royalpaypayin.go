// Package royalpaypayin is the pay-in driver for RoyalPay (Royal Finance
// API v2): it puts a [royalpay.Client] behind the portable [payin] API and
// registers the "royalpay" scheme for [payin.Open].
//
//	import _ "github.com/paysdk/payments/payin/royalpaypayin"
//
//	c, err := payin.Open(ctx, "royalpay://?base_url=https://royal-finance.org")
//	// ROYALPAY_TOKEN; ROYALPAY_CALLBACK_TOKEN for notifications
//
// A checkout is a RoyalPay payment: Create makes one with POST
// /api/v2/payments/ and returns the requisites the payer transfers to (an
// SBP phone, a card, an account, an NSPK QR code), Get reads it with GET
// /api/v2/payments/{id}/, and Notifications receives RoyalPay's callbacks
// through [royalpay.CallbackHandler], which authenticates each and confirms
// it through the API. There are no refunds. "The document" below is
// RoyalPay's pay-in page ("Приём платежей — API документация"); the royalpay
// package's documentation cites it line by line.
//
// # Opening
//
// Credentials: ROYALPAY_TOKEN (the merchant's API token, sent as
// "Authorization: Token <token>"), or
// payments.OpenCredentials(royalpay.Credentials{...}). The server is
// required: the brand has no single production host (the document writes
// every request against "{{base_url}}"; the same API is seen at
// royal-finance.org, page.royal-pay.cc, api.royalpay.cc...: ask the provider
// which is yours), so there is no default. The URL's parameters:
//
//	base_url               the API host, e.g. https://royal-finance.org (ROYALPAY_URL also sets it; one of them is required)
//	default_method         the transfer type a checkout with payin.AnyMethod gets: sbp, card, qr or account (default: AnyMethod is refused)
//	callback_sources       comma-separated addresses or prefixes callbacks may come from (Options.AllowedSources)
//	allow_unauthenticated  true: accept callbacks with neither a bearer token nor a source list, relying on API confirmation alone
//	confirm_rate           confirmations of callbacks started per second (Options.ConfirmRate; default 1)
//
// Any other parameter is refused. The callback bearer token (the static
// "Authorization: Bearer {static_token}" the provider's admins configure:
// "Настройка callback выполняется на стороне админов", the provider's
// payout callback page; ask the admins to set it for pay-ins too) is a credential: it comes from ROYALPAY_CALLBACK_TOKEN or
// [Options.BearerToken], never from the URL. Open without any callback
// authentication succeeds (Create and Get do not need it), and
// [Driver.Notifications] then refuses to build a handler unless
// allow_unauthenticated (or Options.AllowUnauthenticated) says so
// explicitly.
//
// # Money and methods
//
// Roubles only. The request has no currency: sum is "Сумма платежа" in the
// payment's currency, which follows geo ("По умолчанию: Россия"), and the
// answer's currency is "Рубль" in the document's example. This driver never
// sends geo, so every payment it creates is Russian and in roubles; a
// payment whose currency is not roubles (made through As with another geo)
// cannot be read through it (see [Driver.Get]).
//
// The document's type is required and has no default, so the payer's
// method is the merchant's choice: SBP is to_sbp_number, Card
// to_card_number, QR nspk and Account to_account_number (see
// [Driver.Create]). payin.AnyMethod is refused unless Options.DefaultMethod
// (default_method) names the type to use.
//
// # Resend safety
//
// Create is never resent: the document's parameters ("Параметры запроса")
// have no idempotency key and say nothing of a repeated outter_id, so a
// second POST may create a second payment. Get is a read: always safe.
// Refund is not supported: the document has no refund request (the status
// "refund", "Платёж возвращён", is set by the provider).
package royalpaypayin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/internal/portable"
	"github.com/paysdk/payments/payin"
	"github.com/paysdk/payments/royalpay"
)

// Scheme is the URL scheme this package registers; it is also the
// Provider of its checkouts and events.
const Scheme = "royalpay"

// The environment variables the opener reads.
const (
	EnvToken         = "ROYALPAY_TOKEN"
	EnvURL           = "ROYALPAY_URL"
	EnvCallbackToken = "ROYALPAY_CALLBACK_TOKEN"
)

func init() { payin.Register(Scheme, open) }

// Options tune the driver. The zero value refuses payin.AnyMethod and
// cannot serve notifications (no callback authentication).
type Options struct {
	// BearerToken is the static token RoyalPay's callbacks carry as
	// "Authorization: Bearer <token>" (set by the provider's admins; the
	// document's convention for callbacks). Checked in constant time. It
	// never prints.
	BearerToken string
	// AllowedSources, when set, are the only addresses callbacks are
	// accepted from (the connection's remote address: put no proxy in
	// front). One integrator allowlists 134.209.192.8; ask the provider.
	AllowedSources []netip.Prefix
	// AllowUnauthenticated accepts callbacks with neither BearerToken nor
	// AllowedSources, relying on confirmation through the API alone (which
	// this driver always does). It must be set explicitly.
	AllowUnauthenticated bool
	// Known, when set, is asked before any API call whether a callback is
	// for a checkout the merchant made: checkoutID is the callback's payment
	// id (a Checkout.ID), orderRef its outter_id ("" when it carries none).
	// Answer true for an id you stored from Create, or, after a Create that
	// ended in payments.ErrOutcomeUnknown (no id), for an orderRef of yours
	// without an id yet. false refuses the callback (400) without spending
	// the confirmation budget; an error answers 503.
	Known func(ctx context.Context, checkoutID, orderRef string) (bool, error)
	// ConfirmRate caps the confirmations (GetPayment calls) started per
	// second, and MaxConfirmations those running at once: every
	// confirmation spends the account's rate limit, which Create shares.
	// 0 means 1 for both (royalpay.CallbackHandler).
	ConfirmRate      float64
	MaxConfirmations int
	// DefaultMethod is the method a request with payin.AnyMethod gets (SBP,
	// Card, QR or Account). Empty refuses AnyMethod: the document's type is
	// required and has no default.
	DefaultMethod payin.Method
}

// String describes the options without the bearer token.
func (o Options) String() string {
	token := `""`
	if o.BearerToken != "" {
		token = "[REDACTED]"
	}
	return fmt.Sprintf("royalpaypayin.Options{BearerToken: %s, AllowedSources: %v, AllowUnauthenticated: %t, Known: %t, ConfirmRate: %g, MaxConfirmations: %d, DefaultMethod: %q}",
		token, o.AllowedSources, o.AllowUnauthenticated, o.Known != nil, o.ConfirmRate, o.MaxConfirmations, string(o.DefaultMethod))
}

// GoString is String.
func (o Options) GoString() string { return o.String() }

// Format prints String for every verb, so that no verb prints the token.
func (o Options) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, o.String()) }

// LogValue leaves the token out.
func (o Options) LogValue() slog.Value { return slog.StringValue(o.String()) }

// Driver is the RoyalPay pay-in driver. Make one with New, or open one with
// payin.Open. Safe for concurrent use. It never prints a token.
type Driver struct {
	c    *royalpay.Client
	opts Options
}

// New puts c behind the portable API. It sends nothing and checks nothing:
// a bad DefaultMethod is refused by Create, bad callback options by
// Notifications.
func New(c *royalpay.Client, opts Options) *Driver {
	opts.AllowedSources = append([]netip.Prefix(nil), opts.AllowedSources...)
	return &Driver{c: c, opts: opts}
}

// String names the driver and its client, never a token.
func (d *Driver) String() string {
	return "royalpaypayin.Driver{" + d.c.String() + ", " + d.opts.String() + "}"
}

// Format prints String for every verb.
func (d *Driver) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, d.String()) }

// LogValue describes the driver without its secrets.
func (d *Driver) LogValue() slog.Value {
	return slog.GroupValue(slog.Any("client", d.c), slog.Any("options", d.opts))
}

func open(_ context.Context, cfg *payments.OpenConfig) (payin.Driver, error) {
	p := cfg.Params("base_url", "default_method", "callback_sources", "allow_unauthenticated", "confirm_rate")
	cred := payments.ReadCredentials(p, Scheme, func() royalpay.Credentials {
		return royalpay.Credentials{Token: p.Env(EnvToken)}
	})
	o := Options{BearerToken: p.OptionalEnv(EnvCallbackToken), DefaultMethod: payin.Method(p.String("default_method"))}
	if _, ok := types[o.DefaultMethod]; !ok && o.DefaultMethod != "" {
		p.Refuse("default_method", "one of sbp, card, qr, account")
	}
	if v := p.String("callback_sources"); v != "" {
		for _, s := range strings.Split(v, ",") {
			pr, err := parsePrefix(strings.TrimSpace(s))
			if err != nil {
				p.Refuse("callback_sources", "comma-separated IP addresses or prefixes (203.0.113.7, 203.0.113.0/24)")
			}
			o.AllowedSources = append(o.AllowedSources, pr)
		}
	}
	o.AllowUnauthenticated = p.Bool("allow_unauthenticated", false)
	o.ConfirmRate = p.Rate("confirm_rate", "a positive number of confirmations per second")
	base := p.BaseURL("base_url", EnvURL)
	if err := p.Err(); err != nil {
		return nil, err
	}
	c, err := royalpay.New(cred, p.Options()...)
	var v *payments.ValidationError
	if base == "" && errors.As(err, &v) && v.Field == "WithBaseURL" && strings.Contains(v.Reason, "no default base URL") {
		// No base URL from anywhere (a payments.WithBaseURL among the
		// client options would have done).
		return nil, &payments.ValidationError{Field: EnvURL, Reason: "required: RoyalPay has no single production host (the document writes {{base_url}}; " +
			"ask the provider which is yours); set the environment variable " + EnvURL + " or the URL parameter base_url, e.g. https://royal-finance.org"}
	}
	if err != nil {
		return nil, err
	}
	return New(c, o), nil
}

// parsePrefix reads "203.0.113.7" (one address) or "203.0.113.0/24".
func parsePrefix(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		return p.Masked(), err
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// types maps the portable methods to the document's transfer types.
var types = map[payin.Method]royalpay.TransferType{
	payin.SBP:     royalpay.TypeSBP,     // "to_sbp_number": example 1, an SBP phone and a bank
	payin.Card:    royalpay.TypeCard,    // "to_card_number": example 2, a card number
	payin.QR:      royalpay.TypeNSPK,    // "nspk": example 10, "NSPK (QR-код)", qr_code
	payin.Account: royalpay.TypeAccount, // "to_account_number": example 6, account_number
}

var caps = payin.Capabilities{
	Provider:   Scheme,
	Methods:    []payin.Method{payin.SBP, payin.Card, payin.QR, payin.Account},
	Currencies: []string{"RUB"},
	Refunds:    false,
	PaymentURL: false,
	Requisites: true,
}

// Capabilities: roubles; SBP, Card, QR and Account (AnyMethod only with
// Options.DefaultMethod); requisites on every checkout; no refunds (the
// document has no refund request). PaymentURL is false: a Checkout carries
// one when the answer has a link (the document's example answer has
// deeplink_url), but the document allows null ("deeplink_url string /
// null"), so it is not promised. Constant; sends nothing.
func (d *Driver) Capabilities() payin.Capabilities { return caps }

// rub returns a payment's sum as Money. The document names the currency in
// words ("Валюта платежа. Например: \"Рубль\""); a payment without one is
// in roubles (geo "По умолчанию: Россия").
func rub(op string, p royalpay.Payment) (payments.Money, error) {
	switch strings.ToLower(strings.TrimSpace(p.Currency)) {
	case "", "рубль", "рубли", "руб", "руб.", "rub", "rur":
		return payments.Money{Amount: p.Sum, Currency: "RUB"}, nil
	}
	return payments.Money{}, &payments.APIError{Provider: Scheme, Op: op, Code: p.Currency, Category: payments.ErrNotSupported,
		Message: fmt.Sprintf("payment %d is in %q, not roubles: this driver reads rouble payments only; read it through As", p.ID, p.Currency)}
}

// checkout converts a payment the API returned.
func checkout(op string, p royalpay.Payment) (payin.Checkout, error) {
	amount, err := rub(op, p)
	if err != nil {
		return payin.Checkout{}, err
	}
	co := payin.Checkout{Provider: Scheme, ID: strconv.FormatInt(p.ID, 10), OrderRef: orderRef(p), Amount: amount,
		State: p.Status.State(), PaymentURL: first(p.NSPKURL, p.DeeplinkURL, p.TPayLink), Raw: p}
	r := payin.Requisites{
		Card:     p.CardNumber,
		Phone:    p.SBPPhoneNumber,
		Account:  p.AccountNumber,
		Bank:     first(p.BankName, p.Bank),
		Holder:   p.FullName,
		QR:       first(p.QRCode, p.QRCodeLink),
		Deeplink: first(p.DeeplinkURL, p.NSPKURL),
	}
	if r != (payin.Requisites{}) {
		co.Requisites = &r
	}
	return co, nil
}

func orderRef(p royalpay.Payment) string { return first(p.OutterID, p.OutterIDFromForm) }

func first(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// Create creates a RoyalPay payment for the order (CreatePayment: POST
// /api/v2/payments/, the document's "Метод запроса") and returns it as a
// Checkout: ID is the payment's id (a decimal string), State pending (the
// payment starts "created", "Заявка создана, ожидает оплаты"), Amount its
// sum in RUB, Raw the royalpay.Payment.
//
// Requisites are what the answer hands out for the type: Card its
// card_number, Phone its sbp_phone_number, Account its account_number, Bank
// its russified_name (or bank), Holder its full_name ("Полное имя создателя
// реквизита"), QR its qr_code (or qr_code_link), Deeplink its deeplink_url
// (or nspk_url). PaymentURL is the first link the answer has of nspk_url
// ("Прямая ссылка НСПК на оплату"), deeplink_url and tpay_link; it is empty
// when the answer has none. redirect_url is not used: it is where the payer
// goes after paying ("URL для перенаправления пользователя после оплаты").
//
// The request maps to the document's parameters: Amount to sum (roubles,
// sent as a JSON number), Method to type (SBP to_sbp_number, Card
// to_card_number, QR nspk, Account to_account_number; AnyMethod to
// Options.DefaultMethod's type, refused when unset), Bank to bank ("Sber,
// Tinkoff, Alfa, Ozon, Vtb и т.д."), OrderRef to outter_id ("Внешний ID
// вашей системы"), CallbackURL to callback_url (where the payment's
// callbacks go: mount Notifications there), ReturnURL to redirect_url
// (where the payer goes after paying: the answer's "URL для перенаправления
// пользователя после оплаты"; the adapter of imfoxboy/Eight-Connect sends
// it on /api/v1/payments/, and that the v2 create reads it is unconfirmed:
// see royalpay.CreateParams.RedirectURL), and
// the Customer to client_id ("ID клиента"): the first of Email, Phone and
// Name that is set. Description is not sent: the request has no such
// field. geo is not sent (Russia, the document's default).
//
// Refused before sending, with a *payments.ValidationError: a currency
// other than RUB, AnyMethod without a default, a method without a type, and
// what royalpay.CreateParams.Validate refuses (a Bank, client id or
// OrderRef with spaces at its ends, over 255 bytes...).
//
// Resend safety: UNSAFE, and never resent. The document has no idempotency
// key and says nothing of a repeated outter_id. A lost or unreadable answer,
// a 5xx, a 429 or 503, and the provider's timeout 50020 ("Если запрос
// обрабатывается дольше установленного лимита (X-Request-Timeout)...") are
// a *payments.OutcomeUnknownError (payments.ErrOutcomeUnknown) carrying the
// OrderRef: the payment may exist. Wait for the callback of that outter_id
// (Options.Known should accept it) before creating another checkout for
// the order. The document's refusals are what they are, nothing created:
// 40005 "No available cards." is royalpay.ErrNoAvailableCards (try later,
// or another Bank or Method), 30002 royalpay.ErrCreationFailed, 50000
// royalpay.ErrClientBlocked. An answer whose currency is not roubles
// (not expected: geo is not sent) is an error matching
// payments.ErrNotSupported naming the payment: its requisites went to
// nobody, so nobody can pay it.
func (d *Driver) Create(ctx context.Context, r payin.Request) (payin.Checkout, error) {
	if r.Amount.Currency != "RUB" {
		return payin.Checkout{}, &payments.ValidationError{Field: "amount", Reason: "royalpay takes RUB only"}
	}
	m := r.Method
	if m == payin.AnyMethod {
		if d.opts.DefaultMethod == payin.AnyMethod {
			return payin.Checkout{}, &payments.ValidationError{Field: "method", Reason: "royalpay needs a transfer type (the document's type is required, with no default): " +
				"choose SBP, Card, QR or Account, or set Options.DefaultMethod (URL parameter default_method)"}
		}
		m = d.opts.DefaultMethod
	}
	t, ok := types[m]
	if !ok {
		return payin.Checkout{}, &payments.ValidationError{Field: "method", Reason: fmt.Sprintf("royalpay does not offer %q: SBP, Card, QR or Account", string(m))}
	}
	p, err := d.c.CreatePayment(ctx, royalpay.CreateParams{
		Sum:         r.Amount.Amount,
		Type:        t,
		Bank:        r.Bank,
		ClientID:    first(r.Customer.Email, r.Customer.Phone, r.Customer.Name),
		OutterID:    r.OrderRef,
		CallbackURL: r.CallbackURL,
		RedirectURL: r.ReturnURL,
	})
	if err != nil {
		return payin.Checkout{}, err
	}
	co, err := checkout("create", p)
	if err != nil {
		// A payment was made in another currency than asked: nobody has its
		// requisites, so nobody can pay it.
		return payin.Checkout{}, fmt.Errorf("royalpay create: payment %d was created but not handed out: %w", p.ID, err)
	}
	if co.OrderRef == "" {
		co.OrderRef = r.OrderRef
	}
	return co, nil
}

// Get reads the payment (GetPayment: GET /api/v2/payments/{id}/, the
// request integrators use to confirm callbacks; the document does not
// describe it) and returns it as a Checkout built as Create's: State from
// its status (created pending, completed succeeded, canceled and deleted
// canceled, refund refunded; any other StateUnknown), Amount its current sum
// in RUB, OrderRef its outter_id, the requisites and link it carries, Raw
// the royalpay.Payment. A payment whose currency is not roubles is an
// *payments.APIError matching payments.ErrNotSupported: read it through As.
//
// id must be a payment id as Create returns it, a positive decimal integer
// without leading zeros; anything else is a *payments.ValidationError,
// refused before sending. An id the API does not know (404, in both forms
// of the path when the client has not yet learnt which one its host
// routes: see royalpay.Client.GetPayment) is payments.ErrNotFound. A read:
// always safe, retried by the client.
func (d *Driver) Get(ctx context.Context, id string) (payin.Checkout, error) {
	n, err := parseID(id)
	if err != nil {
		return payin.Checkout{}, err
	}
	p, err := d.c.GetPayment(ctx, n)
	if err != nil {
		return payin.Checkout{}, err
	}
	return checkout("get", p)
}

// parseID reads a payment id: a positive decimal integer, canonical.
func parseID(id string) (int64, error) {
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil || n <= 0 || strconv.FormatInt(n, 10) != id {
		return 0, &payments.ValidationError{Field: "id", Reason: "a RoyalPay payment id: a positive decimal integer without leading zeros"}
	}
	return n, nil
}

// Refund answers payments.ErrNotSupported and sends nothing: the document
// has no refund request (its statuses include "refund", "Платёж возвращён",
// but the provider sets it; integrators refund through a manual appeal to
// the provider).
func (d *Driver) Refund(context.Context, payin.RefundRequest) (payin.Refund, error) {
	return payin.Refund{}, fmt.Errorf("royalpay refund: the API has no refund request: %w", payments.ErrNotSupported)
}

// Notifications returns the handler to mount at the CallbackURL given to
// Create: a *royalpay.CallbackHandler with Client this driver's client
// (confirmation always on), the authentication of the Options
// (BearerToken, AllowedSources, AllowUnauthenticated), Known,
// ConfirmRate and MaxConfirmations. For each callback it:
//
//  1. checks the source and "Authorization: Bearer <token>" (401 or 403
//     when wrong), reads the body (at most 64 KiB);
//  2. asks Known, when set, before any API call (400 for a payment the
//     merchant never made);
//  3. confirms the payment with GetPayment within the confirmation budget
//     (503 with Retry-After when it is spent; 400 for an id the API does
//     not know or an outter_id the API disagrees with);
//  4. refuses, with 400 and cause payin.ErrNotConfirmed, a callback whose
//     status is not the API's: a forgery (a "completed" for an unpaid
//     payment), or a stale callback, whose successor carries the status the
//     API has now;
//  5. calls handle, and answers 200 {"ok":true} when it returns nil, 500
//     otherwise.
//
// handle gets a payin.Event: Provider "royalpay", ProviderID and CheckoutID
// the payment id, OrderRef its outter_id, State and Amount (RUB) the
// API-confirmed payment's, never the callback body's (the callback's
// amount is not compared: its unit is not documented). Raw is the
// royalpay.Event (its Payment is what the API said). A confirmed payment
// not in roubles answers 500 and never reaches handle.
//
// Resend safety: the document says nothing of callback retries (only
// "callback_url — URL для отправки коллбеков"): a callback refused for any
// reason may never come again. Reconcile checkouts that stay pending with
// Get. The same payment may be notified more than once: handle must be
// idempotent on ProviderID and State.
//
// Without BearerToken, AllowedSources or AllowUnauthenticated it refuses
// to build, with a *payments.ValidationError naming ROYALPAY_CALLBACK_TOKEN;
// other bad options are refused by royalpay.CallbackHandler.Validate.
func (d *Driver) Notifications(handle payin.Handle) (http.Handler, error) {
	if handle == nil {
		return nil, &payments.ValidationError{Field: "handle", Reason: "required"}
	}
	o := d.opts
	if o.BearerToken == "" && len(o.AllowedSources) == 0 && !o.AllowUnauthenticated {
		return nil, &payments.ValidationError{Field: EnvCallbackToken, Reason: "no callback authentication: set the environment variable " + EnvCallbackToken +
			" (or Options.BearerToken) to the bearer token the provider's admins configure, or Options.AllowedSources (URL parameter callback_sources), " +
			"or set Options.AllowUnauthenticated (allow_unauthenticated=true) to rely on confirmation through the API alone"}
	}
	h := &royalpay.CallbackHandler{
		Client:               d.c,
		BearerToken:          o.BearerToken,
		AllowedSources:       o.AllowedSources,
		AllowUnauthenticated: o.AllowUnauthenticated,
		ConfirmRate:          o.ConfirmRate,
		MaxConfirmations:     o.MaxConfirmations,
		Handle: func(ctx context.Context, e royalpay.Event) error {
			ev, err := event(e)
			if err != nil {
				return err
			}
			return handle(ctx, ev)
		},
	}
	if known := o.Known; known != nil {
		h.Known = func(ctx context.Context, id int64, outterID string) (bool, error) {
			return known(ctx, strconv.FormatInt(id, 10), outterID)
		}
	}
	if err := h.Validate(); err != nil {
		return nil, err
	}
	return &notifier{h: h}, nil
}

// notConfirmed is a callback whose claim the API does not bear out.
type notConfirmed struct{ msg string }

func (e *notConfirmed) Error() string { return e.msg }
func (e *notConfirmed) Unwrap() error { return payin.ErrNotConfirmed }

// event converts a confirmed callback, or refuses one the API contradicts.
func event(e royalpay.Event) (payin.Event, error) {
	p := e.Payment
	if p == nil { // never: confirmation is always on
		return payin.Event{}, &notConfirmed{msg: fmt.Sprintf("royalpay callback for payment %d: not confirmed through the API", e.Callback.ID)}
	}
	if p.Status != e.Callback.Status {
		return payin.Event{}, &notConfirmed{msg: fmt.Sprintf("royalpay callback for payment %d says %q, the API says %q", p.ID, e.Callback.Status, p.Status)}
	}
	amount, err := rub("callback", *p)
	if err != nil {
		return payin.Event{}, err
	}
	id := strconv.FormatInt(p.ID, 10)
	return payin.Event{Provider: Scheme, ProviderID: id, CheckoutID: id, OrderRef: orderRef(*p),
		State: p.Status.State(), Amount: amount, Raw: e}, nil
}

// notifier serves a royalpay.CallbackHandler, answering a callback the API
// contradicts 400 rather than the handler's 500 for a failing Handle.
type notifier struct{ h *royalpay.CallbackHandler }

func (n *notifier) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	_, err := n.h.HandleCallback(r)
	if err == nil {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"ok":true}` + "\n"))
		return
	}
	status := http.StatusInternalServerError
	var ce *royalpay.CallbackError
	if errors.As(err, &ce) {
		status = ce.Status
		if ce.RetryAfter > 0 {
			w.Header().Set("Retry-After", strconv.FormatInt(int64((ce.RetryAfter+time.Second-1)/time.Second), 10))
		}
	}
	var nc *notConfirmed
	if errors.As(err, &nc) {
		status = http.StatusBadRequest
	}
	http.Error(w, http.StatusText(status), status)
}

// String describes the handler without its token.
func (n *notifier) String() string { return "royalpaypayin.notifier{" + n.h.String() + "}" }

// Format prints String for every verb.
func (n *notifier) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, n.String()) }

// As fills a **royalpay.Client, for what the portable API leaves out (the
// other transfer types, geo, is_intrabank_transfer, X-Request-Timeout, the
// payment's merchant detail). Sends nothing.
func (d *Driver) As(target any) bool { return portable.As(target, d.c) }

// Close closes the royalpay client (its idle connections); later calls fail
// before sending. Sends nothing.
func (d *Driver) Close() error { return d.c.Close() }
