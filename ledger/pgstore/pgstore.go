// Package pgstore is the PostgreSQL ledger.Store, for several replicas of an
// application sharing the payout work: each replica opens its own Store on
// the same database, and Claim's leases (UPDATE ... FOR UPDATE SKIP LOCKED)
// keep two replicas from ever working the same record at once.
//
// Open runs the schema migrations embedded in the package, serialized across
// replicas by an advisory lock, so that replicas started together all come
// up on the same schema. Every write commits a transaction before it
// returns. Every operation has a deadline (Options.OpTimeout), so that a
// database that vanishes makes operations fail with ledger.ErrStore instead
// of hanging; when it comes back the same Store works again.
//
// A Store's connections are a pgxpool.Pool: a broken connection is dropped
// when it is given back, and an idle one is pinged before reuse when it has
// been idle over a second or since before another connection broke (a
// restarted server or a dropped link breaks them all).
package pgstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgconn/ctxwatch"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/paysdk/payments/ledger"
)

// Defaults of Options.
const (
	DefaultPoolSize       = 8
	DefaultOpTimeout      = 30 * time.Second
	DefaultConnectTimeout = 5 * time.Second
)

// cancelGrace is how long a statement whose context ended may take to be
// canceled at the server before its connection is closed.
const cancelGrace = time.Second

// rollbackTimeout bounds the rollback of a failed transaction.
const rollbackTimeout = time.Second

// The pool's upkeep: a connection idle longer than pingAfter is pinged
// before reuse; one idle longer than maxIdle is closed, at the health check
// every healthCheck.
const (
	pingAfter   = time.Second
	maxIdle     = time.Minute
	healthCheck = 10 * time.Second
)

// Options tune a Store. The zero value is fine.
type Options struct {
	// PoolSize caps the Store's connections to the database
	// (DefaultPoolSize when 0), whatever pool_max_conns the DSN sets.
	PoolSize int
	// Schema, when set, is the schema the Store's tables live in: created
	// when missing, and made the only schema on the connections'
	// search_path. When empty the DSN's search_path (a search_path
	// parameter, or the server's default) decides.
	Schema string
	// OpTimeout bounds each operation, waiting for a connection included,
	// when the caller's context allows longer (DefaultOpTimeout when 0).
	OpTimeout time.Duration
	// ConnectTimeout bounds each connection attempt, unless the DSN sets
	// connect_timeout (DefaultConnectTimeout when 0).
	ConnectTimeout time.Duration
}

// Store is the PostgreSQL ledger.Store. It is safe for concurrent use, and
// any number of Stores, in this process or others, may share one database.
type Store struct {
	name      string // "postgres host:port/db"
	pool      *pgxpool.Pool
	opTimeout time.Duration
	password  string // scrubbed from every error text
	// brokeAt is when a connection was last found broken (UnixNano; 0:
	// never): every connection idle since then is pinged before reuse.
	brokeAt atomic.Int64
}

var (
	_ ledger.Store      = (*Store)(nil)
	_ ledger.StatsStore = (*Store)(nil)
)

