// Package paykeeperpayin is the pay-in driver for PayKeeper: it puts a
// [paykeeper.Client] behind the portable [payin] API and registers the
// "paykeeper" scheme for [payin.Open].
//
//	import _ "github.com/paysdk/payments/payin/paykeeperpayin"
//
//	c, err := payin.Open(ctx, "paykeeper://?base_url=https://shop.server.paykeeper.ru&expiry_days=3")
//	// PAYKEEPER_USER, PAYKEEPER_PASSWORD; PAYKEEPER_SECRET for notifications
//
// A checkout is a PayKeeper invoice (the document's section 3): Create makes
// one with /change/invoice/preview/ and returns its payment link, Get reads
// it with /info/invoice/byid/, Refund returns the money of the payment that
// paid it with /change/payment/reverse/. Notifications are PayKeeper's POST
// informer, verified and confirmed by [paykeeper.NotificationHandler]. The
// document cited below is PayKeeper's JSON API document (its section and
// table numbers); the paykeeper package's documentation cites it line by
// line.
//
// # Opening
//
// Credentials: PAYKEEPER_USER and PAYKEEPER_PASSWORD (the personal cabinet's
// login, HTTP Basic on every request), or
// payments.OpenCredentials(paykeeper.Credentials{...}), or
// payments.OpenCredentials([Credentials]{...}) with the login and the
// secrets below together (for secrets that live in a secret manager, not
// the environment). The server is
// required: every merchant has its own cabinet server
// (https://name.server.paykeeper.ru, or a bank's white-label host; the
// document's introduction: "JSON-запросы выполняются на специальный
// сервер, на котором расположен PayKeeper"), so there is no default. The
// URL's parameters:
//
//	base_url     the cabinet, e.g. https://shop.server.paykeeper.ru (PAYKEEPER_URL also sets it; one of them is required)
//	expiry_days  invoices can be paid today and the next expiry_days-1 days (default: PayKeeper's own expiry)
//	form         "true": form mode (below); needs PAYKEEPER_FORM_SECRET
//
// Any other parameter is refused. The notification secret (the cabinet's
// informer_seed, "Секретное слово для подписи сообщений информера",
// section 5.1, item 5.1.4) is a credential: it comes from
// [Credentials].Secret, PAYKEEPER_SECRET or [Options.Secret], never from
// the URL. Open without it succeeds
// (Create, Get and Refund do not need it), and [Driver.Notifications] then
// refuses to build a handler.
//
// # Form mode: the cheapest pay-in
//
// With form=true (or [NewForm]) a checkout is PayKeeper's signed payment
// form instead of an invoice: Create signs the form ([paykeeper.FormSigner],
// sum, clientid, orderid, service_name, client_email, client_phone, sign)
// with the form's secret word (Credentials.FormSecret,
// PAYKEEPER_FORM_SECRET or Options.FormSecret, never the URL) and returns its link as PaymentURL,
// sending nothing: no token, no API call, nothing to lose or resend. The
// checkout's ID is then "form:" and its OrderRef (FormIDPrefix), since
// PayKeeper numbers nothing until the payer opens the form; follow it by its notification (OrderRef,
// ProviderID the payment id). The link is the form's fields as a query
// string of <server>/create/: PayKeeper's modules POST that form, and a GET
// is not confirmed by any source at hand (see paykeeper.FormSigner.URL).
//
// The cabinet login is optional in form mode. Without it Get and Refund are
// payments.ErrNotSupported and Notifications refuses to build a handler
// (every notification is confirmed through the API, which needs the
// login). With it they work on PayKeeper ids as in invoice mode; a form
// checkout's ID is refused (payments.ErrNotSupported), never taken for an
// invoice id, so refund a form payment by its payment id through As.
//
// # Money and methods
//
// Roubles only: an invoice's pay_amount ("Сумма заказа к оплате", table
// 3.4.1) is a rouble amount, "Число, разделитель дробной части – точка"
// (table 3.2), sent with two decimals. No request of the document chooses
// how the payer pays: the invoice's page offers every method the shop has,
// so the only method is payin.AnyMethod.
//
// # Resend safety
//
// Create is never resent: "Этот запрос создаёт по переданным параметрам
// оплаты счёт в базе данных" (section 3.4), each call a new invoice, and
// nothing lets PayKeeper recognise a repeat. Refund is never resent either:
// a refund request carries only the payment id and the amount (table 2.8.1),
// and "Запрос возвращает платеж полностью или частично" — twice refunds
// twice. Get and the reads inside Refund are reads: always safe.
package paykeeperpayin

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/internal/portable"
	"github.com/paysdk/payments/payin"
	"github.com/paysdk/payments/paykeeper"
)

