package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/qiwitopup/qiwitopuptest"
)

// swapped is rows with the ref and account columns swapped: the account in
// the ref column, the ref in the account column, under the right header.
func swapped(rows []csvRow) string {
	var b strings.Builder
	b.WriteString("ref,amount,account\n")
	for _, r := range rows {
		fmt.Fprintf(&b, "%s,%d,%s\n", r.account, r.kopecks, r.ref)
	}
	return b.String()
}

// A file whose ref and account columns are swapped under the right header
// (79161234567,15000,1000000001) is refused whole, with the lines named,
// before anything is recorded or sent. The job paid 150.00 to "phone"
// 1000000001 under ref 79161234567: a ref of 10 digits has the loose form
// of a phone.
func TestSwappedColumnsPayNothing(t *testing.T) {
	for _, tc := range []struct {
		name  string
		rows  []csvRow
		lines []int // the lines named as swapped
	}{
		{"one phone row", demoRows[:1], []int{2}},
		{"one card row", demoRows[1:2], []int{2}},
		// Row 7's account (9161234567) has no country code, so swapped it
		// is not a phone in the ref column; the others give the file away.
		{"the demo", demoRows, []int{2, 3, 4, 5, 6, 7, 9, 10, 11, 12, 13}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newFake(t)
			dir := t.TempDir()
			store, file := filepath.Join(dir, "payouts.db"), filepath.Join(dir, "payouts.csv")
			require.NoError(t, os.WriteFile(file, []byte(swapped(tc.rows)), 0o600))
			r := runJob(t, file, fakeEnv(srv, store), fakeHooks(t, srv))
			assert.Equal(t, exitUsage, r.code, "stdout:\n%s\nstderr:\n%s", r.out, r.errOut)
			assert.NotContains(t, r.out, "final:")
			for _, line := range tc.lines {
				assert.Regexp(t, fmt.Sprintf(`(?m)^%s:%d: ref .* looks like .*account .* looks like a ref.*swapped`, regexpQuote(file), line), r.errOut)
			}
			assert.Contains(t, r.errOut, "nothing was paid")
			assert.Empty(t, srv.Payments(), "the provider paid something")
			assert.Empty(t, srv.Requests(), "the provider was asked something")
			_, err := os.Stat(store)
			assert.True(t, errors.Is(err, os.ErrNotExist), "the store was made: %v", err)
			assertNoCardRun(t, r.out+r.errOut)
		})
	}
}

func regexpQuote(s string) string {
	var b strings.Builder
	for _, c := range s {
		if strings.ContainsRune(`\.+*?()|[]{}^$`, c) {
			b.WriteByte('\\')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// A header with the columns in another order is refused with what it says
// and what the job reads, whatever the rows hold: the job reads columns by
// position only.
func TestSwappedHeader(t *testing.T) {
	dir := t.TempDir()
	for _, header := range []string{"account,amount,ref", "amount,ref,account", "Ref, Amount, Account"} {
		file := filepath.Join(dir, "payouts.csv")
		body := header + "\n1000000001,15000,79161234567\n"
		require.NoError(t, os.WriteFile(file, []byte(body), 0o600))
		_, errs := readFile(file, "mobile")
		require.NotEmpty(t, errs, header)
		assert.Contains(t, errs[0], file+":1: ", header)
		assert.Contains(t, errs[0], "ref,amount,account", header)
		if header != "Ref, Amount, Account" {
			assert.Contains(t, errs[0], "in another order", header)
		}
	}
}

// The per-provider checks run before anything is recorded: through QIWI,
// 1000000001 as a wallet (10 digits, no country code QIWI serves) and
// 380991234567 as a mobile number (QIWI tops up Russian numbers only) are
// refused with their lines, nothing recorded, nothing sent.
func TestProviderPhoneRulesBeforeRecording(t *testing.T) {
	for _, tc := range []struct {
		name, kind, account string
	}{
		{"wallet, a ref", "wallet", "1000000001"},
		{"mobile, a ref", "mobile", "1000000001"},
		{"wallet, no country code", "wallet", "9161234567"},
		{"mobile, Ukrainian", "mobile", "380991234567"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := qiwitopuptest.NewServer(qiwitopuptest.WithT(t))
			dir := t.TempDir()
			store, file := filepath.Join(dir, "payouts.db"), filepath.Join(dir, "payouts.csv")
			writeCSV(t, file, []csvRow{{"2000000001", 15000, "79161234567"}, {"2000000002", 15000, tc.account}})
			env := map[string]string{"QIWI_TERMINAL_ID": srv.TerminalID(), "QIWI_PASSWORD": srv.Password(),
				"PAYMENTS_STORE": store, "PAYOUTS_PHONE_KIND": tc.kind}
			r := runJob(t, file, env, hooks{client: append(srv.ClientOptions(), payments.WithTestTiming()), ledger: fastLedger})
			assert.Equal(t, exitUsage, r.code, "stdout:\n%s\nstderr:\n%s", r.out, r.errOut)
			assert.Contains(t, r.errOut, file+":3: ")
			assert.NotContains(t, r.errOut, file+":2: ")
			assert.Contains(t, r.errOut, "payouts: 1 rows qiwitopup cannot take: nothing was paid")
			assert.Zero(t, len(srv.Requests()), "QIWI was asked something")
			assert.Empty(t, listStore(t, store), "rows were recorded")
		})
	}
}

// cardRun finds, in s, a card number: a run of 13 to 19 digits (single
// spaces or dashes between them allowed, as card numbers are written) that
// passes the Luhn check, anywhere inside a longer run of digits too.
func cardRun(s string) (string, bool) {
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) || (i > 0 && isDigit(s[i-1])) {
			continue
		}
		var ds []byte
		for j := i; j < len(s); j++ {
			if isDigit(s[j]) {
				ds = append(ds, s[j])
			} else if !((s[j] == ' ' || s[j] == '-') && j+1 < len(s) && isDigit(s[j+1]) && j > 0 && isDigit(s[j-1])) {
				break
			}
		}
		for from := 0; from+13 <= len(ds); from++ {
			for n := 13; n <= 19 && from+n <= len(ds); n++ {
				if payments.LuhnValid(string(ds[from : from+n])) {
					return string(ds[from : from+n]), true
				}
			}
		}
	}
	return "", false
}

