package paykeepertest

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// clock is a settable clock for WithClock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock {
	return &clock{t: time.Date(2024, 5, 14, 15, 59, 0, 0, Moscow)}
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func newTestServer(t *testing.T, opts ...Option) *Server {
	t.Helper()
	return NewServer(append([]Option{WithT(t)}, opts...)...)
}

type result struct {
	status int
	header http.Header
	body   []byte
}

func (r result) json(t *testing.T) any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(r.body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("body is not JSON: %v: %q", err, r.body)
	}
	return v
}

func (r result) obj(t *testing.T) map[string]any {
	t.Helper()
	m, ok := r.json(t).(map[string]any)
	if !ok {
		t.Fatalf("body is not an object: %s", r.body)
	}
	return m
}

func (r result) arr(t *testing.T) []map[string]any {
	t.Helper()
	a, ok := r.json(t).([]any)
	if !ok {
		t.Fatalf("body is not an array: %s", r.body)
	}
	out := make([]map[string]any, len(a))
	for i, e := range a {
		out[i], ok = e.(map[string]any)
		if !ok {
			t.Fatalf("element %d is not an object: %s", i, r.body)
		}
	}
	return out
}

func do(t *testing.T, srv *Server, req *http.Request, user, pass string) result {
	t.Helper()
	if user != "" {
		req.SetBasicAuth(user, pass)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading body: %v", req.Method, req.URL, err)
	}
	return result{resp.StatusCode, resp.Header, b}
}

// get runs an authenticated GET as the default user.
func get(t *testing.T, srv *Server, path string, q url.Values) result {
	t.Helper()
	return getAs(t, srv, DefaultUser, DefaultPassword, path, q)
}

func getAs(t *testing.T, srv *Server, user, pass, path string, q url.Values) result {
	t.Helper()
	u := srv.URL() + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	return do(t, srv, req, user, pass)
}

func fetchToken(t *testing.T, srv *Server, user, pass string) string {
	t.Helper()
	r := getAs(t, srv, user, pass, "/info/settings/token/", nil)
	tok, _ := r.obj(t)["token"].(string)
	return tok
}

// post runs an authenticated form POST as the default user with a fresh
// token.
func post(t *testing.T, srv *Server, path string, form url.Values) result {
	t.Helper()
	return postAs(t, srv, DefaultUser, DefaultPassword, path, form)
}

func postAs(t *testing.T, srv *Server, user, pass, path string, form url.Values) result {
	t.Helper()
	f := url.Values{}
	for k, v := range form {
		f[k] = v
	}
	f.Set("token", fetchToken(t, srv, user, pass))
	return rawPost(t, srv, user, pass, path, f)
}

func rawPost(t *testing.T, srv *Server, user, pass, path string, form url.Values) result {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, srv.URL()+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return do(t, srv, req, user, pass)
}

func wantSuccess(t *testing.T, r result) {
	t.Helper()
	if r.status != 200 || string(r.body) != `{"result":"success"}` {
		t.Fatalf("want success, got %d %s", r.status, r.body)
	}
}

func wantFail(t *testing.T, r result, msg string) {
	t.Helper()
	m := r.obj(t)
	if r.status != 200 || m["result"] != "fail" || m["msg"] != msg {
		t.Fatalf("want fail %q, got %d %s", msg, r.status, r.body)
	}
}

func keys(m map[string]any) string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sortStrings(out)
	return strings.Join(out, ",")
}

func sortStrings(s []string) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

// recorder is a testing.TB that records Errorf instead of failing.
type recorder struct {
	testing.TB
	mu     sync.Mutex
	errors []string
}

func (r *recorder) Helper() {}

func (r *recorder) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errors = append(r.errors, format)
}

func (r *recorder) got() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.errors...)
}
