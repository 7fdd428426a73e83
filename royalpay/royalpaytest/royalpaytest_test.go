package royalpaytest

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/paysdk/payments"
)

// docAnswer is the document's example answer to a create, verbatim.
const docAnswer = `{
    "id": 10442449,
    "sum": "2500.00",
    "card_number": null,
    "created_at": "2025-11-27T14:01:26.617629+03:00",
    "updated_at": "2025-11-27T14:01:26.617639+03:00",
    "bank": "Alfa",
    "russified_name": "Альфа Банк",
    "bik": "044525593",
    "type": "to_sbp_number",
    "status": "created",
    "qr_code": null,
    "qr_code_link": null,
    "currency": "Рубль",
    "full_name": "Testov Tester Testik",
    "sbp_phone_number": "+79874563174",
    "client_id": "AC-551",
    "client_ip": null,
    "outter_id": "ACC-12345",
    "project": null,
    "merchant_payment_detail": {
        "id": 9336278,
        "course": "78.90",
        "rate": "0.00",
        "course_with_rate": "78.90",
        "amount_in_usdt": "31.6857",
        "accumulated_rate": "9.00",
        "amount_with_rate": "2275.0000",
        "amount_in_usdt_with_rate": "28.8340",
        "created_at": "2025-11-27T14:01:26.798306+03:00",
        "updated_at": "2025-11-27T14:01:26.798317+03:00"
    },
    "outter_id_from_form": null,
    "tips_id": null,
    "nspk_url": null,
    "work_country": "Россия",
    "redirect_url": null,
    "callback_url": null,
    "deeplink_url": "https://pay-dev.royalsfinance.app/deeplink/4f90b0cd-1d74-467f-8bdc-9ab1ef414814"
}`

// docRequest is the document's example 1, without its callback_url.
const docRequest = `{
    "sum": 1500,
    "type": "to_sbp_number",
    "bank": "Tinkoff",
    "client_id": "client_ABC123",
    "outter_id": "ORD-982134",
    "geo": "Россия",
    "is_allow_another_amount": true
  }`

// ---- helpers ----------------------------------------------------------------

func newTestServer(t *testing.T, opts ...Option) *Server {
	t.Helper()
	return NewServer(append([]Option{WithT(t)}, opts...)...)
}

type result struct {
	status int
	header http.Header
	body   string
}

func (r result) ctype() string { return r.header.Get("Content-Type") }

// newReq builds a request to the fake with the API token and, for a POST, the
// JSON content type.
func newReq(t testing.TB, s *Server, method, path, body string) *http.Request {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, s.URL()+path, r)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Token "+s.Token())
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
	return result{status: resp.StatusCode, header: resp.Header, body: string(b)}, nil
}

func mustDo(t testing.TB, c *http.Client, req *http.Request) result {
	t.Helper()
	res, err := roundTrip(c, req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	return res
}

func create(t testing.TB, s *Server, body string) result {
	t.Helper()
	return mustDo(t, s.Client(), newReq(t, s, http.MethodPost, createPath, body))
}

func get(t testing.TB, s *Server, id int64) result {
	t.Helper()
	return mustDo(t, s.Client(), newReq(t, s, http.MethodGet, fmt.Sprintf("%s%d/", createPath, id), ""))
}

func expect(t testing.TB, got result, status int, body string) {
	t.Helper()
	if got.status != status || got.body != body {
		t.Fatalf("got %d %s\nwant %d %s", got.status, got.body, status, body)
	}
	if strings.HasPrefix(body, "{") && got.ctype() != "application/json" {
		t.Fatalf("Content-Type %q, want application/json", got.ctype())
	}
}

// decoded is a JSON answer decoded with exact numbers.
type decoded map[string]any

func decode(t testing.TB, body string) decoded {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(body))
	dec.UseNumber()
	var m decoded
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("decode %q: %v", body, err)
	}
	return m
}

func (d decoded) str(key string) string {
	s, _ := d[key].(string)
	return s
}

func (d decoded) id(t testing.TB) int64 {
	t.Helper()
	n, ok := d["id"].(json.Number)
	if !ok {
		t.Fatalf("id is %T", d["id"])
	}
	v, err := n.Int64()
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func (d decoded) detail() decoded {
	m, _ := d["merchant_payment_detail"].(map[string]any)
	return m
}

func createOK(t testing.TB, s *Server, body string) decoded {
	t.Helper()
	got := create(t, s, body)
	if got.status != 200 || got.ctype() != "application/json" {
		t.Fatalf("create %s: %d %s %s", body, got.status, got.ctype(), got.body)
	}
	return decode(t, got.body)
}

func mustPayment(t testing.TB, s *Server, id int64) PaymentRecord {
	t.Helper()
	p, ok := s.Payment(id)
	if !ok {
		t.Fatalf("payment %d not stored", id)
	}
	return p
}

// keyOrder lists the keys of a JSON object in document order, nested ones as
// "parent.key", reading tokens so the order is the one on the wire.
func keyOrder(t testing.TB, body string) []string {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(body))
	var keys []string
	var walk func(prefix string)
	walk = func(prefix string) {
		tok, err := dec.Token()
		if err != nil {
			t.Fatalf("keyOrder: %v", err)
		}
		switch tok {
		case json.Delim('{'):
			for dec.More() {
				k, err := dec.Token()
				if err != nil {
					t.Fatalf("keyOrder: %v", err)
				}
				keys = append(keys, prefix+k.(string))
				walk(prefix + k.(string) + ".")
			}
			_, _ = dec.Token() // }
		case json.Delim('['):
			for dec.More() {
				walk(prefix)
			}
			_, _ = dec.Token() // ]
		}
	}
	walk("")
	return keys
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

// hook is an httptest callback receiver that records what it gets.
type hook struct {
	*httptest.Server
	mu     sync.Mutex
	got    []hookCall
	status int
	answer string
	during func(r *http.Request) // optional, runs inside the handler
}

type hookCall struct {
	method, path, auth, ctype string
	body                      string
}

func newHook(t *testing.T) *hook {
	h := &hook{status: 200, answer: `{"ok": true}`}
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if h.during != nil {
			h.during(r)
		}
		h.mu.Lock()
		h.got = append(h.got, hookCall{r.Method, r.URL.Path, r.Header.Get("Authorization"), r.Header.Get("Content-Type"), string(b)})
		status, answer := h.status, h.answer
		h.mu.Unlock()
		w.WriteHeader(status)
		_, _ = io.WriteString(w, answer)
	}))
	t.Cleanup(h.Close)
	return h
}

func (h *hook) calls() []hookCall {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]hookCall(nil), h.got...)
}

func (h *hook) set(status int, answer string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.status, h.answer = status, answer
}

// ---- TLS and URL ------------------------------------------------------------

func TestURLAddrAndTLS(t *testing.T) {
	s := newTestServer(t)
	_, port, err := net.SplitHostPort(s.Addr())
	if err != nil || !strings.HasPrefix(s.Addr(), "127.0.0.1:") {
		t.Fatalf("Addr = %q", s.Addr())
	}
	if want := "https://pay-dev.royalsfinance.app:" + port; s.URL() != want {
		t.Fatalf("URL = %q, want %q", s.URL(), want)
	}
	if s.Token() != DefaultToken {
		t.Fatalf("Token = %q", s.Token())
	}
	if opts := s.ClientOptions(); len(opts) != 3 {
		t.Fatalf("ClientOptions = %d options", len(opts))
	}

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
	get := func(c *http.Client, url string) (result, error) {
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		req.Header.Set("Authorization", "Token "+s.Token())
		return roundTrip(c, req)
	}

	// A plain net/http client trusting the CA from CACertPEM reaches the fake.
	res, err := get(clientWith(&tls.Config{RootCAs: pool}), s.URL()+"/api/v2/payments/1/")
	if err != nil || res.status != 404 {
		t.Fatalf("trusted client: %v %+v", err, res)
	}

	// Without the CA the certificate is refused.
	_, err = get(clientWith(&tls.Config{}), s.URL()+"/api/v2/payments/1/")
	var unknownCA x509.UnknownAuthorityError
	if !errors.As(err, &unknownCA) {
		t.Fatalf("client without the CA: %v, want x509.UnknownAuthorityError", err)
	}
	// Another name fails verification.
	_, err = get(clientWith(&tls.Config{RootCAs: pool}), "https://royal-finance.org:"+port+"/api/v2/payments/1/")
	var hostErr x509.HostnameError
	if !errors.As(err, &hostErr) {
		t.Fatalf("wrong host name: %v, want x509.HostnameError", err)
	}
	// TLS 1.1 is refused.
	if _, err = get(clientWith(&tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS11}), s.URL()+"/"); err == nil {
		t.Fatal("TLS 1.1 handshake succeeded")
	}
	// HTTP/1.1 only, even when the client offers h2.
	h2 := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, DialContext: dialFake, ForceAttemptHTTP2: true}}
	req, _ := http.NewRequest(http.MethodGet, s.URL()+"/api/v2/payments/1/", nil)
	req.Header.Set("Authorization", "Token "+s.Token())
	resp, err := h2.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.ProtoMajor != 1 || resp.TLS == nil || resp.TLS.Version < tls.VersionTLS12 {
		t.Fatalf("proto %s, TLS %+v", resp.Proto, resp.TLS)
	}
	// Client refuses to dial anything but the provider's host.
	if _, err := s.Client().Get("https://example.com/"); err == nil {
		t.Fatal("Client dialled example.com")
	}
}

