package paykeeper

import (
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/paysdk/payments"
)

// Every form address a merchant may copy gives the server's /create/ and
// /order/inline/ actions. Before, ".../order/inline/" gave
// ".../order/inline/create/".
func TestFormActionOfEveryBase(t *testing.T) {
	const server = "https://x.server.paykeeper.ru"
	for _, base := range []string{
		server, server + "/", server + "//",
		server + "/create", server + "/create/",
		server + "/order", server + "/order/",
		server + "/order/inline", server + "/order/inline/",
		"  " + server + "/create/  ",
	} {
		s, err := NewFormSigner(base, formSecret)
		require.NoError(t, err, base)
		assert.Equal(t, server+"/create/", s.Action(), base)
		assert.Equal(t, server+"/order/inline/", s.InlineAction(), base)
	}
	// A white-label host's path prefix is kept; a segment that only starts
	// with "create" or "order" is not cut.
	for base, want := range map[string]string{
		"https://pay.bank.example/pk/create/":        "https://pay.bank.example/pk",
		"https://pay.bank.example/pk/order/inline/":  "https://pay.bank.example/pk",
		"https://pay.bank.example/orders":            "https://pay.bank.example/orders",
		"https://pay.bank.example/creates/":          "https://pay.bank.example/creates",
		"https://pay.bank.example/order/x/create":    "https://pay.bank.example/order/x",
		"https://x.server.paykeeper.ru:8443/create/": "https://x.server.paykeeper.ru:8443",
	} {
		s, err := NewFormSigner(base, formSecret)
		require.NoError(t, err, base)
		assert.Equal(t, want+"/create/", s.Action(), base)
		assert.Equal(t, want+"/order/inline/", s.InlineAction(), base)
	}
	for _, bad := range []string{"http://x.server.paykeeper.ru/create/", "https://x.server.paykeeper.ru/create/?a=1",
		"https://x.server.paykeeper.ru/create/?", "https://u:p@x.server.paykeeper.ru/", "https:x.server.paykeeper.ru", "x.server.paykeeper.ru"} {
		_, err := NewFormSigner(bad, formSecret)
		var ve *payments.ValidationError
		assert.ErrorAs(t, err, &ve, bad)
	}
}

// The inline form carries the fields the modules POST to /order/inline/:
// no sign, the phone under both names, the cart; what they never send is
// refused.
func TestInlineValues(t *testing.T) {
	s, err := NewFormSigner("https://x.server.paykeeper.ru/order/inline/", formSecret)
	require.NoError(t, err)
	f := demoForm()
	f.ServiceName, f.Lang, f.UserResultCallback = "", "", ""
	v, err := s.InlineValues(f)
	require.NoError(t, err)
	assert.Equal(t, []string{"cart", "client_email", "client_phone", "clientid", "orderid", "phone", "sum"}, sortedKeys(v))
	assert.Equal(t, url.Values{"sum": {"990.00"}, "clientid": {"Иванов Иван"}, "orderid": {"A-1003"}, "client_email": {"client@example.com"},
		"client_phone": {"+79161234567"}, "phone": {"+79161234567"}, "cart": {v.Get("cart")}}, v)
	assert.JSONEq(t, `[{"name":"Подписка","price":990,"quantity":1,"sum":990,"tax":"none"}]`, v.Get("cart"))
	for name, mod := range map[string]func(*Form){
		"service name": func(f *Form) { f.ServiceName = "x" },
		"lang":         func(f *Form) { f.Lang = "ru" },
		"return url":   func(f *Form) { f.UserResultCallback = "https://shop.example/" },
		"no order":     func(f *Form) { f.OrderID = "" },
		"bad sum":      func(f *Form) { f.Amount = payments.MustDecimal("0.001") },
	} {
		g := f
		mod(&g)
		_, err := s.InlineValues(g)
		var ve *payments.ValidationError
		assert.ErrorAs(t, err, &ve, name)
	}
}