// Scheme is the URL scheme this package registers; it is also the
// Provider of its checkouts, refunds and events.
const Scheme = "paykeeper"

// The environment variables the opener reads.
const (
	EnvUser     = "PAYKEEPER_USER"
	EnvPassword = "PAYKEEPER_PASSWORD"
	EnvURL      = "PAYKEEPER_URL"
	EnvSecret   = "PAYKEEPER_SECRET"
	// EnvFormSecret is the payment form's secret word, for form mode.
	EnvFormSecret = "PAYKEEPER_FORM_SECRET"
)

// MaxExpiryDays bounds Options.ExpiryDays: a year.
const MaxExpiryDays = 366

func init() { payin.Register(Scheme, open) }

// Options tune the driver. The zero value creates invoices with PayKeeper's
// own expiry and cannot serve notifications (no Secret).
type Options struct {
	// Secret is the cabinet's informer_seed, the secret word that signs
	// PayKeeper's notifications. Notifications needs it; nothing else does.
	// It never prints.
	Secret string
	// ExpiryDays, when positive, gives every invoice an expiry: it can be
	// paid today (Moscow time) and for the next ExpiryDays-1 days. The
	// document's expiry is a date, "не включительно" (table 3.4.1). An
	// invoice whose creation answer was lost then lapses, and shows in the
	// invoice history as expired. Zero leaves the expiry to PayKeeper; at
	// most MaxExpiryDays.
	ExpiryDays int
	// FormSecret is the payment form's secret word (form mode, NewForm);
	// not the informer_seed. It never prints.
	FormSecret string
}

// String describes the options without the secret.
func (o Options) String() string {
	return fmt.Sprintf("paykeeperpayin.Options{Secret: %s, ExpiryDays: %d, FormSecret: %s}", redacted(o.Secret), o.ExpiryDays, redacted(o.FormSecret))
}

// GoString is String.
func (o Options) GoString() string { return o.String() }

// Format prints String for every verb, so that no verb prints the secret.
func (o Options) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, o.String()) }

// LogValue leaves the secret out.
func (o Options) LogValue() slog.Value {
	return slog.GroupValue(slog.Bool("secret_set", o.Secret != ""), slog.Int("expiry_days", o.ExpiryDays), slog.Bool("form_secret_set", o.FormSecret != ""))
}

// Credentials are everything secret the driver needs, for
// payments.OpenCredentials when the secrets come from a secret manager
// rather than the environment:
//
//	payin.Open(ctx, "paykeeper://?base_url=https://shop.server.paykeeper.ru",
//		payments.OpenCredentials(paykeeperpayin.Credentials{
//			Cabinet: paykeeper.Credentials{User: user, Password: password},
//			Secret:  informerSeed,
//		}))
//
// A plain paykeeper.Credentials is still taken (the cabinet login only; the
// secrets then come from the environment). An empty Secret or FormSecret
// falls back to PAYKEEPER_SECRET or PAYKEEPER_FORM_SECRET; an empty Cabinet
// is refused, except in form mode, which can do without the login (Create
// only). Open sends nothing with them.
//
// Credentials never print the password or the secrets, whatever the fmt
// verb or slog handler.
type Credentials struct {
	// Cabinet is the personal cabinet's login (HTTP Basic on every request).
	Cabinet paykeeper.Credentials
	// Secret is the cabinet's informer_seed, which signs notifications
	// (Options.Secret).
	Secret string
	// FormSecret is the payment form's secret word, for form mode
	// (Options.FormSecret).
	FormSecret string
}

// String shows the cabinet's user only.
func (c Credentials) String() string {
	return fmt.Sprintf("paykeeperpayin.Credentials{Cabinet: %s, Secret: %s, FormSecret: %s}", c.Cabinet.String(), redacted(c.Secret), redacted(c.FormSecret))
}

