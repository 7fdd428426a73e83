package paykeeper

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/internal/telemetry"
	"github.com/paysdk/payments/internal/transport"
)

const provider = "paykeeper"

// TokenLifetime is how long a security token is used before a new one is
// fetched: "Смена токена происходит раз в 24 часа".
const TokenLifetime = 24 * time.Hour

// Credentials are the personal-cabinet login and password (HTTP Basic on
// every request). They never print the password, whatever the fmt verb or
// slog handler.
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

// Format prints String for every verb: %d, %x and the others would
// otherwise print the fields, the password among them.
func (c Credentials) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, c.String()) }

// LogValue shows the user only.
func (c Credentials) LogValue() slog.Value {
	return slog.GroupValue(slog.String("user", c.User), slog.String("password", "[REDACTED]"))
}

// Client talks to one merchant's PayKeeper server. It is safe for concurrent
// use; the security token it holds is shared by all callers. Close it when
// done to release its idle connections. It never prints its credentials or
// the token, whatever the fmt verb or slog handler.
type Client struct {
	t       *transport.Client
	tok     *tokenCache
	lookups *flight // GetPayment calls of notification confirmations, coalesced by id
	user    string  // for printing
	tel     *telemetry.Telemetry
}

// New returns a client for the cabinet at the base URL given with
// payments.WithBaseURL (each merchant has its own server, e.g.
// https://name.server.paykeeper.ru). It sends nothing.
//
// PayKeeper's document describes no 429 or 503 answer (its section 7,
// "Обработка ошибок", has only the fail object), so a refund or an invoice
// creation answered 429 or 503 is sent once and is
// payments.ErrOutcomeUnknown: nothing says it was not carried out.
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
		// Unprocessed stays nil: the document says nothing about 429/503.
	}, opts...)
	if err != nil {
		return nil, err
	}
	return &Client{t: t, tok: &tokenCache{lifetime: TokenLifetime, now: time.Now}, lookups: &flight{}, user: cred.User,
		tel: t.Telemetry()}, nil
}

// Close releases the client's idle connections (and the goroutines that keep
// them). Later calls fail before anything is sent; calls in flight finish.
// It is safe to call more than once and returns nil.
func (c *Client) Close() error { return c.t.Close() }

// telemetry is the client's telemetry (its payments.WithTracerProvider and
// WithMeterProvider), the default of a NotificationHandler that confirms
// through it.
func (c *Client) telemetry() *telemetry.Telemetry { return c.tel }

// String names the cabinet and the user, never the password or the token.
func (c Client) String() string {
	base := ""
	if c.t != nil {
		base = c.t.BaseURL().String()
	}
	return "paykeeper.Client{BaseURL: " + base + ", User: " + c.user + ", Password: [REDACTED]}"
}

// GoString is String.
func (c Client) GoString() string { return c.String() }

// Format prints String for every verb, so that no verb (%s, %d, %x...)
// prints the fields, where the Authorization value and the token live.
func (c Client) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, c.String()) }

// LogValue names the cabinet and the user only.
func (c Client) LogValue() slog.Value {
	base := ""
	if c.t != nil {
		base = c.t.BaseURL().String()
	}
	return slog.GroupValue(slog.String("base_url", base), slog.String("user", c.user), slog.String("password", "[REDACTED]"))
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

// maxTokenLen bounds a token the client accepts: the document's token is 32
// hex digits ("fd50e47596cff6c63c7ea0a633c0d2a8").
const maxTokenLen = 256

// fetchToken asks for the security token (section 6.1). The token becomes a
// secret of the transport at once, so that a server echoing it never puts it
// into an error; an answer that cannot be read is never quoted, since it may
// hold (part of) the token.
func (c *Client) fetchToken(ctx context.Context) (_ string, err error) {
	const op = "token"
	ctx, obs := c.operation(ctx, op, "")
	defer func() { obs.End(err) }()
	resp, err := c.t.Do(ctx, &transport.Request{Op: op, Kind: transport.Read, Method: http.MethodGet, Path: "/info/settings/token/"})
	if err != nil {
		return "", err
	}
	body := trimJSONSpace(resp.Body)
	if e := failEnvelope(op, resp.Status, body); e != nil {
		return "", c.t.ScrubError(e)
	}
	if isLoginPage(body) {
		return "", loginPageError(op, resp.Status)
	}
	var m map[string]json.RawMessage
	var tok string
	if json.Unmarshal(body, &m) != nil || m == nil {
		return "", c.t.Malformed(op, resp.Status, nil, errors.New("not a JSON object (body withheld: it may hold the token)"))
	}
	if json.Unmarshal(m["token"], &tok) != nil || !tokenLike(tok) {
		return "", c.t.Malformed(op, resp.Status, nil, errors.New("no usable token in the answer (body withheld)"))
	}
	c.t.AddSecret(tok)
	return tok, nil
}

// tokenLike reports a non-empty printable token without spaces, at most
// maxTokenLen bytes.
func tokenLike(s string) bool {
	if s == "" || len(s) > maxTokenLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] >= 0x7f {
			return false
		}
	}
	return true
}

