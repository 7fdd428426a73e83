package royalpaytest

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"regexp"
	"strings"
	"time"
)

const (
	payoutPath = "/api/v3/payouts/"
	// accountPath is the account read of the document's authorisation
	// page; accountPathV2 the one the adapter of imfoxboy/Eight-Connect
	// lists.
	accountPath   = "/api/v1/accounts/me"
	accountPathV2 = "/api/v2/accounts/me"
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

type payoutRecord struct{ PayoutRecord }

func (p *payoutRecord) json() *object {
	o := &object{}
	o.add("id", p.ID)
	o.add("bank", nullable(p.Bank))
	o.add("nspk_code", nil)
	o.add("requisite", p.Requisite)
	o.add("status", p.Status)
	o.add("amount", p.Amount)
	o.add("method", p.Method)
	o.add("outter_id", p.OutterID)
	o.add("geo", p.Geo)
	o.add("receipts", []string{})
	o.add("created_at", formatTime(p.CreatedAt))
	return o
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
func (s *Server) Payout(id int64) (PayoutRecord, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.payouts[id]
	if p == nil {
		return PayoutRecord{}, false
	}
	return p.PayoutRecord, true
}

// Payouts returns every payout in creation order.
func (s *Server) Payouts() []PayoutRecord {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]PayoutRecord, 0, len(s.payoutOrder))
	for _, id := range s.payoutOrder {
		out = append(out, s.payouts[id].PayoutRecord)
	}
	return out
}

// PayoutsByOutterID returns the payouts held under outterID (more than one
// would be a double payout).
func (s *Server) PayoutsByOutterID(outterID string) []PayoutRecord {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []PayoutRecord
	for _, id := range s.payoutOrder {
		if p := s.payouts[id]; p.OutterID == outterID {
			out = append(out, p.PayoutRecord)
		}
	}
	return out
}

// PayoutCallbacks returns the payout callbacks sent, in order.
func (s *Server) PayoutCallbacks() []CallbackResult {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]CallbackResult(nil), s.payoutCallbacks...)
}

// SetPayoutCallbackURL sets where payout callbacks go ("" sends none).
func (s *Server) SetPayoutCallbackURL(u string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.payoutCallback = u
}

// WaitConfirm moves payout id to wait_confirm and posts its callback. A 2xx
// answer confirms it, as the adapter of imfoxboy/Eight-Connect observes
// ("For payout wait_confirm - just return OK to activate payout"): the
// payout moves to in_progress. Any other answer, or none, leaves it in
// wait_confirm.
func (s *Server) WaitConfirm(id int64) (CallbackResult, error) {
	res, err := s.movePayout(id, PayoutWaitConfirm)
	if err != nil {
		return res, err
	}
	if res.Status >= 200 && res.Status < 300 {
		s.mu.Lock()
		if p := s.payouts[id]; p.Status == PayoutWaitConfirm {
			p.Status = PayoutInProgress
		}
		s.mu.Unlock()
	}
	return res, nil
}

// CompletePayout moves payout id to completed and posts its callback.
func (s *Server) CompletePayout(id int64) (CallbackResult, error) {
	return s.movePayout(id, PayoutCompleted)
}

// FailPayout moves payout id to failed_to_send_payout and posts its callback.
func (s *Server) FailPayout(id int64) (CallbackResult, error) { return s.movePayout(id, PayoutFailed) }

// CancelPayout moves payout id to canceled and posts its callback.
func (s *Server) CancelPayout(id int64) (CallbackResult, error) {
	return s.movePayout(id, PayoutCanceled)
}

func (s *Server) movePayout(id int64, status string) (CallbackResult, error) {
	s.mu.Lock()
	p := s.payouts[id]
	if p == nil {
		s.mu.Unlock()
		return CallbackResult{}, fmt.Errorf("royalpaytest: no payout %d", id)
	}
	p.Status = status
	target := s.payoutCallback
	o := &object{}
	o.add("id", p.ID)
	o.add("status", p.Status)
	o.add("amount", p.Amount*100) // the callback page: minor units
	o.add("outter_id", p.OutterID)
	o.add("receipts", []string{})
	o.add("X-Request-Id", newUUID())
	s.mu.Unlock()
	if target == "" {
		return CallbackResult{PaymentID: id}, nil
	}
	return s.deliverPayout(id, target, o.bytes()), nil
}

func (s *Server) deliverPayout(id int64, target string, payload []byte) CallbackResult {
	res := CallbackResult{URL: target, PaymentID: id, Payload: payload}
	ctx, cancel := context.WithTimeout(s.cbCtx, DefaultCallbackTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(payload))
	if err == nil {
		req.Header.Set("Content-Type", "application/json")
		if s.callbackToken != "" {
			req.Header.Set("Authorization", "Bearer "+s.callbackToken)
		}
		var resp *http.Response
		resp, err = s.cbClient.Do(req)
		if err == nil {
			res.Status = resp.StatusCode
			res.Body, err = io.ReadAll(io.LimitReader(resp.Body, maxCallbackAnswer))
			resp.Body.Close()
		}
	}
	res.Err = err
	s.mu.Lock()
	s.payoutCallbacks = append(s.payoutCallbacks, res)
	s.mu.Unlock()
	return res
}

