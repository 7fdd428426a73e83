package paykeepertest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/paysdk/payments/internal/fakeserver"
)

// Host is the merchant's PayKeeper host name, in the usual
// https://<name>.server.paykeeper.ru form. The server's certificate is issued
// for it, and clients must send it as the TLS server name (by pinning it to
// [Server.Addr]).
const Host = "demo.server.paykeeper.ru"

// Moscow is the zone of every datetime PayKeeper sends and reads
// ("YYYY-MM-DD HH:MM:SS", no suffix): UTC+3 without daylight saving.
var Moscow = time.FixedZone("MSK", 3*3600)

const (
	dateTimeLayout = "2006-01-02 15:04:05"
	dateLayout     = "2006-01-02"
)

// Server is a running fake of one merchant's PayKeeper cabinet JSON API.
// Make one with [NewServer] and [Server.Close] it when done. All methods are
// safe for concurrent use, including while requests are being served.
type Server struct {
	// Fake serves the route table and holds the fault switches (FailNext,
	// DropNext, DropBeforeNext, DelayNext, TruncateNext, DropNextOp) and
	// the request log (Requests, Count) shared by every fake.
	*fakeserver.Fake[Request]
	base *fakeserver.Base
	now  func() time.Time

	notifyClient *http.Client
	notifyOwned  *http.Transport // the default notification client's transport
	notifyCtx    context.Context
	notifyCancel context.CancelFunc

	closeOnce sync.Once

	mu            sync.Mutex // guards everything below
	tokenLifetime time.Duration
	token         string
	tokenIssued   time.Time
	tokenFetches  int
	exportSize    int
	users         []*user
	nextUserID    int
	payments      map[string]*payment
	paymentOrder  []string
	nextPaymentID int64
	nextRefundID  int64
	nextParamID   int64
	invoices      map[string]*invoice
	invoiceOrder  []string
	invoiceSeq    int
	settings      map[string]string
	fields        []*formField
	reportEmails  []reportEmail
	nextEmailID   int
	notifications []NotificationResult
	formSecret    string          // WithFormSecret: the payment form's secret word
	bindings      map[string]bool // saved cards (bank_id) that /change/binding/execute/ charges
	nextBindingID int64
	nextReceiptID int64
	// unboundReceipts are the receipts printed with no payment_id.
	unboundReceipts []ReceiptRecord
}

// The first payment id handed out: the document's example payment is 97452.
const firstPaymentID = 97452

// NewServer starts a fake PayKeeper cabinet on 127.0.0.1 with a random port,
// serving TLS (1.2 or later, HTTP/1.1 only) with a certificate for [Host]
// from a fresh test CA. Like httptest.NewServer it panics only if the CA or
// the listener cannot be made.
func NewServer(opts ...Option) *Server {
	cfg := fakeserver.Configure(defaultConfig(), opts)
	if cfg.now == nil {
		cfg.now = time.Now
	}

	s := &Server{
		base:          fakeserver.New(fakeserver.Config{Name: "paykeepertest", Hosts: []string{Host}}),
		now:           cfg.now,
		tokenLifetime: cfg.tokenLifetime,
		exportSize:    clampExport(cfg.exportSize),
		payments:      map[string]*payment{},
		nextPaymentID: firstPaymentID,
		nextRefundID:  1,
		nextParamID:   189445,
		invoices:      map[string]*invoice{},
		notifyClient:  cfg.notifyClient,
		formSecret:    cfg.formSecret,
		bindings:      map[string]bool{},
		nextBindingID: 500001,
		nextReceiptID: 3300,
	}
	s.notifyCtx, s.notifyCancel = context.WithCancel(context.Background())
	if s.notifyClient == nil {
		s.notifyClient, s.notifyOwned = fakeserver.NewOutboundClient(DefaultNotificationTimeout)
	}
	refund := "0"
	if cfg.refundAllowed {
		refund = defaultRefundsPerDay
	}
	s.users = []*user{{id: 1, login: cfg.user, password: cfg.password, refund: refund, admin: true}}
	s.nextUserID = 2
	s.initSettings(cfg)
	s.rotateTokenLocked()

	s.Fake = fakeserver.Start(s.base, s.spec(cfg.t))

	if cfg.t != nil {
		cfg.t.Cleanup(s.Close)
	}
	return s
}

