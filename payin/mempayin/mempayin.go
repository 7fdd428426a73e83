// Package mempayin is an in-memory pay-in driver for merchants' tests, in
// the way of gocloud.dev's memblob: the portable [payin] API with the
// provider's checkouts held in memory, its payer played by the test, and
// its notifications signed and delivered to the merchant's handler. It
// registers the "mem" scheme for [payin.Open]:
//
//	import _ "github.com/paysdk/payments/payin/mempayin"
//
//	c, err := payin.Open(ctx, "mem://")
//	h, err := payin.NewHandler(handle, c) // serves "/<prefix>/mem"
//	co, err := c.Create(ctx, payin.Request{OrderRef: "ORD-1", Amount: payments.MustMoney("1500.00", "RUB")})
//	var d *mempayin.Driver
//	c.As(&d)
//	err = d.Pay(ctx, co.ID) // the payer pays; handle gets the Event
//
// Nothing leaves the process unless the test asks ([Driver.Notify] posts to
// a URL it gives). Each Open (and each [New]) is a fresh, empty provider.
//
// # Opening
//
// No credentials: a payments.OpenCredentials value is refused. The URL's
// parameters:
//
//	provider  the provider name in Capabilities, Checkouts and Events, and the last path element payin.NewHandler routes to it (default "mem")
//
// Of the client options (payments.OpenClientOptions, or New's), the driver
// honours payments.WithLimiter, WithRateLimit and WithTestTiming (one token
// per simulated request); the others have nothing to act on and are
// accepted and ignored.
//
// # Notifications
//
// A notification is a POST whose body is a JSON [Notification] and whose
// X-Mem-Signature header is the hex HMAC-SHA256 of the body under the
// driver's secret (Options.Secret, random by default). The handler that
// Notifications makes refuses a body over 64 KiB (413), a missing or wrong
// signature (403), and a notification the provider's records do not bear
// out (400, payin.ErrNotConfirmed: another state or amount than the
// checkout has); it calls the merchant's Handle once per delivery and
// answers 200 only when Handle succeeded (500 otherwise, and the provider
// would deliver again).
//
// # Scripting outcomes
//
//   - [Driver.Pay] and [Driver.Cancel]: the payer pays the checkout in full,
//     or it expires unpaid; the notification goes to every handler made
//     from the driver, or to the URL [Driver.SetNotifyURL] gave.
//   - [Driver.Notify] and [Driver.NewNotification]: the notification of a
//     checkout, posted to a URL or built as a request for a handler.
//   - [Driver.RefuseNext]: the next Creates or Refunds are refused.
//   - [Driver.LoseAnswers]: the next Creates or Refunds are carried out and
//     their answers lost (payments.ErrOutcomeUnknown, never resent).
package mempayin

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/internal/config"
	"github.com/paysdk/payments/internal/portable"
	"github.com/paysdk/payments/payin"
)

// Scheme is the URL scheme this package registers.
const Scheme = "mem"

// SignatureHeader carries a notification's signature: the hex HMAC-SHA256
// of the body under the driver's secret.
const SignatureHeader = "X-Mem-Signature"

// MaxNotificationBytes is the largest notification body the handler reads.
const MaxNotificationBytes = 64 << 10

// ErrClosed is the error of every call to a closed driver (the scripting and
// inspection methods keep working).
var ErrClosed = errors.New("mempayin: driver closed")

func init() { payin.Register(Scheme, open) }

// Options shape the in-memory provider. The zero value is a provider named
// "mem" taking roubles by every method, with full and partial refunds and a
// payment page per checkout.
type Options struct {
	// Capabilities are what the driver reports and the portable client
	// checks requests against. A zero value takes the defaults: Provider
	// "mem", every Method, Currencies ["RUB"], Refunds, PartialRefunds and
	// PaymentURL true, Requisites false. A non-zero value is used as given
	// (an empty Provider still becomes "mem"): set Refunds false to test
	// payments.ErrNotSupported, Requisites true to get requisites.
	Capabilities payin.Capabilities
	// Secret signs notifications (HMAC-SHA256); 32 random bytes when empty.
	Secret []byte
}

