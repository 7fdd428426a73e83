package transport

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/go-resty/resty/v2"
	"go.opentelemetry.io/otel/trace"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/internal/telemetry"
)

// Request is one operation. Body is encoded once by the caller and sent
// byte-identical on every attempt.
type Request struct {
	Op     string // operation name for errors and logs: "pay", "status"...
	Kind   Kind
	Ref    string // the merchant's reference, carried by ErrOutcomeUnknown
	Method string
	Path   string // joined to the base URL's path; "" is the base itself
	// SiblingPath, when set, replaces the last segment of the base URL's
	// path (QIWI: topup.jsp → xmlcp.jsp on the same host).
	SiblingPath string
	RawQuery    string
	ContentType string
	Body        []byte
	Header      http.Header // extra headers (signatures...); never logged
	// Sink, when set, receives a 2xx body as it streams in (downloads):
	// no size cap, nothing buffered. Such a request is not retried once the
	// first byte reached Sink.
	Sink io.Writer
	// SinkCheck, when set, sees the first bytes (up to 4 KiB) of a 2xx body
	// before any reaches Sink, and can refuse it (a JSON error or an HTML
	// login page instead of a file). Its error is returned as it is.
	SinkCheck func(resp *Response, head []byte) error
}

// Response is a provider's answer.
type Response struct {
	Status int
	Header http.Header
	Body   []byte // nil when streamed into Request.Sink
	// Attempts is how many attempts were made, this one included.
	Attempts int
	// Resent is true when an earlier attempt may have reached the provider
	// (its answer was lost or was a server error) and the request was sent
	// again: an IdempotentWrite answered "duplicate" is then our own first
	// attempt, not someone else's.
	Resent bool
}

// sinkRefused carries a SinkCheck's verdict out of the attempt untouched.
type sinkRefused struct{ err error }

func (s *sinkRefused) Error() string { return s.err.Error() }

// errStalled is the read error of a stream that sent nothing for a whole
// timeout.
var errStalled = errors.New("download stalled: no byte for the whole timeout")

// errTooLarge is the read error of an answer over the size cap.
var errTooLarge = errors.New("answer larger than the response size cap")

// Do runs req through the attempt loop and returns a 2xx answer, or an
// error: the provider's (MapError) for a final non-2xx answer, a
// *payments.TransportError, a context error, or a
// *payments.OutcomeUnknownError wrapping one of those when a write may have
// been carried out.
func (c *Client) Do(ctx context.Context, req *Request) (*Response, error) {
	if ctx == nil {
		return nil, payments.ErrNilContext
	}
	if c.closed.Load() {
		return nil, &payments.TransportError{Provider: c.cfg.Provider, Op: req.Op, Err: ErrClosed}
	}
	ctx, op, own := c.tel.Join(ctx, c.cfg.Provider, req.Op, req.Ref)
	resp, err := c.do(ctx, req, op)
	if err != nil {
		err = c.scrub.err(err)
		resp = nil
	}
	if own {
		op.End(err)
	} else {
		op.Leave()
	}
	return resp, err
}

// do is the attempt loop. Each attempt is a child span of op, ended before
// the backoff with the reason the loop sends again ("" when it does not).
func (c *Client) do(ctx context.Context, req *Request, op *telemetry.Op) (*Response, error) {
	u := c.url(req)
	maybeDelivered := false // an earlier attempt may have reached the provider
	for attempt := 1; ; attempt++ {
		actx, at := op.Attempt(ctx, attempt)
		resp, retry, err := c.try(ctx, actx, at, req, u, attempt, &maybeDelivered)
		at.End(retry)
		if retry == "" {
			return resp, err
		}
		if err := c.sleep(ctx, c.backoff(attempt, retryAfter(resp))); err != nil {
			return nil, c.unknownIf(req, maybeDelivered, c.ctxErr(ctx, req, err))
		}
	}
}

func retryAfter(resp *Response) string {
	if resp == nil {
		return ""
	}
	return resp.Header.Get("Retry-After")
}

