package popolnitest

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// ---- helpers ----------------------------------------------------------------

// newTestServer makes a server tied to t with the rate limit off (most tests
// send more than 5 requests at once); the rate-limit tests turn it back on.
func newTestServer(t *testing.T, opts ...Option) *Server {
	t.Helper()
	return NewServer(append([]Option{WithT(t), WithRateLimit(0)}, opts...)...)
}

type result struct {
	status int
	ctype  string
	body   string
}

func newReq(t testing.TB, s *Server, method, url, body string) *http.Request {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, r)
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth(s.Login(), s.Password())
	if method == http.MethodPost {
		req.Header.Set("Content-Type", "application/json")
	}
	return req
}

func roundTrip(c *http.Client, req *http.Request) (result, error) {
	resp, err := c.Do(req)
	if err != nil {
		return result{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return result{}, err
	}
	return result{status: resp.StatusCode, ctype: resp.Header.Get("Content-Type"), body: string(b)}, nil
}

func mustDo(t testing.TB, c *http.Client, req *http.Request) result {
	t.Helper()
	res, err := roundTrip(c, req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	return res
}

func post(t testing.TB, s *Server, body string) result {
	t.Helper()
	return mustDo(t, s.Client(), newReq(t, s, http.MethodPost, s.URL(), body))
}

func getBalance(t testing.TB, s *Server) result {
	t.Helper()
	return mustDo(t, s.Client(), newReq(t, s, http.MethodGet, s.URL()+"?balance=", ""))
}

func expect(t testing.TB, got result, status int, body string) {
	t.Helper()
	if got.status != status || got.body != body {
		t.Fatalf("got %d %q, want %d %q", got.status, got.body, status, body)
	}
	switch {
	case status == http.StatusOK && got.ctype != "application/json":
		t.Fatalf("200 answer has Content-Type %q, want application/json", got.ctype)
	case status == http.StatusForbidden && !strings.HasPrefix(got.ctype, "text/plain"):
		t.Fatalf("403 answer has Content-Type %q, want text/plain", got.ctype)
	}
}

func payItem(id, amount int64, msisdn string) string {
	return fmt.Sprintf(`{"transactionId":%d,"amount":%d,"msisdn":%q,"templateId":0}`, id, amount, msisdn)
}

func batch(items ...string) string { return "[" + strings.Join(items, ",") + "]" }

func statusQuery(ids ...int64) string {
	parts := make([]string, len(ids))
	for i, id := range ids {
		parts[i] = fmt.Sprintf(`{"transactionId":%d,"status":0}`, id)
	}
	return batch(parts...)
}

func answers(pairs ...int64) string {
	parts := make([]string, 0, len(pairs)/2)
	for i := 0; i+1 < len(pairs); i += 2 {
		parts = append(parts, fmt.Sprintf(`{"transactionId":%d,"status":%d}`, pairs[i], pairs[i+1]))
	}
	return batch(parts...)
}

func balanceBody(current, credit int64) string {
	return fmt.Sprintf(`{"currentBalance":%d,"creditLimit":%d}`, current, credit)
}

func mustPayment(t testing.TB, s *Server, id int64) PaymentRecord {
	t.Helper()
	p, ok := s.Payment(id)
	if !ok {
		t.Fatalf("payment %d not stored", id)
	}
	return p
}

// fakeClock is a settable clock for the rate limiter.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// recordingTB captures Errorf calls instead of failing the test.
type recordingTB struct {
	testing.TB
	mu   sync.Mutex
	errs []string
}

func (r *recordingTB) Helper() {}

func (r *recordingTB) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

func (r *recordingTB) errors() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.errs...)
}

// waitFor polls cond generously; it is for waiting on the server's side of
// an exchange the client cannot observe, never for asserting durations.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// ---- TLS and URL ------------------------------------------------------------

func TestURLAddrAndTLS(t *testing.T) {
	s := newTestServer(t)
	_, port, err := net.SplitHostPort(s.Addr())
	if err != nil || !strings.HasPrefix(s.Addr(), "127.0.0.1:") {
		t.Fatalf("Addr = %q", s.Addr())
	}
	if want := "https://popolni.club:" + port + "/api"; s.URL() != want {
		t.Fatalf("URL = %q, want %q", s.URL(), want)
	}
	expect(t, getBalance(t, s), 200, balanceBody(DefaultBalance, DefaultCreditLimit))

	// The production URL reaches the fake through Client's dialer, too.
	expect(t, mustDo(t, s.Client(), newReq(t, s, http.MethodGet, "https://popolni.club/api?balance=", "")),
		200, balanceBody(DefaultBalance, DefaultCreditLimit))

	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(s.CACertPEM()) {
		t.Fatal("CACertPEM holds no certificate")
	}
	dialFake := func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, s.Addr())
	}
	clientWith := func(cfg *tls.Config) *http.Client {
		return &http.Client{Transport: &http.Transport{TLSClientConfig: cfg, DialContext: dialFake}}
	}

	// Trusting the CA from CACertPEM is enough.
	expect(t, mustDo(t, clientWith(&tls.Config{RootCAs: pool}), newReq(t, s, http.MethodGet, s.URL()+"?balance=", "")),
		200, balanceBody(DefaultBalance, DefaultCreditLimit))

	// Without the CA the certificate is refused.
	_, err = roundTrip(clientWith(&tls.Config{}), newReq(t, s, http.MethodGet, s.URL()+"?balance=", ""))
	var unknownCA x509.UnknownAuthorityError
	if !errors.As(err, &unknownCA) {
		t.Fatalf("client without the CA: %v, want x509.UnknownAuthorityError", err)
	}

	// A different name than popolni.club fails verification.
	_, err = roundTrip(clientWith(&tls.Config{RootCAs: pool}), newReq(t, s, http.MethodGet, "https://evil.example:"+port+"/api?balance=", ""))
	var hostErr x509.HostnameError
	if !errors.As(err, &hostErr) {
		t.Fatalf("wrong host name: %v, want x509.HostnameError", err)
	}

	// TLS 1.1 and older are refused.
	_, err = roundTrip(clientWith(&tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS11}),
		newReq(t, s, http.MethodGet, s.URL()+"?balance=", ""))
	if err == nil {
		t.Fatal("TLS 1.1 handshake succeeded")
	}

	// HTTP/1.1 only (DropNext hijacks connections).
	resp, err := s.Client().Do(newReq(t, s, http.MethodGet, s.URL()+"?balance=", ""))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.ProtoMajor != 1 || resp.TLS == nil || resp.TLS.Version < tls.VersionTLS12 {
		t.Fatalf("proto %s, TLS %+v", resp.Proto, resp.TLS)
	}

	// Client refuses to dial anything but popolni.club.
	if _, err := s.Client().Get("https://example.com/"); err == nil {
		t.Fatal("Client dialled example.com")
	}
}