// Open connects to the database of dsn (a postgres:// URL or a key=value
// list, as pgx reads them), checks that it answers and brings its schema up
// to date. A database that cannot be reached or migrated fails here with a
// *ledger.StoreError that names the store as "postgres host:port/db",
// never with the DSN or its password.
func Open(ctx context.Context, dsn string, opts Options) (*Store, error) {
	pcfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, &ledger.StoreError{Store: "postgres", Op: "open", Err: parseError(dsn, err)}
	}
	cfg := pcfg.ConnConfig
	s := &Store{
		name:      fmt.Sprintf("postgres %s:%d/%s", cfg.Host, cfg.Port, cfg.Database),
		opTimeout: opts.OpTimeout,
		password:  cfg.Password,
	}
	if s.opTimeout <= 0 {
		s.opTimeout = DefaultOpTimeout
	}
	if cfg.ConnectTimeout == 0 { // the DSN has no connect_timeout
		cfg.ConnectTimeout = opts.ConnectTimeout
		if cfg.ConnectTimeout <= 0 {
			cfg.ConnectTimeout = DefaultConnectTimeout
		}
	}
	if _, set := cfg.RuntimeParams["plan_cache_mode"]; !set {
		// Plan each statement for its arguments: a generic plan made while
		// a table was small (a seq scan for ref = ANY($1)) would otherwise
		// stay in the statement cache as the table grows until the next
		// ANALYZE, and a Claim of 1 and of 1,000 deserve different plans.
		// Planning costs tens of microseconds; a wrong plan, milliseconds.
		cfg.RuntimeParams["plan_cache_mode"] = "force_custom_plan"
	}
	// When an operation's context ends mid-statement, ask the server to
	// cancel the statement at once, so that it does not go on (waiting on
	// a lock, then committing) after the caller was told it failed; close
	// the connection if the server has not answered a second later (it may
	// be gone). The default handler only closes the connection, which the
	// server may not notice until the statement is done.
	cfg.BuildContextWatcherHandler = func(pc *pgconn.PgConn) ctxwatch.Handler {
		return &cancelHandler{
			pc:       pc,
			cancel:   &pgconn.CancelRequestContextWatcherHandler{Conn: pc, DeadlineDelay: cancelGrace},
			deadline: &pgconn.DeadlineContextWatcherHandler{Conn: pc.Conn()},
		}
	}
	if opts.Schema != "" {
		cfg.RuntimeParams["search_path"] = pgx.Identifier{opts.Schema}.Sanitize()
	}
	size := opts.PoolSize
	if size <= 0 {
		size = DefaultPoolSize
	}
	pcfg.MaxConns = int32(min(size, 1<<30))
	pcfg.MaxConnIdleTime = maxIdle
	pcfg.HealthCheckPeriod = healthCheck
	pcfg.ShouldPing = s.shouldPing
	// NewWithConfig does not wait for a connection: migrate's first
	// statement does, and fails Open with its error.
	s.pool, err = pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		return nil, s.fail("open", err)
	}
	if err := s.migrate(ctx, opts.Schema); err != nil {
		s.pool.Close()
		return nil, err
	}
	return s, nil
}

// shouldPing tells the pool to ping an idle connection before handing it
// out when it has been idle over pingAfter, or since before a connection
// was last found broken: what broke that one (a restarted server, a dropped
// link) likely broke it too, and a ping finds out without failing an
// operation.
func (s *Store) shouldPing(_ context.Context, p pgxpool.ShouldPingParams) bool {
	if p.IdleDuration > pingAfter {
		return true
	}
	broke := s.brokeAt.Load()
	return broke != 0 && time.Duration(time.Now().UnixNano()-broke) < p.IdleDuration
}

// Name is the store as its errors name it: "postgres host:port/db".
func (s *Store) Name() string { return s.name }

// String is Name: "postgres host:port/db", never a user or password.
func (s *Store) String() string { return s.name }

// Format prints Name for every verb (%v, %+v, %#v, %s, %q...): no verb
// shows the Store's fields, the password among them.
func (s *Store) Format(f fmt.State, _ rune) { io.WriteString(f, s.name) }

// Close closes the Store's connections, waiting for the operations in
// progress to end; operations after it fail.
func (s *Store) Close() error {
	s.pool.Close()
	return nil
}

// fail wraps err, the error of operation op, as a *ledger.StoreError with the
// password scrubbed from its text.
func (s *Store) fail(op string, err error) error {
	if err == nil {
		return nil
	}
	if s.password != "" && len(s.password) >= 4 {
		err = scrubbed{err: err, secret: s.password}
	}
	return &ledger.StoreError{Store: s.name, Op: op, Err: err}
}

// scrubbed hides a secret in the text of an error it wraps.
type scrubbed struct {
	err    error
	secret string
}

func (e scrubbed) Error() string { return strings.ReplaceAll(e.err.Error(), e.secret, "xxxxx") }
func (e scrubbed) Unwrap() error { return e.err }

// opContext bounds an operation by OpTimeout.
func (s *Store) opContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, s.opTimeout)
}

// conn runs fn on a connection of the pool, within OpTimeout (waiting for
// the connection included).
func (s *Store) conn(ctx context.Context, fn func(ctx context.Context, c *pgx.Conn) error) error {
	ctx, cancel := s.opContext(ctx)
	defer cancel()
	pc, err := s.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer pc.Release() // drops the connection if it broke or is left in a transaction
	c := pc.Conn()
	err = fn(ctx, c)
	if c.IsClosed() {
		s.brokeAt.Store(time.Now().UnixNano())
	}
	if err != nil && ctx.Err() != nil && !errors.Is(err, ctx.Err()) {
		// A statement canceled at the server fails with "canceling
		// statement due to user request": say why.
		err = fmt.Errorf("%w: %w", ctx.Err(), err)
	}
	return err
}

