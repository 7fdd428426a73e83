package qiwitopuptest

import (
	"bytes"
	"context"
	"crypto"
	"crypto/md5"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/paysdk/payments/internal/testca"
)

// ---- helpers ---------------------------------------------------------------

var fixedNow = time.Date(2024, 3, 2, 11, 35, 46, 0, time.UTC) // 14:35:46 MSK

func newTestServer(t *testing.T, opts ...Option) *Server {
	t.Helper()
	return NewServer(append([]Option{WithT(t), withClock(func() time.Time { return fixedNow })}, opts...)...)
}

type result struct {
	status int
	ctype  string
	body   string
	doc    xResp
}

type xResp struct {
	XMLName    xml.Name
	ResultCode *struct {
		Fatal   string `xml:"fatal,attr"`
		Message string `xml:"message,attr"`
		Msg     string `xml:"msg,attr"`
		Code    string `xml:",chardata"`
	} `xml:"result-code"`
	Exist           *string    `xml:"exist"`
	DepositPossible *string    `xml:"deposit-possible"`
	Payments        []xPayResp `xml:"payment"`
	Wrapped         []xPayResp `xml:"payments>payment"`
	Balances        []struct {
		Code  string `xml:"code,attr"`
		Value string `xml:",chardata"`
	} `xml:"balances>balance"`
	BalancesOvd []struct {
		Code  string `xml:"code,attr"`
		Value string `xml:",chardata"`
	} `xml:"balances-ovd>balance-ovd"`
	F        *string `xml:"f"`
	LKStatus *string `xml:"lk-status"`
	Provider *struct {
		ID string `xml:"id,attr"`
	} `xml:"provider"`
}

type xPayResp struct {
	Attrs []xml.Attr `xml:",any,attr"`
	From  *struct {
		Amount string `xml:"amount"`
		CCY    string `xml:"ccy"`
	} `xml:"from"`
	To *struct {
		ServiceID     string `xml:"service-id"`
		Amount        string `xml:"amount"`
		CCY           string `xml:"ccy"`
		AccountNumber string `xml:"account-number"`
	} `xml:"to"`
	Extras []xExtra `xml:"extra"`
}

func (p xPayResp) attr(name string) string {
	for _, a := range p.Attrs {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return "<absent>"
}

func (p xPayResp) has(name string) bool { return p.attr(name) != "<absent>" }

func (r result) code() string {
	if r.doc.ResultCode == nil {
		return "<none>"
	}
	return r.doc.ResultCode.Code
}

func (r result) fatal() string {
	if r.doc.ResultCode == nil {
		return "<none>"
	}
	return r.doc.ResultCode.Fatal
}

func (r result) balance(code string) string {
	for _, b := range r.doc.Balances {
		if b.Code == code {
			return b.Value
		}
	}
	return "<absent>"
}

func (r result) payment(t testing.TB) xPayResp {
	t.Helper()
	all := append(append([]xPayResp(nil), r.doc.Payments...), r.doc.Wrapped...)
	if len(all) != 1 {
		t.Fatalf("want exactly one <payment>, got %d in %s", len(all), r.body)
	}
	return all[0]
}

func do(t testing.TB, c *http.Client, url, body string, hdr map[string]string) (result, error) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/xml")
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	if err != nil {
		return result{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return result{}, err
	}
	r := result{status: resp.StatusCode, ctype: resp.Header.Get("Content-Type"), body: string(b)}
	if resp.StatusCode == http.StatusOK && len(b) > 0 {
		_ = xml.Unmarshal(b, &r.doc)
	}
	return r, nil
}

func mustDo(t testing.TB, c *http.Client, url, body string, hdr map[string]string) result {
	t.Helper()
	r, err := do(t, c, url, body, hdr)
	if err != nil {
		t.Fatalf("POST %s: %v", url, err)
	}
	if r.status != http.StatusOK {
		t.Fatalf("POST %s: HTTP %d %s", url, r.status, r.body)
	}
	if r.ctype != "text/xml; charset=utf-8" {
		t.Fatalf("Content-Type %q", r.ctype)
	}
	if !strings.HasPrefix(r.body, `<?xml version="1.0" encoding="utf-8"?>`+"\n<response>") {
		t.Fatalf("answer does not start with the declaration and <response>: %s", r.body)
	}
	return r
}

func post(t testing.TB, s *Server, body string) result {
	t.Helper()
	return mustDo(t, s.Client(), s.URL(), body, nil)
}

// envelope builds a request with the server's credentials.
func envelope(s *Server, typ, inner string) string {
	return fmt.Sprintf(`<?xml version="1.0" encoding="utf-8"?>
<request>
  <request-type>%s</request-type>
  <terminal-id>%s</terminal-id>
  <extra name="password">%s</extra>
%s</request>`, typ, s.TerminalID(), s.Password(), inner)
}

func payBody(s *Server, txn, service, account, amount, ccy, toExtras, reqExtras string) string {
	return envelope(s, "pay", reqExtras+fmt.Sprintf(`  <auth>
    <payment>
      <transaction-number>%s</transaction-number>
      <from>
        <ccy>%s</ccy>
      </from>
      <to>
        <amount>%s</amount>
        <ccy>%s</ccy>
        <service-id>%s</service-id>
        <account-number>%s</account-number>
%s      </to>
    </payment>
  </auth>
`, txn, ccy, amount, ccy, service, account, toExtras))
}

const iwt1 = `  <extra name="income_wire_transfer">1</extra>` + "\n"

func walletPay(s *Server, txn, phone, amount string) string {
	return payBody(s, txn, "99", phone, amount, "RUB", "", iwt1)
}

func statusBody(s *Server, txns ...string) string {
	var b strings.Builder
	b.WriteString("  <status>\n")
	for _, txn := range txns {
		fmt.Fprintf(&b, "    <payment>\n      <transaction-number>%s</transaction-number>\n      <to><account-number>79181234567</account-number></to>\n    </payment>\n", txn)
	}
	b.WriteString("  </status>\n")
	return envelope(s, "pay", b.String())
}

func expectRequestError(t testing.TB, r result, code, fatal, message string) {
	t.Helper()
	if r.code() != code || r.fatal() != fatal {
		t.Fatalf("result-code %s fatal %s, want %s fatal %s: %s", r.code(), r.fatal(), code, fatal, r.body)
	}
	if message != "" && (r.doc.ResultCode.Message != message || r.doc.ResultCode.Msg != message) {
		t.Fatalf("message %q msg %q, want %q: %s", r.doc.ResultCode.Message, r.doc.ResultCode.Msg, message, r.body)
	}
	if len(r.doc.Payments)+len(r.doc.Wrapped) != 0 {
		t.Fatalf("request error carries a payment: %s", r.body)
	}
}

func expectPayment(t testing.TB, p xPayResp, status, resultCode, final, fatalErr string) {
	t.Helper()
	if p.attr("status") != status || p.attr("result-code") != resultCode ||
		p.attr("final-status") != final || p.attr("fatal-error") != fatalErr {
		t.Fatalf("payment status=%s result-code=%s final-status=%s fatal-error=%s, want %s %s %s %s",
			p.attr("status"), p.attr("result-code"), p.attr("final-status"), p.attr("fatal-error"),
			status, resultCode, final, fatalErr)
	}
}

var (
	keyOnce sync.Once
	rsaKey  *rsa.PrivateKey
)

func testKey(t testing.TB) *rsa.PrivateKey {
	t.Helper()
	keyOnce.Do(func() {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		rsaKey = k
	})
	return rsaKey
}

func sign(t testing.TB, key *rsa.PrivateKey, body, alg string) string {
	t.Helper()
	var h crypto.Hash
	var digest []byte
	switch alg {
	case "MD5withRSA":
		d := md5.Sum([]byte(body))
		h, digest = crypto.MD5, d[:]
	default:
		d := sha1.Sum([]byte(body))
		h, digest = crypto.SHA1, d[:]
	}
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, h, digest)
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(sig)
}

