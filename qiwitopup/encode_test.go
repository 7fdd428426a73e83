package qiwitopup

import (
	"bytes"
	"context"
	"encoding/xml"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jarcoal/httpmock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/paysdk/payments"
)

func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	require.NoError(t, err)
	return b
}

type capture struct {
	urls   []string
	bodies [][]byte
	header []http.Header
}

// mockClient answers every request with answer and records what was sent.
func mockClient(t testing.TB, auth Auth, status int, answer []byte) (*Client, *capture) {
	t.Helper()
	mock := httpmock.NewMockTransport()
	cp := &capture{}
	mock.RegisterNoResponder(func(r *http.Request) (*http.Response, error) {
		b, _ := io.ReadAll(r.Body)
		cp.urls = append(cp.urls, r.URL.String())
		cp.bodies = append(cp.bodies, b)
		cp.header = append(cp.header, r.Header.Clone())
		return httpmock.NewBytesResponse(status, answer), nil
	})
	c, err := New(auth, payments.WithTransport(mock), payments.WithLimiter(payments.Unlimited()),
		payments.WithRetry(payments.RetryPolicy{MaxAttempts: 3, BaseDelay: time.Millisecond, MaxDelay: time.Millisecond}))
	require.NoError(t, err)
	return c, cp
}

// tokens is an XML document as its elements, attributes and non-blank
// text: what two documents that differ only in indentation share.
func tokens(t *testing.T, doc []byte) []string {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(doc))
	var out []string
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return out
		}
		require.NoError(t, err)
		switch v := tok.(type) {
		case xml.StartElement:
			s := "<" + v.Name.Local
			for _, a := range v.Attr {
				s += " " + a.Name.Local + "=" + a.Value
			}
			out = append(out, s)
		case xml.EndElement:
			out = append(out, "</"+v.Name.Local)
		case xml.CharData:
			if s := strings.TrimSpace(string(v)); s != "" {
				out = append(out, s)
			}
		}
	}
}

func TestRequestsAreTheDocumentsExamples(t *testing.T) {
	ctx := context.Background()
	common := Common{TransactionNumber: "12345678", Amount: 111500}
	cases := []struct {
		fixture   string
		password  string
		terminal  string
		byteExact bool // the example's indentation is the one we write
		call      func(c *Client) error
		fix       func(string) string // fills the document's masked digits
	}{
		{"topup_en_01_request.xml", "***", "123", true, func(c *Client) error {
			_, err := c.PayWallet(ctx, WalletPayment{Common: common, Phone: "79181234567", NonCash: true})
			return err
		}, nil},
		{"topup_ru_01_request.xml", "***", "123", false, func(c *Client) error {
			_, err := c.PayWallet(ctx, WalletPayment{Common: common, Phone: "79181234567", NonCash: true})
			return err
		}, nil},
		{"topup_card_ru_01_request.xml", "***", "123", true, func(c *Client) error {
			_, err := c.PayCard(ctx, CardPayment{Common: common, CardNumber: "4265111122334411"})
			return err
		}, nil},
		{"topup_card_spec_ru_01_request.xml", "***", "123", true, func(c *Client) error {
			_, err := c.PayCardSpec(ctx, CardSpecPayment{Common: common, Phone: "+79991112233", CardNumber: "4265111122334411"})
			return err
		}, nil},
		{"topup_sbp_ru_01_request.xml", "***", "123", true, func(c *Client) error {
			_, err := c.PaySBP(ctx, SBPPayment{Common: Common{TransactionNumber: "12345678", Amount: 1000703}, Phone: "70070310009", BankID: "100000000008"})
			return err
		}, nil},
		{"topup_mobile_ru_01_request.xml", "***", "123", false, func(c *Client) error {
			_, err := c.PayMobile(ctx, MobilePayment{Common: Common{TransactionNumber: "12345678", Amount: 11500}, Phone: "79881111234", ProviderID: 2, LocalPhone: "9881111234"})
			return err
		}, func(s string) string { return strings.ReplaceAll(s, "****", "1234") }},
		{"topup-status_en_01_request.xml", "XXXXXX", "123", false, func(c *Client) error {
			_, err := c.Status(ctx, StatusQuery{TransactionNumber: "12345678", Account: "79181234567"})
			return err
		}, nil},
		{"check-deposit_en_01_request.xml", "XXXXX", "123", true, func(c *Client) error {
			_, err := c.CheckDepositPossible(ctx, "79031234567", true, "")
			return err
		}, nil},
		{"check-user_ru_01_request.xml", "XXXXX", "123", true, func(c *Client) error {
			_, err := c.CheckUser(ctx, "79031234567", "RUB")
			return err
		}, nil},
		{"get-balance_en_01_request.xml", "password", "44", false, func(c *Client) error {
			_, err := c.Ping(ctx)
			return err
		}, nil},
		{"topup_mobile_ru_04_request.xml", "***", "123", false, func(c *Client) error {
			_, err := c.ProviderByPhone(ctx, "9161234567")
			return err
		}, func(s string) string {
			return strings.ReplaceAll(strings.ReplaceAll(s, "<terminal-id>***", "<terminal-id>123"), "916*******", "9161234567")
		}},
	}
	for _, tc := range cases {
		c, cp := mockClient(t, PasswordAuth(tc.terminal, tc.password), 200, []byte(`<response><result-code fatal="false">1</result-code></response>`))
		_ = tc.call(c)
		require.NotEmpty(t, cp.bodies, tc.fixture)
		want := string(fixture(t, tc.fixture))
		if tc.fix != nil {
			want = tc.fix(want)
		}
		got := string(cp.bodies[0])
		assert.Equal(t, tokens(t, []byte(want)), tokens(t, []byte(got)), "%s: same elements, attributes and order", tc.fixture)
		if tc.byteExact {
			assert.Equal(t, want, got, "%s: byte for byte", tc.fixture)
		}
		assert.Equal(t, "application/xml; charset=utf-8", cp.header[0].Get("Content-Type"))
	}
}

func TestProviderLookupGoesToXmlcp(t *testing.T) {
	c, cp := mockClient(t, PasswordAuth("123", "pw"), 200, fixture(t, "topup_mobile_ru_05_response.xml"))
	id, err := c.ProviderByPhone(context.Background(), "9161234567")
	require.NoError(t, err)
	assert.Equal(t, int64(42), id)
	assert.Equal(t, "https://api.qiwi.com/xml/xmlcp.jsp", cp.urls[0])
}

func TestPasswordIsEscaped(t *testing.T) {
	c, cp := mockClient(t, PasswordAuth("123", `a&b<c>"d`), 200, fixture(t, "get-balance_en_02_response.xml"))
	_, err := c.Ping(context.Background())
	require.NoError(t, err)
	assert.Contains(t, string(cp.bodies[0]), `<extra name="password">a&amp;b&lt;c&gt;&#34;d</extra>`)
}
