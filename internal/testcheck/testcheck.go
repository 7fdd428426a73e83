// Package testcheck holds assertions the provider packages' tests share.
package testcheck

import (
	"errors"
	"strings"
	"testing"

	"github.com/paysdk/payments"
)

// TypedError fails t unless err is nil or one of the module's error types
// (*payments.APIError, *payments.TransportError,
// *payments.OutcomeUnknownError, *payments.ValidationError), and unless its
// text is free of every secret.
func TypedError(t testing.TB, err error, secrets ...string) {
	t.Helper()
	if err == nil {
		return
	}
	var (
		api *payments.APIError
		tr  *payments.TransportError
		ou  *payments.OutcomeUnknownError
		ve  *payments.ValidationError
	)
	if !errors.As(err, &api) && !errors.As(err, &tr) && !errors.As(err, &ou) && !errors.As(err, &ve) {
		t.Fatalf("untyped error %T: %v", err, err)
	}
	for _, s := range secrets {
		if s != "" && strings.Contains(err.Error(), s) {
			t.Fatalf("a secret in the error: %v", err)
		}
	}
}
