package testcheck

import (
	"errors"
	"strings"
	"testing"
)

func TestNoSuccessUnless(t *testing.T) {
	long := []byte(strings.Repeat("é", 300))
	cases := []struct {
		err        error
		documented bool
		fail       bool
	}{
		{nil, true, false},
		{nil, false, true},
		{errors.New("refused"), false, false},
		{errors.New("refused"), true, false}, // a documented answer may still carry a failure
	}
	for i, c := range cases {
		r := &recorder{TB: t}
		NoSuccessUnless(r, c.err, c.documented, "op", 200, long)
		if r.failed != c.fail {
			t.Errorf("case %d: failed=%v, want %v", i, r.failed, c.fail)
		}
	}
	if h := head(long); len(h) > 203 || !strings.HasSuffix(h, "…") {
		t.Errorf("head: %q", h)
	}
}
