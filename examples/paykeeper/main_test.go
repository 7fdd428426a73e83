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

func TestDemoAgainstTheEmbeddedFake(t *testing.T) {
	// The demo closes its client and the fake: nothing is left running.
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out bytes.Buffer
	require.NoError(t, run(ctx, &out, func(string) string { return "" }))
	assert.Regexp(t, regexp.MustCompile(`^paykeeper: no PAYKEEPER_URL, running against the embedded fake server
invoice \d+ for 990.00: pay at https://\S+/bill/\d+/?
form link for 490.00 \(order A-1004\): https://\S+/create/\?\S*orderid=A-1004\S*&sign=[0-9a-f]{64}&sum=490.00
form accepted by the fake: 302 Found, payment page https://\S+/bill/\d+/
payment \d+ \d{4}-\d\d-\d\d 2400.50 success, running total 2400.50
payment \d+ \d{4}-\d\d-\d\d 1500.00 success, running total 3900.50
refunded 100.00 of payment \d+
refund #1 of payment \d+: 100.00, 2300.50 left, done
$`), out.String())
}
