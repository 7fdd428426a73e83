package testcheck

import (
	"errors"
	"testing"

	"github.com/paysdk/payments"
)

func TestWriteOutcome(t *testing.T) {
	refusal := &payments.APIError{Provider: "p", Message: "no", Category: payments.ErrDeclined}
	unknown := &payments.OutcomeUnknownError{Provider: "p", Err: refusal}
	cases := []struct {
		err  error
		want Outcome
		fail bool
	}{
		{nil, Done, false},
		{refusal, Done, true},
		{nil, Refused, true},
		{refusal, Refused, false},
		{unknown, Refused, true},
		{nil, Unknown, true},
		{refusal, Unknown, true},
		{unknown, Unknown, false},
		{errors.New("plain"), Unknown, true},
	}
	for i, c := range cases {
		r := &recorder{TB: t}
		WriteOutcome(r, c.err, c.want)
		if r.failed != c.fail {
			t.Errorf("case %d (%v, want %v): failed=%v, want %v", i, c.err, c.want, r.failed, c.fail)
		}
	}
}