// ---- authentication -----------------------------------------------------------

const (
	bodyNoAuth   = `{"error":{"code":10401,"msg":"Учетные данные не были предоставлены."}}`
	bodyBadToken = `{"detail":"Недопустимый токен."}`
)

func TestAuth(t *testing.T) {
	s := newTestServer(t, WithToken("secret-1"))
	if s.Token() != "secret-1" {
		t.Fatalf("Token = %q", s.Token())
	}
	valid := `{"sum":100,"type":"to_sbp_number"}`
	cases := []struct {
		auth   string // "-" for no header
		status int
		body   string
	}{
		{"-", 403, bodyNoAuth},
		{"", 403, bodyNoAuth},
		{"Bearer secret-1", 403, bodyNoAuth}, // another scheme: no credentials for TokenAuthentication
		{"Basic c2VjcmV0LTE6", 403, bodyNoAuth},
		{"Token wrong", 401, bodyBadToken},
		{"Token secret-2", 401, bodyBadToken},
		{"Token", 401, bodyBadToken},
		{"Token secret-1 extra", 401, bodyBadToken},
		{"Token Secret-1", 401, bodyBadToken},
	}
	for _, c := range cases {
		for _, method := range []string{http.MethodPost, http.MethodGet} {
			path, body := createPath, valid
			if method == http.MethodGet {
				path, body = createPath+"10442449/", ""
			}
			req := newReq(t, s, method, path, body)
			if c.auth == "-" {
				req.Header.Del("Authorization")
			} else {
				req.Header.Set("Authorization", c.auth)
			}
			got := mustDo(t, s.Client(), req)
			if got.status != c.status || got.body != c.body || got.ctype() != "application/json" {
				t.Errorf("%s with %q: %d %s %s, want %d %s", method, c.auth, got.status, got.ctype(), got.body, c.status, c.body)
			}
			if c.status == 401 && got.header.Get("WWW-Authenticate") != "Token" {
				t.Errorf("%s with %q: WWW-Authenticate %q", method, c.auth, got.header.Get("WWW-Authenticate"))
			}
		}
	}
	if n := len(s.Payments()); n != 0 {
		t.Fatalf("%d payments created without authentication", n)
	}
	// The keyword in any case, as DRF compares it.
	req := newReq(t, s, http.MethodPost, createPath, valid)
	req.Header.Set("Authorization", "token secret-1")
	if got := mustDo(t, s.Client(), req); got.status != 200 {
		t.Fatalf("lower-case keyword: %d %s", got.status, got.body)
	}
	// Authentication comes before body checks.
	req = newReq(t, s, http.MethodPost, createPath, "not json")
	req.Header.Del("Authorization")
	expect(t, mustDo(t, s.Client(), req), 403, bodyNoAuth)
}

// ---- the answer ---------------------------------------------------------------

func TestAnswerMatchesDocumentExample(t *testing.T) {
	at := time.Date(2025, 11, 27, 11, 1, 26, 617629000, time.UTC) // 14:01:26.617629+03:00
	s := newTestServer(t, withClock(func() time.Time { return at }))
	got := create(t, s, `{"sum": 2500, "type": "to_sbp_number", "client_id": "AC-551", "outter_id": "ACC-12345"}`)
	if got.status != 200 || got.ctype() != "application/json" {
		t.Fatalf("create: %d %s %s", got.status, got.ctype(), got.body)
	}

	// The same keys in the same order, nested ones included.
	wantKeys, gotKeys := keyOrder(t, docAnswer), keyOrder(t, got.body)
	if !slices.Equal(gotKeys, wantKeys) {
		t.Fatalf("keys\n got %q\nwant %q", gotKeys, wantKeys)
	}

	// The same values, except those the document could not fix: its
	// updated_at and detail times are a few microseconds later, its phone
	// and deeplink are someone else's.
	want, have := decode(t, docAnswer), decode(t, got.body)
	if ph := have.str("sbp_phone_number"); !regexp.MustCompile(`^\+7987\d{7}$`).MatchString(ph) {
		t.Errorf("sbp_phone_number %q", ph)
	}
	if dl := have.str("deeplink_url"); !regexp.MustCompile(`^https://pay-dev\.royalsfinance\.app/deeplink/[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`).MatchString(dl) {
		t.Errorf("deeplink_url %q", dl)
	}
	for _, k := range []string{"sbp_phone_number", "deeplink_url"} {
		want[k] = have[k]
	}
	want["updated_at"] = "2025-11-27T14:01:26.617629+03:00"
	want.detail()["created_at"] = "2025-11-27T14:01:26.617629+03:00"
	want.detail()["updated_at"] = "2025-11-27T14:01:26.617629+03:00"
	wb, _ := json.Marshal(want)
	hb, _ := json.Marshal(have)
	if !bytes.Equal(wb, hb) {
		t.Fatalf("answer differs from the document's example\n got %s\nwant %s", hb, wb)
	}
	// Compact, Cyrillic as UTF-8, not \u escapes.
	if strings.Contains(got.body, "\n") || strings.Contains(got.body, `\u`) || !strings.Contains(got.body, `"russified_name":"Альфа Банк"`) {
		t.Fatalf("rendering: %s", got.body)
	}

	// The stored record says the same.
	p := mustPayment(t, s, 10442449)
	if p.Sum != "2500.00" || p.Status != StatusCreated || p.Type != "to_sbp_number" || p.Bank != "Alfa" || p.Geo != "Россия" ||
		p.ClientID != "AC-551" || p.OutterID != "ACC-12345" || p.CallbackURL != "" || !p.CreatedAt.Equal(at) || !p.UpdatedAt.Equal(at) ||
		p.DetailID != 9336278 || p.SBPPhoneNumber != have.str("sbp_phone_number") || p.DeeplinkURL != have.str("deeplink_url") ||
		p.RussifiedName != "Альфа Банк" || p.BIK != "044525593" || p.FullName != "Testov Tester Testik" {
		t.Fatalf("record %+v", p)
	}
}

func TestDocumentRequestAndEcho(t *testing.T) {
	s := newTestServer(t)
	cb := "https://yourdomain.com/payment/callback"
	body := strings.Replace(docRequest, `"is_allow_another_amount": true`, `"is_allow_another_amount": true, "callback_url": "`+cb+`", "client_ip": "203.0.113.7", "is_intrabank_transfer": true, "unknown_field": {"x": [1]}`, 1)
	a := createOK(t, s, body)
	if a.id(t) != 10442449 || a.str("sum") != "1500.00" || a.str("bank") != "Tinkoff" || a.str("russified_name") != "Т-Банк" ||
		a.str("bik") != "044525974" || a.str("client_id") != "client_ABC123" || a.str("outter_id") != "ORD-982134" ||
		a.str("client_ip") != "203.0.113.7" || a.str("callback_url") != cb || a.str("work_country") != "Россия" ||
		a.str("status") != "created" || a.str("currency") != "Рубль" {
		t.Fatalf("answer %v", a)
	}
	d := a.detail()
	if d["amount_in_usdt"] != "19.0114" || d["amount_with_rate"] != "1365.0000" || d["amount_in_usdt_with_rate"] != "17.3004" ||
		d["id"] != json.Number("9336278") {
		t.Fatalf("detail %v", d)
	}
	p := mustPayment(t, s, 10442449)
	if !p.AllowAnotherAmount || !p.IntrabankTransfer || p.ClientIP != "203.0.113.7" || p.CallbackURL != cb {
		t.Fatalf("record %+v", p)
	}
	// Ids count up.
	if b := createOK(t, s, `{"sum":1,"type":"nspk"}`); b.id(t) != 10442450 || b.detail()["id"] != json.Number("9336279") {
		t.Fatalf("second ids: %v", b)
	}
}

