package fakeserver

import (
	"sync"
	"testing"
)

type rec struct {
	Op   string
	Body []byte
	N    int
}

func newTestLog() *Log[rec] {
	return NewLog(func(r *rec) string { return r.Op }, func(r rec) rec {
		r.Body = append([]byte(nil), r.Body...)
		return r
	})
}

func TestLogRecordsCountsAndResets(t *testing.T) {
	l := newTestLog()
	if got := l.Requests(); got == nil || len(got) != 0 {
		t.Fatalf("empty log: %#v", got)
	}
	first := &rec{Op: "pay", Body: []byte("a")}
	l.Add(first)
	l.Add(&rec{Op: "status", N: 2})
	l.Add(&rec{Op: "pay", N: 3})

	if n := l.Count("pay"); n != 2 {
		t.Errorf("Count(pay) = %d", n)
	}
	if n := l.Count("nope"); n != 0 {
		t.Errorf("Count(nope) = %d", n)
	}
	if n := l.CountFunc(func(r rec) bool { return r.N > 1 }); n != 2 {
		t.Errorf("CountFunc = %d", n)
	}

	got := l.Requests()
	if len(got) != 3 || got[0].Op != "pay" || got[1].Op != "status" || got[2].N != 3 {
		t.Fatalf("Requests = %+v", got)
	}
	got[0].Body[0] = 'x'
	if first.Body[0] != 'a' {
		t.Error("Requests shares the body: clone not applied")
	}
	// A record filled in after Add shows in the next copy.
	first.N = 9
	if l.Requests()[0].N != 9 {
		t.Error("the log does not keep the pointer it was given")
	}

	l.Reset()
	if len(l.Requests()) != 0 || l.Count("pay") != 0 {
		t.Error("Reset kept records")
	}
	l.Add(&rec{Op: "pay"})
	if l.Count("pay") != 1 {
		t.Error("Add after Reset")
	}
}

func TestLogWithoutCloneCopiesShallowly(t *testing.T) {
	l := NewLog[rec](func(r *rec) string { return r.Op }, nil)
	r := &rec{Op: "a"}
	l.Add(r)
	got := l.Requests()
	got[0].Op = "b"
	if r.Op != "a" || l.Count("a") != 1 {
		t.Error("Requests returned the record itself")
	}
}

func TestNewLogNeedsOp(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("no panic")
		}
	}()
	NewLog[rec](nil, nil)
}

// Run with -race: Add, Requests, Count, CountFunc and Reset from many
// goroutines at once.
func TestLogConcurrentUse(t *testing.T) {
	l := newTestLog()
	var wg sync.WaitGroup
	const workers, each = 8, 200
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				l.Add(&rec{Op: "op", N: w*each + i})
				_ = l.Count("op")
				_ = l.CountFunc(func(r rec) bool { return r.N%2 == 0 })
				_ = l.Requests()
			}
		}()
	}
	wg.Wait()
	if n := l.Count("op"); n != workers*each {
		t.Fatalf("Count = %d, want %d", n, workers*each)
	}
	wg.Add(2)
	go func() { defer wg.Done(); l.Reset() }()
	go func() { defer wg.Done(); l.Add(&rec{Op: "op"}) }()
	wg.Wait()
	if n := l.Count("op"); n > 1 {
		t.Fatalf("after Reset: %d", n)
	}
}
