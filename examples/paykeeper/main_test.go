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
payment \d+ \d{4}-\d\d-\d\d 2400.50 success, running total 2400.50
payment \d+ \d{4}-\d\d-\d\d 1500.00 success, running total 3900.50
refunded 100.00 of payment \d+
refund #1 of payment \d+: 100.00, 2300.50 left, done
$`), out.String())
}
