package sqlitestore

import (
	"context"
	"database/sql"
)

// conn is a connection of the store in use by one operation. Its statements
// never see the operation's context: each runs to its end (they take
// milliseconds: a write holds the write lock already, a read waits for
// nothing), and the context is looked at before each statement and between
// the rows of a query instead.
//
// The reason is modernc.org/sqlite (v1.34.5): when a statement's context
// ends, the driver interrupts the connection, and a query whose context
// ends just after its first row is returned as the context's error with its
// statement left unfinalized. The connection then stays inside that
// statement forever: every later COMMIT on it fails ("cannot commit
// transaction - SQL statements in progress"), and a reading one holds
// back the WAL's checkpoints. One canceled Claim wedged every later write
// of the process.
type conn struct {
	c   *sql.Conn
	ctx context.Context // the operation's: looked at, never passed down
}

// run is the context the driver sees: ctx's values, never its end.
func (c *conn) run() context.Context { return context.WithoutCancel(c.ctx) }

// alive is the operation context's error once it has ended (see ctxEnded).
func (c *conn) alive() error { return ctxEnded(c.ctx) }

func (c *conn) Exec(query string, args ...any) (sql.Result, error) {
	if err := c.alive(); err != nil {
		return nil, err
	}
	return c.c.ExecContext(c.run(), query, args...)
}

func (c *conn) Query(query string, args ...any) (*sql.Rows, error) {
	if err := c.alive(); err != nil {
		return nil, err
	}
	return c.c.QueryContext(c.run(), query, args...)
}

// QueryRow runs a query for one row; a context that ended shows at Scan.
func (c *conn) QueryRow(query string, args ...any) row {
	if err := c.alive(); err != nil {
		return row{err: err}
	}
	return row{r: c.c.QueryRowContext(c.run(), query, args...)}
}

func (c *conn) Prepare(query string) (*prepared, error) {
	if err := c.alive(); err != nil {
		return nil, err
	}
	st, err := c.c.PrepareContext(c.run(), query)
	if err != nil {
		return nil, err
	}
	return &prepared{st: st, c: c}, nil
}

// row is a *sql.Row, or the error of a context that ended before it ran.
type row struct {
	r   *sql.Row
	err error
}

func (r row) Scan(dest ...any) error {
	if r.err != nil {
		return r.err
	}
	return r.r.Scan(dest...)
}

// prepared is a prepared statement of a conn: it runs as the conn's do.
type prepared struct {
	st *sql.Stmt
	c  *conn
}

func (s *prepared) Exec(args ...any) (sql.Result, error) {
	if err := s.c.alive(); err != nil {
		return nil, err
	}
	return s.st.ExecContext(s.c.run(), args...)
}

func (s *prepared) Close() error { return s.st.Close() }

// reader takes a reading connection, waiting for one no longer than ctx
// lasts. The caller closes it.
func (s *Store) reader(ctx context.Context) (*conn, error) {
	if err := ctxEnded(ctx); err != nil {
		return nil, err
	}
	c, err := s.r.Conn(ctx)
	if err != nil {
		return nil, err
	}
	return &conn{c: c, ctx: ctx}, nil
}

// Close gives the connection back to its pool.
func (c *conn) Close() error { return c.c.Close() }

// next is rows.Next, stopping with the context's error once it has ended.
func (c *conn) next(rows *sql.Rows) (bool, error) {
	if err := c.alive(); err != nil {
		return false, err
	}
	return rows.Next(), nil
}
