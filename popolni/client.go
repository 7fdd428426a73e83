package popolni

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/internal/telemetry"
	"github.com/paysdk/payments/internal/transport"
)

// DefaultURL is the API endpoint of the document: every request, payments,
// statuses and balance, goes to this one URL.
const DefaultURL = "https://popolni.club/api"

// DefaultPollInterval is WaitFinal's pause between status requests: the
// document's recommended minimum ("не менее 10 секунд").
const DefaultPollInterval = 10 * time.Second

const provider = "popolni"

// Credentials are the API login and password from the popolni.club cabinet
// (the password can be regenerated there). They never print the password,
// whatever the fmt verb, nor through log/slog.
type Credentials struct {
	Login    string
	Password string
}

// String shows the login only.
func (c Credentials) String() string {
	return "popolni.Credentials{Login: " + c.Login + ", Password: [REDACTED]}"
}

// GoString shows the login only.
func (c Credentials) GoString() string { return c.String() }

// Format shows the login only, for every verb (%d of a plain struct would
// print the password).
func (c Credentials) Format(f fmt.State, verb rune) { formatAs(f, verb, c.String(), c.GoString()) }

// LogValue shows the login only.
func (c Credentials) LogValue() slog.Value {
	return slog.GroupValue(slog.String("login", c.Login), slog.String("password", "[REDACTED]"))
}

// Client talks to popolni.club for one partner account. It is immutable and
// safe for concurrent use; make one per account and reuse it.
//
// Printed with any fmt verb or logged through log/slog, it shows the login
// and the URL, never the password or the Authorization header. Every method
// given a nil context returns payments.ErrNilContext. Close it when done.
//
// Each method that sends a request (Pay, Status, Balance) is one
// OpenTelemetry operation, span "popolni pay", "popolni status" or "popolni
// balance" with its HTTP attempts as children, recorded with the providers
// of payments.WithTracerProvider and payments.WithMeterProvider (the global
// ones by default, which record nothing until the application sets them).
// StatusConfirmed and WaitFinal are made of Status operations.
type Client struct {
	t            *transport.Client
	tel          *telemetry.Telemetry
	login        string
	pollInterval time.Duration
}

// New returns a client for the account. It sends nothing. Options are those
// of package payments; by default the client goes to DefaultURL, at most 5
// requests a second spaced 200 ms apart (the document's limit), verifying
// the server's certificate against the system roots.
//
// The document asks partners to pin the source address (payments.WithLocalAddr)
// and to resolve popolni.club locally (payments.WithResolve).
func New(cred Credentials, opts ...payments.Option) (*Client, error) {
	if cred.Login == "" || cred.Password == "" {
		return nil, &payments.ValidationError{Field: "credentials", Reason: "login and password are required"}
	}
	if strings.Contains(cred.Login, ":") {
		return nil, &payments.ValidationError{Field: "credentials.Login", Reason: "must not contain ':' (HTTP Basic authentication)"}
	}
	t, err := transport.New(transport.Config{
		Provider:       provider,
		DefaultBaseURL: DefaultURL,
		Auth:           transport.BasicAuth(cred.Login, cred.Password),
		MapError:       mapError,
		// Document, section 1: "Появление данной ошибки никак не связано с
		// обработкой транзакций по API, и означает то, что сервер отверг
		// запрос и необходимо повторить запрос снова после временной
		// задержки": a 503 is refused unprocessed, so even a pay is sent
		// again after it. The document says nothing of 429.
		Unprocessed: func(status int) bool { return status == http.StatusServiceUnavailable },
	}, opts...)
	if err != nil {
		return nil, err
	}
	return &Client{t: t, tel: t.Telemetry(), login: cred.Login, pollInterval: DefaultPollInterval}, nil
}

// String shows the login and the URL.
func (c Client) String() string {
	return "popolni.Client{Login: " + c.login + ", URL: " + c.url() + "}"
}

// GoString is String.
func (c Client) GoString() string { return c.String() }

// Format prints String for every verb: the transport inside holds the
// Authorization header and the password, which %s or %d of a plain struct
// would print.
func (c Client) Format(f fmt.State, verb rune) { formatAs(f, verb, c.String(), c.GoString()) }

// LogValue shows the login and the URL.
func (c Client) LogValue() slog.Value {
	return slog.GroupValue(slog.String("login", c.login), slog.String("url", c.url()))
}

func (c Client) url() string {
	if c.t == nil {
		return ""
	}
	return c.t.BaseURL().String()
}

// WithPollInterval returns a copy of c whose WaitFinal pauses d between
// status requests. The document recommends no less than 10 seconds; shorter
// is for tests against popolnitest.
func (c *Client) WithPollInterval(d time.Duration) *Client {
	cp := *c
	if d > 0 {
		cp.pollInterval = d
	}
	return &cp
}

// mapError turns a non-2xx answer into a *payments.APIError. A 403 carries
// one of the document's texts; 503 is the rate limit, refused unprocessed.
func mapError(op string, r *transport.Response) error {
	e := transport.GenericError(provider, op, r)
	switch r.Status {
	case http.StatusForbidden:
		text := strings.TrimSpace(string(r.Body))
		for _, d := range denials {
			if text == string(d) {
				e.Code, e.Message, e.Category, e.Detail = string(d), string(d), d.category(), d
				return e
			}
		}
	case http.StatusServiceUnavailable:
		// Document, section 1: 503 means the server refused the request
		// because of the rate limit, unrelated to processing.
		e.Category = payments.ErrRateLimited
	}
	return e
}

// malformed is the error of a 2xx answer the client cannot read. It goes
// through the transport's scrubber: a server or proxy that echoes the
// request into its answer must not put the Basic token or the password into
// the error.
func (c *Client) malformed(op string, resp *transport.Response, err error) *payments.APIError {
	return c.t.Malformed(op, resp.Status, resp.Body, err)
}

var errNoIDs = errors.New("at least one transaction id is required")

// Close releases the client's idle connections and the goroutines that
// keep them, and makes every later call fail before anything is sent (a
// *payments.TransportError matching payments.ErrUnavailable). Calls in
// flight finish. The copies made by WithPollInterval share the connections:
// closing one closes them all. Close is safe to call more than once and
// always returns nil.
func (c *Client) Close() error { return c.t.Close() }

// ctxErr is the error of a call whose context ended outside the transport
// (WaitFinal's pause): wrapped with the provider and the operation, still
// matching context.Canceled or context.DeadlineExceeded, and the cause.
func ctxErr(ctx context.Context, op string) error {
	ce := ctx.Err()
	if cause := context.Cause(ctx); cause != nil && cause != ce {
		return fmt.Errorf("%s %s: %w: %w", provider, op, ce, cause)
	}
	return fmt.Errorf("%s %s: %w", provider, op, ce)
}