// get runs a GET and returns a successful answer: neither a fail object nor
// an HTML page nor empty.
func (c *Client) get(ctx context.Context, op, path string, q url.Values) (*transport.Response, error) {
	resp, err := c.t.Do(ctx, &transport.Request{Op: op, Kind: transport.Read, Method: http.MethodGet, Path: path,
		RawQuery: encodeQuery(q)})
	if err != nil {
		return nil, err
	}
	if err := c.checkRead(op, resp); err != nil {
		return nil, err
	}
	return resp, nil
}

// checkRead turns a 2xx read answer that says failure into an error: the
// {"result":"fail","msg":...} object, the login page (unauthorized), any
// other HTML page or an empty body (unreadable).
func (c *Client) checkRead(op string, resp *transport.Response) error {
	body := trimJSONSpace(resp.Body)
	switch {
	case len(body) == 0:
		return c.t.Malformed(op, resp.Status, body, errors.New("empty body"))
	case isLoginPage(body):
		return loginPageError(op, resp.Status)
	case body[0] == '<':
		return c.t.Malformed(op, resp.Status, body, errors.New("an HTML page, not JSON"))
	case !bytes.Contains(body, []byte("result")):
		return nil // no fail object: spare a large list a second decoding
	}
	if e := failEnvelope(op, resp.Status, body); e != nil {
		return c.t.ScrubError(e)
	}
	return nil
}

// write is one POST of section 2, 3 or 5 and what its answer must be.
type write struct {
	op, path string
	kind     transport.Kind
	ref      string // the payment, invoice, setting or user it concerns
	form     url.Values
	// success checks the answer object against the document's success
	// shape; nil means {"result":"success"}.
	success func(m map[string]json.RawMessage) error
	// secrets are values of this request's form that must never appear in
	// an error (a new user's password, the informer_seed being set): a
	// server echoing the request would otherwise put them there. The
	// client's own secrets are scrubbed by the transport.
	secrets []string
}

// post runs a write with the security token in its form body and returns
// the answer object when it is the operation's documented success. Anything
// else is an error:
//
//   - the fail object {"result":"fail","msg":...} (section 7: the request
//     was refused), whatever the HTTP status, a 4xx answer, the cabinet's
//     login page, or a redirect to it: a definite refusal, nothing was done;
//   - every other answer — {}, null, [], {"result":"pending"}, an HTML page,
//     a 5xx, a 429 or 503 (the document says nothing of them), a lost
//     answer — may follow a change PayKeeper made: a
//     *payments.OutcomeUnknownError wrapping what came back (an
//     *payments.APIError with the HTTP status and the provider's text, a
//     *payments.TransportError, the context's error).
//
// A rejected token (error_code 67, "Токен безопасности не верен.") means
// nothing was done, so the POST is sent once more with a fresh token.
func (c *Client) post(ctx context.Context, w write) (map[string]json.RawMessage, error) {
	m, err := c.postOnce(ctx, w)
	if err != nil {
		return nil, scrubValues(err, w.secrets)
	}
	return m, nil
}

