package main

import (
	"bytes"
	"context"
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
	assert.Equal(t, `qiwitopup: no QIWI_TERMINAL_ID, running against the embedded fake server
balance before: 643 100000.00
deposit to 79181234567 possible: true (wallet exists: false)
payment 12345678 (QIWI txn 20323739405): 60 succeeded, succeeded; debited 1115.00, credited 1115.00
balance after: 643 98885.00
`, out.String())
}

func TestRealModeRefusesToPayAMadeUpWallet(t *testing.T) {
	err := run(context.Background(), &bytes.Buffer{}, func(k string) string {
		return map[string]string{"QIWI_TERMINAL_ID": "123", "QIWI_PASSWORD": "x"}[k]
	})
	assert.ErrorContains(t, err, "QIWI_PHONE")
}
