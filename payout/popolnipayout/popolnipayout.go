// Package popolnipayout is the payout driver for popolni.club: it puts a
// [popolni.Client] behind the portable [payout] API and registers the
// "popolni" scheme for [payout.Open].
//
//	import _ "github.com/paysdk/payments/payout/popolnipayout"
//
//	c, err := payout.Open(ctx, "popolni://?local_addr=203.0.113.10&template_id=5")
//
// # Opening
//
// Credentials: POPOLNI_LOGIN and POPOLNI_PASSWORD, or
// payments.OpenCredentials(popolni.Credentials{...}). The URL's parameters:
//
//	base_url       the API endpoint (default popolni.DefaultURL; POPOLNI_URL also sets it)
//	local_addr     the allowlisted source IP (payments.WithLocalAddr; POPOLNI_LOCAL_ADDR also sets it)
//	resolve        an IP to pin popolni.club to (payments.WithResolve), as the document advises
//	template_id    the SMS template of every payout (default 0: no SMS)
//	poll_interval  Wait's pause between status requests (default 10s, the document's minimum)
//	coalesce       true: pack concurrent Sends and Gets into shared requests (Options.Batch)
//	max_batch      with coalesce: the most payouts in one request (default popolni.DefaultMaxBatch, 250)
//	max_in_flight  with coalesce: the most requests awaiting answers at once (default popolni.DefaultMaxInFlight, 32)
//
// # References
//
// popolni knows a payout by its integer transactionId, and the Ref is that
// number in decimal: 1 to 19 digits, no leading zero, at most
// 9223372036854775807. The document recommends numbering API payments from
// 1000000000 (below it the web cabinet numbers its own); the driver refuses
// nothing on that ground, since the cabinet may not be used.
//
// # Resend safety
//
// Send is safe to repeat with the same Ref: the document's status table says
// of 124 "Невозможно создать платёж – платёж с таким номером уже был создан
// ранее", so a second payment with one transactionId is never created. A
// 124 answering Send is resolved through Status and answered with the payout
// popolni already has. A status of 125 is asked once more, by the
// document's rule, "Для статуса 125 необходима повторная проверка статуса –
// этот статус может вернуть для существующего платежа в момент перехода
// платежа из одной очереди (ожидания) в другую очередь"; after a 124 a
// status that still cannot be read is payments.ErrOutcomeUnknown, never
// payments.ErrNotFound. Get reports not found only for a 125 answered
// twice.
//
// Destination kinds: the document's msisdn is "номер телефона
// абонента/номер банковской карты/номер Киви кошелька", and which of them an
// account may pay is set by the provider's manager. CheckRequest refuses
// phones not in the international form and card numbers failing the Luhn
// check before anything is sent.
package popolnipayout

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/internal/portable"
	"github.com/paysdk/payments/payout"
	"github.com/paysdk/payments/popolni"
)

var (
	_ payout.RequestChecker = (*Driver)(nil)
	_ payout.Waiter         = (*Driver)(nil)
)

// Scheme is the URL scheme this package registers.
const Scheme = "popolni"

// StatusBatch is how many payouts one status request asks about. The
// document gives no maximum for the status array; 100 keeps a request small
// while 1,000 outstanding payouts cost ten requests.
const StatusBatch = 100

func init() { payout.Register(Scheme, open) }

// Options tune the driver.
type Options struct {
	// TemplateID is the SMS template sent with every payout (0: none).
	TemplateID int64
	// PollInterval is Wait's pause between status requests; 0 keeps the
	// client's (popolni.DefaultPollInterval, the document's 10 seconds).
	PollInterval time.Duration
	// Batch, when set, sends through a popolni.Batcher made with these
	// options: concurrent Sends share one pay request (up to MaxBatch
	// payments, popolni.DefaultMaxBatch by default), and concurrent Gets
	// share one status request. popolni's 5 requests a second then carry up
	// to 5 × MaxBatch payouts a second instead of 5. Each Send still gets
	// its own answer. A lost answer makes every payout of that request
	// outcome-unknown, and a Send of the same Ref stays safe: the document's
	// 124, "Невозможно создать платёж – платёж с таким номером уже был создан
	// ранее", means popolni never makes a second payment for one
	// transactionId. Nil (the default): one request per Send. The driver's
	// Close closes the Batcher.
	Batch *popolni.BatchOptions
}

// Driver is the popolni payout driver. Make one with New.
type Driver struct {
	c    *popolni.Client
	b    *popolni.Batcher // nil unless Options.Batch
	opts Options
}

