package transport

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/go-resty/resty/v2"
	"github.com/jarcoal/httpmock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/paysdk/payments"
)

func TestReadCapped(t *testing.T) {
	body := "0123456789"
	for _, tc := range []struct {
		name    string
		r       io.Reader
		size    int64
		max     int64
		want    string
		tooMany bool
	}{
		{"announced", strings.NewReader(body), 10, 100, body, false},
		{"unknown length", strings.NewReader(body), -1, 100, body, false},
		{"announced less than sent", strings.NewReader(body), 3, 100, body, false},
		{"announced more than sent", strings.NewReader(body), 50, 100, body, false},
		{"exactly the cap", strings.NewReader(body), 10, 10, body, false},
		{"one over the cap", strings.NewReader(body), 10, 9, "", true},
		{"over the cap, announced small", strings.NewReader(body), 2, 9, "", true},
		{"over the cap, unknown length", iotest.OneByteReader(strings.NewReader(body)), -1, 9, "", true},
		{"one byte at a time", iotest.OneByteReader(strings.NewReader(body)), 10, 10, body, false},
		{"empty", strings.NewReader(""), 0, 10, "", false},
		{"long, unknown length", strings.NewReader(strings.Repeat(body, 300)), -1, 1 << 20, strings.Repeat(body, 300), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := readCapped(tc.r, tc.size, tc.max)
			if tc.tooMany {
				assert.ErrorIs(t, err, errTooLarge)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, string(got))
		})
	}
	cut := errors.New("connection cut")
	_, err := readCapped(io.MultiReader(strings.NewReader(body), iotest.ErrReader(cut)), 20, 100)
	assert.ErrorIs(t, err, cut, "a body cut short is an error, not a short answer")
}

// The Accept header a request carries is the one resty would have added on
// its own: the Content-Type of a JSON or XML body, nothing for another, and
// an Accept the provider set is kept.
func TestAcceptAsResty(t *testing.T) {
	for _, ct := range []string{"application/json", "application/json; charset=utf-8", "application/xml; charset=utf-8",
		"text/xml", "APPLICATION/JSON", "application/problem+json", "application/x-www-form-urlencoded", "text/plain",
		"application/jſon", "application/octet-stream", ""} {
		for _, preset := range []string{"", "text/html"} {
			mock := httpmock.NewMockTransport()
			var got http.Header
			mock.RegisterResponder("POST", "https://api.example.test/api", func(r *http.Request) (*http.Response, error) {
				got = r.Header.Clone()
				return httpmock.NewStringResponse(200, "ok"), nil
			})
			c, err := New(Config{Provider: "test", DefaultBaseURL: "https://api.example.test/api", Auth: BasicAuth("u", "p")},
				payments.WithTransport(mock), payments.WithLimiter(payments.Unlimited()))
			require.NoError(t, err)
			r := &Request{Op: "op", Method: "POST", ContentType: ct, Body: []byte("{}")}
			if preset != "" {
				r.Header = http.Header{"Accept": {preset}}
			}
			_, err = c.Do(context.Background(), r)
			require.NoError(t, err)
			want := []string(nil)
			switch {
			case preset != "":
				want = []string{preset}
			case ct != "" && (resty.IsJSONType(ct) || resty.IsXMLType(ct)):
				want = []string{ct}
			}
			assert.Equal(t, want, got.Values("Accept"), "Content-Type %q, Accept given %q", ct, preset)
			assert.Equal(t, []string{"Basic dTpw"}, got.Values("Authorization"))
			assert.Equal(t, []string{DefaultUserAgent}, got.Values("User-Agent"))
		}
	}
}

// The URL of a request without a path is the one the general path writes.
func TestURLWithoutPath(t *testing.T) {
	for _, base := range []string{"https://api.example.test/api", "https://api.example.test", "https://api.example.test/",
		"https://api.example.test:8443/x%20y/topup.jsp", "https://[::1]:443/a"} {
		c, err := New(Config{Provider: "test", DefaultBaseURL: base}, payments.WithLimiter(payments.Unlimited()))
		require.NoError(t, err)
		for _, q := range []string{"", "balance=", "a=1&b=%20"} {
			r := &Request{RawQuery: q}
			u := *c.base
			u.RawQuery = q
			assert.Equal(t, u.String(), c.url(r), "base %q query %q", base, q)
		}
	}
}

// Each attempt reads the same body into a buffer of its own.
func TestBodyNotShared(t *testing.T) {
	mock := httpmock.NewMockTransport()
	mock.RegisterResponder("POST", "https://api.example.test/api", httpmock.NewBytesResponder(200, []byte("answer")))
	c, err := New(Config{Provider: "test", DefaultBaseURL: "https://api.example.test/api"},
		payments.WithTransport(mock), payments.WithLimiter(payments.Unlimited()))
	require.NoError(t, err)
	a, err := c.Do(context.Background(), &Request{Op: "op", Method: "POST", Body: []byte("x")})
	require.NoError(t, err)
	a.Body[0] = 'X'
	b, err := c.Do(context.Background(), &Request{Op: "op", Method: "POST", Body: []byte("x")})
	require.NoError(t, err)
	assert.True(t, bytes.Equal([]byte("answer"), b.Body))
}
