package qiwitopup

import (
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/paysdk/payments"
)

// redacted stands for a secret in every printed form.
const redacted = "[REDACTED]"

// formatAs is the Format of the types that hold a secret or a card number
// (Client, Auth, CardPayment, CardSpecPayment, Payment): every verb prints
// s, their safe String — %v %s %q %x %X as they would print a string, with
// flags, width and precision, and any other verb (%d...) as %s — and %#v
// prints gs. Without a Format method %d, %x or a bad verb print a struct's
// raw fields, whatever its String says.
func formatAs(f fmt.State, verb rune, s, gs string) {
	switch verb {
	case 'v':
		if f.Flag('#') {
			_, _ = io.WriteString(f, gs)
			return
		}
		verb = 's'
	case 's', 'q', 'x', 'X':
	default:
		verb = 's'
	}
	_, _ = fmt.Fprintf(f, fmt.FormatString(f, verb), s)
}

// maskCard shows a card number as payments.MaskPAN does (first six, last
// four); a value MaskPAN leaves alone (12 digits, a typo) keeps only its
// last four characters.
func maskCard(s string) string {
	if m := payments.MaskPAN(s); m != s || s == "" {
		return m
	}
	if len(s) <= 4 {
		return strings.Repeat("*", len(s))
	}
	return strings.Repeat("*", len(s)-4) + s[len(s)-4:]
}

// String names the mode and the terminal; the password and the keys are
// [REDACTED].
func (a Auth) String() string {
	mode := a.mode
	if mode == "" {
		mode = "none"
	}
	s := "qiwitopup.Auth{" + mode + ", terminal " + a.terminalID
	if a.password != "" {
		s += ", password " + redacted
	}
	if a.signer != nil {
		s += ", " + string(a.alg) + " key " + redacted
	}
	if a.cert.PrivateKey != nil {
		s += ", certificate key " + redacted
	}
	return s + "}"
}

// GoString is String.
func (a Auth) GoString() string { return a.String() }

// Format prints String for every verb.
func (a Auth) Format(f fmt.State, verb rune) { formatAs(f, verb, a.String(), a.GoString()) }

// LogValue is String.
func (a Auth) LogValue() slog.Value { return slog.StringValue(a.String()) }

// String names the endpoint and the authentication, never its secrets.
func (c Client) String() string {
	return "qiwitopup.Client{" + c.t.BaseURL().String() + ", " + c.auth.String() + "}"
}

// GoString is String.
func (c Client) GoString() string { return c.String() }

// Format prints String for every verb: the client holds the password. It
// has a value receiver so that a Client value (*c) is covered too; fmt
// prints a nil *Client as <nil>.
func (c Client) Format(f fmt.State, verb rune) { formatAs(f, verb, c.String(), c.GoString()) }

// LogValue is String.
func (c *Client) LogValue() slog.Value {
	if c == nil {
		return slog.StringValue("qiwitopup.Client(nil)")
	}
	return slog.StringValue(c.String())
}

// String shows the payout with the card number masked.
func (p CardPayment) String() string {
	return fmt.Sprintf("qiwitopup.CardPayment{%s, Amount: %d, Currency: %s, Card: %s}",
		p.TransactionNumber, p.Amount, p.Currency, maskCard(p.CardNumber))
}

// GoString is String.
func (p CardPayment) GoString() string { return p.String() }

// Format prints String for every verb.
func (p CardPayment) Format(f fmt.State, verb rune) { formatAs(f, verb, p.String(), p.GoString()) }

// LogValue shows the payout with the card number masked.
func (p CardPayment) LogValue() slog.Value {
	return slog.GroupValue(slog.String("transaction_number", p.TransactionNumber), slog.Int64("amount", p.Amount),
		slog.String("currency", p.Currency), slog.String("card", maskCard(p.CardNumber)))
}

// String shows the payout with the card number masked.
func (p CardSpecPayment) String() string {
	return fmt.Sprintf("qiwitopup.CardSpecPayment{%s, Amount: %d, Currency: %s, Phone: %s, Card: %s}",
		p.TransactionNumber, p.Amount, p.Currency, p.Phone, maskCard(p.CardNumber))
}

// GoString is String.
func (p CardSpecPayment) GoString() string { return p.String() }

// Format prints String for every verb.
func (p CardSpecPayment) Format(f fmt.State, verb rune) { formatAs(f, verb, p.String(), p.GoString()) }

// LogValue shows the payout with the card number masked.
func (p CardSpecPayment) LogValue() slog.Value {
	return slog.GroupValue(slog.String("transaction_number", p.TransactionNumber), slog.Int64("amount", p.Amount),
		slog.String("currency", p.Currency), slog.String("phone", p.Phone), slog.String("card", maskCard(p.CardNumber)))
}

// String shows the payment with card numbers masked.
func (p Payment) String() string {
	return fmt.Sprintf("qiwitopup.Payment{TransactionNumber: %s, TxnID: %s, Status: %s, ResultCode: %d, Final: %t, Account: %s, ToAmount: %s}",
		p.TransactionNumber, p.TxnID, p.Status, p.ResultCode, p.FinalStatus, payments.MaskPAN(p.Account), p.ToAmount)
}

// GoString is String.
func (p Payment) GoString() string { return p.String() }

// Format prints String for every verb: Account, Message and Extras may
// carry a card number.
func (p Payment) Format(f fmt.State, verb rune) { formatAs(f, verb, p.String(), p.GoString()) }

// LogValue shows the payment with card numbers masked.
func (p Payment) LogValue() slog.Value {
	return slog.GroupValue(slog.String("transaction_number", p.TransactionNumber), slog.String("txn_id", p.TxnID),
		slog.Int("status", int(p.Status)), slog.Int("result_code", int(p.ResultCode)), slog.Bool("final", p.FinalStatus),
		slog.String("account", payments.MaskPAN(p.Account)), slog.String("to_amount", p.ToAmount.String()),
		slog.String("message", payments.MaskPAN(p.Message)))
}

// LogValue shows the result with the payment's card numbers masked (a JSON
// handler would otherwise marshal the Payment's fields as they are).
func (r StatusResult) LogValue() slog.Value {
	return slog.GroupValue(slog.String("transaction_number", r.TransactionNumber), slog.Bool("found", r.Found),
		slog.Any("payment", r.Payment))
}

// String shows the query with a card number in Account masked (the status
// of a card payout is asked with the card as account-number).
func (q StatusQuery) String() string {
	return "qiwitopup.StatusQuery{" + q.TransactionNumber + ", Account: " + payments.MaskPAN(q.Account) + "}"
}

// GoString is String.
func (q StatusQuery) GoString() string { return q.String() }

// Format prints String for every verb.
func (q StatusQuery) Format(f fmt.State, verb rune) { formatAs(f, verb, q.String(), q.GoString()) }

// LogValue shows the query with a card number masked.
func (q StatusQuery) LogValue() slog.Value {
	return slog.GroupValue(slog.String("transaction_number", q.TransactionNumber), slog.String("account", payments.MaskPAN(q.Account)))
}
