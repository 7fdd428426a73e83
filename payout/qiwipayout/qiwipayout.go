// Package qiwipayout is the payout driver for QIWI Wallet Top-Up: it puts a
// [qiwitopup.Client] behind the portable [payout] API and registers the
// "qiwitopup" scheme for [payout.Open].
//
//	import _ "github.com/paysdk/payments/payout/qiwipayout"
//
//	c, err := payout.Open(ctx, "qiwitopup://?local_addr=203.0.113.10")
//
// The documents cited below are those of QIWI's topup-wallet-doc repository
// (file:line), kept in the SDK's shared spec.
//
// # Opening
//
// Credentials: QIWI_TERMINAL_ID and QIWI_PASSWORD (qiwitopup.PasswordAuth),
// or payments.OpenCredentials(qiwitopup.Auth) for any of the three modes
// (password, signature, client certificate). The URL's parameters:
//
//	base_url       the API endpoint (default qiwitopup.DefaultURL, or DefaultPrivateURL with a certificate; QIWI_URL also sets it)
//	local_addr     the source IP QIWI allows (payments.WithLocalAddr; QIWI_LOCAL_ADDR also sets it)
//	poll_interval  Wait's pause between status requests (default qiwitopup.DefaultWait, the document's 10 minutes)
//	non_cash       income_wire_transfer of wallet payouts (default true: see Options.Cash)
//	new_wallets    whether a wallet payout may create a missing wallet (default true, as QIWI does)
//
// Any other parameter is refused.
//
// # Destinations and currency
//
// Wallet (service 99): the wallet's phone number, international format
// without "+", with a country code of the former USSR and that country's
// length ("7" + 10 digits, "380" + 9, ...: see Driver.CheckRequest). As
// the document's flowchart requires ("Проверка возможности проведения
// платежа", topup-wallet_ru.html.md:119), every wallet Send asks
// check-deposit-possible first; "not possible" is refused before any pay.
// Card (service 34020): a card issued in Russia. SBP (service 38413):
// Account is the payee's phone "7" + 10 digits, Bank the SBP member id
// (bankId). Mobile (service 29130): Russian numbers only ("операторов РФ",
// _topup_mobile_ru.html.md:3), "7" + 10 digits; the operator is looked up
// with get-provider-by-phone-number before each pay. A card number must
// pass the Luhn check. These rules are Driver.CheckRequest, which
// payout.Client.Check runs: a ledger refuses such a request before
// recording it.
//
// Roubles only: card and SBP payouts are RUB only ("Валюта выплаты (только
// RUB)", _topup_card_ru.html.md:50, _topup_sbp_ru.html.md:55), and mobile
// top-ups are charged "в рублях и копейках" (_topup_mobile_ru.html.md:59).
// Wallets can hold other currencies, but the portable limits are per
// currency, not per kind, so the driver pays wallets in RUB too (As gives
// the qiwitopup.Client for the others).
//
// # References
//
// QIWI knows a payout by the agent's transaction-number, "Целое
// положительное число до 20 разрядов" (_errors_ru.html.md:66), and the Ref
// is that number in decimal: 1 to 20 digits, no leading zero (so that one
// Ref is one number: "0123" and "123" would be the same integer). Any other
// Ref is refused before sending.
//
// # Resend safety
//
// Send is safe to repeat with the same Ref: "Номер транзакции и
// идентификатор terminal-id однозначно определяют платёж в системе QIWI
// Wallet" (_topup_ru.html.md:52), the protocol "является идемпотентным"
// (topup-wallet_ru.html.md:82), and a pay with the same number and the same
// details answers the payment QIWI already has. The same number with other
// details is refused with result 215 (_errors_ru.html.md:33), which Send
// returns as an error matching payments.ErrDuplicate and
// qiwitopup.ErrTxnNumberReused.
package qiwipayout

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/internal/portable"
	"github.com/paysdk/payments/payout"
	"github.com/paysdk/payments/qiwitopup"
)

// Scheme is the URL scheme this package registers.
const Scheme = "qiwitopup"

// StatusBatch is how many payouts one status request asks about. The
// document lets <status> hold "один или более тегов payment"
// (_topup-status_ru.html.md:40) and gives no maximum; 50 keeps a request
// (each payment carries its account number) small.
const StatusBatch = 50

