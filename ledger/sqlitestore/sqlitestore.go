// Package sqlitestore is the embedded, default ledger.Store: one SQLite file,
// through the pure-Go driver modernc.org/sqlite (no cgo).
//
// Every write commits durably before it returns: the file is in WAL mode with
// synchronous=FULL, so a commit is on disk before the ledger sends money.
// Writes take SQLite's write lock when they begin (BEGIN IMMEDIATE), so a
// Claim is atomic against every other connection to the file, in this
// process or another one: several processes may share a file, waiting for
// each other's writes up to a busy timeout of 5 s. Reads run beside writes.
//
// The schema is versioned: the migrations embedded in the package are
// applied in order when Open finds the file behind, and a file whose schema
// is newer than the package knows is refused ([ErrNewerSchema]).
//
// Times are kept as unix microseconds, 0 standing for the zero time (so the
// instant 1970-01-01T00:00:00Z reads back as the zero time); amounts as the
// exact decimal text of payments.Decimal.
//
// Open(ctx, [Memory]) is an in-memory ledger for tests: the same store on a
// database in memory, private to the Store and gone at Close.
//
// A context that ends stops an operation between its statements (never
// inside one, so no statement is left half-run on a connection) and a
// wait for the write lock at the context's deadline; the operation fails
// with an error matching the context's, and the store works on.
package sqlitestore

import (
	"context"
	"crypto/rand"
	"database/sql"
	"database/sql/driver"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/paysdk/payments/ledger"
)

// BusyTimeout is how long an operation waits for another connection's
// write (another process's, mostly) before it fails; a write whose context
// has an earlier deadline waits until that deadline only.
const BusyTimeout = 5 * time.Second

// readers is how many connections serve reads (Get, List, Count, Events)
// beside the one that writes.
const readers = 4

// Store is a ledger.Store on one SQLite file. It is safe for concurrent use
// by many goroutines, and several processes may open the same file.
type Store struct {
	name string  // "sqlite /abs/path", the StoreError's Store
	w    *sql.DB // the one writing connection: BEGIN IMMEDIATE
	r    *sql.DB // reading connections

	closeOnce sync.Once
	closeErr  error
	unlock    func() error // releases Exclusive's lock; nil without it

	// An in-memory ledger (Open(ctx, Memory)): keepConn, of the pool keep,
	// keeps the database alive as long as the Store.
	memory   bool
	keep     *sql.DB
	keepConn *sql.Conn

	// turn is this process's turn at the write lock, taken in arrival
	// order, or given up when the context ends; see also giveWay.
	turn        chan struct{}
	lastCommit  time.Time // when this process last let go of the write lock
	streakStart time.Time // since when its writes have followed back to back
	// The writer connection's busy timeout in ms as last set, and that
	// connection (its driver.Conn): see fitBusyTimeout. Both guarded by turn.
	busyConn any
	busyMS   int64

	// noSteps makes Save write no history step and read nothing for it:
	// the Save of the release before the history, for BenchmarkSave's
	// baseline only.
	noSteps bool
}

// Another process's connection waits for the write lock by polling it,
// sleeping up to 100 ms between tries (SQLite's busy handler), while this
// process's goroutines queue for it and take it back within microseconds
// of each commit. Under a steady stream of writes the other process would
// never see the lock free and fail after its busy timeout: a restarted
// ledger could not even open the file. So after fairStreak of back-to-back
// writes this process leaves the lock free for fairPause; the other's
// polls, out of step with that rhythm, land in a pause within about a
// second. It costs at most fairPause/(fairStreak+fairPause) of a saturated
// writer's throughput, nothing otherwise.
const (
	fairStreak = 100 * time.Millisecond
	fairPause  = 10 * time.Millisecond
)

var (
	_ ledger.Store      = (*Store)(nil)
	_ ledger.StatsStore = (*Store)(nil)
)

// Memory is the path that opens an in-memory ledger: Open(ctx, Memory).
const Memory = ":memory:"

