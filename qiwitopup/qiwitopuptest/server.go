package qiwitopuptest

import (
	"crypto/tls"
	"fmt"
	"maps"
	"net/http"
	"sync"
	"time"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/internal/testca"

	"github.com/paysdk/payments/internal/fakeserver"
)

// Host names of the two QIWI endpoints. The server certificate is valid for
// both; the client must pin both to [Server.Addr].
const (
	// Host serves login/password and signature authentication.
	Host = "api.qiwi.com"
	// PrivateHost serves client-certificate (mutual TLS) authentication.
	PrivateHost = "private-api.qiwi.com"
)

// Paths of the two documented endpoints (POST only).
const (
	PathTopup = "/xml/topup.jsp"
	PathXMLCP = "/xml/xmlcp.jsp"
)

// Values of [Request.Op] and arguments of [Server.Count].
const (
	OpPay                  = "pay"                    // request-type pay with <auth>
	OpStatus               = "status"                 // request-type pay with <status>
	OpCheckUser            = "check-user"             // request-type check-user
	OpCheckDepositPossible = "check-deposit-possible" // request-type check-deposit-possible
	OpPing                 = "ping"                   // request-type ping
	OpGetProvider          = "get-provider"           // request-type get-provider-by-phone-number
	OpInvalid              = "invalid"                // not well-formed XML, no <request> root, no or an unsupported request-type, pay with neither or both of <auth> and <status>
	OpUnknown              = "unknown"                // a route QIWI does not have
)

// Values of [Request.AuthMode].
const (
	AuthPassword    = "password"
	AuthSignature   = "signature"
	AuthCertificate = "certificate"
)

// Server is a running fake QIWI Wallet Top-Up API (topup.jsp and xmlcp.jsp).
// Make one with [NewServer] and [Server.Close] it when done. All methods are
// safe for concurrent use, including while requests are being served.
type Server struct {
	// Fake serves the route table and holds the fault switches (FailNext,
	// DropNext, DropBeforeNext, DelayNext, TruncateNext, DropNextOp) and
	// the request log (Requests, Count, Reset) shared by every fake.
	*fakeserver.Fake[Request]
	// Sources is the source-address allowlist: SetAllowedIPs.
	fakeserver.Sources
	base     *fakeserver.Base // its CA issues the server certificate
	clientCA *testca.CA       // "the CA QIWI issues": verifies client certificates

	mu                sync.Mutex       // guards everything below
	cfg               config           // the options; SetPassword changes the password
	balances          map[string]int64 // numeric ccy → kopecks
	minAmount         int64
	maxAmount         int64
	wallets           map[string]bool // phone → identified
	depositImpossible map[string]bool
	blocked           map[string]bool
	failAccounts      map[string]int
	providers         map[string]int
	nextTxn           int64
	payments          map[string]*payment
	order             []*payment
}

