package pgstore

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

// pool is a small connection pool over pgx.Conn: at most max connections,
// reused last-in first-out, a connection idle for a while pinged before it
// is handed out, and a connection that broke dropped together with every
// idle one (a broken link or a restarted server breaks them all), so that
// the store works again as soon as the database is back.
//
// It stands in for pgxpool, which needs modules (puddle, x/sync) that the
// module's go.mod does not require yet; it has only what the store uses.
type pool struct {
	cfg *pgx.ConnConfig
	// slots holds a token for every connection handed out: at most max.
	// Idle connections hold none, and a new one is dialed only when none
	// is idle, so live connections never exceed max either.
	slots chan struct{}

	mu     sync.Mutex
	idle   []idleConn // most recently used last
	closed bool
}

type idleConn struct {
	c     *pgx.Conn
	since time.Time
}

// pingAfter: a connection idle longer than this is pinged before reuse.
const pingAfter = time.Second

// closeTimeout bounds the goodbye to the server when a connection is closed.
const closeTimeout = time.Second

var errPoolClosed = errors.New("store closed")

func newPool(cfg *pgx.ConnConfig, max int) *pool {
	return &pool{cfg: cfg, slots: make(chan struct{}, max)}
}

// acquire returns a connection for the caller's exclusive use, to be given
// back with release.
func (p *pool) acquire(ctx context.Context) (*pgx.Conn, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	select {
	case p.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	for {
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			<-p.slots
			return nil, errPoolClosed
		}
		var ic idleConn
		if n := len(p.idle); n > 0 {
			ic = p.idle[n-1]
			p.idle = p.idle[:n-1]
		}
		p.mu.Unlock()

		if ic.c == nil {
			c, err := pgx.ConnectConfig(ctx, p.cfg)
			if err != nil {
				<-p.slots
				return nil, err
			}
			return c, nil
		}
		if time.Since(ic.since) > pingAfter {
			if err := ic.c.Ping(ctx); err != nil {
				closeConn(ic.c)
				if ctx.Err() != nil {
					<-p.slots
					return nil, ctx.Err()
				}
				continue
			}
		}
		return ic.c, nil
	}
}

// release gives c back: to the idle list when it is healthy and outside any
// transaction, closed otherwise.
func (p *pool) release(c *pgx.Conn) {
	defer func() { <-p.slots }()
	broken := c.IsClosed()
	if broken || c.PgConn().IsBusy() || c.PgConn().TxStatus() != 'I' {
		closeConn(c)
		if broken {
			p.flush()
		}
		return
	}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		closeConn(c)
		return
	}
	p.idle = append(p.idle, idleConn{c: c, since: time.Now()})
	p.mu.Unlock()
}

// flush closes every idle connection.
func (p *pool) flush() {
	p.mu.Lock()
	idle := p.idle
	p.idle = nil
	p.mu.Unlock()
	for _, ic := range idle {
		closeConn(ic.c)
	}
}

// close closes the idle connections now and the others as they come back.
func (p *pool) close() {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	p.flush()
}

func closeConn(c *pgx.Conn) {
	ctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
	defer cancel()
	_ = c.Close(ctx)
}