// Open opens the ledger file at path, creating it if it does not exist,
// and migrates its schema to this package's version. Its errors are
// *ledger.StoreError naming the file: a path that is a directory, whose
// folder does not exist, or that is not a SQLite database fails here, not
// at the first operation. ctx bounds the migration.
//
// path is a file path, whatever characters it holds ('?' and '#' are part
// of the name); a SQLite URI ("file:...") is refused, since the store sets
// its connections' options itself. The path [Memory] (":memory:") opens an
// in-memory ledger instead, for tests: a database of this Store's own,
// shared by its connections, that nothing else can open and that is gone at
// Close. It is not durable, and Exclusive changes nothing for it.
//
// With [Exclusive], this process is the file's only user: see there.
func Open(ctx context.Context, path string, opts ...Option) (*Store, error) {
	var o options
	for _, f := range opts {
		if f != nil {
			f(&o)
		}
	}
	if path == "" {
		return nil, &ledger.StoreError{Store: "sqlite", Op: "open", Err: errors.New("no path given")}
	}
	if len(path) >= 5 && strings.EqualFold(path[:5], "file:") {
		return nil, &ledger.StoreError{Store: "sqlite " + path, Op: "open",
			Err: errors.New("a SQLite URI is not taken: pass a file path (the store sets its own connection options), or \":memory:\" for an in-memory ledger")}
	}
	var s *Store
	var wdsn, rdsn string
	if path == Memory {
		s = &Store{name: "sqlite " + Memory, memory: true, turn: make(chan struct{}, 1)}
		name, err := memoryName()
		if err != nil {
			return nil, s.fail("open", err)
		}
		wdsn, rdsn = memoryDSN(name, true), memoryDSN(name, false)
	} else {
		abs, err := filepath.Abs(path)
		if err != nil {
			return nil, &ledger.StoreError{Store: "sqlite " + path, Op: "open", Err: err}
		}
		s = &Store{name: "sqlite " + abs, turn: make(chan struct{}, 1)}
		if err := checkPath(abs); err != nil {
			return nil, s.fail("open", err)
		}
		if o.exclusive {
			if s.unlock, err = lockFile(abs + ".lock"); err != nil {
				return nil, s.fail("open", err)
			}
		}
		wdsn, rdsn = dsn(abs, true), dsn(abs, false)
	}
	ok := false
	defer func() {
		if !ok {
			s.closeAll()
		}
	}()
	var err error
	if s.memory {
		// An in-memory database lives while a connection to it is open:
		// this one keeps it while the writer's or a reader's is replaced.
		if s.keep, err = sql.Open("sqlite", rdsn); err != nil {
			return nil, s.fail("open", err)
		}
		if s.keepConn, err = s.keep.Conn(ctx); err != nil {
			return nil, s.fail("open", s.explain(err))
		}
	}
	s.w, err = sql.Open("sqlite", wdsn)
	if err != nil {
		return nil, s.fail("open", err)
	}
	// One writer: the goroutines of this process queue for it here rather
	// than spin on SQLite's file lock. Other processes wait in busy_timeout.
	s.w.SetMaxOpenConns(1)
	s.w.SetMaxIdleConns(1)
	s.w.SetConnMaxLifetime(0)
	s.w.SetConnMaxIdleTime(0)
	// The first real access: a file that is no database fails here.
	if err := s.firstPing(ctx); err != nil {
		return nil, s.fail("open", s.explain(err))
	}
	if err := s.migrate(ctx); err != nil {
		return nil, err
	}
	if err := s.checkPragmas(ctx); err != nil {
		return nil, err
	}
	s.r, err = sql.Open("sqlite", rdsn)
	if err != nil {
		return nil, s.fail("open", err)
	}
	s.r.SetMaxOpenConns(readers)
	s.r.SetMaxIdleConns(readers)
	if o.exclusive && !s.memory {
		// Every lease in the file belongs to a process that is gone.
		if err := s.withTx(ctx, "open", func(tx *conn) error {
			_, err := tx.Exec("UPDATE payouts SET lease_owner = '', lease_until = 0 WHERE lease_owner <> ''")
			return err
		}); err != nil {
			return nil, err
		}
	}
	ok = true
	return s, nil
}

// memoryName is a name no other in-memory ledger of the process has.
func memoryName() (string, error) {
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return "/paysdk-ledger-" + hex.EncodeToString(b), nil
}

// memoryDSN is the DSN of the in-memory database name: SQLite's memdb VFS,
// whose databases named "/..." are shared by the connections of one
// process, with the file's locking (a rollback journal in memory: WAL needs
// a file).
func memoryDSN(name string, writer bool) string {
	q := url.Values{}
	q.Set("vfs", "memdb")
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", BusyTimeout.Milliseconds()))
	q.Add("_pragma", "foreign_keys(ON)")
	if writer {
		q.Set("_txlock", "immediate")
	}
	return "file:" + name + "?" + q.Encode()
}

// Option changes how Open opens the file.
type Option func(*options)

type options struct{ exclusive bool }