// New puts c behind the portable API. With opts.Batch it starts a
// popolni.Batcher over c, which Close stops.
func New(c *popolni.Client, opts Options) *Driver {
	if opts.PollInterval > 0 {
		c = c.WithPollInterval(opts.PollInterval)
	}
	d := &Driver{c: c, opts: opts}
	if opts.Batch != nil {
		d.b = popolni.NewBatcher(c, *opts.Batch)
	}
	return d
}

// pay pays one payment, through the Batcher when there is one.
func (d *Driver) pay(ctx context.Context, p popolni.Payment) (popolni.Result, error) {
	if d.b != nil {
		return d.b.Pay(ctx, p)
	}
	res, err := d.c.Pay(ctx, []popolni.Payment{p})
	if err != nil {
		return popolni.Result{}, err
	}
	return res[0], nil
}

// status asks the status of ids under the document's 125 rule
// (popolni.Client.StatusConfirmed: the 125s asked once more), through the
// Batcher when there is one.
func (d *Driver) status(ctx context.Context, ids ...int64) ([]popolni.Result, error) {
	if d.b != nil {
		return d.b.StatusConfirmed(ctx, ids...)
	}
	return d.c.StatusConfirmed(ctx, ids...)
}

func open(_ context.Context, cfg *payments.OpenConfig) (payout.Driver, error) {
	p := cfg.Params("base_url", "local_addr", "resolve", "template_id", "poll_interval", "coalesce", "max_batch", "max_in_flight")
	cred := payments.ReadCredentials(p, Scheme, func() popolni.Credentials {
		return popolni.Credentials{Login: p.Env("POPOLNI_LOGIN"), Password: p.Env("POPOLNI_PASSWORD")}
	})
	p.BaseURL("base_url", "POPOLNI_URL")
	p.LocalAddr("local_addr", "POPOLNI_LOCAL_ADDR")
	p.Resolve("resolve", "popolni.club")
	o := Options{
		TemplateID:   p.Int("template_id", 0, 0, math.MaxInt64, "a non-negative integer"),
		PollInterval: p.Duration("poll_interval", 0, "10s"),
	}
	batch := popolni.BatchOptions{
		MaxBatch:    int(p.Int("max_batch", popolni.DefaultMaxBatch, 1, 10_000, "an integer from 1 to 10000")),
		MaxInFlight: int(p.Int("max_in_flight", popolni.DefaultMaxInFlight, 1, 1_000, "an integer from 1 to 1000")),
	}
	if p.Bool("coalesce", false) {
		o.Batch = &batch
	}
	if err := p.Err(); err != nil {
		return nil, err
	}
	c, err := popolni.New(cred, p.Options()...)
	if err != nil {
		return nil, err
	}
	return New(c, o), nil
}

var caps = payout.Capabilities{
	Provider: "popolni",
	Kinds:    []payout.Kind{payout.Mobile, payout.Wallet, payout.Card},
	// popolni.MinAmount kopecks; the maximum is set per account by the
	// provider's manager, so none is given.
	Limits:      map[string]payout.Limit{"RUB": {Min: payments.Money{Amount: payments.DecimalFromMinor(popolni.MinAmount, 2), Currency: "RUB"}}},
	StatusBatch: StatusBatch,
	Dedupes:     true,
	RefForm:     "the transactionId in decimal: 1 to 19 digits, no leading zero, at most 9223372036854775807",
}

// Capabilities: mobile, wallet and card payouts in roubles, from 1.00;
// status polls every 10 seconds (or Options.PollInterval).
func (d *Driver) Capabilities() payout.Capabilities {
	c := caps
	c.PollInterval = popolni.DefaultPollInterval
	if d.opts.PollInterval > 0 {
		c.PollInterval = d.opts.PollInterval
	}
	return c
}

// CheckRef accepts the decimal form of a positive int64 without leading zeros.
func (d *Driver) CheckRef(ref string) error {
	_, err := refID(ref)
	return err
}

