// Package royalpaypayout is the payout driver for RoyalPay (Royal Finance)
// v3 payouts: it puts a [royalpay.Client] behind the portable [payout] API
// and registers the "royalpay" scheme for [payout.Open] (the pay-in
// registry is separate: payin/royalpaypayin registers the same name there).
//
//	import _ "github.com/paysdk/payments/payout/royalpaypayout"
//
//	c, err := payout.Open(ctx, "royalpay://?base_url=https://royal-pay.org") // ROYALPAY_PAYOUT_TOKEN
//
// # Opening
//
// Credentials: ROYALPAY_PAYOUT_TOKEN (the payout token, a credential apart
// from the pay-in ROYALPAY_TOKEN, which is optional here), or
// payments.OpenCredentials(royalpay.Credentials{PayoutToken: ...}). The URL's
// parameters:
//
//	base_url       the payout API host (ROYALPAY_PAYOUT_URL, else ROYALPAY_URL, also sets it; one is required)
//	poll_interval  Wait's pause between lookups (default 10s)
//	card_method    the method of card payouts: INTERBANK (default), SBER or TINKOFF
//
// Any other parameter is refused.
//
// # Destinations, amounts, references
//
// SBP: Account is the payee's phone, Bank the SBP member id of the payee's
// bank, mapped to RoyalPay's bank name (see SBPBanks; an id not in the
// table is refused before sending). Card: a card number passing Luhn, paid
// with card_method. Roubles only (geo Россия), whole roubles: the payout
// amount is an integer, and RoyalPay's only payout client sends whole major
// units (see royalpay.PayoutParams). The Ref is the outter_id: 1 to 64 of
// A-Z a-z 0-9 . _ : -.
//
// # Resend safety: look up first
//
// RoyalPay documents no deduplication of outter_id, so a second create of
// one Ref could pay twice; the create is never resent by the transport, and
// a lost answer is payments.ErrOutcomeUnknown. To keep the portable promise
// ("Sending a Ref again never creates a second payout"), Send first looks
// the Ref up (GET /api/v3/payouts/?outter_id=, the lookup the Royal Finance
// adapter of imfoxboy/Eight-Connect uses), answers with the payout found,
// and creates only when the lookup answers an empty list (a 404, a failed
// lookup, or a list without the Ref create nothing); Sends of one Ref in
// one driver are serialised.
//
// The residual risk, which no client can close without deduplication at
// the provider: a create whose answer was lost and that the provider has
// not yet made visible to the lookup (still in flight, or a lagging read),
// followed at once by a Send of the same Ref from this or another process,
// pays twice. Settle an ErrOutcomeUnknown with Get or Wait before sending
// again, and let one process own a Ref (the payout ledger's leases do).
package royalpaypayout

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"sync"
	"time"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/internal/portable"
	"github.com/paysdk/payments/payout"
	"github.com/paysdk/payments/royalpay"
)

// Scheme is the URL scheme this package registers.
const Scheme = "royalpay"

// The environment variables the opener reads.
const (
	EnvPayoutToken = "ROYALPAY_PAYOUT_TOKEN"
	EnvToken       = "ROYALPAY_TOKEN"
	EnvPayoutURL   = "ROYALPAY_PAYOUT_URL"
	EnvURL         = "ROYALPAY_URL"
)

// DefaultPollInterval is Wait's pause between lookups: the provider's pages
// give none, and 10 seconds keeps a waiting payout at one read in ten
// seconds of the account's rate limit.
const DefaultPollInterval = 10 * time.Second

func init() { payout.Register(Scheme, open) }

// SBPBanks maps SBP member ids (the NSPK participant ids) to the bank names
// RoyalPay takes in `bank` (the pay-in document's "Sber, Tinkoff, Alfa,
// Ozon, Vtb", and the sibling 4Pay cabinet's picker for the others; the
// payout page's example answers "bank": "Tinkoff"). Options.Banks adds to it.
var SBPBanks = map[string]string{
	"100000000111": "Sber",
	"100000000004": "Tinkoff",
	"100000000008": "Alfa",
	"100000000005": "Vtb",
	"100000000273": "Ozon",
	"100000000007": "Raiffeisen",
	"100000000001": "Gasprom",
	"100000000017": "MTS",
}

// Options tune the driver.
type Options struct {
	// PollInterval is Wait's pause; 0 means DefaultPollInterval.
	PollInterval time.Duration
	// CardMethod pays card destinations; "" means royalpay.PayoutInterbank.
	CardMethod royalpay.PayoutMethod
	// Banks adds SBP member id → RoyalPay bank name entries to SBPBanks
	// (and overrides them).
	Banks map[string]string
}

// Driver is the RoyalPay payout driver. Make one with New.
type Driver struct {
	c    *royalpay.Client
	opts Options

	mu    sync.Mutex
	locks map[string]*refLock // one per Ref being sent
}

type refLock struct {
	mu    sync.Mutex
	users int
}