// recT records Errorf calls instead of failing.
type recT struct {
	testing.TB
	mu   sync.Mutex
	errs []string
}

func (r *recT) Helper() {}
func (r *recT) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

func (r *recT) errors() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.errs...)
}

// ---- transport, TLS --------------------------------------------------------

func TestURLsAndTLS(t *testing.T) {
	s := newTestServer(t)
	if !strings.HasPrefix(s.URL(), "https://api.qiwi.com:") || !strings.HasSuffix(s.URL(), "/xml/topup.jsp") {
		t.Errorf("URL %s", s.URL())
	}
	if !strings.HasPrefix(s.PrivateURL(), "https://private-api.qiwi.com:") || !strings.HasSuffix(s.PrivateURL(), "/xml/topup.jsp") {
		t.Errorf("PrivateURL %s", s.PrivateURL())
	}
	if !strings.HasPrefix(s.Addr(), "127.0.0.1:") {
		t.Errorf("Addr %s", s.Addr())
	}
	if s.TerminalID() != DefaultTerminalID || s.Password() != DefaultPassword {
		t.Errorf("credentials %s/%s", s.TerminalID(), s.Password())
	}
	if n := len(s.ClientOptions()); n != 4 {
		t.Errorf("ClientOptions: %d options", n)
	}

	// The certificate verifies for both names against CACertPEM only.
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(s.CACertPEM()) {
		t.Fatal("CACertPEM holds no certificate")
	}
	for _, host := range []string{Host, PrivateHost} {
		conn, err := tls.Dial("tcp", s.Addr(), &tls.Config{ServerName: host, RootCAs: pool, NextProtos: []string{"h2", "http/1.1"}})
		if err != nil {
			t.Fatalf("%s: %v", host, err)
		}
		if p := conn.ConnectionState().NegotiatedProtocol; p != "http/1.1" {
			t.Errorf("%s: ALPN %q, want http/1.1 only", host, p)
		}
		conn.Close()
	}
	if _, err := tls.Dial("tcp", s.Addr(), &tls.Config{ServerName: Host}); err == nil {
		t.Error("a client without the fake's CA connected")
	}
	// The client CA is another CA, not the server's.
	if bytes.Equal(s.ClientCAPEM(), s.CACertPEM()) {
		t.Error("ClientCAPEM equals CACertPEM")
	}
}

func TestPingDocShape(t *testing.T) {
	s := newTestServer(t, WithBalance("840", "12.20"), WithBalance("USD", "300.00"), WithBalance("428", "0"))
	r := post(t, s, envelope(s, "ping", ""))
	want := `<?xml version="1.0" encoding="utf-8"?>
<response>
<result-code fatal="false">0</result-code>
<balances>
<balance code="428">0.00</balance>
<balance code="643">100000.00</balance>
<balance code="840">300.00</balance>
</balances>
</response>
`
	if r.body != want {
		t.Fatalf("ping answer:\n%s\nwant:\n%s", r.body, want)
	}
	if got := s.Requests()[0]; got.Op != OpPing || got.AuthMode != AuthPassword || got.Answered != 200 || got.ResultCode != 0 {
		t.Errorf("recorded %+v", got)
	}
	if s.Balance("RUB") != "100000.00" || s.Balance("643") != "100000.00" || s.Balance("978") != "" {
		t.Errorf("Balance: %q %q %q", s.Balance("RUB"), s.Balance("643"), s.Balance("978"))
	}
}

// The docs' own request samples (status with the password before
// terminal-id and odd indentation; ping with its terminal 44) parse.
func TestDocsVerbatimRequests(t *testing.T) {
	s := newTestServer(t, WithTerminalID("44"), WithPassword("password"))
	r := post(t, s, `<?xml version="1.0" encoding="utf-8"?>
<request>
<request-type>ping</request-type>
<terminal-id>44</terminal-id>
<extra name="password">password</extra>
</request>`)
	if r.code() != "0" || r.balance("643") != DefaultBalance {
		t.Fatalf("ping: %s", r.body)
	}
	post(t, s, walletPay(s, "12345678", "79181234567", "1115.00"))
	r = post(t, s, `<?xml version="1.0" encoding="utf-8"?>
  <request>
    <request-type>pay</request-type>
    <extra name="password">password</extra>
    <terminal-id>44</terminal-id>
    <status>
      <payment>
        <transaction-number>12345678</transaction-number>
        <to>
          <account-number>79181234567</account-number>
        </to>
      </payment>
    </status>
  </request>`)
	if p := r.payment(t); p.attr("transaction-number") != "12345678" || p.attr("status") != "52" {
		t.Fatalf("status: %s", r.body)
	}
}

// ---- authentication --------------------------------------------------------

func TestPasswordAuthFailures(t *testing.T) {
	s := newTestServer(t)
	cases := map[string]string{
		"wrong password":    strings.Replace(envelope(s, "ping", ""), DefaultPassword, "nope", 1),
		"no password":       strings.Replace(envelope(s, "ping", ""), `<extra name="password">`+DefaultPassword+`</extra>`, "", 1),
		"wrong terminal":    strings.Replace(envelope(s, "ping", ""), "<terminal-id>123<", "<terminal-id>124<", 1),
		"no terminal":       strings.Replace(envelope(s, "ping", ""), "<terminal-id>123</terminal-id>", "", 1),
		"password as phone": strings.Replace(envelope(s, "ping", ""), `name="password"`, `name="phone"`, 1),
	}
	for name, body := range cases {
		r := post(t, s, body)
		if r.code() != "150" || r.fatal() != "true" || r.doc.ResultCode.Message != "Ошибка авторизации" || r.doc.ResultCode.Msg != "Ошибка авторизации" {
			t.Errorf("%s: %s", name, r.body)
		}
		if len(r.doc.Balances) != 0 {
			t.Errorf("%s: balances leaked: %s", name, r.body)
		}
	}
	for _, rq := range s.Requests() {
		if rq.AuthMode != "" || rq.ResultCode != 150 {
			t.Errorf("recorded %q %d", rq.AuthMode, rq.ResultCode)
		}
	}
	// A refused pay creates nothing.
	post(t, s, strings.Replace(walletPay(s, "1", "79181234567", "10.00"), DefaultPassword, "bad", 1))
	if len(s.Payments()) != 0 || s.Balance("643") != DefaultBalance {
		t.Error("refused pay changed state")
	}
	s.SetPassword("new")
	if r := post(t, s, envelope(s, "ping", "")); r.code() != "0" {
		t.Errorf("after SetPassword: %s", r.body)
	}
}