// lineBound bounds every line the job prints.
const lineBound = 1024

// assertNoCardRun fails on a card number anywhere in out, and on a line
// longer than lineBound.
func assertNoCardRun(t testing.TB, out string) {
	t.Helper()
	if pan, ok := cardRun(out); ok {
		t.Errorf("a card number %s in the output:\n%s", payments.MaskPAN(pan), payments.MaskPAN(cut(out, 4000)))
	}
	for _, line := range strings.Split(out, "\n") {
		if len(line) > lineBound {
			t.Errorf("a line of %d bytes: %s", len(line), payments.MaskPAN(cut(line, 200)))
		}
	}
}

func cut(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

func TestCardRunFinds(t *testing.T) {
	for _, s := range []string{"4111111111111111", "x 4111 1111 1111 1111 y", "4111-1111-1111-1111", "9941111111111111119", "ref 41111111111111110000,"} {
		_, ok := cardRun(s)
		assert.True(t, ok, s)
	}
	for _, s := range []string{"411111******1111", "79161234567", "1000000001 and 1000000002", "411111111111", "4111 1111  1111 1111"} {
		_, ok := cardRun(s)
		assert.False(t, ok, s)
	}
}

// No card number in anything the job prints, wherever the file puts one
// (header, ref, amount, account, an extra column, quoted, with spaces or
// dashes, next to other digits), and no line longer than lineBound, a field
// of 1 MB included: what is echoed of a field is capped, with its length.
func TestNoCardNumberInAnyOutput(t *testing.T) {
	const pan = "4111111111111111"
	big := strings.Repeat("x", 1<<20)
	bigDigits := strings.Repeat(pan, 1<<16) // 1 MB of card numbers
	for _, tc := range []struct{ name, body string }{
		{"no header, a card row first", pan + ",15000,79161234567\n1000000001,15000,79161234567\n"},
		{"card in the header", "ref,amount," + pan + "\n"},
		{"card as an extra header column", "ref,amount,account," + pan + "\n"},
		{"card with spaces in the header", `"4111 1111 1111 1111",amount,account` + "\n"},
		{"card as a bad ref", "ref,amount,account\n" + pan + "x,15000,79161234567\n"},
		{"card with spaces as a ref", "ref,amount,account\n\"4111 1111 1111 1111\",15000,79161234567\n"},
		{"card with dashes as a ref", "ref,amount,account\n4111-1111-1111-1111,15000,79161234567\n"},
		{"card as a ref twice", "ref,amount,account\n" + pan + ",15000,79161234567\n" + pan + ",15000,79161234567\n"},
		{"card as a ref, swapped", "ref,amount,account\n" + pan + ",15000,1000000001\n"},
		{"card as a ref, paid", "ref,amount,account\n" + pan + ",15000,79161234567\n"},
		{"card as the amount", "ref,amount,account\n1000000001," + pan + ",79161234567\n"},
		{"card with spaces as the amount", "ref,amount,account\n1000000001, 4111 1111 1111 1111 ,79161234567\n"},
		{"card and more digits as the account", "ref,amount,account\n1000000001,15000," + pan + "0000\n"},
		{"digits and a card as the account", "ref,amount,account\n1000000001,15000,99" + pan + "\n"},
		{"card and letters as the account", "ref,amount,account\n1000000001,15000," + pan + "abc\n"},
		{"quoted card with spaces as the account", "ref,amount,account\n1000000001,15000,\" 4111 1111 1111 1111 \"\n"},
		{"card with a newline in a quoted account", "ref,amount,account\n1000000001,15000,\"4111111111111111\n\"\n"},
		{"card in an extra column", "ref,amount,account\n1000000001,15000,79161234567," + pan + "\n"},
		{"card in a bare quote", "ref,amount,account\n1000000001,15000,4111\"111111111111\n"},
		{"1 MB ref", "ref,amount,account\n" + big + ",15000,79161234567\n"},
		{"1 MB amount", "ref,amount,account\n1000000001," + big + ",79161234567\n"},
		{"1 MB account", "ref,amount,account\n1000000001,15000," + big + "\n"},
		{"1 MB of cards as the account", "ref,amount,account\n1000000001,15000," + bigDigits + "\n"},
		{"1 MB of cards as the ref", "ref,amount,account\n" + bigDigits + ",15000,79161234567\n"},
		{"1 MB header", big + "\n"},
		{"1 MB of cards as the header", bigDigits + ",amount,account\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newFake(t)
			dir := t.TempDir()
			store, file := filepath.Join(dir, "payouts.db"), filepath.Join(dir, "payouts.csv")
			require.NoError(t, os.WriteFile(file, []byte(tc.body), 0o600))
			r := runJob(t, file, fakeEnv(srv, store), fakeHooks(t, srv))
			t.Logf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, payments.MaskPAN(cut(r.out, 2000)), payments.MaskPAN(cut(r.errOut, 2000)))
			assertNoCardRun(t, r.out+r.errOut)
		})
	}
}
