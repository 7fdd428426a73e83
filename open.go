package payments

import (
	"net/url"
	"os"
	"sort"
	"strings"
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