// Why the loop sends again (the retry reason of an attempt's span).
const (
	retryTransport   = "transport"
	retryRateLimited = "rate_limited"
	retryServer      = "server_error"
)

// try makes one attempt under actx (the attempt's span) and decides: a
// final answer or error (retry ""), or a retry and its reason (the loop
// backs off, honouring the answer's Retry-After). ctx is the operation's.
func (c *Client) try(ctx, actx context.Context, at *telemetry.Attempt, req *Request, u string, attempt int, maybeDeliveredp *bool) (*Response, string, error) {
	maybeDelivered := *maybeDeliveredp
	defer func() { *maybeDeliveredp = maybeDelivered }()
	if waited, ok := c.spend(actx); ok {
		at.Waited(waited) // the token was taken ahead (Acquire)
	} else {
		waitStart := time.Now()
		if err := c.limiter.Wait(actx); err != nil {
			return nil, "", c.unknownIf(req, maybeDelivered, c.ctxErr(ctx, req, err))
		}
		at.Waited(time.Since(waitStart))
	}
	start := time.Now()
	resp, written, err := c.attempt(actx, req, u)
	status := 0
	if resp != nil {
		status = resp.Status
	}
	at.Sent(req.Method, c.base.Hostname(), status, written || maybeDelivered, err)
	c.logAttempt(actx, req, u, attempt, start, resp, written, err)
	last := attempt >= c.retry.MaxAttempts
	var refused *sinkRefused
	if errors.As(err, &refused) {
		return nil, "", refused.err
	}
	if err != nil {
		if ctx.Err() != nil { // the caller gave up: never retry
			return nil, "", c.unknownIf(req, maybeDelivered || written, c.ctxErr(ctx, req, err))
		}
		terr := &payments.TransportError{Provider: c.cfg.Provider, Op: req.Op, Written: written, Err: err}
		if written {
			if req.Kind == UnsafeWrite {
				return nil, "", c.unknownIf(req, true, terr)
			}
			maybeDelivered = true
		}
		if last || !retriable(err) || (req.Sink != nil && written) {
			return nil, "", c.unknownIf(req, maybeDelivered, terr)
		}
		return nil, retryTransport, nil
	}
	resp.Attempts = attempt
	resp.Resent = maybeDelivered
	switch st := resp.Status; {
	case st >= 200 && st < 300:
		return resp, "", nil
	case st == http.StatusTooManyRequests || st == http.StatusServiceUnavailable:
		unprocessed := c.cfg.Unprocessed != nil && c.cfg.Unprocessed(st)
		if o, ok := c.limiter.(payments.RefusalObserver); ok && unprocessed {
			// The document says the provider refused it for our rate
			// (popolni: "снизив частоту запросов"): slow down.
			o.Refused()
		}
		if !unprocessed {
			// The document does not say the request was left alone: a
			// read may ask again, an idempotent write may be resent
			// (the provider dedupes) but has maybe been delivered, and
			// an unsafe write is never sent again.
			switch req.Kind {
			case UnsafeWrite:
				return nil, "", c.unknownIf(req, true, c.mapError(req.Op, resp))
			case IdempotentWrite:
				maybeDelivered = true
			}
		}
		if last {
			return nil, "", c.unknownIf(req, maybeDelivered, c.mapError(req.Op, resp))
		}
		return resp, retryRateLimited, nil
	case st == http.StatusInternalServerError || st == http.StatusBadGateway || st == http.StatusGatewayTimeout:
		// The provider (or a gateway before it) got the request and failed
		// somewhere: it may have acted on it.
		apiErr := c.mapError(req.Op, resp)
		if req.Kind == UnsafeWrite {
			return nil, "", c.unknownIf(req, true, apiErr)
		}
		if req.Kind == IdempotentWrite {
			maybeDelivered = true
		}
		if last {
			return nil, "", c.unknownIf(req, maybeDelivered, apiErr)
		}
		return resp, retryServer, nil
	case st >= 500 || st < 200 || (st >= 300 && st < 400):
		// Any other server error (501, 505, a CDN's 52x), an interim
		// answer, or a redirect after a write (the post-redirect-get of
		// a request that was carried out): nothing says the request was
		// left alone. A write may have landed; a read fails as it is.
		// Never retried: none of these is a documented transient refusal.
		// A provider's MapError that reads the answer as a definite
		// refusal (PayKeeper's redirect to its login page) is believed.
		err := c.mapError(req.Op, resp)
		if definiteRefusal(err) {
			return nil, "", err
		}
		return nil, "", c.unknownIf(req, req.Kind != Read, err)
	default:
		// 4xx: this attempt was refused, but an earlier one (answered
		// 500, or lost) may still have landed.
		return nil, "", c.unknownIf(req, maybeDelivered, c.mapError(req.Op, resp))
	}
}

