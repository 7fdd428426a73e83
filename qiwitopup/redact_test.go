package qiwitopup

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"html"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/jarcoal/httpmock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/paysdk/payments"
)

const (
	testPassword = `S3cret-Pw"<&>'x`
	testCard     = "4265111122334411"
	testCard12   = "676767676767"
)

// renderings is v through every fmt verb and both slog handlers.
func renderings(v any) map[string]string {
	out := map[string]string{}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%d", "%x", "%X", "%q", "%10.3v", "%T"} {
		out[verb] = fmt.Sprintf(verb, v)
	}
	var text, js bytes.Buffer
	slog.New(slog.NewTextHandler(&text, nil)).Info("m", "v", v)
	slog.New(slog.NewJSONHandler(&js, nil)).Info("m", "v", v)
	out["slog text"], out["slog json"] = text.String(), js.String()
	return out
}

// leaks returns the forms of secret found in s: as is, hex (%x, %X), and
// the card's first 7 or last 5 digits (more than MaskPAN shows).
func leaks(s, secret string) []string {
	var found []string
	forms := []string{secret, hex.EncodeToString([]byte(secret)), strings.ToUpper(hex.EncodeToString([]byte(secret))),
		fmt.Sprintf("%q", secret)[1 : len(fmt.Sprintf("%q", secret))-1], html.EscapeString(secret)}
	if regexp.MustCompile(`^\d{12,19}$`).MatchString(secret) {
		forms = append(forms, secret[:7], secret[len(secret)-5:])
	}
	for _, f := range forms {
		if strings.Contains(s, f) {
			found = append(found, f)
		}
	}
	return found
}

func TestNoSecretInAnyRendering(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 1024)
	require.NoError(t, err)
	cert := tls.Certificate{Certificate: [][]byte{{1, 2, 3}}, PrivateKey: key}
	client, err := New(PasswordAuth("123", testPassword), payments.WithTransport(httpmock.NewMockTransport()))
	require.NoError(t, err)
	certClient, err := New(CertificateAuth("123", cert, nil, testPassword))
	require.NoError(t, err)
	sigClient, err := New(SignatureAuth("123", key, ""), payments.WithTransport(httpmock.NewMockTransport()))
	require.NoError(t, err)
	common := Common{TransactionNumber: "12345678", Amount: 100}
	paid := Payment{TransactionNumber: "12345678", TxnID: "1", Status: 60, Account: testCard, Extras: map[string]string{"account1": testCard},
		Message: "card " + testCard}

	values := map[string]any{
		"*Client":          client,
		"Client":           *client,
		"*Client cert":     certClient,
		"*Client sig":      sigClient,
		"Auth":             PasswordAuth("123", testPassword),
		"*Auth":            ptr(PasswordAuth("123", testPassword)),
		"Auth cert":        CertificateAuth("123", cert, nil, testPassword),
		"Auth sig":         SignatureAuth("123", key, ""),
		"CardPayment":      CardPayment{Common: common, CardNumber: testCard},
		"*CardPayment":     &CardPayment{Common: common, CardNumber: testCard},
		"CardPayment 12":   CardPayment{Common: common, CardNumber: testCard12},
		"CardSpecPayment":  CardSpecPayment{Common: common, Phone: "+79991112233", CardNumber: testCard},
		"*CardSpecPayment": &CardSpecPayment{Common: common, Phone: "+79991112233", CardNumber: testCard},
		"Payment":          paid,
		"*Payment":         &paid,
		"StatusQuery":      StatusQuery{TransactionNumber: "12345678", Account: testCard},
		"*StatusQuery":     &StatusQuery{TransactionNumber: "12345678", Account: testCard},
		"StatusResult":     StatusResult{TransactionNumber: "12345678", Found: true, Payment: paid},
		"[]StatusResult":   []StatusResult{{TransactionNumber: "12345678", Found: true, Payment: paid}},
	}
	for name, v := range values {
		for how, s := range renderings(v) {
			if name == "[]StatusResult" && how == "slog json" {
				continue // slog marshals a slice with encoding/json, no LogValue inside (see the report)
			}
			for _, secret := range []string{testPassword, testCard, testCard12, key.D.String()[:20], key.D.Text(16)[:20]} {
				assert.Empty(t, leaks(s, secret), "%s through %s: %s", name, how, s)
			}
		}
	}
	var nilClient *Client
	assert.Equal(t, "<nil>", fmt.Sprintf("%v", nilClient))
	assert.Contains(t, renderings(nilClient)["slog text"], "qiwitopup.Client(nil)")

	// What stays visible: who it is, and the masked card.
	assert.Contains(t, fmt.Sprintf("%d", values["CardPayment"]), "426511******4411")
	assert.Contains(t, renderings(values["CardSpecPayment"])["slog json"], "426511******4411")
	assert.Contains(t, fmt.Sprintf("%+v", client), "terminal 123")
	assert.Contains(t, fmt.Sprintf("%#v", client), "[REDACTED]")
	assert.Contains(t, renderings(client)["slog text"], "[REDACTED]")
}

