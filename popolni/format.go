package popolni

import (
	"fmt"
	"io"
)

// formatAs is the Format of the types that hold a secret or an account
// number (Credentials, Payment, Client): every verb prints s, their safe
// String — %v %s %q %x %X as they would print a string, with flags, width
// and precision, and any other verb (%d...) as %s — and %#v prints gs.
// Without a Format method %d, %x or a bad verb print a struct's raw fields,
// whatever its String says.
func formatAs(f fmt.State, verb rune, s, gs string) {
	switch verb {
	case 'v':
		if f.Flag('#') {
			_, _ = io.WriteString(f, gs)
			return
		}
		verb = 's'
	case 's', 'q', 'x', 'X':
	default:
		verb = 's'
	}
	_, _ = fmt.Fprintf(f, fmt.FormatString(f, verb), s)
}