// String shows the options with the secret left out.
func (o Options) String() string {
	secret := "random"
	if len(o.Secret) > 0 {
		secret = "set"
	}
	return fmt.Sprintf("mempayin.Options{Capabilities:%+v Secret:%s}", o.Capabilities, secret)
}

// Format prints String for every verb (%#v included): the secret stays out
// of formatted output.
func (o Options) Format(f fmt.State, _ rune) { io.WriteString(f, o.String()) }

// defaultCaps are the capabilities of the zero Options.
var defaultCaps = payin.Capabilities{Methods: []payin.Method{payin.Card, payin.SBP, payin.QR, payin.Account},
	Currencies: []string{"RUB"}, Refunds: true, PartialRefunds: true, PaymentURL: true}

// Notification is the body of the in-memory provider's notification, and
// an Event's Raw.
type Notification struct {
	// ID is the checkout's id: the payment is the checkout.
	ID       string `json:"id"`
	OrderRef string `json:"order_ref"`
	// Amount is the amount in the currency's decimal form ("1500.00").
	Amount   string `json:"amount"`
	Currency string `json:"currency"`
	// State is a payments.State's name ("succeeded", "canceled").
	State string `json:"state"`
}

// Driver is the in-memory pay-in provider and its driver. Make one with New
// or payin.Open(ctx, "mem://"); reach it under a *payin.Client with
// `var d *mempayin.Driver; c.As(&d)`. Safe for concurrent use.
type Driver struct {
	caps   payin.Capabilities
	lim    config.Limiter // nil: no limiter
	secret []byte

	mu         sync.Mutex
	checkouts  map[string]*checkout
	seq        int
	refuseNext []error
	lose       int
	requests   int
	closed     bool
	handlers   []http.Handler
	notifyURL  string
	deliveries []Delivery
}

type checkout struct {
	co       payin.Checkout
	refunded payments.Money
}

// New makes a fresh in-memory provider. opts are client options as for a
// real provider client; the limiter ones are honoured (see the package doc).
// A zero payments.Option is refused with a *payments.ValidationError.
func New(o Options, opts ...payments.Option) (*Driver, error) {
	var s config.Settings
	for _, opt := range opts {
		if err := config.ApplyOption(opt, &s); err != nil {
			return nil, err
		}
	}
	caps := o.Capabilities
	if caps.Provider == "" && len(caps.Methods) == 0 && len(caps.Currencies) == 0 &&
		!caps.Refunds && !caps.PartialRefunds && !caps.PaymentURL && !caps.Requisites {
		caps = defaultCaps
	}
	if caps.Provider == "" {
		caps.Provider = Scheme
	}
	caps.Methods, caps.Currencies = slices.Clone(caps.Methods), slices.Clone(caps.Currencies)
	if len(caps.Currencies) == 0 {
		return nil, &payments.ValidationError{Field: "capabilities.currencies", Reason: "at least one currency"}
	}
	secret := o.Secret
	if len(secret) == 0 {
		secret = make([]byte, 32)
		if _, err := rand.Read(secret); err != nil {
			return nil, err
		}
	}
	d := &Driver{caps: caps, secret: append([]byte(nil), secret...), checkouts: map[string]*checkout{}}
	if s.Limiter != nil {
		d.lim = s.Limiter
	}
	return d, nil
}

func open(_ context.Context, cfg *payments.OpenConfig) (payin.Driver, error) {
	p := cfg.Params("provider")
	if cfg.Credentials != nil {
		p.Refuse("credentials", fmt.Sprintf("mem takes no credentials, not %T", cfg.Credentials))
	}
	if err := p.Err(); err != nil {
		return nil, err
	}
	var o Options
	if name := p.String("provider"); name != "" {
		o.Capabilities = defaultCaps
		o.Capabilities.Provider = name
	}
	return New(o, p.Options()...)
}

// Capabilities are Options.Capabilities with the defaults filled in.
func (d *Driver) Capabilities() payin.Capabilities { return d.caps }