func ptr[T any](v T) *T { return &v }

// echo answers every request with what it received, in the ways a server
// or proxy that quotes the request into its error could.
func echoClient(t *testing.T, answer func(req string) (int, string)) *Client {
	t.Helper()
	mock := httpmock.NewMockTransport()
	mock.RegisterNoResponder(func(r *http.Request) (*http.Response, error) {
		b, _ := io.ReadAll(r.Body)
		status, body := answer(string(b))
		return httpmock.NewStringResponse(status, body), nil
	})
	c, err := New(PasswordAuth("123", testPassword), payments.WithTransport(mock), payments.WithTestTiming())
	require.NoError(t, err)
	return c
}

// attr escapes s for a single-quoted XML attribute.
func attr(s string) string { return strings.ReplaceAll(html.EscapeString(s), "'", "&#39;") }

func TestAnEchoingServerPutsNoPasswordIntoAnError(t *testing.T) {
	pw := testPassword
	raw := func(req string) string { return req }
	answers := map[string]func(req string) (int, string){
		"500 echo":          func(req string) (int, string) { return 500, raw(req) },
		"400 echo":          func(req string) (int, string) { return 400, "bad request: " + raw(req) },
		"200 request as is": func(req string) (int, string) { return 200, raw(req) },
		"200 code message": func(req string) (int, string) {
			return 200, `<response><result-code fatal="false" message='` + attr(req) + `'>300</result-code></response>`
		},
		"200 fatal message": func(req string) (int, string) {
			return 200, `<response><result-code fatal="true" message='` + attr(req) + `'>150</result-code></response>`
		},
		"200 password cut in a value": func(req string) (int, string) {
			return 200, `<response><result-code fatal="false">` + strings.Repeat("9", 30) + html.EscapeString(pw) + `</result-code></response>`
		},
		"200 password cut in a status": func(req string) (int, string) {
			return 200, `<response><payment status='` + strings.Repeat("9", 33) + attr(pw) + `' transaction-number='12345678'/></response>`
		},
		"200 payment message": func(req string) (int, string) {
			return 200, `<response><result-code fatal="false">0</result-code><payment status='160' txn_id='1' transaction-number='12345678' result-code='300' message='` +
				attr(req) + `' final-status='true' fatal-error='true' txn-date='02.03.2011 14:35:46'><to><account-number>` + html.EscapeString(pw) +
				`</account-number><extra name="x">` + html.EscapeString(pw) + `</extra></to></payment>` +
				`<exist>1</exist><deposit-possible>0</deposit-possible></response>`
		},
		"200 deposit message": func(req string) (int, string) {
			return 200, `<response><result-code fatal="true" message='` + attr(req) + `'>204</result-code><exist>1</exist><deposit-possible>0</deposit-possible></response>`
		},
	}
	ctx := context.Background()
	for name, answer := range answers {
		c := echoClient(t, answer)
		var texts []string
		keep := func(v any, err error) {
			texts = append(texts, fmt.Sprintf("%+v", v))
			if err != nil {
				texts = append(texts, err.Error(), fmt.Sprintf("%+v", err))
			}
			if p, ok := v.(Payment); ok {
				texts = append(texts, p.Message, p.Account, fmt.Sprint(p.Extras))
				if e := p.Err(); e != nil {
					texts = append(texts, e.Error())
				}
			}
		}
		keep(c.PayWallet(ctx, WalletPayment{Common: Common{TransactionNumber: "12345678", Amount: 100}, Phone: "79181234567"}))
		res, err := c.Status(ctx, StatusQuery{TransactionNumber: "12345678"})
		keep(res, err)
		if len(res) > 0 {
			keep(res[0].Payment, nil)
		}
		dc, err := c.CheckDepositPossible(ctx, "79181234567", true, "")
		keep(dc, err)
		texts = append(texts, dc.Message)
		keep(c.CheckUser(ctx, "79181234567", ""))
		keep(c.Ping(ctx))
		keep(c.ProviderByPhone(ctx, "9161234567"))
		keep(c.Payout(ctx, WalletPayment{Common: Common{TransactionNumber: "12345678", Amount: 100}, Phone: "79181234567"}, PayoutOptions{}))
		for _, s := range texts {
			assert.Empty(t, leaks(s, pw), "%s: %s", name, s)
			assert.NotContains(t, s, pw[:8], "%s: a cut-off password: %s", name, s)
			assert.NotContains(t, s, html.EscapeString(pw)[:12], "%s: a cut-off escaped password: %s", name, s)
		}
	}
}
