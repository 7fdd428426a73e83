package pgtest

import (
	"fmt"
	"net"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// dialTimeout bounds the proxy's connection to its target.
const dialTimeout = 2 * time.Second

// Proxy is a TCP proxy on loopback for fault tests: a client sent through
// it (DSN) reaches the target until Cut, which makes the database vanish for
// it: every open connection is reset and every new one is reset on accept,
// until Restore. Stall makes it vanish silently instead, as a network
// partition does: connections stay open and new ones are accepted, but no
// byte goes through until Restore. It is closed when the test ends, with all
// its goroutines.
type Proxy struct {
	target string
	ln     net.Listener

	mu      sync.Mutex
	flowing *sync.Cond // signaled when stalled, cut or closed change
	cut     bool
	stalled bool
	closed  bool
	conns   map[net.Conn]struct{} // both sides of every relayed connection
	wg      sync.WaitGroup
}

// NewProxy starts a proxy on 127.0.0.1 (a free port) to target ("host:port"),
// closed at t's cleanup.
func NewProxy(t testing.TB, target string) *Proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("pgtest: proxy: %v", err)
	}
	p := &Proxy{target: target, ln: ln, conns: make(map[net.Conn]struct{})}
	p.flowing = sync.NewCond(&p.mu)
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(p.close)
	return p
}

// Addr is the proxy's "127.0.0.1:port".
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// DSN returns dsn with its host and port replaced by the proxy's, for a URL
// DSN or a key=value one.
func (p *Proxy) DSN(dsn string) string {
	host, port, _ := net.SplitHostPort(p.Addr())
	if isURL(dsn) {
		u, err := url.Parse(dsn)
		if err != nil {
			panic(fmt.Sprintf("pgtest: proxy: cannot parse the DSN %s", Redact(dsn)))
		}
		u.Host = p.Addr()
		return u.String()
	}
	return replaceKV(dsn, map[string]string{"host": host, "port": port})
}

// Target is the address the proxy relays to, as "host:port", taken from a
// DSN (the default port 5432 when it names none).
func Target(dsn string) string {
	w := Where(dsn) // host:port/db
	if i := strings.LastIndex(w, "/"); i > 0 {
		w = w[:i]
	}
	return w
}

// Cut resets every open connection and makes the proxy reset the new ones
// until Restore: to the client, the database is gone.
func (p *Proxy) Cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = true
	for c := range p.conns {
		reset(c)
	}
	p.flowing.Broadcast()
}

// Stall stops every byte both ways, on open connections and new ones,
// without closing anything, until Restore: to the client, the database
// stops answering.
func (p *Proxy) Stall() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stalled = true
}

// Restore lets connections through again after Cut or Stall (what a Stall
// held back is delivered then).
func (p *Proxy) Restore() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut, p.stalled = false, false
	p.flowing.Broadcast()
}

// waitFlowing waits out a Stall; false when the proxy was cut or closed.
func (p *Proxy) waitFlowing() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for p.stalled && !p.cut && !p.closed {
		p.flowing.Wait()
	}
	return !p.cut && !p.closed
}

// close stops the proxy and waits for all its goroutines.
func (p *Proxy) close() {
	p.mu.Lock()
	p.closed = true
	for c := range p.conns {
		reset(c)
	}
	p.flowing.Broadcast()
	p.mu.Unlock()
	p.ln.Close()
	p.wg.Wait()
}

func (p *Proxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return // closed
		}
		p.mu.Lock()
		refuse := p.cut || p.closed
		p.mu.Unlock()
		if refuse {
			reset(c)
			continue
		}
		p.wg.Add(1)
		go p.relay(c)
	}
}

// relay dials the target for client c and copies both ways until either
// side ends or the proxy cuts them.
func (p *Proxy) relay(c net.Conn) {
	defer p.wg.Done()
	if !p.waitFlowing() {
		reset(c)
		return
	}
	s, err := net.DialTimeout("tcp", p.target, dialTimeout)
	if err != nil {
		reset(c)
		return
	}
	p.mu.Lock()
	if p.cut || p.closed {
		p.mu.Unlock()
		reset(c)
		reset(s)
		return
	}
	p.conns[c] = struct{}{}
	p.conns[s] = struct{}{}
	p.mu.Unlock()

	done := make(chan struct{}, 2)
	pipe := func(dst, src net.Conn) {
		defer func() { done <- struct{}{} }()
		buf := make([]byte, 32<<10)
		for {
			n, err := src.Read(buf)
			if n > 0 {
				if !p.waitFlowing() {
					return
				}
				if _, werr := dst.Write(buf[:n]); werr != nil {
					return
				}
			}
			if err != nil {
				return
			}
		}
	}
	go pipe(s, c)
	go pipe(c, s)
	<-done
	// One side ended: end both, which ends the other copy.
	p.mu.Lock()
	delete(p.conns, c)
	delete(p.conns, s)
	p.mu.Unlock()
	c.Close()
	s.Close()
	<-done
}

// reset closes c with an RST rather than a FIN where it can, as a crashed
// server or a dropped link would look.
func reset(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	c.Close()
}
