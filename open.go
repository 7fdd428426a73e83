package payments

import (
	"fmt"
	"math"
	"net/url"
	"os"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"
)

// OpenConfig is what an opener of the portable packages (payout.Open,
// payin.Open) hands a provider's driver: the parsed URL, the credentials given
// explicitly, the environment to read the others from, and the client
// options to build the provider client with.
//
// Credentials never come from the URL: a URL with user info is refused, so a
// URL can be logged and kept in configuration files.
type OpenConfig struct {
	URL *url.URL
	// Credentials are the provider package's own Credentials value (or Auth
	// for qiwitopup), when given with OpenCredentials; nil means the driver
	// reads its documented environment variables.
	Credentials any
	// LookupEnv reads the environment (os.LookupEnv unless OpenEnv replaced it).
	LookupEnv func(string) (string, bool)
	// Options are given to the provider client's New.
	Options []Option
}

// OpenOption adjusts an OpenConfig.
type OpenOption func(*OpenConfig)

// OpenCredentials gives the driver its credentials explicitly: the provider
// package's Credentials (popolni.Credentials, paykeeper.Credentials,
// royalpay.Credentials) or qiwitopup.Auth. The driver refuses a value of
// another type.
func OpenCredentials(c any) OpenOption { return func(o *OpenConfig) { o.Credentials = c } }

// OpenClientOptions passes options to the provider client (a limiter, a base
// URL, a fake server's ClientOptions...).
func OpenClientOptions(opts ...Option) OpenOption {
	return func(o *OpenConfig) { o.Options = append(o.Options, opts...) }
}

// OpenEnv replaces os.LookupEnv as the source of credentials (tests, secret
// managers).
func OpenEnv(lookup func(string) (string, bool)) OpenOption {
	return func(o *OpenConfig) { o.LookupEnv = lookup }
}

// NewOpenConfig parses rawURL and applies opts. The URL must have a scheme
// and no user info, and its query parameters are checked against allowed by
// [OpenConfig.Query].
func NewOpenConfig(rawURL string, opts ...OpenOption) (*OpenConfig, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, &ValidationError{Field: "url", Reason: "not a URL"}
	}
	if u.User != nil {
		return nil, &ValidationError{Field: "url", Reason: "credentials in the URL are not accepted: use the documented environment variables or OpenCredentials"}
	}
	if u.Scheme == "" {
		return nil, &ValidationError{Field: "url", Reason: "no scheme: expected a URL like popolni://"}
	}
	c := &OpenConfig{URL: u, LookupEnv: os.LookupEnv}
	for _, o := range opts {
		if o != nil {
			o(c)
		}
	}
	return c, nil
}

// Env returns the environment variable name, or a *ValidationError naming
// it when it is unset or empty.
func (c *OpenConfig) Env(name string) (string, error) {
	v, ok := c.LookupEnv(name)
	if !ok || v == "" {
		return "", &ValidationError{Field: name, Reason: "credential missing: set the environment variable " + name + " or pass OpenCredentials"}
	}
	return v, nil
}

// OptionalEnv returns the environment variable name, or "".
func (c *OpenConfig) OptionalEnv(name string) string {
	v, _ := c.LookupEnv(name)
	return v
}

// Query returns the URL's query parameters, refusing any not in allowed
// (a typo must not be silently ignored) and any given twice.
func (c *OpenConfig) Query(allowed ...string) (map[string]string, error) {
	q, err := url.ParseQuery(c.URL.RawQuery)
	if err != nil {
		return nil, &ValidationError{Field: "url", Reason: "bad query string"}
	}
	out := map[string]string{}
	for k, vs := range q {
		ok := false
		for _, a := range allowed {
			ok = ok || a == k
		}
		if !ok {
			sort.Strings(allowed)
			return nil, &ValidationError{Field: "url", Reason: "unknown parameter " + k + " (known: " + strings.Join(allowed, ", ") + ")"}
		}
		if len(vs) != 1 {
			return nil, &ValidationError{Field: "url", Reason: "parameter " + k + " given more than once"}
		}
		out[k] = vs[0]
	}
	return out, nil
}

// OpenParams reads what a driver's opener needs from an [OpenConfig]: URL
// parameters, environment variables, and the client options they make.
// Every reader records the first refusal (a *[ValidationError]) and Err
// returns it, so an opener is a list of declarations followed by one check:
//
//	p := cfg.Params("base_url", "poll_interval")
//	cred := payments.ReadCredentials(p, "royalpay", func() royalpay.Credentials {
//		return royalpay.Credentials{Token: p.Env("ROYALPAY_TOKEN")}
//	})
//	p.BaseURL("base_url", "ROYALPAY_URL")
//	poll := p.Duration("poll_interval", 0, "10s")
//	if err := p.Err(); err != nil {
//		return nil, err
//	}
//	c, err := royalpay.New(cred, p.Options()...)
//
// Nothing is sent and no refusal quotes a credential.
type OpenParams struct {
	cfg  *OpenConfig
	q    map[string]string
	err  error
	opts []Option
}

