package paykeeper

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/paysdk/payments"
)

const formSecret = "form-s3cret"

func demoForm() Form {
	return Form{Amount: payments.MustDecimal("990"), ClientID: "Иванов Иван", OrderID: "A-1003", ServiceName: "Подписка на месяц",
		Email: "client@example.com", Phone: "+79161234567", Lang: "ru", UserResultCallback: "https://shop.example/done",
		Cart: []CartItem{{Name: "Подписка", Price: payments.MustDecimal("990"), Quantity: payments.MustDecimal("1"), Sum: payments.MustDecimal("990"), Tax: "none"}}}
}

// fixtureValues reads a request fixture: a JSON object of form fields.
func fixtureValues(t *testing.T, name string) url.Values {
	t.Helper()
	var m map[string]string
	require.NoError(t, json.Unmarshal([]byte(fixture(t, name)), &m))
	v := url.Values{}
	for k, x := range m {
		v.Set(k, x)
	}
	return v
}

// The signed form matches the fixture field for field, and its sign is the
// one computed by hand: renaming, dropping or reordering a field fails here.
func TestFormValuesMatchTheFixture(t *testing.T) {
	s, err := NewFormSigner("https://demo.server.paykeeper.ru/create/", formSecret)
	require.NoError(t, err)
	v, err := s.Values(demoForm())
	require.NoError(t, err)
	assert.Equal(t, fixtureValues(t, "form_create_request.json"), v)

	byHand := sha256.Sum256([]byte("990.00" + "Иванов Иван" + "A-1003" + "Подписка на месяц" + "client@example.com" + "+79161234567" + "form-s3cret"))
	assert.Equal(t, hex.EncodeToString(byHand[:]), v.Get("sign"))
	assert.Equal(t, "fb1c8a8f0149b8b42bb643705c36bf982923ea776b7786dd2519dc9111eb8ab3", v.Get("sign"))

	link, err := s.URL(demoForm())
	require.NoError(t, err)
	u, err := url.Parse(link)
	require.NoError(t, err)
	assert.Equal(t, "https://demo.server.paykeeper.ru/create/", s.Action())
	assert.Equal(t, "demo.server.paykeeper.ru", u.Host)
	assert.Equal(t, "/create/", u.Path)
	assert.Equal(t, v, u.Query())

	page, err := s.HTML(demoForm(), "Оплатить <сейчас>")
	require.NoError(t, err)
	assert.Contains(t, page, `action="https://demo.server.paykeeper.ru/create/"`)
	assert.Contains(t, page, `name="sign" value="fb1c8a8f0149b8b42bb643705c36bf982923ea776b7786dd2519dc9111eb8ab3"`)
	assert.Contains(t, page, "Оплатить &lt;сейчас&gt;")
	assert.NotContains(t, page, formSecret)
}

// Empty optional fields are still signed (as empty strings) and sent.
func TestFormSignsEmptyFields(t *testing.T) {
	s, err := NewFormSigner("https://demo.server.paykeeper.ru", formSecret)
	require.NoError(t, err)
	v, err := s.Values(Form{Amount: payments.MustDecimal("10.5"), OrderID: "1"})
	require.NoError(t, err)
	h := sha256.Sum256([]byte("10.50" + "" + "1" + "" + "" + "" + formSecret))
	assert.Equal(t, hex.EncodeToString(h[:]), v.Get("sign"))
	assert.Equal(t, []string{""}, v["client_email"])
	assert.NotContains(t, v, "cart")
	assert.NotContains(t, v, "lang")
}

func TestFormRefusesBadInputBeforeSigning(t *testing.T) {
	for name, f := range map[string]Form{
		"zero":          {OrderID: "1"},
		"negative":      {Amount: payments.MustDecimal("-1"), OrderID: "1"},
		"three places":  {Amount: payments.MustDecimal("1.005"), OrderID: "1"},
		"no order":      {Amount: payments.MustDecimal("1")},
		"long client":   {Amount: payments.MustDecimal("1"), OrderID: "1", ClientID: strings.Repeat("я", 256)},
		"bad utf-8":     {Amount: payments.MustDecimal("1"), OrderID: "1", ServiceName: "\xff"},
		"lang":          {Amount: payments.MustDecimal("1"), OrderID: "1", Lang: "de"},
		"callback":      {Amount: payments.MustDecimal("1"), OrderID: "1", UserResultCallback: "/done"},
		"cart no tax":   {Amount: payments.MustDecimal("1"), OrderID: "1", Cart: []CartItem{{Name: "x", Price: payments.MustDecimal("1"), Quantity: payments.MustDecimal("1"), Sum: payments.MustDecimal("1")}}},
		"cart kopecks3": {Amount: payments.MustDecimal("1"), OrderID: "1", Cart: []CartItem{{Name: "x", Price: payments.MustDecimal("1.001"), Quantity: payments.MustDecimal("1"), Sum: payments.MustDecimal("1"), Tax: "none"}}},
	} {
		var ve *payments.ValidationError
		assert.ErrorAs(t, f.Validate(), &ve, name)
		s, _ := NewFormSigner("https://demo.server.paykeeper.ru", formSecret)
		v, err := s.Values(f)
		assert.ErrorAs(t, err, &ve, name)
		assert.Nil(t, v, name)
		link, err := s.URL(f)
		assert.ErrorAs(t, err, &ve, name)
		assert.Empty(t, link, name)
	}
	for _, u := range []string{"http://demo.server.paykeeper.ru", "demo.server.paykeeper.ru", "https://", "https://u:p@demo.server.paykeeper.ru", "https://x/?a=1", "::"} {
		_, err := NewFormSigner(u, formSecret)
		var ve *payments.ValidationError
		assert.ErrorAs(t, err, &ve, u)
	}
	_, err := NewFormSigner("https://demo.server.paykeeper.ru", "")
	var ve *payments.ValidationError
	assert.ErrorAs(t, err, &ve)
}