func TestSignatureAuth(t *testing.T) {
	key := testKey(t)
	s := newTestServer(t, WithPublicKey(&key.PublicKey))
	body := strings.Replace(envelope(s, "ping", ""), `<extra name="password">`+DefaultPassword+`</extra>`, "", 1)

	for _, alg := range []string{"SHA1withRSA", "MD5withRSA"} {
		r := post2(t, s, body, map[string]string{"X-Digital-Sign": sign(t, key, body, alg), "X-Digital-Sign-Alg": alg})
		if r.code() != "0" || r.balance("643") != DefaultBalance {
			t.Errorf("%s: %s", alg, r.body)
		}
	}
	// A signed pay without a password creates the payment.
	pay := strings.Replace(walletPay(s, "55", "79181234567", "10.00"), `<extra name="password">`+DefaultPassword+`</extra>`, "", 1)
	r := post2(t, s, pay, map[string]string{"X-Digital-Sign": sign(t, key, pay, "SHA1withRSA"), "X-Digital-Sign-Alg": "SHA1withRSA"})
	expectPayment(t, r.payment(t), "50", "0", "false", "false")

	reqs := s.Requests()
	if reqs[0].AuthMode != AuthSignature || reqs[0].Header.Get("X-Digital-Sign") == "" {
		t.Errorf("recorded %+v", reqs[0])
	}

	other, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	good := sign(t, key, body, "SHA1withRSA")
	bad := map[string]map[string]string{
		"other key":      {"X-Digital-Sign": sign(t, other, body, "SHA1withRSA"), "X-Digital-Sign-Alg": "SHA1withRSA"},
		"alg mismatch":   {"X-Digital-Sign": good, "X-Digital-Sign-Alg": "MD5withRSA"},
		"unknown alg":    {"X-Digital-Sign": good, "X-Digital-Sign-Alg": "SHA256withRSA"},
		"no alg":         {"X-Digital-Sign": good},
		"alg only":       {"X-Digital-Sign-Alg": "SHA1withRSA"},
		"not base64":     {"X-Digital-Sign": "!!!", "X-Digital-Sign-Alg": "SHA1withRSA"},
		"unpadded":       {"X-Digital-Sign": strings.TrimRight(good, "="), "X-Digital-Sign-Alg": "SHA1withRSA"},
		"other body":     {"X-Digital-Sign": sign(t, key, body+" ", "SHA1withRSA"), "X-Digital-Sign-Alg": "SHA1withRSA"},
		"url base64 sig": {"X-Digital-Sign": base64.URLEncoding.EncodeToString(mustB64(t, good)), "X-Digital-Sign-Alg": "SHA1withRSA"},
	}
	for name, hdr := range bad {
		if name == "url base64 sig" && hdr["X-Digital-Sign"] == good {
			continue // no URL-only characters in this signature
		}
		if name == "unpadded" && !strings.HasSuffix(good, "=") {
			continue
		}
		r := post2(t, s, body, hdr)
		expectRequestError(t, r, "150", "true", "Ошибка авторизации")
	}
	// A correct password does not rescue a bad signature.
	withPW := envelope(s, "ping", "")
	r = post2(t, s, withPW, map[string]string{"X-Digital-Sign": "AAAA", "X-Digital-Sign-Alg": "SHA1withRSA"})
	expectRequestError(t, r, "150", "true", "")
	// A wrong terminal-id fails even with a good signature.
	wrongTerm := strings.Replace(body, "<terminal-id>123<", "<terminal-id>9<", 1)
	r = post2(t, s, wrongTerm, map[string]string{"X-Digital-Sign": sign(t, key, wrongTerm, "SHA1withRSA"), "X-Digital-Sign-Alg": "SHA1withRSA"})
	expectRequestError(t, r, "150", "true", "")

	// Without WithPublicKey every signed request is refused.
	s2 := newTestServer(t)
	r = post2(t, s2, body, map[string]string{"X-Digital-Sign": good, "X-Digital-Sign-Alg": "SHA1withRSA"})
	expectRequestError(t, r, "150", "true", "Ошибка авторизации")
}