// GoString is String.
func (c Credentials) GoString() string { return c.String() }

// Format prints String for every verb, so that no verb prints a secret.
func (c Credentials) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, c.String()) }

// LogValue shows the cabinet's user only.
func (c Credentials) LogValue() slog.Value {
	return slog.GroupValue(slog.Attr{Key: "cabinet", Value: c.Cabinet.LogValue()}, slog.Bool("secret_set", c.Secret != ""), slog.Bool("form_secret_set", c.FormSecret != ""))
}

// MarshalJSON is String as a JSON string, so that encoding/json prints no
// secret either.
func (c Credentials) MarshalJSON() ([]byte, error) { return json.Marshal(c.String()) }

func redacted(s string) string {
	if s == "" {
		return `""`
	}
	return "[REDACTED]"
}

// Driver is the PayKeeper pay-in driver. Make one with New, or open one with
// payin.Open. Safe for concurrent use. It never prints the secret.
type Driver struct {
	c    *paykeeper.Client // nil in form mode without the cabinet login
	form *paykeeper.FormSigner
	opts Options
}

// New puts c behind the portable API. It sends nothing. An ExpiryDays out of
// range is clamped to 0..MaxExpiryDays.
func New(c *paykeeper.Client, opts Options) *Driver {
	opts.ExpiryDays = max(0, min(opts.ExpiryDays, MaxExpiryDays))
	return &Driver{c: c, opts: opts}
}

// NewForm is a driver in form mode: Create signs PayKeeper's payment form
// for the server (https://name.server.paykeeper.ru) with opts.FormSecret
// and sends nothing. c, the cabinet client, may be nil: Get and Refund are
// then payments.ErrNotSupported and Notifications refuses (it confirms
// every notification through the API). A missing secret or a server URL
// that is not https is a *payments.ValidationError.
func NewForm(serverURL string, c *paykeeper.Client, opts Options) (*Driver, error) {
	if opts.FormSecret == "" {
		return nil, &payments.ValidationError{Field: EnvFormSecret, Reason: "form mode needs the payment form's secret word: " +
			"set the environment variable " + EnvFormSecret + ", Credentials.FormSecret or Options.FormSecret"}
	}
	signer, err := paykeeper.NewFormSigner(serverURL, opts.FormSecret)
	if err != nil {
		return nil, err
	}
	d := New(c, opts)
	d.form = signer
	return d, nil
}

// noCabinet is the error of Get and Refund in form mode without the login.
func noCabinet(op string) error {
	return &payments.APIError{Provider: Scheme, Op: op, Code: "no-cabinet-login",
		Message: "form mode without the cabinet login (" + EnvUser + ", " + EnvPassword + "): " + op +
			" needs PayKeeper's JSON API; the form checkout is followed by its notification",
		Category: payments.ErrNotSupported}
}

// String names the driver and its client, never the secret.
func (d *Driver) String() string {
	c := "no cabinet client"
	if d.c != nil {
		c = d.c.String()
	}
	if d.form != nil {
		c += ", " + d.form.String()
	}
	return "paykeeperpayin.Driver{" + c + ", " + d.opts.String() + "}"
}

// Format prints String for every verb.
func (d *Driver) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, d.String()) }

// LogValue describes the driver without its secrets.
func (d *Driver) LogValue() slog.Value {
	if d.c == nil {
		return slog.GroupValue(slog.String("client", "none"), slog.Any("form", d.form), slog.Any("options", d.opts))
	}
	return slog.GroupValue(slog.Any("client", d.c), slog.Any("form", d.form), slog.Any("options", d.opts))
}

