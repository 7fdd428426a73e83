package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/paykeeper/paykeepertest"
	"github.com/paysdk/payments/royalpay"
	"github.com/paysdk/payments/royalpay/royalpaytest"
)

const (
	testPKSecret      = "pk-informer-seed-s3cret"
	testRPCallbackTok = "rp-callback-static-t0ken"
)

// notifyHarness runs the command with an environment of its own and
// checks, in every run, that no secret it knows reaches stdout or stderr.
type notifyHarness struct {
	t       *testing.T
	dir     string
	env     map[string]string
	secrets []string
}

func newNotifyHarness(t *testing.T) *notifyHarness {
	return &notifyHarness{t: t, dir: t.TempDir(), env: map[string]string{}}
}

type notifyRun struct {
	code           int
	stdout, stderr string
}

func (h *notifyHarness) run(stdin string, args ...string) notifyRun {
	h.t.Helper()
	var out, errOut bytes.Buffer
	code := Run(context.Background(), args, IO{
		Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &errOut,
		LookupEnv: func(k string) (string, bool) { v, ok := h.env[k]; return v, ok },
	})
	r := notifyRun{code: code, stdout: out.String(), stderr: errOut.String()}
	for _, s := range h.secrets {
		require.NotContains(h.t, r.stdout, s, "a secret in stdout")
		require.NotContains(h.t, r.stderr, s, "a secret in stderr")
	}
	return r
}

// verify runs "notify verify --json" and decodes the report.
func (h *notifyHarness) verify(args ...string) (notifyRun, notifyReport) {
	h.t.Helper()
	r := h.run("", append([]string{"notify", "verify", "--json"}, args...)...)
	var rep notifyReport
	if r.code == ExitOK || r.code == ExitDifference || r.code == ExitError || strings.HasPrefix(r.stdout, "{") {
		require.NoError(h.t, json.Unmarshal([]byte(r.stdout), &rep), "stdout: %s\nstderr: %s", r.stdout, r.stderr)
	}
	return r, rep
}

func (h *notifyHarness) file(name string, data []byte) string {
	h.t.Helper()
	p := filepath.Join(h.dir, name)
	require.NoError(h.t, os.WriteFile(p, data, 0o600))
	return p
}

// envFile writes kv as an env file and returns --env-file's argument.
func (h *notifyHarness) envFile(kv map[string]string) string {
	var b strings.Builder
	for k, v := range kv {
		fmt.Fprintf(&b, "%s=%s\n", k, v)
	}
	return "--env-file=" + h.file("creds.env", []byte(b.String()))
}

// results maps check → result.
func results(rep notifyReport) map[string]string {
	m := map[string]string{}
	for _, c := range rep.Checks {
		m[c.Check] = c.Result
	}
	return m
}

func allOK(t *testing.T, rep notifyReport, want ...string) {
	t.Helper()
	got := results(rep)
	require.Len(t, rep.Checks, len(want), "checks: %+v", rep.Checks)
	for _, c := range want {
		assert.Equal(t, checkOK, got[c], "check %s: %+v", c, rep.Checks)
	}
	assert.True(t, rep.OK)
}

// capture is an HTTP server that keeps each request as
// httputil.DumpRequest writes it, and answers as the handler would.
type capture struct {
	mu   sync.Mutex
	reqs [][]byte
	srv  *httptest.Server
}

func newCapture(t *testing.T, answer string) *capture {
	c := &capture{}
	c.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		dump, err := httputil.DumpRequest(r, true)
		if err == nil {
			c.mu.Lock()
			c.reqs = append(c.reqs, dump)
			c.mu.Unlock()
		}
		_, _ = w.Write([]byte(answer))
	}))
	t.Cleanup(c.srv.Close)
	return c
}

func (c *capture) last(t *testing.T) []byte {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	require.NotEmpty(t, c.reqs, "nothing captured")
	return c.reqs[len(c.reqs)-1]
}

