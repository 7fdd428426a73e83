package royalpay

import (
	"errors"
	"testing"
)

// TestOnlyAnEmptyListIsNoPayout: the answer that lets the driver create a
// payout is an empty list, never a null or a missing one.
func TestOnlyAnEmptyListIsNoPayout(t *testing.T) {
	for body, none := range map[string]bool{
		`[]`:                true,
		`{"results": []}`:   true,
		`{"results": null}`: false,
		`null`:              false,
		`{"results": {}}`:   false,
		`{"results": "[]"}`: false,
		`{"count": 0}`:      false,
	} {
		_, err := decodePayoutLookup([]byte(body), "P-1")
		if got := errors.Is(err, errNoSuchPayout); got != none {
			t.Errorf("%s: no such payout %v (err %v), want %v", body, got, err, none)
		}
	}
}
