package sqlitestore

import (
	"context"
	"errors"
	"time"
)

// Placeholder until the bindings table lands (issue 16 item 7).
var errNoBindings = errors.New("bindings: not implemented yet")

// AcquireBinding is not implemented yet.
func (s *Store) AcquireBinding(ctx context.Context, now time.Time, ref, provider string) (string, int, error) {
	return "", 0, errNoBindings
}

// MoveBinding is not implemented yet.
func (s *Store) MoveBinding(ctx context.Context, now time.Time, ref, from, to string, sends int) (bool, error) {
	return false, errNoBindings
}

// Binding is not implemented yet.
func (s *Store) Binding(ctx context.Context, ref string) (string, error) { return "", errNoBindings }