// authToken checks "Authorization: Token <want>".
func authToken(r *http.Request, want ...string) *response {
	parts := strings.Fields(r.Header.Get("Authorization"))
	if len(parts) == 0 || !strings.EqualFold(parts[0], "Token") {
		return detailResponse(http.StatusUnauthorized, msgNoAuth)
	}
	for _, w := range want {
		if len(parts) == 2 && w != "" && subtle.ConstantTimeCompare([]byte(parts[1]), []byte(w)) == 1 {
			return nil
		}
	}
	return detailResponse(http.StatusUnauthorized, msgBadToken)
}

var (
	phoneRe   = regexp.MustCompile(`^[0-9]{10,15}$`)
	cardRe    = regexp.MustCompile(`^[0-9]{13,19}$`)
	accountRe = regexp.MustCompile(`^[0-9]{20}$`)
)

// account runs GET /api/v1/accounts/me (or v2).
func (s *Server) account(r *http.Request) response {
	if s.accountRead != 0 && !strings.HasPrefix(r.URL.Path, fmt.Sprintf("/api/v%d/", s.accountRead)) {
		return *detailResponse(http.StatusNotFound, msgNotFound)
	}
	if resp := authToken(r, s.token, s.payoutToken); resp != nil {
		return *resp
	}
	o := &object{}
	o.add("id", int64(1))
	o.add("username", "merchant")
	if s.balance != "" {
		o.add("balance", s.balance)
	}
	o.add("currency", "RUB")
	return jsonResponse(http.StatusOK, o)
}

// payoutGet runs GET /api/v3/payouts/?outter_id=….
func (s *Server) payoutGet(r *http.Request) response {
	if resp := authToken(r, s.payoutToken); resp != nil {
		return *resp
	}
	want, has := r.URL.Query()["outter_id"]
	var b bytes.Buffer
	b.WriteByte('[')
	s.mu.Lock()
	n := 0
	for _, id := range s.payoutOrder {
		p := s.payouts[id]
		if has && p.OutterID != want[0] {
			continue
		}
		p.Polls++
		if s.payoutPolls > 0 && p.Polls >= s.payoutPolls && p.Status != PayoutCompleted && p.Status != PayoutFailed && p.Status != PayoutCanceled {
			p.Status = PayoutCompleted
		}
		if n > 0 {
			b.WriteByte(',')
		}
		p.json().write(&b)
		n++
	}
	s.mu.Unlock()
	b.WriteByte(']')
	return response{Status: http.StatusOK, Type: "application/json", Body: b.Bytes()}
}

// createPayout checks the body as the provider's DRF serializer would,
// answering field-keyed errors {"amount": ["…"]}.
func (s *Server) createPayout(r *http.Request, body []byte, bodyOK bool) response {
	if resp := authToken(r, s.payoutToken); resp != nil {
		return *resp
	}
	if !bodyOK {
		return *detailResponse(http.StatusBadRequest, "Request body too large.")
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		return *detailResponse(http.StatusUnsupportedMediaType, "Unsupported media type.")
	}
	var in struct {
		Method    *string          `json:"method"`
		Requisite *string          `json:"requisite"`
		Amount    *json.RawMessage `json:"amount"`
		Bank      *string          `json:"bank"`
		OutterID  *string          `json:"outter_id"`
		Geo       *string          `json:"geo"`
	}
	errs := &fieldErrors{}
	if err := json.Unmarshal(body, &in); err != nil {
		return *detailResponse(http.StatusBadRequest, "JSON parse error")
	}
	str := func(p *string) string {
		if p == nil {
			return ""
		}
		return *p
	}
	method := str(in.Method)
	switch method {
	case "SBP", "INTERBANK", "ACCOUNT_NUMBER", "SBER", "TINKOFF":
	case "":
		errs.add("method", "Обязательное поле.")
	default:
		errs.add("method", fmt.Sprintf("Значения %s нет среди допустимых вариантов.", method))
	}
	req := str(in.Requisite)
	switch {
	case req == "":
		errs.add("requisite", "Обязательное поле.")
	case method == "SBP" && !phoneRe.MatchString(req),
		method == "ACCOUNT_NUMBER" && !accountRe.MatchString(req),
		(method == "INTERBANK" || method == "SBER" || method == "TINKOFF") && !cardRe.MatchString(req):
		errs.add("requisite", "Неверный реквизит.")
	}
	var amount int64
	if in.Amount == nil {
		errs.add("amount", "Обязательное поле.")
	} else if err := json.Unmarshal(*in.Amount, &amount); err != nil || amount <= 0 {
		errs.add("amount", "Введите правильное число.")
	}
	if method == "SBP" && str(in.Bank) == "" {
		errs.add("bank", "Обязательное поле для SBP.")
	}
	geo := str(in.Geo)
	if geo == "" {
		geo = "Россия"
	}
	if !errs.empty() {
		return jsonResponse(http.StatusBadRequest, errs.object())
	}
	s.mu.Lock()
	p := &payoutRecord{PayoutRecord{ID: s.nextPayoutID, Method: method, Requisite: req, Amount: amount, Bank: str(in.Bank),
		OutterID: str(in.OutterID), Geo: geo, Status: PayoutPending, CreatedAt: s.now()}}
	s.nextPayoutID++
	s.payouts[p.ID] = p
	s.payoutOrder = append(s.payoutOrder, p.ID)
	out := p.json()
	s.mu.Unlock()
	out.remove(s.payoutOmit...)
	return jsonResponse(http.StatusCreated, out)
}
