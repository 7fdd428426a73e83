package royalpaytest

import (
	"net/http"
	"testing"
)

// The shared switches of fakeserver.Faults are RoyalPay's too: before the
// framework it had no DropBeforeNext and no DropNextOp.
func TestSharedFaultSwitches(t *testing.T) {
	s := NewServer(WithT(t))
	const body = `{"sum":1,"type":"nspk"}`

	s.DropBeforeNext(1)
	if _, err := roundTrip(s.Client(), newReq(t, s, http.MethodPost, createPath, body)); err == nil {
		t.Fatal("DropBeforeNext: the create was answered")
	}
	if n := len(s.Payments()); n != 0 {
		t.Fatalf("DropBeforeNext: %d payments created, want none", n)
	}

	s.DropNextOp(OpCreate, 1)
	if _, err := roundTrip(s.Client(), newReq(t, s, http.MethodPost, createPath, body)); err == nil {
		t.Fatal("DropNextOp: the create was answered")
	}
	if n := len(s.Payments()); n != 1 {
		t.Fatalf("DropNextOp: %d payments, want the one created before the drop", n)
	}
	for _, r := range s.Requests() {
		if r.Answered != 0 {
			t.Fatalf("a dropped create recorded as answered %d", r.Answered)
		}
	}
	if got := create(t, s, body); got.status != http.StatusOK {
		t.Fatalf("after the drops: %d %s", got.status, got.body)
	}
}
