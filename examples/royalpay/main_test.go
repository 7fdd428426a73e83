package main

import (
	"bytes"
	"context"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDemoAgainstTheEmbeddedFake(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out bytes.Buffer
	require.NoError(t, run(ctx, &out, func(string) string { return "" }))
	assert.Regexp(t, regexp.MustCompile(`^royalpay: no ROYALPAY_TOKEN, running against the embedded fake server
created payment 10442449 for 1500.00 \(ORD-982134\): created
pay by SBP to \+7\d{10}, .+ \(.+\)
payment link: https://pay-dev\.royalsfinance\.app/deeplink/[0-9a-f-]{36}
callback: completed, confirmed by the API: completed 1500.00
payout 2688 of 500 to 411111\*\*\*\*\*\*1111 \(PAYOUT-ORD-982134\): pending
payout callback: wait_confirm, confirmed by the API: answered 200, the payout is activated
payout callback: completed, confirmed by the API: completed
$`), out.String())
}

func TestRealModeNeedsABaseURL(t *testing.T) {
	err := run(context.Background(), &bytes.Buffer{}, func(k string) string {
		return map[string]string{"ROYALPAY_TOKEN": "x"}[k]
	})
	assert.ErrorContains(t, err, "ROYALPAY_URL")
}