// formRequest is a PayKeeper notification POST carrying form, as
// httputil.DumpRequestOut writes it.
func formRequest(t *testing.T, form url.Values) []byte {
	t.Helper()
	r, err := http.NewRequest(http.MethodPost, "https://shop.example/paykeeper/notify", strings.NewReader(form.Encode()))
	require.NoError(t, err)
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	dump, err := httputil.DumpRequestOut(r, true)
	require.NoError(t, err)
	return dump
}

// pkFake is a PayKeeper fake holding payment 100.00 of ORDER-42, whose
// notification it POSTs to a capture; the env file points the command at it.
func pkFake(t *testing.T, h *notifyHarness) (srv *paykeepertest.Server, id string, captured []byte, envFlag string) {
	cp := newCapture(t, "")
	srv = paykeepertest.NewServer(paykeepertest.WithT(t), paykeepertest.WithNotifications(cp.srv.URL+"/notify", testPKSecret))
	t.Cleanup(srv.Close)
	id = srv.AddPayment(paykeepertest.PaymentSpec{Amount: "100.00", OrderID: "ORDER-42", ClientID: "Ivan Petrov", Status: paykeepertest.StatusSuccess})
	_, err := srv.Notify(id)
	require.NoError(t, err)
	captured = cp.last(t)
	ca := h.file("ca.pem", srv.CACertPEM())
	envFlag = h.envFile(map[string]string{
		envPayKeeperUser: paykeepertest.DefaultUser, envPayKeeperPassword: paykeepertest.DefaultPassword,
		envPayKeeperURL: "https://" + srv.Addr(), envPayKeeperSecret: testPKSecret, envCAFile: ca,
	})
	h.secrets = append(h.secrets, testPKSecret, paykeepertest.DefaultPassword)
	return srv, id, captured, envFlag
}

var pkChecks = []string{"request", "size", "form", "signature", "confirmation"}

func TestNotifyPayKeeperCapturedFromTheFake(t *testing.T) {
	h := newNotifyHarness(t)
	_, id, captured, envFlag := pkFake(t, h)
	// the key itself is never printed
	_, body, _ := bytes.Cut(captured, []byte("\r\n\r\n"))
	key, err := url.ParseQuery(string(body))
	require.NoError(t, err)
	h.secrets = append(h.secrets, key.Get("key"))

	r, rep := h.verify(envFlag, "paykeeper", h.file("n.http", captured))
	require.Equal(t, ExitOK, r.code, "stdout %s stderr %s", r.stdout, r.stderr)
	allOK(t, rep, pkChecks...)
	assert.Contains(t, rep.Body, "id="+id)
	assert.Contains(t, rep.Body, "key=[hidden]")

	// the table, from standard input
	r = h.run(string(captured), envFlag, "notify", "verify", "paykeeper", "-")
	require.Equal(t, ExitOK, r.code, r.stderr)
	assert.Regexp(t, `(?m)^confirmation\s+ok\s+API: payment `+id+`, sum 100\.00, order ORDER-42, status \w+`, r.stdout)
}

