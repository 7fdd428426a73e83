package royalpay

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/paysdk/payments"
)

// TestCreatePayoutAnswerWithoutStatus: the payout page's example answer
// opens with id, bank, nspk_code and requisite and the excerpt does not
// show a status. An answer carrying the payout's id and our outter_id is
// the payout created (pending, never failed or succeeded) whether or not a
// status follows; without our outter_id it proves nothing and stays
// outcome-unknown.
func TestCreatePayoutAnswerWithoutStatus(t *testing.T) {
	const head = `"id": 2688, "bank": "Tinkoff", "nspk_code": null, "requisite": "79161234567"`
	for _, body := range []string{
		`{` + head + `, "outter_id": "PAYOUT-2688"}`,
		`{` + head + `, "status": null, "amount": 1500, "outter_id": "PAYOUT-2688"}`,
		`{` + head + `, "status": "", "outter_id": "PAYOUT-2688"}`,
	} {
		c, log, _ := payoutMock(t, 201, body)
		p, err := c.CreatePayout(context.Background(), docPayout)
		require.NoError(t, err, body)
		assert.Len(t, *log, 1)
		assert.Equal(t, int64(2688), p.ID, body)
		assert.Equal(t, "PAYOUT-2688", p.OutterID, body)
		assert.Equal(t, PayoutStatus(""), p.Status, "no status word is made up: %s", body)
		assert.Equal(t, payments.StatePending, p.State(), body)
		assert.False(t, p.State().Final(), body)
	}
	for _, body := range []string{
		`{` + head + `}`,                             // no outter_id: nothing says it is ours
		`{` + head + `, "outter_id": null}`,          // the same
		`{` + head + `, "outter_id": ""}`,            // the same
		`{` + head + `, "outter_id": "OTHER"}`,       // someone else's
		`{` + head + `, "outter_id": "payout-2688"}`, // not exactly ours
		`{"outter_id": "PAYOUT-2688"}`,               // no id
		`{"id": 0, "outter_id": "PAYOUT-2688"}`,      // no positive id
		`{"id": 2688, "status": 5, "outter_id": "PAYOUT-2688", "bank": {}}`,
	} {
		c, _, n := payoutMock(t, 201, body)
		_, err := c.CreatePayout(context.Background(), docPayout)
		assert.ErrorIs(t, err, payments.ErrOutcomeUnknown, body)
		var ou *payments.OutcomeUnknownError
		if assert.ErrorAs(t, err, &ou, body) {
			assert.Equal(t, "PAYOUT-2688", ou.Ref)
		}
		assert.EqualValues(t, 1, n.Load(), "never resent: %s", body)
	}
	// With a status, as before: the status says the state, and an answer
	// without outter_id is ours (it answers our POST).
	for body, want := range map[string]payments.State{
		`{` + head + `, "status": "pending"}`:                                           payments.StatePending,
		`{` + head + `, "status": "wait_confirm", "outter_id": "PAYOUT-2688"}`:          payments.StatePending,
		`{` + head + `, "status": "completed", "outter_id": "PAYOUT-2688"}`:             payments.StateSucceeded,
		`{` + head + `, "status": "failed_to_send_payout", "outter_id": "PAYOUT-2688"}`: payments.StateFailed,
	} {
		c, _, _ := payoutMock(t, 201, body)
		p, err := c.CreatePayout(context.Background(), docPayout)
		require.NoError(t, err, body)
		assert.Equal(t, want, p.State(), body)
		assert.Equal(t, p.Status.State(), p.State(), body)
		assert.Equal(t, "PAYOUT-2688", p.OutterID, body)
	}
}

// TestPayoutStateOfAZeroPayout: a Payout that is not a created payout (no
// id, no status) has no state to report.
func TestPayoutStateOfAZeroPayout(t *testing.T) {
	assert.Equal(t, payments.StateUnknown, Payout{}.State())
	assert.Equal(t, payments.StateUnknown, Payout{ID: 1, Status: "refund"}.State())
}