func TestTimestamps(t *testing.T) {
	s := newTestServer(t)
	a := createOK(t, s, `{"sum":1,"type":"to_sbp_number"}`)
	re := regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+03:00$`)
	for _, v := range []string{a.str("created_at"), a.str("updated_at"), a.detail()["created_at"].(string), a.detail()["updated_at"].(string)} {
		if !re.MatchString(v) {
			t.Fatalf("timestamp %q", v)
		}
	}
	if formatTime(time.Date(2025, 1, 1, 21, 30, 0, 5000, time.UTC)) != "2025-01-02T00:30:00.000005+03:00" {
		t.Fatal("formatTime")
	}
}

// requisiteKeys are the keys that carry what the payer pays to.
var requisiteKeys = []string{"card_number", "qr_code", "qr_code_link", "sbp_phone_number", "account_number", "tips_id", "nspk_url", "tpay_link"}

func TestRequisitesPerType(t *testing.T) {
	phone := regexp.MustCompile(`^\+7987\d{7}$`)
	card := regexp.MustCompile(`^\d{16}$`)
	account := regexp.MustCompile(`^\d{20}$`)
	tips := regexp.MustCompile(`^\d{12}$`)
	nspk := regexp.MustCompile(`^https://qr\.nspk\.ru/[0-9A-Z]+$`)
	png := regexp.MustCompile(`^https://\S+\.png$`)
	tpay := regexp.MustCompile(`^https://pay-dev\.royalsfinance\.app/tpay/[0-9a-f-]{36}$`)
	cases := map[string]map[string]*regexp.Regexp{
		"to_sbp_number":       {"sbp_phone_number": phone},
		"to_mobile_commerce":  {"sbp_phone_number": phone},
		"to_transgran_sbp":    {"sbp_phone_number": phone, "tpay_link": tpay},
		"to_card_number":      {"card_number": card},
		"to_transgran_number": {"card_number": card, "tpay_link": tpay},
		"to_account_number":   {"account_number": account},
		"to_yandex_tips":      {"tips_id": tips, "nspk_url": nspk, "sbp_phone_number": phone},
		"nspk":                {"qr_code": png, "nspk_url": nspk},
		"with_qr_code":        {"qr_code_link": png, "account_number": account},
		"to_quasi_ecom":       {},
	}
	if len(cases) != len(transferTypes) {
		t.Fatalf("%d cases for %d types", len(cases), len(transferTypes))
	}
	docKeys := keyOrder(t, docAnswer)
	s := newTestServer(t)
	for _, typ := range transferTypes {
		want := cases[typ]
		body := create(t, s, fmt.Sprintf(`{"sum":1000,"type":%q,"geo":"Казахстан"}`, typ))
		if body.status != 200 {
			t.Fatalf("%s: %d %s", typ, body.status, body.body)
		}
		a := decode(t, body.body)
		for _, k := range requisiteKeys {
			v, present := a[k]
			re, expected := want[k]
			switch {
			case expected:
				s, ok := v.(string)
				if !ok || !re.MatchString(s) {
					t.Errorf("%s: %s = %#v, want %s", typ, k, v, re)
				}
				if k == "card_number" && !luhnValid(s) {
					t.Errorf("%s: card number %s fails the Luhn check", typ, s)
				}
			case k == "account_number" || k == "tpay_link":
				if present {
					t.Errorf("%s: %s present (%v), only for the types that have it", typ, k, v)
				}
			default:
				if !present || v != nil {
					t.Errorf("%s: %s = %#v, want null", typ, k, v)
				}
			}
		}
		// The document's keys in its order, with the extras where documented.
		wantKeys := slices.Clone(docKeys)
		if _, ok := want["account_number"]; ok {
			i := slices.Index(wantKeys, "sbp_phone_number")
			wantKeys = slices.Insert(wantKeys, i+1, "account_number")
		}
		if _, ok := want["tpay_link"]; ok {
			i := slices.Index(wantKeys, "nspk_url")
			wantKeys = slices.Insert(wantKeys, i+1, "tpay_link")
		}
		if gotKeys := keyOrder(t, body.body); !slices.Equal(gotKeys, wantKeys) {
			t.Errorf("%s keys\n got %q\nwant %q", typ, gotKeys, wantKeys)
		}
		if a.str("type") != typ || a.str("work_country") != "Казахстан" {
			t.Errorf("%s: type %q work_country %q", typ, a.str("type"), a.str("work_country"))
		}
		p := mustPayment(t, s, a.id(t))
		if p.CardNumber != a.str("card_number") || p.SBPPhoneNumber != a.str("sbp_phone_number") || p.AccountNumber != a.str("account_number") ||
			p.TipsID != a.str("tips_id") || p.NSPKURL != a.str("nspk_url") || p.QRCode != a.str("qr_code") ||
			p.QRCodeLink != a.str("qr_code_link") || p.TpayLink != a.str("tpay_link") {
			t.Errorf("%s: record %+v disagrees with answer", typ, p)
		}
	}
}

func luhnValid(s string) bool {
	sum, double := 0, false
	for i := len(s) - 1; i >= 0; i-- {
		d := int(s[i] - '0')
		if double {
			if d *= 2; d > 9 {
				d -= 9
			}
		}
		sum += d
		double = !double
	}
	return sum%10 == 0
}

func TestBanks(t *testing.T) {
	s := newTestServer(t)
	cases := []struct{ bank, russified, bik string }{
		{"Sber", "Сбербанк", "044525225"},
		{"Tinkoff", "Т-Банк", "044525974"},
		{"Alfa", "Альфа Банк", "044525593"},
		{"Vtb", "ВТБ", "044525187"},
		{"VTB", "ВТБ", "044525187"},
		{"Ozon", "Озон Банк", "044525068"},
		{"Kaspi Bank", "Kaspi Bank", ""},
	}
	for _, c := range cases {
		a := createOK(t, s, fmt.Sprintf(`{"sum":10,"type":"to_card_number","bank":%q,"is_intrabank_transfer":true}`, c.bank))
		if a.str("bank") != c.bank || a.str("russified_name") != c.russified || a.str("bik") != c.bik {
			t.Errorf("%s: bank %q russified %q bik %v", c.bank, a.str("bank"), a.str("russified_name"), a["bik"])
		}
	}
}

// ---- validation ---------------------------------------------------------------

func TestValidation(t *testing.T) {
	s := newTestServer(t)
	const ok = `"sum":100,"type":"to_sbp_number"`
	cases := []struct{ body, want string }{
		{`{}`, `{"sum":["Обязательное поле."],"type":["Обязательное поле."]}`},
		{``, `{"sum":["Обязательное поле."],"type":["Обязательное поле."]}`},
		{`{"sum":null,"type":null}`, `{"sum":["Это поле не может быть null."],"type":["Это поле не может быть null."]}`},
		{`{"sum":"abc","type":"x"}`, `{"sum":["Требуется численное значение."],"type":["\"x\" is not a valid choice."]}`},
		{`{"sum":true,"type":"TO_SBP_NUMBER"}`, `{"sum":["Требуется численное значение."],"type":["\"TO_SBP_NUMBER\" is not a valid choice."]}`},
		{`{"sum":"","type":""}`, `{"sum":["Требуется численное значение."],"type":["\"\" is not a valid choice."]}`},
		{`{"sum":{},"type":5}`, `{"sum":["Требуется численное значение."],"type":["\"5\" is not a valid choice."]}`},
		{`{"sum":"NaN","type":true}`, `{"sum":["Требуется численное значение."],"type":["\"True\" is not a valid choice."]}`},
		{`{"sum":"1,5","type":"to_sbp_number"}`, `{"sum":["Требуется численное значение."]}`},
		{`{"sum":0,"type":"to_sbp_number"}`, `{"sum":["Убедитесь, что значение больше или равно 0.01."]}`},
		{`{"sum":-5,"type":"to_sbp_number"}`, `{"sum":["Убедитесь, что значение больше или равно 0.01."]}`},
		{`{"sum":"0.00","type":"to_sbp_number"}`, `{"sum":["Убедитесь, что значение больше или равно 0.01."]}`},
		{`{"sum":1500.005,"type":"to_sbp_number"}`, `{"sum":["Убедитесь, что в числе не больше 2 знаков в дробной части."]}`},
		{`{"sum":"1500.000","type":"to_sbp_number"}`, `{"sum":["Убедитесь, что в числе не больше 2 знаков в дробной части."]}`},
		{`{"sum":12345678901,"type":"to_sbp_number"}`, `{"sum":["Убедитесь, что в числе не больше 10 знаков в целой части."]}`},
		{`{"sum":"12345678901.5","type":"to_sbp_number"}`, `{"sum":["Убедитесь, что в числе не больше 10 знаков в целой части."]}`},
		{`{"sum":1234567890123,"type":"to_sbp_number"}`, `{"sum":["Убедитесь, что в числе не больше 12 знаков."]}`},
		{`{` + ok + `,"geo":"USA"}`, `{"geo":["\"USA\" is not a valid choice."]}`},
		{`{` + ok + `,"geo":"россия"}`, `{"geo":["\"россия\" is not a valid choice."]}`},
		{`{` + ok + `,"bank":true}`, `{"bank":["Not a valid string."]}`},
		{`{` + ok + `,"outter_id":{"a":1}}`, `{"outter_id":["Not a valid string."]}`},
		{`{` + ok + `,"client_id":["x"]}`, `{"client_id":["Not a valid string."]}`},
		{`{` + ok + `,"is_intrabank_transfer":"maybe"}`, `{"is_intrabank_transfer":["Must be a valid boolean."]}`},
		{`{` + ok + `,"is_allow_another_amount":2}`, `{"is_allow_another_amount":["Must be a valid boolean."]}`},
		{`{` + ok + `,"callback_url":"ftp://example.com/cb"}`, `{"callback_url":["Введите корректный URL."]}`},
		{`{` + ok + `,"callback_url":"/payment/callback"}`, `{"callback_url":["Введите корректный URL."]}`},
		{`{` + ok + `,"callback_url":"https://"}`, `{"callback_url":["Введите корректный URL."]}`},
		{`{` + ok + `,"callback_url":"https://exa mple.com/"}`, `{"callback_url":["Введите корректный URL."]}`},
		{`{` + ok + `,"callback_url":5}`, `{"callback_url":["Введите корректный URL."]}`},
		{`{` + ok + `,"client_ip":false}`, `{"client_ip":["Not a valid string."]}`},
		// Every failing field at once, in the document's parameter order.
		{`{"callback_url":"x","geo":"Марс","is_allow_another_amount":"?","outter_id":[],"client_id":{},"is_intrabank_transfer":"?","bank":false}`,
			`{"sum":["Обязательное поле."],"type":["Обязательное поле."],"bank":["Not a valid string."],"is_intrabank_transfer":["Must be a valid boolean."],"client_id":["Not a valid string."],"outter_id":["Not a valid string."],"geo":["\"Марс\" is not a valid choice."],"is_allow_another_amount":["Must be a valid boolean."],"callback_url":["Введите корректный URL."]}`},
		// Not an object.
		{`[]`, `{"non_field_errors":["Недопустимые данные. Ожидался dictionary, но был получен list."]}`},
		{`"x"`, `{"non_field_errors":["Недопустимые данные. Ожидался dictionary, но был получен str."]}`},
		{`5`, `{"non_field_errors":["Недопустимые данные. Ожидался dictionary, но был получен int."]}`},
		{`null`, `{"non_field_errors":["Недопустимые данные. Ожидался dictionary, но был получен NoneType."]}`},
	}
	for _, c := range cases {
		got := create(t, s, c.body)
		if got.status != 400 || got.body != c.want || got.ctype() != "application/json" {
			t.Errorf("%s:\n got %d %s\nwant 400 %s", c.body, got.status, got.body, c.want)
		}
	}
	if n := len(s.Payments()); n != 0 {
		t.Fatalf("%d payments created from invalid requests", n)
	}
	if n := s.Count(OpCreate); n != len(cases) {
		t.Fatalf("Count(OpCreate) = %d", n)
	}
}

