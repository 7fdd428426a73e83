package paykeeper

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/internal/transport"
)

const provider = "paykeeper"

// TokenLifetime is how long a security token is used before a new one is
// fetched: "Смена токена происходит раз в 24 часа".
const TokenLifetime = 24 * time.Hour

// Credentials are the personal-cabinet login and password (HTTP Basic on
// every request). They never print themselves.
type Credentials struct {
	User     string
	Password string
}

// String shows the user only.
func (c Credentials) String() string {
	return "paykeeper.Credentials{User: " + c.User + ", Password: [REDACTED]}"
}

// GoString shows the user only.
func (c Credentials) GoString() string { return c.String() }

// LogValue shows the user only.
func (c Credentials) LogValue() slog.Value {
	return slog.GroupValue(slog.String("user", c.User), slog.String("password", "[REDACTED]"))
}

// Client talks to one merchant's PayKeeper server. It is immutable and safe
// for concurrent use; the security token it holds is shared by all callers.
type Client struct {
	t   *transport.Client
	tok *tokenCache
}

// New returns a client for the cabinet at the base URL given with
// payments.WithBaseURL (each merchant has its own server, e.g.
// https://name.server.paykeeper.ru). It sends nothing.
func New(cred Credentials, opts ...payments.Option) (*Client, error) {
	if cred.User == "" || cred.Password == "" {
		return nil, &payments.ValidationError{Field: "credentials", Reason: "user and password are required"}
	}
	if strings.Contains(cred.User, ":") {
		return nil, &payments.ValidationError{Field: "credentials.User", Reason: "must not contain ':' (HTTP Basic authentication)"}
	}
	t, err := transport.New(transport.Config{
		Provider: provider,
		Auth:     transport.BasicAuth(cred.User, cred.Password),
		MapError: mapError,
	}, opts...)
	if err != nil {
		return nil, err
	}
	return &Client{t: t, tok: &tokenCache{lifetime: TokenLifetime, now: time.Now}}, nil
}

// tokenCache holds the security token: one fetch at a time, shared by every
// caller waiting for it.
type tokenCache struct {
	lifetime time.Duration
	now      func() time.Time

	mu    sync.Mutex
	value string
	at    time.Time
	wait  chan struct{} // closed when the fetch in flight ends
}

func (tc *tokenCache) get(ctx context.Context, fetch func(context.Context) (string, error)) (string, error) {
	for {
		tc.mu.Lock()
		if tc.value != "" && tc.now().Sub(tc.at) < tc.lifetime {
			v := tc.value
			tc.mu.Unlock()
			return v, nil
		}
		if ch := tc.wait; ch != nil {
			tc.mu.Unlock()
			select {
			case <-ch:
				continue
			case <-ctx.Done():
				return "", ctx.Err()
			}
		}
		ch := make(chan struct{})
		tc.wait = ch
		tc.mu.Unlock()

		v, err := fetch(ctx)
		tc.mu.Lock()
		if err == nil {
			tc.value, tc.at = v, tc.now()
		}
		tc.wait = nil
		close(ch)
		tc.mu.Unlock()
		return v, err
	}
}

// drop forgets the token if it is still the one the server refused.
func (tc *tokenCache) drop(v string) {
	tc.mu.Lock()
	if tc.value == v {
		tc.value = ""
	}
	tc.mu.Unlock()
}

func (c *Client) fetchToken(ctx context.Context) (string, error) {
	body, err := c.get(ctx, "token", "/info/settings/token/", nil)
	if err != nil {
		return "", err
	}
	m, err := object(body)
	if err != nil {
		return "", malformed("token", body, err)
	}
	r := newRecord(m)
	tok := r.str("token")
	if tok == "" || r.err != nil {
		return "", malformed("token", body, errors.New("no token in the answer"))
	}
	return tok, nil
}

// get runs a GET and returns the body of a successful answer.
func (c *Client) get(ctx context.Context, op, path string, q url.Values) ([]byte, error) {
	resp, err := c.t.Do(ctx, &transport.Request{Op: op, Kind: transport.Read, Method: http.MethodGet, Path: path,
		RawQuery: encodeQuery(q)})
	if err != nil {
		return nil, err
	}
	if err := checkBody(op, resp); err != nil {
		return nil, err
	}
	return resp.Body, nil
}

