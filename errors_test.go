package payments

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
)

var errDetail = errors.New("provider detail")

func TestAPIErrorMatchesCategoryAndDetail(t *testing.T) {
	e := &APIError{Provider: "popolni", Op: "pay", HTTPStatus: 403, Code: "IP is not allowed", Message: "IP is not allowed", Category: ErrForbidden, Detail: errDetail}
	var err error = fmt.Errorf("wrapped: %w", e)
	assert.ErrorIs(t, err, ErrForbidden)
	assert.ErrorIs(t, err, errDetail)
	assert.NotErrorIs(t, err, ErrUnauthorized)
	assert.Equal(t, "popolni pay: HTTP 403: IP is not allowed (forbidden)", e.Error())
	e2 := &APIError{Provider: "qiwitopup", Op: "pay", Code: "150", Message: "Ошибка авторизации", Category: ErrUnauthorized}
	assert.Equal(t, "qiwitopup pay: code 150: Ошибка авторизации (unauthorized)", e2.Error())
}

func TestOutcomeUnknownKeepsCause(t *testing.T) {
	te := &TransportError{Provider: "popolni", Op: "pay", Written: true, Err: context.DeadlineExceeded}
	err := error(&OutcomeUnknownError{Provider: "popolni", Op: "pay", Ref: "1000000001", Err: te})
	assert.ErrorIs(t, err, ErrOutcomeUnknown)
	assert.ErrorIs(t, err, ErrUnavailable)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	var got *TransportError
	assert.ErrorAs(t, err, &got)
	assert.True(t, got.Written)
	assert.Contains(t, err.Error(), "1000000001")
	assert.NotErrorIs(t, te, ErrOutcomeUnknown)
}

func TestValidationError(t *testing.T) {
	err := error(&ValidationError{Field: "payments[0].Amount", Reason: "below 100"})
	assert.ErrorIs(t, err, ErrInvalidRequest)
	assert.Equal(t, "payments: invalid payments[0].Amount: below 100", err.Error())
}

func TestStateFinal(t *testing.T) {
	final := map[State]bool{StateUnknown: false, StatePending: false, StateSucceeded: true, StateFailed: true, StateCanceled: true, StateRefunded: true}
	for s, f := range final {
		assert.Equal(t, f, s.Final(), s.String())
	}
	assert.Equal(t, "refunded", StateRefunded.String())
}

func TestMaskPAN(t *testing.T) {
	cases := map[string]string{
		"4111111111111111":                          "411111******1111",
		"card 4111 1111 1111 1111 declined":         "card 4111 11** **** 1111 declined",
		"4111-1111-1111-1111":                       "4111-11**-****-1111",
		"phone 380991234567, amount 500":            "phone 380991234567, amount 500",
		"two 5555555555554444 and 4000000000000002": "two 555555******4444 and 400000******0002",
		"1234567890123456789012":                    "1234567890123456789012", // 22 digits: not a card number
		"":                                          "",
	}
	for in, want := range cases {
		assert.Equal(t, want, MaskPAN(in), in)
	}
}

func FuzzMaskPAN(f *testing.F) {
	f.Add("4111111111111111")
	f.Add("a 4111 1111 1111 1111 b")
	f.Fuzz(func(t *testing.T, s string) {
		out := MaskPAN(s)
		if len(out) != len(s) {
			t.Fatalf("length changed: %q → %q", s, out)
		}
		if MaskPAN(out) != out {
			t.Fatalf("masking twice changed it: %q → %q", out, MaskPAN(out))
		}
	})
}

// ErrNotSent from a merchant's transport stays visible through the
// TransportError the client returns, which still matches ErrUnavailable and
// says "not sent".
func TestNotSentThroughTransportError(t *testing.T) {
	te := &TransportError{Provider: "royalpay", Op: "create", Err: fmt.Errorf("dial: connection refused: %w", ErrNotSent)}
	var err error = te
	assert.ErrorIs(t, err, ErrNotSent)
	assert.ErrorIs(t, err, ErrUnavailable)
	assert.NotErrorIs(t, err, ErrOutcomeUnknown)
	assert.Equal(t, "royalpay create: transport (not sent): dial: connection refused: payments: request not sent", err.Error())
	assert.NotErrorIs(t, &TransportError{Provider: "royalpay", Op: "create", Written: true, Err: errors.New("EOF")}, ErrNotSent)
}