func init() { payout.Register(Scheme, open) }

// Options tune the driver. The zero value is the document's defaults.
type Options struct {
	// PollInterval is Wait's pause between status requests; 0 means
	// qiwitopup.DefaultWait, the document's "не чаще одного раза в 10
	// минут" (_topup_ru.html.md:13).
	PollInterval time.Duration
	// Cash sends income_wire_transfer 0 with wallet payouts: the agent got
	// the money from the customer in cash. The document makes the flag
	// mandatory ("Вы должны указывать тип средств, которые получены
	// Контрагентом от клиента – наличные или безналичные средства",
	// _topup_ru.html.md:7; 1 non-cash, 0 cash, :49). A merchant paying out
	// from its own account received no cash, so the default (false) sends
	// 1, non-cash.
	Cash bool
	// NoNewWallets refuses a wallet payout to a phone with no wallet, before
	// paying: the flowchart's "Создать Клиента и зарегистрировать платеж?"
	// (topup-wallet_ru.html.md:122). By default QIWI creates the wallet with
	// the payment.
	NoNewWallets bool
}

// Driver is the QIWI Wallet Top-Up payout driver. Make one with New.
type Driver struct {
	c    *qiwitopup.Client
	opts Options
}

// New puts c behind the portable API. It sends nothing.
func New(c *qiwitopup.Client, opts Options) *Driver {
	if opts.PollInterval <= 0 {
		opts.PollInterval = qiwitopup.DefaultWait
	}
	return &Driver{c: c, opts: opts}
}

func open(_ context.Context, cfg *payments.OpenConfig) (payout.Driver, error) {
	p := cfg.Params("base_url", "local_addr", "poll_interval", "non_cash", "new_wallets")
	auth := payments.ReadCredentials(p, Scheme, func() qiwitopup.Auth {
		return qiwitopup.PasswordAuth(p.Env("QIWI_TERMINAL_ID"), p.Env("QIWI_PASSWORD"))
	})
	p.BaseURL("base_url", "QIWI_URL")
	p.LocalAddr("local_addr", "QIWI_LOCAL_ADDR")
	o := Options{
		PollInterval: p.Duration("poll_interval", 0, "10m"),
		Cash:         !p.Bool("non_cash", true),
		NoNewWallets: !p.Bool("new_wallets", true),
	}
	if err := p.Err(); err != nil {
		return nil, err
	}
	c, err := qiwitopup.New(auth, p.Options()...)
	if err != nil {
		return nil, err
	}
	return New(c, o), nil
}

var caps = payout.Capabilities{
	Provider: Scheme,
	Kinds:    []payout.Kind{payout.Wallet, payout.Card, payout.SBP, payout.Mobile},
	// The documents give no amounts: the wallet's limits come from the
	// wallet offer and show as results 241 and 242 ("Платежи с суммой,
	// менее разрешенной и более разрешенной, завершатся с ошибками 241 и
	// 242", _topup_ru.html.md:57). So Min is the smallest amount the
	// protocol can carry (two decimals, _errors_ru.html.md:67), and no Max.
	Limits:      map[string]payout.Limit{"RUB": {Min: payments.MustMoney("0.01", "RUB")}},
	StatusBatch: StatusBatch,
	Dedupes:     true,
	RefForm:     "QIWI's transaction-number in decimal: 1 to 20 digits, no leading zero",
}

// Capabilities: wallet, card, SBP and mobile payouts in roubles, from 0.01
// (QIWI's own limits answer 241/242). Constant; sends nothing.
func (d *Driver) Capabilities() payout.Capabilities {
	c := caps
	c.PollInterval = d.opts.PollInterval
	return c
}

// CheckRef accepts 1 to 20 digits without a leading zero (see the package
// doc). Sends nothing.
func (d *Driver) CheckRef(ref string) error {
	if !txnNumber.MatchString(ref) {
		return &payments.ValidationError{Field: "ref", Reason: "qiwitopup needs " + caps.RefForm}
	}
	return nil
}

