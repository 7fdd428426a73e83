package testcheck

import (
	"errors"
	"testing"

	"github.com/paysdk/payments"
)

// recorder catches Fatalf instead of stopping the test.
type recorder struct {
	testing.TB
	failed bool
}

func (r *recorder) Helper()               {}
func (r *recorder) Fatalf(string, ...any) { r.failed = true }
func (r *recorder) Errorf(string, ...any) { r.failed = true }

func TestTypedError(t *testing.T) {
	cases := []struct {
		err  error
		fail bool
	}{
		{nil, false},
		{&payments.APIError{Provider: "p", Message: "fine"}, false},
		{&payments.TransportError{Err: errors.New("x")}, false},
		{errors.New("plain"), true},
		{&payments.APIError{Provider: "p", Message: "password hunter2"}, true},
	}
	for i, c := range cases {
		r := &recorder{TB: t}
		TypedError(r, c.err, "hunter2")
		if r.failed != c.fail {
			t.Errorf("case %d: failed=%v, want %v", i, r.failed, c.fail)
		}
	}
}
