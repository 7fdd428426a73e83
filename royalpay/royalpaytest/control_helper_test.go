package royalpaytest

import (
	"testing"

	"github.com/paysdk/payments/internal/fakeserver"
)

// control calls control operation op of s over HTTPS (see [fakeserver.CallControl]).
func control(t *testing.T, s *Server, method, op, body string) (int, string) {
	t.Helper()
	return fakeserver.CallControl(t, s.base, method, op, body)
}