// NewServer starts a fake QIWI Top-Up API on 127.0.0.1 with a random port,
// serving TLS (minimum 1.2, HTTP/1.1 only) with one certificate valid for
// [Host] and [PrivateHost], from a fresh test CA. The handshake asks for a
// client certificate and verifies one if given (tls.VerifyClientCertIfGiven)
// against a second fresh CA, the one [Server.ClientCertificate] issues from.
// Like httptest.NewServer it panics if the CAs or the listener cannot be
// made, and on an invalid [WithBalance] or [WithLimits] amount.
func NewServer(opts ...Option) *Server {
	cfg := fakeserver.Configure(defaultConfig(), opts)
	s := &Server{
		cfg:               cfg,
		balances:          map[string]int64{},
		wallets:           map[string]bool{},
		depositImpossible: map[string]bool{},
		blocked:           map[string]bool{},
		failAccounts:      map[string]int{},
		providers:         map[string]int{},
		nextTxn:           20323739405,
		payments:          map[string]*payment{},
	}
	for _, kv := range cfg.balances {
		if err := s.setBalanceLocked(kv[0], kv[1]); err != nil {
			panic("qiwitopuptest: WithBalance: " + err.Error())
		}
	}
	minA, err1 := payments.ParseMinor(cfg.minAmount, 2)
	maxA, err2 := payments.ParseMinor(cfg.maxAmount, 2)
	if err1 != nil || err2 != nil || minA > maxA {
		panic(fmt.Sprintf("qiwitopuptest: WithLimits(%q, %q): invalid limits", cfg.minAmount, cfg.maxAmount))
	}
	s.minAmount, s.maxAmount = minA, maxA
	clientCA, err := testca.New()
	if err != nil {
		panic(fmt.Sprintf("qiwitopuptest: %v", err))
	}
	s.clientCA = clientCA
	s.base = fakeserver.New(fakeserver.Config{
		Name:  "qiwitopuptest",
		Hosts: []string{Host, PrivateHost},
		TLS: func(c *tls.Config) {
			c.ClientAuth = tls.VerifyClientCertIfGiven
			c.ClientCAs = clientCA.Pool()
		},
	})
	if err := s.SetAllowedIPs(cfg.allowedIPs...); err != nil && cfg.t != nil {
		cfg.t.Helper()
		cfg.t.Errorf("qiwitopuptest: WithAllowedIPs: %v", err)
	}
	s.Fake = fakeserver.Start(s.base, s.spec(cfg.t))

	if cfg.t != nil {
		cfg.t.Cleanup(s.Close)
	}
	return s
}

// URL returns the public endpoint, "https://api.qiwi.com:<port>/xml/topup.jsp"
// (login/password and signature authentication). The host is the real one:
// the client must resolve it to [Server.Addr].
func (s *Server) URL() string { return s.base.URL(Host, PathTopup) }

// PrivateURL returns the client-certificate endpoint,
// "https://private-api.qiwi.com:<port>/xml/topup.jsp".
func (s *Server) PrivateURL() string { return s.base.URL(PrivateHost, PathTopup) }

// XMLCPURL returns the mobile-operator lookup endpoint on the public host,
// "https://api.qiwi.com:<port>/xml/xmlcp.jsp".
func (s *Server) XMLCPURL() string { return s.base.URL(Host, PathXMLCP) }

// ClientCAPEM returns the PEM of the CA that the server trusts for client
// certificates: the "CA certificate" QIWI hands an agent along with its client
// certificate. The server's own certificate is not issued by it; trust
// [Server.CACertPEM] for that.
func (s *Server) ClientCAPEM() []byte { return s.clientCA.CertPEM() }

// ClientCertificate issues a fresh client certificate from the CA of
// [Server.ClientCAPEM], with the terminal ID as its common name, for mutual
// TLS with [PrivateHost].
func (s *Server) ClientCertificate() (tls.Certificate, error) {
	return s.clientCA.ClientCert("qiwi-agent-" + s.TerminalID())
}

// CertClient returns a new *http.Client like Client that also
// presents cert in the handshake (for [PrivateHost]).
func (s *Server) CertClient(cert tls.Certificate) *http.Client {
	return s.base.NewClient(nil, []tls.Certificate{cert})
}

// TerminalID returns the agent ID the server accepts.
func (s *Server) TerminalID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cfg.terminalID
}

// Password returns the password the server accepts.
func (s *Server) Password() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cfg.password
}

// SetPassword replaces the accepted password, as QIWI staff would on the
// agent's request; requests with the old one get 150.
func (s *Server) SetPassword(p string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cfg.password = p
}