func TestInsecureConnection(t *testing.T) {
	s := newTestServer(t)
	_, port, _ := net.SplitHostPort(s.Addr())
	plain := &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, s.Addr())
		},
	}}
	s.FailNext(1, 500, "must not be used by a plain HTTP request")
	got := mustDo(t, plain, newReq(t, s, http.MethodPost, "http://popolni.club:"+port+"/api", batch(payItem(1000000001, 500, "380991234567"))))
	expect(t, got, 403, TextInsecureConnection)
	if _, ok := s.Payment(1000000001); ok {
		t.Fatal("payment sent over plain HTTP was processed")
	}
	// The queued fault is still there for the next TLS request.
	expect(t, getBalance(t, s), 500, "must not be used by a plain HTTP request")
}

// ---- access checks ----------------------------------------------------------

func TestAuth(t *testing.T) {
	s := newTestServer(t)
	body := batch(payItem(1000000001, 500, "380991234567"))

	noAuth := newReq(t, s, http.MethodPost, s.URL(), body)
	noAuth.Header.Del("Authorization")
	expect(t, mustDo(t, s.Client(), noAuth), 403, TextIncorrectAuth)

	wrongPass := newReq(t, s, http.MethodPost, s.URL(), body)
	wrongPass.SetBasicAuth(DefaultLogin, "wrong")
	expect(t, mustDo(t, s.Client(), wrongPass), 403, TextIncorrectAuth)

	wrongLogin := newReq(t, s, http.MethodGet, s.URL()+"?balance=", "")
	wrongLogin.SetBasicAuth("someone", DefaultPassword)
	expect(t, mustDo(t, s.Client(), wrongLogin), 403, TextIncorrectAuth)

	if _, ok := s.Payment(1000000001); ok {
		t.Fatal("unauthenticated payment was processed")
	}

	// Right credentials work; rotated credentials make the old ones fail.
	expect(t, getBalance(t, s), 200, balanceBody(DefaultBalance, DefaultCreditLimit))
	old := newReq(t, s, http.MethodGet, s.URL()+"?balance=", "")
	s.SetCredentials("partner2", "new-password")
	expect(t, mustDo(t, s.Client(), old), 403, TextIncorrectAuth)
	if s.Login() != "partner2" || s.Password() != "new-password" {
		t.Fatal("Login/Password do not follow SetCredentials")
	}
	expect(t, getBalance(t, s), 200, balanceBody(DefaultBalance, DefaultCreditLimit))

	s2 := newTestServer(t, WithCredentials("me", "pw"))
	if s2.Login() != "me" || s2.Password() != "pw" {
		t.Fatal("WithCredentials ignored")
	}
	expect(t, getBalance(t, s2), 200, balanceBody(DefaultBalance, DefaultCreditLimit))
}

// canBind127002 reports whether this machine can use 127.0.0.2 as a source.
func canBind127002() bool {
	ln, err := net.Listen("tcp4", "127.0.0.2:0")
	if err != nil {
		return false
	}
	ln.Close()
	return true
}

func TestIPAllowlist(t *testing.T) {
	if !canBind127002() {
		t.Skip("127.0.0.2 is not usable as a source address here")
	}
	s := newTestServer(t, WithAllowedIPs("127.0.0.1"))
	from2 := s.newClient(&net.TCPAddr{IP: net.ParseIP("127.0.0.2")})
	defer from2.CloseIdleConnections()
	bal := func(c *http.Client) result {
		return mustDo(t, c, newReq(t, s, http.MethodGet, s.URL()+"?balance=", ""))
	}

	expect(t, bal(from2), 403, TextIPNotAllowed)
	expect(t, bal(s.Client()), 200, balanceBody(DefaultBalance, DefaultCreditLimit))

	// Authentication is checked before the address.
	wrong := newReq(t, s, http.MethodGet, s.URL()+"?balance=", "")
	wrong.SetBasicAuth("x", "y")
	expect(t, mustDo(t, from2, wrong), 403, TextIncorrectAuth)

	if err := s.SetAllowedIPs("127.0.0.2"); err != nil {
		t.Fatal(err)
	}
	expect(t, bal(from2), 200, balanceBody(DefaultBalance, DefaultCreditLimit))
	expect(t, bal(s.Client()), 403, TextIPNotAllowed)

	if err := s.SetAllowedIPs("10.0.0.0/8", "127.0.0.0/30"); err != nil {
		t.Fatal(err)
	}
	expect(t, bal(from2), 200, balanceBody(DefaultBalance, DefaultCreditLimit))
	expect(t, bal(s.Client()), 200, balanceBody(DefaultBalance, DefaultCreditLimit))

	if err := s.SetAllowedIPs(); err != nil { // empty: everyone
		t.Fatal(err)
	}
	expect(t, bal(from2), 200, balanceBody(DefaultBalance, DefaultCreditLimit))

	if err := s.SetAllowedIPs("not-an-ip"); err == nil {
		t.Fatal("SetAllowedIPs accepted garbage")
	}
	expect(t, bal(s.Client()), 403, TextIPNotAllowed) // fails closed

	reqs := s.Requests()
	if host, _, _ := net.SplitHostPort(reqs[0].RemoteAddr); host != "127.0.0.2" {
		t.Fatalf("first request came from %q, want 127.0.0.2", reqs[0].RemoteAddr)
	}
}

func TestInvalidAllowlistEntryReported(t *testing.T) {
	rec := &recordingTB{TB: t}
	s := NewServer(WithT(rec), WithAllowedIPs("127.0.0.1", "300.1.2.3"))
	defer s.Close()
	if errs := rec.errors(); len(errs) != 1 || !strings.Contains(errs[0], "300.1.2.3") {
		t.Fatalf("reported %q", errs)
	}
	expect(t, getBalance(t, s), 200, balanceBody(DefaultBalance, DefaultCreditLimit)) // the valid entry still works
}

func TestAPIDisabledAndSchedule(t *testing.T) {
	s := newTestServer(t)
	s.SetAPIEnabled(false)
	s.SetInSchedule(false)
	expect(t, getBalance(t, s), 403, TextAPIDisabled) // disabled is checked before the schedule
	expect(t, post(t, s, batch(payItem(1000000001, 500, "380991234567"))), 403, TextAPIDisabled)

	s.SetAPIEnabled(true)
	expect(t, getBalance(t, s), 403, TextUnscheduled)
	expect(t, post(t, s, statusQuery(1)), 403, TextUnscheduled)

	// Auth still comes first.
	wrong := newReq(t, s, http.MethodGet, s.URL()+"?balance=", "")
	wrong.SetBasicAuth("x", "y")
	expect(t, mustDo(t, s.Client(), wrong), 403, TextIncorrectAuth)

	s.SetInSchedule(true)
	expect(t, getBalance(t, s), 200, balanceBody(DefaultBalance, DefaultCreditLimit))
	if _, ok := s.Payment(1000000001); ok {
		t.Fatal("payment processed while the API was disabled")
	}
}

// ---- rate limit -------------------------------------------------------------