func (c *Client) postOnce(ctx context.Context, w write) (map[string]json.RawMessage, error) {
	resent := false // an earlier attempt may have reached PayKeeper
	for attempt := 0; ; attempt++ {
		tok, err := c.tok.get(ctx, c.fetchToken)
		if err != nil {
			return nil, err // the token is a read: the write was not sent
		}
		f := make(url.Values, len(w.form)+1)
		for k, v := range w.form {
			f[k] = v
		}
		f.Set("token", tok)
		resp, err := c.t.Do(ctx, &transport.Request{Op: w.op, Kind: w.kind, Ref: w.ref, Method: http.MethodPost, Path: w.path,
			ContentType: "application/x-www-form-urlencoded", Body: []byte(f.Encode())})
		if err != nil {
			return nil, c.writeFailed(w, err)
		}
		resent = resent || resp.Resent
		body := scrubBody(trimJSONSpace(resp.Body), w.secrets)
		m, err := writeObject(body) // read once: for the fail object, then for success
		if err == nil {
			if e := failObject(w.op, resp.Status, m); e != nil {
				c.t.ScrubError(e)
				if errors.Is(e, ErrTokenRejected) && attempt == 0 {
					c.tok.drop(tok)
					continue
				}
				return nil, c.unknownIf(w, resent, e)
			}
		}
		if isLoginPage(body) {
			return nil, c.unknownIf(w, resent, loginPageError(w.op, resp.Status))
		}
		if err == nil {
			check := w.success
			if check == nil {
				check = resultSuccess
			}
			err = check(m)
		}
		if err != nil {
			return nil, c.unknownIf(w, true, c.t.Malformed(w.op, resp.Status, body, err))
		}
		return m, nil
	}
}

// valueForms are the forms a form value takes when a server echoes it: as
// is, form- and path-escaped, HTML- and JSON-escaped. Values shorter than 3
// bytes are left alone (they would blank ordinary words).
func valueForms(secrets []string) []string {
	var out []string
	for _, v := range secrets {
		if len(v) < 3 {
			continue
		}
		j, _ := json.Marshal(v)
		out = append(out, v, url.QueryEscape(v), url.PathEscape(v), html.EscapeString(v), string(j[1:len(j)-1]))
	}
	return out
}

// scrubBody replaces the request's own secrets in an answer body, before
// any error quotes (and cuts) it.
func scrubBody(body []byte, secrets []string) []byte {
	for _, f := range valueForms(secrets) {
		body = bytes.ReplaceAll(body, []byte(f), []byte("[REDACTED]"))
	}
	return body
}

// scrubValues replaces the request's own secrets in the provider texts of
// err (every *payments.APIError's Message and Code, built fresh for this
// call), a secret cut off by the "…" of a shortened text included.
func scrubValues(err error, secrets []string) error {
	forms := valueForms(secrets)
	if len(forms) == 0 {
		return err
	}
	scrub := func(t string) string {
		for _, f := range forms {
			t = strings.ReplaceAll(t, f, "[REDACTED]")
		}
		if head, ok := strings.CutSuffix(t, "…"); ok {
			for _, f := range forms {
				for n := len(f) - 1; n >= 3; n-- {
					if strings.HasSuffix(head, f[:n]) {
						return head[:len(head)-n] + "[REDACTED]…"
					}
				}
			}
		}
		return t
	}
	var walk func(error, int)
	walk = func(e error, depth int) {
		if e == nil || depth > 32 {
			return
		}
		if api, ok := e.(*payments.APIError); ok {
			api.Message, api.Code = scrub(api.Message), scrub(api.Code)
		}
		switch u := e.(type) {
		case interface{ Unwrap() []error }:
			for _, x := range u.Unwrap() {
				walk(x, depth+1)
			}
		case interface{ Unwrap() error }:
			walk(u.Unwrap(), depth+1)
		}
	}
	walk(err, 0)
	return err
}

// writeFailed sorts an error of the transport for a write: what proves
// that nothing was done is returned as it is, what may follow a change is
// (or stays) outcome-unknown.
func (c *Client) writeFailed(w write, err error) error {
	var ou *payments.OutcomeUnknownError
	if errors.As(err, &ou) {
		// An unsafe write is sent at most once once it may have arrived, so
		// a fail object in its answer (say with status 500) is PayKeeper
		// refusing that one request. An idempotent write may have been sent
		// before: the earlier attempt stays unknown.
		var api *payments.APIError
		if w.kind == transport.UnsafeWrite && errors.As(ou.Err, &api) && errors.Is(api, ErrRefused) {
			return api
		}
		return err
	}
	var api *payments.APIError
	if !errors.As(err, &api) || api.HTTPStatus == 0 {
		return err // not sent, a context error, a validation error
	}
	switch st := api.HTTPStatus; {
	case errors.Is(api, ErrRefused), // the fail object
		st >= 400 && st < 500,         // refused before it was acted on
		api.Code == codeLoginRedirect: // sent to the login page: not authenticated
		return err
	}
	// A 3xx elsewhere, a 1xx, a 5xx the transport does not know: the request
	// reached something that may have acted on it.
	return c.unknownIf(w, true, err)
}