func TestFormSignerURLIsNormalised(t *testing.T) {
	for in, want := range map[string]string{
		"https://a.server.paykeeper.ru":          "https://a.server.paykeeper.ru/create/",
		"https://a.server.paykeeper.ru/":         "https://a.server.paykeeper.ru/create/",
		"https://a.server.paykeeper.ru/create":   "https://a.server.paykeeper.ru/create/",
		"https://a.server.paykeeper.ru/create/":  "https://a.server.paykeeper.ru/create/",
		"https://a.server.paykeeper.ru/order/":   "https://a.server.paykeeper.ru/create/",
		"https://bank.example/pk/":               "https://bank.example/pk/create/",
		" https://a.server.paykeeper.ru:40403/ ": "https://a.server.paykeeper.ru:40403/create/",
	} {
		s, err := NewFormSigner(in, formSecret)
		require.NoError(t, err, in)
		assert.Equal(t, want, s.Action(), in)
	}
}

func TestFormSignerNeverPrintsTheSecret(t *testing.T) {
	s, err := NewFormSigner("https://demo.server.paykeeper.ru", formSecret)
	require.NoError(t, err)
	var b strings.Builder
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%d", "%x", "%q"} {
		fmt.Fprintf(&b, verb+"\n", s)
		fmt.Fprintf(&b, verb+"\n", *s)
	}
	slog.New(slog.NewJSONHandler(&b, nil)).Info("signer", "s", s, "v", *s)
	slog.New(slog.NewTextHandler(&b, nil)).Info("signer", "s", s)
	assert.NotContains(t, b.String(), formSecret)
	assert.NotContains(t, b.String(), fmt.Sprintf("%x", formSecret))
	assert.Contains(t, b.String(), "demo.server.paykeeper.ru")
}

// FuzzFormSigner: any field values either are refused with a
// *payments.ValidationError or give a form whose sign is the hash of its
// own fields, that never holds the secret apart from inside the sign input.
func FuzzFormSigner(f *testing.F) {
	f.Add("990", "Иванов Иван", "A-1003", "Подписка", "a@example.com", "+7916", "ru", "https://shop.example/done")
	f.Add("0.001", "", "", "", "", "", "de", "/x")
	f.Add("1e3", "\xff", "1", "", "", "", "", "")
	s, err := NewFormSigner("https://demo.server.paykeeper.ru", formSecret)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, amount, client, order, service, email, phone, lang, callback string) {
		d, err := payments.ParseDecimal(amount)
		if err != nil {
			return
		}
		form := Form{Amount: d, ClientID: client, OrderID: order, ServiceName: service, Email: email, Phone: phone, Lang: lang, UserResultCallback: callback}
		v, err := s.Values(form)
		if err != nil {
			var ve *payments.ValidationError
			if !assert.ErrorAs(t, err, &ve) || strings.Contains(err.Error(), formSecret) {
				t.Fatalf("not a clean ValidationError: %v", err)
			}
			return
		}
		h := sha256.Sum256([]byte(v.Get("sum") + v.Get("clientid") + v.Get("orderid") + v.Get("service_name") + v.Get("client_email") + v.Get("client_phone") + formSecret))
		if v.Get("sign") != hex.EncodeToString(h[:]) || v.Get("orderid") != order || v.Get("clientid") != client {
			t.Fatalf("sign or fields wrong: %v", v)
		}
		if sum, err := payments.ParseDecimal(v.Get("sum")); err != nil || !sum.Equal(d) || len(v.Get("sum")) < 4 || v.Get("sum")[len(v.Get("sum"))-3] != '.' {
			t.Fatalf("sum %q is not %s with two decimals", v.Get("sum"), amount)
		}
	})
}