func TestRateLimitSixthRequestInASecond(t *testing.T) {
	clk := newFakeClock()
	// No WithRateLimit: the default is the document's 5 per second.
	s := NewServer(WithT(t), withClock(clk.Now))

	expect(t, post(t, s, batch(payItem(1000000001, 500, "380991234567"))), 200, answers(1000000001, 0))
	for i := 0; i < 4; i++ {
		expect(t, getBalance(t, s), 200, balanceBody(DefaultBalance, DefaultCreditLimit))
	}
	// Sixth within the same second: 503, not processed, state not moved.
	expect503 := func(got result) {
		t.Helper()
		if got.status != http.StatusServiceUnavailable || got.body != TextRateLimited {
			t.Fatalf("got %d %q, want 503 %q", got.status, got.body, TextRateLimited)
		}
	}
	expect503(post(t, s, statusQuery(1000000001)))
	if p := mustPayment(t, s, 1000000001); p.Status != 0 || p.Polls != 0 {
		t.Fatalf("rate-limited status query moved the payment: %+v", p)
	}
	expect503(post(t, s, batch(payItem(1000000002, 500, "380991234567"))))
	if _, ok := s.Payment(1000000002); ok {
		t.Fatal("rate-limited payment was created")
	}
	// The limit sits in front of authentication.
	wrong := newReq(t, s, http.MethodGet, s.URL()+"?balance=", "")
	wrong.SetBasicAuth("x", "y")
	expect503(mustDo(t, s.Client(), wrong))

	reqs := s.Requests()
	if n := len(reqs); n != 8 || reqs[5].Answered != 503 || reqs[6].Answered != 503 || reqs[7].Answered != 503 || reqs[4].Answered != 200 {
		t.Fatalf("recorded %d requests: %+v", n, reqs)
	}

	// A second later the window is free again; refused requests did not use it.
	clk.Advance(time.Second)
	for i := 0; i < 5; i++ {
		expect(t, getBalance(t, s), 200, balanceBody(DefaultBalance, DefaultCreditLimit))
	}
	expect503(getBalance(t, s))
}

func TestRateLimitSlidingWindow(t *testing.T) {
	clk := newFakeClock()
	s := NewServer(WithT(t), withClock(clk.Now), WithRateLimit(5))
	ok := func() { t.Helper(); expect(t, getBalance(t, s), 200, balanceBody(DefaultBalance, DefaultCreditLimit)) }
	limited := func() {
		t.Helper()
		if got := getBalance(t, s); got.status != 503 {
			t.Fatalf("got %d %q, want 503", got.status, got.body)
		}
	}
	ok() // t0
	clk.Advance(400 * time.Millisecond)
	ok() // t0+0.4 ×4
	ok()
	ok()
	ok()
	clk.Advance(100 * time.Millisecond)
	limited() // t0+0.5: five in the last second
	clk.Advance(500 * time.Millisecond)
	ok()      // t0+1.0: the t0 request has left the window
	limited() // but the four at t0+0.4 are still in it
	clk.Advance(400 * time.Millisecond)
	ok() // t0+1.4: they left
	ok()
	ok()
	ok()
	limited()

	// FailNext answers do not use the window.
	clk.Advance(time.Second)
	s.FailNext(3, 500, "x")
	for i := 0; i < 3; i++ {
		if got := getBalance(t, s); got.status != 500 {
			t.Fatalf("got %d", got.status)
		}
	}
	for i := 0; i < 5; i++ {
		ok()
	}
	limited()
}

func TestRateLimitExcess(t *testing.T) {
	clk := newFakeClock()
	s := NewServer(WithT(t), withClock(clk.Now), WithRateLimitExcess(2))
	codes := func(n int) []int {
		out := make([]int, n)
		for i := range out {
			out[i] = getBalance(t, s).status
		}
		return out
	}
	if got := fmt.Sprint(codes(8)); got != "[200 200 200 200 200 200 200 503]" {
		t.Fatalf("first second: %s", got)
	}
	clk.Advance(time.Second)
	if got := fmt.Sprint(codes(6)); got != "[200 200 200 200 200 503]" {
		t.Fatalf("tolerance used up, next second: %s", got)
	}
	clk.Advance(10 * time.Minute)
	if got := fmt.Sprint(codes(8)); got != "[200 200 200 200 200 200 200 503]" {
		t.Fatalf("ten minutes later: %s", got)
	}
}

func TestRateLimitDisabled(t *testing.T) {
	clk := newFakeClock()
	s := NewServer(WithT(t), withClock(clk.Now), WithRateLimit(0))
	for i := 0; i < 30; i++ {
		expect(t, getBalance(t, s), 200, balanceBody(DefaultBalance, DefaultCreditLimit))
	}
}

// ---- payments ---------------------------------------------------------------

// The document's own examples, byte for byte.
const (
	docPayBatch    = `[{"transactionId":1000000001,"amount":500,"msisdn":"380991234567","templateId":5},{"transactionId":1000000002,"amount":2000,"msisdnNotice":"380501234567","msisdn":"4111111111111111","templateId":7}]`
	docPayAnswer   = `[{"transactionId":1000000001,"status":0},{"transactionId":1000000002,"status":0}]`
	docStatusQuery = `[{"transactionId":1000000001,"status":0},{"transactionId":1000000002,"status":0}]`
)

func TestPayPollAndBalance(t *testing.T) {
	s := newTestServer(t, WithBalance(-2000, 10000))
	expect(t, getBalance(t, s), 200, `{"currentBalance":-2000,"creditLimit":10000}`)

	expect(t, post(t, s, docPayBatch), 200, docPayAnswer)
	p := mustPayment(t, s, 1000000002)
	want := PaymentRecord{TransactionID: 1000000002, Amount: 2000, Msisdn: "4111111111111111", MsisdnNotice: "380501234567", TemplateID: 7, Status: 0, Created: p.Created}
	if p != want {
		t.Fatalf("Payment = %+v, want %+v", p, want)
	}

	expect(t, post(t, s, docStatusQuery), 200, answers(1000000001, 2, 1000000002, 2))
	if cur, _ := s.Balance(); cur != -2000 {
		t.Fatalf("balance moved before success: %d", cur)
	}
	expect(t, post(t, s, docStatusQuery), 200, answers(1000000001, 3, 1000000002, 3))
	expect(t, getBalance(t, s), 200, balanceBody(-2000-2500, 10000))
	// Final stays final, and the balance is debited once.
	expect(t, post(t, s, docStatusQuery), 200, answers(1000000001, 3, 1000000002, 3))
	if cur, credit := s.Balance(); cur != -4500 || credit != 10000 {
		t.Fatalf("Balance() = %d, %d", cur, credit)
	}
	if p := mustPayment(t, s, 1000000001); p.Polls != 3 || p.Status != 3 {
		t.Fatalf("payment after 3 polls: %+v", p)
	}

	s.SetBalance(777, 5)
	expect(t, getBalance(t, s), 200, balanceBody(777, 5))

	if got := len(s.Payments()); got != 2 {
		t.Fatalf("Payments() has %d", got)
	}
}

