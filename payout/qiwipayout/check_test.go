package qiwipayout_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/payout"
	"github.com/paysdk/payments/payout/qiwipayout"
)

// The driver's own account rules run in Client.Check, before a ledger
// records anything: a number QIWI cannot take for the kind is refused
// there, not at Send. 1000000001 (a ref in a file whose columns were
// swapped) is 10 digits with no country code QIWI serves.
func TestCheckRequestRefusesWhatQIWICannotTake(t *testing.T) {
	c, srv := client(t, qiwipayout.Options{})
	_, isChecker := c.Driver().(payout.RequestChecker)
	assert.True(t, isChecker, "the driver is a payout.RequestChecker")
	bad := []struct {
		kind    payout.Kind
		account string
		bank    string
		field   string
	}{
		{payout.Wallet, "1000000001", "", "to.account"},
		{payout.Mobile, "1000000001", "", "to.account"},
		{payout.SBP, "1000000001", bank, "to.account"},
		{payout.Wallet, "9161234567", "", "to.account"},    // no country code
		{payout.Wallet, "89161234567", "", "to.account"},   // the Russian trunk 8, not the country code
		{payout.Wallet, "791612345678", "", "to.account"},  // 7 and 11 digits
		{payout.Wallet, "380501234", "", "to.account"},     // Ukraine: 9 digits after 380, not 6
		{payout.Wallet, "3805012345678", "", "to.account"}, // and not 10
		{payout.Wallet, "998901234", "", "to.account"},     // Uzbekistan: 9 after 998
		{payout.Wallet, "4915112345678", "", "to.account"}, // a country QIWI Wallet does not serve
		{payout.Wallet, "100000000100", "", "to.account"},
		{payout.Mobile, "380501234567", "", "to.account"}, // mobile: Russian numbers only
		{payout.SBP, "79161234567", "1234567890123456789012", "to.bank"},
		{payout.Card, "4111111111111112", "", "to.account"}, // fails the Luhn check
	}
	for _, tc := range bad {
		r := payout.Request{Ref: newRef(), Amount: payments.MustMoney("50.00", "RUB"), To: payout.Destination{Kind: tc.kind, Account: tc.account, Bank: tc.bank}}
		err := c.Check(r)
		var v *payments.ValidationError
		if assert.ErrorAs(t, err, &v, "%s %s", tc.kind, tc.account) {
			assert.Equal(t, tc.field, v.Field, "%s %s", tc.kind, tc.account)
			assert.NotContains(t, err.Error(), "4111111111111112")
		}
		_, err = c.Send(context.Background(), r)
		assert.ErrorAs(t, err, &v, "%s %s", tc.kind, tc.account)
	}
	assert.Empty(t, srv.Requests(), "a refused request reached QIWI")

	good := []payout.Destination{
		{Kind: payout.Wallet, Account: "79161234567"},
		{Kind: payout.Wallet, Account: "77012345678"},  // Kazakhstan
		{Kind: payout.Wallet, Account: "380501234567"}, // Ukraine
		{Kind: payout.Wallet, Account: "375291234567"}, // Belarus
		{Kind: payout.Wallet, Account: "998901234567"}, // Uzbekistan
		{Kind: payout.Wallet, Account: "37491234567"},  // Armenia
		{Kind: payout.Wallet, Account: "37251234567"},  // Estonia, 8 digits
		{Kind: payout.Wallet, Account: "3725123456"},   // Estonia, 7 digits
		{Kind: payout.Mobile, Account: "79161234567"},
		{Kind: payout.SBP, Account: "79161234567", Bank: bank},
		{Kind: payout.Card, Account: "4111111111111111"},
		{Kind: payout.Card, Account: "2200000000000004"},
	}
	for _, to := range good {
		r := payout.Request{Ref: newRef(), Amount: payments.MustMoney("50.00", "RUB"), To: to}
		assert.NoError(t, c.Check(r), "%s", to)
	}
	// A wallet the check takes is paid.
	r := payout.Request{Ref: newRef(), Amount: payments.MustMoney("50.00", "RUB"), To: payout.Destination{Kind: payout.Wallet, Account: "380501234567"}}
	_, err := c.Send(context.Background(), r)
	require.NoError(t, err)
	rec, ok := srv.Payment(r.Ref)
	require.True(t, ok)
	assert.Equal(t, "380501234567", rec.Account)
}
