package portable_test

import (
	"context"
	"errors"
	"testing"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/internal/portable"
)

type client struct{ name string }
type batcher struct{}

func TestAs(t *testing.T) {
	c := &client{name: "c"}
	var got *client
	if !portable.As(&got, (*batcher)(nil), c) || got != c {
		t.Fatalf("As(**client) = %v", got)
	}
	var b *batcher
	if portable.As(&b, (*batcher)(nil), c) || b != nil {
		t.Error("a nil value filled a target")
	}
	var wrong *int
	for _, target := range []any{nil, &wrong, (**client)(nil), got, client{}} {
		if portable.As(target, c) {
			t.Errorf("As(%T) = true", target)
		}
	}
}

func TestCheckContext(t *testing.T) {
	//lint:ignore SA1012 the point is a nil context
	if err := portable.CheckContext(nil, "p", "send"); !errors.Is(err, payments.ErrNilContext) { //nolint:staticcheck
		t.Error(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := portable.CheckContext(ctx, "p", "send"); !errors.Is(err, context.Canceled) || err.Error() != "p send: context canceled" {
		t.Error(err)
	}
	if err := portable.CheckContext(context.Background(), "p", "send"); err != nil {
		t.Error(err)
	}
}