func TestURLVariants(t *testing.T) {
	s := newTestServer(t)
	_, port, _ := net.SplitHostPort(s.Addr())
	base := "https://popolni.club:" + port
	for _, u := range []string{base + "/api?balance=", base + "/api/?balance=", base + "/api?balance", base + "/api/?balance"} {
		expect(t, mustDo(t, s.Client(), newReq(t, s, http.MethodGet, u, "")), 200, balanceBody(DefaultBalance, DefaultCreditLimit))
	}
	expect(t, mustDo(t, s.Client(), newReq(t, s, http.MethodPost, base+"/api/", batch(payItem(1000000001, 500, "380991234567")))),
		200, answers(1000000001, 0))
	expect(t, mustDo(t, s.Client(), newReq(t, s, http.MethodPost, base+"/api/", statusQuery(1000000001))),
		200, answers(1000000001, 2))
	// Content-Type parameters are fine.
	req := newReq(t, s, http.MethodPost, s.URL(), statusQuery(1000000001))
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	expect(t, mustDo(t, s.Client(), req), 200, answers(1000000001, 3))
	if s.Count(OpBalance) != 4 || s.Count(OpPay) != 1 || s.Count(OpStatus) != 2 {
		t.Fatalf("counts: balance %d pay %d status %d", s.Count(OpBalance), s.Count(OpPay), s.Count(OpStatus))
	}
}

func TestInsufficientFunds(t *testing.T) {
	s := newTestServer(t, WithBalance(1000, 500)) // 1500 available
	expect(t, post(t, s, batch(payItem(1, 1000, "380991234567"))), 200, answers(1, 0))
	// 500 left once the first payment's amount is reserved.
	expect(t, post(t, s, batch(payItem(2, 600, "380991234567"), payItem(3, 500, "380991234567"))), 200, answers(2, 101, 3, 0))
	if p := mustPayment(t, s, 2); p.Status != 101 {
		t.Fatalf("refused payment stored as %+v", p)
	}
	expect(t, post(t, s, statusQuery(1, 2, 3)), 200, answers(1, 2, 2, 101, 3, 2))
	expect(t, post(t, s, statusQuery(1, 2, 3)), 200, answers(1, 3, 2, 101, 3, 3))
	expect(t, getBalance(t, s), 200, balanceBody(-500, 500))
	// The credit limit is used up.
	expect(t, post(t, s, batch(payItem(4, 100, "380991234567"))), 200, answers(4, 101))
	// An id refused with 101 is taken.
	s.SetBalance(100000, 0)
	expect(t, post(t, s, batch(payItem(2, 600, "380991234567"))), 200, answers(2, 124))
}

func TestDuplicateTransactionID(t *testing.T) {
	s := newTestServer(t)
	expect(t, post(t, s, batch(payItem(1000000001, 500, "380991234567"))), 200, answers(1000000001, 0))
	expect(t, post(t, s, batch(payItem(1000000001, 900, "380500000000"), payItem(1000000003, 100, "380991234567"))),
		200, answers(1000000001, 124, 1000000003, 0))
	if p := mustPayment(t, s, 1000000001); p.Amount != 500 || p.Msisdn != "380991234567" || p.Status != 0 {
		t.Fatalf("existing payment touched: %+v", p)
	}
	// Repeated within one batch: the first wins.
	expect(t, post(t, s, batch(payItem(1000000002, 700, "380991234567"), payItem(1000000002, 800, "380991234567"))),
		200, answers(1000000002, 0, 1000000002, 124))
	if p := mustPayment(t, s, 1000000002); p.Amount != 700 {
		t.Fatalf("second item of the batch won: %+v", p)
	}
	// A duplicate after the payment succeeded is still 124 and debits nothing.
	s.Complete(1000000002)
	cur, _ := s.Balance()
	expect(t, post(t, s, batch(payItem(1000000002, 700, "380991234567"))), 200, answers(1000000002, 124))
	if after, _ := s.Balance(); after != cur {
		t.Fatal("duplicate changed the balance")
	}
}

func TestStatusUnknownID(t *testing.T) {
	s := newTestServer(t)
	expect(t, post(t, s, statusQuery(42)), 200, answers(42, 125))
	expect(t, post(t, s, batch(payItem(7, 500, "380991234567"))), 200, answers(7, 0))
	// Order is preserved; an id repeated in one query is stepped once.
	expect(t, post(t, s, statusQuery(42, 7, 43, 7)), 200, answers(42, 125, 7, 2, 43, 125, 7, 2))
	// A query item without "status" is still a status query; a non-integer id is 125 and echoed.
	expect(t, post(t, s, `[{"transactionId":7},{"transactionId":"x"}]`), 200,
		`[{"transactionId":7,"status":3},{"transactionId":"x","status":125}]`)
}

func TestNotFoundOnce(t *testing.T) {
	s := newTestServer(t)
	expect(t, post(t, s, batch(payItem(1, 500, "380991234567"))), 200, answers(1, 0))
	expect(t, post(t, s, statusQuery(1)), 200, answers(1, 2))
	s.NotFoundOnce(1)
	expect(t, post(t, s, statusQuery(1)), 200, answers(1, 125))
	if p := mustPayment(t, s, 1); p.Status != 2 {
		t.Fatalf("the 125 answer moved the payment: %+v", p)
	}
	expect(t, post(t, s, statusQuery(1)), 200, answers(1, 3))
	expect(t, post(t, s, statusQuery(1)), 200, answers(1, 3))

	// Set before the payment exists: applies once it does.
	s.NotFoundOnce(2)
	expect(t, post(t, s, statusQuery(2)), 200, answers(2, 125))
	expect(t, post(t, s, batch(payItem(2, 500, "380991234567"))), 200, answers(2, 0))
	expect(t, post(t, s, statusQuery(2)), 200, answers(2, 125))
	expect(t, post(t, s, statusQuery(2)), 200, answers(2, 2))
}

// TestNotFoundFirst: with WithNotFoundFirst every payment's first status
// query answers 125 without moving it, later ones the truth; an unknown id
// stays 125; a blacklisted payment goes on 423, 125, 423; SetNotFoundFirst
// switches it off for payments not yet asked about.
func TestNotFoundFirst(t *testing.T) {
	s := newTestServer(t, WithNotFoundFirst())
	expect(t, post(t, s, batch(payItem(1, 500, "380991234567"), payItem(2, 500, "380991234568"))), 200, answers(1, 0, 2, 0))
	expect(t, post(t, s, statusQuery(1, 2, 3)), 200, answers(1, 125, 2, 125, 3, 125))
	if p := mustPayment(t, s, 1); p.Status != 0 || p.Polls != 1 {
		t.Fatalf("the first 125 moved the payment: %+v", p)
	}
	expect(t, post(t, s, statusQuery(1, 2, 3)), 200, answers(1, 2, 2, 2, 3, 125))
	expect(t, post(t, s, statusQuery(1)), 200, answers(1, 3))

	// A payment created later is fooled once too.
	expect(t, post(t, s, batch(payItem(4, 500, "380991234567"))), 200, answers(4, 0))
	expect(t, post(t, s, statusQuery(1, 4)), 200, answers(1, 3, 4, 125))
	expect(t, post(t, s, statusQuery(4)), 200, answers(4, 2))

	// Blacklisted at creation: the first 125 is the alternation's 125.
	s.Blacklist("380990000009")
	expect(t, post(t, s, batch(payItem(5, 500, "380990000009"))), 200, answers(5, 423))
	for i, want := range []int64{125, 423, 125, 423} {
		if got := post(t, s, statusQuery(5)); got.body != answers(5, want) {
			t.Fatalf("blacklisted, query %d: %s, want %s", i+1, got.body, answers(5, want))
		}
	}

	s.SetNotFoundFirst(false)
	expect(t, post(t, s, batch(payItem(6, 500, "380991234567"))), 200, answers(6, 0))
	expect(t, post(t, s, statusQuery(6)), 200, answers(6, 2))
	s.SetNotFoundFirst(true)
	expect(t, post(t, s, statusQuery(6)), 200, answers(6, 3))
}