// Close shuts the server down: it stops listening, closes every connection,
// interrupts delayed answers and notifications in flight, and waits for
// running handlers to return. It may be called more than once.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		s.notifyCancel()
		s.base.Close()
		if s.notifyOwned != nil {
			s.notifyOwned.CloseIdleConnections()
		}
	})
}

// URL returns the cabinet's base URL, "https://demo.server.paykeeper.ru:<port>",
// without a trailing slash. The host is the real one: the client must resolve
// it to [Server.Addr].
func (s *Server) URL() string { return s.base.URL(Host, "") }

// ---- security token ----

func newToken() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(fmt.Sprintf("paykeepertest: %v", err))
	}
	return hex.EncodeToString(b[:])
}

func (s *Server) rotateTokenLocked() {
	s.token = newToken()
	s.tokenIssued = s.now()
}

// currentTokenLocked returns the valid token, replacing it first when its
// lifetime has run out.
func (s *Server) currentTokenLocked() string {
	if !s.now().Before(s.tokenIssued.Add(s.tokenLifetime)) {
		s.rotateTokenLocked()
	}
	return s.token
}

// Token returns the security token POST requests must carry now (replacing
// it first if its lifetime ran out), without counting as a fetch.
func (s *Server) Token() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.currentTokenLocked()
}

// RotateToken replaces the security token at once, as the daily change does,
// and returns the new one: POSTs with the old token then get error_code 67.
func (s *Server) RotateToken() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rotateTokenLocked()
	return s.token
}

// TokenFetches returns how many authenticated GET /info/settings/token/
// requests the server answered since the start or the last [Server.Reset].
func (s *Server) TokenFetches() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tokenFetches
}

// ---- export size ----

func clampExport(n int) int {
	if n < 0 {
		return 0
	}
	if n > MaxExportSize {
		return MaxExportSize
	}
	return n
}

// SetExportSize changes the size of /export/payments/ answers, as
// [WithExportSize] sets it.
func (s *Server) SetExportSize(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.exportSize = clampExport(n)
}

// ---- recording ----

// Request is one request the server received.
type Request struct {
	// Op is the operation: one of the Op constants, named after the route
	// (the path without its leading and trailing slash), [OpBill] for a
	// payer's invoice page, or [OpUnknown] for a method and path PayKeeper
	// does not have. It describes the request, whatever its outcome.
	Op     string
	Method string
	Path   string
	Query  url.Values
	// Form is the parsed application/x-www-form-urlencoded body of a POST,
	// with the value of the token field replaced by [MaskedToken]; nil for
	// other requests.
	Form url.Values
	// TokenValid tells whether a POST carried the token valid at the time.
	TokenValid bool
	// User is the Basic-auth login sent, valid or not; "" without Basic auth.
	User       string
	Header     http.Header // as received, without Authorization
	RemoteAddr string
	Time       time.Time
	// Answered is the HTTP status sent, or 0 if the connection was dropped
	// (or the client went away) without an answer, or the request is still
	// being handled.
	Answered int
}

