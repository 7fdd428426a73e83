package testcheck

import (
	"testing"
	"unicode/utf8"
)

// NoSuccessUnless fails t when a call returned no error although the
// answer was not the provider's documented success: the other direction of
// TypedError. A client fuzz target reads each answer with its own strict
// reading of the document (documented), independent of the client's
// decoder, and calls it for every operation: a write that reports success
// for `{}`, `null` or an error page tells the merchant money moved when
// nothing says it did.
func NoSuccessUnless(t testing.TB, err error, documented bool, call string, status int, body []byte) {
	t.Helper()
	if err == nil && !documented {
		t.Fatalf("%s: no error for an answer that is not the documented success: HTTP %d %q", call, status, head(body))
	}
}

// head is the start of body, for a failure message.
func head(b []byte) string {
	const max = 200
	if len(b) > max {
		b = b[:max]
		for len(b) > 0 && !utf8.Valid(b) {
			b = b[:len(b)-1]
		}
		return string(b) + "…"
	}
	return string(b)
}