// Exclusive makes this process the file's only user while the Store is
// open: Open takes an advisory lock on "<path>.lock" (flock), fails at once
// with a *ledger.StoreError saying the file is in use when another process
// holds it, and then releases every lease found in the file, since the
// process that held them is gone. A ledger restarted after a kill resumes
// its unfinished payouts at once, instead of waiting for the dead process's
// leases to end. The kernel drops the lock when the process dies, however
// it dies. For several processes sharing the work, use PostgreSQL
// (ledger/pgstore). On systems without flock, Open with Exclusive fails.
func Exclusive() Option { return func(o *options) { o.exclusive = true } }

// dsn is the modernc.org/sqlite DSN of the file at abs: a file: URI, so any
// character of the path survives, with the pragmas every connection runs.
func dsn(abs string, writer bool) string {
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", BusyTimeout.Milliseconds()))
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(FULL)")
	q.Add("_pragma", "foreign_keys(ON)")
	if writer {
		q.Set("_txlock", "immediate")
	}
	p := filepath.ToSlash(abs)
	if !strings.HasPrefix(p, "/") { // a Windows drive: file:/C:/...
		p = "/" + p
	}
	u := url.URL{Scheme: "file", Path: p}
	return u.String() + "?" + q.Encode()
}

// checkPath says in plain words what is wrong with a path SQLite would only
// call "unable to open database file".
func checkPath(abs string) error {
	fi, err := os.Stat(abs)
	if err == nil {
		if fi.IsDir() {
			return fmt.Errorf("%s is a directory, not a database file", abs)
		}
		return nil
	}
	dir := filepath.Dir(abs)
	di, derr := os.Stat(dir)
	switch {
	case errors.Is(derr, os.ErrNotExist):
		return fmt.Errorf("cannot create %s: its folder %s does not exist", abs, dir)
	case derr != nil:
		return fmt.Errorf("cannot create %s: %w", abs, derr)
	case !di.IsDir():
		return fmt.Errorf("cannot create %s: %s is not a folder", abs, dir)
	case !errors.Is(err, os.ErrNotExist):
		return fmt.Errorf("cannot reach %s: %w", abs, err)
	}
	return nil
}

// checkPragmas makes sure the durability the contract promises is in force:
// SQLite falls back from WAL silently on a file system that cannot do it.
func (s *Store) checkPragmas(ctx context.Context) error {
	if s.memory {
		return nil // nothing is durable: a rollback journal in memory
	}
	var mode string
	var sync int
	if err := s.w.QueryRowContext(context.WithoutCancel(ctx), "PRAGMA journal_mode").Scan(&mode); err != nil {
		return s.fail("open", s.explain(err))
	}
	if err := s.w.QueryRowContext(context.WithoutCancel(ctx), "PRAGMA synchronous").Scan(&sync); err != nil {
		return s.fail("open", s.explain(err))
	}
	if !strings.EqualFold(mode, "wal") {
		return s.fail("open", fmt.Errorf("journal_mode is %q, not wal: the file system may not support WAL", mode))
	}
	if sync != 2 {
		return s.fail("open", fmt.Errorf("synchronous is %d, not 2 (FULL)", sync))
	}
	return nil
}

// explain adds what the SQLite result codes a bad file gives mean.
func (s *Store) explain(err error) error {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return err
	}
	path := strings.TrimPrefix(s.name, "sqlite ")
	switch se.Code() & 0xff {
	case sqlite3.SQLITE_NOTADB:
		return fmt.Errorf("%s is not a SQLite database (or it is encrypted): %w", path, err)
	case sqlite3.SQLITE_CANTOPEN:
		return fmt.Errorf("cannot open %s (check its permissions and its folder's): %w", path, err)
	case sqlite3.SQLITE_READONLY, sqlite3.SQLITE_PERM:
		return fmt.Errorf("cannot write %s: %w", path, err)
	case sqlite3.SQLITE_CORRUPT:
		return fmt.Errorf("%s is corrupt: %w", path, err)
	case sqlite3.SQLITE_BUSY:
		return fmt.Errorf("%s stayed locked by another connection for over %v: %w", path, BusyTimeout, err)
	}
	return err
}

// fail wraps err as the contract asks: a *ledger.StoreError naming the file.
func (s *Store) fail(op string, err error) error {
	return &ledger.StoreError{Store: s.name, Op: op, Err: err}
}

// Close closes the store's connections (an in-memory ledger is gone with
// them). Closing again does nothing.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		if err := s.closeAll(); err != nil {
			s.closeErr = s.fail("close", err)
		}
	})
	return s.closeErr
}