// New puts c (with a payout token) behind the portable API.
func New(c *royalpay.Client, opts Options) (*Driver, error) {
	if opts.PollInterval < 0 {
		return nil, &payments.ValidationError{Field: "PollInterval", Reason: "negative"}
	}
	switch opts.CardMethod {
	case "":
		opts.CardMethod = royalpay.PayoutInterbank
	case royalpay.PayoutInterbank, royalpay.PayoutSber, royalpay.PayoutTinkoff:
	default:
		return nil, &payments.ValidationError{Field: "CardMethod", Reason: "INTERBANK, SBER or TINKOFF"}
	}
	if opts.PollInterval == 0 {
		opts.PollInterval = DefaultPollInterval
	}
	return &Driver{c: c, opts: opts, locks: map[string]*refLock{}}, nil
}

func open(_ context.Context, cfg *payments.OpenConfig) (payout.Driver, error) {
	p := cfg.Params("base_url", "poll_interval", "card_method")
	cred := payments.ReadCredentials(p, Scheme, func() royalpay.Credentials {
		return royalpay.Credentials{PayoutToken: p.Env(EnvPayoutToken), Token: p.OptionalEnv(EnvToken)}
	})
	if cred.PayoutToken == "" {
		p.Refuse("credentials.PayoutToken", "required for payouts")
	}
	p.BaseURL("base_url", EnvPayoutURL, EnvURL)
	o := Options{
		PollInterval: p.Duration("poll_interval", 0, "10s"),
		CardMethod:   royalpay.PayoutMethod(p.String("card_method")),
	}
	if err := p.Err(); err != nil {
		return nil, err
	}
	c, err := royalpay.New(cred, p.Options()...)
	if err != nil {
		return nil, err
	}
	d, err := New(c, o)
	if err != nil {
		_ = c.Close()
		return nil, err
	}
	return d, nil
}