var (
	txnNumber = regexp.MustCompile(`^[1-9][0-9]{0,19}$`)
	ruPhone   = regexp.MustCompile(`^7[0-9]{10}$`)
	sbpBank   = regexp.MustCompile(`^[0-9]{1,20}$`)
	cardNum   = regexp.MustCompile(`^[0-9]{13,19}$`)
)

// walletCountries are the country codes a wallet's phone may start with,
// and how many digits follow each: the countries of the former USSR. The
// documents ask for the phone "в международном формате"
// (_topup_ru.html.md:59), "без лидирующего знака +" (_errors_ru.html.md:70),
// and name no countries; the table is this driver's choice, so that a
// number whose country and length cannot be told (1000000001) is refused
// rather than guessed at. A merchant who pays wallets elsewhere has
// qiwitopup.Client.PayWallet through As.
var walletCountries = []struct {
	code     string
	min, max int // digits after the code
}{
	{"7", 10, 10}, // Russia, Kazakhstan
	{"370", 8, 8}, // Lithuania
	{"371", 8, 8}, // Latvia
	{"372", 7, 8}, // Estonia
	{"373", 8, 8}, // Moldova
	{"374", 8, 8}, // Armenia
	{"375", 9, 9}, // Belarus
	{"380", 9, 9}, // Ukraine
	{"992", 9, 9}, // Tajikistan
	{"993", 8, 8}, // Turkmenistan
	{"994", 9, 9}, // Azerbaijan
	{"995", 9, 9}, // Georgia
	{"996", 9, 9}, // Kyrgyzstan
	{"998", 9, 9}, // Uzbekistan
}

// walletPhone reports whether s is a wallet phone of walletCountries:
// digits only, a country code of the table and the country's length after
// it, the first of them not 0 (a trunk prefix, never part of an
// international number).
func walletPhone(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	for _, c := range walletCountries {
		if rest, ok := strings.CutPrefix(s, c.code); ok && len(rest) >= c.min && len(rest) <= c.max && rest[0] != '0' {
			return true
		}
	}
	return false
}

// CheckRequest refuses, with a *payments.ValidationError and before
// anything is sent, a request QIWI cannot take: it is the check Send makes
// first, and payout.Client.Check runs it (so a ledger refuses the request
// before recording it). It refuses
//   - a Ref that is not a transaction-number (CheckRef);
//   - a currency other than RUB, an amount that is not whole kopecks;
//   - a wallet phone that is not in international format with a country
//     code of the former USSR and that country's length: "7" and 10 digits
//     (Russia, Kazakhstan), "380" and 9 (Ukraine), "375" and 9 (Belarus),
//     and so on ("в международном формате", _topup_ru.html.md:59; the
//     countries are the driver's choice, the documents name none).
//     1000000001 is not one: 10 digits with no such country code;
//   - a mobile or SBP phone that is not Russian, "7" and 10 digits
//     ("операторов РФ", _topup_mobile_ru.html.md:3; "в формате
//     7хххххххххх", _errors_card_ru.html.md:63), an SBP bank id that is
//     not 1 to 20 digits;
//   - a card number that is not 13 to 19 digits ("только цифры от 0 до 9
//     без пробелов", _errors_card_ru.html.md:63) or fails the Luhn check
//     every card number carries;
//   - a destination kind QIWI does not pay.
//
// Its reasons never hold the account. Sends nothing.
func (d *Driver) CheckRequest(r payout.Request) error {
	if err := d.CheckRef(r.Ref); err != nil {
		return err
	}
	if r.Amount.Currency != "RUB" {
		return &payments.ValidationError{Field: "amount", Reason: "qiwitopup pays in RUB only"}
	}
	if _, err := r.Amount.Minor(); err != nil {
		return &payments.ValidationError{Field: "amount", Reason: err.Error()}
	}
	switch r.To.Kind {
	case payout.Wallet:
		if !walletPhone(r.To.Account) {
			return &payments.ValidationError{Field: "to.account",
				Reason: "qiwitopup pays a wallet by its phone in international format without +: a country code of the former USSR and that country's length " +
					"(7 and 10 digits for Russia and Kazakhstan, 380 and 9 for Ukraine, 375 and 9 for Belarus, 998 and 9 for Uzbekistan, ...)"}
		}
	case payout.Mobile, payout.SBP:
		if !ruPhone.MatchString(r.To.Account) {
			return &payments.ValidationError{Field: "to.account",
				Reason: fmt.Sprintf("qiwitopup pays %s to Russian numbers only: 7 and 10 digits", r.To.Kind)}
		}
		if r.To.Kind == payout.SBP && !sbpBank.MatchString(r.To.Bank) {
			return &payments.ValidationError{Field: "to.bank", Reason: "the SBP member id, 1 to 20 digits"}
		}
	case payout.Card:
		if !cardNum.MatchString(r.To.Account) || !payments.LuhnValid(r.To.Account) {
			return &payments.ValidationError{Field: "to.account", Reason: "qiwitopup pays a card by its number: 13 to 19 digits that pass the Luhn check"}
		}
	default:
		return &payments.ValidationError{Field: "to.kind", Reason: fmt.Sprintf("qiwitopup does not pay to %s", r.To.Kind)}
	}
	return nil
}