func TestBlacklist(t *testing.T) {
	s := newTestServer(t)
	expect(t, post(t, s, batch(payItem(1, 500, "380990000001"))), 200, answers(1, 0))
	s.Blacklist("380990000001")
	expect(t, post(t, s, batch(payItem(2, 500, "380990000001"), payItem(3, 500, "380991234567"))), 200, answers(2, 423, 3, 0))
	// New payment: 125, 423, 125, 423...
	for i, want := range []int64{125, 423, 125, 423, 125} {
		if got := post(t, s, statusQuery(2)); got.body != answers(2, want) {
			t.Fatalf("query %d: %s, want %s", i+1, got.body, answers(2, want))
		}
	}
	// The payment pending when the number was blacklisted ends in 423, then alternates.
	for i, want := range []int64{2, 423, 125, 423} {
		if got := post(t, s, statusQuery(1)); got.body != answers(1, want) {
			t.Fatalf("pending payment, query %d: %s, want %s", i+1, got.body, answers(1, want))
		}
	}
	if cur, _ := s.Balance(); cur != DefaultBalance {
		t.Fatalf("blacklisted payments debited the balance: %d", cur)
	}
	if p := mustPayment(t, s, 2); p.Status != 423 {
		t.Fatalf("record: %+v", p)
	}
}

func TestFailAccount(t *testing.T) {
	s := newTestServer(t, WithBalance(1000, 0))
	s.FailAccount("380990000121", 121)
	expect(t, post(t, s, batch(payItem(1, 1000, "380990000121"))), 200, answers(1, 0))
	// Reserved while pending.
	expect(t, post(t, s, batch(payItem(2, 100, "380991234567"))), 200, answers(2, 101))
	expect(t, post(t, s, statusQuery(1)), 200, answers(1, 2))
	expect(t, post(t, s, statusQuery(1)), 200, answers(1, 121))
	expect(t, post(t, s, statusQuery(1)), 200, answers(1, 121))
	if cur, _ := s.Balance(); cur != 1000 {
		t.Fatalf("failed payment debited: %d", cur)
	}
	// Reserve released.
	expect(t, post(t, s, batch(payItem(3, 1000, "380991234567"))), 200, answers(3, 0))
	// Undo.
	s.FailAccount("380990000121", 3)
	s.SetBalance(100000, 0)
	expect(t, post(t, s, batch(payItem(4, 100, "380990000121"))), 200, answers(4, 0))
	s.Complete(4)
	if p := mustPayment(t, s, 4); p.Status != 3 {
		t.Fatalf("FailAccount(…, 3) did not undo: %+v", p)
	}
}

func TestCompleteSetStatusAndSteps(t *testing.T) {
	s := newTestServer(t, WithBalance(10000, 0))
	expect(t, post(t, s, batch(payItem(1, 1000, "380991234567"))), 200, answers(1, 0))
	if !s.Complete(1) {
		t.Fatal("Complete(1) = false")
	}
	if cur, _ := s.Balance(); cur != 9000 {
		t.Fatalf("balance after Complete: %d", cur)
	}
	expect(t, post(t, s, statusQuery(1)), 200, answers(1, 3))
	if !s.SetStatus(1, 208) {
		t.Fatal("SetStatus(1) = false")
	}
	if cur, _ := s.Balance(); cur != 10000 {
		t.Fatalf("leaving 3 did not credit back: %d", cur)
	}
	expect(t, post(t, s, statusQuery(1)), 200, answers(1, 208))
	if s.Complete(99) || s.SetStatus(99, 3) {
		t.Fatal("Complete/SetStatus of an unknown id reported true")
	}

	frozen := newTestServer(t, WithStepsPerPoll(0))
	expect(t, post(t, frozen, batch(payItem(1, 500, "380991234567"))), 200, answers(1, 0))
	expect(t, post(t, frozen, statusQuery(1)), 200, answers(1, 0))
	expect(t, post(t, frozen, statusQuery(1)), 200, answers(1, 0))
	frozen.SetStatus(1, 2)
	expect(t, post(t, frozen, statusQuery(1)), 200, answers(1, 2))
	frozen.Complete(1)
	expect(t, post(t, frozen, statusQuery(1)), 200, answers(1, 3))

	fast := newTestServer(t, WithStepsPerPoll(2))
	expect(t, post(t, fast, batch(payItem(1, 500, "380991234567"))), 200, answers(1, 0))
	expect(t, post(t, fast, statusQuery(1)), 200, answers(1, 3))
}

