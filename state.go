package payments

// State is a provider's payment status reduced to what a merchant acts on.
// Each provider package maps its own status codes to a State.
type State int

// The normalized states.
const (
	// StateUnknown is the zero value: no status known (yet).
	StateUnknown State = iota
	// StatePending: accepted, not final; ask again later.
	StatePending
	// StateSucceeded: the money moved. Final.
	StateSucceeded
	// StateFailed: the money did not move and will not. Final.
	StateFailed
	// StateCanceled: canceled before completion; the money did not move. Final.
	StateCanceled
	// StateRefunded: the money moved and was returned. Final.
	StateRefunded
)

// Final reports whether the state can no longer change.
func (s State) Final() bool {
	switch s {
	case StateSucceeded, StateFailed, StateCanceled, StateRefunded:
		return true
	}
	return false
}

// String returns the lower-case name of the state.
func (s State) String() string {
	switch s {
	case StatePending:
		return "pending"
	case StateSucceeded:
		return "succeeded"
	case StateFailed:
		return "failed"
	case StateCanceled:
		return "canceled"
	case StateRefunded:
		return "refunded"
	}
	return "unknown"
}