// Send pays r under r.Ref as r.Ref's transaction-number: PayWallet after
// CheckDepositPossible, PayCard, PaySBP, or PayMobile after ProviderByPhone.
// SAFE to resend with the same Ref (see the package doc): QIWI answers the
// payment it has.
//
// Before any request it refuses, with a *payments.ValidationError, what
// CheckRequest refuses.
//
// The answer:
//   - a registered payment: its payout, pending or final. A final failure
//     (status above 100, "Средства возвращены на баланс Контрагента",
//     _errors_ru.html.md:19) has State failed and is also returned as the
//     error: an *payments.APIError with QIWI's result code;
//   - result 215 (the number was used with other details): an error
//     matching payments.ErrDuplicate and qiwitopup.ErrTxnNumberReused;
//     nothing was paid by this call, and the payout QIWI has under the Ref
//     is another's: Get tells its state;
//   - not registered (status -1 or no txn_id, "Попробуйте повторить запрос
//     позже", _errors_ru.html.md:13): a *payments.OutcomeUnknownError (Op
//     "pay"): send the same Ref again later. The document adds that -1
//     proves nothing when an earlier answer was different, and the client
//     may have resent the pay within this call, so it is not a refusal;
//   - a wallet that QIWI says cannot be topped up ("Платеж будет
//     отклонён", _check-deposit_ru.html.md:70), or has no wallet while
//     Options.NoNewWallets is set: an *payments.APIError matching
//     payments.ErrDeclined and qiwitopup.ErrDepositImpossible, with State
//     failed; no pay is sent. Before refusing, Send asks the status of the
//     Ref: a payout QIWI already has under it (an earlier Send) is answered
//     instead;
//   - the client's errors as they are: payments.ErrOutcomeUnknown when a
//     pay may have reached QIWI, anything else when none did.
func (d *Driver) Send(ctx context.Context, r payout.Request) (payout.Payout, error) {
	if err := d.CheckRequest(r); err != nil {
		return payout.Payout{}, err
	}
	kop, err := r.Amount.Minor() // CheckRequest: whole kopecks
	if err != nil {
		return payout.Payout{}, &payments.ValidationError{Field: "amount", Reason: err.Error()}
	}

	sent := payout.Payout{Ref: r.Ref, Provider: Scheme, Amount: r.Amount, To: r.To}
	common := qiwitopup.Common{TransactionNumber: r.Ref, Amount: kop, Currency: "RUB"}
	var pm qiwitopup.Payment
	switch r.To.Kind {
	case payout.Wallet:
		check, err := d.c.CheckDepositPossible(ctx, r.To.Account, !d.opts.Cash, "RUB")
		if err != nil {
			return sent, err
		}
		if !check.Possible || (!check.Exist && d.opts.NoNewWallets) {
			return d.refuse(ctx, r, sent, check)
		}
		pm, err = d.c.PayWallet(ctx, qiwitopup.WalletPayment{Common: common, Phone: r.To.Account, NonCash: !d.opts.Cash})
		if err != nil {
			return sent, err
		}
	case payout.Card:
		if pm, err = d.c.PayCard(ctx, qiwitopup.CardPayment{Common: common, CardNumber: r.To.Account}); err != nil {
			return sent, err
		}
	case payout.SBP:
		if pm, err = d.c.PaySBP(ctx, qiwitopup.SBPPayment{Common: common, Phone: r.To.Account, BankID: r.To.Bank}); err != nil {
			return sent, err
		}
	case payout.Mobile:
		local := r.To.Account[1:] // "без указания кода страны", _topup_mobile_ru.html.md:59
		id, err := d.c.ProviderByPhone(ctx, local)
		if err != nil {
			return sent, fmt.Errorf("qiwitopup send %s: the mobile operator lookup: %w", r.Ref, err)
		}
		pm, err = d.c.PayMobile(ctx, qiwitopup.MobilePayment{Common: common, Phone: r.To.Account, ProviderID: id, LocalPhone: local})
		if err != nil {
			return sent, err
		}
	}
	return sendResult(r, pm)
}

