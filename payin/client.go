package payin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/internal/portable"
	"github.com/paysdk/payments/internal/registry"
	"github.com/paysdk/payments/internal/telemetry"
)

var drivers = registry.New[Driver]("payin")

// Register makes scheme open with opener. Driver packages call it in init;
// it panics if scheme is taken.
func Register(scheme string, opener func(ctx context.Context, cfg *payments.OpenConfig) (Driver, error)) {
	drivers.Register(scheme, opener)
}

// Schemes lists the registered schemes.
func Schemes() []string { return drivers.Schemes() }

// Open opens the pay-in provider named by rawURL's scheme ("paykeeper://",
// "royalpay://"; see each driver package for its parameters and environment
// variables). Credentials come from the documented environment variables or
// payments.OpenCredentials, never from the URL. Open sends nothing.
func Open(ctx context.Context, rawURL string, opts ...payments.OpenOption) (*Client, error) {
	d, err := drivers.Open(ctx, rawURL, opts...)
	if err != nil {
		return nil, err
	}
	return NewClient(d), nil
}

// Client is the portable pay-in client over one driver. Safe for concurrent use.
type Client struct {
	d    Driver
	caps Capabilities
}

// New wraps a driver (usually made by a driver package's New for an
// existing provider client; Open makes one by configuration). A nil driver,
// or a nil pointer of a driver type, is refused with a
// *payments.ValidationError. Nothing is sent.
func New(d Driver) (*Client, error) {
	if err := registry.CheckDriver(d); err != nil {
		return nil, err
	}
	return &Client{d: d, caps: d.Capabilities()}, nil
}

// NewClient is New for a driver known to be there: it panics at once, with
// a message saying so, on a nil driver, instead of on the first call.
func NewClient(d Driver) *Client {
	c, err := New(d)
	return portable.Must(c, err, "payin.NewClient")
}

// Provider names the provider.
func (c *Client) Provider() string { return c.caps.Provider }

// Capabilities describes what the provider does.
func (c *Client) Capabilities() Capabilities { return c.caps }

// Check refuses, with a *payments.ValidationError, a request the provider
// cannot take. Nothing is sent.
func (c *Client) Check(r Request) error {
	if r.OrderRef == "" {
		return &payments.ValidationError{Field: "order_ref", Reason: "required"}
	}
	if len(r.OrderRef) > 64 || strings.ContainsAny(r.OrderRef, "\r\n\x00") {
		return &payments.ValidationError{Field: "order_ref", Reason: "at most 64 characters on one line"}
	}
	if err := r.Amount.Validate(); err != nil {
		return err
	}
	if r.Amount.Sign() <= 0 {
		return &payments.ValidationError{Field: "amount", Reason: "must be positive"}
	}
	ok := false
	for _, cur := range c.caps.Currencies {
		ok = ok || cur == r.Amount.Currency
	}
	if !ok {
		return &payments.ValidationError{Field: "amount", Reason: fmt.Sprintf("%s does not take %s", c.caps.Provider, r.Amount.Currency)}
	}
	if !c.caps.Supports(r.Method) {
		return &payments.ValidationError{Field: "method", Reason: fmt.Sprintf("%s does not offer %s", c.caps.Provider, r.Method)}
	}
	for _, f := range [...]struct{ name, v string }{{"callback_url", r.CallbackURL}, {"return_url", r.ReturnURL}} {
		name, v := f.name, f.v
		if v == "" {
			continue
		}
		u, err := url.Parse(v)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil || len(v) > 2048 {
			return &payments.ValidationError{Field: name, Reason: "an absolute http(s) URL without credentials, at most 2048 characters"}
		}
	}
	return nil
}

// Create opens a checkout for an order and returns what the payer needs (a
// payment link and/or requisites). Not resent on a lost answer: on
// payments.ErrOutcomeUnknown wait for the order's notification or look the
// checkout up in the provider's cabinet before creating another.
func (c *Client) Create(ctx context.Context, r Request) (Checkout, error) {
	if ctx == nil {
		return Checkout{}, payments.ErrNilContext
	}
	if err := c.Check(r); err != nil {
		return Checkout{}, err
	}
	if err := portable.CheckContext(ctx, c.caps.Provider, "create"); err != nil {
		return Checkout{}, err
	}
	return c.d.Create(ctx, r)
}

// Get returns the checkout with the provider's id; payments.ErrNotFound when
// there is none. A read: always safe.
func (c *Client) Get(ctx context.Context, id string) (Checkout, error) {
	if ctx == nil {
		return Checkout{}, payments.ErrNilContext
	}
	if id == "" || len(id) > 64 {
		return Checkout{}, &payments.ValidationError{Field: "id", Reason: "required, at most 64 characters"}
	}
	return c.d.Get(ctx, id)
}