func TestNotifyPayKeeperRefusals(t *testing.T) {
	h := newNotifyHarness(t)
	_, id, _, envFlag := pkFake(t, h)
	signed := func(fields map[string]string, secret string) url.Values {
		return paykeepertest.NotificationForm(fields, secret)
	}
	good := map[string]string{"id": id, "sum": "100.00", "clientid": "Ivan Petrov", "orderid": "ORDER-42", "card_number": "4111111111111111"}
	tests := []struct {
		name   string
		req    []byte
		code   int
		failed string
	}{
		{"valid", formRequest(t, signed(good, testPKSecret)), ExitOK, ""},
		{"tampered amount", func() []byte {
			f := signed(good, testPKSecret)
			f.Set("sum", "1100.00")
			return formRequest(t, f)
		}(), ExitDifference, "signature"},
		{"wrong secret", formRequest(t, signed(good, "another-seed")), ExitDifference, "signature"},
		// a valid key (a re-cut, or a replay) for a payment the API lacks
		{"a payment the fake does not hold", formRequest(t, signed(map[string]string{"id": "99999", "sum": "100.00", "orderid": "ORDER-42"}, testPKSecret)), ExitDifference, "confirmation"},
		{"the API's payment differs (order id)", formRequest(t, signed(map[string]string{"id": id, "sum": "100.00", "orderid": "ORDER-43"}, testPKSecret)), ExitDifference, "confirmation"},
		{"the API's payment differs (sum)", formRequest(t, signed(map[string]string{"id": id, "sum": "90.00", "orderid": "ORDER-42"}, testPKSecret)), ExitDifference, "confirmation"},
		{"malformed body", formRequest(t, url.Values{"id": {id}, "sum": {"100"}, "key": {"x"}}), ExitDifference, "form"},
		{"no key", formRequest(t, url.Values{"id": {id}, "sum": {"100.00"}}), ExitDifference, "form"},
		{"not a form", []byte("POST /n HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n\r\nid=%zz"), ExitDifference, "form"},
		{"json content type", []byte("POST /n HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\r\n{}"), ExitDifference, "request"},
		{"GET", []byte("GET /n?id=1 HTTP/1.1\r\nHost: x\r\n\r\n"), ExitDifference, "request"},
		{"oversize body", formRequest(t, func() url.Values {
			f := signed(good, testPKSecret)
			f.Set("service_name", strings.Repeat("x", notifyMaxBody))
			return f
		}()), ExitDifference, "size"},
		{"cut capture", []byte("POST /n HTTP/1.1\r\nHost: x\r\nContent-Length: 500\r\n\r\nid=1&sum=1.00&key=a"), ExitDifference, "request"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h.t = t
			r, rep := h.verify(envFlag, "paykeeper", h.file("n.http", tc.req))
			require.Equal(t, tc.code, r.code, "stdout %s stderr %s", r.stdout, r.stderr)
			if tc.failed == "" {
				allOK(t, rep, pkChecks...)
				assert.NotContains(t, r.stdout, "4111111111111111")
				assert.Contains(t, rep.Body, "card_number=411111******1111")
				return
			}
			assert.False(t, rep.OK)
			got := results(rep)
			assert.Equal(t, checkFailed, got[tc.failed], "%+v", rep.Checks)
			failed := 0
			for _, c := range rep.Checks {
				if c.Result == checkFailed {
					failed++
				}
			}
			assert.Equal(t, 1, failed, "one failure, the rest skipped: %+v", rep.Checks)
			assert.Contains(t, r.stderr, "the "+tc.failed+" check failed")
		})
	}
}

