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
// popolni already has. Destination kinds: the document's msisdn is "номер
// телефона абонента/номер банковской карты/номер Киви кошелька", and which
// of them an account may pay is set by the provider's manager.
package popolnipayout

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/payout"
	"github.com/paysdk/payments/popolni"
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

// status asks the status of ids, through the Batcher when there is one.
func (d *Driver) status(ctx context.Context, ids ...int64) ([]popolni.Result, error) {
	if d.b != nil {
		return d.b.Status(ctx, ids...)
	}
	return d.c.Status(ctx, ids...)
}

func open(ctx context.Context, cfg *payments.OpenConfig) (payout.Driver, error) {
	q, err := cfg.Query("base_url", "local_addr", "resolve", "template_id", "poll_interval", "coalesce")
	if err != nil {
		return nil, err
	}
	var cred popolni.Credentials
	switch c := cfg.Credentials.(type) {
	case nil:
		if cred.Login, err = cfg.Env("POPOLNI_LOGIN"); err != nil {
			return nil, err
		}
		if cred.Password, err = cfg.Env("POPOLNI_PASSWORD"); err != nil {
			return nil, err
		}
	case popolni.Credentials:
		cred = c
	default:
		return nil, &payments.ValidationError{Field: "credentials", Reason: fmt.Sprintf("popolni takes popolni.Credentials, not %T", c)}
	}
	var opts []payments.Option
	if v := first(q["base_url"], cfg.OptionalEnv("POPOLNI_URL")); v != "" {
		opts = append(opts, payments.WithBaseURL(v))
	}
	if v := first(q["local_addr"], cfg.OptionalEnv("POPOLNI_LOCAL_ADDR")); v != "" {
		opts = append(opts, payments.WithLocalAddr(v))
	}
	if v := q["resolve"]; v != "" {
		opts = append(opts, payments.WithResolve("popolni.club", v))
	}
	var o Options
	if v := q["template_id"]; v != "" {
		if o.TemplateID, err = strconv.ParseInt(v, 10, 64); err != nil || o.TemplateID < 0 {
			return nil, &payments.ValidationError{Field: "template_id", Reason: "a non-negative integer"}
		}
	}
	if v := q["poll_interval"]; v != "" {
		if o.PollInterval, err = time.ParseDuration(v); err != nil || o.PollInterval <= 0 {
			return nil, &payments.ValidationError{Field: "poll_interval", Reason: "a positive duration such as 10s"}
		}
	}
	if v := q["coalesce"]; v != "" {
		on, err := strconv.ParseBool(v)
		if err != nil {
			return nil, &payments.ValidationError{Field: "coalesce", Reason: "true or false"}
		}
		if on {
			o.Batch = &popolni.BatchOptions{}
		}
	}
	c, err := popolni.New(cred, append(opts, cfg.Options...)...)
	if err != nil {
		return nil, err
	}
	return New(c, o), nil
}

func first(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
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

func refID(ref string) (int64, error) {
	id, err := strconv.ParseInt(ref, 10, 64)
	if err != nil || id <= 0 || strconv.FormatInt(id, 10) != ref {
		return 0, &payments.ValidationError{Field: "ref", Reason: "popolni needs " + caps.RefForm}
	}
	return id, nil
}

// Send pays r with popolni.Client.Pay, one payment in the batch, or through
// the Batcher (Options.Batch) in a batch shared with concurrent Sends. SAFE
// to resend with the same Ref (see the package doc). A 124 answer is
// resolved through Status and answered with the payout popolni already has.
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
		// Our own Ref sent before: answer with what popolni has.
		st, err := d.status(ctx, id)
		if err != nil {
			return payout.Payout{Ref: r.Ref, Provider: caps.Provider, Amount: r.Amount, To: r.To}, err
		}
		res = st[0]
	}
	p := toPayout(r.Ref, res)
	p.Amount, p.To = r.Amount, r.To
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

// Get asks popolni.Client.Status for refs in one request (with
// Options.Batch, one shared with concurrent Gets and Sends' checks). A 125 ("Платёж не
// найден") is reported as not found, although the document says a first 125
// can answer for a payment moving between queues: a Send of the same Ref
// after it is safe (124 if the payment exists), and Wait applies the re-ask
// rule. A read: always safe.
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

// Wait is popolni.Client.WaitFinal: a status request every poll interval,
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
func (d *Driver) As(target any) bool {
	switch p := target.(type) {
	case **popolni.Client:
		*p = d.c
		return true
	case **popolni.Batcher:
		if d.b != nil {
			*p = d.b
			return true
		}
	}
	return false
}

// Close stops the Batcher, if any (payouts still queued in it fail unsent),
// then closes the popolni client.
func (d *Driver) Close() error {
	if d.b != nil {
		d.b.Close()
	}
	return d.c.Close()
}