func TestItemValidation(t *testing.T) {
	s := newTestServer(t, WithMaxAmount(100000))
	items := []string{
		`{"transactionId":11,"amount":"500","msisdn":"380991234567","templateId":0}`,        // amount a string: 215
		`{"transactionId":"12","amount":500,"msisdn":"380991234567","templateId":0}`,        // id a string: 215, echoed
		`{"amount":500,"msisdn":"380991234567","templateId":0}`,                             // id missing: 215, null
		`{"transactionId":14,"amount":500,"msisdn":"+380991234567","templateId":0}`,         // non-digits: 215
		`{"transactionId":15,"amount":500,"templateId":0}`,                                  // msisdn missing: 215
		`{"transactionId":16,"amount":500,"msisdn":380991234567,"templateId":0}`,            // msisdn a number: 215
		`{"transactionId":17,"amount":500,"msisdn":"380991234567","templateId":"5"}`,        // templateId a string: 215
		`{"transactionId":18,"amount":500,"msisdn":"380991234567","msisdnNotice":3805}`,     // msisdnNotice a number: 215
		`{"transactionId":19,"amount":100.5,"msisdn":"380991234567"}`,                       // not an integer: 215
		`{"transactionId":20.0,"amount":100.0,"msisdn":"380991234567","templateId":5.0}`,    // PHP floats: accepted
		`{"transactionId":21,"amount":1e3,"msisdn":"380991234567","templateID":3}`,          // templateID key ignored
		`{"transactionId":22,"amount":99,"msisdn":"380991234567"}`,                          // below minimum: 208
		`{"transactionId":23,"amount":100,"msisdn":"380991234567","msisdnNotice":"abc"}`,    // minimum; bad notice is ignored
		`{"transactionId":24,"amount":-500,"msisdn":"380991234567"}`,                        // negative: 208
		`{"transactionId":25,"amount":100001,"msisdn":"380991234567"}`,                      // above WithMaxAmount: 208
		`{"transactionId":26,"amount":500,"msisdn":""}`,                                     // empty msisdn: 215
		`{"transactionId":0,"amount":500,"msisdn":"380991234567"}`,                          // id 0: 215
		`{"transactionId":99999999999999999999,"amount":500,"msisdn":"380991234567"}`,       // id overflows int64: 215
		`{"transactionId":28,"amount":null,"msisdn":"380991234567"}`,                        // amount null: 215
		`{"transactionId":29,"amount":500,"msisdn":"380991234567","templateId":null,"x":1}`, // null templateId, extra key
	}
	want := `[{"transactionId":11,"status":215},{"transactionId":"12","status":215},{"transactionId":null,"status":215},` +
		`{"transactionId":14,"status":215},{"transactionId":15,"status":215},{"transactionId":16,"status":215},` +
		`{"transactionId":17,"status":215},{"transactionId":18,"status":215},{"transactionId":19,"status":215},` +
		`{"transactionId":20,"status":0},{"transactionId":21,"status":0},{"transactionId":22,"status":208},` +
		`{"transactionId":23,"status":0},{"transactionId":24,"status":208},{"transactionId":25,"status":208},` +
		`{"transactionId":26,"status":215},{"transactionId":0,"status":215},{"transactionId":99999999999999999999,"status":215},` +
		`{"transactionId":28,"status":215},{"transactionId":29,"status":0}]`
	expect(t, post(t, s, batch(items...)), 200, want)

	if p := mustPayment(t, s, 11); p.Status != 215 || p.Msisdn != "380991234567" {
		t.Fatalf("215 item stored as %+v", p)
	}
	if _, ok := s.Payment(12); ok {
		t.Fatal("item with a string id was stored")
	}
	if p := mustPayment(t, s, 20); p.Amount != 100 || p.TemplateID != 5 {
		t.Fatalf("PHP float item stored as %+v", p)
	}
	if p := mustPayment(t, s, 21); p.Amount != 1000 || p.TemplateID != 0 {
		t.Fatalf("templateID item stored as %+v", p)
	}
	if p := mustPayment(t, s, 23); p.MsisdnNotice != "abc" {
		t.Fatalf("notice item stored as %+v", p)
	}
	// 215 and 208 are final: polling does not move them, and their ids are taken.
	expect(t, post(t, s, statusQuery(11, 22, 20)), 200, answers(11, 215, 22, 208, 20, 2))
	expect(t, post(t, s, batch(payItem(11, 500, "380991234567"))), 200, answers(11, 124))
}

func TestDataFormat(t *testing.T) {
	s := newTestServer(t)
	for _, body := range []string{
		``,
		`not json`,
		`{"transactionId":1000000001,"amount":100,"msisdn":"380000000000","templateID":0}`, // bare object
		`[]`,
		`[1,2]`,
		`[null]`,
		`[{}]`,
		`[{"templateId":5}]`,
		`[{"transactionId":1,"status":0},{"transactionId":2,"amount":100,"msisdn":"380991234567"}]`, // mixed
		`[{"transactionId":2,"amount":100,"msisdn":"380991234567"},{"transactionId":1,"status":0}]`, // mixed
		`[{"transactionId":2,"amount":100,"msisdn":"380991234567"}] trailing`,
	} {
		got := post(t, s, body)
		if got.status != 403 || got.body != TextIncorrectFormat {
			t.Errorf("body %q: got %d %q", body, got.status, got.body)
		}
	}
	if n := s.Count(OpInvalid); n != 11 {
		t.Errorf("Count(OpInvalid) = %d, want 11", n)
	}
	if len(s.Payments()) != 0 {
		t.Fatal("a malformed body created payments")
	}

	// Content-Type must be application/json.
	good := batch(payItem(1, 500, "380991234567"))
	for _, ct := range []string{"", "text/plain", "application/x-www-form-urlencoded"} {
		req := newReq(t, s, http.MethodPost, s.URL(), good)
		req.Header.Set("Content-Type", ct)
		expect(t, mustDo(t, s.Client(), req), 403, TextIncorrectFormat)
	}
	// Authentication comes before the format.
	req := newReq(t, s, http.MethodPost, s.URL(), "not json")
	req.SetBasicAuth("x", "y")
	expect(t, mustDo(t, s.Client(), req), 403, TextIncorrectAuth)

	// An oversized body is refused.
	big := "[" + strings.Repeat(payItem(1, 500, "380991234567")+",", maxBody/40) + payItem(2, 500, "380991234567") + "]"
	expect(t, post(t, s, big), 403, TextIncorrectFormat)
	if len(s.Payments()) != 0 {
		t.Fatal("payments were created")
	}
}

// ---- fault injection ----------------------------------------------------------

func TestFailNext(t *testing.T) {
	s := newTestServer(t)
	s.FailNext(2, http.StatusInternalServerError, "boom")
	for i := 0; i < 2; i++ {
		got := post(t, s, batch(payItem(int64(i+1), 500, "380991234567")))
		if got.status != 500 || got.body != "boom" || !strings.HasPrefix(got.ctype, "text/plain") {
			t.Fatalf("request %d: %+v", i, got)
		}
	}
	if len(s.Payments()) != 0 {
		t.Fatal("FailNext requests were processed")
	}
	expect(t, post(t, s, batch(payItem(1, 500, "380991234567"))), 200, answers(1, 0))

	s.FailNext(1, http.StatusOK, `[{"transactionId":1,"status":3}]`)
	got := post(t, s, statusQuery(1))
	if got.status != 200 || got.ctype != "application/json" || got.body != `[{"transactionId":1,"status":3}]` {
		t.Fatalf("JSON FailNext: %+v", got)
	}
	if p := mustPayment(t, s, 1); p.Status != 0 || p.Polls != 0 {
		t.Fatalf("FailNext status query moved the payment: %+v", p)
	}
	// Bypasses every check, authentication included.
	s.FailNext(1, http.StatusBadGateway, "bad gateway")
	req := newReq(t, s, http.MethodGet, s.URL()+"?balance=", "")
	req.SetBasicAuth("x", "y")
	if got := mustDo(t, s.Client(), req); got.status != 502 {
		t.Fatalf("got %+v", got)
	}
	reqs := s.Requests()
	if reqs[0].Answered != 500 || reqs[len(reqs)-1].Answered != 502 {
		t.Fatalf("Answered not recorded: %+v", reqs)
	}
}

func TestDropNext(t *testing.T) {
	s := newTestServer(t)
	s.DropNext(1)
	_, err := roundTrip(s.Client(), newReq(t, s, http.MethodPost, s.URL(), batch(payItem(1, 500, "380991234567"))))
	if err == nil {
		t.Fatal("DropNext: got an answer")
	}
	if p := mustPayment(t, s, 1); p.Status != 0 {
		t.Fatalf("dropped payment not processed: %+v", p)
	}
	reqs := s.Requests()
	if len(reqs) != 1 || reqs[0].Answered != 0 || reqs[0].Op != OpPay {
		t.Fatalf("recorded %+v", reqs)
	}
	// The client must reconcile by status: resending gets 124.
	expect(t, post(t, s, batch(payItem(1, 500, "380991234567"))), 200, answers(1, 124))

	// A dropped status query still moved the payment.
	s.DropNext(1)
	if _, err := roundTrip(s.Client(), newReq(t, s, http.MethodPost, s.URL(), statusQuery(1))); err == nil {
		t.Fatal("DropNext: got an answer")
	}
	expect(t, post(t, s, statusQuery(1)), 200, answers(1, 3))
}

