package popolni

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"strconv"

	"github.com/paysdk/payments"
)

// Payment is one top-up in a Pay batch (document section 2). Printed with
// any fmt verb, logged through log/slog or encoded with encoding/json (a
// batch logged as JSON), a card number in Account shows masked
// (payments.MaskPAN): keep the full number in your own records, not in a
// JSON encoding of Payment.
type Payment struct {
	// ID is the partner's transactionId: unique among all the partner's
	// payments however they were created. The document recommends numbering
	// API payments from 1 000 000 000, below which the web cabinet numbers
	// its own. popolni refuses a second payment with the same ID (status
	// 124), which is what makes a resend of a lost Pay safe.
	ID int64
	// Amount in kopecks; at least 100. The maximum is set per account by the
	// provider's manager.
	Amount int64
	// Account is the msisdn: a phone number with country code, a bank card
	// number or a QIWI wallet, digits only. Which kinds are allowed is set
	// per account.
	Account string
	// TemplateID is the SMS notification template (listed in the cabinet).
	// 0 or an unknown template: the payment goes ahead without that SMS.
	TemplateID int64
	// NoticePhone is msisdnNotice: the phone that gets the SMS about a
	// transfer to a bank card. Optional, card transfers only; sent only when
	// set.
	NoticePhone string
}

// String shows the payment with a card number masked.
func (p Payment) String() string {
	return fmt.Sprintf("popolni.Payment{ID: %d, Amount: %d, Account: %s, TemplateID: %d, NoticePhone: %s}",
		p.ID, p.Amount, payments.MaskPAN(p.Account), p.TemplateID, payments.MaskPAN(p.NoticePhone))
}

// GoString is String: %#v does not print a full card number either.
func (p Payment) GoString() string { return p.String() }

// Format prints String for every verb: %d or %x of a plain struct would
// print the full card number.
func (p Payment) Format(f fmt.State, verb rune) { formatAs(f, verb, p.String(), p.GoString()) }

// LogValue is the payment with a card number masked, for log/slog (whose
// JSON handler would otherwise print every field as it is).
func (p Payment) LogValue() slog.Value {
	return slog.GroupValue(slog.Int64("id", p.ID), slog.Int64("amount", p.Amount),
		slog.String("account", payments.MaskPAN(p.Account)), slog.Int64("templateId", p.TemplateID),
		slog.String("noticePhone", payments.MaskPAN(p.NoticePhone)))
}

// MarshalJSON writes the payment with a card number masked, the keys of
// LogValue: slog's JSON handler marshals a []Payment or a struct holding
// one without asking LogValue.
func (p Payment) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		ID          int64  `json:"id"`
		Amount      int64  `json:"amount"`
		Account     string `json:"account"`
		TemplateID  int64  `json:"templateId"`
		NoticePhone string `json:"noticePhone"`
	}{p.ID, p.Amount, payments.MaskPAN(p.Account), p.TemplateID, payments.MaskPAN(p.NoticePhone)})
}

// Result is the status popolni gave one payment.
type Result struct {
	ID     int64
	Status Status
}

// Err returns nil while the payment is pending or succeeded (0, 2, 3), an
// *payments.APIError (HTTP status 0, Code the status code) matching the
// status's category for a failure: ErrInsufficientFunds (101), ErrDeclined
// (121, 208, 423), ErrDuplicate (124), ErrNotFound (125), ErrInvalidRequest
// (215); and for a status the document does not list, or StatusUnknown (a
// WaitFinal that ended before hearing of the payment), a
// *payments.OutcomeUnknownError: the payment may exist, ask Status again.
func (r Result) Err() error {
	known := r.Status.Known()
	if known && r.Status.category() == nil {
		return nil
	}
	op := "payment " + strconv.FormatInt(r.ID, 10)
	if !known {
		e := &payments.APIError{Provider: provider, Op: op, Message: r.Status.meaning(), Category: payments.ErrUnavailable}
		if r.Status != StatusUnknown {
			e.Code = strconv.Itoa(int(r.Status))
		}
		return &payments.OutcomeUnknownError{Provider: provider, Op: op, Ref: strconv.FormatInt(r.ID, 10), Err: e}
	}
	cat := r.Status.category()
	if cat == nil {
		return nil
	}
	return &payments.APIError{
		Provider: provider,
		Op:       op,
		Code:     strconv.Itoa(int(r.Status)),
		Message:  r.Status.meaning(),
		Category: cat,
	}
}