// post runs a POST with the security token in the form body. A rejected
// token (error_code 67, "Токен безопасности не верен.") means nothing was
// done, so the POST is sent once more with a fresh token.
func (c *Client) post(ctx context.Context, op, path string, form url.Values, kind transport.Kind, ref string) ([]byte, error) {
	for attempt := 0; ; attempt++ {
		tok, err := c.tok.get(ctx, c.fetchToken)
		if err != nil {
			return nil, err
		}
		f := url.Values{}
		for k, v := range form {
			f[k] = v
		}
		f.Set("token", tok)
		resp, err := c.t.Do(ctx, &transport.Request{Op: op, Kind: kind, Ref: ref, Method: http.MethodPost, Path: path,
			ContentType: "application/x-www-form-urlencoded", Body: []byte(f.Encode())})
		if err != nil {
			return nil, err
		}
		err = checkBody(op, resp)
		var api *payments.APIError
		if errors.As(err, &api) && errors.Is(err, ErrTokenRejected) && attempt == 0 {
			c.tok.drop(tok)
			continue
		}
		if err != nil {
			if kind != transport.Read && transport.IsMalformed(err) {
				// A 2xx we cannot read: the change may have been made.
				return nil, &payments.OutcomeUnknownError{Provider: provider, Op: op, Ref: ref, Err: err}
			}
			return nil, err
		}
		return resp.Body, nil
	}
}

// encodeQuery writes url.Values with "status[]" style keys kept readable.
func encodeQuery(q url.Values) string {
	if len(q) == 0 {
		return ""
	}
	return strings.ReplaceAll(q.Encode(), "%5B%5D=", "[]=")
}

// Provider errors.
var (
	// ErrTokenRejected: the security token was refused (error_code 67). The
	// client fetches a new one and sends the POST again by itself.
	ErrTokenRejected = errors.New("paykeeper: security token rejected")
	// ErrInvoiceNotFound: "Счёт не найден."
	ErrInvoiceNotFound = errors.New("paykeeper: invoice not found")
)

// checkBody turns a 2xx answer that says failure into an error: the
// {"result":"fail","msg":...} envelope (whatever the HTTP status), an HTML
// login page, an empty body.
func checkBody(op string, resp *transport.Response) error {
	body := bytes.TrimSpace(resp.Body)
	if len(body) == 0 {
		return malformed(op, body, errors.New("empty body"))
	}
	if body[0] == '<' {
		return &payments.APIError{Provider: provider, Op: op, HTTPStatus: resp.Status, Code: "html",
			Message: transport.Snippet(body), Category: payments.ErrUnauthorized}
	}
	if e := failEnvelope(op, resp.Status, body); e != nil {
		return e
	}
	return nil
}

// failEnvelope reads {"result":"fail","msg":"...","error_code":67}, also
// wrapped in an array; nil when the body is not one.
func failEnvelope(op string, status int, body []byte) *payments.APIError {
	if !bytes.Contains(body, []byte(`"result"`)) {
		return nil
	}
	m, err := object(body)
	if err != nil {
		return nil
	}
	r := newRecord(m)
	if r.str("result") != "fail" {
		return nil
	}
	msg, code := r.str("msg"), r.str("error_code")
	e := &payments.APIError{Provider: provider, Op: op, HTTPStatus: status, Code: code, Message: payments.MaskPAN(msg),
		Category: payments.ErrDeclined}
	switch {
	case code == "67" || strings.Contains(msg, "Токен безопасности не верен"):
		e.Category, e.Detail = payments.ErrInvalidRequest, ErrTokenRejected
	case strings.Contains(msg, "Счёт не найден") || strings.Contains(msg, "Счет не найден"):
		e.Category, e.Detail = payments.ErrNotFound, ErrInvoiceNotFound
	}
	return e
}

// mapError maps a non-2xx answer: the fail envelope when there is one, 401
// and 303 (to the login page) as unauthorized.
func mapError(op string, r *transport.Response) error {
	if e := failEnvelope(op, r.Status, bytes.TrimSpace(r.Body)); e != nil {
		return e
	}
	e := transport.GenericError(provider, op, r)
	if r.Status == http.StatusSeeOther || r.Status == http.StatusFound {
		e.Category = payments.ErrUnauthorized
	}
	return e
}

// malformed is the error of a 2xx answer the client cannot read.
func malformed(op string, body []byte, err error) *payments.APIError {
	return transport.Malformed(provider, op, http.StatusOK, body, err)
}

// decodeList reads an array answer with build applied to each object.
func decodeList[T any](op string, body []byte, build func(*record) T) ([]T, error) {
	list, err := objects(body)
	if err != nil {
		return nil, malformed(op, body, err)
	}
	out := make([]T, 0, len(list))
	for _, m := range list {
		r := newRecord(m)
		v := build(r)
		if r.err != nil {
			return nil, malformed(op, body, r.err)
		}
		out = append(out, v)
	}
	return out, nil
}

// decodeOne reads an object answer (or the first of an array).
func decodeOne[T any](op string, body []byte, build func(*record) T) (T, error) {
	var zero T
	m, err := object(body)
	if err != nil {
		return zero, malformed(op, body, err)
	}
	r := newRecord(m)
	v := build(r)
	if r.err != nil {
		return zero, malformed(op, body, r.err)
	}
	return v, nil
}