func open(_ context.Context, cfg *payments.OpenConfig) (payin.Driver, error) {
	p := cfg.Params("base_url", "expiry_days", "form")
	var formMode bool
	switch p.String("form") {
	case "", "false":
	case "true":
		formMode = true
	default:
		p.Refuse("form", `"true" or "false"`)
	}
	o := Options{Secret: p.OptionalEnv(EnvSecret), FormSecret: p.OptionalEnv(EnvFormSecret)}
	var cred paykeeper.Credentials
	switch c := cfg.Credentials.(type) {
	case nil:
		// Form mode without the cabinet's login: Create only.
		if !formMode || p.OptionalEnv(EnvUser, EnvPassword) != "" {
			cred = paykeeper.Credentials{User: p.Env(EnvUser), Password: p.Env(EnvPassword)}
		}
	case paykeeper.Credentials:
		cred = c
	case Credentials:
		cred = c.Cabinet
		o.Secret = cmp.Or(c.Secret, o.Secret)
		o.FormSecret = cmp.Or(c.FormSecret, o.FormSecret)
	default:
		p.Refuse("credentials", fmt.Sprintf("paykeeper takes paykeeperpayin.Credentials or paykeeper.Credentials, not %T", c))
	}
	o.ExpiryDays = int(p.Int("expiry_days", 0, 1, MaxExpiryDays, fmt.Sprintf("a whole number of days, 1 to %d", MaxExpiryDays)))
	base := p.BaseURL("base_url", EnvURL)
	if formMode && base == "" {
		p.Refuse(EnvURL, "required in form mode: the form is signed for the server; "+
			"set the environment variable "+EnvURL+" or the URL parameter base_url")
	}
	if err := p.Err(); err != nil {
		return nil, err
	}
	if formMode {
		var c *paykeeper.Client
		if cred.User != "" || cred.Password != "" {
			var err error
			if c, err = paykeeper.New(cred, p.Options()...); err != nil {
				return nil, err
			}
		}
		d, err := NewForm(base, c, o)
		if err != nil {
			if c != nil {
				_ = c.Close()
			}
			return nil, err
		}
		return d, nil
	}
	c, err := paykeeper.New(cred, p.Options()...)
	var v *payments.ValidationError
	if base == "" && errors.As(err, &v) && v.Field == "WithBaseURL" {
		// No base URL from anywhere (a payments.WithBaseURL among the
		// client options would have done).
		return nil, &payments.ValidationError{Field: EnvURL, Reason: "required: PayKeeper has one server per merchant; " +
			"set the environment variable " + EnvURL + " or the URL parameter base_url to the cabinet, e.g. https://shop.server.paykeeper.ru"}
	}
	if err != nil {
		return nil, err
	}
	return New(c, o), nil
}

var caps = payin.Capabilities{
	Provider:       Scheme,
	Methods:        []payin.Method{payin.AnyMethod},
	Currencies:     []string{"RUB"},
	Refunds:        true,
	PartialRefunds: true,
	PaymentURL:     true,
	Requisites:     false,
}

// Capabilities: roubles, the invoice's payment page (whatever methods the
// shop has: AnyMethod only), refunds full and partial (section 2.8), no
// requisites. Constant; sends nothing.
//
// In form mode without the cabinet login there are no refunds.
func (d *Driver) Capabilities() payin.Capabilities {
	if d.c == nil {
		c := caps
		c.Refunds, c.PartialRefunds = false, false
		return c
	}
	return caps
}

func rub(a payments.Decimal) payments.Money { return payments.Money{Amount: a, Currency: "RUB"} }

