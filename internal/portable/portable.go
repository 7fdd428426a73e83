// Package portable holds what the two portable APIs, payout and payin,
// share, so that neither imports the other: the context check that comes
// before any request, the As of a driver, and NewClient's refusal of a nil
// driver.
package portable

import (
	"context"
	"fmt"
	"reflect"

	"github.com/paysdk/payments"
)

// CheckContext refuses a nil ctx with payments.ErrNilContext and an ended
// one with its error, wrapped "<provider> <op>". Nothing is sent.
func CheckContext(ctx context.Context, provider, op string) error {
	if ctx == nil {
		return payments.ErrNilContext
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%s %s: %w", provider, op, err)
	}
	return nil
}

// As is a driver's As: when target is a non-nil pointer to the type of one
// of values (a provider's *Client, say), it sets *target to that value and
// reports true. A nil value is skipped (a driver without that part), and
// any other target, nil included, is false and untouched: nothing panics.
func As(target any, values ...any) bool {
	t := reflect.ValueOf(target)
	if t.Kind() != reflect.Pointer || t.IsNil() {
		return false
	}
	want := t.Type().Elem()
	for _, v := range values {
		rv := reflect.ValueOf(v)
		if !rv.IsValid() || rv.Type() != want {
			continue
		}
		switch rv.Kind() {
		case reflect.Pointer, reflect.Interface, reflect.Map, reflect.Slice, reflect.Func, reflect.Chan:
			if rv.IsNil() {
				continue
			}
		}
		t.Elem().Set(rv)
		return true
	}
	return false
}

// Must is NewClient's reading of New: the client, or a panic at once with
// a message naming the function, instead of a nil driver failing on the
// first call.
func Must[C any](c C, err error, fn string) C {
	if err != nil {
		panic(fn + ": " + err.Error())
	}
	return c
}