func TestNotifyPayKeeperWithoutSecretsOrAPI(t *testing.T) {
	h := newNotifyHarness(t)
	h.secrets = []string{testPKSecret}
	req := formRequest(t, paykeepertest.NotificationForm(map[string]string{"id": "301", "sum": "100.00", "orderid": "O-1"}, testPKSecret))
	f := h.file("n.http", req)

	// no secret: the signature is not checked, exit 2
	r, rep := h.verify("paykeeper", f)
	assert.Equal(t, ExitBadInput, r.code)
	got := results(rep)
	assert.Equal(t, checkSkipped, got["signature"])
	assert.Contains(t, rep.Checks[3].Detail, "PAYKEEPER_SECRET not set")
	assert.Equal(t, checkSkipped, got["confirmation"])
	assert.Contains(t, r.stderr, "PAYKEEPER_SECRET not set")

	// the secret alone: signature ok, no confirmation, exit 0
	h.env[envPayKeeperSecret] = testPKSecret
	r, rep = h.verify("paykeeper", f)
	assert.Equal(t, ExitOK, r.code, r.stderr)
	got = results(rep)
	assert.Equal(t, checkOK, got["signature"])
	assert.Equal(t, checkSkipped, got["confirmation"])

	// the API cannot be reached: exit 1
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	h.env[envPayKeeperUser], h.env[envPayKeeperPassword], h.env[envPayKeeperURL] = "demo", "api-passw0rd", "https://"+addr
	h.secrets = append(h.secrets, "api-passw0rd")
	r, rep = h.verify("paykeeper", f)
	assert.Equal(t, ExitError, r.code, r.stdout)
	assert.Equal(t, checkError, results(rep)["confirmation"])

	// a --body-only body with its header
	h.env = map[string]string{envPayKeeperSecret: testPKSecret}
	_, body, _ := bytes.Cut(req, []byte("\r\n\r\n"))
	r, rep = h.verify("paykeeper", "--body-only", "--header", "Content-Type: application/x-www-form-urlencoded", h.file("body.txt", append(body, '\n')))
	assert.Equal(t, ExitOK, r.code, r.stderr)
	assert.Equal(t, checkOK, results(rep)["signature"])

	// unreadable input: exit 2, nothing printed on stdout
	for _, args := range [][]string{
		{"paykeeper", filepath.Join(h.dir, "missing.http")},
		{"paykeeper", h.file("garbage", []byte("\x00\x01 not http"))},
		{"paykeeper", h.file("big", bytes.Repeat([]byte("a"), notifyMaxFile+1))},
		{"paykeeper", "--header", "X: y", f},
		{"paykeeper", "--payout", f},
		{"qiwi", f},
		{"paykeeper", "--body-only", "--header", "no colon", f},
	} {
		r := h.run("", append([]string{"notify", "verify"}, args...)...)
		assert.Equal(t, ExitBadInput, r.code, "%v: %s", args, r.stderr)
		assert.Empty(t, r.stdout, "%v", args)
	}
}

// rpFake is a RoyalPay fake that posts callbacks with the bearer token to
// a capture, and an env file pointing the command at it.
func rpFake(t *testing.T, h *notifyHarness) (*royalpaytest.Server, *royalpay.Client, *capture, string) {
	cp := newCapture(t, `{"ok":true}`)
	srv := royalpaytest.NewServer(royalpaytest.WithT(t), royalpaytest.WithCallbackToken(testRPCallbackTok))
	t.Cleanup(srv.Close)
	c, err := royalpay.New(royalpay.Credentials{Token: royalpaytest.DefaultToken, PayoutToken: royalpaytest.DefaultPayoutToken},
		append(srv.ClientOptions(), payments.WithLimiter(payments.Unlimited()))...)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	srv.SetPayoutCallbackURL(cp.srv.URL + "/payouts")
	ca := h.file("ca.pem", srv.CACertPEM())
	envFlag := h.envFile(map[string]string{
		envRoyalPayToken: royalpaytest.DefaultToken, envRoyalPayURL: "https://" + srv.Addr(),
		envRoyalPayPayoutToken:   royalpaytest.DefaultPayoutToken,
		envRoyalPayCallbackToken: testRPCallbackTok, envCAFile: ca,
	})
	h.secrets = append(h.secrets, testRPCallbackTok, royalpaytest.DefaultToken, royalpaytest.DefaultPayoutToken)
	return srv, c, cp, envFlag
}

var rpChecks = []string{"request", "authentication", "size", "shape", "confirmation", "state", "amount"}

