package qiwitopup

import (
	"bytes"
	"encoding/xml"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The <payment> attributes are read by local name, whatever their prefix;
// the mandatory ones are told apart from empty ones; result-code may come
// spelled with the Cyrillic "с" of the status examples.
func TestPaymentAttributes(t *testing.T) {
	const tail = ` final-status='true' fatal-error='false'/></response>`
	for _, tc := range []struct {
		name, attrs string
		status      Status
		code        ResultCode
		final       bool
		err         string
	}{
		{"all", `status='60' txn_id='1' transaction-number='7' result-code='0'`, 60, 0, true, ""},
		{"cyrillic result-code", `status='60' txn_id='1' transaction-number='7' result-` + "\u0441" + `ode='215'`, 60, 215, true, ""},
		{"both spellings: the Latin one", `status='60' transaction-number='7' result-` + "\u0441" + `ode='215' result-code='3'`, 60, 3, true, ""},
		{"prefixed", `xmlns:q='urn:q' q:status='50' transaction-number='7' q:result-code='0'`, 50, 0, true, ""},
		{"repeated under two prefixes: the last", `xmlns:q='urn:q' q:status='50' status='60' transaction-number='7' result-code='0'`, 60, 0, true, ""},
		{"empty status", `status='' transaction-number='7' result-code='0'`, 0, 0, false, "not a number"},
		{"no status", `transaction-number='7' result-code='0'`, 0, 0, false, "without status"},
		{"no result-code", `status='60' transaction-number='7'`, 0, 0, false, "without result-code"},
		{"no transaction-number", `status='60' result-code='0'`, 0, 0, false, "without transaction-number"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := decodeResponse([]byte(`<response><payment ` + tc.attrs + tail))
			if tc.err != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tc.err)
				return
			}
			require.NoError(t, err)
			require.Len(t, r.Payments, 1)
			p := r.Payments[0]
			assert.Equal(t, tc.status, p.Status)
			assert.Equal(t, tc.code, p.ResultCode)
			assert.Equal(t, tc.final, p.FinalStatus)
			assert.Equal(t, "7", p.TransactionNumber)
		})
	}
	_, err := decodeResponse([]byte(`<response><payment status='60' transaction-number='7' result-code='0'/></response>`))
	assert.ErrorContains(t, err, "without final-status")
}

// escape writes what xml.EscapeText writes.
func FuzzEscape(f *testing.F) {
	for _, s := range []string{"", "79181234567", "pass<&>\"'word", "it's", "say \"hi\"", "a&b", "a<b", "a>b", "tab\there", "\x00\x7f", "Привет", "\xff\xfe", "a\r\nb", "~ !#$%()*+,-./:;=?@[]^_`{|}"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var got, want bytes.Buffer
		escape(&got, s)
		_ = xml.EscapeText(&want, []byte(s))
		assert.Equal(t, want.String(), got.String())
	})
}
