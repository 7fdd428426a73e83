package payments_test

// The secret probe of issue 8, across the four providers: no password,
// token, Authorization value, private key or full card number in a
// formatted value (every fmt verb, inside a struct, slog text and JSON), in
// an error or in the attempt log, whatever a server sends back.

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httputil"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/internal/fakeserver"
	"github.com/paysdk/payments/internal/testca"
	"github.com/paysdk/payments/ledger"
	"github.com/paysdk/payments/payin/paykeeperpayin"
	"github.com/paysdk/payments/paykeeper"
	"github.com/paysdk/payments/paykeeper/paykeepertest"
	"github.com/paysdk/payments/payout"
	"github.com/paysdk/payments/popolni"
	"github.com/paysdk/payments/popolni/popolnitest"
	"github.com/paysdk/payments/qiwitopup"
	"github.com/paysdk/payments/qiwitopup/qiwitopuptest"
	"github.com/paysdk/payments/royalpay"
	"github.com/paysdk/payments/royalpay/royalpaytest"
)

// The probe's secrets: letters, digits and '-' only, so that no escaping
// (JSON, XML, URL, %q) can hide one from a plain search, and each distinct,
// so that a failure names the one that leaked.
const (
	probeLogin    = "probe-login"
	probePassword = "Probe-Pa55word-7c1e"
	probeTerminal = "1234567"
	// probePKToken is the PayKeeper security token the echo server hands out.
	probePKToken = "Probe-PKToken-3b8a"
	// probeRPToken is the RoyalPay API token.
	probeRPToken = "Probe-RPToken-9d2f"
	// probeBearer is the RoyalPay callback bearer token.
	probeBearer = "Probe-Bearer-5e0c"
	// probeSeed is the PayKeeper notification secret (informer_seed).
	probeSeed = "Probe-Seed-41aa"
	// probeCard passes the Luhn check; masked it is 553691******7369, so its
	// middle digits 379182 must never show.
	probeCard       = "5536913791827369"
	probeCardMiddle = "379182"
)

// basicToken is the base64 of an HTTP Basic header for login:password.
func basicToken(login, password string) string {
	return base64.StdEncoding.EncodeToString([]byte(login + ":" + password))
}

// leaks returns the secrets (or their hex, as %x of a raw struct prints
// them) that text shows.
func leaks(text string, secrets []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, s := range secrets {
		for _, form := range []string{s, hex.EncodeToString([]byte(s)), strings.ToUpper(hex.EncodeToString([]byte(s)))} {
			if !seen[form] && strings.Contains(text, form) {
				out = append(out, form)
			}
			seen[form] = true
		}
	}
	return out
}

func assertNoLeak(t *testing.T, what, text string, secrets []string) {
	t.Helper()
	if l := leaks(text, secrets); len(l) > 0 {
		const max = 600
		if len(text) > max {
			text = text[:max] + "…"
		}
		t.Errorf("%s shows %q:\n%s", what, l, text)
	}
}

// sprint is fmt.Sprintf of one value, out of vet's sight: the probe prints
// values with verbs vet would refuse for their types.
func sprint(verb string, v any) string { return fmt.Sprintf(verb, v) }

// The verbs of the probe.
var probeVerbs = []string{"%v", "%+v", "%#v", "%s", "%d", "%x", "%X", "%q"}

// forms returns v and a pointer to it, or, for a pointer, the pointer and
// the value it points to: a merchant may print either.
func forms(v any) map[string]any {
	rv := reflect.ValueOf(v)
	if rv.Kind() == reflect.Pointer {
		return map[string]any{"pointer": v, "value": rv.Elem().Interface()}
	}
	p := reflect.New(rv.Type())
	p.Elem().Set(rv)
	return map[string]any{"value": v, "pointer": p.Interface()}
}

// secretProbe is one exported type holding a secret or a card number.
type secretProbe struct {
	name    string
	value   any
	secrets []string
}