// Params starts reading c: the URL's query parameters are checked against
// known (an unknown one, or one given twice, is refused as by
// [OpenConfig.Query]).
func (c *OpenConfig) Params(known ...string) *OpenParams {
	q, err := c.Query(known...)
	if q == nil {
		q = map[string]string{}
	}
	return &OpenParams{cfg: c, q: q, err: err}
}

// Err is the first refusal of any reader, or nil.
func (p *OpenParams) Err() error { return p.err }

// Refuse records a refusal of field for reason (the driver's own checks),
// unless an earlier one is recorded.
func (p *OpenParams) Refuse(field, reason string) {
	if p.err == nil {
		p.err = &ValidationError{Field: field, Reason: reason}
	}
}

// Config is the OpenConfig being read.
func (p *OpenParams) Config() *OpenConfig { return p.cfg }

// Env is the required environment variable name (a credential): unset or
// empty, it records a refusal naming the variable and returns "".
func (p *OpenParams) Env(name string) string {
	v, err := p.cfg.Env(name)
	if err != nil && p.err == nil {
		p.err = err
	}
	return v
}

// OptionalEnv is the first of the environment variables names that is set
// and not empty, or "".
func (p *OpenParams) OptionalEnv(names ...string) string {
	for _, n := range names {
		if v := p.cfg.OptionalEnv(n); v != "" {
			return v
		}
	}
	return ""
}

// String is the URL parameter param, or else the first of the environment
// variables envs that is set, or "".
func (p *OpenParams) String(param string, envs ...string) string {
	if v := p.q[param]; v != "" {
		return v
	}
	return p.OptionalEnv(envs...)
}

// BaseURL reads the base URL like String and, when there is one, adds
// [WithBaseURL] of it to Options. It returns it ("" when none).
func (p *OpenParams) BaseURL(param string, envs ...string) string {
	v := p.String(param, envs...)
	if v != "" {
		p.opts = append(p.opts, WithBaseURL(v))
	}
	return v
}

// LocalAddr reads a source address like String and, when there is one,
// adds [WithLocalAddr] of it to Options.
func (p *OpenParams) LocalAddr(param string, envs ...string) {
	if v := p.String(param, envs...); v != "" {
		p.opts = append(p.opts, WithLocalAddr(v))
	}
}

// Resolve adds [WithResolve](host, the parameter's value) to Options when
// the URL has param.
func (p *OpenParams) Resolve(param, host string) {
	if v := p.q[param]; v != "" {
		p.opts = append(p.opts, WithResolve(host, v))
	}
}

// Duration is the URL parameter param as a positive duration, def when it is
// absent. Another value records the refusal "a positive duration such as
// <example>".
func (p *OpenParams) Duration(param string, def time.Duration, example string) time.Duration {
	v := p.q[param]
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		p.Refuse(param, "a positive duration such as "+example)
		return def
	}
	return d
}

// Bool is the URL parameter param as strconv.ParseBool reads it, def when
// it is absent. Another value records the refusal "true or false".
func (p *OpenParams) Bool(param string, def bool) bool {
	v := p.q[param]
	if v == "" {
		return def
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		p.Refuse(param, "true or false")
		return def
	}
	return b
}

// Int is the URL parameter param as a decimal integer from lo to hi, def
// when it is absent. Another value records the refusal reason.
func (p *OpenParams) Int(param string, def, lo, hi int64, reason string) int64 {
	v := p.q[param]
	if v == "" {
		return def
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < lo || n > hi {
		p.Refuse(param, reason)
		return def
	}
	return n
}

// Rate is the URL parameter param as a positive finite number, 0 when it
// is absent. Another value records the refusal reason.
func (p *OpenParams) Rate(param, reason string) float64 {
	v := p.q[param]
	if v == "" {
		return 0
	}
	r, err := strconv.ParseFloat(v, 64)
	if err != nil || r <= 0 || math.IsInf(r, 0) || math.IsNaN(r) {
		p.Refuse(param, reason)
		return 0
	}
	return r
}

// Options are the client options the readers made (BaseURL, LocalAddr,
// Resolve), followed by the caller's [OpenClientOptions], which therefore
// win.
func (p *OpenParams) Options() []Option {
	return append(append([]Option(nil), p.opts...), p.cfg.Options...)
}

// ReadCredentials is the driver's credentials of type T: the value given
// with [OpenCredentials], or, when none was, what fromEnv reads (with
// p.Env, which records a missing variable). A value of another type records
// the refusal "<provider> takes <T>, not <its type>" and returns the zero T;
// it never quotes the value.
func ReadCredentials[T any](p *OpenParams, provider string, fromEnv func() T) T {
	var zero T
	switch c := p.cfg.Credentials.(type) {
	case nil:
		return fromEnv()
	case T:
		return c
	default:
		p.Refuse("credentials", fmt.Sprintf("%s takes %s, not %T", provider, reflect.TypeFor[T](), c))
		return zero
	}
}