// Refund returns money on a paid checkout, all of it (Full) or part
// (Amount). A provider without refunds answers payments.ErrNotSupported
// before anything is sent. Never resent on a lost answer.
func (c *Client) Refund(ctx context.Context, r RefundRequest) (Refund, error) {
	if ctx == nil {
		return Refund{}, payments.ErrNilContext
	}
	if !c.caps.Refunds {
		return Refund{}, fmt.Errorf("%s refund: %w", c.caps.Provider, payments.ErrNotSupported)
	}
	if r.ID == "" || len(r.ID) > 64 {
		return Refund{}, &payments.ValidationError{Field: "id", Reason: "required, at most 64 characters"}
	}
	switch {
	case r.Full && (r.Amount.Currency != "" || !r.Amount.IsZero()):
		return Refund{}, &payments.ValidationError{Field: "amount", Reason: "a full refund takes no amount"}
	case !r.Full:
		if err := r.Amount.Validate(); err != nil {
			return Refund{}, err
		}
		if r.Amount.Sign() <= 0 {
			return Refund{}, &payments.ValidationError{Field: "amount", Reason: "must be positive; set Full to refund everything"}
		}
		ok := false
		for _, cur := range c.caps.Currencies {
			ok = ok || cur == r.Amount.Currency
		}
		if !ok {
			return Refund{}, &payments.ValidationError{Field: "amount", Reason: fmt.Sprintf("%s does not take %s", c.caps.Provider, r.Amount.Currency)}
		}
		if !c.caps.PartialRefunds {
			return Refund{}, fmt.Errorf("%s partial refund: %w", c.caps.Provider, payments.ErrNotSupported)
		}
	}
	return c.d.Refund(ctx, r)
}

// As sets target to the provider's own value (its *Client).
func (c *Client) As(target any) bool { return c.d.As(target) }

// Driver returns the driver under c.
func (c *Client) Driver() Driver { return c.d }

// Close releases the provider client's connections.
func (c *Client) Close() error { return c.d.Close() }

// String names the provider.
func (c *Client) String() string { return "payin.Client{" + c.caps.Provider + "}" }

// Format prints String for every verb.
func (c *Client) Format(f fmt.State, _ rune) { io.WriteString(f, c.String()) }

// NewHandler serves the notifications of every client under one prefix:
// a request whose path ends in "/<provider>" ("/notify/paykeeper",
// "/notify/royalpay") goes to that client's verified handler, which calls
// handle with the confirmed Event. Any other path is 404; only POST is
// accepted. Set the returned Handler's TracerProvider and MeterProvider,
// if at all, before it serves its first request.
func NewHandler(handle Handle, clients ...*Client) (*Handler, error) {
	if handle == nil {
		return nil, &payments.ValidationError{Field: "handle", Reason: "required"}
	}
	if len(clients) == 0 {
		return nil, &payments.ValidationError{Field: "clients", Reason: "at least one is required"}
	}
	h := &Handler{routes: map[string]http.Handler{}}
	for _, c := range clients {
		name := c.Provider()
		if _, dup := h.routes[name]; dup {
			return nil, &payments.ValidationError{Field: "clients", Reason: "two clients of " + name + ": mount them separately"}
		}
		nh, err := c.d.Notifications(handle)
		if err != nil {
			return nil, err
		}
		h.routes[name] = nh
	}
	return h, nil
}

// Handler is the http.Handler NewHandler returns: it routes each
// notification to its provider's verified handler.
//
// # Telemetry
//
// Each request is a span "payin notification" (server kind; internal when
// the request's context already carries a span, e.g. an otelhttp
// middleware's), the parent of the provider handler's own span
// ("paykeeper notification", "royalpay callback") and so of the
// confirmation through the provider's API. It carries payments.provider
// (the route's, once matched), payments.result (accepted for a 2xx answer,
// else refused), http.response.status_code, and payments.reason for the
// refusals the router makes itself: route (no client for the path, 404)
// and method (not a POST, 405). Those two are counted in
// payments.notifications (payments.provider "" for an unknown route:
// the path is the sender's to choose, never an attribute); the notifications
// routed on are counted by the provider's handler, once.
type Handler struct {
	// TracerProvider makes the "payin notification" spans; nil means the
	// global one (otel.GetTracerProvider), which records nothing until the
	// application sets it. The providers' handlers inside use their
	// clients' telemetry.
	TracerProvider trace.TracerProvider
	// MeterProvider makes the payments.notifications counter of the
	// router's refusals; nil means the global one.
	MeterProvider metric.MeterProvider

	routes map[string]http.Handler

	mu  sync.Mutex
	tel *handlerTel // made at the first request, under mu
}