func (c *Client) url(req *Request) string {
	if req.SiblingPath == "" && req.Path == "" && c.baseStr != "" {
		if req.RawQuery == "" {
			return c.baseStr
		}
		return c.baseStr + "?" + req.RawQuery
	}
	u := *c.base
	if req.SiblingPath != "" {
		dir := u.Path[:strings.LastIndex(u.Path, "/")+1]
		u.Path = dir + req.SiblingPath
	} else if req.Path != "" {
		u.Path = strings.TrimSuffix(u.Path, "/") + "/" + strings.TrimPrefix(req.Path, "/")
	}
	u.RawQuery = req.RawQuery
	return u.String()
}

// attempt sends once. written reports whether any byte may have left.
func (c *Client) attempt(ctx context.Context, req *Request, u string) (resp *Response, written bool, err error) {
	var (
		actx   context.Context
		cancel context.CancelFunc
		idle   *time.Timer // streams: the attempt ends after c.timeout without a byte
	)
	if req.Sink != nil {
		var cancelCause context.CancelCauseFunc
		actx, cancelCause = context.WithCancelCause(ctx)
		cancel = func() { cancelCause(nil) }
		idle = time.AfterFunc(c.timeout, func() { cancelCause(errStalled) })
		defer idle.Stop()
	} else {
		actx, cancel = context.WithTimeout(ctx, c.timeout)
	}
	defer cancel()
	var wrote atomic.Bool
	actx = httptrace.WithClientTrace(actx, &httptrace.ClientTrace{
		WroteHeaders: func() { wrote.Store(true) },
	})
	r := c.rc.R().SetContext(actx).SetDoNotParseResponse(true)
	// The client's own headers are shared slices of length and capacity 1:
	// an Add below appends to a copy, and resty clones the header map
	// (values included) into the *http.Request it sends.
	r.Header["User-Agent"] = c.uaHeader
	if c.authHeader != nil {
		r.Header["Authorization"] = c.authHeader
	}
	for k, vs := range req.Header {
		for _, v := range vs {
			r.Header.Add(k, v)
		}
	}
	if req.Body != nil {
		r.Header["Content-Type"] = []string{req.ContentType}
		if _, set := r.Header["Accept"]; !set && acceptsOwnType(req.ContentType) {
			// What resty would add itself (Accept: the Content-Type of a
			// JSON or XML body), without its regular expressions per call.
			r.Header["Accept"] = r.Header["Content-Type"]
		}
		r.SetBody(bytes.NewReader(req.Body))
	}
	if err := actx.Err(); err != nil {
		return nil, false, err // ended before anything was handed to the transport
	}
	rr, err := r.Execute(req.Method, u)
	if err != nil {
		return nil, c.writtenOnError(wrote.Load(), err), cleanErr(err)
	}
	raw := rr.RawResponse
	if raw == nil {
		err := errors.New("no response")
		return nil, c.writtenOnError(wrote.Load(), err), err
	}
	defer raw.Body.Close()
	out := &Response{Status: raw.StatusCode, Header: raw.Header}
	if req.Sink != nil && raw.StatusCode >= 200 && raw.StatusCode < 300 {
		body := &idleReader{r: raw.Body, t: idle, d: c.timeout}
		head := make([]byte, 4096)
		n, err := readHead(body, head)
		if err != nil {
			if errors.Is(context.Cause(actx), errStalled) {
				return nil, true, errStalled
			}
			return nil, true, cleanErr(err)
		}
		head = head[:n]
		if req.SinkCheck != nil {
			if err := req.SinkCheck(out, head); err != nil {
				return nil, true, &sinkRefused{err}
			}
		}
		if _, err := req.Sink.Write(head); err != nil {
			return nil, true, err
		}
		if _, err := io.Copy(req.Sink, body); err != nil {
			if errors.Is(context.Cause(actx), errStalled) {
				return nil, true, errStalled
			}
			return nil, true, cleanErr(err)
		}
		return out, true, nil
	}
	body, err := readCapped(raw.Body, raw.ContentLength, c.maxBody)
	if err != nil {
		if err == errTooLarge {
			return nil, true, err
		}
		return nil, true, cleanErr(err)
	}
	out.Body = body
	return out, true, nil
}