var refRe = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,64}$`)

var caps = payout.Capabilities{
	Provider: "royalpay",
	Kinds:    []payout.Kind{payout.SBP, payout.Card},
	// The pages give no limits; whole roubles from 1.
	Limits:      map[string]payout.Limit{"RUB": {Min: payments.MustMoney("1", "RUB")}},
	StatusBatch: 1, // the lookup takes one outter_id
	// RoyalPay documents no dedup on outter_id: Send looks the Ref up first.
	Dedupes: false,
	RefForm: "the outter_id: 1 to 64 of A-Z a-z 0-9 . _ : -",
}

// Capabilities: SBP and card payouts in whole roubles, looked up one at a
// time, polled every Options.PollInterval.
func (d *Driver) Capabilities() payout.Capabilities {
	c := caps
	c.PollInterval = d.opts.PollInterval
	return c
}

// CheckRef accepts 1 to 64 of A-Z a-z 0-9 . _ : -.
func (d *Driver) CheckRef(ref string) error {
	if !refRe.MatchString(ref) {
		return &payments.ValidationError{Field: "ref", Reason: "royalpay needs " + caps.RefForm}
	}
	return nil
}

// params maps a request to the create body, refusing what RoyalPay cannot
// take with a *payments.ValidationError.
func (d *Driver) params(r payout.Request) (royalpay.PayoutParams, error) {
	p := royalpay.PayoutParams{Requisite: r.To.Account, Amount: r.Amount.Amount, OutterID: r.Ref, Geo: royalpay.GeoRussia}
	switch r.To.Kind {
	case payout.SBP:
		p.Method = royalpay.PayoutSBP
		name, ok := d.opts.Banks[r.To.Bank]
		if !ok {
			name, ok = SBPBanks[r.To.Bank]
		}
		if !ok {
			return p, &payments.ValidationError{Field: "to.bank", Reason: "an SBP member id without a RoyalPay bank name (add it with Options.Banks)"}
		}
		p.Bank = name
	case payout.Card:
		p.Method = d.opts.CardMethod
	default:
		return p, &payments.ValidationError{Field: "to.kind", Reason: "royalpay pays to sbp and card"}
	}
	if _, err := r.Amount.Amount.Minor(0); err != nil {
		return p, &payments.ValidationError{Field: "amount", Reason: "royalpay pays whole roubles (the payout amount is an integer)"}
	}
	if err := p.Validate(); err != nil {
		var v *payments.ValidationError
		if errors.As(err, &v) {
			return p, &payments.ValidationError{Field: "to.account", Reason: v.Field + ": " + v.Reason}
		}
		return p, err
	}
	return p, nil
}

func (d *Driver) lock(ref string) func() {
	d.mu.Lock()
	l := d.locks[ref]
	if l == nil {
		l = &refLock{}
		d.locks[ref] = l
	}
	l.users++
	d.mu.Unlock()
	l.mu.Lock()
	return func() {
		l.mu.Unlock()
		d.mu.Lock()
		if l.users--; l.users == 0 {
			delete(d.locks, ref)
		}
		d.mu.Unlock()
	}
}

// Send looks r.Ref up and answers with the payout RoyalPay has under it
// (its Amount and To zero: not sent in this call; a failed one with its
// error);
// only when the lookup answers an empty list (royalpay.ErrNoPayout; not a
// 404, not a failed lookup) does it create the payout
// (royalpay.Client.CreatePayout, UNSAFE: never resent; a lost answer is
// payments.ErrOutcomeUnknown). See the package doc for the residual risk.
//
// A create answered with a status is that status's state; one answered
// with the payout's id and the Ref as outter_id but no status (the payout
// page's excerpt shows no status in its answer) is accepted and pending,
// with the id as ProviderID: the payout exists, Get and Wait tell its
// status. An answer without the Ref is ErrOutcomeUnknown (see
// royalpay.Client.CreatePayout).
func (d *Driver) Send(ctx context.Context, r payout.Request) (payout.Payout, error) {
	if err := d.CheckRef(r.Ref); err != nil {
		return payout.Payout{}, err
	}
	p, err := d.params(r)
	if err != nil {
		return payout.Payout{}, err
	}
	if err := ctx.Err(); err != nil {
		return payout.Payout{}, err
	}
	unlock := d.lock(r.Ref)
	defer unlock()
	base := payout.Payout{Ref: r.Ref, Provider: caps.Provider, Amount: r.Amount, To: r.To}
	have, err := d.c.PayoutByOutterID(ctx, r.Ref)
	switch {
	case err == nil:
		// Not sent in this call: Amount and To stay zero (the found payout
		// may be of another amount, sent earlier under the Ref), and a
		// failed payout is its typed error, as after a create.
		out := toPayout(r.Ref, have)
		return out, out.Err
	case !errors.Is(err, royalpay.ErrNoPayout):
		// The lookup failed, or answered 404 (which may be a host without
		// the lookup route: not proof that the Ref is free): nothing is
		// created.
		return base, err
	}
	made, err := d.c.CreatePayout(ctx, p)
	if err != nil {
		return base, err
	}
	out := toPayout(r.Ref, made)
	out.Amount, out.To = r.Amount, r.To
	return out, out.Err
}

// toPayout maps RoyalPay's payout. Its State is royalpay.Payout.State: a
// create answered with the payout's id and our outter_id but no status is
// pending (the payout exists; how far it got, the next lookup tells).
func toPayout(ref string, p royalpay.Payout) payout.Payout {
	out := payout.Payout{Ref: ref, Provider: caps.Provider, ProviderID: strconv.FormatInt(p.ID, 10), State: p.State(),
		Code: string(p.Status), Message: string(p.Status), Raw: p}
	if p.Status == "" {
		out.Message = "created; the answer gave no status"
	}
	if out.State == payments.StateFailed {
		out.Err = &payments.APIError{Provider: caps.Provider, Op: "payout", Code: string(p.Status),
			Message: "payout " + string(p.Status), Category: payments.ErrDeclined}
	}
	return out
}

func notFound(ref string, err error) payout.Payout {
	return payout.Payout{Ref: ref, Provider: caps.Provider, State: payments.StateUnknown, Err: err}
}

// Get looks each Ref up (one request each: the lookup takes one
// outter_id). A read: always safe. payout.Client.Wait polls it every
// Options.PollInterval until the payout is final (wait_confirm is not: it
// waits for the merchant's answer to its callback).
func (d *Driver) Get(ctx context.Context, qs []payout.Query) ([]payout.Payout, error) {
	for _, q := range qs {
		if err := d.CheckRef(q.Ref); err != nil {
			return nil, err
		}
	}
	out := make([]payout.Payout, len(qs))
	for i, q := range qs {
		p, err := d.c.PayoutByOutterID(ctx, q.Ref)
		switch {
		case err == nil:
			out[i] = toPayout(q.Ref, p)
		case errors.Is(err, payments.ErrNotFound):
			out[i] = notFound(q.Ref, err)
		default:
			return nil, err
		}
	}
	return out, nil
}

// Balance is the payout account's "balance" (royalpay.Client.PayoutAccount:
// GET /api/v1/accounts/me with the payout token, as the document's
// authorisation page shows it, and /api/v2/accounts/me once on a 404), in
// roubles. An answer without a balance is
// payments.ErrNotSupported (the shape is undocumented).
func (d *Driver) Balance(ctx context.Context) (payments.Money, error) {
	a, err := d.c.PayoutAccount(ctx)
	if err != nil {
		return payments.Money{}, err
	}
	if !a.HasBalance {
		return payments.Money{}, fmt.Errorf("royalpay: the account answer has no balance: %w", payments.ErrNotSupported)
	}
	switch a.Currency {
	case "", "RUB", "Рубль", "рубль":
		return payments.Money{Amount: a.Balance, Currency: "RUB"}, nil
	}
	return payments.Money{}, fmt.Errorf("royalpay: balance in %q, not roubles: %w", a.Currency, payments.ErrNotSupported)
}

// As fills a **royalpay.Client.
func (d *Driver) As(target any) bool { return portable.As(target, d.c) }

// Close closes the royalpay client.
func (d *Driver) Close() error { return d.c.Close() }
