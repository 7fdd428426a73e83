package ledgerui_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/paysdk/payments/ledger/ledgerui"
)

// TestXSSAndCardNumbers renders every page over records and notifications
// holding markup and a card number: the markup shows as text, the card
// number masked, with and without Options.Cards.
func TestXSSAndCardNumbers(t *testing.T) {
	s := seeded(t)
	for _, withCards := range []bool{true, false} {
		o := ledgerui.Options{}
		if withCards {
			o.Cards = cards(t)
		}
		h := newHandler(t, s, o)
		pages := map[string]string{}
		for _, p := range []string{"/", "/?fragment=1", "/payout/card-1", "/payout/xss-1", "/payout/old-2",
			"/payout/" + url.PathEscape(xss1), "/payout/" + url.PathEscape(xss2), "/search?ref=" + url.QueryEscape(xss2),
			"/search?ref=" + url.QueryEscape(pan), "/payout/" + pan} {
			_, body := do(t, h, "GET", p)
			pages[p] = body
		}
		for p, body := range pages {
			for _, bad := range []string{"<script>alert", "<img src=x", `"'>`, pan, "4111 1111"} {
				if strings.Contains(body, bad) {
					t.Errorf("cards=%v %s: %q appears unescaped:\n%s", withCards, p, bad, body)
				}
			}
		}
		// the markup is there, as text
		if !strings.Contains(pages["/"], "&lt;script&gt;alert(1)&lt;/script&gt;") || !strings.Contains(pages["/"], "&#34;&#39;&gt;&lt;img src=x onerror=alert(2)&gt;") {
			t.Errorf("cards=%v: the markup does not show as text on the overview", withCards)
		}
		card := pages["/payout/card-1"]
		if withCards {
			if !strings.Contains(card, `<dd class="to">card:411111******1111</dd>`) {
				t.Errorf("the sealed card number is not shown masked:\n%s", between(card, `<dl class="record">`, "</dl>"))
			}
		} else if !strings.Contains(card, `<dd class="to">card:sealed</dd>`) {
			t.Errorf("a sealed card number without Cards does not say sealed:\n%s", between(card, `<dl class="record">`, "</dl>"))
		}
		if !strings.Contains(pages["/"], "pan 411111******1111") {
			t.Error("the notification's card number is not shown masked")
		}
	}
}
