package payoutjob

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/payout"
)

// Row is one checked line of the file.
type Row struct {
	Line int            // the line of the file, from 1 (the header)
	Req  payout.Request // the payout it asks for
}

var (
	// RefForm is the form of a ref the file may hold.
	RefForm = regexp.MustCompile(`^[0-9A-Za-z._-]{1,64}$`)
	// kopecks: at most 12 digits (under 10 billion roubles), so that a
	// card number in the amount column is refused, not sent.
	kopecks   = regexp.MustCompile(`^[1-9][0-9]{0,11}$`)
	phoneForm = regexp.MustCompile(`^[0-9]{10,12}$`)
	cardForm  = regexp.MustCompile(`^[0-9]{13,19}$`)
	maxErrors = 50
)

// header is the only header the job reads: it reads the columns by
// position.
var header = []string{"ref", "amount", "account"}

// ReadFile checks the whole file and returns its rows, or every error (up
// to 50) with its file:line. phoneKind is the kind of a phone number's
// payout (payout.Mobile, or payout.Wallet). No error holds a card number
// in clear or more than 64 bytes of a field.
func ReadFile(path string, phoneKind payout.Kind) ([]Row, []string) {
	f, err := os.Open(path)
	if err != nil {
		return nil, []string{err.Error()}
	}
	defer f.Close()
	cr := csv.NewReader(bufio.NewReader(f))
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	var (
		rows []Row
		errs []string
		seen = map[string]int{}
	)
	add := func(line int, format string, a ...any) {
		if len(errs) < maxErrors {
			errs = append(errs, fmt.Sprintf("%s:%d: ", path, line)+fmt.Sprintf(format, a...))
		}
	}
	first := true
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				add(pe.Line, "%v", pe.Err)
				if errors.Is(pe.Err, csv.ErrQuote) || errors.Is(pe.Err, csv.ErrBareQuote) {
					// The reader cannot find the next line of a broken
					// quote reliably: one error is enough.
					return nil, errs
				}
				continue
			}
			return nil, append(errs, fmt.Sprintf("%s: %v", path, err))
		}
		line, _ := cr.FieldPos(0)
		if first {
			first = false
			if msg := checkHeader(rec); msg != "" {
				add(line, "%s", msg)
			}
			continue
		}
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue
		}
		if len(rec) != 3 {
			add(line, "%d fields, want 3: ref,amount,account", len(rec))
			continue
		}
		ref, amount, account := strings.TrimSpace(rec[0]), strings.TrimSpace(rec[1]), strings.TrimSpace(rec[2])
		ok := true
		if !RefForm.MatchString(ref) {
			add(line, "bad ref %s: 1 to 64 letters, digits, dots, dashes or underscores", show(ref))
			ok = false
		} else if prev, dup := seen[ref]; dup {
			add(line, "ref %s already on line %d", maskDigits(ref), prev)
			ok = false
		} else {
			seen[ref] = line
		}
		var kop int64
		if !kopecks.MatchString(amount) {
			add(line, "bad amount %s: kopecks, a positive whole number of at most 12 digits", show(amount))
			ok = false
		} else {
			kop, _ = strconv.ParseInt(amount, 10, 64)
		}
		to := payout.Destination{Account: account}
		switch {
		case phoneForm.MatchString(account):
			to.Kind = phoneKind
		case cardForm.MatchString(account) && payments.LuhnValid(account):
			to.Kind = payout.Card
		case cardForm.MatchString(account):
			add(line, "bad account %s: a card number that fails the Luhn check", maskDigits(account))
			ok = false
		default:
			add(line, "bad account %s: a phone number (10 to 12 digits) or a card number (13 to 19 digits)", show(account))
			ok = false
		}
		if ok {
			// The columns swapped: an account in the ref column, a ref in
			// the account column. 79161234567,15000,1000000001 under the
			// right header would pay "phone" 1000000001.
			if what := AccountLike(ref); what != "" && AccountLike(account) == "" {
				add(line, "ref %s looks like %s and account %s looks like a ref (no country code): are the ref and account columns swapped? "+
					"The job reads ref,amount,account in that order", maskDigits(ref), what, account)
				ok = false
			}
		}
		if ok {
			rows = append(rows, Row{Line: line, Req: payout.Request{Ref: ref, Amount: payments.Money{Amount: payments.DecimalFromMinor(kop, 2), Currency: "RUB"}, To: to}})
		}
	}
	if first {
		add(1, "empty file: want a header line ref,amount,account")
	}
	return rows, errs
}
