package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/payout"
)

// FuzzReadFile: whatever the file holds, the check never panics, never
// both accepts and refuses, every refusal names its file and line, and a
// file it accepts has only rows of the documented shape: a ref of 1 to 64
// safe characters, unique; a positive whole number of kopecks, at most 12
// digits; a phone (10 to 12 digits) or a Luhn-valid card number; never a
// ref that looks like an account beside an account that does not. No
// error holds a card number or more than 400 bytes beside the path.
func FuzzReadFile(f *testing.F) {
	for _, seed := range []string{
		"ref,amount,account\n1000000001,15000,79161234567\n1000000002,250000,4111111111111111\n",
		"ref,amount,account\n1,12.5,79161234567\n1,100,abc\n",
		"ref,amount,account\n\"1\n",
		"",
		"ref,amount,account\n1,100,4111111111111112\n",
		"ref,amount,account\n79161234567,15000,1000000001\n",
		"account,amount,ref\n1000000001,15000,79161234567\n",
		"4111111111111111,1,2\n1,\"4111 1111 1111 1111\",x\n",
	} {
		f.Add([]byte(seed))
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(dir, "in.csv")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		rows, errs := readFile(path, payout.Mobile)
		for _, e := range errs {
			if !strings.HasPrefix(e, path) {
				t.Fatalf("error without the file's name: %q", e)
			}
			if pan, ok := cardRun(e); ok {
				t.Fatalf("a card number %s in an error", payments.MaskPAN(pan))
			}
			if len(e) > len(path)+400 {
				t.Fatalf("an error of %d bytes", len(e))
			}
		}
		if len(errs) > 0 {
			return // refused: nothing is paid, whatever rows came back
		}
		seen := map[string]bool{}
		for _, r := range rows {
			if !refForm.MatchString(r.req.Ref) || seen[r.req.Ref] {
				t.Fatalf("accepted ref %q", r.req.Ref)
			}
			seen[r.req.Ref] = true
			kop, err := r.req.Amount.Minor()
			if err != nil || kop <= 0 || kop >= 1e12 || r.req.Amount.Currency != "RUB" {
				t.Fatalf("accepted amount %v", r.req.Amount)
			}
			a := r.req.To.Account
			if _, err := strconv.ParseUint(a, 10, 64); err != nil && len(a) < 20 {
				t.Fatalf("accepted account %q", a)
			}
			switch r.req.To.Kind {
			case payout.Mobile:
				if len(a) < 10 || len(a) > 12 {
					t.Fatalf("accepted phone %q", a)
				}
			case payout.Card:
				if len(a) < 13 || len(a) > 19 || !payments.LuhnValid(a) {
					t.Fatalf("accepted card %q", a)
				}
			default:
				t.Fatalf("accepted kind %q", r.req.To.Kind)
			}
			if accountLike(r.req.Ref) != "" && accountLike(a) == "" {
				t.Fatalf("accepted a swapped row: ref %s, account %s", payments.MaskPAN(r.req.Ref), a)
			}
			if err := r.req.To.Validate(); err != nil {
				t.Fatalf("accepted a destination payout refuses: %v", err)
			}
			if r.line < 2 {
				t.Fatalf("a row on line %d", r.line)
			}
		}
	})
}