// Create creates a PayKeeper invoice for the order (CreateInvoice: POST
// /change/invoice/preview/, section 3.4) and returns it as a pending
// Checkout: ID is the invoice id, PaymentURL the invoice_url PayKeeper
// answered (empty if the answer had none: the document's example shows only
// invoice_id and invoice), Raw the paykeeper.CreatedInvoice.
//
// The request maps to the invoice's fields: Amount to pay_amount (roubles,
// two decimals), OrderRef to orderid, Description to the service name,
// Customer to clientid, client_email and client_phone, ReturnURL to the
// service_name's user_result_callback (where the payer goes after paying).
// CallbackURL is not sent: PayKeeper posts notifications to the informer_url
// set once in the cabinet (section 5.1), whatever the invoice. Bank is not
// sent either (it is RoyalPay's). With Options.ExpiryDays the invoice gets
// an expiry.
//
// Resend safety: UNSAFE, and never resent. Each request creates a new
// invoice ("создаёт ... счёт в базе данных") and nothing in table 3.4.1 lets
// PayKeeper see a repeat. A lost or unreadable answer is a
// *payments.OutcomeUnknownError (payments.ErrOutcomeUnknown) carrying the
// OrderRef. The invoice it may have created cannot be found ("Счета с этим
// статусом не возвращаются в запросе истории счетов"), but its link reached
// nobody, so nobody can pay it: creating a new checkout for the order is
// safe (see paykeeper.Client.CreateInvoice).
func (d *Driver) Create(ctx context.Context, r payin.Request) (payin.Checkout, error) {
	if r.Amount.Currency != "RUB" {
		return payin.Checkout{}, &payments.ValidationError{Field: "amount", Reason: "paykeeper takes RUB only"}
	}
	if r.Method != payin.AnyMethod {
		return payin.Checkout{}, &payments.ValidationError{Field: "method", Reason: "paykeeper's invoice page offers the shop's methods; the API cannot pick " + string(r.Method)}
	}
	if d.form != nil {
		return d.createForm(r)
	}
	p := paykeeper.InvoiceParams{
		Amount:   r.Amount.Amount,
		ClientID: r.Customer.Name,
		OrderID:  r.OrderRef,
		Service:  paykeeper.ServiceName{Name: r.Description, UserResultCallback: r.ReturnURL},
		Email:    r.Customer.Email,
		Phone:    r.Customer.Phone,
	}
	if d.opts.ExpiryDays > 0 {
		p.Expiry = paykeeper.DateOf(time.Now().AddDate(0, 0, d.opts.ExpiryDays))
	}
	inv, err := d.c.CreateInvoice(ctx, p)
	if err != nil {
		return payin.Checkout{}, err
	}
	return payin.Checkout{Provider: Scheme, ID: inv.ID, OrderRef: r.OrderRef, Amount: r.Amount,
		State: payments.StatePending, PaymentURL: inv.URL, Raw: inv}, nil
}

// createForm is Create in form mode: the signed form's link, nothing sent.
// Amount to sum, OrderRef to orderid, Description to service_name, Customer
// to clientid, client_email and client_phone, ReturnURL to
// user_result_callback. ID is FormIDPrefix and the OrderRef; Raw the signed
// url.Values.
// Resend safety: it sends nothing; each call only signs again.
func (d *Driver) createForm(r payin.Request) (payin.Checkout, error) {
	f := paykeeper.Form{Amount: r.Amount.Amount, OrderID: r.OrderRef, ClientID: r.Customer.Name, ServiceName: r.Description,
		Email: r.Customer.Email, Phone: r.Customer.Phone, UserResultCallback: r.ReturnURL}
	v, err := d.form.Values(f)
	if err != nil {
		return payin.Checkout{}, err
	}
	return payin.Checkout{Provider: Scheme, ID: FormIDPrefix + r.OrderRef, OrderRef: r.OrderRef, Amount: r.Amount,
		State: payments.StatePending, PaymentURL: d.form.Action() + "?" + v.Encode(), Raw: v}, nil
}

// FormIDPrefix begins the ID of a form mode checkout, "form:<OrderRef>". An
// order ref of digits would otherwise pass for an invoice id, and Get or
// Refund would read or refund whatever invoice has that number.
const FormIDPrefix = "form:"

// notInvoice refuses a form checkout's ID in Get and Refund: PayKeeper
// numbers nothing until the payer pays the form.
func notInvoice(op, id string) error {
	if !strings.HasPrefix(id, FormIDPrefix) {
		return nil
	}
	return &payments.APIError{Provider: Scheme, Op: op, Code: "form-checkout",
		Message: "a form checkout has no PayKeeper id: follow it by its notification (ProviderID is the payment id) " +
			"and refund that payment through As", Category: payments.ErrNotSupported}
}

// invoiceState maps the invoice's status (table 3.2; created is the service
// status of a new invoice, section 3.4): created and sent are pending, paid
// succeeded, expired canceled (an invoice that lapsed or was revoked: no
// money moved). Any other status is StateUnknown.
func invoiceState(s paykeeper.InvoiceStatus) payments.State {
	switch s {
	case paykeeper.InvoiceCreated, paykeeper.InvoiceSent:
		return payments.StatePending
	case paykeeper.InvoicePaid:
		return payments.StateSucceeded
	case paykeeper.InvoiceExpired:
		return payments.StateCanceled
	}
	return payments.StateUnknown
}

