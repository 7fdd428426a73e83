package payout

import (
	"context"
	"sync"
)

// Bindings keep which provider each Ref belongs to, for a [Router]. A Ref is
// bound before its first send, and every send under a binding is counted,
// so that a Ref moves to another provider only when the one send that bound
// it proved the provider never got it (see [Router]). Several processes
// that route the same Refs must share one Bindings
// (ledger.RouterBindings keeps them in the payout ledger's store); the
// default, [NewMemoryBindings], serves one process only.
//
// Implementations are safe for concurrent use, and each method is atomic.
type Bindings interface {
	// Acquire binds ref to provider unless ref is bound already, counts one
	// send about to be made under the binding, and returns the provider ref
	// is bound to and the number of sends counted under that binding, this
	// one included.
	Acquire(ctx context.Context, ref, provider string) (bound string, sends int, err error)
	// Move rebinds ref from provider from to provider to (to == "": no
	// binding) only when ref is bound to from with exactly sends sends
	// counted, and reports whether it did. A moved binding counts no send.
	Move(ctx context.Context, ref, from, to string, sends int) (bool, error)
	// Lookup returns the provider ref is bound to, "" when none.
	Lookup(ctx context.Context, ref string) (string, error)
}

// NewMemoryBindings keeps bindings in this process's memory: a Router over
// them is safe for one process only. It is NewRouter's default.
func NewMemoryBindings() Bindings { return &memBindings{m: map[string]memBinding{}} }

type memBinding struct {
	provider string
	sends    int
}

type memBindings struct {
	mu sync.Mutex
	m  map[string]memBinding
}

func (b *memBindings) Acquire(_ context.Context, ref, provider string) (string, int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	cur, ok := b.m[ref]
	if !ok {
		cur = memBinding{provider: provider}
	}
	cur.sends++
	b.m[ref] = cur
	return cur.provider, cur.sends, nil
}

func (b *memBindings) Move(_ context.Context, ref, from, to string, sends int) (bool, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	cur, ok := b.m[ref]
	if !ok || cur.provider != from || cur.sends != sends {
		return false, nil
	}
	if to == "" {
		delete(b.m, ref)
	} else {
		b.m[ref] = memBinding{provider: to}
	}
	return true, nil
}

func (b *memBindings) Lookup(_ context.Context, ref string) (string, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.m[ref].provider, nil
}
