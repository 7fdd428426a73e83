package popolnitest

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"net"
	"time"
)

// sniffListener serves TLS and plain HTTP on one port. It peeks at the first
// byte of each connection: a TLS handshake record (0x16) gets a *tls.Conn, so
// net/http runs the handshake and sets Request.TLS; anything else is handed
// over as it is, and the handler answers it 403 "Insecure connection is not
// allowed" as popolni.club does.
type sniffListener struct {
	net.Listener // the plain TCP listener
	conf         *tls.Config
	ch           chan net.Conn
	closed       context.Context // ends on Close
	stop         context.CancelFunc
}

// sniffTimeout bounds how long a connection may stay silent before its first
// byte; a client that connects and sends nothing is dropped.
const sniffTimeout = 30 * time.Second

func newSniffListener(inner net.Listener, conf *tls.Config) net.Listener {
	l := &sniffListener{Listener: inner, conf: conf, ch: make(chan net.Conn)}
	l.closed, l.stop = context.WithCancel(context.Background())
	go l.acceptLoop()
	return l
}

func (l *sniffListener) acceptLoop() {
	for {
		c, err := l.Listener.Accept()
		if errors.Is(err, net.ErrClosed) {
			return
		}
		if err != nil {
			time.Sleep(5 * time.Millisecond) // e.g. too many open files
			continue
		}
		go l.sniff(c)
	}
}

// sniff hands c over as TLS or plain by its first byte. Close closes c while
// it is being sniffed.
func (l *sniffListener) sniff(c net.Conn) {
	unwatch := context.AfterFunc(l.closed, func() { c.Close() })
	br := bufio.NewReader(c)
	_ = c.SetReadDeadline(time.Now().Add(sniffTimeout))
	first, err := br.Peek(1)
	_ = c.SetReadDeadline(time.Time{})
	if !unwatch() || err != nil {
		c.Close()
		return
	}

	var out net.Conn = &peekedConn{Conn: c, r: br}
	if first[0] == 0x16 {
		out = tls.Server(out, l.conf)
	}
	select {
	case l.ch <- out:
	case <-l.closed.Done():
		out.Close()
	}
}

// Accept returns the next sniffed connection.
func (l *sniffListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.ch:
		return c, nil
	case <-l.closed.Done():
		return nil, net.ErrClosed
	}
}

// Close stops accepting and closes connections still being sniffed.
func (l *sniffListener) Close() error {
	l.stop()
	return l.Listener.Close()
}

// peekedConn replays the bytes the sniffer buffered before reading on.
type peekedConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *peekedConn) Read(p []byte) (int, error) { return c.r.Read(p) }