// keySecrets are the private key's scalar in the forms fmt prints a
// *big.Int in (%v and %d decimal, %x hex).
func keySecrets(d fmt.Formatter) []string {
	return []string{fmt.Sprintf("%d", d), fmt.Sprintf("%x", d), fmt.Sprintf("%X", d)}
}

// TestNoExportedValuePrintsASecret prints every exported type of the module
// that holds a secret or a card number, as a value and through a pointer,
// with every fmt verb, inside a struct with %+v, and as a slog attribute
// through the text and the JSON handlers.
func TestNoExportedValuePrintsASecret(t *testing.T) {
	echo := newEchoServer(t)
	echo.set(echoMode{status: 500, style: "text", tokenOK: true})

	rsaKey, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := testca.New()
	if err != nil {
		t.Fatal(err)
	}
	clientCert, err := ca.ClientCert("qiwi-agent")
	if err != nil {
		t.Fatal(err)
	}
	certKey, ok := clientCert.PrivateKey.(*ecdsa.PrivateKey)
	if !ok {
		t.Fatalf("client key %T", clientCert.PrivateKey)
	}

	basicPop := basicToken(probeLogin, probePassword)
	popSecrets := []string{probePassword, basicPop}
	pkSecrets := []string{probePassword, basicPop, probePKToken}
	rsaSecrets := append([]string{probePassword}, keySecrets(rsaKey.D)...)
	certSecrets := append([]string{probePassword}, keySecrets(certKey.D)...)
	cards := []string{probeCard, probeCardMiddle}

	// Clients, each having made a call (PayKeeper's holds a token then).
	popCred := popolni.Credentials{Login: probeLogin, Password: probePassword}
	popClient, err := popolni.New(popCred, echo.options("popolni")...)
	if err != nil {
		t.Fatal(err)
	}
	closeIfCloser(t, popClient)
	_, _ = popClient.Balance(context.Background())

	qPassword := qiwitopup.PasswordAuth(probeTerminal, probePassword)
	qSignature := qiwitopup.SignatureAuth(probeTerminal, rsaKey, qiwitopup.SHA1withRSA)
	qCertificate := qiwitopup.CertificateAuth(probeTerminal, clientCert, ca.CertPEM(), probePassword)
	qClients := map[string]*qiwitopup.Client{}
	for name, auth := range map[string]qiwitopup.Auth{"password": qPassword, "signature": qSignature, "certificate": qCertificate} {
		c, err := qiwitopup.New(auth, echo.options("qiwitopup")...)
		if err != nil {
			t.Fatalf("qiwitopup.New(%s): %v", name, err)
		}
		closeIfCloser(t, c)
		_, _ = c.Ping(context.Background())
		qClients[name] = c
	}

	pkCred := paykeeper.Credentials{User: probeLogin, Password: probePassword}
	pkClient, err := paykeeper.New(pkCred, echo.options("paykeeper")...)
	if err != nil {
		t.Fatal(err)
	}
	closeIfCloser(t, pkClient)
	_ = pkClient.CapturePayment(context.Background(), "301") // a write: it fetches the token first
	if echo.count("/info/settings/token/") == 0 {
		t.Fatal("the PayKeeper client fetched no token")
	}

	rpCred := royalpay.Credentials{Token: probeRPToken}
	rpClient, err := royalpay.New(rpCred, echo.options("royalpay")...)
	if err != nil {
		t.Fatal(err)
	}
	closeIfCloser(t, rpClient)
	_, _ = rpClient.GetPayment(context.Background(), 1)

	common := qiwitopup.Common{TransactionNumber: "1001", Amount: 10000}
	qPayment := qiwitopup.Payment{TransactionNumber: "1001", TxnID: "77", Account: probeCard, Service: qiwitopup.ServiceCard}
	probes := []secretProbe{
		{"popolni.Credentials", popCred, popSecrets},
		{"popolni.Payment", popolni.Payment{ID: 1000000001, Amount: 500, Account: probeCard, NoticePhone: "380501234567"}, cards},
		{"*popolni.Client", popClient, popSecrets},

		{"qiwitopup.Auth (PasswordAuth)", qPassword, []string{probePassword}},
		{"qiwitopup.Auth (SignatureAuth)", qSignature, rsaSecrets},
		{"qiwitopup.Auth (CertificateAuth)", qCertificate, certSecrets},
		{"*qiwitopup.Client (PasswordAuth)", qClients["password"], []string{probePassword}},
		{"*qiwitopup.Client (SignatureAuth)", qClients["signature"], rsaSecrets},
		{"*qiwitopup.Client (CertificateAuth)", qClients["certificate"], certSecrets},
		{"qiwitopup.CardPayment", qiwitopup.CardPayment{Common: common, CardNumber: probeCard}, cards},
		{"qiwitopup.CardSpecPayment", qiwitopup.CardSpecPayment{Common: common, Phone: "+79991112233", CardNumber: probeCard}, cards},
		{"qiwitopup.StatusQuery", qiwitopup.StatusQuery{TransactionNumber: "1001", Account: probeCard}, cards},
		{"qiwitopup.Payment", qPayment, cards},
		{"qiwitopup.StatusResult", qiwitopup.StatusResult{TransactionNumber: "1001", Found: true, Payment: qPayment}, cards},

		{"paykeeper.Credentials", pkCred, pkSecrets},
		{"*paykeeper.Client", pkClient, pkSecrets},
		{"paykeeper.NotificationHandler", &paykeeper.NotificationHandler{Secret: probeSeed,
			Handle: func(context.Context, paykeeper.Notification) error { return nil }}, []string{probeSeed}},
		{"paykeeper.Notification", paykeeper.Notification{ID: "301", SumText: "100.00", CardNumber: probeCard,
			Fields: map[string]string{"id": "301", "card_number": probeCard}}, cards},
		{"paykeeper.OrganizationSettings", paykeeper.OrganizationSettings{ShopName: "shop", InformerSeed: probeSeed, SMTPPassword: probePassword,
			All: map[string]string{"informer_seed": probeSeed, "smtp_password": probePassword}}, []string{probeSeed, probePassword}},
		{"paykeeper.NewUser", paykeeper.NewUser{Login: "clerk", Password: probePassword}, []string{probePassword}},
		{"paykeeper.UserUpdate", paykeeper.UserUpdate{ID: "5", Password: probePassword}, []string{probePassword}},

		{"royalpay.Credentials", rpCred, []string{probeRPToken}},
		{"*royalpay.Client", rpClient, []string{probeRPToken}},
		{"royalpay.CallbackHandler", &royalpay.CallbackHandler{Client: rpClient, BearerToken: probeBearer,
			Handle: func(context.Context, royalpay.Event) error { return nil }}, []string{probeBearer, probeRPToken}},
		{"royalpay.Payment", royalpay.Payment{ID: 1, Sum: payments.MustDecimal("1500.00"), Type: royalpay.TypeCard, CardNumber: probeCard}, cards},
		{"royalpay.Credentials with a payout token", royalpay.Credentials{Token: probeRPToken, PayoutToken: probeBearer + "-payout"},
			[]string{probeRPToken, probeBearer + "-payout"}},
		{"royalpay.PayoutCallbackHandler", &royalpay.PayoutCallbackHandler{Client: rpClient, BearerToken: probeBearer,
			Handle: func(context.Context, royalpay.PayoutEvent) error { return nil }}, []string{probeBearer, probeRPToken}},
		{"royalpay.PayoutParams", royalpay.PayoutParams{Method: royalpay.PayoutInterbank, Requisite: probeCard,
			Amount: payments.MustDecimal("500"), OutterID: "p-1"}, cards},
		{"*paykeeper.FormSigner", formSigner(t), []string{probeSeed}},

		{"paykeeperpayin.Credentials", paykeeperpayin.Credentials{Cabinet: pkCred, Secret: probeSeed, FormSecret: probeSeed + "-form"},
			append([]string{probeSeed, probeSeed + "-form"}, pkSecrets...)},
		{"ledger.Record", ledger.Record{Ref: "1000000001", To: payout.Destination{Kind: payout.Card, Account: probeCard},
			Message: "card " + probeCard + " refused", LastError: "lost answer for " + probeCard}, cards},
		{"*ledger.AESGCM", probeAESGCM(t), []string{string(probeKey), fmt.Sprintf("%x", probeKey), fmt.Sprintf("%X", probeKey)}},
	}

	for _, p := range probes {
		t.Run(p.name, func(t *testing.T) {
			for form, v := range forms(p.value) {
				for _, verb := range probeVerbs {
					assertNoLeak(t, verb+" of the "+form, sprint(verb, v), p.secrets)
				}
				in := struct {
					Name  string
					Value any
				}{p.name, v}
				assertNoLeak(t, "%+v of a struct holding the "+form, fmt.Sprintf("%+v", in), p.secrets)

				var text, js bytes.Buffer
				slog.New(slog.NewTextHandler(&text, nil)).Info("probe", "v", v)
				slog.New(slog.NewJSONHandler(&js, nil)).Info("probe", "v", v)
				assertNoLeak(t, "slog text of the "+form, text.String(), p.secrets)
				assertNoLeak(t, "slog JSON of the "+form, js.String(), p.secrets)
			}
		})
	}
}