func TestDropBeforeNext(t *testing.T) {
	s := newTestServer(t)
	s.DropBeforeNext(2)
	for i := 0; i < 2; i++ {
		_, err := roundTrip(s.Client(), newReq(t, s, http.MethodPost, s.URL(), batch(payItem(1, 500, "380991234567"))))
		if err == nil {
			t.Fatalf("DropBeforeNext %d: got an answer", i)
		}
	}
	if _, ok := s.Payment(1); ok {
		t.Fatal("DropBeforeNext processed the payment")
	}
	for _, r := range s.Requests() {
		if r.Answered != 0 {
			t.Fatalf("recorded %+v", r)
		}
	}
	expect(t, post(t, s, batch(payItem(1, 500, "380991234567"))), 200, answers(1, 0))
}

func TestDelayNext(t *testing.T) {
	s := newTestServer(t)
	const d = 300 * time.Millisecond
	s.DelayNext(1, d)
	start := time.Now()
	expect(t, post(t, s, batch(payItem(1, 500, "380991234567"))), 200, answers(1, 0))
	if el := time.Since(start); el < d {
		t.Fatalf("answered after %v, before the %v delay", el, d)
	}

	// A client that gives up: processed, no answer recorded, and the handler
	// does not hang on to the hour-long delay.
	s.DelayNext(1, time.Hour)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		req := newReq(t, s, http.MethodPost, s.URL(), batch(payItem(2, 500, "380991234567")))
		_, err := roundTrip(s.Client(), req.WithContext(ctx))
		done <- err
	}()
	waitFor(t, "payment 2 to be processed", func() bool { _, ok := s.Payment(2); return ok })
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("client error %v, want context.Canceled", err)
	}
	expect(t, post(t, s, statusQuery(2)), 200, answers(2, 2))

	// Close interrupts a delay in progress.
	s.DelayNext(1, time.Hour)
	go func() {
		_, err := roundTrip(s.Client(), newReq(t, s, http.MethodGet, s.URL()+"?balance=", ""))
		done <- err
	}()
	waitFor(t, "the delayed balance request", func() bool { return s.Count(OpBalance) == 1 })
	s.Close() // would block for an hour if the delay ignored Close
	<-done
}

func TestTruncateNext(t *testing.T) {
	s := newTestServer(t)
	s.TruncateNext(1)
	got := post(t, s, docPayBatch)
	if got.status != 200 || got.body != docPayAnswer[:len(docPayAnswer)/2] || got.ctype != "application/json" {
		t.Fatalf("got %+v, want 200 %q", got, docPayAnswer[:len(docPayAnswer)/2])
	}
	var v any
	if json.Unmarshal([]byte(got.body), &v) == nil {
		t.Fatal("truncated body is valid JSON")
	}
	mustPayment(t, s, 1000000001)
	mustPayment(t, s, 1000000002)
	expect(t, post(t, s, docPayBatch), 200, `[{"transactionId":1000000001,"status":124},{"transactionId":1000000002,"status":124}]`)
}

func TestGarbageNext(t *testing.T) {
	s := newTestServer(t)
	s.GarbageNext(1)
	got := post(t, s, batch(payItem(1, 500, "380991234567")))
	var v any
	if got.status != 200 || !strings.HasPrefix(got.ctype, "text/html") || json.Unmarshal([]byte(got.body), &v) == nil {
		t.Fatalf("got %+v", got)
	}
	mustPayment(t, s, 1)
	expect(t, post(t, s, statusQuery(1)), 200, answers(1, 2))
}

func TestFaultsApplyInOrderToProviderRoutesOnly(t *testing.T) {
	rec := &recordingTB{TB: t}
	s := NewServer(WithT(rec), WithRateLimit(0))
	defer s.Close()
	s.FailNext(1, 502, "bad gateway")
	s.GarbageNext(1)
	s.DropBeforeNext(1)

	// An unknown route uses up no fault.
	if got := mustDo(t, s.Client(), newReq(t, s, http.MethodGet, "https://popolni.club/other", "")); got.status != 404 {
		t.Fatalf("unknown route: %+v", got)
	}
	if got := getBalance(t, s); got.status != 502 || got.body != "bad gateway" {
		t.Fatalf("first: %+v", got)
	}
	if got := getBalance(t, s); got.status != 200 || !strings.HasPrefix(got.ctype, "text/html") {
		t.Fatalf("second: %+v", got)
	}
	// GET is replayable, so net/http may retry it once on a fresh connection
	// after the drop; a POST shows the drop itself.
	if _, err := roundTrip(s.Client(), newReq(t, s, http.MethodPost, s.URL(), statusQuery(1))); err == nil {
		t.Fatal("third: got an answer")
	}
	expect(t, getBalance(t, s), 200, balanceBody(DefaultBalance, DefaultCreditLimit))
	if len(rec.errors()) != 1 {
		t.Fatalf("reported %q", rec.errors())
	}
}

// ---- unknown routes and recordings -----------------------------------------

func TestUnknownRoute(t *testing.T) {
	rec := &recordingTB{TB: t}
	s := NewServer(WithT(rec), WithRateLimit(0))
	defer s.Close()
	cases := []*http.Request{
		newReq(t, s, http.MethodGet, "https://popolni.club/api/v2/pay", ""),
		newReq(t, s, http.MethodPut, s.URL(), batch(payItem(1, 500, "380991234567"))),
		newReq(t, s, http.MethodGet, s.URL(), ""),                // GET /api without ?balance
		newReq(t, s, http.MethodDelete, s.URL()+"?balance=", ""), // wrong method
	}
	noAuth := newReq(t, s, http.MethodGet, "https://popolni.club/", "")
	noAuth.Header.Del("Authorization")
	cases = append(cases, noAuth)
	for _, req := range cases {
		got := mustDo(t, s.Client(), req)
		if got.status != 404 {
			t.Errorf("%s %s: %d %q, want 404", req.Method, req.URL, got.status, got.body)
		}
	}
	if n := s.Count(OpUnknown); n != len(cases) {
		t.Errorf("Count(OpUnknown) = %d, want %d", n, len(cases))
	}
	errs := rec.errors()
	if len(errs) != len(cases) {
		t.Fatalf("reported %d errors, want %d: %q", len(errs), len(cases), errs)
	}
	if !strings.Contains(errs[0], "GET /api/v2/pay") || !strings.Contains(errs[1], "PUT /api") {
		t.Errorf("error texts: %q", errs)
	}
	if len(s.Payments()) != 0 {
		t.Fatal("PUT created a payment")
	}
}

