package payments_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/paysdk/payments"
)

func TestParseMoneyNeverPanics(t *testing.T) {
	m, err := payments.ParseMoney("1205.98", "RUB")
	require.NoError(t, err)
	assert.Equal(t, "1205.98 RUB", m.String())
	for _, bad := range [][2]string{{"12.345", "RUB"}, {"1e3", "RUB"}, {" 5", "RUB"}, {"", "RUB"}, {"NaN", "RUB"},
		{"5", "XXX1"}, {"5", ""}, {"--5", "RUB"}, {"1E2", "RUB"}} {
		assert.NotPanics(t, func() {
			_, err := payments.ParseMoney(bad[0], bad[1])
			assert.ErrorIs(t, err, payments.ErrInvalidRequest, "%q %q", bad[0], bad[1])
		})
	}
}

func FuzzParseMoney(f *testing.F) {
	f.Add("1205.98", "RUB")
	f.Add("12.345", "RUB")
	f.Add("-0.01", "USD")
	f.Fuzz(func(t *testing.T, amount, currency string) {
		m, err := payments.ParseMoney(amount, currency)
		if err != nil {
			require.ErrorIs(t, err, payments.ErrInvalidRequest)
			return
		}
		// A success is exact: it prints back to an equal amount.
		again, err := payments.ParseMoney(m.Amount.String(), m.Currency)
		require.NoError(t, err)
		require.True(t, again.Equal(m))
	})
}

func ExampleParseMoney() {
	m, err := payments.ParseMoney("1205.98", "RUB")
	fmt.Println(m, err)
	_, err = payments.ParseMoney("12.345", "RUB")
	fmt.Println(err)
	// Output:
	// 1205.98 RUB <nil>
	// payments: invalid amount: 12.345 RUB: amount is not exact in the asked precision: 12.345 with 2 decimals
}
