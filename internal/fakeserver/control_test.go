package fakeserver

import (
	"encoding/json"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func testOps(calls *int) []ControlOp {
	return []ControlOp{
		{Name: "set", Params: []string{"id", "n?"}, Doc: "set",
			Do: func(a *Args) (any, error) {
				id, n := a.Int64("id", 0), a.Count("n", 1)
				if err := a.Err(); err != nil {
					return nil, err
				}
				*calls++
				if id == 404 {
					return nil, NotFoundf("no %d", id)
				}
				return map[string]int64{"id": id, "n": int64(n)}, nil
			}},
		{Name: "list", Read: true, Params: []string{"q?"}, Doc: "list",
			Do: func(a *Args) (any, error) { return []string{a.String("q")}, nil }},
		{Name: "none", Doc: "nil result", Do: func(*Args) (any, error) { return nil, nil }},
		{Name: "boom", Doc: "panics", Do: func(*Args) (any, error) { panic("boom") }},
	}
}

func doControl(h http.Handler, method, target, body string) (int, map[string]any, string) {
	req := httptest.NewRequest(method, target, strings.NewReader(body))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	var m map[string]any
	_ = json.Unmarshal(rec.Body.Bytes(), &m)
	return rec.Code, m, rec.Body.String()
}

func TestControlHandler(t *testing.T) {
	calls := 0
	h := ControlHandler("testfake", testOps(&calls))
	for _, c := range []struct {
		method, target, body string
		status               int
		want                 string
	}{
		{"POST", "/_fake/set", `{"id": 7}`, 200, `"id": 7`},
		{"POST", "/_fake/set", `{"id": "8", "n": 3}`, 200, `"n": 3`},
		{"POST", "/_fake/set/", `{"id": 9}`, 200, `"id": 9`},
		{"POST", "/_fake/set", `{"id": 404}`, 404, `"error": "no 404"`},
		{"POST", "/_fake/set", `{"id": "x"}`, 400, `id: \"x\" is not an integer`},
		{"POST", "/_fake/set", `{"id": 1, "n": 0}`, 400, `n: 0 is not between 1 and 1000`},
		{"POST", "/_fake/set", `{}`, 400, `set needs id`},
		{"POST", "/_fake/set", ``, 400, `set needs id`},
		{"POST", "/_fake/set", `{"id": 1, "idd": 2}`, 400, `takes no parameter idd`},
		{"POST", "/_fake/set", `{"id": {"a": 1}}`, 400, `not an object or array`},
		{"POST", "/_fake/set", `{"id": null}`, 400, `null`},
		{"POST", "/_fake/set", `[1]`, 400, `not a JSON object`},
		{"POST", "/_fake/set", `null`, 400, `not a JSON object`},
		{"POST", "/_fake/set", `{"id": 1`, 400, `not a JSON object`},
		{"GET", "/_fake/set?id=1", ``, 405, `POST it`},
		{"PUT", "/_fake/set", `{"id": 1}`, 405, `only GET and POST`},
		{"GET", "/_fake/list?q=abc", ``, 200, `"abc"`},
		{"GET", "/_fake/list?q=a&q=b", ``, 400, `given 2 times`},
		{"POST", "/_fake/list", `{"q": true}`, 200, `"true"`},
		{"POST", "/_fake/none", ``, 200, `"ok": true`},
		{"POST", "/_fake/boom", ``, 500, `boom`},
		{"POST", "/_fake/nosuch", ``, 404, `no control operation \"nosuch\"`},
		{"GET", "/_fake/", ``, 200, `"fake": "testfake"`},
		{"POST", "/_fake/", ``, 405, `lists the operations`},
		{"POST", "/_fake/set", `{"id": 1, "x": "` + strings.Repeat("a", MaxControlBody) + `"}`, 413, `over 65536 bytes`},
	} {
		status, _, body := doControl(h, c.method, c.target, c.body)
		if status != c.status || !strings.Contains(body, c.want) {
			t.Errorf("%s %s %.40q: %d %s; want %d and %s", c.method, c.target, c.body, status, body, c.status, c.want)
		}
	}
	if calls != 4 {
		t.Errorf("set ran %d times, want 4 (never for a refused request)", calls)
	}
	// The index lists the operations sorted, with their parameters.
	_, m, _ := doControl(h, "GET", "/_fake/", "")
	ops, _ := m["ops"].([]any)
	if len(ops) != 4 || ops[0].(map[string]any)["op"] != "boom" || ops[3].(map[string]any)["op"] != "set" {
		t.Errorf("index ops = %v", ops)
	}
}

// TestControlHandlerNeverPanics throws random bodies and paths at the
// handler: every answer is JSON with a status.
func TestControlHandlerNeverPanics(t *testing.T) {
	calls := 0
	h := ControlHandler("testfake", testOps(&calls))
	r := rand.New(rand.NewPCG(1, 2))
	alphabet := []byte(`{}[]":,0123456789abcdefnulltrue \n\\u00`)
	for range 3000 {
		b := make([]byte, r.IntN(40))
		for i := range b {
			b[i] = alphabet[r.IntN(len(alphabet))]
		}
		op := []string{"set", "list", "none", "nosuch", ""}[r.IntN(5)]
		status, m, body := doControl(h, "POST", "/_fake/"+op, string(b))
		if status == 0 || (m == nil && !strings.HasPrefix(body, "[")) {
			t.Fatalf("POST %s %q: %d %q", op, b, status, body)
		}
	}
}

func TestFaultOpsQueueFaults(t *testing.T) {
	var q Faults
	h := ControlHandler("testfake", FaultOps(&q, func(op string) int { return len(op) }))
	for _, body := range []string{`{"n": 2, "status": 502, "body": "x"}`} {
		if status, _, b := doControl(h, "POST", "/_fake/fail_next", body); status != 200 {
			t.Fatalf("fail_next: %d %s", status, b)
		}
	}
	if status, _, _ := doControl(h, "POST", "/_fake/fail_next", `{"status": 42}`); status != 400 {
		t.Errorf("fail_next status 42: %d, want 400", status)
	}
	if status, _, _ := doControl(h, "POST", "/_fake/delay_next", `{"delay": "2h"}`); status != 400 {
		t.Errorf("delay_next 2h: %d, want 400", status)
	}
	doControl(h, "POST", "/_fake/drop_next_op", `{"op": "pay"}`)
	if f := q.take("pay", false); f.Kind != FaultDrop {
		t.Errorf("after drop_next_op pay, a pay request takes %v, want a drop", f.Kind)
	}
	for range 2 {
		if f := q.take("other", false); f.Kind != FaultFail || f.Status != 502 || f.Body != "x" {
			t.Errorf("queued fault %+v, want fail 502 x", f)
		}
	}
	if f := q.take("other", false); f.Kind != 0 {
		t.Errorf("a third fault %+v, want none", f)
	}
	if _, m, _ := doControl(h, "GET", "/_fake/count?op=abcd", ""); m["count"] != float64(4) {
		t.Errorf("count = %v, want 4", m)
	}
}