func (c *Client) unknownIf(w write, maybe bool, err error) error {
	if !maybe {
		return err
	}
	return &payments.OutcomeUnknownError{Provider: provider, Op: w.op, Ref: w.ref, Err: err}
}

// trimJSONSpace drops the white space JSON allows around a value (and
// nothing else: a body padded with other spaces is not JSON).
func trimJSONSpace(b []byte) []byte { return bytes.Trim(b, " \t\r\n") }

// writeObject reads the answer of a write: one JSON object, or an array of
// exactly one (PayKeeper's own modules unwrap [{...}] on change/* calls).
func writeObject(body []byte) (map[string]json.RawMessage, error) {
	if len(body) > 0 && (body[0] == '{' || body[0] == '[') && json.Valid(body) {
		if list, ok := walkObjects(body); ok && (body[0] == '{' || len(list) == 1 && list[0] != nil) {
			return list[0], nil
		}
	}
	// Not one object: encoding/json and the checks below say what is wrong.
	if len(body) > 0 && body[0] == '[' {
		var list []map[string]json.RawMessage
		if err := json.Unmarshal(body, &list); err != nil {
			return nil, err
		}
		if len(list) != 1 || list[0] == nil {
			return nil, fmt.Errorf("an array of %d, not one object", len(list))
		}
		return list[0], nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, err
	}
	if m == nil {
		return nil, errors.New("null, not an object")
	}
	return m, nil
}

// resultSuccess is the document's answer to every change of sections 2, 3
// and 5: "Результатом данного запроса будет объект { 'result' : success }".
func resultSuccess(m map[string]json.RawMessage) error {
	if raw, ok := m["result"]; !ok || !isJSONString(raw, "success") {
		return errors.New(`not {"result":"success"}`)
	}
	return nil
}

// isLoginPage reports the cabinet's login page (or any login form): an
// HTML page with a password field and a login word. It proves that the
// request was not authenticated, so not acted on.
func isLoginPage(body []byte) bool {
	if len(body) == 0 || body[0] != '<' {
		return false
	}
	if len(body) > 64<<10 {
		body = body[:64<<10]
	}
	l := bytes.ToLower(body)
	password := bytes.Contains(l, []byte(`type="password"`)) || bytes.Contains(l, []byte(`type='password'`)) ||
		bytes.Contains(l, []byte(`type=password`))
	if !password {
		return false
	}
	for _, w := range []string{"login", "вход", "авториз", "sign in", "signin"} {
		if bytes.Contains(l, []byte(w)) {
			return true
		}
	}
	return false
}

func loginPageError(op string, status int) *payments.APIError {
	return &payments.APIError{Provider: provider, Op: op, HTTPStatus: status, Code: "login-page",
		Message: "the cabinet's login page: the credentials were not accepted", Category: payments.ErrUnauthorized}
}

// encodeQuery writes url.Values with "status[]" style keys kept readable.
func encodeQuery(q url.Values) string {
	if len(q) == 0 {
		return ""
	}
	return strings.ReplaceAll(q.Encode(), "%5B%5D=", "[]=")
}

// Provider errors. Every fail object ({"result":"fail","msg":...}) matches
// ErrRefused and one of the payments categories; some match a sentinel of
// their own too.
var (
	// ErrRefused is the error of the cabinet's fail object
	// {"result":"fail","msg":"..."} (the document's section 7): PayKeeper
	// refused the request and did nothing. Its APIError keeps msg and
	// error_code.
	ErrRefused = errors.New("paykeeper: refused")
	// ErrTokenRejected: the security token was refused (error_code 67). The
	// client fetches a new one and sends the POST again by itself.
	ErrTokenRejected = errors.New("paykeeper: security token rejected")
	// ErrInvoiceNotFound: "Счёт не найден."
	ErrInvoiceNotFound = errors.New("paykeeper: invoice not found")
	// ErrPaymentNotFound: the cabinet does not know the payment id
	// (GetPayment answered with an empty list, or a fail object saying
	// "Платёж не найден").
	ErrPaymentNotFound = errors.New("paykeeper: payment not found")
)

// refusal is the Detail of a fail object: ErrRefused and, when the message
// says more, a sentinel of its own.
type refusal struct{ sentinel error }

