package popolni

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/jarcoal/httpmock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/paysdk/payments"
)

// The secrets of these tests: only letters, digits and '-', so that no
// escaping (JSON, URL, %q) can hide one from a plain search.
const (
	secretLogin    = "partner"
	secretPassword = "Hunter2-Secret-Pw"
	// secretCard passes the Luhn check; masked it is 553691******7369, so
	// its middle digits 379182 must never show.
	secretCard       = "5536913791827369"
	secretCardMiddle = "379182"
	secretCardMasked = "553691******7369"
)

// forbidden is what no text may hold: the password, the Basic token, the
// card number and its middle digits, each also hex-encoded (what %x of a raw
// struct prints).
func forbidden() []string {
	tok := base64.StdEncoding.EncodeToString([]byte(secretLogin + ":" + secretPassword))
	var out []string
	for _, s := range []string{secretPassword, tok, secretCard, secretCardMiddle} {
		out = append(out, s, hex.EncodeToString([]byte(s)), strings.ToUpper(hex.EncodeToString([]byte(s))))
	}
	return out
}

// show is fmt.Sprintf of one value, out of vet's sight: these tests print
// values with verbs vet would refuse for their types.
func show(verb string, v any) string { return fmt.Sprintf(verb, v) }

func assertClean(t *testing.T, what, text string) {
	t.Helper()
	for _, s := range forbidden() {
		if strings.Contains(text, s) {
			t.Errorf("%s shows %q: %s", what, s, text)
		}
	}
}

// TestNoVerbPrintsASecretOrACardNumber prints every popolni type that holds
// a secret or an account with every fmt verb, inside a struct, and through
// slog's text and JSON handlers.
func TestNoVerbPrintsASecretOrACardNumber(t *testing.T) {
	cred := Credentials{Login: secretLogin, Password: secretPassword}
	c, err := New(cred, payments.WithTransport(httpmock.NewMockTransport()), payments.WithTestTiming())
	require.NoError(t, err)
	p := Payment{ID: 1000000002, Amount: 2000, Account: secretCard, TemplateID: 7, NoticePhone: "380501234567"}
	values := map[string]any{
		"Credentials":  cred,
		"*Credentials": &cred,
		"Payment":      p,
		"*Payment":     &p,
		"[]Payment":    []Payment{p},
		"*Client":      c,
		"Client":       *c,
		"copy":         c.WithPollInterval(1),
		"map":          map[string]any{"c": c, "cred": cred, "p": p},
	}
	verbs := []string{"%v", "%+v", "%#v", "%s", "%d", "%x", "%X", "%q", "%10.3s", "%-v", "% x"}
	for name, v := range values {
		for _, verb := range verbs {
			assertClean(t, verb+" of "+name, show(verb, v))
		}
		embedded := struct {
			Name  string
			Value any
		}{name, v}
		assertClean(t, "%+v of a struct holding "+name, fmt.Sprintf("%+v", embedded))
		assertClean(t, "%d of a struct holding "+name, show("%d", embedded))

		// slog resolves LogValue on an attribute's value; the text handler
		// prints what it holds with %+v. The JSON handler json.Marshals a
		// slice, map or struct holding one without asking LogValue: Payment
		// has MarshalJSON for that (a logged batch), Credentials on purpose
		// not (encoding them to JSON is how a config file is written).
		var text, js bytes.Buffer
		slog.New(slog.NewTextHandler(&text, nil)).Info("value", "v", v, "in", embedded)
		assertClean(t, "slog text of "+name, text.String())
		if name != "map" { // it holds Credentials: see above
			slog.New(slog.NewJSONHandler(&js, nil)).Info("value", "v", v)
			assertClean(t, "slog JSON of "+name, js.String())
		}
	}

	// What they do show: enough to recognise the value.
	assert.Equal(t, "popolni.Payment{ID: 1000000002, Amount: 2000, Account: "+secretCardMasked+", TemplateID: 7, NoticePhone: 380501234567}", fmt.Sprint(p))
	assert.Equal(t, fmt.Sprint(p), show("%d", p), "%d prints what %v prints")
	assert.Equal(t, `"`+fmt.Sprint(p)+`"`, fmt.Sprintf("%q", p))
	assert.Equal(t, "popolni.Credentials{Login: partner, Password: [REDACTED]}", show("%d", cred))
	assert.Equal(t, "popolni.Client{Login: partner, URL: https://popolni.club/api}", show("%s", c))
	assert.Equal(t, fmt.Sprint(c), fmt.Sprintf("%#v", *c))
	var js bytes.Buffer
	slog.New(slog.NewJSONHandler(&js, nil)).Info("pay", "payment", p, "client", c)
	assert.Contains(t, js.String(), `"payment":{"id":1000000002,"amount":2000,"account":"`+secretCardMasked+`","templateId":7,"noticePhone":"380501234567"}`)
	assert.Contains(t, js.String(), `"client":{"login":"partner","url":"https://popolni.club/api"}`)
	b, err := json.Marshal(struct{ Batch []Payment }{[]Payment{p}})
	require.NoError(t, err)
	assert.Equal(t, `{"Batch":[{"id":1000000002,"amount":2000,"account":"`+secretCardMasked+`","templateId":7,"noticePhone":"380501234567"}]}`, string(b))
	var nilClient *Client
	assert.Equal(t, "<nil>", fmt.Sprint(nilClient))
}