// closeIfCloser closes c at the end of the test (when its package has
// Close: the probe must build whatever the state of the other packages).
func closeIfCloser(t *testing.T, c any) {
	if cl := closer(c); cl != nil {
		t.Cleanup(func() { _ = cl.Close() })
	}
}

// echoMode is how the echo server answers every request.
type echoMode struct {
	status int
	// style is how the echo is wrapped: "text" (the bare dump), "json" (the
	// dump in the error fields of the JSON providers), "xml" (in QIWI's
	// result-code message), "html" (in an error page's title and body).
	style string
	// tokenOK answers PayKeeper's token route with a token, so that the
	// writes carry it; otherwise that route is echoed like the rest.
	tokenOK bool
	// tokenTruncated answers the token route 200 with a cut-off token answer.
	tokenTruncated bool
}

// echoServer is a TLS server, certificate from a test CA for the four
// providers' host names, that answers every request with the whole request
// (request line, headers, body) and the decoded Basic credentials echoed
// back, as a careless server or proxy does.
type echoServer struct {
	base *fakeserver.Base
	mu   sync.Mutex
	mode echoMode
	seen map[string]int
}

var echoHosts = map[string]string{
	"popolni":   popolnitest.Host,
	"qiwitopup": qiwitopuptest.Host,
	"paykeeper": paykeepertest.Host,
	"royalpay":  royalpaytest.Host,
}