// Get reads the invoice (GetInvoice: GET /info/invoice/byid/, section 3.1)
// and returns it as a Checkout: State from its status (created and sent
// pending, paid succeeded, expired canceled), Amount its pay_amount in RUB,
// OrderRef its orderid, Raw the paykeeper.Invoice (PaymentID is the payment
// that paid it). PaymentURL stays empty: the invoice object has no link;
// keep the one Create returned. An invoice stays paid after a refund: the
// refunds are the payment's (paykeeper.Client.Refunds through As).
//
// An id PayKeeper does not know ("Счёт не найден.") is payments.ErrNotFound;
// an id that is not digits is refused before sending. A read: always safe.
func (d *Driver) Get(ctx context.Context, id string) (payin.Checkout, error) {
	if err := notInvoice("get", id); err != nil {
		return payin.Checkout{}, err
	}
	if d.c == nil {
		return payin.Checkout{}, noCabinet("get")
	}
	inv, err := d.c.GetInvoice(ctx, id)
	if err != nil {
		return payin.Checkout{}, err
	}
	return payin.Checkout{Provider: Scheme, ID: inv.ID, OrderRef: inv.OrderID, Amount: rub(inv.Amount),
		State: invoiceState(inv.Status), Raw: inv}, nil
}

// Refund returns money of a paid invoice. PayKeeper refunds payments, not
// invoices ("Идентификатор платежа в системе PayKeeper", table 2.8.1), so
// Refund reads the invoice first (GetInvoice) for the payment that paid it
// (its paymentid), then asks RefundPayment (POST /change/payment/reverse/,
// section 2.8) for all that is left (Full: partial=false, no amount: "В
// случае полного возврата, сумма возврата не должна быть указана") or for
// Amount (partial=true). An invoice that is not paid is refused with an
// *payments.APIError matching payments.ErrInvalidRequest, and no refund is
// sent; an unknown invoice is payments.ErrNotFound.
//
// PayKeeper answers {"result":"success"} when the refund was initiated ("в
// случае, если возврат инициирован успешно"); Refund then reads the
// payment's refunds (section 2.7) for the one just made: the Refund's Amount
// and State (done refunded, started pending, failed failed) are that
// record's, and Raw the paykeeper.Refund. If that read fails the refund
// still happened: the result is nil with State pending, Amount the
// requested one (zero for Full) and Raw nil.
//
// Resend safety: UNSAFE, and never resent: the request carries nothing by
// which PayKeeper could recognise a repeat, and a partial refund sent twice
// refunds twice. A lost answer is a *payments.OutcomeUnknownError
// (payments.ErrOutcomeUnknown) carrying the payment id: read that payment's
// refunds (paykeeper.Client.Refunds through As) before asking again. A fail
// object (no refund rights, more than is left, a payment that cannot be
// refunded) is an *payments.APIError matching paykeeper.ErrRefused: nothing
// was refunded.
func (d *Driver) Refund(ctx context.Context, r payin.RefundRequest) (payin.Refund, error) {
	if err := notInvoice("refund", r.ID); err != nil {
		return payin.Refund{}, err
	}
	if d.c == nil {
		return payin.Refund{}, noCabinet("refund")
	}
	out := payin.Refund{Provider: Scheme, CheckoutID: r.ID, Amount: r.Amount}
	if r.Full {
		out.Amount = rub(payments.Decimal{})
	} else if r.Amount.Currency != "RUB" {
		return payin.Refund{}, &payments.ValidationError{Field: "amount", Reason: "paykeeper refunds RUB only"}
	}
	inv, err := d.c.GetInvoice(ctx, r.ID)
	if err != nil {
		return payin.Refund{}, err
	}
	if inv.PaymentID == "" {
		msg := fmt.Sprintf("invoice %s is %s, not paid: nothing to refund", inv.ID, inv.Status)
		if inv.Status == paykeeper.InvoicePaid {
			msg = fmt.Sprintf("invoice %s is paid but names no payment (paymentid): refund the payment through As", inv.ID)
		}
		return payin.Refund{}, &payments.APIError{Provider: Scheme, Op: "refund", Code: string(inv.Status), Message: msg,
			Category: payments.ErrInvalidRequest}
	}
	p := paykeeper.RefundParams{PaymentID: inv.PaymentID, Full: r.Full}
	if !r.Full {
		p.Amount = r.Amount.Amount
	}
	if err := d.c.RefundPayment(ctx, p); err != nil {
		return payin.Refund{}, err
	}
	out.State = payments.StatePending
	refunds, err := d.c.Refunds(ctx, inv.PaymentID)
	if err != nil {
		return out, nil // initiated; its record could not be read
	}
	if f, ok := latest(refunds, p); ok {
		out.Amount, out.State, out.Raw = rub(f.Amount), f.Status.State(), f
	}
	return out, nil
}