func mustB64(t testing.TB, s string) []byte {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func post2(t testing.TB, s *Server, body string, hdr map[string]string) result {
	t.Helper()
	return mustDo(t, s.Client(), s.URL(), body, hdr)
}

func TestCertificateAuth(t *testing.T) {
	s := newTestServer(t)
	cert, err := s.ClientCertificate()
	if err != nil {
		t.Fatal(err)
	}
	cc := s.CertClient(cert)
	defer cc.CloseIdleConnections()
	noPW := strings.Replace(envelope(s, "ping", ""), `<extra name="password">`+DefaultPassword+`</extra>`, "", 1)

	// Private host with a certificate: the password is optional...
	r := mustDo(t, cc, s.PrivateURL(), noPW, nil)
	if r.code() != "0" || r.balance("643") != DefaultBalance {
		t.Fatalf("cert without password: %s", r.body)
	}
	r = mustDo(t, cc, s.PrivateURL(), envelope(s, "ping", ""), nil)
	if r.code() != "0" {
		t.Fatalf("cert with password: %s", r.body)
	}
	payNoPW := strings.Replace(walletPay(s, "9", "79181234567", "10.00"), `<extra name="password">`+DefaultPassword+`</extra>`, "", 1)
	expectPayment(t, mustDo(t, cc, s.PrivateURL(), payNoPW, nil).payment(t), "50", "0", "false", "false")
	// ...but must be right when given, and the terminal must match.
	expectRequestError(t, mustDo(t, cc, s.PrivateURL(), strings.Replace(envelope(s, "ping", ""), DefaultPassword, "bad", 1), nil), "150", "true", "Ошибка авторизации")
	expectRequestError(t, mustDo(t, cc, s.PrivateURL(), strings.Replace(noPW, "<terminal-id>123<", "<terminal-id>1<", 1), nil), "150", "true", "")

	// Private host without a certificate: 150 even with the right password.
	expectRequestError(t, mustDo(t, s.Client(), s.PrivateURL(), envelope(s, "ping", ""), nil), "150", "true", "Ошибка авторизации")

	// Public host with a certificate: the certificate does not count.
	expectRequestError(t, mustDo(t, cc, s.URL(), noPW, nil), "150", "true", "")
	if r := mustDo(t, cc, s.URL(), envelope(s, "ping", ""), nil); r.code() != "0" {
		t.Errorf("public host, cert + password: %s", r.body)
	}

	reqs := s.Requests()
	if reqs[0].AuthMode != AuthCertificate || reqs[0].ClientCertCN != "qiwi-agent-123" || reqs[0].Host != PrivateHost || reqs[0].SNI != PrivateHost {
		t.Errorf("recorded %+v", reqs[0])
	}
	if last := reqs[len(reqs)-1]; last.AuthMode != AuthPassword || last.ClientCertCN == "" || last.Host != Host {
		t.Errorf("recorded %+v", last)
	}

	// A certificate from another CA fails the handshake.
	foreign, err := testca.New()
	if err != nil {
		t.Fatal(err)
	}
	fc, err := foreign.ClientCert("intruder")
	if err != nil {
		t.Fatal(err)
	}
	// The Go client does not offer it (the server names its CA)...
	bad := s.CertClient(fc)
	defer bad.CloseIdleConnections()
	if r, err := do(t, bad, s.PrivateURL(), noPW, nil); err != nil || r.code() != "150" {
		t.Errorf("foreign CA, not offered: %v %s", err, r.body)
	}
	// ...and a client that forces it fails the handshake.
	forced := &http.Client{Transport: &http.Transport{
		TLSClientConfig: &tls.Config{
			RootCAs:              pool0(t, s),
			GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &fc, nil },
		},
		DialContext: s.Client().Transport.(*http.Transport).DialContext,
	}}
	defer forced.CloseIdleConnections()
	if _, err := do(t, forced, s.PrivateURL(), noPW, nil); err == nil {
		t.Error("a certificate from a foreign CA was accepted")
	}

	// The client CA PEM verifies the issued certificate.
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(s.ClientCAPEM())
	if _, err := cert.Leaf.Verify(x509.VerifyOptions{Roots: pool, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		t.Errorf("client cert does not verify against ClientCAPEM: %v", err)
	}
	if n := len(s.PrivateClientOptions(cert)); n != 5 {
		t.Errorf("PrivateClientOptions: %d", n)
	}
}

func pool0(t testing.TB, s *Server) *x509.CertPool {
	p := x509.NewCertPool()
	if !p.AppendCertsFromPEM(s.CACertPEM()) {
		t.Fatal("no CA")
	}
	return p
}

func TestAllowedIPs(t *testing.T) {
	s := newTestServer(t, WithAllowedIPs("10.1.2.3"))
	expectRequestError(t, post(t, s, envelope(s, "ping", "")), "339", "true", "Ограничение по IP адресу")
	if err := s.SetAllowedIPs("127.0.0.0/8"); err != nil {
		t.Fatal(err)
	}
	if r := post(t, s, envelope(s, "ping", "")); r.code() != "0" {
		t.Errorf("allowed: %s", r.body)
	}
	if err := s.SetAllowedIPs("nonsense"); err == nil {
		t.Error("bad entry accepted")
	}
	expectRequestError(t, post(t, s, envelope(s, "ping", "")), "339", "true", "")

	rt := &recT{TB: t}
	s2 := NewServer(WithT(rt), WithAllowedIPs("bad-ip"))
	defer s2.Close()
	if len(rt.errors()) != 1 {
		t.Errorf("invalid WithAllowedIPs entry not reported: %v", rt.errors())
	}
}

// ---- invalid requests and routes -------------------------------------------

func TestInvalidRequests(t *testing.T) {
	s := newTestServer(t)
	cases := map[string]string{
		"not xml":         "hello",
		"truncated":       `<?xml version="1.0" encoding="utf-8"?><request><request-type>ping</request-type>`,
		"empty":           "",
		"two roots":       envelope(s, "ping", "") + "<request/>",
		"wrong root":      `<xml><request-type>ping</request-type><terminal-id>123</terminal-id></xml>`,
		"no request-type": strings.Replace(envelope(s, "ping", ""), "<request-type>ping</request-type>", "", 1),
	}
	for name, body := range cases {
		r := post(t, s, body)
		expectRequestError(t, r, "300", "true", "Неизвестная ошибка")
		_ = name
	}
	if n := s.Count(OpInvalid); n != len(cases) {
		t.Errorf("Count(invalid) = %d", n)
	}
	// Well-formed and authenticated but unsupported: still 300, after auth.
	for _, body := range []string{
		envelope(s, "pwd-change", `<extra name="new_password">x</extra>`),
		envelope(s, "pay", ""),
		envelope(s, "pay", "<auth/><status/>"),
		envelope(s, "get-provider-by-phone-number", "<phonenumber>9161234567</phonenumber>"), // wrong endpoint
	} {
		expectRequestError(t, post(t, s, body), "300", "true", "")
	}
	reqs := s.Requests()
	if reqs[len(reqs)-1].Op != OpGetProvider || reqs[len(reqs)-1].AuthMode != AuthPassword {
		t.Errorf("recorded %+v", reqs[len(reqs)-1])
	}
	// Unauthenticated and unsupported: 150 first.
	expectRequestError(t, post(t, s, strings.Replace(envelope(s, "pwd-change", ""), DefaultPassword, "x", 1)), "150", "true", "")
}

func TestUnknownRoutes(t *testing.T) {
	rt := &recT{TB: t}
	s := NewServer(WithT(rt))
	defer s.Close()
	s.ErrorNext(1, 13, false)

	for _, tc := range []struct{ method, path string }{
		{http.MethodGet, PathTopup},
		{http.MethodPost, "/xml/other.jsp"},
		{http.MethodPost, "/"},
	} {
		url := "https://" + Host + ":" + strings.Split(s.Addr(), ":")[1] + tc.path
		req, _ := http.NewRequest(tc.method, url, strings.NewReader(envelope(s, "ping", "")))
		resp, err := s.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("%s %s: %d", tc.method, tc.path, resp.StatusCode)
		}
	}
	if n := len(rt.errors()); n != 3 {
		t.Errorf("WithT errors: %d %v", n, rt.errors())
	}
	if s.Count(OpUnknown) != 3 {
		t.Errorf("Count(unknown) = %d", s.Count(OpUnknown))
	}
	// The queued fault was not used up by the unknown routes.
	expectRequestError(t, post(t, s, envelope(s, "ping", "")), "13", "false", "Повторите запрос через минуту")
}

// ---- check-user, check-deposit-possible, get-provider ---------------------

func TestCheckUser(t *testing.T) {
	s := newTestServer(t)
	s.AddWallet("79031234567", true)
	s.AddWallet("79990000000", false)
	check := func(phone, ccy string) result {
		inner := `  <extra name="phone">` + phone + "</extra>\n"
		if ccy != "" {
			inner += `  <extra name="ccy">` + ccy + "</extra>\n"
		}
		return post(t, s, envelope(s, "check-user", inner))
	}
	r := check("79031234567", "RUB")
	want := "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<response>\n<result-code fatal=\"false\">0</result-code>\n<exist>1</exist>\n</response>\n"
	if r.body != want {
		t.Errorf("existing: %s", r.body)
	}
	if r := check("79990000000", ""); *r.doc.Exist != "1" {
		t.Errorf("not identified wallet exists: %s", r.body)
	}
	if r := check("79181234567", "643"); r.code() != "0" || *r.doc.Exist != "0" {
		t.Errorf("unknown: %s", r.body)
	}
	expectRequestError(t, check("123", ""), "300", "true", "")
	expectRequestError(t, check("79031234567", "XYZ"), "300", "true", "")
	if s.Count(OpCheckUser) != 5 {
		t.Errorf("Count = %d", s.Count(OpCheckUser))
	}

	s2 := newTestServer(t, WithAllWalletsExist())
	r = post(t, s2, envelope(s2, "check-user", `<extra name="phone">79181234567</extra>`))
	if *r.doc.Exist != "1" {
		t.Errorf("WithAllWalletsExist: %s", r.body)
	}
}

func TestCheckDepositPossible(t *testing.T) {
	s := newTestServer(t)
	s.AddWallet("79031234567", true)
	s.AddWallet("79031111111", false)
	s.SetDepositImpossible("79032222222")
	s.BlockAccount("79033333333")
	check := func(phone, iwt string) result {
		inner := `  <extra name="phone">` + phone + "</extra>\n"
		if iwt != "" {
			inner += `  <extra name="income_wire_transfer">` + iwt + "</extra>\n"
		}
		return post(t, s, envelope(s, "check-deposit-possible", inner))
	}
	r := check("79031234567", "1")
	if r.body != "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<response>\n<result-code fatal=\"false\">0</result-code>\n<exist>1</exist>\n<deposit-possible>1</deposit-possible>\n</response>\n" {
		t.Errorf("possible: %s", r.body)
	}
	r = check("79031111111", "0")
	want := "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<response>\n" +
		`<result-code fatal="true" message="Недостаточный статус идентификации кошелька для проведения платежа" msg="Недостаточный статус идентификации кошелька для проведения платежа">204</result-code>` +
		"\n<exist>1</exist>\n<deposit-possible>0</deposit-possible>\n</response>\n"
	if r.body != want {
		t.Errorf("not identified:\n%s\nwant\n%s", r.body, want)
	}
	if r := check("79032222222", "1"); r.code() != "204" || *r.doc.Exist != "0" || *r.doc.DepositPossible != "0" {
		t.Errorf("SetDepositImpossible: %s", r.body)
	}
	if r := check("79033333333", "1"); r.code() != "319" || r.fatal() != "true" || *r.doc.DepositPossible != "0" {
		t.Errorf("blocked: %s", r.body)
	}
	if r := check("79181234567", "1"); r.code() != "0" || *r.doc.Exist != "0" || *r.doc.DepositPossible != "1" {
		t.Errorf("new wallet: %s", r.body)
	}
	expectRequestError(t, check("79181234567", ""), "300", "true", "")
	expectRequestError(t, check("79181234567", "2"), "300", "true", "")
}

