package royalpay

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"strings"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/internal/transport"
)

const provider = "royalpay"

// redacted stands for a secret in every formatted value.
const redacted = "[REDACTED]"

// Credentials is the merchant's API token, sent as "Authorization: Token
// <token>". It never prints itself, whatever the fmt verb or slog handler.
type Credentials struct {
	Token string
}

// String hides the token.
func (c Credentials) String() string { return "royalpay.Credentials{Token: " + redacted + "}" }

// GoString hides the token.
func (c Credentials) GoString() string { return c.String() }

// Format hides the token for every verb: %d, %x and %q of a struct would
// otherwise print its fields (a string field in hex, too).
func (c Credentials) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, c.String()) }

// LogValue hides the token.
func (c Credentials) LogValue() slog.Value { return slog.StringValue(redacted) }

// MarshalJSON hides the token from encoding/json (and slog's JSON handler).
func (c Credentials) MarshalJSON() ([]byte, error) { return json.Marshal(redacted) }

// Client talks to the RoyalPay pay-in API for one merchant token. It is
// immutable and safe for concurrent use. It never prints its token, whatever
// the fmt verb or slog handler. Close it when done.
type Client struct {
	t *transport.Client
}

// String names the client and its host, never its token.
func (c Client) String() string {
	if c.t == nil {
		return "royalpay.Client{}"
	}
	return "royalpay.Client{" + c.t.BaseURL().Host + "}"
}

// GoString is String.
func (c Client) GoString() string { return c.String() }

// Format prints String for every verb (%s or %d of the struct would otherwise
// walk into the transport and print its Authorization value).
func (c Client) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, c.String()) }

// LogValue is String, for slog.
func (c Client) LogValue() slog.Value { return slog.StringValue(c.String()) }

// MarshalJSON is String as a JSON string.
func (c Client) MarshalJSON() ([]byte, error) { return json.Marshal(c.String()) }

// Close releases the client's idle connections and the goroutines that keep
// them. Every later call fails before anything is sent, with a
// *payments.TransportError (matching payments.ErrUnavailable, never
// ErrOutcomeUnknown). Calls in flight finish. It is safe to call more than
// once and returns nil.
func (c *Client) Close() error {
	if c == nil || c.t == nil {
		return nil
	}
	return c.t.Close()
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
		// Unprocessed stays nil: the document's error table ("Ошибки") lists
		// 400, 401, 403, 404 and 500 and says nothing of 429 or 503, so
		// nothing says such an answer left the request alone. A create
		// answered 429 or 503 is sent once and is ErrOutcomeUnknown; a read
		// is asked again.
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
		// {"error": {"code": 10401, "msg": "..."}}, read by exact keys.
		var nested map[string]json.RawMessage
		if json.Unmarshal(raw, &nested) == nil && nested != nil {
			var nc flex
			var msg string
			if r, has := nested["code"]; has && json.Unmarshal(r, &nc) == nil && nc != "" {
				c = nc
			}
			if r, has := nested["msg"]; has {
				_ = json.Unmarshal(r, &msg)
			}
			return string(c), msg, true
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