// Refusal reasons of the router (payments.reason).
const (
	reasonRoute  = "route"  // no client for the path, 404
	reasonMethod = "method" // not a POST, 405
)

// ServeHTTP routes one notification; see Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	t := h.telemetry()
	// The request's context only: the span is never the child of a trace
	// context read from the request's headers (traceparent), which anyone
	// on the internet can write, choosing our trace ids.
	ctx := r.Context()
	kind := trace.SpanKindServer
	if trace.SpanContextFromContext(ctx).IsValid() {
		kind = trace.SpanKindInternal
	}
	ctx, span := t.tracer.Start(ctx, "payin notification", trace.WithSpanKind(kind))
	defer span.End()
	p := strings.TrimSuffix(r.URL.Path, "/")
	name := p[strings.LastIndexByte(p, '/')+1:]
	nh, ok := h.routes[name]
	if !ok {
		t.refused(ctx, span, "", reasonRoute, http.StatusNotFound)
		http.NotFound(w, r)
		return
	}
	if span.IsRecording() {
		span.SetAttributes(telemetry.Provider.String(name))
	}
	if r.Method != http.MethodPost {
		t.refused(ctx, span, name, reasonMethod, http.StatusMethodNotAllowed)
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if span.SpanContext().IsValid() {
		r = r.WithContext(ctx) // the provider's handler's span is this one's child
	}
	if !span.IsRecording() {
		nh.ServeHTTP(w, r)
		return
	}
	sw := &statusWriter{ResponseWriter: w}
	nh.ServeHTTP(sw, r)
	status := sw.status
	if status == 0 {
		status = http.StatusOK // net/http's answer when the handler wrote nothing
	}
	result := "accepted"
	if status < 200 || status > 299 {
		result = "refused"
	}
	span.SetAttributes(telemetry.Result.String(result), telemetry.HTTPStatus.Int(status))
	if status >= 500 {
		span.SetStatus(codes.Error, http.StatusText(status))
	}
}

// handlerTel is a Handler's tracer and counter.
type handlerTel struct {
	tracer trace.Tracer
	count  metric.Int64Counter
}

// telemetry is the handler's telemetry, made at its first request from
// TracerProvider and MeterProvider, else the global providers.
func (h *Handler) telemetry() *handlerTel {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.tel == nil {
		tp, mp := h.TracerProvider, h.MeterProvider
		if tp == nil {
			tp = otel.GetTracerProvider()
		}
		if mp == nil {
			mp = otel.GetMeterProvider()
		}
		t := &handlerTel{tracer: tp.Tracer(telemetry.Scope)}
		var err error
		t.count, err = mp.Meter(telemetry.Scope).Int64Counter("payments.notifications", metric.WithUnit("{notification}"),
			metric.WithDescription("Notifications and callbacks received, by provider, result (accepted, refused) and the reason of a refusal."))
		if err != nil { // only for a bad name; the instrument works anyway
			otel.Handle(err)
		}
		h.tel = t
	}
	return h.tel
}

// refused records a refusal of the router: on the span, and counted.
func (t *handlerTel) refused(ctx context.Context, span trace.Span, provider, reason string, status int) {
	if span.IsRecording() {
		span.SetAttributes(telemetry.Result.String("refused"), telemetry.Reason.String(reason), telemetry.HTTPStatus.Int(status))
	}
	if t.count.Enabled(ctx) {
		t.count.Add(ctx, 1, metric.WithAttributes(telemetry.Provider.String(provider),
			telemetry.Result.String("refused"), telemetry.Reason.String(reason)))
	}
}

// statusWriter keeps the status a provider's handler answered.
type statusWriter struct {
	http.ResponseWriter
	status int
}

// WriteHeader keeps the first final (not 1xx) status and passes it on.
func (w *statusWriter) WriteHeader(status int) {
	if w.status == 0 && status >= 200 {
		w.status = status
	}
	w.ResponseWriter.WriteHeader(status)
}

// Write answers 200 when no status was written, as net/http does.
func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap is the ResponseWriter underneath, for http.ResponseController.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// ErrNotConfirmed is the cause a driver's handler gives when a notification
// does not match what the provider's API says (a forgery, or a stale one).
var ErrNotConfirmed = errors.New("payin: notification not confirmed by the provider's API")
