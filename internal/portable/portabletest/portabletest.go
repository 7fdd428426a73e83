// Package portabletest holds what the conformance suites of payout and
// payin (payouttest, payintest) share, so that neither imports the other:
// the counting limiter, the retry policy and the As test.
package portabletest

import (
	"context"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/paysdk/payments"
)

// Attempts is the retry policy's attempts in the suites' clients
// (payments.WithRetry): what a fake must swallow to exhaust one call.
const Attempts = 3

// CountingLimiter counts the tokens taken; it never waits.
type CountingLimiter struct {
	mu sync.Mutex
	n  int
}

// Wait takes a token.
func (l *CountingLimiter) Wait(ctx context.Context) error {
	if ctx == nil {
		return payments.ErrNilContext
	}
	l.mu.Lock()
	l.n++
	l.mu.Unlock()
	return ctx.Err()
}

// Count is the tokens taken so far.
func (l *CountingLimiter) Count() int { l.mu.Lock(); defer l.mu.Unlock(); return l.n }

// ClientOptions are the suites' options for a provider client: test timing,
// lim as the limiter, Attempts attempts with millisecond backoff.
func ClientOptions(lim payments.Limiter) []payments.Option {
	return []payments.Option{payments.WithTestTiming(), payments.WithLimiter(lim),
		payments.WithRetry(payments.RetryPolicy{MaxAttempts: Attempts, BaseDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond})}
}

// TestAs checks a portable client's As (gocloud.dev's drivertest has the
// same test): it fills providerClient, a pointer to the provider's client
// type (new(*popolni.Client)), with a non-nil value, and refuses, leaving
// them untouched and without panicking, a pointer to an unrelated type, a
// pointer to an interface, a nil target and a non-pointer.
func TestAs(t *testing.T, as func(any) bool, providerClient any) {
	t.Helper()
	pc := reflect.ValueOf(providerClient)
	if pc.Kind() != reflect.Pointer || pc.IsNil() || pc.Elem().Kind() != reflect.Pointer {
		t.Fatalf("Harness.ProviderClient is %T: want a pointer to the provider's client type, such as new(*popolni.Client)", providerClient)
	}
	if !as(providerClient) {
		t.Fatalf("As(%T) = false: a driver's As fills its provider client", providerClient)
	}
	if pc.Elem().IsNil() {
		t.Fatalf("As(%T) = true but left it nil", providerClient)
	}
	var wrong *int
	if as(&wrong) || wrong != nil {
		t.Error("As filled an unrelated type")
	}
	var iface any
	if as(&iface) || iface != nil {
		t.Error("As filled an *any: a driver fills only its provider's types")
	}
	// nil, a non-pointer, and a nil pointer of the client's pointer type.
	for _, target := range []any{nil, pc.Elem().Interface(), reflect.Zero(pc.Type()).Interface()} {
		func() {
			defer func() {
				if r := recover(); r != nil {
					t.Errorf("As(%T) panicked: %v", target, r)
				}
			}()
			if as(target) {
				t.Errorf("As(%T) = true for a target that cannot be filled", target)
			}
		}()
	}
}
