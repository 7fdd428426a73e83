package main

import (
	"bytes"
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDemoAgainstTheEmbeddedFake(t *testing.T) {
	var out bytes.Buffer
	err := run(context.Background(), &out, func(string) string { return "" })
	require.NoError(t, err)
	assert.Equal(t, `popolni: no POPOLNI_LOGIN, running against the embedded fake server
balance: 1000.00, credit limit 100.00
paid 1000000001: 5.00 to 380991234567, status 0 received, being processed
paid 1000000002: 20.00 to 411111******1111, status 0 received, being processed
final 1000000001: 3 succeeded (succeeded)
final 1000000002: 3 succeeded (succeeded)
balance: 975.00, credit limit 100.00
`, out.String())
}

func TestRealModeRefusesToPayMadeUpAccounts(t *testing.T) {
	env := map[string]string{"POPOLNI_LOGIN": "l", "POPOLNI_PASSWORD": "p"}
	err := run(context.Background(), &bytes.Buffer{}, func(k string) string { return env[k] })
	assert.ErrorContains(t, err, "POPOLNI_ACCOUNTS")
}
