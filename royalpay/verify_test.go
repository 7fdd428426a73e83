package royalpay

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCheckCallbackAuth(t *testing.T) {
	require.NoError(t, CheckCallbackAuth("Bearer t0ken", "t0ken"))
	for _, h := range []string{"", "t0ken", "Bearer t0ke", "Bearer t0ken ", "bearer t0ken", "Token t0ken", "Bearer  t0ken"} {
		err := CheckCallbackAuth(h, "t0ken")
		assert.ErrorIs(t, err, ErrCallbackAuth, "%q", h)
		if err != nil {
			assert.NotContains(t, err.Error(), "t0ken")
		}
	}
	// an empty token authenticates nothing
	assert.ErrorIs(t, CheckCallbackAuth("Bearer ", ""), ErrCallbackAuth)
}

func TestConfirmCallbacks(t *testing.T) {
	cb := Callback{ID: 7, OutterID: "O-1"}
	require.NoError(t, ConfirmCallback(cb, Payment{ID: 7, OutterID: "O-1"}))
	require.NoError(t, ConfirmCallback(cb, Payment{ID: 7, OutterID: "X", OutterIDFromForm: "O-1"}))
	require.NoError(t, ConfirmCallback(Callback{ID: 7}, Payment{ID: 7, OutterID: "O-1"}), "a callback without outter_id")
	err := ConfirmCallback(cb, Payment{ID: 7, OutterID: "O-2"})
	require.ErrorIs(t, err, ErrCallbackNotConfirmed)
	var me *CallbackMismatchError
	require.True(t, errors.As(err, &me))
	assert.Equal(t, "payment 7: callback outter_id does not match the API's", err.Error())

	pcb := PayoutCallback{ID: 9, OutterID: "PO-1"}
	require.NoError(t, ConfirmPayoutCallback(pcb, Payout{ID: 9, OutterID: "PO-1"}))
	assert.ErrorIs(t, ConfirmPayoutCallback(pcb, Payout{ID: 10, OutterID: "PO-1"}), ErrCallbackNotConfirmed)
	assert.EqualError(t, ConfirmPayoutCallback(pcb, Payout{ID: 9, OutterID: "PO-2"}), "payout 9: the API does not have it under that outter_id")
}