func TestBodyAndContentType(t *testing.T) {
	s := newTestServer(t)
	for _, c := range []struct{ body, prefix string }{
		{`{"sum":1`, `{"detail":"JSON parse error - `},
		{`not json`, `{"detail":"JSON parse error - `},
		{`{"sum":1,"type":"nspk"} {}`, `{"detail":"JSON parse error - `},
	} {
		got := create(t, s, c.body)
		if got.status != 400 || !strings.HasPrefix(got.body, c.prefix) {
			t.Errorf("%s: %d %s", c.body, got.status, got.body)
		}
	}
	for ct, want := range map[string]string{
		"text/plain":                        `{"detail":"Неподдерживаемый тип данных \"text/plain\" в запросе."}`,
		"application/x-www-form-urlencoded": `{"detail":"Неподдерживаемый тип данных \"application/x-www-form-urlencoded\" в запросе."}`,
		"":                                  `{"detail":"Неподдерживаемый тип данных \"\" в запросе."}`,
	} {
		req := newReq(t, s, http.MethodPost, createPath, `{"sum":1,"type":"nspk"}`)
		req.Header.Set("Content-Type", ct)
		if ct == "" {
			req.Header.Del("Content-Type")
		}
		expect(t, mustDo(t, s.Client(), req), 400, want)
	}
	// A charset parameter is fine.
	req := newReq(t, s, http.MethodPost, createPath, `{"sum":1,"type":"nspk"}`)
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	if got := mustDo(t, s.Client(), req); got.status != 200 {
		t.Fatalf("charset: %d %s", got.status, got.body)
	}
	// Over 1 MiB.
	big := `{"sum":1,"type":"nspk","pad":"` + strings.Repeat("x", maxBody) + `"}`
	if got := create(t, s, big); got.status != 400 || !strings.HasPrefix(got.body, `{"detail":`) {
		t.Fatalf("huge body: %d %.100s", got.status, got.body)
	}
	if n := len(s.Payments()); n != 1 {
		t.Fatalf("%d payments", n)
	}
}

func TestAcceptedForms(t *testing.T) {
	s := newTestServer(t)
	cases := []struct {
		fields, sum string
		check       func(PaymentRecord) bool
	}{
		{`"sum":1500`, "1500.00", nil},
		{`"sum":"1500"`, "1500.00", nil},
		{`"sum":" 99.9 "`, "99.90", nil},
		{`"sum":1500.5`, "1500.50", nil},
		{`"sum":1.5e3`, "1500.00", nil},
		{`"sum":1500.000`, "1500.00", nil}, // a float to Python: 1500.0
		{`"sum":0.01`, "0.01", nil},
		{`"sum":9999999999.99`, "9999999999.99", nil},
		{`"sum":"0.10"`, "0.10", nil},
		{`"sum":1,"outter_id":123,"client_id":"  c-1  "`, "1.00", func(p PaymentRecord) bool { return p.OutterID == "123" && p.ClientID == "c-1" }},
		{`"sum":1,"is_allow_another_amount":"yes","is_intrabank_transfer":1`, "1.00", func(p PaymentRecord) bool { return p.AllowAnotherAmount && p.IntrabankTransfer }},
		{`"sum":1,"is_allow_another_amount":"False","is_intrabank_transfer":0`, "1.00", func(p PaymentRecord) bool { return !p.AllowAnotherAmount && !p.IntrabankTransfer }},
		{`"sum":1,"geo":null,"bank":null,"callback_url":null,"outter_id":""`, "1.00", func(p PaymentRecord) bool {
			return p.Geo == "Россия" && p.Bank == "Alfa" && p.CallbackURL == "" && p.OutterID == ""
		}},
		{`"sum":1,"geo":"Монголия"`, "1.00", func(p PaymentRecord) bool { return p.Geo == "Монголия" }},
		{`"sum":1,"callback_url":"http://127.0.0.1:8080/cb?a=1&b=2"`, "1.00", func(p PaymentRecord) bool { return p.CallbackURL == "http://127.0.0.1:8080/cb?a=1&b=2" }},
	}
	for _, c := range cases {
		got := create(t, s, `{"type":"to_card_number",`+c.fields+`}`)
		if got.status != 200 {
			t.Errorf("%s: %d %s", c.fields, got.status, got.body)
			continue
		}
		a := decode(t, got.body)
		p := mustPayment(t, s, a.id(t))
		if a.str("sum") != c.sum || p.Sum != c.sum || (c.check != nil && !c.check(p)) {
			t.Errorf("%s: sum %q record %+v", c.fields, a.str("sum"), p)
		}
	}
	// '&' in a URL is not HTML-escaped.
	last := s.Payments()[len(s.Payments())-1]
	if got := get(t, s, last.ID); !strings.Contains(got.body, `"callback_url":"http://127.0.0.1:8080/cb?a=1&b=2"`) {
		t.Fatalf("escaped URL: %s", got.body)
	}
}

// ---- exact money ----------------------------------------------------------------

func TestDetailArithmetic(t *testing.T) {
	cases := []struct{ sum, inUSDT, withRate, inUSDTWithRate string }{
		{"2500", "31.6857", "2275.0000", "28.8340"}, // the document's example
		{"0.01", "0.0001", "0.0091", "0.0001"},
		{"78.90", "1.0000", "71.7990", "0.9100"},
		{"1", "0.0127", "0.9100", "0.0115"},
	}
	for _, c := range cases {
		a, b, d := detail(mustDec(t, c.sum))
		if a != c.inUSDT || b != c.withRate || d != c.inUSDTWithRate {
			t.Errorf("%s: %s %s %s, want %s %s %s", c.sum, a, b, d, c.inUSDT, c.withRate, c.inUSDTWithRate)
		}
	}
	// Against big.Rat, half up, over awkward sums up to the largest allowed.
	for _, sum := range []string{"9999999999.99", "0.39", "0.40", "1234.56", "39.45", "7.89", "3944.99"} {
		a, b, d := detail(mustDec(t, sum))
		r, _ := new(big.Rat).SetString(sum)
		c, _ := new(big.Rat).SetString("78.90")
		wr := new(big.Rat).Mul(r, big.NewRat(91, 100))
		if want := ratHalfUp4(new(big.Rat).Quo(r, c)); a != want {
			t.Errorf("%s: amount_in_usdt %s, want %s", sum, a, want)
		}
		if want := ratHalfUp4(wr); b != want {
			t.Errorf("%s: amount_with_rate %s, want %s", sum, b, want)
		}
		if want := ratHalfUp4(new(big.Rat).Quo(wr, c)); d != want {
			t.Errorf("%s: amount_in_usdt_with_rate %s, want %s", sum, d, want)
		}
	}
}

// ratHalfUp4 rounds a non-negative rational half up to 4 places.
func ratHalfUp4(r *big.Rat) string {
	x := new(big.Rat).Mul(r, big.NewRat(10000, 1))
	x.Add(x, big.NewRat(1, 2))
	q := new(big.Int).Quo(x.Num(), x.Denom())
	return fixed4(q)
}

// ---- reading a payment ------------------------------------------------------------

