package fakeserver

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

// ControlPrefix is the path under which every fake serves its control API,
// on its own port: the operations a test would call in Go (complete a
// payment, lose the next answer, list the payments...) as HTTP requests, for
// programs in other languages and for "payments fake control". Requests
// under it never reach the provider's routes: they are neither recorded nor
// counted, and they take no fault.
//
// The protocol, the same for every fake:
//
//	GET  /_fake/      the operations: {"fake": NAME, "ops": [{"op", "params", "read", "doc"}...]}
//	POST /_fake/OP    a JSON object of the operation's parameters ({} or no body for none);
//	                  a value is a JSON string, number or boolean ("5" and 5 alike)
//	GET  /_fake/OP    the same for a read operation, the parameters in the query string
//
// The answer is JSON: the operation's result with 200, or {"error": TEXT}
// with 400 (bad parameters, or the fake refused), 404 (no such operation,
// payment...), 405 (a method the operation does not take), 413 (a body over
// [MaxControlBody]) or 403 (plain HTTP, where a fake serves it). The control
// API has no authentication: a fake is a test tool.
const ControlPrefix = "/_fake/"

// MaxControlBody caps the body of a control request.
const MaxControlBody = 64 << 10

func isControl(path string) bool {
	return path == "/_fake" || strings.HasPrefix(path, ControlPrefix)
}

// SetControl installs h as the handler of requests under [ControlPrefix]
// (see [ControlHandler]); until it is called they are answered 404. It may
// be called at any time, before or after [Base.Serve].
func (b *Base) SetControl(h http.Handler) { b.control.Store(&h) }

func (b *Base) serveControl(w http.ResponseWriter, r *http.Request) {
	if r.TLS == nil {
		writeControl(w, http.StatusForbidden, controlErr{"the control API answers only over TLS"})
		return
	}
	h := b.control.Load()
	if h == nil || *h == nil {
		writeControl(w, http.StatusNotFound, controlErr{b.name + " has no control API"})
		return
	}
	(*h).ServeHTTP(w, r)
}

// ControlOp is one operation of a fake's control API.
type ControlOp struct {
	// Name is the path element after [ControlPrefix]: lower case, words
	// joined by "_", e.g. "complete".
	Name string
	// Params are the parameter names; one ending in "?" is optional (the
	// "?" is not part of the name). A request with a parameter not listed
	// here, or without a required one, is refused with 400 before Do runs.
	Params []string
	// Read marks an operation that changes nothing: it answers GET too.
	Read bool
	// Doc is one line for the index and the documentation.
	Doc string
	// Do runs the operation. It reads its parameters from a (whose
	// conversion errors it returns through a.Err before changing
	// anything) and returns the result to encode as JSON (nil: {"ok":
	// true}) or an error: a [*ControlError] for its status, any other
	// error answers 400 with its text.
	Do func(a *Args) (any, error)
}

// ControlError is an error with the HTTP status of its control answer.
type ControlError struct {
	Status int
	Msg    string
}

func (e *ControlError) Error() string { return e.Msg }

// NotFoundf is a [ControlError] with status 404.
func NotFoundf(format string, args ...any) error {
	return &ControlError{Status: http.StatusNotFound, Msg: fmt.Sprintf(format, args...)}
}

// BadRequestf is a [ControlError] with status 400.
func BadRequestf(format string, args ...any) error {
	return &ControlError{Status: http.StatusBadRequest, Msg: fmt.Sprintf(format, args...)}
}

// Args are the parameters of one control request, each as text. The typed
// getters record a conversion error, which [Args.Err] returns.
type Args struct {
	m    map[string]string
	errs []string
}

// NewArgs returns Args holding m, for tests of an operation's Do.
func NewArgs(m map[string]string) *Args { return &Args{m: m} }

// Has reports whether the parameter name was given.
func (a *Args) Has(name string) bool { _, ok := a.m[name]; return ok }

// String returns the parameter name, "" when absent.
func (a *Args) String(name string) string { return a.m[name] }

// Int64 returns the parameter name as a decimal integer, def when absent.
func (a *Args) Int64(name string, def int64) int64 {
	v, ok := a.m[name]
	if !ok {
		return def
	}
	n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	if err != nil {
		a.errs = append(a.errs, fmt.Sprintf("%s: %q is not an integer", name, v))
	}
	return n
}

// Int returns the parameter name as a decimal int, def when absent.
func (a *Args) Int(name string, def int) int {
	n := a.Int64(name, int64(def))
	if n != int64(int(n)) {
		a.errs = append(a.errs, fmt.Sprintf("%s: out of range", name))
		return 0
	}
	return int(n)
}