func TestUnknownRouteWithoutWithT(t *testing.T) {
	s := NewServer(WithRateLimit(0))
	defer s.Close()
	if got := mustDo(t, s.Client(), newReq(t, s, http.MethodGet, "https://popolni.club/x", "")); got.status != 404 {
		t.Fatalf("got %+v", got)
	}
	if s.Requests()[0].Op != OpUnknown || s.Requests()[0].Answered != 404 {
		t.Fatalf("recorded %+v", s.Requests()[0])
	}
}

func TestRequestsRecording(t *testing.T) {
	clk := newFakeClock()
	s := newTestServer(t, withClock(clk.Now))
	body := batch(payItem(1, 500, "380991234567"))
	req := newReq(t, s, http.MethodPost, s.URL(), body)
	req.Header.Set("X-Trace", "abc")
	expect(t, mustDo(t, s.Client(), req), 200, answers(1, 0))
	expect(t, post(t, s, statusQuery(1)), 200, answers(1, 2))
	expect(t, getBalance(t, s), 200, balanceBody(DefaultBalance, DefaultCreditLimit))
	noAuth := newReq(t, s, http.MethodGet, s.URL()+"?balance=", "")
	noAuth.Header.Del("Authorization")
	expect(t, mustDo(t, s.Client(), noAuth), 403, TextIncorrectAuth)

	reqs := s.Requests()
	if len(reqs) != 4 {
		t.Fatalf("%d requests recorded", len(reqs))
	}
	r := reqs[0]
	if r.Op != OpPay || r.Method != "POST" || r.Path != "/api" || r.RawQuery != "" || string(r.Body) != body ||
		r.Answered != 200 || !r.Time.Equal(clk.Now()) || r.Header.Get("X-Trace") != "abc" ||
		r.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("recorded %+v", r)
	}
	if host, _, _ := net.SplitHostPort(r.RemoteAddr); host != "127.0.0.1" {
		t.Fatalf("RemoteAddr %q", r.RemoteAddr)
	}
	for i, r := range reqs {
		if _, ok := r.Header["Authorization"]; ok {
			t.Fatalf("request %d kept Authorization", i)
		}
		for _, vs := range r.Header {
			for _, v := range vs {
				if strings.Contains(v, DefaultPassword) || strings.HasPrefix(v, "Basic ") {
					t.Fatalf("request %d header holds credentials: %q", i, v)
				}
			}
		}
	}
	if reqs[1].Op != OpStatus || reqs[2].Op != OpBalance || reqs[2].RawQuery != "balance=" || reqs[3].Answered != 403 {
		t.Fatalf("recorded %+v", reqs[1:])
	}
	if s.Count(OpPay) != 1 || s.Count(OpStatus) != 1 || s.Count(OpBalance) != 2 || s.Count(OpUnknown) != 0 {
		t.Fatal("Count disagrees with Requests")
	}

	// Requests returns copies.
	reqs[0].Body[0] = 'X'
	reqs[0].Header.Set("X-Trace", "changed")
	if again := s.Requests()[0]; again.Body[0] != '[' || again.Header.Get("X-Trace") != "abc" {
		t.Fatal("Requests shares memory with the server")
	}

	s.Reset()
	if len(s.Requests()) != 0 || s.Count(OpPay) != 0 {
		t.Fatal("Reset kept recordings")
	}
	if _, ok := s.Payment(1); !ok {
		t.Fatal("Reset dropped payments")
	}
}

// ---- concurrency and lifecycle -------------------------------------------------

func TestConcurrentClients(t *testing.T) {
	s := newTestServer(t, WithBalance(1_000_000, 0))
	const workers, each = 8, 10
	var wg sync.WaitGroup
	errc := make(chan error, workers)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < each; i++ {
				id := int64(w*1000 + i + 1)
				for _, body := range []string{batch(payItem(id, 100, "380991234567")), statusQuery(id), statusQuery(id)} {
					res, err := roundTrip(s.Client(), newReq(t, s, http.MethodPost, s.URL(), body))
					if err != nil || res.status != 200 {
						errc <- fmt.Errorf("worker %d id %d: %v %+v", w, id, err, res)
						return
					}
				}
			}
		}(w)
	}
	go func() { // concurrent readers and switches
		for i := 0; i < 50; i++ {
			s.Balance()
			s.Requests()
			s.Payments()
			s.SetInSchedule(true)
		}
	}()
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Error(err)
	}
	if n := len(s.Payments()); n != workers*each {
		t.Fatalf("%d payments", n)
	}
	if cur, _ := s.Balance(); cur != 1_000_000-workers*each*100 {
		t.Fatalf("balance %d", cur)
	}
	if s.Count(OpStatus) != 2*workers*each {
		t.Fatalf("status count %d", s.Count(OpStatus))
	}
}

func TestCloseIsIdempotentAndStopsServing(t *testing.T) {
	s := NewServer()
	expect(t, getBalance(t, s), 200, balanceBody(DefaultBalance, DefaultCreditLimit))
	s.Close()
	s.Close()
	c := s.newClient(nil)
	if _, err := roundTrip(c, newReq(t, s, http.MethodGet, s.URL()+"?balance=", "")); err == nil {
		t.Fatal("closed server answered")
	}
}

func TestWithTClosesOnCleanup(t *testing.T) {
	var s *Server
	t.Run("inner", func(t *testing.T) {
		s = NewServer(WithT(t))
		expect(t, getBalance(t, s), 200, balanceBody(DefaultBalance, DefaultCreditLimit))
	})
	c := s.newClient(nil)
	if _, err := roundTrip(c, newReq(t, s, http.MethodGet, s.URL()+"?balance=", "")); err == nil {
		t.Fatal("server still serving after its test's cleanup")
	}
}

// TestLatency: with WithLatency the answer leaves that long after the
// request, which was counted and carried out on arrival: the payment was
// created at least the latency before its answer came, and the rate limit
// counts arrivals, not answers. (Measured on the server's own records, so a
// slow machine cannot make it fail.)
func TestLatency(t *testing.T) {
	const lat = 300 * time.Millisecond
	s := NewServer(WithT(t), WithLatency(lat), WithRateLimit(0))
	r := post(t, s, batch(payItem(501, 500, "380991234567")))
	answered := time.Now()
	expect(t, r, http.StatusOK, answers(501, 0))
	p, ok := s.Payment(501)
	if !ok {
		t.Fatal("no payment 501")
	}
	if gap := answered.Sub(p.Created); gap < lat {
		t.Fatalf("answered %v after the payment was created, within the latency %v", gap, lat)
	}

	// A frozen clock: both arrivals fall in one second however slowly the
	// test runs. The first is answered only after its latency; the second
	// is still refused: arrivals count, not answers.
	at := time.Now()
	f := NewServer(WithT(t), WithLatency(lat), WithRateLimit(1), withClock(func() time.Time { return at }))
	expect(t, post(t, f, batch(payItem(601, 500, "380991234567"))), http.StatusOK, answers(601, 0))
	f.SetLatency(0)
	expect(t, post(t, f, batch(payItem(602, 500, "380991234567"))), http.StatusServiceUnavailable, TextRateLimited)
}
