package royalpaytest

import (
	"math/big"
	"net/http"
	"time"

	"github.com/paysdk/payments"
)

// Request is one request the server received.
type Request struct {
	Op         string // the route's operation, whatever the outcome
	Method     string
	Path       string
	Header     http.Header // as received, without Authorization
	Body       []byte
	RemoteAddr string
	Time       time.Time
	// Answered is the HTTP status sent, or 0 if the connection was dropped
	// (or the client went away) without an answer, or the request is still
	// being handled.
	Answered int
	// RequestTimeout is the X-Request-Timeout header (the document's note):
	// whole or decimal seconds ("30", "0.5") or a Go duration ("1500ms"); 0
	// when absent, not positive or not understood (the raw value is in Header).
	RequestTimeout time.Duration
}

// Values of [Request.Op] and arguments of [Server.Count].
const (
	OpCreate       = "create"        // POST /api/v2/payments/
	OpGet          = "get"           // GET /api/v2/payments/{id}/, with or without the slash
	OpPayoutCreate = "payout_create" // POST /api/v3/payouts/
	OpPayoutGet    = "payout_get"    // GET /api/v3/payouts/?outter_id=…
	OpAccount      = "account"       // GET /api/v1/accounts/me (the document's) or /api/v2/accounts/me
	OpUnknown      = "unknown"       // a route RoyalPay does not have
)

// PaymentRecord is what the server holds about one payment.
type PaymentRecord struct {
	ID     int64
	Sum    string // the current sum, 2 decimal places: "1500.00"
	Type   string // as requested, e.g. "to_sbp_number"
	Status string // StatusCreated, StatusCompleted...

	// The request's fields, after the server's defaults.
	Bank               string // as requested, or "Alfa"
	Geo                string // work_country: as requested, or "Россия"
	ClientID           string
	ClientIP           string
	OutterID           string
	CallbackURL        string
	IntrabankTransfer  bool // is_intrabank_transfer
	AllowAnotherAmount bool // is_allow_another_amount

	// What the server answered; "" where the answer has null.
	RussifiedName  string
	BIK            string
	FullName       string
	CardNumber     string
	SBPPhoneNumber string
	AccountNumber  string
	TipsID         string
	NSPKURL        string
	QRCode         string
	QRCodeLink     string
	TpayLink       string
	DeeplinkURL    string
	DetailID       int64 // merchant_payment_detail.id

	CreatedAt time.Time
	UpdatedAt time.Time // bumped by every status move and SetAmount
}

// payment is one stored payment.
type payment struct {
	PaymentRecord
	detailUpdated time.Time // merchant_payment_detail.updated_at: SetAmount bumps it
}

func (p *payment) setSum(d payments.Decimal) {
	p.Sum, _ = d.StringFixed(2) // validated: at most 2 places
}

// records holds one kind of record by id, in creation order, under the
// Server's mu.
type records[T any] struct {
	next  int64 // the id of the next record
	byID  map[int64]*T
	order []*T
}

// add stores p, made with the id rs.next.
func (rs *records[T]) add(p *T) {
	if rs.byID == nil {
		rs.byID = map[int64]*T{}
	}
	rs.byID[rs.next] = p
	rs.order = append(rs.order, p)
	rs.next++
}

// find returns a copy of the record with id.
func find[T any](s *Server, rs *records[T], id int64) (T, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p := rs.byID[id]; p != nil {
		return *p, true
	}
	return *new(T), false
}

// list returns what pick takes of each record, in creation order.
func list[T, R any](s *Server, rs *records[T], pick func(*T) (R, bool)) []R {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]R, 0, len(rs.order))
	for _, p := range rs.order {
		if r, ok := pick(p); ok {
			out = append(out, r)
		}
	}
	return out
}

// The answer's fixed figures: the document's example.
const (
	currency        = "Рубль"
	course          = "78.90" // RUB per USDT
	courseCents     = 7890    // course in hundredths
	rate            = "0.00"
	accumulatedRate = "9.00" // percent kept by the provider
	keptPercent     = 91     // 100 - accumulatedRate
)

// detail computes merchant_payment_detail's figures from the sum, exactly,
// rounding half up to 4 places: amount_in_usdt = sum / course,
// amount_with_rate = sum × (100 - accumulated_rate)%, amount_in_usdt_with_rate
// = amount_with_rate / course.
func detail(sum payments.Decimal) (inUSDT, withRate, inUSDTWithRate string) {
	kop, _ := sum.Minor(2) // validated: at most 2 places and 12 digits, so nothing below overflows
	// In 1e-4 units: sum/course is kop·1e4/courseCents, sum × 91% is kop·91 (wr),
	// and that / course is wr·100/courseCents.
	wr := kop * keptPercent
	inUSDT = fixed4(big.NewInt(divRound(kop*10_000, courseCents)))
	withRate = fixed4(big.NewInt(wr))
	inUSDTWithRate = fixed4(big.NewInt(divRound(wr*100, courseCents)))
	return inUSDT, withRate, inUSDTWithRate
}

// json renders the payment with the keys of the document's example answer,
// in its order, and account_number and tpay_link where they apply.
func (p *payment) json() *object {
	inUSDT, withRate, inUSDTWithRate := detail(payments.MustDecimal(p.Sum))
	d := &object{
		{"id", p.DetailID},
		{"course", course},
		{"rate", rate},
		{"course_with_rate", course},
		{"amount_in_usdt", inUSDT},
		{"accumulated_rate", accumulatedRate},
		{"amount_with_rate", withRate},
		{"amount_in_usdt_with_rate", inUSDTWithRate},
		{"created_at", formatTime(p.CreatedAt)},
		{"updated_at", formatTime(p.detailUpdated)},
	}
	o := &object{}
	o.add("id", p.ID)
	o.add("sum", p.Sum)
	o.add("card_number", nullable(p.CardNumber))
	o.add("created_at", formatTime(p.CreatedAt))
	o.add("updated_at", formatTime(p.UpdatedAt))
	o.add("bank", p.Bank)
	o.add("russified_name", p.RussifiedName)
	o.add("bik", nullable(p.BIK))
	o.add("type", p.Type)
	o.add("status", p.Status)
	o.add("qr_code", nullable(p.QRCode))
	o.add("qr_code_link", nullable(p.QRCodeLink))
	o.add("currency", currency)
	o.add("full_name", p.FullName)
	o.add("sbp_phone_number", nullable(p.SBPPhoneNumber))
	if p.AccountNumber != "" {
		o.add("account_number", p.AccountNumber)
	}
	o.add("client_id", nullable(p.ClientID))
	o.add("client_ip", nullable(p.ClientIP))
	o.add("outter_id", nullable(p.OutterID))
	o.add("project", nil)
	o.add("merchant_payment_detail", d)
	o.add("outter_id_from_form", nil)
	o.add("tips_id", nullable(p.TipsID))
	o.add("nspk_url", nullable(p.NSPKURL))
	if p.TpayLink != "" {
		o.add("tpay_link", p.TpayLink)
	}
	o.add("work_country", p.Geo)
	o.add("redirect_url", nil)
	o.add("callback_url", nullable(p.CallbackURL))
	o.add("deeplink_url", p.DeeplinkURL)
	return o
}
