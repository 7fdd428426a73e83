package popolni_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/popolni"
	"github.com/paysdk/payments/popolni/popolnitest"
)

// Pay a batch, wait for the final statuses, read the balance. The fake
// server stands in for popolni.club; against the real API only the
// credentials and options change.
func Example() {
	srv := popolnitest.NewServer(popolnitest.WithBalance(10000, 0))
	defer srv.Close()
	srv.FailAccount("380500000000", int(popolni.StatusCanceled))

	c, err := popolni.New(popolni.Credentials{Login: srv.Login(), Password: srv.Password()}, srv.ClientOptions()...)
	if err != nil {
		panic(err)
	}
	defer c.Close() // releases its keep-alive connections

	c = c.WithPollInterval(10 * time.Millisecond) // the document's minimum is 10 s; the fake needs no rest
	ctx := context.Background()

	res, err := c.Pay(ctx, []popolni.Payment{
		{ID: 1000000001, Amount: 500, Account: "380991234567", TemplateID: 5},
		{ID: 1000000002, Amount: 700, Account: "380500000000"},
	})
	if err != nil {
		panic(err)
	}
	fmt.Println("accepted:", res[0].Status, "/", res[1].Status)

	final, err := c.WaitFinal(ctx, 1000000001, 1000000002)
	if err != nil {
		panic(err)
	}
	for _, r := range final {
		fmt.Printf("%d: %s, %s, err=%v\n", r.ID, r.Status, r.Status.State(), r.Err())
	}
	bal, _ := c.Balance(ctx)
	fmt.Println("balance:", payments.FormatMinor(bal.Current, 2))
	// Output:
	// accepted: 0 received, being processed / 0 received, being processed
	// 1000000001: 3 succeeded, succeeded, err=<nil>
	// 1000000002: 208 canceled (amount out of range, number wrong or inactive, or currency mismatch), canceled, err=popolni payment 1000000002: code 208: canceled (amount out of range, number wrong or inactive, or currency mismatch) (declined)
	// balance: 95.00
}

// A refusal from popolni comes back as a *payments.APIError; errors.Is sorts
// it both by category and by the document's exact 403 text.
func ExampleDenial() {
	srv := popolnitest.NewServer(popolnitest.WithAllowedIPs("192.0.2.1"))
	defer srv.Close()
	c, _ := popolni.New(popolni.Credentials{Login: srv.Login(), Password: srv.Password()}, srv.ClientOptions()...)
	defer c.Close()

	_, err := c.Balance(context.Background())
	fmt.Println(err)
	fmt.Println(errors.Is(err, payments.ErrForbidden), errors.Is(err, popolni.DenialIPNotAllowed), errors.Is(err, popolni.DenialAPIDisabled))
	// Output:
	// popolni balance: HTTP 403: IP is not allowed (forbidden)
	// true true false
}

// A batch whose answer is lost is paid again with the same ids: popolni
// creates nothing twice, and Pay turns the 124 answering its own resend into
// the payment's real status.
func ExampleClient_Pay_lostAnswer() {
	srv := popolnitest.NewServer()
	defer srv.Close()
	srv.DropNext(1) // processes the batch, then drops the connection

	c, _ := popolni.New(popolni.Credentials{Login: srv.Login(), Password: srv.Password()},
		append(srv.ClientOptions(), payments.WithRetry(payments.RetryPolicy{MaxAttempts: 3, BaseDelay: time.Millisecond, MaxDelay: time.Millisecond}))...)
	defer c.Close()
	res, err := c.Pay(context.Background(), []popolni.Payment{{ID: 1000000001, Amount: 500, Account: "380991234567"}})
	fmt.Println(res, err)
	fmt.Println("pay requests:", srv.Count(popolnitest.OpPay), "payments created:", len(srv.Payments()))
	// Output:
	// [{1000000001 2 in progress}] <nil>
	// pay requests: 2 payments created: 1
}