func newEchoServer(t *testing.T) *echoServer {
	hosts := make([]string, 0, len(echoHosts))
	for _, h := range echoHosts {
		hosts = append(hosts, h)
	}
	e := &echoServer{base: fakeserver.New(fakeserver.Config{Name: "echo", Hosts: hosts}), seen: map[string]int{}}
	e.base.Serve(http.HandlerFunc(e.serve))
	t.Cleanup(e.base.Close)
	return e
}

func (e *echoServer) set(m echoMode) {
	e.mu.Lock()
	e.mode = m
	e.mu.Unlock()
}

func (e *echoServer) count(path string) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.seen[path]
}

// options point a provider's client at the server, over verified TLS, with
// the test timing (no limiter, 1 ms backoff).
func (e *echoServer) options(provider string, extra ...payments.Option) []payments.Option {
	path := map[string]string{"popolni": "/api", "qiwitopup": "/xml/topup.jsp"}[provider]
	opts := e.base.ClientOptions(e.base.URL(echoHosts[provider], path))
	return append(append(opts, payments.WithTestTiming()), extra...)
}

func (e *echoServer) serve(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	m := e.mode
	e.seen[r.URL.Path]++
	e.mu.Unlock()
	if r.URL.Path == "/info/settings/token/" {
		switch {
		case m.tokenTruncated:
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, `{"token":"`+probePKToken)
			return
		case m.tokenOK:
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, `{"token":"`+probePKToken+`"}`)
			return
		}
	}
	dump, _ := httputil.DumpRequest(r, true)
	user, pass, _ := r.BasicAuth()
	echo := fmt.Sprintf("Incorrect auth data for %s:%s\n%s", user, pass, dump)
	var body []byte
	switch m.style {
	case "json":
		w.Header().Set("Content-Type", "application/json")
		body, _ = json.Marshal(map[string]string{"result": "fail", "msg": echo, "error": echo, "detail": echo, "message": echo, "code": "40005"})
	case "xml":
		w.Header().Set("Content-Type", "text/xml; charset=utf-8")
		var esc bytes.Buffer
		_ = xml.EscapeText(&esc, []byte(echo))
		body = []byte(`<?xml version="1.0" encoding="utf-8"?><response><result-code fatal="true" message="` + esc.String() + `">300</result-code></response>`)
	case "html":
		w.Header().Set("Content-Type", "text/html")
		body = []byte("<!DOCTYPE html><html><head><title>" + echo + "</title></head><body><pre>" + echo + "</pre></body></html>")
	default:
		w.Header().Set("Content-Type", "text/plain")
		body = []byte(echo)
	}
	w.WriteHeader(m.status)
	_, _ = w.Write(body)
}

