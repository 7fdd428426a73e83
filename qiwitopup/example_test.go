package qiwitopup_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/qiwitopup"
	"github.com/paysdk/payments/qiwitopup/qiwitopuptest"
)

// The whole wallet flow against the fake: check, pay, poll to the final status.
func ExampleClient_Payout() {
	srv := qiwitopuptest.NewServer() // stands in for api.qiwi.com
	defer srv.Close()
	c, err := qiwitopup.New(qiwitopup.PasswordAuth(srv.TerminalID(), srv.Password()), srv.ClientOptions()...)
	if err != nil {
		panic(err)
	}
	defer c.Close()
	p, err := c.Payout(context.Background(), qiwitopup.WalletPayment{
		Common:  qiwitopup.Common{TransactionNumber: "12345678", Amount: 111500},
		Phone:   "79181234567",
		NonCash: true,
	}, qiwitopup.PayoutOptions{PollInterval: time.Millisecond, ErrorWait: time.Millisecond}) // the document's pause is 10 minutes
	if err != nil {
		panic(err)
	}
	fmt.Println(p.Status, p.State(), p.ToAmount)
	// Output: 60 succeeded succeeded 1115.00
}

// A lost answer is never a failed payment: it is "outcome unknown", and the
// same pay (same number, same details) may be sent again.
func ExampleClient_PayWallet_lostAnswer() {
	srv := qiwitopuptest.NewServer()
	defer srv.Close()
	c, _ := qiwitopup.New(qiwitopup.PasswordAuth(srv.TerminalID(), srv.Password()),
		append(srv.ClientOptions(), payments.WithRetry(payments.RetryPolicy{MaxAttempts: 1}))...)
	defer c.Close()
	pay := qiwitopup.WalletPayment{Common: qiwitopup.Common{TransactionNumber: "777", Amount: 10000}, Phone: "79181234567", NonCash: true}

	srv.DropNext(1)
	_, err := c.PayWallet(context.Background(), pay)
	fmt.Println(errors.Is(err, payments.ErrOutcomeUnknown))

	p, err := c.PayWallet(context.Background(), pay)
	fmt.Println(p.Registered(), err, len(srv.Payments()))
	// Output:
	// true
	// true <nil> 1
}