// maxBodyHint bounds the buffer readCapped allocates ahead on the word of a
// Content-Length: a server announcing more gets a buffer that grows as its
// bytes really arrive.
const maxBodyHint = 1 << 20

// readCapped reads r to its end, or fails with errTooLarge as soon as more
// than max bytes came. size is the announced length (-1: unknown); the
// buffer is allocated once when the answer keeps its word, with a spare byte
// so that the end is seen without growing it.
func readCapped(r io.Reader, size, max int64) ([]byte, error) {
	n := int64(512)
	if size >= 0 {
		n = min(size, max, maxBodyHint) + 1
	}
	b := make([]byte, 0, n)
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)] // grow
		}
		m, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+m]
		if int64(len(b)) > max {
			return nil, errTooLarge
		}
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

// acceptsOwnType reports whether resty would set Accept to ct (a JSON or
// XML media type, by its own test), remembered for the few content types a
// client sends.
func acceptsOwnType(ct string) bool {
	if v, ok := ownTypes.Load(ct); ok {
		return v.(bool)
	}
	own := ct != "" && (resty.IsJSONType(ct) || resty.IsXMLType(ct))
	if ownTypesLen.Add(1) <= maxOwnTypes {
		ownTypes.Store(ct, own)
	}
	return own
}

// ownTypes remembers acceptsOwnType's answer for up to maxOwnTypes content
// types (the providers send two or three constant ones).
var (
	ownTypes    sync.Map
	ownTypesLen atomic.Int64
)

const maxOwnTypes = 64

// writtenOnError decides whether an exchange that failed before any answer
// came may have put the request on its way to the provider. net/http (the
// built transport, or an *http.Transport given to WithTransport) says so
// through the WroteHeaders trace: traced. Any other RoundTripper given to
// WithTransport (httpmock, a tracing wrapper, a proxy client) cannot be seen
// into: whatever it returns may follow a write, unless it says
// payments.ErrNotSent. The attempt loop decides what to resend from this
// alone.
func (c *Client) writtenOnError(traced bool, err error) bool {
	if traced {
		return true
	}
	return c.opaque && !errors.Is(err, payments.ErrNotSent)
}

// definiteRefusal reports whether err is a provider's reading of an answer
// as a refusal of the request (a category other than ErrUnavailable).
func definiteRefusal(err error) bool {
	for _, cat := range []error{payments.ErrUnauthorized, payments.ErrForbidden, payments.ErrInvalidRequest,
		payments.ErrNotFound, payments.ErrDuplicate, payments.ErrInsufficientFunds, payments.ErrDeclined} {
		if errors.Is(err, cat) {
			return true
		}
	}
	return false
}