// Count returns the parameter name as a count of requests, 1 to 1000,
// def when absent.
func (a *Args) Count(name string, def int) int {
	n := a.Int(name, def)
	if n < 1 || n > 1000 {
		a.errs = append(a.errs, fmt.Sprintf("%s: %d is not between 1 and 1000", name, n))
	}
	return n
}

// Bool returns the parameter name as a boolean (true, false, 1, 0), def
// when absent.
func (a *Args) Bool(name string, def bool) bool {
	v, ok := a.m[name]
	if !ok {
		return def
	}
	b, err := strconv.ParseBool(strings.TrimSpace(v))
	if err != nil {
		a.errs = append(a.errs, fmt.Sprintf("%s: %q is not true or false", name, v))
	}
	return b
}

// Duration returns the parameter name as a Go duration ("1.5s", "200ms"),
// 0 to one hour, def when absent.
func (a *Args) Duration(name string, def time.Duration) time.Duration {
	v, ok := a.m[name]
	if !ok {
		return def
	}
	d, err := time.ParseDuration(strings.TrimSpace(v))
	if err != nil || d < 0 || d > time.Hour {
		a.errs = append(a.errs, fmt.Sprintf("%s: %q is not a duration between 0 and 1h (e.g. 2s)", name, v))
	}
	return d
}

// Err returns the conversion errors so far as one 400 error, or nil.
func (a *Args) Err() error {
	if len(a.errs) == 0 {
		return nil
	}
	return BadRequestf("%s", strings.Join(a.errs, "; "))
}

type controlErr struct {
	Error string `json:"error"`
}

type controlIndexOp struct {
	Op     string   `json:"op"`
	Params []string `json:"params"`
	Read   bool     `json:"read,omitempty"`
	Doc    string   `json:"doc"`
}

// ControlHandler returns the handler of a fake's control API (see
// [ControlPrefix]) serving ops; name is the fake's, for the index. It never
// panics on any request: a panic in an operation answers 500.
func ControlHandler(name string, ops []ControlOp) http.Handler {
	byName := map[string]*ControlOp{}
	index := make([]controlIndexOp, 0, len(ops))
	for i := range ops {
		op := &ops[i]
		byName[op.Name] = op
		index = append(index, controlIndexOp{Op: op.Name, Params: append([]string{}, op.Params...), Read: op.Read, Doc: op.Doc})
	}
	sort.Slice(index, func(i, j int) bool { return index[i].Op < index[j].Op })
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		opName := strings.Trim(strings.TrimPrefix(r.URL.Path, "/_fake"), "/")
		if opName == "" {
			if r.Method != http.MethodGet {
				writeControl(w, http.StatusMethodNotAllowed, controlErr{"GET " + ControlPrefix + " lists the operations"})
				return
			}
			writeControl(w, http.StatusOK, struct {
				Fake string           `json:"fake"`
				Ops  []controlIndexOp `json:"ops"`
			}{name, index})
			return
		}
		op := byName[opName]
		if op == nil {
			writeControl(w, http.StatusNotFound, controlErr{fmt.Sprintf("no control operation %q (GET %s lists them)", opName, ControlPrefix)})
			return
		}
		m, status, err := controlParams(r, op)
		if err != nil {
			writeControl(w, status, controlErr{err.Error()})
			return
		}
		v, err := runOp(op, &Args{m: m})
		if err != nil {
			var ce *ControlError
			status := http.StatusBadRequest
			if errors.As(err, &ce) {
				status = ce.Status
			}
			writeControl(w, status, controlErr{err.Error()})
			return
		}
		if v == nil {
			v = struct {
				OK bool `json:"ok"`
			}{true}
		}
		writeControl(w, http.StatusOK, v)
	})
}

// runOp runs op.Do, turning a panic into a 500 error: a fake's own method
// may panic on input it considers a test's mistake.
func runOp(op *ControlOp, a *Args) (v any, err error) {
	defer func() {
		if p := recover(); p != nil {
			v, err = nil, &ControlError{Status: http.StatusInternalServerError, Msg: fmt.Sprintf("%s: %v", op.Name, p)}
		}
	}()
	return op.Do(a)
}