// echoCall is one write or read of a client, made fresh for the call.
type echoCall struct {
	provider, op string
	secrets      []string
	call         func(ctx context.Context, opts []payments.Option) (io.Closer, error)
}

// TestEchoedRequestsNeverReachAnError sends one write and one read of every
// client to the echo server answering 400, 403, 500 and a 200 that is no
// success answer, each with the echo in every wrapping, and looks for the
// client's secrets in err.Error(), in %+v of the error and in the attempt
// log of payments.WithLogger.
func TestEchoedRequestsNeverReachAnError(t *testing.T) {
	echo := newEchoServer(t)
	calls, modes := echoCalls(), echoModes()
	for _, m := range modes {
		for _, c := range calls {
			if !m.tokenOK && c.provider != "paykeeper" {
				continue
			}
			name := fmt.Sprintf("%s.%s/%d-%s", c.provider, c.op, m.status, m.style)
			switch {
			case m.tokenTruncated:
				name += "-token-truncated"
			case !m.tokenOK:
				name += "-token-echoed"
			}
			t.Run(name, func(t *testing.T) {
				echo.set(m)
				var logs bytes.Buffer
				logger := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
				cl, err := c.call(context.Background(), echo.options(c.provider, payments.WithLogger(logger)))
				if cl != nil {
					defer cl.Close()
				}
				if err == nil {
					t.Fatalf("no error for an echo answered %d", m.status)
				}
				assertNoLeak(t, "err.Error()", err.Error(), c.secrets)
				assertNoLeak(t, "%+v of the error", fmt.Sprintf("%+v", err), c.secrets)
				assertNoLeak(t, "the WithLogger log", logs.String(), c.secrets)
			})
		}
	}
}

// closer is c as an io.Closer, or nil when its package has no Close.
func closer(c any) io.Closer {
	cl, _ := c.(io.Closer)
	return cl
}