// CheckRequest is payout.RequestChecker: it refuses, with a
// *payments.ValidationError on to.account and before anything is sent, an
// account popolni would answer 215 or 208. The document's msisdn is "номер
// телефона абонента/номер банковской карты/номер Киви кошелька"; a request
// whose "номер пополняемого счета не соответствует формату для партнера"
// gets 215, and one whose "номер телефона абонента неправильный" or "не
// соответствующий валюте партнера" gets 208. The document writes phones
// in the international form, country code first, no '+' ("msisdn":
// "380991234567", a Ukrainian number; the public clients send Russian ones,
// "79012345678"). So a Mobile or Wallet (QIWI wallet: a phone number)
// account must be:
//
//   - not a national form: no leading 0 (the Ukrainian "0991234567"; no
//     country code begins with 0, so "00..." call prefixes go too) and no
//     leading 89 (the Russian "89161234567"; no country code begins with
//     89);
//   - of the right length for the countries popolni's material shows: 11
//     digits after 7 (Russia, Kazakhstan: 7 and ten digits), 12 after 380
//     (Ukraine: 380 and nine);
//   - otherwise 10 to 15 digits (payout.Destination.Validate). Which
//     countries an account may pay depends on its currency, which only the
//     provider's manager knows, so no country is refused here.
//
// A Card number must pass the Luhn check (payments.LuhnValid). The reason
// never repeats the account.
func (d *Driver) CheckRequest(r payout.Request) error {
	a := r.To.Account
	bad := func(reason string) error { return &payments.ValidationError{Field: "to.account", Reason: reason} }
	switch r.To.Kind {
	case payout.Mobile, payout.Wallet:
		switch {
		case strings.HasPrefix(a, "0"):
			return bad("popolni takes a phone in the international form, country code first, digits only: a leading 0 is a national form (or a call prefix)")
		case strings.HasPrefix(a, "89"):
			return bad("popolni takes a phone in the international form, country code first, digits only: a leading 89 is the Russian domestic form, where the country code 7 comes for the 8")
		}
		for _, pl := range phoneLengths {
			if strings.HasPrefix(a, pl.code) && len(a) != pl.digits {
				return bad(fmt.Sprintf("a phone number with country code %s has %d digits in all, not %d", pl.code, pl.digits, len(a)))
			}
		}
	case payout.Card:
		if !payments.LuhnValid(a) {
			return bad("not a card number: the Luhn check digit is wrong")
		}
	}
	return nil
}

// phoneLengths are the full lengths of phone numbers of the country codes
// popolni's material shows: the document's 380 and the public clients' 7.
var phoneLengths = []struct {
	code   string
	digits int
}{{"380", 12}, {"7", 11}}

func refID(ref string) (int64, error) {
	id, err := strconv.ParseInt(ref, 10, 64)
	if err != nil || id <= 0 || strconv.FormatInt(id, 10) != ref {
		return 0, &payments.ValidationError{Field: "ref", Reason: "popolni needs " + caps.RefForm}
	}
	return id, nil
}

// Send pays r with popolni.Client.Pay, one payment in the batch, or through
// the Batcher (Options.Batch) in a batch shared with concurrent Sends. SAFE
// to resend with the same Ref (see the package doc).
//
// A 124 ("Невозможно создать платёж – платёж с таким номером уже был создан
// ранее") means popolni holds a payment under the Ref, so Send answers with
// that payment's status, read under the document's 125 rule ("Для статуса
// 125 необходима повторная проверка статуса – этот статус может вернуть для
// существующего платежа в момент перехода платежа из одной очереди
// (ожидания) в другую"): a 125 is asked once more. When the status still
// cannot be read (125 twice, a failed or unreadable status request, ctx
// ending) the answer is a *payments.OutcomeUnknownError for the Ref with the
// Payout's State unknown: never payments.ErrNotFound and never failed,
// since the payout exists and may yet be paid. Settle it with Get, Wait or
// another Send of the Ref, never under a new Ref.
func (d *Driver) Send(ctx context.Context, r payout.Request) (payout.Payout, error) {
	id, err := refID(r.Ref)
	if err != nil {
		return payout.Payout{}, err
	}
	kop, err := r.Amount.Minor()
	if err != nil {
		return payout.Payout{}, &payments.ValidationError{Field: "amount", Reason: err.Error()}
	}
	res, err := d.pay(ctx, popolni.Payment{ID: id, Amount: kop, Account: r.To.Account, TemplateID: d.opts.TemplateID})
	if err != nil {
		return payout.Payout{Ref: r.Ref, Provider: caps.Provider, Amount: r.Amount, To: r.To}, err
	}
	if res.Status == popolni.StatusDuplicate {
		return d.held(ctx, r, id)
	}
	p := toPayout(r.Ref, res)
	p.Amount, p.To = r.Amount, r.To
	return p, p.Err
}