func (r refusal) Error() string   { return r.sentinel.Error() }
func (r refusal) Unwrap() []error { return []error{ErrRefused, r.sentinel} }

// failEnvelope reads {"result":"fail","msg":"...","error_code":67}, also
// wrapped in an array of one; nil when the body is not one. msg must be a
// string, as the document describes the object.
func failEnvelope(op string, status int, body []byte) *payments.APIError {
	m, err := writeObject(body)
	if err != nil {
		return nil
	}
	return failObject(op, status, m)
}

// failObject is failEnvelope of the object m, read already.
func failObject(op string, status int, m map[string]json.RawMessage) *payments.APIError {
	if !isJSONString(m["result"], "fail") {
		return nil
	}
	var msg string
	if raw := bytes.TrimSpace(m["msg"]); len(raw) == 0 || raw[0] != '"' || json.Unmarshal(raw, &msg) != nil {
		return nil
	}
	code := newRecord(map[string]json.RawMessage{"error_code": m["error_code"]}).str("error_code")
	if !utf8.ValidString(code) || len(code) > 40 {
		code = ""
	}
	e := &payments.APIError{Provider: provider, Op: op, HTTPStatus: status, Code: code, Message: payments.MaskPAN(msg),
		Category: payments.ErrDeclined, Detail: ErrRefused}
	switch {
	case code == "67" || strings.Contains(msg, "Токен безопасности не верен"):
		e.Category, e.Detail = payments.ErrInvalidRequest, refusal{ErrTokenRejected}
	case strings.Contains(msg, "Счёт не найден") || strings.Contains(msg, "Счет не найден"):
		e.Category, e.Detail = payments.ErrNotFound, refusal{ErrInvoiceNotFound}
	case strings.Contains(msg, "Платёж не найден") || strings.Contains(msg, "Платеж не найден"):
		e.Category, e.Detail = payments.ErrNotFound, refusal{ErrPaymentNotFound}
	case strings.Contains(strings.ToLower(msg), "не найден"):
		e.Category = payments.ErrNotFound
	}
	return e
}

// codeLoginRedirect is the APIError code of a redirect to the login page.
const codeLoginRedirect = "login-redirect"

// mapError maps a non-2xx answer: the fail object when there is one; a
// redirect to the login page (PayKeeper answers 303 to bad credentials) as
// unauthorized; the rest by status.
func mapError(op string, r *transport.Response) error {
	if e := failEnvelope(op, r.Status, trimJSONSpace(r.Body)); e != nil {
		return e
	}
	e := transport.GenericError(provider, op, r)
	if r.Status >= 300 && r.Status < 400 {
		loc := r.Header.Get("Location")
		path := loc
		if u, err := url.Parse(loc); err == nil {
			path = u.Path
		}
		e.Code, e.Message = "redirect", transport.Snippet([]byte("redirect to "+path))
		if p := strings.ToLower(path); strings.Contains(p, "login") || strings.Contains(p, "auth") {
			e.Code, e.Category = codeLoginRedirect, payments.ErrUnauthorized
		}
	}
	return e
}

// decodeList reads an array answer with build applied to each object.
func decodeList[T any](c *Client, op string, resp *transport.Response, build func(*record) T) ([]T, error) {
	list, err := objects(resp.Body)
	if err != nil {
		return nil, c.t.Malformed(op, resp.Status, resp.Body, err)
	}
	out := make([]T, 0, len(list))
	for _, m := range list {
		r := newRecord(m)
		v := build(r)
		if r.err != nil {
			return nil, c.t.Malformed(op, resp.Status, resp.Body, r.err)
		}
		out = append(out, v)
	}
	return out, nil
}

// decodeOne reads an object answer (or the first of an array).
func decodeOne[T any](c *Client, op string, resp *transport.Response, build func(*record) T) (T, error) {
	var zero T
	m, err := object(resp.Body)
	if err != nil {
		return zero, c.t.Malformed(op, resp.Status, resp.Body, err)
	}
	r := newRecord(m)
	v := build(r)
	if r.err != nil {
		return zero, c.t.Malformed(op, resp.Status, resp.Body, r.err)
	}
	return v, nil
}

// checkCtx refuses a nil context before anything else.
func checkCtx(ctx context.Context) error {
	if ctx == nil {
		return payments.ErrNilContext
	}
	return nil
}