// Balance is the partner's balance (document section 4).
type Balance struct {
	// Current balance in kopecks; negative when the partner uses credit.
	Current int64
	// CreditLimit in kopecks: how far the balance may go below zero.
	CreditLimit int64
}

// Available is what payments can still spend: Current + CreditLimit.
func (b Balance) Available() int64 { return b.Current + b.CreditLimit }

// The wire forms. Field order follows the document's example request, where
// msisdnNotice comes before msisdn.
type wirePayment struct {
	TransactionID int64  `json:"transactionId"`
	Amount        int64  `json:"amount"`
	MsisdnNotice  string `json:"msisdnNotice,omitempty"`
	Msisdn        string `json:"msisdn"`
	TemplateID    int64  `json:"templateId"`
}

// wireStatusQuery is a status item as encoding/json would write it: the
// reference appendStatusQuery is tested against.
type wireStatusQuery struct {
	TransactionID int64 `json:"transactionId"`
	Status        int   `json:"status"`
}

// decodeResults reads `[{"transactionId":N,"status":S},...]`, the keys
// spelt exactly as the document spells them, nothing after the array.
// Numbers may be integral floats (1000000001.0): the public PHP clients send
// those, and a server echoing them must not break us.
func decodeResults(body []byte) ([]Result, error) {
	if out, ok := scanResults(body); ok {
		return out, nil
	}
	return decodeResultsJSON(body)
}

// decodeResultsJSON is decodeResults through encoding/json, for any answer.
func decodeResultsJSON(body []byte) ([]Result, error) {
	var raw []map[string]json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil {
		return nil, err
	}
	if raw == nil {
		return nil, fmt.Errorf("not a JSON array")
	}
	out := make([]Result, len(raw))
	for i, w := range raw {
		id, err := jsonInt(w["transactionId"])
		if err != nil {
			return nil, fmt.Errorf("item %d transactionId: %w", i, err)
		}
		st, err := jsonInt(w["status"])
		if err != nil {
			return nil, fmt.Errorf("item %d status: %w", i, err)
		}
		if st < -1<<31 || st > 1<<31-1 {
			return nil, fmt.Errorf("item %d status out of range", i)
		}
		out[i] = Result{ID: id, Status: Status(st)}
	}
	return out, nil
}

// decodeBalance reads `{"currentBalance":N,"creditLimit":N}`, the keys spelt
// exactly as the document spells them, nothing after the object.
func decodeBalance(body []byte) (Balance, error) {
	if b, ok := scanBalance(body); ok {
		return b, nil
	}
	return decodeBalanceJSON(body)
}

// decodeBalanceJSON is decodeBalance through encoding/json, for any answer.
func decodeBalanceJSON(body []byte) (Balance, error) {
	var w map[string]json.RawMessage
	if err := json.Unmarshal(body, &w); err != nil {
		return Balance{}, err
	}
	if w == nil {
		return Balance{}, fmt.Errorf("not a JSON object")
	}
	cur, err := jsonInt(w["currentBalance"])
	if err != nil {
		return Balance{}, fmt.Errorf("currentBalance: %w", err)
	}
	lim, err := jsonInt(w["creditLimit"])
	if err != nil {
		return Balance{}, fmt.Errorf("creditLimit: %w", err)
	}
	return Balance{Current: cur, CreditLimit: lim}, nil
}

// jsonInt reads a JSON number that must be an integer (100 or 100.0).
func jsonInt(raw json.RawMessage) (int64, error) {
	if len(raw) == 0 || raw[0] == 'n' {
		return 0, fmt.Errorf("missing")
	}
	if raw[0] == '"' || raw[0] == '{' || raw[0] == '[' || raw[0] == 't' || raw[0] == 'f' {
		return 0, fmt.Errorf("not a number")
	}
	s := string(raw)
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return n, nil
	}
	d, err := payments.ParseDecimal(s)
	if err != nil {
		return 0, fmt.Errorf("not a number")
	}
	n, err := d.Minor(0)
	if err != nil {
		return 0, fmt.Errorf("not an integer: %s", payments.MaskPAN(s))
	}
	return n, nil
}
