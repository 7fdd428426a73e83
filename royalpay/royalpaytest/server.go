package royalpaytest

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/paysdk/payments/internal/fakeserver"
)

// Host is the provider's host name: the only one the document shows (in
// deeplink_url). The server's certificate is issued for it, and clients must
// send it as the TLS server name (by pinning it to [Server.Addr]).
const Host = "pay-dev.royalsfinance.app"

// Payment statuses (the document's "Статусы платежей").
const (
	StatusCreated   = "created"   // Заявка создана, ожидает оплаты
	StatusCanceled  = "canceled"  // Платёж отменён
	StatusRefund    = "refund"    // Платёж возвращён
	StatusCompleted = "completed" // Платёж успешно завершён
	StatusDeleted   = "deleted"   // Платёж перевели в статус удалено
)

// Server is a running fake RoyalPay pay-in API. Make one with [NewServer]
// and [Server.Close] it when done. All methods are safe for concurrent use,
// including while requests are being served.
type Server struct {
	// Fake serves the route table and holds the fault switches (FailNext,
	// DropNext, DropBeforeNext, DelayNext, TruncateNext, DropNextOp), here
	// for create requests, and the request log (Requests, Count) shared by
	// every fake.
	*fakeserver.Fake[Request]
	base *fakeserver.Base
	now  func() time.Time

	token         string
	callbackToken string
	cbClient      *http.Client
	cbOwned       *http.Transport // the default callback client's transport, closed by Close
	autoComplete  time.Duration

	closeOnce sync.Once
	cbCtx     context.Context // the context of callbacks, cancelled by Close
	cbCancel  context.CancelFunc
	acWG      sync.WaitGroup // auto-completion timers armed or running

	reads       fakeserver.Faults // for GET /api/v2/payments/{id}/
	payoutQ     fakeserver.Faults // for POST /api/v3/payouts/
	payoutToken string
	balance     string
	slashRedir  string   // WithSlashRedirect: "" off, "/" same host, else a scheme and host
	payoutOmit  []string // WithPayoutCreateOmit
	paymentRead string   // WithPaymentReadForm: "" both, "/" with the slash only, "-" without only
	accountRead int      // WithAccountReadVersion: 0 both, else the only version served

	// payouts, guarded by mu
	nextPayoutID    int64
	payouts         map[int64]*payoutRecord
	payoutOrder     []int64
	payoutCallback  string // the payout callback URL "set by the admins"
	payoutPolls     int    // lookups of a payout after which it completes (0: never)
	payoutCallbacks []CallbackResult

	mu           sync.Mutex // guards everything below
	nextID       int64
	nextDetailID int64
	payments     map[int64]*payment
	order        []int64
	blocked      string // the BlockClient reason; "" when not blocked
	callbacks    []CallbackResult
	timers       map[int64]*time.Timer // armed auto-completions by payment id
	acStopped    bool                  // Close has begun: arm no more
}

// First ids handed out: the document's example payment is 10442449 and its
// merchant_payment_detail 9336278.
const (
	firstPaymentID = 10442449
	firstDetailID  = 9336278
)

// NewServer starts a fake RoyalPay API on 127.0.0.1 with a random port,
// serving TLS (1.2 or later, HTTP/1.1 only) with a certificate for [Host]
// from a fresh test CA. Like httptest.NewServer it panics only if the CA or
// the listener cannot be made.
func NewServer(opts ...Option) *Server {
	cfg := fakeserver.Configure(defaultConfig(), opts)
	if cfg.now == nil {
		cfg.now = time.Now
	}

	s := &Server{
		base:           fakeserver.New(fakeserver.Config{Name: "royalpaytest", Hosts: []string{Host}}),
		now:            cfg.now,
		token:          cfg.token,
		callbackToken:  cfg.callbackToken,
		cbClient:       cfg.callbackClient,
		autoComplete:   cfg.autoComplete,
		nextID:         firstPaymentID,
		nextDetailID:   firstDetailID,
		payments:       map[int64]*payment{},
		timers:         map[int64]*time.Timer{},
		payoutToken:    cfg.payoutToken,
		slashRedir:     cfg.slashRedirect,
		payoutOmit:     cfg.payoutOmit,
		paymentRead:    cfg.paymentRead,
		accountRead:    cfg.accountRead,
		balance:        cfg.balance,
		nextPayoutID:   firstPayoutID,
		payouts:        map[int64]*payoutRecord{},
		payoutCallback: cfg.payoutCallback,
		payoutPolls:    cfg.payoutPolls,
	}
	s.cbCtx, s.cbCancel = context.WithCancel(context.Background())
	if s.cbClient == nil {
		s.cbClient, s.cbOwned = fakeserver.NewOutboundClient(DefaultCallbackTimeout)
	}

	s.Fake = fakeserver.Start(s.base, s.spec(cfg.t))

	if cfg.t != nil {
		cfg.t.Cleanup(s.Close)
	}
	return s
}

// Close shuts the server down: it stops listening, closes every connection,
// interrupts delayed answers, waits for running handlers to return, disarms
// pending auto-completions and cancels callbacks in flight (waiting for
// them). It may be called more than once.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.acStopped = true
		for id, t := range s.timers {
			if t.Stop() {
				s.acWG.Done() // its function will never run
			}
			delete(s.timers, id)
		}
		s.mu.Unlock()

		s.base.Close()

		s.cbCancel()
		s.acWG.Wait()
		if s.cbOwned != nil {
			s.cbOwned.CloseIdleConnections()
		}
	})
}