// sendResult reads the payment a pay answered (or a status found) for r.
func sendResult(r payout.Request, pm qiwitopup.Payment) (payout.Payout, error) {
	p := toPayout(r.Ref, pm, pm)
	p.Amount, p.To = r.Amount, r.To
	switch {
	case p.Err != nil: // a final failure, or 215
		return p, p.Err
	case !pm.Registered():
		msg := "not registered yet: send the same Ref again later"
		if pm.ResultCode != qiwitopup.CodeOK {
			msg += " (result " + pm.ResultCode.String() + ")"
		}
		return p, &payments.OutcomeUnknownError{Provider: Scheme, Op: "pay", Ref: r.Ref,
			Err: &payments.APIError{Provider: Scheme, Op: "pay", Code: strconv.Itoa(int(pm.Status)), Message: msg, Category: payments.ErrUnavailable}}
	case pm.FinalStatus && !p.State.Final():
		return p, undocumentedFinal("pay", r.Ref, pm)
	}
	return p, nil
}

// refuse answers a wallet payout that check-deposit-possible refused: the
// payout QIWI already has under the Ref, if a status request finds one,
// else the typed refusal. No pay is sent.
func (d *Driver) refuse(ctx context.Context, r payout.Request, sent payout.Payout, check qiwitopup.DepositCheck) (payout.Payout, error) {
	msg := "deposit not possible"
	if check.Possible {
		msg = "no wallet for this phone, and new wallets are not allowed (new_wallets=false)"
	}
	if check.Message != "" {
		msg += ": " + payments.MaskPAN(check.Message)
	}
	res, err := d.c.Status(ctx, qiwitopup.StatusQuery{TransactionNumber: r.Ref, Account: r.To.Account})
	switch {
	case err == nil && res[0].Found:
		return sendResult(r, res[0].Payment) // an earlier Send of this Ref
	case err != nil:
		msg += " (whether an earlier send of this Ref reached QIWI could not be read: " + err.Error() + ")"
	}
	code := ""
	if check.Code != qiwitopup.CodeOK {
		code = strconv.Itoa(int(check.Code))
	}
	sent.State = payments.StateFailed
	sent.Code, sent.Message = code, msg
	sent.Err = &payments.APIError{Provider: Scheme, Op: "check-deposit-possible", Code: code, Message: msg,
		Category: payments.ErrDeclined, Detail: qiwitopup.ErrDepositImpossible}
	sent.Raw = check
	return sent, sent.Err
}

// toPayout is what a payment says of the payout under ref; raw is the
// qiwitopup value it came from.
func toPayout(ref string, pm qiwitopup.Payment, raw any) payout.Payout {
	msg := payments.MaskPAN(pm.Message)
	if msg == "" {
		msg = pm.Status.String()
	}
	p := payout.Payout{Ref: ref, Provider: Scheme, ProviderID: pm.TxnID, State: pm.State(),
		Code: strconv.Itoa(int(pm.Status)), Message: msg, Raw: raw}
	if pm.Failed() || pm.ResultCode == qiwitopup.CodeTxnNumberReused {
		p.Err = pm.Err()
	}
	return p
}

// undocumentedFinal is the error of a final status that is neither 60 nor
// above 100: the documents do not say whether the money moved.
func undocumentedFinal(op, ref string, pm qiwitopup.Payment) error {
	return &payments.OutcomeUnknownError{Provider: Scheme, Op: op, Ref: ref,
		Err: &payments.APIError{Provider: Scheme, Op: op, Code: strconv.Itoa(int(pm.Status)),
			Message:  "final status " + pm.Status.String() + " is undocumented: ask QIWI (bss@qiwi.com) whether the money moved",
			Category: payments.ErrUnavailable}}
}