func TestNotifyRoyalPayPayment(t *testing.T) {
	h := newNotifyHarness(t)
	srv, c, cp, envFlag := rpFake(t, h)
	p, err := c.CreatePayment(context.Background(), royalpay.CreateParams{Sum: payments.MustDecimal("2500"), Type: royalpay.TypeCard,
		OutterID: "ORDER-7", CallbackURL: cp.srv.URL + "/cb"})
	require.NoError(t, err)
	_, err = srv.Complete(p.ID)
	require.NoError(t, err)
	captured := cp.last(t)
	require.Contains(t, string(captured), "Authorization: Bearer "+testRPCallbackTok)

	r, rep := h.verify(envFlag, "royalpay", h.file("cb.http", captured))
	require.Equal(t, ExitOK, r.code, "stdout %s stderr %s", r.stdout, r.stderr)
	allOK(t, rep, rpChecks...)
	assert.Equal(t, fmt.Sprintf("Bearer …(%d chars)", len(testRPCallbackTok)), rep.Headers["Authorization"])

	replace := func(old, new string) []byte {
		require.Contains(t, string(captured), old)
		return fixLength(t, []byte(strings.Replace(string(captured), old, new, 1)))
	}
	id := fmt.Sprint(p.ID)
	for _, tc := range []struct {
		name   string
		req    []byte
		failed string
	}{
		{"tampered amount", replace(`"amount":"2500.00"`, `"amount":"9500.00"`), "amount"},
		{"tampered state", replace(`"status":"completed"`, `"status":"refund"`), "state"},
		{"no bearer token", replace("Authorization: Bearer "+testRPCallbackTok+"\r\n", ""), "authentication"},
		{"wrong bearer token", replace("Bearer "+testRPCallbackTok, "Bearer "+strings.ToUpper(testRPCallbackTok)), "authentication"},
		{"another order", replace(`"outter_id":"ORDER-7"`, `"outter_id":"ORDER-8"`), "confirmation"},
		{"a payment the fake does not hold", replace(`"id":`+id, `"id":`+id+`0`), "confirmation"},
		{"malformed body", replace(`"status":"completed"`, `"status":{}`), "shape"},
		{"not JSON", []byte("POST /cb HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + testRPCallbackTok + "\r\n\r\nid=1"), "shape"},
		{"oversize body", []byte("POST /cb HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + testRPCallbackTok + "\r\n\r\n" + `{"id":1,"status":"completed","pad":"` + strings.Repeat("x", notifyMaxBody) + `"}`), "size"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h.t = t
			r, rep := h.verify(envFlag, "royalpay", h.file("cb.http", tc.req))
			require.Equal(t, ExitDifference, r.code, "stdout %s stderr %s", r.stdout, r.stderr)
			assert.Equal(t, checkFailed, results(rep)[tc.failed], "%+v", rep.Checks)
			assert.False(t, rep.OK)
		})
	}
}

func TestNotifyRoyalPayPayout(t *testing.T) {
	h := newNotifyHarness(t)
	srv, c, cp, envFlag := rpFake(t, h)
	p, err := c.CreatePayout(context.Background(), royalpay.PayoutParams{Method: royalpay.PayoutInterbank,
		Requisite: "4111111111111111", Amount: payments.MustDecimal("1500"), OutterID: "PO-1"})
	require.NoError(t, err)
	_, err = srv.CompletePayout(p.ID)
	require.NoError(t, err)
	captured := cp.last(t)

	r, rep := h.verify(envFlag, "royalpay", "--payout", h.file("po.http", captured))
	require.Equal(t, ExitOK, r.code, "stdout %s stderr %s", r.stdout, r.stderr)
	allOK(t, rep, rpChecks...)
	assert.NotContains(t, r.stdout, "4111111111111111")

	// a payout the fake does not hold under that outter_id
	bad := strings.Replace(string(captured), `"outter_id":"PO-1"`, `"outter_id":"PO-22"`, 1)
	require.NotEqual(t, string(captured), bad)
	r, rep = h.verify(envFlag, "royalpay", "--payout", h.file("po.http", fixLength(t, []byte(bad))))
	assert.Equal(t, ExitDifference, r.code, r.stdout)
	assert.Equal(t, checkFailed, results(rep)["confirmation"])

	// read as a pay-in's callback: the API has no such payment
	r, rep = h.verify(envFlag, "royalpay", h.file("po.http", captured))
	assert.Equal(t, ExitDifference, r.code, r.stdout)
	assert.Equal(t, checkFailed, results(rep)["confirmation"])
}

func TestNotifyRoyalPayWithoutToken(t *testing.T) {
	h := newNotifyHarness(t)
	req := []byte("POST /cb HTTP/1.1\nHost: x\nAuthorization: Bearer abc\n\n{\"id\":5,\"status\":\"completed\",\"amount\":10}\n")
	r, rep := h.verify("royalpay", h.file("cb.http", req))
	assert.Equal(t, ExitBadInput, r.code)
	got := results(rep)
	assert.Equal(t, checkSkipped, got["authentication"])
	assert.Equal(t, checkOK, got["shape"])
	assert.Equal(t, checkSkipped, got["confirmation"])
	assert.Equal(t, "Bearer …(3 chars)", rep.Headers["Authorization"])
	assert.NotContains(t, r.stdout, "abc")
}

// fixLength sets the Content-Length of a dumped request to its body's
// length, as an edit of the capture that keeps it a valid request.
func fixLength(t *testing.T, req []byte) []byte {
	t.Helper()
	head, body, ok := bytes.Cut(req, []byte("\r\n\r\n"))
	require.True(t, ok)
	lines := strings.Split(string(head), "\r\n")
	for i, l := range lines {
		if strings.HasPrefix(l, "Content-Length:") {
			lines[i] = fmt.Sprintf("Content-Length: %d", len(body))
		}
	}
	return []byte(strings.Join(lines, "\r\n") + "\r\n\r\n" + string(body))
}

func TestShownAuthorization(t *testing.T) {
	assert.Equal(t, "Bearer …(6 chars)", shownAuthorization("Bearer s3cret"))
	assert.Equal(t, "…(6 chars)", shownAuthorization("s3cret"))
	assert.Equal(t, "…(13 chars)", shownAuthorization("s3c=ret token"))
}

// FuzzNotifyParse: no bytes make the parser or the checks panic, and the
// signature and authentication checks pass only for what the signers
// make.
func FuzzNotifyParse(f *testing.F) {
	form := paykeepertest.NotificationForm(map[string]string{"id": "301", "sum": "100.00", "orderid": "O"}, testPKSecret)
	f.Add([]byte("POST /n HTTP/1.1\r\nHost: x\r\n\r\n" + form.Encode()))
	f.Add([]byte("POST /cb HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + testRPCallbackTok + "\r\n\r\n{\"id\":1,\"status\":\"completed\"}"))
	f.Add([]byte("POST /n HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nid=1&\r\n0\r\n\r\n"))
	f.Add([]byte("POST /n HTTP/1.1\r\nContent-Length: 3\r\n\r\nid=1\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		a := newApp(IO{LookupEnv: func(k string) (string, bool) {
			switch k {
			case envPayKeeperSecret:
				return testPKSecret, true
			case envRoyalPayCallbackToken:
				return testRPCallbackTok, true
			}
			return "", false
		}})
		for _, bodyOnly := range []bool{false, true} {
			req, err := parseCaptured(data, bodyOnly, nil)
			if err != nil {
				continue
			}
			pk := a.verifyPayKeeper(context.Background(), req)
			if results(*pk)["signature"] == checkOK {
				f, err := url.ParseQuery(string(req.body))
				if err != nil || paykeepertest.SignNotification(f.Get("id"), f.Get("sum"), f.Get("clientid"), f.Get("orderid"), testPKSecret) != strings.ToLower(f.Get("key")) {
					t.Fatalf("signature ok for a body the signer did not make: %q", req.body)
				}
			}
			rp := a.verifyRoyalPay(context.Background(), req, false)
			if results(*rp)["authentication"] == checkOK && req.header.Get("Authorization") != "Bearer "+testRPCallbackTok {
				t.Fatalf("authentication ok for %q", req.header.Get("Authorization"))
			}
			if results(*rp)["shape"] == checkOK {
				if _, err := royalpay.ParseCallback(bytes.TrimSpace(req.body)); err != nil {
					t.Fatalf("shape ok for a body ParseCallback refuses: %q", req.body)
				}
			}
			if pk.code == ExitOK && !pk.OK || rp.code == ExitOK && !rp.OK {
				t.Fatal("exit 0 without ok")
			}
		}
	})
}