func TestGetProvider(t *testing.T) {
	s := newTestServer(t)
	s.SetProvider("9", 1)
	s.SetProvider("916", 42)
	body := func(num string) string {
		return fmt.Sprintf(`<?xml version="1.0" encoding="utf-8"?>
<request>
<request-type>get-provider-by-phone-number</request-type>
<terminal-id>%s</terminal-id>
<phonenumber>%s</phonenumber>
<extra name="password">%s</extra>
</request>`, s.TerminalID(), num, s.Password())
	}
	r := mustDo(t, s.Client(), s.XMLCPURL(), body("9161234567"), nil)
	want := "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<response>\n<result-code fatal=\"false\" message=\"Ок\" msg=\"Ок\">0</result-code>\n<provider id=\"42\"/>\n</response>\n"
	if r.body != want {
		t.Errorf("answer:\n%s", r.body)
	}
	if r := mustDo(t, s.Client(), s.XMLCPURL(), body("9031234567"), nil); r.doc.Provider == nil || r.doc.Provider.ID != "1" {
		t.Errorf("prefix 9: %s", r.body)
	}
	expectRequestError(t, mustDo(t, s.Client(), s.XMLCPURL(), body("8001234567"), nil), "300", "true", "")
	// Other request types do not belong on xmlcp.jsp.
	expectRequestError(t, mustDo(t, s.Client(), s.XMLCPURL(), envelope(s, "ping", ""), nil), "300", "true", "")
	// With a certificate on the private host.
	cert, _ := s.ClientCertificate()
	cc := s.CertClient(cert)
	defer cc.CloseIdleConnections()
	priv := strings.Replace(s.PrivateURL(), PathTopup, PathXMLCP, 1)
	if r := mustDo(t, cc, priv, body("9161234567"), nil); r.code() != "0" {
		t.Errorf("private: %s", r.body)
	}
	if s.Count(OpGetProvider) != 4 {
		t.Errorf("Count = %d", s.Count(OpGetProvider))
	}
}

// ---- pay and status ---------------------------------------------------------

func TestWalletPayLifecycle(t *testing.T) {
	s := newTestServer(t, WithBalance("643", "2000.00"))
	r := post(t, s, walletPay(s, "12345678", "79181234567", "1115.00"))
	if r.code() != "0" || r.fatal() != "false" {
		t.Fatalf("pay: %s", r.body)
	}
	p := r.payment(t)
	expectPayment(t, p, "50", "0", "false", "false")
	if p.attr("transaction-number") != "12345678" || p.attr("txn_id") == "" || p.attr("message") != "Ok" || p.attr("msg") != "Ok" {
		t.Errorf("attrs: %s", r.body)
	}
	if p.attr("txn-date") != "02.03.2024 14:35:46" {
		t.Errorf("txn-date %q (want Moscow time)", p.attr("txn-date"))
	}
	if p.From == nil || p.From.Amount != "1115.00" || p.From.CCY != "643" ||
		p.To == nil || p.To.ServiceID != "99" || p.To.Amount != "1115.00" || p.To.CCY != "643" || p.To.AccountNumber != "79181234567" {
		t.Errorf("from/to: %s", r.body)
	}
	if !strings.Contains(r.body, "<payment status='50' txn_id='") {
		t.Errorf("attribute style: %s", r.body)
	}
	if r.balance("643") != "885.00" || s.Balance("643") != "885.00" {
		t.Errorf("balance after accept: %s / %s", r.balance("643"), s.Balance("643"))
	}
	if !s.WalletExists("79181234567") {
		t.Error("wallet not created")
	}
	txnID := p.attr("txn_id")

	r = post(t, s, statusBody(s, "12345678"))
	sp := r.payment(t)
	expectPayment(t, sp, "52", "0", "false", "false")
	if sp.From != nil || sp.To != nil || sp.attr("message") != "" || !sp.has("msg") || sp.attr("txn_id") != txnID {
		t.Errorf("status payment: %s", r.body)
	}
	if !strings.Contains(r.body, "txn-date='02.03.2024 14:35:46' />") {
		t.Errorf("status payment is not self-closing: %s", r.body)
	}
	r = post(t, s, statusBody(s, "12345678"))
	expectPayment(t, r.payment(t), "60", "0", "true", "false")
	if r.balance("643") != "885.00" {
		t.Errorf("balance after success: %s", r.body)
	}
	r = post(t, s, statusBody(s, "12345678"))
	expectPayment(t, r.payment(t), "60", "0", "true", "false")

	rec, ok := s.Payment("12345678")
	if !ok || rec.Status != 60 || !rec.FinalStatus || rec.Polls != 3 || rec.Amount != "1115.00" || rec.IncomeWireTransfer != "1" || rec.TxnID != txnID || rec.ServiceID != 99 {
		t.Errorf("record %+v", rec)
	}
	if s.Count(OpPay) != 1 || s.Count(OpStatus) != 3 {
		t.Errorf("counts %d %d", s.Count(OpPay), s.Count(OpStatus))
	}
}

func TestIdempotentResendAnd215(t *testing.T) {
	s := newTestServer(t)
	first := post(t, s, walletPay(s, "777", "79181234567", "100.00"))
	// The same details in another element order and with letter/numeric
	// currency codes mixed are the same payment.
	again := post(t, s, `<request><extra name="income_wire_transfer">1</extra><auth><payment><to><account-number>79181234567</account-number><service-id>99</service-id><ccy>643</ccy><amount>100.00</amount></to><from><ccy>RUB</ccy></from><transaction-number>777</transaction-number></payment></auth><extra name="password">`+DefaultPassword+`</extra><terminal-id>123</terminal-id><request-type>pay</request-type></request>`)
	if first.payment(t).attr("txn_id") != again.payment(t).attr("txn_id") {
		t.Fatalf("resend made a new payment:\n%s\n%s", first.body, again.body)
	}
	if len(s.Payments()) != 1 || s.Balance("643") != "99900.00" {
		t.Errorf("payments %d balance %s", len(s.Payments()), s.Balance("643"))
	}
	// The resend does not advance the status.
	expectPayment(t, again.payment(t), "50", "0", "false", "false")

	for name, body := range map[string]string{
		"amount":  walletPay(s, "777", "79181234567", "100.01"),
		"account": walletPay(s, "777", "79181234568", "100.00"),
		"service": payBody(s, "777", "34020", "79181234567", "100.00", "RUB", "", iwt1),
	} {
		r := post(t, s, body)
		if r.code() != "0" {
			t.Errorf("%s: %s", name, r.body)
		}
		p := r.payment(t)
		expectPayment(t, p, "-1", "215", "false", "true")
		if p.attr("txn_id") != "" || p.attr("transaction-number") != "777" || p.From != nil {
			t.Errorf("%s: %s", name, r.body)
		}
	}
	rec, _ := s.Payment("777")
	if rec.Status != 50 || rec.Amount != "100.00" || len(s.Payments()) != 1 || s.Balance("643") != "99900.00" {
		t.Errorf("215 touched the stored payment: %+v, balance %s", rec, s.Balance("643"))
	}
}