// Balance returns the agent balance in currency ccy (numeric or letter code)
// as a decimal string with two decimals, or "" if the agent has no account in
// that currency.
func (s *Server) Balance(ccy string) string {
	code, ok := normCCY(ccy)
	if !ok {
		return ""
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.balances[code]
	if !ok {
		return ""
	}
	return payments.FormatMinor(v, 2)
}

// SetBalance sets (or opens) the agent account in currency ccy with amount, a
// decimal string with at most two decimals.
func (s *Server) SetBalance(ccy, amount string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.setBalanceLocked(ccy, amount); err != nil {
		return fmt.Errorf("qiwitopuptest: SetBalance: %w", err)
	}
	return nil
}

func (s *Server) setBalanceLocked(ccy, amount string) error {
	code, ok := normCCY(ccy)
	if !ok {
		return fmt.Errorf("unknown currency %q", ccy)
	}
	v, err := payments.ParseMinor(amount, 2)
	if err != nil || v < 0 {
		return fmt.Errorf("%q is not a non-negative amount with at most 2 decimals", amount)
	}
	s.balances[code] = v
	return nil
}

// AddWallet registers a QIWI wallet for phone (international format without
// '+', e.g. "79181234567"). An identified wallet can be topped up; a wallet
// added with identified false exists but check-deposit-possible answers 204
// with <deposit-possible>0</deposit-possible>, and wallet top-ups to it are
// declined with result-code 204. Adding it again changes identified.
func (s *Server) AddWallet(phone string, identified bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.wallets[phone] = identified
}

// WalletExists reports whether a wallet for phone exists: added with
// [Server.AddWallet] or created by an accepted wallet top-up (service 99).
// [WithAllWalletsExist] is not taken into account here.
func (s *Server) WalletExists(phone string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.wallets[phone]
	return ok
}

// SetDepositImpossible makes check-deposit-possible for phone answer 204
// with <deposit-possible>0</deposit-possible>, and wallet top-ups to it be
// declined with 204, whether or not the wallet exists.
func (s *Server) SetDepositImpossible(phone string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.depositImpossible[phone] = true
}

// BlockAccount forbids top-ups of account (a to/account-number, or the card
// number of a 32911 payout): new payments to it are declined with result-code
// 319, and check-deposit-possible for it answers 319 with
// <deposit-possible>0</deposit-possible>. Payments already made are not
// affected.
func (s *Server) BlockAccount(account string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.blocked[account] = true
}

// FailAccount makes payments to account (a to/account-number, or the card
// number of a 32911 payout) end, when they reach their final step, in status
// 160 with resultCode (e.g. 300 or 702) instead of 60, including payments
// already pending. The funds go back to the agent balance.
// FailAccount(account, 0) undoes it.
func (s *Server) FailAccount(account string, resultCode int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if resultCode == 0 {
		delete(s.failAccounts, account)
		return
	}
	s.failAccounts[account] = resultCode
}

// SetProvider makes get-provider-by-phone-number answer provider id for phone
// numbers (without country code) starting with prefix; the longest matching
// prefix wins. A number no prefix matches is answered with result-code 300.
func (s *Server) SetProvider(prefix string, id int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.providers[prefix] = id
}

// Complete moves the payment with transaction number txn straight to its
// final outcome (60, or the [Server.FailAccount] one), with the balance
// effect. A payment already final is left alone. It reports whether the
// payment exists.
func (s *Server) Complete(txn string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.payments[txn]
	if p == nil {
		return false
	}
	if !p.final() && p.Status >= 0 {
		st, rc := s.outcomeLocked(p)
		s.transitionLocked(p, st, rc)
	}
	return true
}

// SetStatus sets the status and result-code of the payment with transaction
// number txn. The balance follows: statuses 0..100 hold the amount debited
// from the agent account, -1 and statuses above 100 return it. final-status
// becomes true for 60 and above 100; fatal-error is true when resultCode is
// not 0. It reports whether the payment exists.
func (s *Server) SetStatus(txn string, status int, resultCode int) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.payments[txn]
	if p == nil {
		return false
	}
	s.transitionLocked(p, status, resultCode)
	return true
}

