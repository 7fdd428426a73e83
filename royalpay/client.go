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
	"github.com/paysdk/payments/internal/telemetry"
	"github.com/paysdk/payments/internal/transport"
)

const provider = "royalpay"

// redacted stands for a secret in every formatted value.
const redacted = "[REDACTED]"

// Credentials is the merchant's API token, sent as "Authorization: Token
// <token>". It never prints itself, whatever the fmt verb or slog handler.
type Credentials struct {
	// Token is the pay-in token. It may be empty when PayoutToken is set:
	// the pay-in calls then fail before sending, with a
	// *payments.ValidationError.
	Token string
	// PayoutToken is the payout token, a credential of its own: payouts go
	// with "Authorization: Token <payout token>" ("Authorization: Token
	// YOUR_PAYOUT_TOKEN", docs.royal-finance.org/payout/p2p.html; the Royal
	// Finance adapter of imfoxboy/Eight-Connect keeps ROYAL_PAYIN_API_TOKEN
	// and ROYAL_PAYOUT_API_TOKEN apart). Empty: payout calls fail before
	// sending, with a *payments.ValidationError.
	PayoutToken string
	// PayoutBaseURL, when set, is the base URL of the payout calls; empty:
	// the pay-in base (payments.WithBaseURL). The adapter above sends
	// payouts to "https://royal-pay.org" and pay-ins elsewhere
	// (app/settings.py:41-45). Not a secret: it is here because
	// payments.Option is shared by every provider.
	PayoutBaseURL string
}

// String hides the tokens.
func (c Credentials) String() string {
	return "royalpay.Credentials{Token: " + redacted + ", PayoutToken: " + redacted + "}"
}

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
	t  *transport.Client // pay-in calls; nil without Credentials.Token
	pt *transport.Client // payout calls; nil without Credentials.PayoutToken
	// forms remembers which form of each read route the hosts answered
	// (see readEither); a pointer, so that the value methods below copy
	// no atomic.
	forms *readForms
	tel   *telemetry.Telemetry // the operations' spans and measurements
}

// errNoPayinToken and errNoPayoutToken refuse a call whose token was not given.
var (
	errNoPayinToken  = &payments.ValidationError{Field: "credentials.Token", Reason: "no pay-in token given"}
	errNoPayoutToken = &payments.ValidationError{Field: "credentials.PayoutToken", Reason: "no payout token given"}
)

// String names the client and its host, never its token.
func (c Client) String() string {
	switch {
	case c.t != nil:
		return "royalpay.Client{" + c.t.BaseURL().Host + "}"
	case c.pt != nil:
		return "royalpay.Client{" + c.pt.BaseURL().Host + "}"
	}
	return "royalpay.Client{}"
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
	if c == nil {
		return nil
	}
	if c.t != nil {
		_ = c.t.Close()
	}
	if c.pt != nil {
		_ = c.pt.Close()
	}
	return nil
}

// telemetry is the client's telemetry (its payments.WithTracerProvider and
// WithMeterProvider; both transports have the same), the default of a
// callback handler that confirms through it.
func (c *Client) telemetry() *telemetry.Telemetry { return c.tel }

// New returns a client. The base URL is required (payments.WithBaseURL,
// e.g. "https://royal-finance.org"): the brand has no single public host,
// see the package documentation. New sends nothing.
func New(cred Credentials, opts ...payments.Option) (*Client, error) {
	if strings.TrimSpace(cred.Token) == "" && strings.TrimSpace(cred.PayoutToken) == "" {
		return nil, &payments.ValidationError{Field: "credentials.Token", Reason: "empty"}
	}
	for _, f := range []struct{ name, v string }{{"credentials.Token", cred.Token}, {"credentials.PayoutToken", cred.PayoutToken}} {
		if strings.ContainsAny(f.v, "\r\n ") {
			return nil, &payments.ValidationError{Field: f.name, Reason: "must not contain spaces or line breaks"}
		}
	}
	c := &Client{forms: &readForms{}}
	if cred.Token != "" {
		t, err := transport.New(transport.Config{
			Provider: provider,
			Auth:     transport.SchemeAuth("Token", cred.Token),
			MapError: mapError,
			// Unprocessed stays nil: the document's error table ("Ошибки") lists
			// 400, 401, 403, 404 and 500 and says nothing of 429 or 503, so
			// nothing says such an answer left the request alone. A create
			// answered 429 or 503 is sent once and is ErrOutcomeUnknown; a read
			// is asked again.
			Secrets: nonEmpty(cred.PayoutToken),
		}, opts...)
		if err != nil {
			return nil, err
		}
		c.t = t
	}
	if cred.PayoutToken != "" {
		popts := opts
		if cred.PayoutBaseURL != "" {
			popts = append(append([]payments.Option(nil), opts...), payments.WithBaseURL(cred.PayoutBaseURL))
		}
		pt, err := transport.New(transport.Config{
			Provider: provider,
			Auth:     transport.SchemeAuth("Token", cred.PayoutToken),
			MapError: mapError,
			// Unprocessed stays nil: the payout pages say nothing of 429 or
			// 503, so a payout create answered so is never resent.
			Secrets: nonEmpty(cred.Token),
		}, popts...)
		if err != nil {
			_ = c.Close()
			return nil, err
		}
		c.pt = pt
	}
	// Both transports record with the same providers (the same options):
	// either one's telemetry starts the operations they join.
	if c.t != nil {
		c.tel = c.t.Telemetry()
	} else if c.pt != nil {
		c.tel = c.pt.Telemetry()
	}
	return c, nil
}

func nonEmpty(s string) []string {
	if s == "" {
		return nil
	}
	return []string{s}
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
	if loc := r.Header.Get("Location"); loc != "" && (r.Status == 301 || r.Status == 308) {
		e.Detail = &movedTo{location: loc}
	}
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

// movedTo is the Detail of a 301 or 308 answer: where it points. GetPayment
// follows it once when it only toggles the path's trailing slash (see
// readEither).
type movedTo struct{ location string }

func (m *movedTo) Error() string { return "royalpay: moved permanently" }
