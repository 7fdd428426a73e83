package fakeserver

import (
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Queue is a first-in first-out queue of faults, one per request. The zero
// value is empty and ready; it is safe for concurrent use.
type Queue[F any] struct {
	mu    sync.Mutex
	items []F
}

// Add appends n copies of f.
func (q *Queue[F]) Add(n int, f F) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for range n {
		q.items = append(q.items, f)
	}
}

// Pop removes and returns the head of the queue, or the zero F when it is
// empty.
func (q *Queue[F]) Pop() F {
	q.mu.Lock()
	defer q.mu.Unlock()
	var f F
	if len(q.items) == 0 {
		return f
	}
	f = q.items[0]
	q.items = q.items[1:]
	return f
}

// ReadBody reads the request body up to limit bytes; ok is false when reading
// failed or the body is longer than limit.
func ReadBody(r *http.Request, limit int64) (body []byte, ok bool) {
	body, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	return body, err == nil && int64(len(body)) <= limit
}

// HeaderWithoutAuth returns a copy of h without Authorization and
// Proxy-Authorization, for recording.
func HeaderWithoutAuth(h http.Header) http.Header {
	out := h.Clone()
	out.Del("Authorization")
	out.Del("Proxy-Authorization")
	return out
}

// LooksJSON reports whether body, without leading white space, starts with
// '[' or '{': a FailNext body to send as JSON.
func LooksJSON(body string) bool {
	t := strings.TrimSpace(body)
	return strings.HasPrefix(t, "[") || strings.HasPrefix(t, "{")
}

// Write sends an answer: the extra headers, then Content-Type ctype and the
// Content-Length of body, the status and body.
func Write(w http.ResponseWriter, status int, ctype string, extra http.Header, body []byte) {
	h := w.Header()
	for k, vs := range extra {
		h[k] = vs
	}
	h.Set("Content-Type", ctype)
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// NewOutboundClient returns a client for the requests a fake sends itself
// (callbacks, notifications to the merchant): each bounded by timeout (dial,
// TLS handshake and the whole exchange), not following redirects. It returns
// its transport too, whose idle connections the fake closes on Close.
func NewOutboundClient(timeout time.Duration) (*http.Client, *http.Transport) {
	tr := &http.Transport{
		DialContext:         (&net.Dialer{Timeout: timeout}).DialContext,
		TLSHandshakeTimeout: timeout,
		MaxIdleConnsPerHost: 4,
		IdleConnTimeout:     30 * time.Second,
	}
	return &http.Client{
		Transport: tr,
		Timeout:   timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}, tr
}

// OpCounts counts, per operation, the requests still to be hit by a fault
// aimed at that operation only (the fakes' DropNextOp). The zero value is
// empty and ready; it is safe for concurrent use.
type OpCounts struct {
	mu sync.Mutex
	m  map[string]int
}

// Add queues n more for op; n <= 0 clears what is still queued for op.
func (c *OpCounts) Add(op string, n int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if n <= 0 {
		delete(c.m, op)
		return
	}
	if c.m == nil {
		c.m = map[string]int{}
	}
	c.m[op] += n
}

// Take uses up one queued for op, reporting whether there was one.
func (c *OpCounts) Take(op string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m[op] == 0 {
		return false
	}
	if c.m[op]--; c.m[op] == 0 {
		delete(c.m, op)
	}
	return true
}

// Len is how many are still queued, all operations together.
func (c *OpCounts) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, v := range c.m {
		n += v
	}
	return n
}

// Configure returns def with opts applied in order; nil options are
// skipped. It is every fake's NewServer option loop.
func Configure[C any, O ~func(*C)](def C, opts []O) C {
	for _, o := range opts {
		if o != nil {
			o(&def)
		}
	}
	return def
}

// Digits reports whether s is one or more ASCII digits.
func Digits(s string) bool {
	return s != "" && strings.Trim(s, "0123456789") == ""
}
