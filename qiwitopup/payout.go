package qiwitopup

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/paysdk/payments"
)

// DefaultWait is the document's pause between two status requests for one
// payment, and after a network or request-processing error: "не чаще одного
// раза в 10 минут", "Ожидание >= 10 минут".
const DefaultWait = 10 * time.Minute

// PayoutOptions tune Payout.
type PayoutOptions struct {
	// CheckUser also asks check-user before paying (optional in the flowchart).
	CheckUser bool
	// NoNewWallets stops before paying when the wallet does not exist;
	// by default QIWI creates it with the payment.
	NoNewWallets bool
	// PollInterval between status requests; ErrorWait after an error or a
	// doubtful answer. Both default to DefaultWait; shorter is for tests.
	PollInterval, ErrorWait time.Duration
}

// ErrDepositImpossible is the reason Payout stops when check-deposit-possible
// says the payment would be rejected, or the wallet is missing and
// NoNewWallets is set. Nothing was paid.
var ErrDepositImpossible = errors.New("qiwitopup: deposit not possible")

// Payout runs the document's wallet flowchart end to end: check the deposit
// is possible, optionally check the user, pay, then poll the status until a
// final one, waiting as the document says after errors. It returns the
// final payment (Succeeded or Failed), or the reason it stopped:
//
//   - before paying: the check's error, or ErrDepositImpossible (nothing paid);
//   - after paying: only ctx ending. Once a pay may have reached QIWI (it
//     answered with a payment, or its outcome was unknown), that is a
//     *payments.OutcomeUnknownError with the transaction number and the
//     last payment seen, wrapping the context's error. While no pay can
//     have landed (none was sent, or QIWI refused each before processing it
//     with 150 or 339), it is the context's error, wrapped with the provider
//     and "payout", and the last refusal: nothing to reconcile.
//
// A doubtful answer is never a failure: Payout keeps asking. A fatal request
// error (150, 339) is a configuration problem; Payout keeps waiting and
// asking, as the document allows ("вы можете либо не приостанавливать
// выполнение повторных запросов, либо приостановить до устранения ошибок
// конфигурирования"), until ctx ends.
//
// Resend safety: Payout itself sends the same pay again until QIWI shows the
// payment registered, which is SAFE (see PayWallet: the terminal and the
// transaction number identify the payment). Calling Payout again with the
// same WalletPayment after an outcome-unknown error is SAFE too: it pays
// the same number and finds the existing payment.
func (c *Client) Payout(ctx context.Context, p WalletPayment, opt PayoutOptions) (Payment, error) {
	if ctx == nil {
		return Payment{}, payments.ErrNilContext
	}
	poll, wait := opt.PollInterval, opt.ErrorWait
	if poll <= 0 {
		poll = DefaultWait
	}
	if wait <= 0 {
		wait = DefaultWait
	}
	if err := checkCommon(p.Common); err != nil {
		return Payment{}, err
	}
	check, err := c.CheckDepositPossible(ctx, p.Phone, p.NonCash, p.Currency)
	if err != nil {
		return Payment{}, err
	}
	if !check.Possible {
		return Payment{}, fmt.Errorf("%w: result %s %s", ErrDepositImpossible, check.Code, payments.MaskPAN(check.Message))
	}
	exists := check.Exist
	if opt.CheckUser {
		if exists, err = c.CheckUser(ctx, p.Phone, p.Currency); err != nil {
			return Payment{}, err
		}
	}
	if !exists && opt.NoNewWallets {
		return Payment{}, fmt.Errorf("%w: no wallet for this phone and NoNewWallets is set", ErrDepositImpossible)
	}

	var (
		last       Payment
		registered bool  // an answer has shown a status other than -1
		landed     bool  // a pay may have reached QIWI: it answered with a payment, or the outcome was unknown
		lastErr    error // the last failure, for the error when ctx ends
	)
	// stop is the error when ctx ends: outcome-unknown once a pay may have
	// landed (reconcile by the transaction number), otherwise the context's
	// error with the last refusal (nothing to reconcile: no pay reached QIWI,
	// or QIWI refused each before processing it).
	stop := func() (Payment, error) {
		err := ctxError(ctx, "payout")
		if landed {
			return last, &payments.OutcomeUnknownError{Provider: provider, Op: "payout", Ref: p.TransactionNumber, Err: err}
		}
		if lastErr != nil {
			err = fmt.Errorf("%w (last attempt: %w)", err, lastErr)
		}
		return last, err
	}
	sleep := func(d time.Duration) error {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
			return nil
		}
	}
	// Until QIWI has shown the payment registered, the next step is the same
	// pay again: safe, because (terminal-id, transaction-number) identifies
	// the payment ("Номер транзакции и идентификатор terminal-id однозначно
	// определяют платёж в системе QIWI Wallet", _topup_ru.html.md) and the
	// protocol is idempotent (topup-wallet_ru.html.md, "Несмотря на то, что
	// протокол является идемпотентным..."): it returns the existing payment
	// if an earlier attempt landed. After that, status.
	got, err := c.PayWallet(ctx, p)
	paid := true // err is the answer of a pay, not of a status
	for {
		if err == nil {
			if paid {
				landed = true
			}
			if got.Registered() {
				registered, last = true, got
				if got.FinalStatus {
					return got, nil
				}
			} else if !registered {
				last = got
			}
		} else {
			var ve *payments.ValidationError
			if errors.As(err, &ve) {
				return last, err
			}
			if paid && errors.Is(err, payments.ErrOutcomeUnknown) {
				landed = true // PayWallet's contract: any other error is certain
			}
			if ctx.Err() == nil { // keep the last answer, not the end of ctx
				lastErr = err
			}
		}
		next := poll
		if err != nil || !got.Registered() {
			next = wait
		}
		if sleep(next) != nil {
			return stop()
		}
		if !registered {
			got, err = c.PayWallet(ctx, p)
			paid = true
			continue
		}
		paid = false
		res, serr := c.Status(ctx, StatusQuery{TransactionNumber: p.TransactionNumber, Account: p.Phone})
		switch {
		case serr != nil:
			err = serr
		case !res[0].Found:
			err = errors.New("status: payment not found yet")
		default:
			got, err = withDetails(res[0].Payment, last), nil
		}
	}
}

// ctxError is the error of a call whose context ended, wrapped with the
// provider and the operation, still matching context.Canceled or
// context.DeadlineExceeded (and the cause, if any), as the transport wraps it.
func ctxError(ctx context.Context, op string) error {
	ce := ctx.Err()
	if cause := context.Cause(ctx); cause != nil && cause != ce {
		return fmt.Errorf("%s %s: %w: %w", provider, op, ce, cause)
	}
	return fmt.Errorf("%s %s: %w", provider, op, ce)
}

// withDetails fills what a status answer leaves out (amounts, currencies,
// service, account) from the pay answer of the same payment.
func withDetails(st, paid Payment) Payment {
	if st.FromAmount.IsZero() && st.ToAmount.IsZero() && st.Service == 0 {
		st.FromAmount, st.ToAmount = paid.FromAmount, paid.ToAmount
		st.FromCurrency, st.ToCurrency = paid.FromCurrency, paid.ToCurrency
		st.Service, st.Account = paid.Service, paid.Account
	}
	return st
}
