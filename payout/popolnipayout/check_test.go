package popolnipayout_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/payout"
)

// TestCheckRequestAccounts: the driver is a payout.RequestChecker that
// refuses, before anything is sent, a phone (mobile, wallet) not in the
// international form popolni's document shows ("380991234567": country
// code, then the subscriber's number, digits only) and a card number that
// fails the Luhn check, each a *payments.ValidationError on to.account that
// does not repeat the number.
func TestCheckRequestAccounts(t *testing.T) {
	f, srv := setup{}.fixture(t, payments.WithTestTiming())
	_, ok := f.Driver.(payout.RequestChecker)
	require.True(t, ok, "the popolni driver checks whole requests")
	c := payout.NewClient(f.Driver)

	good := map[payout.Kind][]string{
		payout.Mobile: {"380991234567", "380501234567", "79161234567", "77012345678", "375291234567"},
		payout.Wallet: {"79161234567", "380991234567"},
		payout.Card:   {"4111111111111111", "5555555555554444", "2200000000000004"},
	}
	for kind, accounts := range good {
		for _, a := range accounts {
			r := mobile(newRef())
			r.To = payout.Destination{Kind: kind, Account: a}
			assert.NoError(t, c.Check(r), "%s %s", kind, a)
		}
	}

	bad := map[payout.Kind][]string{
		payout.Mobile: {
			"89161234567",   // the Russian domestic form, 8 for 7
			"0991234567",    // the Ukrainian national form, no country code
			"0079161234567", // an international call prefix
			"7916123456",    // +7 with 9 digits after it
			"791612345678",  // +7 with 11
			"38099123456",   // +380 with 8 digits after it
			"3809912345678", // +380 with 10
		},
		payout.Wallet: {"89161234567", "0991234567", "7916123456"},
		payout.Card:   {"4111111111111112", "5555555555554440", "1234567890123"},
	}
	srv.Reset()
	for kind, accounts := range bad {
		for _, a := range accounts {
			r := mobile(newRef())
			r.To = payout.Destination{Kind: kind, Account: a}
			err := c.Check(r)
			var v *payments.ValidationError
			if !assert.True(t, errors.As(err, &v), "%s %s: %v", kind, a, err) {
				continue
			}
			assert.Equal(t, "to.account", v.Field)
			assert.False(t, strings.Contains(err.Error(), a), "the error repeats the account: %v", err)
			_, err = c.Send(context.Background(), r)
			assert.ErrorIs(t, err, payments.ErrInvalidRequest)
		}
	}
	assert.Empty(t, srv.Requests(), "nothing sent for a refused account")
}