// PaymentRecord is what the server holds about one payment.
type PaymentRecord struct {
	TransactionNumber  string // the agent's number, the idempotency key
	TxnID              string // QIWI's txn_id
	ServiceID          int    // to/service-id
	Account            string // to/account-number as sent (unmasked)
	Amount             string // to/amount, two decimals; also the from/amount (no fees)
	FromCCY            string // numeric ISO 4217 of the agent account debited
	ToCCY              string // numeric ISO 4217 of the recipient account
	IncomeWireTransfer string // request-level extra income_wire_transfer; "" if absent
	FromExtras         map[string]string
	ToExtras           map[string]string // e.g. account0, account1, bankId, comment
	Status             int
	ResultCode         int
	FinalStatus        bool
	FatalError         bool
	RRN, BillRegID     string // card payouts (34020) once in status 60
	Polls              int    // status requests that included this payment
	Created            time.Time
}

// Payment returns the payment with transaction number txn, if the server has
// it.
func (s *Server) Payment(txn string) (PaymentRecord, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p := s.payments[txn]; p != nil {
		return p.record(), true
	}
	return PaymentRecord{}, false
}

// Payments returns every stored payment in the order they were created.
func (s *Server) Payments() []PaymentRecord {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]PaymentRecord, len(s.order))
	for i, p := range s.order {
		out[i] = p.record()
	}
	return out
}

func (p *payment) record() PaymentRecord {
	r := p.PaymentRecord
	r.FromExtras = maps.Clone(p.FromExtras)
	r.ToExtras = maps.Clone(p.ToExtras)
	return r
}

// Request is one request the server received.
type Request struct {
	// Op is one of the Op constants. It describes the request, whatever its
	// outcome.
	Op   string
	Host string // host name the request was addressed to (Host header, without port)
	// SNI is the TLS server name the client sent.
	SNI    string
	Method string
	Path   string
	Header http.Header // as received, X-Digital-Sign included
	// Body is the body as received; it contains the password when the client
	// sent one.
	Body       []byte
	RemoteAddr string
	// ClientCertCN is the common name of the verified client certificate, ""
	// without one.
	ClientCertCN string
	// AuthMode is how the request was authenticated (AuthPassword,
	// AuthSignature, AuthCertificate), or "" if it was not (refused, not
	// processed because of a fault, invalid, unknown route).
	AuthMode string
	Time     time.Time
	// Answered is the HTTP status sent, or 0 if the connection was dropped
	// (or the client went away) without an answer, or the request is still
	// being handled.
	Answered int
	// ResultCode is the request-level <result-code> answered, or -1 when no
	// XML answer was produced (fault, unknown route).
	ResultCode int
}

func cloneRequest(r Request) Request {
	r.Header = r.Header.Clone()
	r.Body = append([]byte(nil), r.Body...)
	return r
}

// Faults of the embedded [fakeserver.Faults] and the switches below apply
// to the next requests to the two documented routes (POST /xml/topup.jsp and
// POST /xml/xmlcp.jsp on either host), one request each, in the order they
// were queued. A request to an unknown route does not use one up. A FailNext
// body that starts with '<' is sent as text/xml, any other as text/plain.

// The fake's own fault kinds.
const (
	faultError = fakeserver.FaultCustom + iota
	faultEmpty
)

// ErrorNext answers the next n requests 200 with only a request-level error,
// <result-code fatal=".." message=".." msg="..">code</result-code>, without
// processing them (no authentication, no payment, no state change). Use 13
// (try again in a minute), 150 (authorization), 300 (unknown error) or 339
// (IP restriction); the message is the documents' Russian text for the code,
// "Неизвестная ошибка" for 300 and any undocumented code.
func (s *Server) ErrorNext(n int, code int, fatal bool) {
	fakeserver.Enqueue(&s.Faults, n, fakeserver.Fault{Kind: faultError, Code: code, Flag: fatal})
}

// EmptyNext processes the next n requests and answers 200 with an empty body.
func (s *Server) EmptyNext(n int) {
	fakeserver.Enqueue(&s.Faults, n, fakeserver.Fault{Kind: faultEmpty})
}