// controlParams reads a request's parameters and checks them against op's.
func controlParams(r *http.Request, op *ControlOp) (map[string]string, int, error) {
	m := map[string]string{}
	switch r.Method {
	case http.MethodGet:
		if !op.Read {
			return nil, http.StatusMethodNotAllowed, fmt.Errorf("%s changes the fake: POST it", op.Name)
		}
		for k, vs := range r.URL.Query() {
			if len(vs) != 1 {
				return nil, http.StatusBadRequest, fmt.Errorf("%s: given %d times", k, len(vs))
			}
			m[k] = vs[0]
		}
	case http.MethodPost:
		body, ok := ReadBody(r, MaxControlBody)
		if !ok {
			return nil, http.StatusRequestEntityTooLarge, fmt.Errorf("the body is unreadable or over %d bytes", MaxControlBody)
		}
		if len(bytes.TrimSpace(body)) > 0 {
			var raw map[string]json.RawMessage
			if err := json.Unmarshal(body, &raw); err != nil || raw == nil {
				return nil, http.StatusBadRequest, errors.New("the body is not a JSON object")
			}
			for k, v := range raw {
				s, err := scalar(v)
				if err != nil {
					return nil, http.StatusBadRequest, fmt.Errorf("%s: %v", k, err)
				}
				m[k] = s
			}
		}
	default:
		return nil, http.StatusMethodNotAllowed, errors.New("only GET and POST")
	}
	known := map[string]bool{}
	var missing []string
	for _, p := range op.Params {
		n, optional := strings.CutSuffix(p, "?")
		known[n] = true
		if _, ok := m[n]; !ok && !optional {
			missing = append(missing, n)
		}
	}
	var unknown []string
	for k := range m {
		if !known[k] {
			unknown = append(unknown, k)
		}
	}
	sort.Strings(unknown)
	switch {
	case len(unknown) > 0:
		return nil, http.StatusBadRequest, fmt.Errorf("%s takes no parameter %s (it takes: %s)", op.Name, strings.Join(unknown, ", "), paramList(op.Params))
	case len(missing) > 0:
		return nil, http.StatusBadRequest, fmt.Errorf("%s needs %s", op.Name, strings.Join(missing, ", "))
	}
	return m, 0, nil
}

func paramList(ps []string) string {
	if len(ps) == 0 {
		return "none"
	}
	return strings.Join(ps, " ")
}

// scalar is the text of a JSON string, number or boolean.
func scalar(v json.RawMessage) (string, error) {
	t := bytes.TrimSpace(v)
	if len(t) == 0 {
		return "", errors.New("empty")
	}
	switch t[0] {
	case '"':
		var s string
		if err := json.Unmarshal(t, &s); err != nil {
			return "", errors.New("a bad string")
		}
		return s, nil
	case '{', '[':
		return "", errors.New("a string, number or boolean, not an object or array")
	case 'n':
		return "", errors.New("null")
	}
	return string(t), nil
}

func writeControl(w http.ResponseWriter, status int, v any) {
	body, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		status, body = http.StatusInternalServerError, []byte(`{"error": "the answer does not encode"}`)
	}
	Write(w, status, "application/json", nil, append(body, '\n'))
}

// FaultOps are the control operations of the fault switches of q (the
// embedded [Faults] every fake has) and of count, the request log's Count:
// fail_next, drop_next, drop_before_next, delay_next, truncate_next,
// garbage_next, drop_next_op and count. A fake appends its own.
func FaultOps(q *Faults, count func(op string) int) []ControlOp {
	return []ControlOp{
		FailOp("fail_next", "answer the next n (1) requests with status (500) and body (\"\") without processing them", q.FailNext),
		CountOp("drop_next", "process the next n (1) requests, then close the connection without an answer (the outcome is unknown to the client)", q.DropNext),
		CountOp("drop_before_next", "close the connection of the next n (1) requests without processing them", q.DropBeforeNext),
		{Name: "delay_next", Params: []string{"n?", "delay"},
			Doc: "process the next n (1) requests, then wait delay (a Go duration, e.g. 5s) before answering",
			Do: func(a *Args) (any, error) {
				n, d := a.Count("n", 1), a.Duration("delay", 0)
				if err := a.Err(); err != nil {
					return nil, err
				}
				q.DelayNext(n, d)
				return nil, nil
			}},
		CountOp("truncate_next", "process the next n (1) requests and send only the first half of the answer's body", q.TruncateNext),
		CountOp("garbage_next", "process the next n (1) requests and answer an HTML error page instead", q.GarbageNext),
		{Name: "drop_next_op", Params: []string{"op", "n?"},
			Doc: "lose the answer of the next n (1) requests of operation op (see count), leaving the others alone",
			Do: func(a *Args) (any, error) {
				n := a.Count("n", 1)
				if err := a.Err(); err != nil {
					return nil, err
				}
				q.DropNextOp(a.String("op"), n)
				return nil, nil
			}},
		{Name: "count", Params: []string{"op"}, Read: true,
			Doc: "how many requests of operation op the fake received",
			Do: func(a *Args) (any, error) {
				return struct {
					Op    string `json:"op"`
					Count int    `json:"count"`
				}{a.String("op"), count(a.String("op"))}, nil
			}},
	}
}

// countOp is an operation whose only parameter is the count n.
func countOp(f func(int)) func(a *Args) (any, error) {
	return func(a *Args) (any, error) {
		n := a.Count("n", 1)
		if err := a.Err(); err != nil {
			return nil, err
		}
		f(n)
		return nil, nil
	}
}