func TestStatusBatchUnknownAbsent(t *testing.T) {
	s := newTestServer(t)
	post(t, s, walletPay(s, "1", "79181234567", "10.00"))
	post(t, s, walletPay(s, "2", "79181234568", "20.00"))
	r := post(t, s, statusBody(s, "2", "999", "1", "2"))
	if r.code() != "0" || len(r.doc.Payments) != 2 {
		t.Fatalf("batch: %s", r.body)
	}
	if r.doc.Payments[0].attr("transaction-number") != "2" || r.doc.Payments[1].attr("transaction-number") != "1" {
		t.Errorf("order: %s", r.body)
	}
	if strings.Contains(r.body, "'999'") {
		t.Errorf("unknown payment present: %s", r.body)
	}
	if rec, _ := s.Payment("2"); rec.Polls != 1 || rec.Status != 52 {
		t.Errorf("repeated number stepped twice: %+v", rec)
	}
	if r.balance("643") != "99970.00" {
		t.Errorf("balances: %s", r.body)
	}
	// Only unknown numbers: no payment at all.
	r = post(t, s, statusBody(s, "5"))
	if r.code() != "0" || len(r.doc.Payments) != 0 || len(r.doc.Balances) != 1 {
		t.Errorf("unknown only: %s", r.body)
	}
	expectRequestError(t, post(t, s, envelope(s, "pay", "<status></status>")), "300", "true", "")
}

func TestStepsPerPollAndComplete(t *testing.T) {
	s := newTestServer(t, WithStepsPerPoll(2))
	post(t, s, walletPay(s, "1", "79181234567", "10.00"))
	expectPayment(t, post(t, s, statusBody(s, "1")).payment(t), "60", "0", "true", "false")

	s0 := newTestServer(t, WithStepsPerPoll(0))
	post(t, s0, walletPay(s0, "1", "79181234567", "10.00"))
	expectPayment(t, post(t, s0, statusBody(s0, "1")).payment(t), "50", "0", "false", "false")
	if !s0.Complete("1") || s0.Complete("2") {
		t.Fatal("Complete result")
	}
	expectPayment(t, post(t, s0, statusBody(s0, "1")).payment(t), "60", "0", "true", "false")
}

func TestFailAccountRefunds(t *testing.T) {
	s := newTestServer(t)
	s.FailAccount("79181234567", 702)
	r := post(t, s, walletPay(s, "1", "79181234567", "500.00"))
	if r.balance("643") != "99500.00" {
		t.Fatalf("not debited on accept: %s", r.body)
	}
	post(t, s, statusBody(s, "1"))
	r = post(t, s, statusBody(s, "1"))
	p := r.payment(t)
	expectPayment(t, p, "160", "702", "true", "true")
	if p.attr("message") != "Превышен лимит на остаток учетной записи Клиента в системе QIWI Wallet" {
		t.Errorf("message %q", p.attr("message"))
	}
	if r.balance("643") != DefaultBalance {
		t.Errorf("not refunded: %s", r.body)
	}
	s.FailAccount("79181234567", 0)
	post(t, s, walletPay(s, "2", "79181234567", "1.00"))
	s.Complete("2")
	if rec, _ := s.Payment("2"); rec.Status != 60 {
		t.Errorf("FailAccount not undone: %+v", rec)
	}
}

func TestSetStatusMovesBalance(t *testing.T) {
	s := newTestServer(t)
	post(t, s, walletPay(s, "1", "79181234567", "100.00"))
	if !s.SetStatus("1", 151, 300) {
		t.Fatal("SetStatus")
	}
	if s.Balance("643") != DefaultBalance {
		t.Errorf("not refunded: %s", s.Balance("643"))
	}
	s.SetStatus("1", 52, 0)
	if s.Balance("643") != "99900.00" {
		t.Errorf("not debited again: %s", s.Balance("643"))
	}
	s.SetStatus("1", -1, 0)
	rec, _ := s.Payment("1")
	if s.Balance("643") != DefaultBalance || rec.FinalStatus || rec.Status != -1 {
		t.Errorf("-1: %s %+v", s.Balance("643"), rec)
	}
	// -1 is not stepped by status requests.
	expectPayment(t, post(t, s, statusBody(s, "1")).payment(t), "-1", "0", "false", "false")
	if s.SetStatus("404", 60, 0) {
		t.Error("SetStatus on an unknown payment")
	}
	if err := s.SetBalance("USD", "5.5"); err != nil || s.Balance("840") != "5.50" {
		t.Errorf("SetBalance: %v %s", err, s.Balance("840"))
	}
	if s.SetBalance("XXX", "1") == nil || s.SetBalance("RUB", "1.001") == nil {
		t.Error("SetBalance accepted garbage")
	}
}

func TestPayDeclines(t *testing.T) {
	s := newTestServer(t, WithBalance("643", "500.00"), WithLimits("", "400.00"))
	s.BlockAccount("79990000001")
	s.AddWallet("79990000002", false)
	s.SetDepositImpossible("79990000003")
	cases := []struct {
		name, body string
		code       string
	}{
		{"unknown service", payBody(s, "1", "12345", "79181234567", "10.00", "RUB", "", ""), "155"},
		{"foreign card stopped", payBody(s, "2", "36655", "4265111122334411", "10.00", "RUB", `<extra name="target_card_holder">Petrov Petr</extra>`, ""), "155"},
		{"one decimal", walletPay(s, "3", "79181234567", "10.0"), "300"},
		{"no decimals", walletPay(s, "4", "79181234567", "10"), "300"},
		{"comma", walletPay(s, "5", "79181234567", "10,00"), "300"},
		{"below minimum", walletPay(s, "6", "79181234567", "0.99"), "241"},
		{"above maximum", walletPay(s, "7", "79181234567", "400.01"), "242"},
		{"blocked", walletPay(s, "8", "79990000001", "10.00"), "319"},
		{"not identified", walletPay(s, "9", "79990000002", "10.00"), "204"},
		{"deposit impossible", walletPay(s, "10", "79990000003", "10.00"), "204"},
		{"bad phone", walletPay(s, "11", "12345", "10.00"), "298"},
		{"no income_wire_transfer", payBody(s, "12", "99", "79181234567", "10.00", "RUB", "", ""), "300"},
		{"unknown currency", payBody(s, "13", "99", "79181234567", "10.00", "XYZ", "", iwt1), "300"},
		{"no such agent account", payBody(s, "14", "99", "79181234567", "10.00", "USD", "", iwt1), "220"},
	}
	for _, tc := range cases {
		r := post(t, s, tc.body)
		if r.code() != "0" {
			t.Errorf("%s: request-level %s", tc.name, r.body)
			continue
		}
		p := r.payment(t)
		if p.attr("result-code") != tc.code || p.attr("status") != "150" || p.attr("final-status") != "true" || p.attr("fatal-error") != "true" || p.attr("txn_id") == "" {
			t.Errorf("%s: %s", tc.name, r.body)
		}
		if p.attr("message") == "" {
			t.Errorf("%s: no message", tc.name)
		}
	}
	// Funds: 300 + 300 > 500.
	expectPayment(t, post(t, s, walletPay(s, "20", "79181234567", "300.00")).payment(t), "50", "0", "false", "false")
	r := post(t, s, walletPay(s, "21", "79181234567", "300.00"))
	expectPayment(t, r.payment(t), "150", "220", "true", "true")
	if r.balance("643") != "200.00" {
		t.Errorf("declined payments debited: %s", r.body)
	}
	// Declined payments are stored: the status request reports them.
	expectPayment(t, post(t, s, statusBody(s, "21")).payment(t), "150", "220", "true", "true")
	if s.WalletExists("79990000003") {
		t.Error("a declined payment created a wallet")
	}
	// Request-level: two payments, bad transaction numbers.
	two := strings.Replace(walletPay(s, "30", "79181234567", "1.00"), "</auth>", "<payment><transaction-number>31</transaction-number></payment></auth>", 1)
	expectRequestError(t, post(t, s, two), "300", "true", "")
	expectRequestError(t, post(t, s, walletPay(s, "0123", "79181234567", "1.00")), "300", "true", "")
	expectRequestError(t, post(t, s, walletPay(s, "123456789012345678901", "79181234567", "1.00")), "300", "true", "")
	if _, ok := s.Payment("30"); ok {
		t.Error("payment stored from a refused request")
	}
	// A 20-digit number is fine.
	expectPayment(t, post(t, s, walletPay(s, "12345678901234567890", "79181234567", "1.00")).payment(t), "50", "0", "false", "false")
}

