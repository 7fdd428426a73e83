package main

import (
	"bytes"
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSession runs the scripted session and checks what each step answers:
// the balance, the payout sent and settled, the batch paid through the
// ledger, and reconciliation finding the one planted difference, with the
// fake's credentials nowhere in the output.
func TestSession(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	var out bytes.Buffer
	require.NoError(t, run(ctx, &out), out.String())
	s := out.String()
	for _, re := range []string{
		`(?m)^popolni +https://127\.0\.0\.1:\d+/api +https://127\.0\.0\.1:\d+/_fake/$`,
		`(?m)^credentials: in \$TMP/payments-fake\.env`,
		`(?m)^popolni +1000000\.00 RUB$`,
		`(?m)^1000000001 +popolni +pending +50\.00 RUB +mobile:79161234567`,
		`(?m)^1000000001 +popolni +succeeded`,
		`(?m)^payments ledger run: all 3 rows final: 3 succeeded, 0 failed$`,
		`(?m)^1000000102 +popolni +succeeded +2500\.00 RUB +mobile:79031112233`,
		`(?m)^checked 3 records at 1 provider, 0 differences$`,
		`(?m)^final_disagrees +1000000102 +popolni .*recorded succeeded, but the provider says canceled$`,
		`(?m)^checked 3 records at 1 provider, 1 difference\n\(exit status 6\)\n$`,
	} {
		assert.Regexp(t, regexp.MustCompile(re), s)
	}
	// The one difference is the planted one.
	assert.Equal(t, 1, strings.Count(s, "final_disagrees "), s)
	assert.NotContains(t, s, "PASSWORD=")
	assert.NotContains(t, s, "LOGIN=")
}