// request is one simulated request: a limiter token, then the count.
func (d *Driver) request(ctx context.Context) error {
	if d.lim != nil {
		if err := d.lim.Wait(ctx); err != nil {
			return err
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return ErrClosed
	}
	d.requests++
	return nil
}

// scripted takes the next scripted outcome of a request that creates
// something: a refusal, or a lost answer. d.mu is held.
func (d *Driver) scripted(op string) (refusal error, lost bool) {
	if len(d.refuseNext) > 0 {
		err := d.refuseNext[0]
		d.refuseNext = d.refuseNext[1:]
		return refused(d.caps.Provider, op, err), false
	}
	if d.lose > 0 {
		d.lose--
		return nil, true
	}
	return nil, false
}

var errLost = errors.New("the answer was lost (scripted with LoseAnswers)")

// Create opens a pending checkout with a payment page (and requisites when
// the capabilities say so). NOT safe to resend, like the real pay-in
// providers (their checkouts are not deduplicated; the in-memory provider
// has no document, and keeps their rule): a lost answer (LoseAnswers)
// leaves the checkout made and returns a *payments.OutcomeUnknownError; a
// refusal (RefuseNext) makes nothing.
func (d *Driver) Create(ctx context.Context, r payin.Request) (payin.Checkout, error) {
	if err := d.request(ctx); err != nil {
		return payin.Checkout{}, fmt.Errorf("%s create: %w", d.caps.Provider, err)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	refusal, lost := d.scripted("create")
	if refusal != nil {
		return payin.Checkout{}, refusal
	}
	d.seq++
	id := strconv.Itoa(d.seq)
	co := payin.Checkout{Provider: d.caps.Provider, ID: id, OrderRef: r.OrderRef, Amount: r.Amount, State: payments.StatePending}
	if d.caps.PaymentURL {
		co.PaymentURL = "https://pay.mem.invalid/checkout/" + id
	}
	if d.caps.Requisites {
		co.Requisites = &payin.Requisites{Phone: "79000000000", Bank: "Mem Bank", Holder: "Mem Merchant"}
	}
	d.checkouts[id] = &checkout{co: co, refunded: payments.Money{Amount: payments.MustDecimal("0"), Currency: r.Amount.Currency}}
	if lost {
		return payin.Checkout{}, &payments.OutcomeUnknownError{Provider: d.caps.Provider, Op: "create", Ref: r.OrderRef, Err: errLost}
	}
	return co, nil
}

// Get returns the checkout with the id; payments.ErrNotFound when there is
// none. A read: always safe.
func (d *Driver) Get(ctx context.Context, id string) (payin.Checkout, error) {
	if err := d.request(ctx); err != nil {
		return payin.Checkout{}, fmt.Errorf("%s get: %w", d.caps.Provider, err)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	c, ok := d.checkouts[id]
	if !ok {
		return payin.Checkout{}, d.notFound("get", id)
	}
	return c.co, nil
}

func (d *Driver) notFound(op, id string) error {
	return &payments.APIError{Provider: d.caps.Provider, Op: op, Code: "not_found", Message: "no checkout " + id, Category: payments.ErrNotFound}
}

// Refund returns r.Amount (or, with Full, all that is left) of a paid
// checkout. NOT safe to resend, like the real providers' refunds: a lost
// answer (LoseAnswers) leaves the refund made and returns a
// *payments.OutcomeUnknownError. A checkout that is not paid, or an amount
// above what is left or in another currency, is refused with a
// *payments.APIError (payments.ErrDeclined, or ErrInvalidRequest for the
// currency); an unknown id is payments.ErrNotFound. When nothing is left
// the checkout's State becomes refunded.
func (d *Driver) Refund(ctx context.Context, r payin.RefundRequest) (payin.Refund, error) {
	if err := d.request(ctx); err != nil {
		return payin.Refund{}, fmt.Errorf("%s refund: %w", d.caps.Provider, err)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	c, ok := d.checkouts[r.ID]
	if !ok {
		return payin.Refund{}, d.notFound("refund", r.ID)
	}
	if c.co.State != payments.StateSucceeded {
		return payin.Refund{}, &payments.APIError{Provider: d.caps.Provider, Op: "refund", Code: "not_paid",
			Message: "checkout " + r.ID + " is " + c.co.State.String(), Category: payments.ErrDeclined}
	}
	left := payments.Money{Amount: c.co.Amount.Amount.Sub(c.refunded.Amount), Currency: c.co.Amount.Currency}
	amount := r.Amount
	if r.Full {
		amount = left
	}
	if amount.Currency != left.Currency {
		return payin.Refund{}, &payments.APIError{Provider: d.caps.Provider, Op: "refund", Code: "currency",
			Message: "checkout " + r.ID + " was paid in " + left.Currency, Category: payments.ErrInvalidRequest}
	}
	if cmp, _ := amount.Cmp(left); cmp > 0 {
		return payin.Refund{}, &payments.APIError{Provider: d.caps.Provider, Op: "refund", Code: "too_much",
			Message: fmt.Sprintf("%s asked, %s left", amount, left), Category: payments.ErrDeclined}
	}
	refusal, lost := d.scripted("refund")
	if refusal != nil {
		return payin.Refund{}, refusal
	}
	c.refunded.Amount = c.refunded.Amount.Add(amount.Amount)
	if c.refunded.Amount.Equal(c.co.Amount.Amount) {
		c.co.State = payments.StateRefunded
	}
	if lost {
		return payin.Refund{}, &payments.OutcomeUnknownError{Provider: d.caps.Provider, Op: "refund", Ref: r.ID, Err: errLost}
	}
	return payin.Refund{Provider: d.caps.Provider, CheckoutID: r.ID, Amount: amount, State: payments.StateSucceeded}, nil
}

// refused makes the provider's refusal with err: an *payments.APIError kept
// as it is, or one whose category is err when err is a payments sentinel
// (or wraps one), else payments.ErrDeclined with err as its detail.
func refused(provider, op string, err error) error {
	var ae *payments.APIError
	if errors.As(err, &ae) {
		return err
	}
	e := &payments.APIError{Provider: provider, Op: op, Code: "refused", Message: err.Error(), Category: payments.ErrDeclined, Detail: err}
	for _, s := range []error{payments.ErrUnauthorized, payments.ErrForbidden, payments.ErrRateLimited, payments.ErrInvalidRequest,
		payments.ErrNotFound, payments.ErrDuplicate, payments.ErrInsufficientFunds, payments.ErrDeclined, payments.ErrUnavailable} {
		if errors.Is(err, s) {
			e.Category = s
			if err == s {
				e.Detail = nil
			}
			break
		}
	}
	return e
}

// Notifications makes the handler of the driver's notifications (see the
// package doc) and remembers it: Pay and Cancel deliver to it.
func (d *Driver) Notifications(handle payin.Handle) (http.Handler, error) {
	if handle == nil {
		return nil, &payments.ValidationError{Field: "handle", Reason: "required"}
	}
	h := &notifier{d: d, handle: handle}
	d.mu.Lock()
	d.handlers = append(d.handlers, h)
	d.mu.Unlock()
	return h, nil
}

type notifier struct {
	d      *Driver
	handle payin.Handle
}

func (n *notifier) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxNotificationBytes+1))
	if err != nil {
		http.Error(w, "unreadable body", http.StatusBadRequest)
		return
	}
	if len(body) > MaxNotificationBytes {
		http.Error(w, "too large", http.StatusRequestEntityTooLarge)
		return
	}
	got, err := hex.DecodeString(r.Header.Get(SignatureHeader))
	if err != nil || !hmac.Equal(got, n.d.sign(body)) {
		http.Error(w, "bad signature", http.StatusForbidden)
		return
	}
	ev, err := n.d.confirm(body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if err := n.handle(r.Context(), ev); err != nil {
		http.Error(w, "not handled", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write([]byte(`{"ok":true}` + "\n"))
}

func (d *Driver) sign(body []byte) []byte {
	m := hmac.New(sha256.New, d.secret)
	m.Write(body)
	return m.Sum(nil)
}

// confirm reads a signed notification and checks it against the provider's
// records, as the real drivers confirm through their provider's API.
func (d *Driver) confirm(body []byte) (payin.Event, error) {
	var n Notification
	if err := json.Unmarshal(body, &n); err != nil {
		return payin.Event{}, fmt.Errorf("%s notification: not JSON", d.caps.Provider)
	}
	d.mu.Lock()
	c, ok := d.checkouts[n.ID]
	var co payin.Checkout
	if ok {
		co = c.co
	}
	d.mu.Unlock()
	if !ok {
		return payin.Event{}, fmt.Errorf("%s notification of checkout %q: no such checkout: %w", d.caps.Provider, n.ID, payin.ErrNotConfirmed)
	}
	if want := notification(co); n != want {
		return payin.Event{}, fmt.Errorf("%s notification of checkout %s says %s %s %s, the provider has %s %s %s: %w", d.caps.Provider, n.ID,
			n.State, n.Amount, n.Currency, want.State, want.Amount, want.Currency, payin.ErrNotConfirmed)
	}
	return payin.Event{Provider: d.caps.Provider, ProviderID: co.ID, CheckoutID: co.ID, OrderRef: co.OrderRef,
		State: co.State, Amount: co.Amount, Raw: n}, nil
}

func notification(co payin.Checkout) Notification {
	return Notification{ID: co.ID, OrderRef: co.OrderRef, Amount: co.Amount.Amount.String(), Currency: co.Amount.Currency, State: co.State.String()}
}

// As fills a **Driver with d.
func (d *Driver) As(target any) bool { return portable.As(target, d) }

// Close makes every later call of the driver fail with ErrClosed; the
// handlers keep serving, and the scripting methods keep working.
func (d *Driver) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.closed = true
	return nil
}

// Delivery is one notification the provider delivered.
type Delivery struct {
	CheckoutID string
	State      payments.State
	// To is the URL it was posted to; "" when it went in process to a
	// handler made from the driver.
	To string
	// Status is the handler's answer; 0 when none came (Err says why).
	Status int
	Err    error
}

// Pay is the payer paying the pending checkout id in full: its State
// becomes succeeded and the provider delivers its notification, with ctx as
// the request's context: to the URL SetNotifyURL gave, or else in process
// to every handler made from the driver (payin.NewHandler makes one; with
// none, nothing is delivered). Each delivery is kept in Deliveries. It
// returns an error when there is no pending checkout id, and when a
// delivery was not answered 2xx (the merchant's Handle failed: deliver it
// again with Notify or NewNotification).
func (d *Driver) Pay(ctx context.Context, id string) error {
	return d.move(ctx, id, payments.StateSucceeded)
}

// Cancel is the pending checkout id expiring unpaid: its State becomes
// canceled and its notification is delivered as Pay's is.
func (d *Driver) Cancel(ctx context.Context, id string) error {
	return d.move(ctx, id, payments.StateCanceled)
}

// SetNotifyURL makes Pay and Cancel post their notifications to u (where
// the merchant serves its handler, as a provider's cabinet is told) instead
// of delivering them in process; "" goes back to in process.
func (d *Driver) SetNotifyURL(u string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.notifyURL = u
}

// Deliveries is every notification Pay and Cancel delivered, in order.
func (d *Driver) Deliveries() []Delivery {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]Delivery(nil), d.deliveries...)
}

func (d *Driver) move(ctx context.Context, id string, to payments.State) error {
	d.mu.Lock()
	c, ok := d.checkouts[id]
	if !ok {
		d.mu.Unlock()
		return fmt.Errorf("%s: no checkout %q: %w", d.caps.Provider, id, payments.ErrNotFound)
	}
	if c.co.State != payments.StatePending {
		d.mu.Unlock()
		return fmt.Errorf("%s: checkout %s is already %v", d.caps.Provider, id, c.co.State)
	}
	c.co.State = to
	hs, u := append([]http.Handler(nil), d.handlers...), d.notifyURL
	d.mu.Unlock()
	var ds []Delivery
	if u != "" {
		st, err := d.Notify(ctx, id, u)
		ds = append(ds, Delivery{CheckoutID: id, State: to, To: u, Status: st, Err: err})
	} else {
		for _, h := range hs {
			dl := Delivery{CheckoutID: id, State: to}
			req, err := d.NewNotification(ctx, id, "http://mem.invalid/notify/"+d.caps.Provider)
			if err != nil {
				dl.Err = err
			} else {
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				dl.Status = rec.Code
				if rec.Code < 200 || rec.Code > 299 {
					dl.Err = fmt.Errorf("answered %d: %s", rec.Code, bytes.TrimSpace(rec.Body.Bytes()))
				}
			}
			ds = append(ds, dl)
		}
	}
	d.mu.Lock()
	d.deliveries = append(d.deliveries, ds...)
	d.mu.Unlock()
	for _, dl := range ds {
		if dl.Err == nil && (dl.Status < 200 || dl.Status > 299) {
			dl.Err = fmt.Errorf("answered %d", dl.Status)
		}
		if dl.Err != nil {
			return fmt.Errorf("%s: the notification of checkout %s was not accepted: %w", d.caps.Provider, id, dl.Err)
		}
	}
	return nil
}

// NewNotification builds the signed notification of checkout id in its
// current state, as a POST to endpoint: give it to a handler's ServeHTTP,
// or send it with an http.Client.
func (d *Driver) NewNotification(ctx context.Context, id, endpoint string) (*http.Request, error) {
	d.mu.Lock()
	c, ok := d.checkouts[id]
	var co payin.Checkout
	if ok {
		co = c.co
	}
	d.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("%s: no checkout %q: %w", d.caps.Provider, id, payments.ErrNotFound)
	}
	body, err := json.Marshal(notification(co))
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(SignatureHeader, hex.EncodeToString(d.sign(body)))
	return req, nil
}

