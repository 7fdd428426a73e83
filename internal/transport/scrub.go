package transport

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"html"
	"net/url"
	"strings"
	"sync"

	"github.com/paysdk/payments"
)

// redactedMark replaces a secret found in a provider's text.
const redactedMark = "[REDACTED]"

// maxDynamicSecrets bounds the secrets learnt at run time (PayKeeper's
// security token is renewed every 24 hours: the last few are kept).
const maxDynamicSecrets = 4

// minSecretLen is the shortest secret scrubbed: a shorter one would blank
// ordinary words and digits of every message (and is no secret worth the name).
const minSecretLen = 3

// scrubber removes the client's own secrets from provider texts. A server or
// a proxy that echoes the request (Authorization header, password element,
// token) into its error page must not put them into an error.
type scrubber struct {
	static []string // variants of the configured secrets, longest first

	mu      sync.RWMutex
	dynamic []string // variants of the secrets learnt later
}

// variants returns the forms a secret takes when echoed: as is, URL-, XML-,
// JSON-escaped, and as base64 (the Basic header).
func variants(secret string) []string {
	if len(secret) < minSecretLen {
		return nil
	}
	vs := []string{secret, url.QueryEscape(secret), url.PathEscape(secret), html.EscapeString(secret),
		strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;", "'", "&apos;").Replace(secret),
		base64.StdEncoding.EncodeToString([]byte(secret)), base64.RawURLEncoding.EncodeToString([]byte(secret))}
	if b, err := json.Marshal(secret); err == nil {
		vs = append(vs, string(b[1:len(b)-1]))
	}
	out := vs[:0]
	seen := map[string]bool{}
	for _, v := range vs {
		if len(v) >= minSecretLen && !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	return out
}

func newScrubber(secrets []string) *scrubber {
	s := &scrubber{}
	for _, sec := range secrets {
		s.static = append(s.static, variants(sec)...)
	}
	return s
}

func (s *scrubber) add(secret string) {
	vs := variants(secret)
	if len(vs) == 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dynamic = append(s.dynamic, vs...)
	if limit := maxDynamicSecrets * len(vs); len(s.dynamic) > limit {
		s.dynamic = append([]string(nil), s.dynamic[len(s.dynamic)-limit:]...)
	}
}

func (s *scrubber) all() []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if len(s.dynamic) == 0 {
		return s.static
	}
	return append(append([]string(nil), s.static...), s.dynamic...)
}

// text replaces every secret in t, and a cut-off secret at the end of a text
// shortened with "…" (Snippet's cut).
func (s *scrubber) text(t string) string {
	secrets := s.all()
	for _, sec := range secrets {
		if strings.Contains(t, sec) {
			t = strings.ReplaceAll(t, sec, redactedMark)
		}
	}
	if body, ok := strings.CutSuffix(t, "…"); ok {
		for _, sec := range secrets {
			for n := len(sec) - 1; n >= minSecretLen; n-- {
				if strings.HasSuffix(body, sec[:n]) {
					return body[:len(body)-n] + redactedMark + "…"
				}
			}
		}
	}
	return t
}

// bytes is text for a body, before Snippet cuts it.
func (s *scrubber) bytes(b []byte) []byte {
	secrets := s.all()
	for _, sec := range secrets {
		if strings.Contains(string(b), sec) {
			b = []byte(strings.ReplaceAll(string(b), sec, redactedMark))
		}
	}
	return b
}

// err scrubs the texts of every *payments.APIError in err's tree, in place
// (they are built fresh for each call), and returns err.
func (s *scrubber) err(err error) error {
	walk(err, func(e error) {
		if api, ok := e.(*payments.APIError); ok && api != nil {
			api.Message = s.text(api.Message)
			api.Code = s.text(api.Code)
		}
	})
	return err
}

func walk(err error, f func(error)) {
	for depth := 0; err != nil && depth < 32; depth++ {
		f(err)
		switch u := err.(type) {
		case interface{ Unwrap() []error }:
			for _, e := range u.Unwrap() {
				walk(e, f)
			}
			return
		case interface{ Unwrap() error }:
			err = u.Unwrap()
		default:
			return
		}
	}
}

// ScrubError removes the client's secrets (credentials given at New and those
// added with AddSecret) from the provider texts kept in err: every
// *payments.APIError's Message and Code. Provider packages call it on every
// error they build from an answer body themselves; Do already applies it.
func (c *Client) ScrubError(err error) error { return c.scrub.err(err) }

// ScrubText removes the client's secrets from t.
func (c *Client) ScrubText(t string) string { return c.scrub.text(t) }

// AddSecret makes the client scrub secret (and its escaped forms) from every
// later error: a security token fetched at run time. The last few added are
// kept.
func (c *Client) AddSecret(secret string) { c.scrub.add(secret) }

// Malformed is [Malformed] with the client's secrets scrubbed from body first.
func (c *Client) Malformed(op string, status int, body []byte, reason error) *payments.APIError {
	e := Malformed(c.cfg.Provider, op, status, c.scrub.bytes(body), reason)
	e.Message = c.scrub.text(e.Message)
	return e
}

// ErrClosed is the cause of every call made after Close: nothing is sent.
var ErrClosed = errors.New("client closed")
