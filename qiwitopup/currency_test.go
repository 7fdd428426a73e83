package qiwitopup

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/paysdk/payments"
)

// The document takes "цифровой или буквенный код валюты по ISO 4217"
// (_topup_ru.html.md, from/ccy and to/ccy): a code that is not one is
// refused before anything is sent, whatever the call.
func TestCurrencyNotInISO4217IsRefusedBeforeSending(t *testing.T) {
	c, cp := mockClient(t, PasswordAuth("123", "pw"), 200, fixture(t, "topup_ru_02_response.xml"))
	ctx := context.Background()
	for _, bad := range []string{"XYZ", "ABC", "QQQ", "000", "999", "12", "RUBL", "руб"} {
		_, err := c.PayWallet(ctx, WalletPayment{Common: Common{TransactionNumber: "1", Amount: 100, Currency: bad}, Phone: "79181234567"})
		assertRefused(t, err, "Currency", bad)
		_, err = c.PayWallet(ctx, WalletPayment{Common: Common{TransactionNumber: "1", Amount: 100, FromCurrency: bad}, Phone: "79181234567"})
		assertRefused(t, err, "FromCurrency", bad)
		_, err = c.PayMobile(ctx, MobilePayment{Common: Common{TransactionNumber: "1", Amount: 100, Currency: bad}, Phone: "79161234567", ProviderID: 1, LocalPhone: "9161234567"})
		assertRefused(t, err, "Currency", bad)
		_, err = c.CheckUser(ctx, "79181234567", bad)
		assertRefused(t, err, "ccy", bad)
		_, err = c.CheckDepositPossible(ctx, "79181234567", true, bad)
		assertRefused(t, err, "ccy", bad)
		_, err = c.Payout(ctx, WalletPayment{Common: Common{TransactionNumber: "1", Amount: 100, Currency: bad}, Phone: "79181234567"}, PayoutOptions{})
		assertRefused(t, err, "Currency", bad)
	}
	assert.Empty(t, cp.bodies, "nothing sent")

	// The payouts the document limits to RUB ("только RUB": cards 34020 and
	// 32911, SBP) refuse any other real currency.
	for _, ccy := range []string{"USD", "840", "EUR"} {
		_, err := c.PayCard(ctx, CardPayment{Common: Common{TransactionNumber: "1", Amount: 100, Currency: ccy}, CardNumber: "4265111122334411"})
		assertRefused(t, err, "Currency", ccy)
		_, err = c.PayCardSpec(ctx, CardSpecPayment{Common: Common{TransactionNumber: "1", Amount: 100, Currency: ccy}, Phone: "+79991112233", CardNumber: "4265111122334411"})
		assertRefused(t, err, "Currency", ccy)
		_, err = c.PaySBP(ctx, SBPPayment{Common: Common{TransactionNumber: "1", Amount: 100, Currency: ccy}, Phone: "70070310009", BankID: "100000000008"})
		assertRefused(t, err, "Currency", ccy)
	}
	assert.Empty(t, cp.bodies, "nothing sent")

	// Real codes, letters or digits, any case, go out as given (upper-cased).
	for _, good := range []string{"RUB", "rub", "643", "USD", "840", "EUR", "978", "KZT", "398", "428"} {
		_, err := c.PayWallet(ctx, WalletPayment{Common: Common{TransactionNumber: "12345678", Amount: 100, Currency: good}, Phone: "79181234567"})
		require.NoError(t, err, good)
	}
	assert.Len(t, cp.bodies, 10)
}

func assertRefused(t *testing.T, err error, field, value string) {
	t.Helper()
	var ve *payments.ValidationError
	if assert.ErrorAs(t, err, &ve, "%s %q", field, value) {
		assert.Equal(t, field, ve.Field, value)
	}
	assert.ErrorIs(t, err, payments.ErrInvalidRequest)
}