// closeAll closes what Open opened, the connection keeping an in-memory
// database last, and releases Exclusive's lock.
func (s *Store) closeAll() error {
	var errs []error
	for _, db := range []*sql.DB{s.r, s.w} {
		if db != nil {
			errs = append(errs, db.Close())
		}
	}
	if s.keepConn != nil {
		errs = append(errs, s.keepConn.Close())
	}
	if s.keep != nil {
		errs = append(errs, s.keep.Close())
	}
	if s.unlock != nil {
		errs = append(errs, s.unlock())
	}
	return errors.Join(errs...)
}

// String is the store's name: "sqlite" and the file's absolute path, or
// "sqlite :memory:".
func (s *Store) String() string { return s.name }

// Format prints String for every verb (%v, %+v, %#v, %s, %q...).
func (s *Store) Format(f fmt.State, _ rune) { io.WriteString(f, s.name) }

// micro is t as stored: unix microseconds, 0 for the zero time.
func micro(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

// fromMicro reads what micro stored, in UTC.
func fromMicro(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMicro(v).UTC()
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// rollbackTimeout bounds the clean-up of a failed transaction: a ROLLBACK,
// which needs no lock SQLite could wait for, so it takes microseconds.
const rollbackTimeout = 5 * time.Second

// withTx runs f in a write transaction (BEGIN IMMEDIATE: the write lock is
// taken first) on the writer connection, and commits it. f's error rolls it
// back and is returned as it is; the store's own errors are wrapped as op.
//
// The transaction is driven by hand on a dedicated connection, not with
// database/sql's Tx (which, when its context ends, rolls back from another
// goroutine while a statement of it may still run), and no statement sees
// ctx (see conn): ctx is looked at before each statement, and before
// COMMIT. Every failure rolls back under a context of its own, and a
// connection that cannot be shown to be out of a transaction afterwards is
// discarded, so that no write of the process ever finds the connection
// inside another one's transaction.
//
// When ctx has a deadline, the connection's busy timeout (its wait for
// another process's write lock) is cut to end with it. The error of a call
// whose context ended says so.
func (s *Store) withTx(ctx context.Context, op string, f func(tx *conn) error) error {
	if err := ctxEnded(ctx); err != nil {
		return s.fail(op, err)
	}
	select {
	case s.turn <- struct{}{}:
	case <-ctx.Done():
		return s.fail(op, ctx.Err())
	}
	defer func() { <-s.turn }()
	if err := s.giveWay(ctx); err != nil {
		return s.fail(op, err)
	}
	defer func() { s.lastCommit = time.Now() }()
	sc, err := s.w.Conn(ctx)
	if err != nil {
		return s.ended(ctx, s.fail(op, s.explain(err)))
	}
	defer sc.Close()
	c := &conn{c: sc, ctx: ctx}
	cut, err := s.fitBusyTimeout(c)
	if err != nil {
		return s.ended(ctx, s.fail(op, s.explain(err)))
	}
	if _, err := c.Exec("BEGIN IMMEDIATE"); err != nil {
		s.rollback(sc)
		if cut && isBusy(err) {
			// The busy wait was cut to the deadline, and SQLite's busy
			// handler gives up up to one of its sleeps (100 ms) before the
			// timeout: the deadline is what ended the wait. Return at it.
			<-ctx.Done()
		}
		if cerr := ctxEnded(ctx); cerr != nil && !errors.Is(err, cerr) {
			// The busy timeout ran out with the deadline.
			return s.fail(op, fmt.Errorf("%w while waiting for another connection's write lock: %w", cerr, err))
		}
		return s.fail(op, s.explain(err))
	}
	if err := f(c); err != nil {
		s.rollback(sc)
		return s.ended(ctx, err)
	}
	// A context that ended before COMMIT fails the call, and nothing of it
	// stays; once COMMIT has started, its outcome is the call's.
	if err := ctxEnded(ctx); err != nil {
		s.rollback(sc)
		return s.fail(op, err)
	}
	if _, err := sc.ExecContext(c.run(), "COMMIT"); err != nil {
		// A failed COMMIT has rolled the transaction back, or left it
		// open (SQLITE_BUSY): nothing of it is committed.
		s.rollback(sc)
		return s.fail(op, s.explain(err))
	}
	return nil
}

// ctxEnded is ctx's error, or DeadlineExceeded once its deadline has passed
// (a timer-driven context may say so a moment later).
func ctxEnded(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if d, ok := ctx.Deadline(); ok && !time.Now().Before(d) {
		return context.DeadlineExceeded
	}
	return nil
}

// ended puts, in front of a *ledger.StoreError of this store, that the
// operation's context ended, when it has and the error does not say so
// already. Any other error (check's, in Insert) is returned as it is.
func (s *Store) ended(ctx context.Context, err error) error {
	cerr := ctxEnded(ctx)
	if cerr == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	var se *ledger.StoreError
	if !errors.As(err, &se) || se.Store != s.name {
		return err
	}
	return s.fail(se.Op, fmt.Errorf("%w: %w", cerr, se.Err))
}

// rollback ends the transaction sc may be in, under a context of its own.
// When neither the ROLLBACK nor a BEGIN (which succeeds only outside a
// transaction) shows the connection out of a transaction, it is discarded.
func (s *Store) rollback(sc *sql.Conn) {
	ctx, cancel := context.WithTimeout(context.Background(), rollbackTimeout)
	defer cancel()
	if _, err := sc.ExecContext(ctx, "ROLLBACK"); err == nil {
		return
	}
	// "no transaction is active": the BEGIN failed, or SQLite rolled back
	// on its own (it does after an I/O error), or the ROLLBACK failed.
	if _, err := sc.ExecContext(ctx, "BEGIN DEFERRED"); err != nil {
		s.discard(sc)
		return
	}
	if _, err := sc.ExecContext(ctx, "ROLLBACK"); err != nil {
		s.discard(sc)
	}
}

// discard closes sc's driver connection instead of giving it back to the
// pool (closing rolls back and lets go of the file's locks); the pool
// opens a new one for the next write.
func (s *Store) discard(sc *sql.Conn) {
	_ = sc.Raw(func(any) error { return driver.ErrBadConn })
	s.busyConn, s.busyMS = nil, 0
}

// fitBusyTimeout sets the busy timeout of c to BusyTimeout, or to what is
// left until its operation's deadline when that is sooner, so that a wait
// for another process's write lock never outlives the caller's deadline.
// The PRAGMA runs only when the value changes.
//
// It reports whether the deadline cut the timeout.
func (s *Store) fitBusyTimeout(c *conn) (cut bool, err error) {
	want := BusyTimeout
	if d, ok := c.ctx.Deadline(); ok && time.Until(d) < want {
		want, cut = time.Until(d), true
	}
	ms := int64(max((want+time.Millisecond-1)/time.Millisecond, 1))
	var dc any
	if err := c.c.Raw(func(d any) error { dc = d; return nil }); err != nil {
		return cut, err
	}
	if dc == s.busyConn && ms == s.busyMS {
		return cut, nil
	}
	if _, err := c.Exec(fmt.Sprintf("PRAGMA busy_timeout = %d", ms)); err != nil {
		s.busyConn = nil
		return cut, err
	}
	s.busyConn, s.busyMS = dc, ms
	return cut, nil
}

// giveWay pauses, holding the turn, when this process's writes have followed
// each other for fairStreak without a fairPause between them, so another
// process waiting for the write lock gets it.
func (s *Store) giveWay(ctx context.Context) error {
	now := time.Now()
	if now.Sub(s.lastCommit) >= fairPause {
		s.streakStart = now // the lock was free long enough: a new streak
		return nil
	}
	if now.Sub(s.streakStart) < fairStreak {
		return nil
	}
	t := time.NewTimer(fairPause - now.Sub(s.lastCommit))
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
	}
	s.streakStart = time.Now()
	return nil
}

// firstPing connects the writer. A new file's switch to WAL takes a lock
// that SQLite does not wait for with its busy handler, so processes opening
// a fresh file at the same moment can see SQLITE_BUSY at once: it is tried
// again, for up to BusyTimeout.
func (s *Store) firstPing(ctx context.Context) error {
	deadline := time.Now().Add(BusyTimeout)
	for delay := 5 * time.Millisecond; ; delay = min(2*delay, 200*time.Millisecond) {
		err := s.w.PingContext(ctx)
		var se *sqlite.Error
		if err == nil || !errors.As(err, &se) || se.Code()&0xff != sqlite3.SQLITE_BUSY || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(delay):
		}
	}
}

// isBusy reports whether err is SQLite's SQLITE_BUSY: another connection
// held the lock for the whole busy timeout.
func isBusy(err error) bool {
	var se *sqlite.Error
	return errors.As(err, &se) && se.Code()&0xff == sqlite3.SQLITE_BUSY
}