// Values of [Request.Op] and arguments of [Server.Count]: each route's path
// without its leading and trailing slash, so OpReverse (a refund) is
// "change/payment/reverse" for POST /change/payment/reverse/. A request with
// the right path but the wrong method is OpUnknown.
const (
	OpToken = "info/settings/token" // GET /info/settings/token/

	OpSystemsList        = "info/systems/list"
	OpSystemsSums        = "info/systems/sums"
	OpSystemsSumsDetails = "info/systems/sums/details"
	OpSystemsAllSum      = "info/systems/allsum"

	OpPaymentsByDate      = "info/payments/bydate"
	OpPaymentsByDateCount = "info/payments/bydatecount"
	OpPaymentByID         = "info/payments/byid"
	OpPaymentsSearch      = "info/payments/search"
	OpOptionsByID         = "info/options/byid"
	OpParamsByID          = "info/params/byid"
	OpHTTPLogByID         = "info/httplog/byid"
	OpRefundsByPaymentID  = "info/refunds/bypaymentid"
	OpReverse             = "change/payment/reverse" // a refund
	OpRepeatCnt           = "change/payment/repeatcnt"
	OpCapture             = "change/payment/capture"

	OpInvoiceByID      = "info/invoice/byid"
	OpInvoiceList      = "info/invoice/list"
	OpInvoiceListCount = "info/invoice/listcount"
	OpInvoicePreview   = "change/invoice/preview" // creates an invoice
	OpInvoiceSend      = "change/invoice/send"
	OpInvoiceRevoke    = "change/invoice/revoke"

	OpUserSettings     = "info/user/settings"
	OpUserLastVisit    = "info/user/lastvisit"
	OpOrgSettings      = "info/organization/settings"
	OpOrgNotifications = "info/organization/notifications"
	OpOrgFields        = "info/organization/fields"
	OpOrgReportEmails  = "info/organization/reportemails"
	OpOrgUsers         = "info/organization/users"

	OpChangeSetting     = "change/organization/setting"
	OpChangeFormField   = "change/organization/formfield"
	OpAddReportEmail    = "change/organization/addreportemail"
	OpDeleteReportEmail = "change/organization/deletereportemail"
	OpUserAdd           = "change/user/add"
	OpUserUpdate        = "change/user/update"
	OpUserDelete        = "change/user/delete"

	OpExportPayments = "export/payments"

	// OpBill is the payer's invoice page, GET /bill/<id>/, served without
	// authentication.
	OpBill = "bill"
	// OpForm is the payment form, GET or POST /create/, served without
	// authentication (see [WithFormSecret]).
	OpForm = "create"
	// OpBindingExecute charges a saved card: POST /change/binding/execute/.
	OpBindingExecute = "change/binding/execute"
	// OpPostSaleReceipt, OpReceiptPrint and OpReceipts are the 54-FZ
	// receipts; OpErrorsTotal the error counts.
	OpPostSaleReceipt = "change/payment/post-sale-receipt"
	OpReceiptPrint    = "change/receipt/print"
	OpReceipts        = "info/receipts/bypaymentid"
	OpErrorsTotal     = "info/errors/total"
	// OpUnknown is a method and path PayKeeper does not have (answered 404).
	OpUnknown = "unknown"
)

// MaskedToken replaces the token form field in recorded requests.
const MaskedToken = "[masked]"

func cloneRequest(r Request) Request {
	r.Header = r.Header.Clone()
	r.Query = cloneValues(r.Query)
	r.Form = cloneValues(r.Form)
	return r
}

func cloneValues(v url.Values) url.Values {
	if v == nil {
		return nil
	}
	out := make(url.Values, len(v))
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}

// Reset forgets the recorded requests, the notifications sent and the token
// fetch count. Payments, invoices, settings, users, the token and queued
// faults stay.
func (s *Server) Reset() {
	s.Fake.Reset()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.notifications = nil
	s.tokenFetches = 0
}

// ---- faults ----

// Faults of the embedded [fakeserver.Faults] (GarbageNext answers 200 with
// [HTMLPage]) and HTMLNext apply to the next
// requests to PayKeeper's API routes (the token included), one request each,
// in the order they were queued, whatever the route. Unknown routes and the
// payer's /bill/ pages do not use one up; the payment form (/create/) takes
// only DropNextOp(OpForm). A FailNext body that starts with '{' or '[' is
// sent as application/json, any other as text/html.

// HTMLNext is GarbageNext under the name this package had first: it
// processes the next n requests and answers 200 with [HTMLPage] instead of
// the JSON, as the cabinet's login redirect or a proxy would.
func (s *Server) HTMLNext(n int) { s.GarbageNext(n) }
