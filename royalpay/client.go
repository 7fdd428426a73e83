package royalpay

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"sort"
	"strings"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/internal/transport"
)

const provider = "royalpay"

// Credentials is the merchant's API token, sent as "Authorization: Token
// <token>". It never prints itself.
type Credentials struct {
	Token string
}

// String hides the token.
func (c Credentials) String() string { return "royalpay.Credentials{Token: [REDACTED]}" }

// GoString hides the token.
func (c Credentials) GoString() string { return c.String() }

// LogValue hides the token.
func (c Credentials) LogValue() slog.Value { return slog.StringValue("[REDACTED]") }

// Client talks to the RoyalPay pay-in API for one merchant token. It is
// immutable and safe for concurrent use.
type Client struct {
	t *transport.Client
}

// New returns a client. The base URL is required (payments.WithBaseURL,
// e.g. "https://royal-finance.org"): the brand has no single public host,
// see the package documentation. New sends nothing.
func New(cred Credentials, opts ...payments.Option) (*Client, error) {
	if strings.TrimSpace(cred.Token) == "" {
		return nil, &payments.ValidationError{Field: "credentials.Token", Reason: "empty"}
	}
	if strings.ContainsAny(cred.Token, "\r\n ") {
		return nil, &payments.ValidationError{Field: "credentials.Token", Reason: "must not contain spaces or line breaks"}
	}
	t, err := transport.New(transport.Config{
		Provider: provider,
		Auth:     transport.SchemeAuth("Token", cred.Token),
		MapError: mapError,
	}, opts...)
	if err != nil {
		return nil, err
	}
	return &Client{t: t}, nil
}

// errorBody is the union of the error shapes the API answers with:
// {"error": "...", "code": 40005} (code a number or a string),
// {"error": {"code": 10401, "msg": "..."}}, DRF's {"detail": "..."}, and
// DRF field-keyed validation maps {"sum": ["..."]}.
func parseErrorBody(body []byte) (code, msg string, ok bool) {
	var m map[string]json.RawMessage
	if json.Unmarshal(body, &m) != nil || m == nil {
		return "", "", false
	}
	var c flex
	if raw, has := m["code"]; has {
		_ = json.Unmarshal(raw, &c)
	}
	if raw, has := m["error"]; has {
		var s string
		if json.Unmarshal(raw, &s) == nil {
			return string(c), s, true
		}
		var nested struct {
			Code flex   `json:"code"`
			Msg  string `json:"msg"`
		}
		if json.Unmarshal(raw, &nested) == nil {
			if nested.Code != "" {
				c = nested.Code
			}
			return string(c), nested.Msg, true
		}
	}
	if raw, has := m["detail"]; has {
		var s string
		if json.Unmarshal(raw, &s) == nil {
			return string(c), s, true
		}
	}
	// Field-keyed validation errors: "sum: ...; type: ...", keys sorted.
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		var list []string
		if json.Unmarshal(m[k], &list) == nil && len(list) > 0 {
			parts = append(parts, k+": "+strings.Join(list, " "))
			continue
		}
		var s string
		if json.Unmarshal(m[k], &s) == nil {
			parts = append(parts, k+": "+s)
		}
	}
	if len(parts) == 0 {
		return string(c), "", false
	}
	return string(c), strings.Join(parts, "; "), true
}

// mapError turns a non-2xx answer into a *payments.APIError with the
// provider's code and text.
func mapError(op string, r *transport.Response) error {
	e := transport.GenericError(provider, op, r)
	code, msg, ok := parseErrorBody(bytes.TrimSpace(r.Body))
	if !ok {
		return e
	}
	e.Code, e.Message = code, transport.Snippet([]byte(msg))
	if cat, detail := codeError(code); cat != nil {
		e.Category, e.Detail = cat, detail
	}
	return e
}

// malformed is the error of a 2xx answer the client cannot read.
func malformed(op string, body []byte, err error) *payments.APIError {
	return transport.Malformed(provider, op, http.StatusOK, body, err)
}
