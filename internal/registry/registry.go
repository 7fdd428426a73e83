// Package registry is the scheme → opener table behind payout.Open and
// payin.Open, in the style of database/sql drivers: a provider's adapter
// package registers its scheme in init, and the merchant imports it (often
// blank) to make the scheme known.
package registry

import (
	"context"
	"reflect"
	"sort"
	"strings"
	"sync"

	"github.com/paysdk/payments"
)

// Opener makes a driver from an open configuration.
type Opener[D any] func(ctx context.Context, cfg *payments.OpenConfig) (D, error)

// Registry holds the openers of one kind of driver.
type Registry[D any] struct {
	kind    string // "payout", "payin": for messages
	mu      sync.RWMutex
	openers map[string]Opener[D]
}

// New returns an empty registry for kind.
func New[D any](kind string) *Registry[D] {
	return &Registry[D]{kind: kind, openers: map[string]Opener[D]{}}
}

// Register makes scheme open with o. It panics if scheme is registered twice
// or o is nil, like sql.Register: both are programming errors found at start.
func (r *Registry[D]) Register(scheme string, o Opener[D]) {
	scheme = strings.ToLower(scheme)
	if o == nil || scheme == "" {
		panic(r.kind + ": Register with an empty scheme or a nil opener")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, dup := r.openers[scheme]; dup {
		panic(r.kind + ": Register called twice for scheme " + scheme)
	}
	r.openers[scheme] = o
}

// Schemes lists the registered schemes, sorted.
func (r *Registry[D]) Schemes() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]string, 0, len(r.openers))
	for s := range r.openers {
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

// Open parses rawURL and calls the opener of its scheme. An unknown scheme
// is a *payments.ValidationError naming the registered ones.
func (r *Registry[D]) Open(ctx context.Context, rawURL string, opts ...payments.OpenOption) (D, error) {
	var zero D
	if ctx == nil {
		return zero, payments.ErrNilContext
	}
	cfg, err := payments.NewOpenConfig(rawURL, opts...)
	if err != nil {
		return zero, err
	}
	scheme := strings.ToLower(cfg.URL.Scheme)
	r.mu.RLock()
	o := r.openers[scheme]
	r.mu.RUnlock()
	if o == nil {
		known := strings.Join(r.Schemes(), ", ")
		if known == "" {
			known = "none: import a driver package, e.g. github.com/paysdk/payments/payout/popolnipayout"
		}
		return zero, &payments.ValidationError{Field: "url", Reason: "unknown " + r.kind + " scheme " + scheme + " (registered: " + known + ")"}
	}
	return o(ctx, cfg)
}

// CheckDriver refuses, with a *payments.ValidationError, a nil driver or a
// nil pointer (map, func...) of a driver type: what payout.New and
// payin.New would otherwise call methods on.
func CheckDriver(d any) error {
	nilValue := d == nil
	if !nilValue {
		switch v := reflect.ValueOf(d); v.Kind() {
		case reflect.Pointer, reflect.Map, reflect.Slice, reflect.Func, reflect.Chan, reflect.Interface:
			nilValue = v.IsNil()
		}
	}
	if nilValue {
		return &payments.ValidationError{Field: "driver", Reason: "nil: open a driver first (Open, or a driver package's New)"}
	}
	return nil
}