// URL returns the base URL, "https://pay-dev.royalsfinance.app:<port>",
// without the /api path: the document's {{base_url}}. The host is the real
// one: the client must resolve it to [Server.Addr].
func (s *Server) URL() string { return s.base.URL(Host, "") }

// Token returns the API token the server accepts.
func (s *Server) Token() string { return s.token }

// BlockClient makes every create request from now on (after authentication)
// answer 403 {"error": "Client is blocked. Reason: <reason>", "code": 50000},
// creating nothing, as the document's table shows for a blocked account.
// BlockClient("") unblocks. Reading a payment is not affected.
func (s *Server) BlockClient(reason string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.blocked = reason
}

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

// Payment returns the payment with id, if the server has it.
func (s *Server) Payment(id int64) (PaymentRecord, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.payments[id]
	if p == nil {
		return PaymentRecord{}, false
	}
	return p.record(), true
}

// Payments returns every stored payment in the order they were created.
func (s *Server) Payments() []PaymentRecord {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]PaymentRecord, 0, len(s.order))
	for _, id := range s.order {
		out = append(out, s.payments[id].record())
	}
	return out
}

// Request is one request the server received.
type Request struct {
	// Op is OpCreate (POST /api/v2/payments/), OpGet (GET
	// /api/v2/payments/{id}/, with or without the slash) or OpUnknown (a
	// route RoyalPay does not have). It describes the request, whatever its
	// outcome.
	Op         string
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
	// RequestTimeout is the X-Request-Timeout header as the server
	// understood it, 0 when absent, not positive or not understood (the raw
	// value is in Header).
	RequestTimeout time.Duration
}

// Values of [Request.Op] and arguments of [Server.Count].
const (
	OpCreate  = "create"
	OpGet     = "get"
	OpUnknown = "unknown"
	// OpPayoutCreate is POST /api/v3/payouts/, OpPayoutGet GET
	// /api/v3/payouts/?outter_id=…, OpAccount GET /api/v1/accounts/me
	// (the document's) or /api/v2/accounts/me.
	OpPayoutCreate = "payout_create"
	OpPayoutGet    = "payout_get"
	OpAccount      = "account"
)

func cloneRequest(r Request) Request {
	r.Header = r.Header.Clone()
	r.Body = append([]byte(nil), r.Body...)
	return r
}

// Reset forgets the recorded requests and callbacks. Payments, the id
// counters, the block and queued faults stay.
func (s *Server) Reset() {
	s.Fake.Reset()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.callbacks = nil
}

// The provider's own fault kinds.
const (
	faultNoCards = fakeserver.FaultCustom + iota
	faultNoCards40006
	faultCreationFailed
	faultServerTimeout
)

func (s *Server) queue(n int, kind fakeserver.FaultKind) {
	fakeserver.Enqueue(&s.Faults, n, fakeserver.Fault{Kind: kind})
}

// The methods below queue answers for the next create requests (POST
// /api/v2/payments/), one request each, in the order they were queued. Every
// create request takes the head of the queue as it arrives. The provider's
// errors (NoCardsNext, NoCards40006Next, CreationFailedNext,
// ServerTimeoutNext) stand in for the creation step, so a request that fails
// authentication, the block or validation gets that answer instead and the
// queued error is spent. The shared switches of the embedded
// [fakeserver.Faults] (FailNext, DropNext, DropBeforeNext, DelayNext,
// TruncateNext, DropNextOp) queue on the same create queue. Reads and
// unknown routes take nothing from it; [Server.FailGetNext],
// [Server.DropGetNext] and [Server.EchoGetNext] queue for reads, and
// [Server.FailPayoutNext] and [Server.DropPayoutNext] for payout creates.
// A FailNext body that starts with '{' or '[' is sent as application/json,
// any other as text/plain; GarbageNext answers 502 with nginx's text/html
// "502 Bad Gateway" page, as a proxy in front of the API would. A DelayNext longer than the request's
// X-Request-Timeout answers 500 code 50020 once that timeout has elapsed
// instead (the payment is created all the same).

// NoCardsNext answers the next n create requests 400 {"error": "No
// available cards.", "code": 40005}, the document's "no card available to
// accept the payment right now". Nothing is created.
func (s *Server) NoCardsNext(n int) { s.queue(n, faultNoCards) }

// NoCards40006Next is NoCardsNext with "code": 40006, the same text under the
// code seen on the sibling 4Pay platform.
func (s *Server) NoCards40006Next(n int) { s.queue(n, faultNoCards40006) }

// CreationFailedNext answers the next n create requests 400 {"error":
// "Payment creation failed", "code": "30002"}, with the code as a JSON string,
// as the document prints it. Nothing is created.
func (s *Server) CreationFailedNext(n int) { s.queue(n, faultCreationFailed) }

// ServerTimeoutNext creates the payment of each of the next n create
// requests and then answers 500 {"error": "Request timed out. The server took
// too long to respond.", "code": 50020}: the client cannot know the payment
// exists and must reconcile (by outter_id, or by the callback).
func (s *Server) ServerTimeoutNext(n int) { s.queue(n, faultServerTimeout) }

// FailGetNext answers the next n reads (GET /api/v2/payments/{id}/) with
// status and body without processing them, like FailNext for creates. Reads
// have a queue of their own.
func (s *Server) FailGetNext(n, status int, body string) {
	s.reads.FailNext(n, status, body)
}

// DropGetNext closes the connection of the next n reads without an answer.
// Note that net/http clients may resend a GET once on a fresh connection
// after such a drop, using up the next queued read fault.
func (s *Server) DropGetNext(n int) { s.reads.DropBeforeNext(n) }
