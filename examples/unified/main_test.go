package main

import (
	"bytes"
	"context"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestDemoAgainstTheEmbeddedFakes(t *testing.T) {
	// The demo closes its clients, its listener and the fakes.
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var out bytes.Buffer
	require.NoError(t, run(ctx, &out, func(string) string { return "" }))
	assert.Regexp(t, regexp.MustCompile(`^popolni: no POPOLNI_LOGIN, running against the embedded fake server
qiwitopup: no QIWI_TERMINAL_ID, running against the embedded fake server
payout 1000000001: 50.00 RUB to mobile:79161234567 via popolni, pending
payout 1000000001: succeeded
payout 1000000002: 120.00 RUB to sbp:79161234567@100000000111 via qiwitopup, pending
payout 1000000002: succeeded
paykeeper: no PAYKEEPER_URL, running against the embedded fake server
royalpay: no ROYALPAY_TOKEN, running against the embedded fake server
checkout paykeeper A-1003 for 990.00 RUB: pay at https://\S+/bill/\d+/?
checkout royalpay ORD-982134 for 1500.00 RUB: pay by SBP to \+7\d{10}, .+ \(.+\)
notification paykeeper A-1003: succeeded 990.00 RUB, confirmed by the API
notification royalpay ORD-982134: succeeded 1500.00 RUB, confirmed by the API
$`), out.String())
}
