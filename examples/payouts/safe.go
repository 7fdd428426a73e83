package main

import (
	"github.com/paysdk/payments/internal/payoutjob"
	"github.com/paysdk/payments/payout"
)

// The file's checks are internal/payoutjob's; these names are the ones
// this program's tests read them by.

// row is one checked line of the file.
type row struct {
	line int
	req  payout.Request
}

// readFile is payoutjob.ReadFile.
func readFile(path string, phoneKind payout.Kind) ([]row, []string) {
	rs, errs := payoutjob.ReadFile(path, phoneKind)
	rows := make([]row, len(rs))
	for i, r := range rs {
		rows[i] = row{line: r.Line, req: r.Req}
	}
	return rows, errs
}

// refForm is the form of a ref the file may hold.
var refForm = payoutjob.RefForm

// accountLike is payoutjob.AccountLike.
func accountLike(s string) string { return payoutjob.AccountLike(s) }

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