func TestCardPayout34020(t *testing.T) {
	s := newTestServer(t)
	body := payBody(s, "12345678", "34020", "4265111122334411", "1115.00", "RUB", "", "")
	r := post(t, s, body)
	p := r.payment(t)
	expectPayment(t, p, "50", "0", "false", "false")
	if p.To.AccountNumber != "4265********4411" || p.To.ServiceID != "34020" || len(p.Extras) != 0 {
		t.Errorf("masked account / extras: %s", r.body)
	}
	if strings.Contains(r.body, "4265111122334411") {
		t.Error("card number in clear")
	}
	s.Complete("12345678")
	r = post(t, s, body)
	p = r.payment(t)
	expectPayment(t, p, "60", "0", "true", "false")
	rrn, _ := extra(p.Extras, "rrn")
	bill, _ := extra(p.Extras, "billRegId")
	if len(rrn) != 12 || bill == "" {
		t.Errorf("rrn/billRegId: %s", r.body)
	}
	if rec, _ := s.Payment("12345678"); rec.RRN != rrn || rec.BillRegID != bill || rec.Account != "4265111122334411" {
		t.Errorf("record %+v", rec)
	}
	// Status answers stay bare.
	if r := post(t, s, statusBody(s, "12345678")); len(r.payment(t).Extras) != 0 {
		t.Errorf("status with extras: %s", r.body)
	}
	// RUB only; digits only.
	expectPayment(t, post(t, s, payBody(s, "2", "34020", "4265111122334411", "10.00", "USD", "", "")).payment(t), "150", "300", "true", "true")
	expectPayment(t, post(t, s, payBody(s, "3", "34020", "4265 1111 2233 4411", "10.00", "RUB", "", "")).payment(t), "150", "300", "true", "true")
}

func TestCardSpecMobileAndSBP(t *testing.T) {
	s := newTestServer(t)
	r := post(t, s, payBody(s, "1", "32911", "+79991112233", "1115.00", "RUB", `        <extra name="account1">4265111122334411</extra>`+"\n", ""))
	p := r.payment(t)
	expectPayment(t, p, "50", "0", "false", "false")
	if p.To.AccountNumber != "+79991112233" || strings.Contains(r.body, "4265111122334411") {
		t.Errorf("32911: %s", r.body)
	}
	if rec, _ := s.Payment("1"); rec.ToExtras["account1"] != "4265111122334411" {
		t.Errorf("record %+v", rec)
	}
	expectPayment(t, post(t, s, payBody(s, "2", "32911", "79991112233", "10.00", "RUB", `<extra name="account1">4265111122334411</extra>`, "")).payment(t), "150", "300", "true", "true")
	// FailAccount and BlockAccount also match the card of a 32911 payout.
	s.FailAccount("4265111122334411", 300)
	s.Complete("1")
	if rec, _ := s.Payment("1"); rec.Status != 160 || rec.ResultCode != 300 {
		t.Errorf("FailAccount by card: %+v", rec)
	}

	// Mobile.
	acc0 := `<extra name="account0">id:2;acc:9881110000;sum:115.00</extra>`
	expectPayment(t, post(t, s, payBody(s, "10", "29130", "79881110000", "115.00", "RUB", acc0, "")).payment(t), "50", "0", "false", "false")
	expectPayment(t, post(t, s, payBody(s, "11", "29130", "79881110000", "115.00", "RUB", `<extra name="account0">2;9881110000</extra>`, "")).payment(t), "150", "300", "true", "true")

	// SBP: wrapped like the document's example.
	sbp := payBody(s, "20", "38413", "70070310009", "10007.03", "RUB", `<extra name="bankId">100000000008</extra>`, "")
	r = post(t, s, sbp)
	if len(r.doc.Wrapped) != 1 || len(r.doc.Payments) != 0 {
		t.Fatalf("SBP not wrapped: %s", r.body)
	}
	p = r.doc.Wrapped[0]
	expectPayment(t, p, "50", "0", "false", "false")
	if p.attr("message") != "Ок" || p.has("msg") {
		t.Errorf("SBP message attrs: %s", r.body)
	}
	if len(r.doc.BalancesOvd) != 1 || r.doc.F == nil || r.doc.LKStatus == nil || *r.doc.LKStatus != "001" {
		t.Errorf("SBP extras: %s", r.body)
	}
	if r := post(t, s, statusBody(s, "20", "10")); len(r.doc.Wrapped) != 2 || r.doc.LKStatus == nil {
		t.Errorf("SBP status not wrapped: %s", r.body)
	}
	if r := post(t, s, statusBody(s, "10")); len(r.doc.Payments) != 1 || r.doc.LKStatus != nil {
		t.Errorf("non-SBP status wrapped: %s", r.body)
	}
	expectPayment(t, post(t, s, payBody(s, "21", "38413", "70070310009", "10.00", "RUB", "", "")).payment(t), "150", "300", "true", "true")

	s2 := newTestServer(t, WithWrappedPayments(false))
	r = post(t, s2, strings.Replace(sbp, DefaultPassword, s2.Password(), 1))
	if len(r.doc.Payments) != 1 || r.doc.LKStatus != nil || !r.doc.Payments[0].has("msg") {
		t.Errorf("WithWrappedPayments(false): %s", r.body)
	}
}

// ---- faults -----------------------------------------------------------------

func TestErrorNext(t *testing.T) {
	s := newTestServer(t)
	s.ErrorNext(1, 300, false)
	s.ErrorNext(1, 339, true)
	r := post(t, s, walletPay(s, "1", "79181234567", "10.00"))
	want := "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<response>\n<result-code fatal=\"false\" message=\"Неизвестная ошибка\" msg=\"Неизвестная ошибка\">300</result-code>\n</response>\n"
	if r.body != want {
		t.Errorf("ErrorNext:\n%s", r.body)
	}
	expectRequestError(t, post(t, s, walletPay(s, "1", "79181234567", "10.00")), "339", "true", "Ограничение по IP адресу")
	if len(s.Payments()) != 0 || s.Balance("643") != DefaultBalance {
		t.Error("ErrorNext processed the request")
	}
	// Even a bad password gets the queued answer: nothing is checked.
	s.ErrorNext(1, 13, false)
	expectRequestError(t, post(t, s, "garbage"), "13", "false", "")
	if post(t, s, walletPay(s, "1", "79181234567", "10.00")).payment(t).attr("status") != "50" {
		t.Error("queue not drained")
	}
	reqs := s.Requests()
	if reqs[0].ResultCode != 300 || reqs[0].AuthMode != "" || reqs[0].Op != OpPay {
		t.Errorf("recorded %+v", reqs[0])
	}
}