// Notify posts the signed notification of checkout id, in its current
// state, to endpoint (the URL where the merchant's handler is served) and
// returns the answer's status. It waits at most 30 seconds.
func (d *Driver) Notify(ctx context.Context, id, endpoint string) (int, error) {
	req, err := d.NewNotification(ctx, id, endpoint)
	if err != nil {
		return 0, err
	}
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, nil
}

// RefuseNext makes the provider refuse the next n Creates or Refunds with
// err: a *payments.APIError matching err and its category (err when it is a
// payments sentinel, else payments.ErrDeclined). Nothing is made.
func (d *Driver) RefuseNext(n int, err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for ; n > 0 && err != nil; n-- {
		d.refuseNext = append(d.refuseNext, err)
	}
}

// LoseAnswers makes the provider carry out the next n Creates or Refunds
// and lose each answer: the call returns a *payments.OutcomeUnknownError.
// n <= 0 clears what is left.
func (d *Driver) LoseAnswers(n int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.lose = max(n, 0)
}

// Checkout is the checkout with the id, if the provider has it.
func (d *Driver) Checkout(id string) (payin.Checkout, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	c, ok := d.checkouts[id]
	if !ok {
		return payin.Checkout{}, false
	}
	return c.co, true
}

// Checkouts is every checkout the provider has, in the order they were made.
func (d *Driver) Checkouts() []payin.Checkout {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make([]payin.Checkout, 0, len(d.checkouts))
	for i := 1; i <= d.seq; i++ {
		if c, ok := d.checkouts[strconv.Itoa(i)]; ok {
			out = append(out, c.co)
		}
	}
	return out
}

// Requests is how many simulated requests the driver has served (each
// Create, Get and Refund).
func (d *Driver) Requests() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.requests
}

// String names the provider; it never shows the secret.
func (d *Driver) String() string { return "mempayin.Driver{" + strconv.Quote(d.caps.Provider) + "}" }

// Format prints String for every verb (%#v included): the secret stays out
// of formatted output.
func (d *Driver) Format(f fmt.State, _ rune) { io.WriteString(f, d.String()) }