// Get asks qiwitopup.Client.Status about every query in one request, each
// with its transaction-number and the account-number the pay sent
// (Query.To: the phone, or the card number). The document requires the
// account (_topup-status_ru.html.md:44); when To is zero it is left out, as
// some public clients do. A payment QIWI does not list ("соответствующий тег
// payment будет отсутствовать в ответе", _topup-status_ru.html.md:81) is
// StateUnknown with an Err matching payments.ErrNotFound: it may still
// appear (QIWI says to ask again), and a Send of the same Ref is safe. Raw
// is the qiwitopup.StatusResult. A final status the document does not
// define (neither 60 nor above 100) has State unknown and an Err that is a
// *payments.OutcomeUnknownError. A read: always safe to repeat, though the
// document asks for 10 minutes between two status requests for one payment
// (_topup-status_ru.html.md:11).
//
// payout.Client.Wait polls Get every Options.PollInterval (default the
// document's 10 minutes) until QIWI says final-status true, as the
// flowchart goes: a non-final answer to status, or to the pay, leads to the
// next status request (topup-wallet_ru.html.md:131), and a network or
// request error to a wait of at least 10 minutes and then status again
// (:127); such an error never ends Wait. A ref QIWI does not list in two
// answers in a row is payments.ErrNotFound: the flowchart would wait
// forever (:140), and one missing answer can be a payment being registered,
// but a Ref never sent would never end. A Send of the same Ref stays safe
// after it.
func (d *Driver) Get(ctx context.Context, qs []payout.Query) ([]payout.Payout, error) {
	sq := make([]qiwitopup.StatusQuery, len(qs))
	for i, q := range qs {
		if err := d.CheckRef(q.Ref); err != nil {
			return nil, err
		}
		// The account-number the pay sent is To.Account for every kind:
		// the phone (wallet, SBP, mobile) or the card number.
		sq[i] = qiwitopup.StatusQuery{TransactionNumber: q.Ref, Account: q.To.Account}
	}
	res, err := d.c.Status(ctx, sq...)
	if err != nil {
		return nil, err
	}
	out := make([]payout.Payout, len(qs))
	for i, q := range qs {
		out[i] = fromStatus(q.Ref, res[i])
		out[i].To = q.To
	}
	return out, nil
}

func fromStatus(ref string, r qiwitopup.StatusResult) payout.Payout {
	if !r.Found {
		return payout.Payout{Ref: ref, Provider: Scheme, State: payments.StateUnknown, Raw: r,
			Err: &payments.APIError{Provider: Scheme, Op: "status", Message: "no payment with transaction-number " + ref,
				Category: payments.ErrNotFound}}
	}
	p := toPayout(ref, r.Payment, r)
	if r.Payment.FinalStatus && !p.State.Final() && p.Err == nil {
		p.Err = undocumentedFinal("status", ref, r.Payment)
	}
	return p
}

// Balance is the rouble (643) account of qiwitopup.Client.Ping, the request
// that "возвращает текущий баланс по агентскому договору"
// (_get-balance_ru.html.md:5). A read: always safe to repeat. An agent
// without a rouble account is an error matching payments.ErrNotFound.
func (d *Driver) Balance(ctx context.Context) (payments.Money, error) {
	bs, err := d.c.Ping(ctx)
	if err != nil {
		return payments.Money{}, err
	}
	for _, b := range bs {
		if b.Currency == "643" {
			return payments.Money{Amount: b.Amount, Currency: "RUB"}, nil
		}
	}
	return payments.Money{}, &payments.APIError{Provider: Scheme, Op: "ping", Message: "the agent has no rouble (643) account",
		Category: payments.ErrNotFound}
}

// As fills a **qiwitopup.Client, for what the portable API leaves out
// (CheckUser, PayCardSpec, wallets in other currencies). Sends nothing.
func (d *Driver) As(target any) bool { return portable.As(target, d.c) }

// Close closes the qiwitopup client (its idle connections). Sends nothing.
func (d *Driver) Close() error { return d.c.Close() }
