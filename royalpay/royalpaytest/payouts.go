package royalpaytest

import (
	"cmp"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"regexp"
	"slices"
	"time"
)

const (
	payoutPath = "/api/v3/payouts/"
	// firstPayoutID is the payout page's example id.
	firstPayoutID = 2688
)

// Payout statuses (docs.royal-finance.org/payout/p2p.html).
const (
	PayoutPending     = "pending"
	PayoutInProgress  = "in_progress"
	PayoutCompleted   = "completed"
	PayoutWaitConfirm = "wait_confirm"
	PayoutFailed      = "failed_to_send_payout"
	PayoutCanceled    = "canceled"
)

// DefaultPayoutToken is the payout token a [Server] made without
// [WithPayoutToken] accepts on /api/v3/payouts/.
const DefaultPayoutToken = "rp-test-payout-token"

// WithPayoutToken sets the payout token (default [DefaultPayoutToken]).
// Payout routes refuse the pay-in token, and pay-in routes the payout token.
func WithPayoutToken(token string) Option {
	return func(c *config) { c.payoutToken = token }
}

// WithPayoutCreateOmit leaves the named fields out of the answer to a
// payout create (the payout is made and held as usual, its lookups answer
// every field). The payout page's example answer opens {"id", "bank",
// "nspk_code", "requisite"... and its excerpt does not show whether a
// status follows: WithPayoutCreateOmit("status") answers without one,
// WithPayoutCreateOmit("status", "outter_id") without our outter_id either.
func WithPayoutCreateOmit(fields ...string) Option {
	return func(c *config) { c.payoutOmit = slices.Clone(fields) }
}

// WithPayoutCompleteAfterPolls makes a payout that is not final complete
// once it has been looked up n times (0, the default: never by polls).
func WithPayoutCompleteAfterPolls(n int) Option {
	return func(c *config) { c.payoutPolls = n }
}

// PayoutRecord is what the server holds about one payout.
type PayoutRecord struct {
	ID        int64
	Method    string
	Requisite string
	Amount    int64 // the integer sent
	Bank      string
	OutterID  string
	Geo       string
	Status    string
	Polls     int // lookups that returned it
	CreatedAt time.Time
}

func payoutJSON(p *PayoutRecord) *object {
	return &object{
		{"id", p.ID},
		{"bank", nullable(p.Bank)},
		{"nspk_code", nil},
		{"requisite", p.Requisite},
		{"status", p.Status},
		{"amount", p.Amount},
		{"method", p.Method},
		{"outter_id", p.OutterID},
		{"geo", p.Geo},
		{"receipts", []string{}},
		{"created_at", formatTime(p.CreatedAt)},
	}
}

// DropPayoutNext makes the next n payout creates create the payout and then
// close the connection without an answer: the answer lost in flight.
func (s *Server) DropPayoutNext(n int) { s.payoutQ.DropNext(n) }

// FailPayoutNext answers the next n payout creates with status and body,
// creating nothing (a body starting with '{' or '[' goes as JSON).
func (s *Server) FailPayoutNext(n, status int, body string) {
	s.payoutQ.FailNext(n, status, body)
}

// Payout returns the payout with id, if the server has it.
func (s *Server) Payout(id int64) (PayoutRecord, bool) { return find(s, &s.payouts, id) }

// Payouts returns every payout in creation order.
func (s *Server) Payouts() []PayoutRecord {
	return list(s, &s.payouts, func(p *PayoutRecord) (PayoutRecord, bool) { return *p, true })
}

// PayoutsByOutterID returns the payouts held under outterID (more than one
// would be a double payout).
func (s *Server) PayoutsByOutterID(outterID string) []PayoutRecord {
	return list(s, &s.payouts, func(p *PayoutRecord) (PayoutRecord, bool) { return *p, p.OutterID == outterID })
}

// payoutGet runs GET /api/v3/payouts/?outter_id=…: the array of the payouts
// under outter_id, each lookup counting towards WithPayoutCompleteAfterPolls.
func (s *Server) payoutGet(c *call) response {
	if a := authenticate(c.R, false, s.payoutToken); a != nil {
		return *a
	}
	want, has := c.R.URL.Query()["outter_id"]
	return jsonResponse(http.StatusOK, list(s, &s.payouts, func(p *PayoutRecord) (*object, bool) {
		if has && p.OutterID != want[0] {
			return nil, false
		}
		p.Polls++
		if s.payoutPolls > 0 && p.Polls >= s.payoutPolls && p.Status != PayoutCompleted && p.Status != PayoutFailed && p.Status != PayoutCanceled {
			p.Status = PayoutCompleted
		}
		return payoutJSON(p), true
	}))
}

var cardRe = regexp.MustCompile(`^[0-9]{13,19}$`)

// payoutMethods maps each payout method to the requisite it takes.
var payoutMethods = map[string]*regexp.Regexp{
	"SBP":            regexp.MustCompile(`^[0-9]{10,15}$`), // a phone number
	"ACCOUNT_NUMBER": regexp.MustCompile(`^[0-9]{20}$`),
	"INTERBANK":      cardRe,
	"SBER":           cardRe,
	"TINKOFF":        cardRe,
}

// createPayout runs POST /api/v3/payouts/, checking the body as the
// provider's DRF serializer would and answering field-keyed errors
// {"amount": ["…"]}.
func (s *Server) createPayout(c *call) response {
	if a := authenticate(c.R, false, s.payoutToken); a != nil {
		return *a
	}
	if !c.BodyOK {
		return detailResponse(http.StatusBadRequest, msgTooLarge)
	}
	if mt, _, err := mime.ParseMediaType(c.R.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		return detailResponse(http.StatusUnsupportedMediaType, "Unsupported media type.")
	}
	var in struct {
		Method    string           `json:"method"`
		Requisite string           `json:"requisite"`
		Amount    *json.RawMessage `json:"amount"`
		Bank      string           `json:"bank"`
		OutterID  string           `json:"outter_id"`
		Geo       string           `json:"geo"`
	}
	if err := json.Unmarshal(c.Body, &in); err != nil {
		return detailResponse(http.StatusBadRequest, "JSON parse error")
	}
	errs := &fieldErrors{}
	requisite, known := payoutMethods[in.Method]
	switch {
	case in.Method == "":
		errs.add("method", msgRequired)
	case !known:
		errs.add("method", fmt.Sprintf("Значения %s нет среди допустимых вариантов.", in.Method))
	}
	switch {
	case in.Requisite == "":
		errs.add("requisite", msgRequired)
	case known && !requisite.MatchString(in.Requisite):
		errs.add("requisite", "Неверный реквизит.")
	}
	var amount int64
	if in.Amount == nil {
		errs.add("amount", msgRequired)
	} else if err := json.Unmarshal(*in.Amount, &amount); err != nil || amount <= 0 {
		errs.add("amount", "Введите правильное число.")
	}
	if in.Method == "SBP" && in.Bank == "" {
		errs.add("bank", "Обязательное поле для SBP.")
	}
	if len(errs.object) > 0 {
		return jsonResponse(http.StatusBadRequest, &errs.object)
	}
	s.mu.Lock()
	p := &PayoutRecord{ID: s.payouts.next, Method: in.Method, Requisite: in.Requisite, Amount: amount, Bank: in.Bank,
		OutterID: in.OutterID, Geo: cmp.Or(in.Geo, defaultGeo), Status: PayoutPending, CreatedAt: s.now()}
	s.payouts.add(p)
	out := payoutJSON(p)
	s.mu.Unlock()
	out.remove(s.payoutOmit...)
	return jsonResponse(http.StatusCreated, out)
}