func TestGet(t *testing.T) {
	s := newTestServer(t)
	created := create(t, s, `{"sum":700,"type":"to_account_number","outter_id":"A-1"}`)
	id := decode(t, created.body).id(t)

	// The same object, with and without the trailing slash.
	expect(t, get(t, s, id), 200, created.body)
	expect(t, mustDo(t, s.Client(), newReq(t, s, http.MethodGet, fmt.Sprintf("%s%d", createPath, id), "")), 200, created.body)

	// Unknown ids.
	for _, path := range []string{createPath + "1/", createPath + "10442450/", createPath + "99999999999999999999999/"} {
		expect(t, mustDo(t, s.Client(), newReq(t, s, http.MethodGet, path, "")), 404, `{"detail":"Страница не найдена."}`)
	}
	if n := s.Count(OpGet); n != 5 {
		t.Fatalf("Count(OpGet) = %d", n)
	}

	// The current state after a move.
	if _, err := s.Complete(id); err != nil {
		t.Fatal(err)
	}
	a := decode(t, get(t, s, id).body)
	if a.str("status") != "completed" {
		t.Fatalf("after Complete: %v", a)
	}
	p := mustPayment(t, s, id)
	if p.Status != StatusCompleted || p.UpdatedAt.Before(p.CreatedAt) {
		t.Fatalf("record %+v", p)
	}
	// A deleted payment is still readable.
	if _, err := s.Delete(id); err != nil {
		t.Fatal(err)
	}
	if a := decode(t, get(t, s, id).body); a.str("status") != "deleted" {
		t.Fatalf("after Delete: %v", a)
	}
	// A block does not stop reads.
	s.BlockClient("spam")
	if got := get(t, s, id); got.status != 200 {
		t.Fatalf("blocked read: %d %s", got.status, got.body)
	}
}

func TestUpdatedAtMoves(t *testing.T) {
	var mu sync.Mutex
	now := time.Date(2025, 11, 27, 11, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); defer mu.Unlock(); now = now.Add(d) }
	s := newTestServer(t, withClock(clock))
	id := createOK(t, s, `{"sum":100,"type":"to_sbp_number","is_allow_another_amount":true}`).id(t)
	advance(1500 * time.Microsecond)
	if _, err := s.Cancel(id); err != nil {
		t.Fatal(err)
	}
	a := decode(t, get(t, s, id).body)
	if a.str("created_at") != "2025-11-27T14:00:00.000000+03:00" || a.str("updated_at") != "2025-11-27T14:00:00.001500+03:00" ||
		a.detail()["updated_at"] != "2025-11-27T14:00:00.000000+03:00" {
		t.Fatalf("after Cancel: %v", a)
	}
	advance(time.Second)
	if err := s.SetAmount(id, "90.5"); err != nil {
		t.Fatal(err)
	}
	a = decode(t, get(t, s, id).body)
	if a.str("sum") != "90.50" || a.str("updated_at") != "2025-11-27T14:00:01.001500+03:00" ||
		a.detail()["updated_at"] != "2025-11-27T14:00:01.001500+03:00" || a.detail()["amount_in_usdt"] != "1.1470" {
		t.Fatalf("after SetAmount: %v", a)
	}
}

// ---- errors on demand -----------------------------------------------------------

func TestProviderErrors(t *testing.T) {
	s := newTestServer(t)
	valid := `{"sum":1800,"type":"to_card_number","bank":"Sber","outter_id":"CARD-99122"}`

	s.NoCardsNext(2)
	for range 2 {
		expect(t, create(t, s, valid), 400, `{"error":"No available cards.","code":40005}`)
	}
	s.NoCards40006Next(1)
	expect(t, create(t, s, valid), 400, `{"error":"No available cards.","code":40006}`)
	s.CreationFailedNext(1)
	expect(t, create(t, s, valid), 400, `{"error":"Payment creation failed","code":"30002"}`)
	if n := len(s.Payments()); n != 0 {
		t.Fatalf("%d payments created by refused requests", n)
	}

	// The code is a string for 30002 and a number for the others.
	var e struct{ Code any }
	s.CreationFailedNext(1)
	_ = json.Unmarshal([]byte(create(t, s, valid).body), &e)
	if _, ok := e.Code.(string); !ok {
		t.Fatalf("30002 code is %T", e.Code)
	}

	// The payment is created, then 500 50020.
	s.ServerTimeoutNext(1)
	expect(t, create(t, s, valid), 500, `{"error":"Request timed out. The server took too long to respond.","code":50020}`)
	ps := s.Payments()
	if len(ps) != 1 || ps[0].OutterID != "CARD-99122" || ps[0].Status != StatusCreated {
		t.Fatalf("after ServerTimeoutNext: %+v", ps)
	}

	// Blocked: every create, until unblocked; nothing created.
	s.BlockClient("spam")
	for range 3 {
		expect(t, create(t, s, valid), 403, `{"error":"Client is blocked. Reason: spam","code":50000}`)
	}
	// The block comes after authentication and before the body.
	expect(t, create(t, s, `not json`), 403, `{"error":"Client is blocked. Reason: spam","code":50000}`)
	req := newReq(t, s, http.MethodPost, createPath, valid)
	req.Header.Set("Authorization", "Token nope")
	expect(t, mustDo(t, s.Client(), req), 401, bodyBadToken)
	s.BlockClient("")
	if got := create(t, s, valid); got.status != 200 {
		t.Fatalf("after unblocking: %d %s", got.status, got.body)
	}
	if n := len(s.Payments()); n != 2 {
		t.Fatalf("%d payments", n)
	}
}

func TestQueueOrderAndConsumption(t *testing.T) {
	rec := &recordingTB{TB: t}
	s := NewServer(WithT(rec))
	defer s.Close()
	valid := `{"sum":1,"type":"nspk"}`
	s.NoCardsNext(1)
	s.FailNext(1, 503, "busy")
	s.CreationFailedNext(1)
	s.NoCards40006Next(1)

	// Reads and unknown routes take nothing from the create queue.
	if got := get(t, s, 1); got.status != 404 {
		t.Fatalf("get: %+v", got)
	}
	if got := mustDo(t, s.Client(), newReq(t, s, http.MethodGet, "/api/v2/payments/", "")); got.status != 404 {
		t.Fatalf("unknown: %+v", got)
	}
	expect(t, create(t, s, valid), 400, `{"error":"No available cards.","code":40005}`)
	if got := create(t, s, valid); got.status != 503 || got.body != "busy" || !strings.HasPrefix(got.ctype(), "text/plain") {
		t.Fatalf("second: %+v", got)
	}
	// An invalid request spends the queued provider error: its own answer wins.
	expect(t, create(t, s, `{"sum":1}`), 400, `{"type":["Обязательное поле."]}`)
	req := newReq(t, s, http.MethodPost, createPath, valid)
	req.Header.Del("Authorization")
	expect(t, mustDo(t, s.Client(), req), 403, bodyNoAuth)
	if got := create(t, s, valid); got.status != 200 {
		t.Fatalf("queue not drained: %d %s", got.status, got.body)
	}
	if len(rec.errors()) != 1 {
		t.Fatalf("reported %q", rec.errors())
	}
}

// ---- transport faults --------------------------------------------------------------

func TestFailNext(t *testing.T) {
	s := newTestServer(t)
	s.FailNext(2, http.StatusInternalServerError, "boom")
	for i := range 2 {
		got := create(t, s, `{"sum":1,"type":"nspk"}`)
		if got.status != 500 || got.body != "boom" || !strings.HasPrefix(got.ctype(), "text/plain") {
			t.Fatalf("request %d: %+v", i, got)
		}
	}
	s.FailNext(1, http.StatusBadGateway, `{"error":"x"}`)
	// Nothing is checked: not even authentication.
	req := newReq(t, s, http.MethodPost, createPath, `{"sum":1,"type":"nspk"}`)
	req.Header.Del("Authorization")
	got := mustDo(t, s.Client(), req)
	if got.status != 502 || got.body != `{"error":"x"}` || got.ctype() != "application/json" {
		t.Fatalf("JSON FailNext: %+v", got)
	}
	if len(s.Payments()) != 0 {
		t.Fatal("FailNext requests were processed")
	}
	for i, r := range s.Requests() {
		if r.Answered != []int{500, 500, 502}[i] {
			t.Fatalf("request %d Answered %d", i, r.Answered)
		}
	}
}

func TestDropNext(t *testing.T) {
	s := newTestServer(t)
	s.DropNext(1)
	_, err := roundTrip(s.Client(), newReq(t, s, http.MethodPost, createPath, `{"sum":1,"type":"nspk","outter_id":"D-1"}`))
	if err == nil {
		t.Fatal("DropNext: got an answer")
	}
	ps := s.Payments()
	if len(ps) != 1 || ps[0].OutterID != "D-1" {
		t.Fatalf("dropped create not processed: %+v", ps)
	}
	reqs := s.Requests()
	if len(reqs) != 1 || reqs[0].Answered != 0 || reqs[0].Op != OpCreate {
		t.Fatalf("recorded %+v", reqs)
	}
	// The payment is there to be reconciled.
	if got := get(t, s, ps[0].ID); got.status != 200 {
		t.Fatalf("get: %+v", got)
	}
}

