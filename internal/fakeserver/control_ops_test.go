package fakeserver

import (
	"strings"
	"testing"
)

type opRec struct{ n int }

func TestRecordsOps(t *testing.T) {
	var all []opRec
	num := Records[int64, opRec, int]{Noun: "payment", Param: "id", All: func() []opRec { return all },
		Get: func(k int64) (opRec, bool) {
			if k < 1 || k > int64(len(all)) {
				return opRec{}, false
			}
			return all[k-1], true
		},
		View: func(r opRec) int { return r.n * 10 }}
	text := Records[string, opRec, int]{Noun: "invoice", Param: "txn", All: func() []opRec { return all },
		Get:  func(k string) (opRec, bool) { return opRec{7}, k == "a" },
		View: func(r opRec) int { return r.n }}
	acted := 0
	act := ControlOp{Name: "act", Params: []string{"id", "n?"}, Do: func(a *Args) (any, error) {
		id, err := num.Existing(a)
		if err != nil {
			return nil, err
		}
		acted++
		return num.Found(id, true)
	}}
	h := ControlHandler("t", []ControlOp{num.ListOp("list", "l"), num.GetOp("get", "g"), text.GetOp("tget", "tg"), act,
		CountOp("cnt", "c", func(n int) { acted += 100 * n }),
		FailOp("fail", "f", func(n, st int, body string) { acted += st })})
	for _, c := range []struct {
		method, target, body string
		status               int
		want                 string
	}{
		{"GET", "/_fake/list", ``, 200, "[]"},
		{"GET", "/_fake/get?id=1", ``, 404, `"no payment 1"`},
		{"GET", "/_fake/get?id=x", ``, 400, `id: \"x\" is not an integer`},
		{"GET", "/_fake/get", ``, 400, `get needs id`},
		{"GET", "/_fake/tget?txn=b", ``, 404, `"no invoice \"b\""`},
		{"GET", "/_fake/tget?txn=a", ``, 200, "7"},
		{"POST", "/_fake/act", `{"id": 1}`, 404, `no payment 1`},
		{"POST", "/_fake/fail", `{"status": 99}`, 400, `99 is not an HTTP status`},
		{"POST", "/_fake/cnt", `{"n": 0}`, 400, `between 1 and 1000`},
	} {
		if status, _, body := doControl(h, c.method, c.target, c.body); status != c.status || !strings.Contains(body, c.want) {
			t.Errorf("%s %s %s: %d %s; want %d and %s", c.method, c.target, c.body, status, body, c.status, c.want)
		}
	}
	if acted != 0 {
		t.Fatalf("acted %d times on refused requests", acted)
	}
	all = []opRec{{1}, {2}}
	for _, c := range []struct{ method, target, body, want string }{
		{"GET", "/_fake/list", ``, "[\n  10,\n  20\n]"},
		{"GET", "/_fake/get?id=2", ``, "20"},
		{"POST", "/_fake/act", `{"id": "1"}`, "10"},
		{"POST", "/_fake/cnt", `{"n": 3}`, `"ok": true`},
		{"POST", "/_fake/fail", `{"status": 502}`, `"ok": true`},
	} {
		if status, _, body := doControl(h, c.method, c.target, c.body); status != 200 || strings.TrimSpace(body) != c.want && !strings.Contains(body, c.want) {
			t.Errorf("%s %s %s: %d %s; want 200 and %s", c.method, c.target, c.body, status, body, c.want)
		}
	}
	if acted != 1+300+502 {
		t.Errorf("acted = %d, want 803 (act once, cnt n=3, fail status 502)", acted)
	}
}
