package ledger_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/ledger"
	"github.com/paysdk/payments/payout"
)

// TestRecordNeverShowsACardNumber: whatever the verb, a record prints the
// card masked, with the provider's code and text.
func TestRecordNeverShowsACardNumber(t *testing.T) {
	r := ledger.Record{Ref: "1001", Provider: "popolni", Status: ledger.Failed, Amount: payments.MustMoney("12.50", "RUB"),
		To: payout.Destination{Kind: payout.Card, Account: "4111111111111111"}, Code: "423", Message: "423 blacklisted"}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%d"} {
		out := fmt.Sprintf(verb, r) + fmt.Sprintf(verb, []ledger.Record{r}) + fmt.Sprintf(verb, &r)
		require.NotContains(t, out, "4111111111111111", verb)
	}
	require.Equal(t, "1001 failed 12.50 RUB to card:411111******1111 at popolni (423 blacklisted)", r.String())
	r.Message = "blacklisted"
	require.Equal(t, "1001 failed 12.50 RUB to card:411111******1111 at popolni (code 423: blacklisted)", r.String())
}