func TestDelayNext(t *testing.T) {
	s := newTestServer(t)
	const d = 300 * time.Millisecond
	s.DelayNext(1, d)
	start := time.Now()
	if got := create(t, s, `{"sum":1,"type":"nspk"}`); got.status != 200 {
		t.Fatalf("delayed: %+v", got)
	}
	if el := time.Since(start); el < d {
		t.Fatalf("answered after %v, before the %v delay", el, d)
	}

	// A client that gives up: processed, no answer recorded, and the handler
	// does not hang on to the hour-long delay.
	s.DelayNext(1, time.Hour)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		req := newReq(t, s, http.MethodPost, createPath, `{"sum":2,"type":"nspk"}`)
		_, err := roundTrip(s.Client(), req.WithContext(ctx))
		done <- err
	}()
	waitFor(t, "the second payment", func() bool { return len(s.Payments()) == 2 })
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("client error %v, want context.Canceled", err)
	}

	// Close interrupts a delay in progress.
	s.DelayNext(1, time.Hour)
	go func() {
		_, err := roundTrip(s.Client(), newReq(t, s, http.MethodPost, createPath, `{"sum":3,"type":"nspk"}`))
		done <- err
	}()
	waitFor(t, "the third payment", func() bool { return len(s.Payments()) == 3 })
	s.Close() // would block for an hour if the delay ignored Close
	if err := <-done; err == nil {
		t.Fatal("the interrupted request got an answer")
	}
	for _, r := range s.Requests()[1:] {
		if r.Answered != 0 {
			t.Fatalf("recorded %+v", r)
		}
	}
}