// held answers a Send that popolni answered 124: the payment under r.Ref
// exists, and its status is what Send reports; if that cannot be read, the
// outcome is unknown (never not-found, never failed).
func (d *Driver) held(ctx context.Context, r payout.Request, id int64) (payout.Payout, error) {
	p := payout.Payout{Ref: r.Ref, Provider: caps.Provider, Amount: r.Amount, To: r.To, State: payments.StateUnknown}
	st, err := d.status(ctx, id)
	var cause error
	switch {
	case err != nil:
		cause = fmt.Errorf("popolni answered 124 (it holds the payment) and its status could not be read: %w", err)
	case st[0].Status == popolni.StatusNotFound || st[0].Status == popolni.StatusDuplicate:
		p.Code, p.Message, p.Raw = strconv.Itoa(int(st[0].Status)), st[0].Status.String(), st[0]
		cause = fmt.Errorf("popolni answered 124 (it holds the payment), then %s to two status requests", st[0].Status)
	default:
		p = toPayout(r.Ref, st[0])
		p.Amount, p.To = r.Amount, r.To
		return p, p.Err
	}
	p.Err = &payments.OutcomeUnknownError{Provider: caps.Provider, Op: "send", Ref: r.Ref, Err: cause}
	return p, p.Err
}

func toPayout(ref string, res popolni.Result) payout.Payout {
	p := payout.Payout{Ref: ref, Provider: caps.Provider, State: res.Status.State(), Code: strconv.Itoa(int(res.Status)),
		Message: res.Status.String(), Raw: res}
	if res.Status == popolni.StatusUnknown {
		p.Code = ""
	}
	if err := res.Err(); err != nil {
		p.Err = err
		if res.Status == popolni.StatusNotFound {
			p.State = payments.StateUnknown
		}
	}
	return p
}

// Get asks popolni.Client.StatusConfirmed for refs: one status request for
// the batch (with Options.Batch, shared with concurrent Gets and Sends'
// checks) and, when some answer 125 ("Платёж не найден"), one more request
// for just those, as the document's rule demands: "если статус платежа при
// повторном опросе статуса равен 125, то такого платежа действительно
// нет". Only a ref answered 125 twice is reported not found (State unknown,
// Err matching payments.ErrNotFound); a blacklisted payment, which
// alternates 125 and 423, reads as its 423.
//
// Not found is the document's word, not a proof of no payment: the second
// request follows the first within the client's pacing, and a payment still
// moving between queues can read 125 twice. A Send of the same Ref is the
// safe next step (popolni answers 124 if it holds the payment, and Send
// never reports not found after a 124); never pay it under a new Ref. An
// error of either request is Get's error. A read: always safe.
func (d *Driver) Get(ctx context.Context, qs []payout.Query) ([]payout.Payout, error) {
	ids := make([]int64, len(qs))
	for i, q := range qs {
		id, err := refID(q.Ref)
		if err != nil {
			return nil, err
		}
		ids[i] = id
	}
	res, err := d.status(ctx, ids...)
	if err != nil {
		return nil, err
	}
	out := make([]payout.Payout, len(qs))
	for i := range qs {
		out[i] = toPayout(qs[i].Ref, res[i])
	}
	return out, nil
}

// Wait is payout.Waiter, which payout.Client.Wait calls instead of its own
// loop over Get: popolni.Client.WaitFinal, a status request every poll interval,
// a 125 believed only when asked twice. With Options.Batch it is
// popolni.Batcher.WaitFinal, whose polls share status requests with
// concurrent Waits and Gets.
func (d *Driver) Wait(ctx context.Context, q payout.Query) (payout.Payout, error) {
	ref := q.Ref
	id, err := refID(ref)
	if err != nil {
		return payout.Payout{}, err
	}
	var res []popolni.Result
	if d.b != nil {
		res, err = d.b.WaitFinal(ctx, id) // polls shared with concurrent Waits and Gets
	} else {
		res, err = d.c.WaitFinal(ctx, id)
	}
	if len(res) == 0 {
		return payout.Payout{Ref: ref, Provider: caps.Provider}, err
	}
	p := toPayout(ref, res[0])
	if err != nil {
		return p, err
	}
	if errors.Is(p.Err, payments.ErrNotFound) {
		return p, p.Err
	}
	return p, nil
}

// Balance is the account's current balance in roubles (the credit limit is
// in As's popolni.Client.Balance).
func (d *Driver) Balance(ctx context.Context) (payments.Money, error) {
	b, err := d.c.Balance(ctx)
	if err != nil {
		return payments.Money{}, err
	}
	return payments.MinorMoney(b.Current, "RUB")
}

// As fills a **popolni.Client, or a **popolni.Batcher when Options.Batch
// made one.
func (d *Driver) As(target any) bool { return portable.As(target, d.c, d.b) }

// Close stops the Batcher, if any (payouts still queued in it fail unsent),
// then closes the popolni client.
func (d *Driver) Close() error {
	if d.b != nil {
		d.b.Close()
	}
	return d.c.Close()
}
