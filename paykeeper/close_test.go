package paykeeper_test

import (
	"context"
	"errors"
	"io"
	"reflect"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/paykeeper"
	"github.com/paysdk/payments/paykeeper/paykeepertest"
)

// TestCloseLeavesNoGoroutine: the client's idle connections to the fake (and
// their reader and writer goroutines) are gone after Close, while the fake
// still runs.
func TestCloseLeavesNoGoroutine(t *testing.T) {
	srv := paykeepertest.NewServer(paykeepertest.WithT(t))
	defer srv.Close()
	ignore := goleak.IgnoreCurrent() // the fake's own goroutines

	c, err := paykeeper.New(paykeeper.Credentials{User: paykeepertest.DefaultUser, Password: paykeepertest.DefaultPassword},
		append(srv.ClientOptions(), payments.WithTestTiming())...)
	require.NoError(t, err)
	ctx := context.Background()
	id := srv.AddPayment(paykeepertest.PaymentSpec{Amount: "100.00"})
	_, err = c.GetPayment(ctx, id)
	require.NoError(t, err)
	require.NoError(t, c.RefundPayment(ctx, paykeeper.RefundParams{PaymentID: id, Amount: payments.MustDecimal("1")}))

	require.NoError(t, c.Close())
	require.NoError(t, c.Close(), "twice is fine")
	goleak.VerifyNone(t, ignore)

	_, err = c.GetPayment(ctx, id)
	assert.Error(t, err, "closed: nothing is sent")
}

// TestNilContextOnEveryMethod calls every method of *Client that takes a
// context with nil: payments.ErrNilContext, no panic, nothing sent —
// iterators included.
func TestNilContextOnEveryMethod(t *testing.T) {
	srv := paykeepertest.NewServer(paykeepertest.WithT(t))
	c, err := paykeeper.New(paykeeper.Credentials{User: paykeepertest.DefaultUser, Password: paykeepertest.DefaultPassword},
		append(srv.ClientOptions(), payments.WithTestTiming())...)
	require.NoError(t, err)
	defer c.Close()

	ctxType := reflect.TypeFor[context.Context]()
	errType := reflect.TypeFor[error]()
	v := reflect.ValueOf(c)
	tested := 0
	for i := 0; i < v.NumMethod(); i++ {
		m, name := v.Method(i), v.Type().Method(i).Name
		mt := m.Type()
		if mt.NumIn() == 0 || mt.In(0) != ctxType {
			continue
		}
		args := []reflect.Value{reflect.Zero(ctxType)}
		for j := 1; j < mt.NumIn(); j++ {
			if mt.In(j) == reflect.TypeFor[io.Writer]() {
				args = append(args, reflect.ValueOf(io.Discard))
				continue
			}
			args = append(args, reflect.Zero(mt.In(j)))
		}
		var outs []reflect.Value
		require.NotPanics(t, func() { outs = m.Call(args) }, name)
		var got error
		last := outs[len(outs)-1]
		switch {
		case last.Type() == errType:
			got, _ = last.Interface().(error)
		case last.Type().Kind() == reflect.Func: // an iter.Seq2[T, error]: range over it
			yield := reflect.MakeFunc(last.Type().In(0), func(a []reflect.Value) []reflect.Value {
				if e, ok := a[1].Interface().(error); ok && got == nil {
					got = e
				}
				return []reflect.Value{reflect.ValueOf(false)}
			})
			require.NotPanics(t, func() { last.Call([]reflect.Value{yield}) }, name)
		default:
			t.Fatalf("%s: unexpected result %s", name, last.Type())
		}
		assert.True(t, errors.Is(got, payments.ErrNilContext), "%s: %v", name, got)
		tested++
	}
	assert.GreaterOrEqual(t, tested, 30, "every method with a context")
	assert.Empty(t, srv.Requests(), "nothing sent")
}
