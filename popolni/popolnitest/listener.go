package popolnitest

import (
	"bufio"
	"crypto/tls"
	"errors"
	"net"
	"sync"
	"time"
)

// sniffListener serves TLS and plain HTTP on one port. It peeks at the first
// byte of each connection: a TLS handshake record (0x16) gets a *tls.Conn, so
// net/http runs the handshake and sets Request.TLS; anything else is handed
// over as it is, and the handler answers it 403 "Insecure connection is not
// allowed" as popolni.club does.
type sniffListener struct {
	inner net.Listener
	conf  *tls.Config
	ch    chan net.Conn
	done  chan struct{}
	once  sync.Once

	mu      sync.Mutex
	closed  bool
	pending map[net.Conn]struct{}
}

// sniffTimeout bounds how long a connection may stay silent before its first
// byte; a client that connects and sends nothing is dropped.
const sniffTimeout = 30 * time.Second

func newSniffListener(inner net.Listener, conf *tls.Config) *sniffListener {
	l := &sniffListener{
		inner:   inner,
		conf:    conf,
		ch:      make(chan net.Conn),
		done:    make(chan struct{}),
		pending: map[net.Conn]struct{}{},
	}
	go l.acceptLoop()
	return l
}

func (l *sniffListener) acceptLoop() {
	for {
		c, err := l.inner.Accept()
		if err != nil {
			select {
			case <-l.done:
				return
			default:
			}
			if errors.Is(err, net.ErrClosed) {
				return
			}
			time.Sleep(5 * time.Millisecond) // e.g. too many open files
			continue
		}
		go l.sniff(c)
	}
}

func (l *sniffListener) sniff(c net.Conn) {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		c.Close()
		return
	}
	l.pending[c] = struct{}{}
	l.mu.Unlock()

	br := bufio.NewReader(c)
	_ = c.SetReadDeadline(time.Now().Add(sniffTimeout))
	first, err := br.Peek(1)
	_ = c.SetReadDeadline(time.Time{})

	l.mu.Lock()
	delete(l.pending, c)
	closed := l.closed
	l.mu.Unlock()
	if err != nil || closed {
		c.Close()
		return
	}

	var out net.Conn = &peekedConn{Conn: c, r: br}
	if first[0] == 0x16 {
		out = tls.Server(out, l.conf)
	}
	select {
	case l.ch <- out:
	case <-l.done:
		out.Close()
	}
}

// Accept returns the next sniffed connection.
func (l *sniffListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.ch:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

// Close stops accepting and closes connections still being sniffed.
func (l *sniffListener) Close() error {
	var err error
	l.once.Do(func() {
		l.mu.Lock()
		l.closed = true
		for c := range l.pending {
			c.Close()
		}
		l.mu.Unlock()
		close(l.done)
		err = l.inner.Close()
	})
	return err
}

// Addr returns the listening address.
func (l *sniffListener) Addr() net.Addr { return l.inner.Addr() }

// peekedConn replays the bytes the sniffer buffered before reading on.
type peekedConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *peekedConn) Read(p []byte) (int, error) { return c.r.Read(p) }