// readHead fills head as far as the body goes. Unlike io.ReadFull it tells a
// body that ended (io.EOF: fine, a short file) from one cut short
// (io.ErrUnexpectedEOF from the HTTP reader, or any other error).
func readHead(r io.Reader, head []byte) (int, error) {
	n := 0
	for n < len(head) {
		m, err := r.Read(head[n:])
		n += m
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// idleReader pushes the idle timer back each time bytes arrive, so a long
// download is cut only when it stalls, not when it is merely long.
type idleReader struct {
	r io.Reader
	t *time.Timer
	d time.Duration
}

func (r *idleReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if n > 0 {
		r.t.Reset(r.d)
	}
	return n, err
}

// cleanErr drops the *url.Error wrapper, whose text repeats the URL.
func cleanErr(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// retriable reports whether a failed exchange may be tried again (for the
// kinds that allow it). Certificate failures and an answer over the cap
// will not change by asking again.
func retriable(err error) bool {
	var (
		unknownAuth x509.UnknownAuthorityError
		hostErr     x509.HostnameError
		invalid     x509.CertificateInvalidError
		verifyErr   *tls.CertificateVerificationError
		alert       tls.AlertError
		recErr      tls.RecordHeaderError
	)
	switch {
	case errors.Is(err, errTooLarge),
		errors.As(err, &unknownAuth), errors.As(err, &hostErr), errors.As(err, &invalid),
		errors.As(err, &verifyErr), errors.As(err, &alert), errors.As(err, &recErr):
		return false
	}
	return true
}

func (c *Client) unknownIf(req *Request, maybe bool, err error) error {
	if maybe && req.Kind != Read {
		return &payments.OutcomeUnknownError{Provider: c.cfg.Provider, Op: req.Op, Ref: req.Ref, Err: err}
	}
	return err
}

// ctxErr is the error of a call whose context ended (or whose limiter
// refused): wrapped with the provider and the operation, still matching
// context.Canceled or context.DeadlineExceeded (and the cause, if any).
func (c *Client) ctxErr(ctx context.Context, req *Request, err error) error {
	if ce := ctx.Err(); ce != nil {
		if cause := context.Cause(ctx); cause != nil && cause != ce {
			return fmt.Errorf("%s %s: %w: %w", c.cfg.Provider, req.Op, ce, cause)
		}
		return fmt.Errorf("%s %s: %w", c.cfg.Provider, req.Op, ce)
	}
	if errors.Is(err, payments.ErrNilContext) {
		return err
	}
	return fmt.Errorf("%s %s: limiter: %w", c.cfg.Provider, req.Op, err)
}

// mapError builds the provider's error for a final answer, from a copy of
// the answer whose body has the client's secrets scrubbed out (before any
// snippet cuts one in half).
func (c *Client) mapError(op string, resp *Response) error {
	clean := *resp
	clean.Body = c.scrub.bytes(resp.Body)
	if c.cfg.MapError != nil {
		if err := c.cfg.MapError(op, &clean); err != nil {
			return err
		}
	}
	return GenericError(c.cfg.Provider, op, &clean)
}

// GenericError maps an HTTP status to an *payments.APIError with the
// answer's text (cut, card numbers masked) as its message.
func GenericError(provider, op string, resp *Response) *payments.APIError {
	e := &payments.APIError{
		Provider:   provider,
		Op:         op,
		HTTPStatus: resp.Status,
		Message:    Snippet(resp.Body),
		RetryAfter: resp.Header.Get("Retry-After"),
	}
	switch st := resp.Status; {
	case st == 401:
		e.Category = payments.ErrUnauthorized
	case st == 403:
		e.Category = payments.ErrForbidden
	case st == 404:
		e.Category = payments.ErrNotFound
	case st == 409:
		e.Category = payments.ErrDuplicate
	case st == 429:
		e.Category = payments.ErrRateLimited
	case st >= 400 && st < 500:
		e.Category = payments.ErrInvalidRequest
	default:
		e.Category = payments.ErrUnavailable
	}
	return e
}

// Snippet returns up to 200 characters of an answer body fit for an error
// message: valid UTF-8, one line, card numbers masked, an HTML page named as such.
func Snippet(b []byte) string {
	s := strings.TrimSpace(string(bytes.ToValidUTF8(b, []byte("?"))))
	if l := strings.ToLower(s); strings.HasPrefix(l, "<!doctype html") || strings.HasPrefix(l, "<html") {
		if i, j := strings.Index(l, "<title>"), strings.Index(l, "</title>"); i >= 0 && j > i {
			return "HTML page: " + Snippet([]byte(s[i+7:j]))
		}
		return "HTML page"
	}
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
	if utf8.RuneCountInString(s) > 200 {
		s = string([]rune(s)[:200]) + "…"
	}
	return payments.MaskPAN(s)
}

// backoff is the wait before attempt+1: exponential from BaseDelay with
// jitter, at least Retry-After when the provider sent one, capped at MaxDelay.
func (c *Client) backoff(attempt int, retryAfter string) time.Duration {
	d := c.retry.BaseDelay
	for i := 1; i < attempt && d < c.retry.MaxDelay; i++ {
		d *= 2
	}
	if d > c.retry.MaxDelay {
		d = c.retry.MaxDelay
	}
	d = c.jitter(d)
	if ra := parseRetryAfter(retryAfter, time.Now()); ra > d {
		d = ra
	}
	if d > c.retry.MaxDelay {
		d = c.retry.MaxDelay
	}
	return d
}

// fullJitter picks a wait in [d/2, d).
func fullJitter(d time.Duration) time.Duration {
	if d <= 1 {
		return d
	}
	return d/2 + rand.N(d/2+1)
}

func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n < 0 {
			return 0
		}
		// Beyond a day it is still a request to wait long: the caller's
		// MaxDelay caps it, it is never ignored.
		return time.Duration(min(n, 24*3600)) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return d
		}
	}
	return 0
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (c *Client) logAttempt(ctx context.Context, req *Request, u string, attempt int, start time.Time, resp *Response, written bool, err error) {
	if c.log == nil {
		return
	}
	level := slog.LevelDebug
	attrs := []slog.Attr{
		slog.String("provider", c.cfg.Provider),
		slog.String("op", req.Op),
		slog.String("method", req.Method),
		slog.String("host", c.base.Host),
		slog.String("path", pathOf(u)),
		slog.Int("attempt", attempt),
		slog.Duration("duration", time.Since(start)),
	}
	if req.Ref != "" {
		attrs = append(attrs, slog.String("ref", req.Ref))
	}
	if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
		attrs = append(attrs, slog.String("trace_id", sc.TraceID().String()), slog.String("span_id", sc.SpanID().String()))
	}
	if resp != nil {
		attrs = append(attrs, slog.Int("status", resp.Status), slog.Int("bytes", len(resp.Body)))
		if resp.Status >= 400 {
			level = slog.LevelWarn
		}
	}
	if err != nil {
		level = slog.LevelWarn
		attrs = append(attrs, slog.Bool("written", written), slog.String("error", c.scrub.text(payments.MaskPAN(err.Error()))))
	}
	c.log.LogAttrs(ctx, level, "payments attempt", attrs...)
}

func pathOf(u string) string {
	if p, err := url.Parse(u); err == nil {
		return p.Path
	}
	return ""
}

// MalformedCode is the APIError code of a successful answer the client
// could not read.
const MalformedCode = "malformed-answer"

// Malformed is the error of an answer the client could not read: category
// ErrUnavailable, the reason and a safe snippet of the body in its message.
// A provider wraps it in an OutcomeUnknownError when the request was a write.
func Malformed(provider, op string, status int, body []byte, reason error) *payments.APIError {
	return &payments.APIError{Provider: provider, Op: op, HTTPStatus: status, Code: MalformedCode,
		Message: "unreadable answer (" + reason.Error() + "): " + Snippet(body), Category: payments.ErrUnavailable}
}

// IsMalformed reports whether err is (or wraps) a Malformed error.
func IsMalformed(err error) bool {
	var api *payments.APIError
	return errors.As(err, &api) && api.Code == MalformedCode
}