// latest picks the refund just made among a payment's refunds: the one
// with the highest refund_number, and for a partial refund of that amount.
func latest(refunds []paykeeper.Refund, p paykeeper.RefundParams) (paykeeper.Refund, bool) {
	var best paykeeper.Refund
	found := false
	for _, f := range refunds {
		if !p.Full && f.Amount.Cmp(p.Amount) != 0 {
			continue
		}
		if !found || f.Number > best.Number {
			best, found = f, true
		}
	}
	return best, found
}

// Notifications returns a *paykeeper.NotificationHandler for the
// informer_url set in the cabinet (informer_type post), with Secret the
// informer_seed (Options.Secret, or PAYKEEPER_SECRET when opened) and Client
// this driver's client: every notification is checked (form, then the key,
// md5(id+sum+clientid+orderid+secret)) and then confirmed through the API
// (GetPayment: same id, sum and order id, money taken) before handle sees
// it, since a valid key can be re-cut into another id and sum. Without a
// secret it refuses, with a *payments.ValidationError naming
// PAYKEEPER_SECRET.
//
// handle gets a payin.Event: Provider "paykeeper", ProviderID the payment
// id (not the invoice id: match events to checkouts by OrderRef), OrderRef
// the orderid, Amount the confirmed payment's amount in RUB, Raw the
// paykeeper.Notification (its Payment is what the API said). State is
// succeeded, or pending for a two-stage payment that is authorised but not
// captured (batch_date set: capture it with paykeeper.Client.CapturePayment
// through As). handle must check OrderRef and Amount against the merchant's
// own order, and be idempotent on ProviderID: PayKeeper repeats a
// notification until it is acknowledged. The handler answers "OK
// md5(id+secret)", the one reply PayKeeper accepts, only when handle returns
// nil; anything else makes PayKeeper deliver again (a payment never
// acknowledged ends up stuck; /change/payment/repeatcnt/ resends).
func (d *Driver) Notifications(handle payin.Handle) (http.Handler, error) {
	if handle == nil {
		return nil, &payments.ValidationError{Field: "handle", Reason: "required"}
	}
	if d.c == nil {
		return nil, &payments.ValidationError{Field: EnvUser, Reason: "form mode without the cabinet login: every notification is confirmed " +
			"through PayKeeper's API, so set " + EnvUser + " and " + EnvPassword}
	}
	if d.opts.Secret == "" {
		return nil, &payments.ValidationError{Field: EnvSecret, Reason: "the notification secret (the cabinet's informer_seed) is missing: " +
			"set the environment variable " + EnvSecret + ", Credentials.Secret or Options.Secret"}
	}
	h := &paykeeper.NotificationHandler{
		Secret: d.opts.Secret,
		Client: d.c,
		Handle: func(ctx context.Context, n paykeeper.Notification) error {
			return handle(ctx, event(n))
		},
	}
	if err := h.Validate(); err != nil {
		return nil, err
	}
	return h, nil
}

// event converts a confirmed notification.
func event(n paykeeper.Notification) payin.Event {
	amount := n.Sum
	if n.Payment != nil {
		amount = n.Payment.Amount
	}
	st := payments.StateSucceeded
	if n.Hold {
		st = payments.StatePending
	}
	return payin.Event{Provider: Scheme, ProviderID: n.ID, OrderRef: n.OrderID, State: st, Amount: rub(amount), Raw: n}
}

// As fills a **paykeeper.Client, for what the portable API leaves out
// (SendInvoice, RevokeInvoice, CapturePayment, Refunds, the registry).
// Sends nothing.
func (d *Driver) As(target any) bool { return portable.As(target, d.c) }

// Close closes the paykeeper client (its idle connections). Sends nothing.
func (d *Driver) Close() error {
	if d.c == nil {
		return nil
	}
	return d.c.Close()
}