// formSigner is a PayKeeper form signer holding probeSeed as its secret.
func formSigner(t *testing.T) *paykeeper.FormSigner {
	s, err := paykeeper.NewFormSigner("https://demo.server.paykeeper.ru", probeSeed)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// probeKey is a card-sealing key the probe looks for in every output.
var probeKey = []byte("0123456789abcdef0123456789ABCDEF")

func probeAESGCM(t *testing.T) *ledger.AESGCM {
	a, err := ledger.NewAESGCM("k1", map[string][]byte{"k1": probeKey})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// echoCalls are one write and one read of every provider's client, each
// with the secrets it holds.
func echoCalls() []echoCall {
	basic := basicToken(probeLogin, probePassword)
	return []echoCall{
		{"popolni", "Pay", []string{probePassword, basic, probeCard, probeCardMiddle}, func(ctx context.Context, o []payments.Option) (io.Closer, error) {
			c, err := popolni.New(popolni.Credentials{Login: probeLogin, Password: probePassword}, o...)
			if err != nil {
				return nil, err
			}
			_, err = c.Pay(ctx, []popolni.Payment{{ID: 1000000001, Amount: 500, Account: probeCard}})
			return c, err
		}},
		{"popolni", "Balance", []string{probePassword, basic}, func(ctx context.Context, o []payments.Option) (io.Closer, error) {
			c, err := popolni.New(popolni.Credentials{Login: probeLogin, Password: probePassword}, o...)
			if err != nil {
				return nil, err
			}
			_, err = c.Balance(ctx)
			return c, err
		}},
		{"qiwitopup", "PayCard", []string{probePassword, probeCard, probeCardMiddle}, func(ctx context.Context, o []payments.Option) (io.Closer, error) {
			c, err := qiwitopup.New(qiwitopup.PasswordAuth(probeTerminal, probePassword), o...)
			if err != nil {
				return nil, err
			}
			_, err = c.PayCard(ctx, qiwitopup.CardPayment{Common: qiwitopup.Common{TransactionNumber: "1001", Amount: 10000}, CardNumber: probeCard})
			return closer(c), err
		}},
		{"qiwitopup", "Ping", []string{probePassword}, func(ctx context.Context, o []payments.Option) (io.Closer, error) {
			c, err := qiwitopup.New(qiwitopup.PasswordAuth(probeTerminal, probePassword), o...)
			if err != nil {
				return nil, err
			}
			_, err = c.Ping(ctx)
			return closer(c), err
		}},
		{"paykeeper", "CapturePayment", []string{probePassword, basic, probePKToken}, func(ctx context.Context, o []payments.Option) (io.Closer, error) {
			c, err := paykeeper.New(paykeeper.Credentials{User: probeLogin, Password: probePassword}, o...)
			if err != nil {
				return nil, err
			}
			return closer(c), c.CapturePayment(ctx, "301")
		}},
		{"paykeeper", "GetPayment", []string{probePassword, basic, probePKToken}, func(ctx context.Context, o []payments.Option) (io.Closer, error) {
			c, err := paykeeper.New(paykeeper.Credentials{User: probeLogin, Password: probePassword}, o...)
			if err != nil {
				return nil, err
			}
			_, err = c.GetPayment(ctx, "301")
			return closer(c), err
		}},
		{"royalpay", "CreatePayment", []string{probeRPToken}, func(ctx context.Context, o []payments.Option) (io.Closer, error) {
			c, err := royalpay.New(royalpay.Credentials{Token: probeRPToken}, o...)
			if err != nil {
				return nil, err
			}
			_, err = c.CreatePayment(ctx, royalpay.CreateParams{Sum: payments.MustDecimal("1500.00"), Type: royalpay.TypeCard, OutterID: "order-1"})
			return closer(c), err
		}},
		{"royalpay", "GetPayment", []string{probeRPToken}, func(ctx context.Context, o []payments.Option) (io.Closer, error) {
			c, err := royalpay.New(royalpay.Credentials{Token: probeRPToken}, o...)
			if err != nil {
				return nil, err
			}
			_, err = c.GetPayment(ctx, 1)
			return closer(c), err
		}},
	}
}

// echoModes are the echo server's answers the probe sends each call to:
// 400, 403, 500 and a 200 that is no success answer, each with the echo in
// every wrapping, and PayKeeper's token route echoed and cut short.
func echoModes() []echoMode {
	var modes []echoMode
	for _, status := range []int{400, 403, 500, 200} {
		for _, style := range []string{"text", "json", "xml", "html"} {
			modes = append(modes, echoMode{status: status, style: style, tokenOK: true})
		}
	}
	// PayKeeper's token route itself echoed, and cut short with the token in it.
	modes = append(modes, echoMode{status: 500, style: "json"}, echoMode{status: 200, style: "json"},
		echoMode{status: 200, style: "text"}, echoMode{status: 500, style: "text", tokenTruncated: true})
	return modes
}