// errRetry asks tx to run the transaction again from the start.
var errRetry = errors.New("pgstore: retry the transaction")

// maxTries bounds the runs of a transaction that concurrent ones keep
// making retry.
const maxTries = 5

// tx runs fn in a transaction and commits it; fn's error rolls it back and
// is returned as it is. A deadlock or serialization failure, or fn returning
// errRetry, runs the whole transaction again (nothing of the failed run
// stays).
func (s *Store) tx(ctx context.Context, fn func(tx pgx.Tx) error) error {
	return s.conn(ctx, func(ctx context.Context, c *pgx.Conn) error {
		var err error
		for try := 1; try <= maxTries; try++ {
			err = runTx(ctx, c, fn)
			if !retryable(err) || c.IsClosed() {
				return err
			}
		}
		if errors.Is(err, errRetry) {
			err = errors.New("concurrent transactions on the same records kept conflicting")
		}
		return err
	})
}

func runTx(ctx context.Context, c *pgx.Conn, fn func(tx pgx.Tx) error) error {
	tx, err := c.Begin(ctx)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		// Roll back even when ctx has ended, to keep the connection; a
		// failed rollback leaves it in a transaction (or broken), and the
		// pool closes it on release, which rolls back too.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), rollbackTimeout)
		defer cancel()
		_ = tx.Rollback(rctx)
		return err
	}
	return tx.Commit(ctx)
}

func retryable(err error) bool {
	if errors.Is(err, errRetry) {
		return true
	}
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "40P01" || pe.Code == "40001") // deadlock_detected, serialization_failure
}

// stmt runs fn, a single statement (its own transaction), on a connection
// of the pool, running it again after a deadlock or serialization failure:
// PostgreSQL rolled the failed run back whole.
func (s *Store) stmt(ctx context.Context, fn func(ctx context.Context, c *pgx.Conn) error) error {
	return s.conn(ctx, func(ctx context.Context, c *pgx.Conn) error {
		var err error
		for try := 1; try <= maxTries; try++ {
			if err = fn(ctx, c); !retryable(err) || c.IsClosed() {
				return err
			}
		}
		return err
	})
}

// parseError says why pgx could not parse dsn without showing the DSN:
// pgx's parse errors quote it (password redacted, but the DSN is not to be
// shown at all), and so may the URL parser's error inside. It keeps pgx's
// reason ("sslmode is invalid") and drops the rest.
func parseError(dsn string, err error) error {
	reason := ""
	var pe *pgconn.ParseConfigError
	if errors.As(err, &pe) {
		text := pe.Error() // cannot parse `<dsn>`: <reason> (<cause>)
		if i := strings.LastIndex(text, "`: "); i >= 0 {
			reason = text[i+3:]
			if j := strings.Index(reason, " ("); j >= 0 {
				reason = reason[:j]
			}
		}
	}
	cfgPW := ""
	if u, uerr := url.Parse(dsn); uerr == nil && u.User != nil {
		cfgPW, _ = u.User.Password()
	}
	if reason == "" || strings.ContainsAny(reason, "`@=") || cfgPW != "" && strings.Contains(reason, cfgPW) {
		reason = "not a postgres:// URL or key=value list that pgx accepts"
	}
	return fmt.Errorf("cannot parse the DSN: %s", reason)
}

// cancelHandler asks the server to cancel the statement of a context that
// ended; while the connection is still starting up (no backend to cancel
// yet) it only sets a deadline on the connection, as pgx's default does.
type cancelHandler struct {
	pc       *pgconn.PgConn
	cancel   *pgconn.CancelRequestContextWatcherHandler
	deadline *pgconn.DeadlineContextWatcherHandler
	used     ctxwatch.Handler
}

func (h *cancelHandler) HandleCancel(ctx context.Context) {
	h.used = h.cancel
	if h.pc.PID() == 0 {
		h.used = h.deadline
	}
	h.used.HandleCancel(ctx)
}

func (h *cancelHandler) HandleUnwatchAfterCancel() { h.used.HandleUnwatchAfterCancel() }
