package testcheck

import (
	"errors"
	"testing"

	"github.com/paysdk/payments"
)

// Outcome is what a provider's answer to a write proves, as a test reads
// the answer apart from the client's code.
type Outcome int

const (
	// Unknown: the answer does not say; the write may have been carried out.
	Unknown Outcome = iota
	// Done: the provider's documented success answer.
	Done
	// Refused: the answer proves the write was not carried out (the
	// provider's documented refusal, a 4xx, a login page...).
	Refused
)

func (o Outcome) String() string {
	switch o {
	case Done:
		return "done"
	case Refused:
		return "refused"
	}
	return "unknown"
}

// WriteOutcome fails t unless err agrees with what the answer proves: nil
// only for Done; for Refused a typed error that is not
// payments.ErrOutcomeUnknown; for Unknown a payments.ErrOutcomeUnknown. It
// is the other direction of TypedError: a client that returns nil for an
// answer that does not say "done" tells the merchant the money moved when
// nothing says it did.
func WriteOutcome(t testing.TB, err error, want Outcome, secrets ...string) {
	t.Helper()
	TypedError(t, err, secrets...)
	switch want {
	case Done:
		if err != nil {
			t.Fatalf("the answer says done, the client says: %v", err)
		}
	case Refused:
		if err == nil {
			t.Fatalf("the answer is a refusal, the client says done")
		}
		if errors.Is(err, payments.ErrOutcomeUnknown) {
			t.Fatalf("the answer proves nothing was done, the client says outcome unknown: %v", err)
		}
	default:
		if err == nil {
			t.Fatalf("nothing in the answer says done, the client says done")
		}
		if !errors.Is(err, payments.ErrOutcomeUnknown) {
			t.Fatalf("the answer does not prove a refusal, the client says it is one: %v", err)
		}
	}
}
