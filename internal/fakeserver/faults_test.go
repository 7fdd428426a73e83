package fakeserver

import (
	"testing"
	"time"
)

func TestFaultsDropNextOp(t *testing.T) {
	var q Faults
	q.DelayNext(1, time.Second)
	q.DropNextOp("pay", 2)
	q.DropNextOp("reverse", 1)
	q.DropNextOp("reverse", 0) // clears reverse
	if f := q.take("reverse", false); f.Kind != FaultDelay {
		t.Fatalf("reverse after clearing took %v, want the queue's head (delay)", f.Kind)
	}
	if f := q.take("pay", true); f.Kind != FaultDrop {
		t.Fatalf("pay took %v, want its drop", f.Kind)
	}
	if f := q.take("pay", false); f.Kind != FaultDrop {
		t.Fatalf("second pay took %v, want its drop", f.Kind)
	}
	if f := q.take("pay", false); f.Kind != 0 {
		t.Fatalf("third pay took %v, want nothing", f.Kind)
	}
	if n := q.ops.Len(); n != 0 {
		t.Fatalf("%d drops still queued", n)
	}
}

func TestFaultsOpOnlyLeavesTheQueue(t *testing.T) {
	var q Faults
	q.FailNext(1, 500, "x")
	if f := q.take("create", true); f.Kind != 0 {
		t.Fatalf("an op-only route took %v", f.Kind)
	}
	Enqueue(&q, 1, Fault{Kind: FaultCustom, Code: 7})
	if f := q.take("any", false); f.Kind != FaultFail || f.Status != 500 {
		t.Fatalf("took %+v, want the FailNext queued first", f)
	}
	if f := q.take("any", false); f.Kind != FaultCustom || f.Code != 7 {
		t.Fatalf("took %+v, want the custom fault", f)
	}
}
