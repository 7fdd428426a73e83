package paykeeper

import (
	"errors"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/paysdk/payments"
)

func TestCheckNotificationForm(t *testing.T) {
	ok := url.Values{"id": {"301"}, "sum": {"100.00"}, "key": {"abc"}}
	require.NoError(t, CheckNotificationForm(ok))
	for name, f := range map[string]url.Values{
		"id missing":    {"sum": {"100.00"}, "key": {"abc"}},
		"sum missing":   {"id": {"301"}, "key": {"abc"}},
		"key missing":   {"id": {"301"}, "sum": {"100.00"}},
		"id repeated":   {"id": {"301", "302"}, "sum": {"100.00"}, "key": {"abc"}},
		"leading zero":  {"id": {"0301"}, "sum": {"100.00"}, "key": {"abc"}},
		"one decimal":   {"id": {"301"}, "sum": {"100.0"}, "key": {"abc"}},
		"zero sum":      {"id": {"301"}, "sum": {"0.00"}, "key": {"abc"}},
		"a card for id": {"id": {"4111111111111111x"}, "sum": {"1.00"}, "key": {"abc"}},
	} {
		err := CheckNotificationForm(f)
		assert.ErrorIs(t, err, ErrNotificationInvalid, name)
		if err != nil {
			assert.NotContains(t, err.Error(), "4111111111111111", name)
		}
	}
	// ParseNotification runs the same checks first: without a valid key
	// a bad form is ErrNotificationInvalid, never ErrBadSignature.
	_, err := ParseNotification(url.Values{"id": {"301"}, "sum": {"100"}, "key": {"abc"}}, "seed")
	assert.ErrorIs(t, err, ErrNotificationInvalid)
}

func TestConfirmNotification(t *testing.T) {
	n := Notification{ID: "301", Sum: payments.MustDecimal("100.00"), OrderID: "O-1"}
	p := Payment{ID: "301", Amount: payments.MustDecimal("100"), OrderID: "O-1", Status: PaymentSuccess}
	require.NoError(t, ConfirmNotification(n, p))
	for field, q := range map[string]Payment{
		"id":       {ID: "30", Amount: p.Amount, OrderID: "O-1", Status: PaymentSuccess},
		"sum":      {ID: "301", Amount: payments.MustDecimal("1100"), OrderID: "O-1", Status: PaymentSuccess},
		"order id": {ID: "301", Amount: p.Amount, OrderID: "O-2", Status: PaymentSuccess},
		"status":   {ID: "301", Amount: p.Amount, OrderID: "O-1", Status: PaymentCanceled},
	} {
		err := ConfirmNotification(n, q)
		require.ErrorIs(t, err, ErrNotConfirmed, field)
		var me *NotificationMismatchError
		require.True(t, errors.As(err, &me), field)
		assert.Equal(t, field, me.Field)
		assert.Contains(t, err.Error(), "payment 301: the "+field)
	}
}