func TestFailNextRaw(t *testing.T) {
	s := newTestServer(t)
	s.FailNext(1, http.StatusBadGateway, "bad gateway")
	s.FailNext(1, http.StatusOK, "<response><oops/></response>")
	r, err := do(t, s.Client(), s.URL(), walletPay(s, "1", "79181234567", "10.00"), nil)
	if err != nil || r.status != 502 || r.body != "bad gateway" || !strings.HasPrefix(r.ctype, "text/plain") {
		t.Errorf("FailNext: %v %+v", err, r)
	}
	r, err = do(t, s.Client(), s.URL(), walletPay(s, "1", "79181234567", "10.00"), nil)
	if err != nil || r.status != 200 || !strings.HasPrefix(r.ctype, "text/xml") {
		t.Errorf("FailNext xml: %v %+v", err, r)
	}
	if len(s.Payments()) != 0 {
		t.Error("FailNext processed the request")
	}
	if s.Requests()[0].Answered != 502 {
		t.Errorf("Answered %d", s.Requests()[0].Answered)
	}
}

func TestDropNextProcesses(t *testing.T) {
	s := newTestServer(t)
	s.DropNext(1)
	if _, err := do(t, s.Client(), s.URL(), walletPay(s, "1", "79181234567", "10.00"), nil); err == nil {
		t.Fatal("DropNext: got an answer")
	}
	rec, ok := s.Payment("1")
	if !ok || rec.Status != 50 || s.Balance("643") != "99990.00" {
		t.Errorf("DropNext did not process: %+v %s", rec, s.Balance("643"))
	}
	if s.Requests()[0].Answered != 0 {
		t.Errorf("Answered %d", s.Requests()[0].Answered)
	}
	// The resend (the client's recovery) returns the same payment.
	r := post(t, s, walletPay(s, "1", "79181234567", "10.00"))
	if r.payment(t).attr("txn_id") != rec.TxnID || len(s.Payments()) != 1 {
		t.Errorf("resend after drop: %s", r.body)
	}
}

func TestDropBeforeNext(t *testing.T) {
	s := newTestServer(t)
	s.DropBeforeNext(1)
	if _, err := do(t, s.Client(), s.URL(), walletPay(s, "1", "79181234567", "10.00"), nil); err == nil {
		t.Fatal("DropBeforeNext: got an answer")
	}
	if _, ok := s.Payment("1"); ok || s.Count(OpPay) != 1 {
		t.Error("DropBeforeNext processed the request")
	}
}

func TestDelayNext(t *testing.T) {
	s := newTestServer(t)
	s.DelayNext(1, 50*time.Millisecond)
	start := time.Now()
	r := post(t, s, envelope(s, "ping", ""))
	if time.Since(start) < 50*time.Millisecond || r.code() != "0" {
		t.Errorf("DelayNext: %v %s", time.Since(start), r.body)
	}
	// A client that gives up gets no answer; the request was processed.
	s.DelayNext(1, time.Hour)
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, s.URL(), strings.NewReader(walletPay(s, "1", "79181234567", "10.00")))
	done := make(chan error, 1)
	go func() {
		resp, err := s.Client().Do(req)
		if err == nil {
			resp.Body.Close()
		}
		done <- err
	}()
	for {
		if _, ok := s.Payment("1"); ok {
			break
		}
		time.Sleep(time.Millisecond)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("err %v", err)
	}
}

func TestTruncateEmptyGarbage(t *testing.T) {
	s := newTestServer(t)
	s.TruncateNext(1)
	s.EmptyNext(1)
	s.GarbageNext(1)
	r, err := do(t, s.Client(), s.URL(), walletPay(s, "1", "79181234567", "10.00"), nil)
	if err != nil || r.status != 200 {
		t.Fatalf("truncate: %v %+v", err, r)
	}
	var v xResp
	if xml.Unmarshal([]byte(r.body), &v) == nil || !strings.HasPrefix(r.body, "<?xml") {
		t.Errorf("truncated body parses: %q", r.body)
	}
	r, err = do(t, s.Client(), s.URL(), walletPay(s, "2", "79181234567", "10.00"), nil)
	if err != nil || r.status != 200 || r.body != "" {
		t.Errorf("empty: %v %+v", err, r)
	}
	r, err = do(t, s.Client(), s.URL(), walletPay(s, "3", "79181234567", "10.00"), nil)
	if err != nil || r.status != 200 || !strings.Contains(r.body, "nginx") {
		t.Errorf("garbage: %v %+v", err, r)
	}
	if len(s.Payments()) != 3 || s.Balance("643") != "99970.00" {
		t.Errorf("faults did not process: %d %s", len(s.Payments()), s.Balance("643"))
	}
}

// ---- assertions, concurrency ------------------------------------------------

func TestRequestsRecordAndReset(t *testing.T) {
	s := newTestServer(t)
	body := walletPay(s, "1", "79181234567", "10.00")
	post(t, s, body)
	post(t, s, envelope(s, "check-user", `<extra name="phone">79181234567</extra>`))
	reqs := s.Requests()
	if len(reqs) != 2 {
		t.Fatalf("%d requests", len(reqs))
	}
	r := reqs[0]
	if r.Op != OpPay || r.Host != Host || r.SNI != Host || r.Method != "POST" || r.Path != PathTopup ||
		string(r.Body) != body || r.Header.Get("Content-Type") != "application/xml" ||
		!strings.HasPrefix(r.RemoteAddr, "127.0.0.1:") || r.Answered != 200 || r.ResultCode != 0 ||
		r.AuthMode != AuthPassword || r.ClientCertCN != "" || !r.Time.Equal(fixedNow) {
		t.Errorf("record %+v", r)
	}
	reqs[0].Body[0] = 'X'
	if s.Requests()[0].Body[0] == 'X' {
		t.Error("Requests shares memory")
	}
	if s.Count(OpCheckUser) != 1 || s.Count(OpPay) != 1 || s.Count(OpStatus) != 0 {
		t.Error("Count")
	}
	s.Reset()
	if len(s.Requests()) != 0 || len(s.Payments()) != 1 {
		t.Error("Reset")
	}
	ps := s.Payments()
	ps[0].FromExtras = map[string]string{"x": "y"}
	if _, ok := s.Payments()[0].FromExtras["x"]; ok {
		t.Error("Payments shares maps")
	}
}

func TestConcurrentIdempotency(t *testing.T) {
	s := newTestServer(t)
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			txn := fmt.Sprint(i%5 + 1)
			post(t, s, walletPay(s, txn, "79181234567", "10.00"))
			post(t, s, statusBody(s, txn))
		}()
	}
	wg.Wait()
	if n := len(s.Payments()); n != 5 {
		t.Errorf("%d payments", n)
	}
	if s.Balance("643") != "99950.00" {
		t.Errorf("balance %s", s.Balance("643"))
	}
}

func TestCloseIdempotent(t *testing.T) {
	s := NewServer()
	post(t, s, envelope(s, "ping", ""))
	s.Close()
	s.Close()
	if _, err := do(t, s.Client(), s.URL(), envelope(s, "ping", ""), nil); err == nil {
		t.Error("closed server answered")
	}
}

func TestNewServerPanicsOnBadOptions(t *testing.T) {
	for name, opt := range map[string]Option{
		"currency": WithBalance("ZZZ", "1.00"),
		"amount":   WithBalance("643", "1.234"),
		"limits":   WithLimits("10.00", "1.00"),
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			s := NewServer(opt)
			s.Close()
		}()
	}
}