func TestRequestTimeout(t *testing.T) {
	s := newTestServer(t)

	// A delay longer than the client's X-Request-Timeout: 500 50020 once the
	// timeout elapses, and the payment exists.
	s.DelayNext(1, time.Hour)
	req := newReq(t, s, http.MethodPost, createPath, `{"sum":5,"type":"to_sbp_number","outter_id":"T-1"}`)
	req.Header.Set("X-Request-Timeout", "0.2")
	start := time.Now()
	expect(t, mustDo(t, s.Client(), req), 500, `{"error":"Request timed out. The server took too long to respond.","code":50020}`)
	if el := time.Since(start); el < 200*time.Millisecond {
		t.Fatalf("timed out after %v, before 200ms", el)
	}
	if ps := s.Payments(); len(ps) != 1 || ps[0].OutterID != "T-1" {
		t.Fatalf("payments %+v", ps)
	}

	// A delay within the timeout: answered normally.
	s.DelayNext(1, 10*time.Millisecond)
	req = newReq(t, s, http.MethodPost, createPath, `{"sum":5,"type":"to_sbp_number"}`)
	req.Header.Set("X-Request-Timeout", "30")
	if got := mustDo(t, s.Client(), req); got.status != 200 {
		t.Fatalf("within the timeout: %+v", got)
	}
	// No delay, tiny timeout: the request is fast, answered normally.
	req = newReq(t, s, http.MethodPost, createPath, `{"sum":5,"type":"to_sbp_number"}`)
	req.Header.Set("X-Request-Timeout", "1ms")
	if got := mustDo(t, s.Client(), req); got.status != 200 {
		t.Fatalf("no delay: %+v", got)
	}

	reqs := s.Requests()
	if reqs[0].Header.Get("X-Request-Timeout") != "0.2" || reqs[0].RequestTimeout != 200*time.Millisecond ||
		reqs[1].RequestTimeout != 30*time.Second || reqs[2].RequestTimeout != time.Millisecond || reqs[0].Answered != 500 {
		t.Fatalf("recorded %+v", reqs)
	}

	for in, want := range map[string]time.Duration{
		"": 0, "30": 30 * time.Second, " 5 ": 5 * time.Second, "0.5": 500 * time.Millisecond, "1500ms": 1500 * time.Millisecond,
		"2s": 2 * time.Second, "0": 0, "-3": 0, "abc": 0, "1.2.3": 0, "5 s": 0,
	} {
		if got := parseRequestTimeout(in); got != want {
			t.Errorf("parseRequestTimeout(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestTruncateNext(t *testing.T) {
	s := newTestServer(t)
	s.TruncateNext(1)
	got := create(t, s, `{"sum":1,"type":"nspk"}`)
	full := get(t, s, 10442449)
	if got.status != 200 || got.ctype() != "application/json" || got.body != full.body[:len(full.body)/2] {
		t.Fatalf("got %+v\nfull %s", got, full.body)
	}
	var v any
	if json.Unmarshal([]byte(got.body), &v) == nil {
		t.Fatal("truncated body is valid JSON")
	}
}

func TestGarbageNext(t *testing.T) {
	s := newTestServer(t)
	s.GarbageNext(1)
	got := create(t, s, `{"sum":1,"type":"nspk"}`)
	var v any
	if got.status != 502 || !strings.HasPrefix(got.ctype(), "text/html") || !strings.Contains(got.body, "nginx") ||
		json.Unmarshal([]byte(got.body), &v) == nil {
		t.Fatalf("got %+v", got)
	}
	mustPayment(t, s, 10442449)
}

func TestReadFaults(t *testing.T) {
	s := newTestServer(t)
	s.FailGetNext(1, 503, `{"detail":"busy"}`)
	s.DropGetNext(1)
	// Creates take nothing from the read queue.
	id := createOK(t, s, `{"sum":1,"type":"nspk"}`).id(t)
	expect(t, get(t, s, id), 503, `{"detail":"busy"}`)
	// net/http may resend a GET after a drop; disable keep-alive reuse so
	// the drop shows.
	c := &http.Client{Transport: s.Client().Transport.(*http.Transport).Clone()}
	c.Transport.(*http.Transport).DisableKeepAlives = true
	if _, err := roundTrip(c, newReq(t, s, http.MethodGet, fmt.Sprintf("%s%d/", createPath, id), "")); err == nil {
		t.Fatal("DropGetNext: got an answer")
	}
	if got := get(t, s, id); got.status != 200 {
		t.Fatalf("after the faults: %+v", got)
	}
}

// ---- callbacks ---------------------------------------------------------------------

func TestCallbacks(t *testing.T) {
	h := newHook(t)
	s := newTestServer(t, WithCallbackToken("cb-secret"))
	body := fmt.Sprintf(`{"sum":1500,"type":"to_sbp_number","outter_id":"ORD-982134","callback_url":%q}`, h.URL+"/payment/callback")
	id := createOK(t, s, body).id(t)

	res, err := s.Complete(id)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"id":10442449,"status":"completed","amount":"1500.00","method":"sbp_number","outter_id":"ORD-982134"}`
	if res.URL != h.URL+"/payment/callback" || res.Status != 200 || string(res.Body) != `{"ok": true}` || res.Err != nil ||
		res.PaymentID != id || string(res.Payload) != want {
		t.Fatalf("result %+v", res)
	}
	calls := h.calls()
	if len(calls) != 1 {
		t.Fatalf("%d callbacks received", len(calls))
	}
	if c := calls[0]; c.method != "POST" || c.path != "/payment/callback" || c.auth != "Bearer cb-secret" ||
		c.ctype != "application/json" || c.body != want {
		t.Fatalf("received %+v", c)
	}

	// Every move, with the status it sets; no check of where it comes from.
	for _, m := range []struct {
		move   func(int64) (CallbackResult, error)
		status string
	}{{s.Cancel, "canceled"}, {s.Refund, "refund"}, {s.Delete, "deleted"}, {s.Complete, "completed"}} {
		res, err := m.move(id)
		if err != nil || res.Status != 200 {
			t.Fatalf("%s: %+v %v", m.status, res, err)
		}
		if got := h.calls()[len(h.calls())-1].body; got != strings.Replace(want, "completed", m.status, 1) {
			t.Fatalf("%s: received %s", m.status, got)
		}
		if p := mustPayment(t, s, id); p.Status != m.status {
			t.Fatalf("%s: status %q", m.status, p.Status)
		}
	}
	if n := len(s.Callbacks()); n != 5 {
		t.Fatalf("%d callbacks recorded", n)
	}

	// The receiver's answer is reported, whatever it is.
	h.set(500, "oops")
	res, _ = s.Complete(id)
	if res.Status != 500 || string(res.Body) != "oops" || res.Err != nil {
		t.Fatalf("receiver 500: %+v", res)
	}

	// Unknown id: an error, nothing sent.
	if _, err := s.Complete(1); err == nil {
		t.Fatal("Complete(1) succeeded")
	}
	for _, f := range []func(int64) (CallbackResult, error){s.Cancel, s.Refund, s.Delete} {
		if _, err := f(1); err == nil {
			t.Fatal("move of an unknown id succeeded")
		}
	}
	if err := s.SetAmount(1, "1"); err == nil {
		t.Fatal("SetAmount(1) succeeded")
	}
	if _, err := s.SendCallback(1, []byte("{}")); err == nil {
		t.Fatal("SendCallback(1) succeeded")
	}
	if n := len(h.calls()); n != 6 {
		t.Fatalf("%d callbacks received", n)
	}
}

func TestCallbackWithoutURLOrToken(t *testing.T) {
	h := newHook(t)
	s := newTestServer(t)
	// No callback_url: the move happens, nothing is sent.
	id := createOK(t, s, `{"sum":10,"type":"to_card_number"}`).id(t)
	res, err := s.Complete(id)
	if err != nil || res.URL != "" || res.Status != 0 || res.PaymentID != id || len(s.Callbacks()) != 0 {
		t.Fatalf("no callback_url: %+v %v", res, err)
	}
	if mustPayment(t, s, id).Status != StatusCompleted {
		t.Fatal("not completed")
	}
	if _, err := s.SendCallback(id, []byte(`{}`)); err == nil {
		t.Fatal("SendCallback without callback_url succeeded")
	}

	// Without WithCallbackToken: no Authorization; method without "to_";
	// outter_id left out when empty.
	id = createOK(t, s, fmt.Sprintf(`{"sum":10.5,"type":"to_card_number","callback_url":%q}`, h.URL)).id(t)
	if _, err := s.Cancel(id); err != nil {
		t.Fatal(err)
	}
	c := h.calls()[0]
	if c.auth != "" || c.body != fmt.Sprintf(`{"id":%d,"status":"canceled","amount":"10.50","method":"card_number"}`, id) {
		t.Fatalf("received %+v", c)
	}
	id = createOK(t, s, fmt.Sprintf(`{"sum":10,"type":"nspk","callback_url":%q}`, h.URL)).id(t)
	if _, err := s.Complete(id); err != nil {
		t.Fatal(err)
	}
	if c := h.calls()[1]; !strings.Contains(c.body, `"method":"nspk"`) {
		t.Fatalf("received %+v", c)
	}
}

func TestCallbackReceiverDown(t *testing.T) {
	h := newHook(t)
	target := h.URL
	h.Close()
	s := newTestServer(t)
	id := createOK(t, s, fmt.Sprintf(`{"sum":10,"type":"nspk","callback_url":%q}`, target)).id(t)
	res, err := s.Complete(id)
	if err != nil || res.Err == nil || res.Status != 0 || res.URL != target {
		t.Fatalf("receiver down: %+v %v", res, err)
	}
	if cbs := s.Callbacks(); len(cbs) != 1 || cbs[0].Err == nil {
		t.Fatalf("recorded %+v", cbs)
	}
	if mustPayment(t, s, id).Status != StatusCompleted {
		t.Fatal("the move depends on the callback")
	}
}

func TestCallbackClientAndVerificationByGet(t *testing.T) {
	// A TLS receiver that re-reads the payment from the fake while handling
	// the callback, as integrations verify callbacks: the fake must hold no
	// lock while it waits for the receiver.
	var fake atomic.Pointer[Server]
	var seen atomic.Value
	h := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var cb struct{ ID int64 }
		_ = json.NewDecoder(r.Body).Decode(&cb)
		s := fake.Load()
		req, _ := http.NewRequest(http.MethodGet, fmt.Sprintf("%s%s%d/", s.URL(), createPath, cb.ID), nil)
		req.Header.Set("Authorization", "Token "+s.Token())
		if res, err := roundTrip(s.Client(), req); err == nil {
			var p struct{ Status string }
			_ = json.Unmarshal([]byte(res.body), &p)
			seen.Store(p.Status)
		}
		_, _ = io.WriteString(w, `["ok"]`)
	}))
	h.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake below is expected
	h.StartTLS()
	defer h.Close()

	// The default callback client does not trust httptest's certificate.
	plain := newTestServer(t)
	fake.Store(plain)
	id := createOK(t, plain, fmt.Sprintf(`{"sum":10,"type":"nspk","callback_url":%q}`, h.URL)).id(t)
	if res, err := plain.Complete(id); err != nil || res.Err == nil {
		t.Fatalf("default client trusted httptest's certificate: %+v %v", res, err)
	}

	// WithCallbackClient(h.Client()) does.
	s := newTestServer(t, WithCallbackClient(h.Client()))
	fake.Store(s)
	id = createOK(t, s, fmt.Sprintf(`{"sum":10,"type":"nspk","callback_url":%q}`, h.URL)).id(t)
	res, err := s.Complete(id)
	if err != nil || res.Err != nil || res.Status != 200 || string(res.Body) != `["ok"]` {
		t.Fatalf("TLS receiver: %+v %v", res, err)
	}
	if got, _ := seen.Load().(string); got != "completed" {
		t.Fatalf("the receiver read status %q during the callback", got)
	}
}

func TestSendCallback(t *testing.T) {
	h := newHook(t)
	s := newTestServer(t, WithCallbackToken("cb"))
	id := createOK(t, s, fmt.Sprintf(`{"sum":350.05,"type":"to_card_number","outter_id":"ORD123","callback_url":%q}`, h.URL)).id(t)
	payload := []byte(`{"id": 10442449, "status": "completed", "amount": 35005, "method": "card_number", "outter_id": "ORD123"}`)
	res, err := s.SendCallback(id, payload)
	if err != nil || res.Status != 200 || string(res.Payload) != string(payload) {
		t.Fatalf("SendCallback: %+v %v", res, err)
	}
	if c := h.calls()[0]; c.body != string(payload) || c.auth != "Bearer cb" || c.ctype != "application/json" {
		t.Fatalf("received %+v", c)
	}
	if mustPayment(t, s, id).Status != StatusCreated {
		t.Fatal("SendCallback moved the payment")
	}
	// Callbacks returns copies; Reset forgets them.
	cbs := s.Callbacks()
	cbs[0].Payload[0] = 'X'
	if s.Callbacks()[0].Payload[0] != '{' {
		t.Fatal("Callbacks shares memory with the server")
	}
	s.Reset()
	if len(s.Callbacks()) != 0 || len(s.Requests()) != 0 {
		t.Fatal("Reset kept recordings")
	}
	if _, ok := s.Payment(id); !ok {
		t.Fatal("Reset dropped payments")
	}
}

func TestSetAmount(t *testing.T) {
	h := newHook(t)
	s := newTestServer(t)
	id := createOK(t, s, fmt.Sprintf(`{"sum":1500,"type":"to_sbp_number","is_allow_another_amount":true,"callback_url":%q}`, h.URL)).id(t)
	for _, bad := range []string{"", "abc", "0", "-1", "1.005", "12345678901", "1,5"} {
		if err := s.SetAmount(id, bad); err == nil {
			t.Errorf("SetAmount(%q) succeeded", bad)
		}
	}
	if err := s.SetAmount(id, "1450.5"); err != nil {
		t.Fatal(err)
	}
	if len(h.calls()) != 0 {
		t.Fatal("SetAmount sent a callback")
	}
	a := decode(t, get(t, s, id).body)
	if a.str("sum") != "1450.50" || a.detail()["amount_in_usdt"] != "18.3840" || a.detail()["amount_with_rate"] != "1319.9550" {
		t.Fatalf("after SetAmount: %v", a)
	}
	if _, err := s.Complete(id); err != nil {
		t.Fatal(err)
	}
	if c := h.calls()[0]; !strings.Contains(c.body, `"amount":"1450.50"`) {
		t.Fatalf("callback %s", c.body)
	}
	// Only where the payer may change the amount.
	other := createOK(t, s, `{"sum":1500,"type":"to_sbp_number"}`).id(t)
	if err := s.SetAmount(other, "1400"); err == nil {
		t.Fatal("SetAmount on a payment without is_allow_another_amount succeeded")
	}
}

func TestAutoComplete(t *testing.T) {
	h := newHook(t)
	s := newTestServer(t, WithAutoComplete(20*time.Millisecond), WithCallbackToken("cb"))
	created := createOK(t, s, fmt.Sprintf(`{"sum":300,"type":"to_mobile_commerce","outter_id":"MOB-PAY-4411","callback_url":%q}`, h.URL))
	if created.str("status") != "created" {
		t.Fatalf("answered %v", created)
	}
	id := created.id(t)
	waitFor(t, "the auto-complete callback", func() bool { return len(h.calls()) == 1 })
	if c := h.calls()[0]; c.auth != "Bearer cb" ||
		c.body != fmt.Sprintf(`{"id":%d,"status":"completed","amount":"300.00","method":"mobile_commerce","outter_id":"MOB-PAY-4411"}`, id) {
		t.Fatalf("received %+v", c)
	}
	if a := decode(t, get(t, s, id).body); a.str("status") != "completed" {
		t.Fatalf("after auto-complete: %v", a)
	}
	waitFor(t, "the callback record", func() bool { return len(s.Callbacks()) == 1 })

	// A payment that left "created" first is left alone.
	s2 := newTestServer(t, WithAutoComplete(time.Hour))
	id2 := createOK(t, s2, `{"sum":1,"type":"nspk"}`).id(t)
	if _, err := s2.Cancel(id2); err != nil {
		t.Fatal(err)
	}
	s2.autoCompleteNow(id2) // what the timer runs
	if p := mustPayment(t, s2, id2); p.Status != StatusCanceled {
		t.Fatalf("auto-complete overrode %q", p.Status)
	}
	// Close disarms pending timers instead of waiting an hour.
	createOK(t, s2, `{"sum":1,"type":"nspk"}`)
	s2.Close()
}

// ---- unknown routes, recordings, lifecycle ---------------------------------------

func TestUnknownRoute(t *testing.T) {
	rec := &recordingTB{TB: t}
	s := NewServer(WithT(rec))
	defer s.Close()
	cases := []*http.Request{
		newReq(t, s, http.MethodPost, "/api/v2/payments", `{"sum":1,"type":"nspk"}`), // POST needs the slash
		newReq(t, s, http.MethodGet, "/api/v2/payments/", ""),                        // no list
		newReq(t, s, http.MethodPut, "/api/v2/payments/10442449/", `{}`),
		newReq(t, s, http.MethodDelete, "/api/v2/payments/10442449/", ""),
		newReq(t, s, http.MethodPost, "/api/v2/payments/10442449/", `{}`),
		newReq(t, s, http.MethodGet, "/api/v2/payments/abc/", ""),
		newReq(t, s, http.MethodGet, "/api/v2/payments/1/2/", ""),
		newReq(t, s, http.MethodPost, "/api/v1/payments/", `{"sum":1,"type":"nspk"}`),
		newReq(t, s, http.MethodGet, "/api/v3/accounts/me", ""), // v1 (the document's) and v2 only
		newReq(t, s, http.MethodPost, "/api/v1/accounts/me", `{}`),
		newReq(t, s, http.MethodGet, "/", ""),
	}
	for _, req := range cases {
		expect(t, mustDo(t, s.Client(), req), 404, `{"detail":"Страница не найдена."}`)
	}
	if n := s.Count(OpUnknown); n != len(cases) {
		t.Errorf("Count(OpUnknown) = %d, want %d", n, len(cases))
	}
	errs := rec.errors()
	if len(errs) != len(cases) {
		t.Fatalf("reported %d errors, want %d: %q", len(errs), len(cases), errs)
	}
	if !strings.Contains(errs[0], "POST /api/v2/payments") || !strings.Contains(errs[2], "PUT /api/v2/payments/10442449/") {
		t.Errorf("error texts: %q", errs)
	}
	if len(s.Payments()) != 0 {
		t.Fatal("an unknown route created a payment")
	}
}

func TestUnknownRouteWithoutWithT(t *testing.T) {
	s := NewServer()
	defer s.Close()
	if got := mustDo(t, s.Client(), newReq(t, s, http.MethodGet, "/x", "")); got.status != 404 {
		t.Fatalf("got %+v", got)
	}
	if r := s.Requests()[0]; r.Op != OpUnknown || r.Answered != 404 {
		t.Fatalf("recorded %+v", r)
	}
}

func TestRequestsRecording(t *testing.T) {
	at := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	s := newTestServer(t, withClock(func() time.Time { return at }))
	body := `{"sum":1,"type":"nspk"}`
	req := newReq(t, s, http.MethodPost, createPath, body)
	req.Header.Set("X-Trace", "abc")
	if got := mustDo(t, s.Client(), req); got.status != 200 {
		t.Fatal(got)
	}
	get(t, s, 10442449)
	noAuth := newReq(t, s, http.MethodGet, createPath+"10442449/", "")
	noAuth.Header.Del("Authorization")
	expect(t, mustDo(t, s.Client(), noAuth), 403, bodyNoAuth)

	reqs := s.Requests()
	if len(reqs) != 3 {
		t.Fatalf("%d requests recorded", len(reqs))
	}
	r := reqs[0]
	if r.Op != OpCreate || r.Method != "POST" || r.Path != createPath || string(r.Body) != body || r.Answered != 200 ||
		!r.Time.Equal(at) || r.Header.Get("X-Trace") != "abc" || r.Header.Get("Content-Type") != "application/json" || r.RequestTimeout != 0 {
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
				if strings.Contains(v, s.Token()) {
					t.Fatalf("request %d header holds the token: %q", i, v)
				}
			}
		}
	}
	if reqs[1].Op != OpGet || reqs[1].Path != createPath+"10442449/" || reqs[1].Answered != 200 || reqs[2].Answered != 403 {
		t.Fatalf("recorded %+v", reqs[1:])
	}
	if s.Count(OpCreate) != 1 || s.Count(OpGet) != 2 || s.Count(OpUnknown) != 0 {
		t.Fatal("Count disagrees with Requests")
	}
	// Requests returns copies.
	reqs[0].Body[0] = 'X'
	reqs[0].Header.Set("X-Trace", "changed")
	if again := s.Requests()[0]; again.Body[0] != '{' || again.Header.Get("X-Trace") != "abc" {
		t.Fatal("Requests shares memory with the server")
	}
}

func TestConcurrentClients(t *testing.T) {
	h := newHook(t)
	s := newTestServer(t)
	const workers, each = 8, 10
	var wg sync.WaitGroup
	errc := make(chan error, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				res, err := roundTrip(s.Client(), newReq(t, s, http.MethodPost, createPath,
					fmt.Sprintf(`{"sum":%d.%02d,"type":"to_card_number","outter_id":"W%d-%d","callback_url":%q}`, w+1, i, w, i, h.URL)))
				if err != nil || res.status != 200 {
					errc <- fmt.Errorf("worker %d item %d: %v %+v", w, i, err, res)
					return
				}
				var p struct{ ID int64 }
				_ = json.Unmarshal([]byte(res.body), &p)
				if _, err := s.Complete(p.ID); err != nil {
					errc <- err
					return
				}
				if res, err := roundTrip(s.Client(), newReq(t, s, http.MethodGet, fmt.Sprintf("%s%d/", createPath, p.ID), "")); err != nil || res.status != 200 {
					errc <- fmt.Errorf("get %d: %v %+v", p.ID, err, res)
					return
				}
			}
		}()
	}
	go func() { // concurrent readers
		for range 50 {
			s.Requests()
			s.Payments()
			s.Callbacks()
			s.Count(OpCreate)
		}
	}()
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Error(err)
	}
	ps := s.Payments()
	if len(ps) != workers*each {
		t.Fatalf("%d payments", len(ps))
	}
	for i, p := range ps {
		if p.ID != int64(firstPaymentID+i) || p.DetailID != int64(firstDetailID+i) || p.Status != StatusCompleted {
			t.Fatalf("payment %d: %+v", i, p)
		}
	}
	if n := len(h.calls()); n != workers*each {
		t.Fatalf("%d callbacks received", n)
	}
}

func TestCloseIsIdempotentAndStopsServing(t *testing.T) {
	s := NewServer()
	c := s.Client()
	if got := get(t, s, 1); got.status != 404 {
		t.Fatal(got)
	}
	s.Close()
	s.Close()
	if _, err := roundTrip(c, newReq(t, s, http.MethodGet, "/api/v2/payments/1/", "")); err == nil {
		t.Fatal("closed server answered")
	}
}

func TestWithTClosesOnCleanup(t *testing.T) {
	var s *Server
	t.Run("inner", func(t *testing.T) {
		s = NewServer(WithT(t))
		if got := get(t, s, 1); got.status != 404 {
			t.Fatal(got)
		}
	})
	if _, err := roundTrip(s.Client(), newReq(t, s, http.MethodGet, "/api/v2/payments/1/", "")); err == nil {
		t.Fatal("server still serving after its test's cleanup")
	}
}

func TestLuhn(t *testing.T) {
	for _, n := range []string{"4111111111111111", "79927398713", "5555555555554444"} {
		if got := luhn(n[:len(n)-1]); got != n {
			t.Errorf("luhn(%s) = %s, want %s", n[:len(n)-1], got, n)
		}
	}
}

func mustDec(t testing.TB, s string) payments.Decimal {
	t.Helper()
	d, err := payments.ParseDecimal(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// FuzzParseCreate feeds the create decoder arbitrary bodies, seeded with the
// document's example requests: no panic, and whatever it accepts is a
// positive sum with at most 2 places, a known type and a known geo.
func FuzzParseCreate(f *testing.F) {
	for _, seed := range []string{
		docRequest,
		`{"sum": 1800, "type": "to_card_number", "bank": "Sber", "client_id": "client_001", "outter_id": "CARD-99122", "geo": "Россия", "callback_url": "https://yourdomain.com/payment/callback"}`,
		`{"sum": 10000, "type": "to_account_number", "geo": "Монголия"}`,
		`{"sum": "0.01", "type": "nspk", "is_intrabank_transfer": "yes", "outter_id": 5}`,
		`{"sum": 1e3, "type": "with_qr_code"}`, `[]`, `null`, `{`, ``,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		in, bad := parseCreate(body)
		if bad != nil {
			if bad.Status != 400 || !json.Valid(bad.Body) {
				t.Fatalf("refusal %d %s", bad.Status, bad.Body)
			}
			return
		}
		sum, err := in.sum.StringFixed(2)
		if err != nil || in.sum.Sign() <= 0 {
			t.Fatalf("accepted sum %s: %v", in.sum, err)
		}
		if !slices.Contains(transferTypes, in.typ) || !slices.Contains(geos, in.geo) || in.bank == "" {
			t.Fatalf("accepted %+v", in)
		}
		if in.callbackURL != "" && !validURL(in.callbackURL) {
			t.Fatalf("accepted callback_url %q", in.callbackURL)
		}
		p := &payment{PaymentRecord: PaymentRecord{ID: firstPaymentID, Type: in.typ}}
		p.setSum(in.sum)
		fillRequisites(&p.PaymentRecord)
		if out := p.json().bytes(); !json.Valid(out) || p.Sum != sum {
			t.Fatalf("rendered %s", out)
		}
	})
}
