package cli

import (
	"bytes"
	"io"
	"os"
	"sync"

	"github.com/paysdk/payments"
)

// maskCards masks every card number in s (payments.MaskPAN: each run of
// 13 to 19 digits, spaces or dashes between groups allowed, keeps its first
// six and last four). A reference of 13 to 19 digits prints masked too: the
// safe side, since nothing tells it from a card number in a provider's text.
func maskCards(s string) string { return payments.MaskPAN(s) }

// maskedWriter masks card numbers line by line in everything written
// through it. A line is written when it ends (or at Flush); a line longer
// than maxLine is cut there, so that no unbounded line is held.
type maskedWriter struct {
	mu  sync.Mutex
	w   io.Writer
	buf []byte
}

const maxLine = 64 << 10

func newMaskedWriter(w io.Writer) *maskedWriter {
	if w == nil {
		w = io.Discard
	}
	return &maskedWriter{w: w}
}

func (m *maskedWriter) Write(p []byte) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.buf = append(m.buf, p...)
	for {
		i := bytes.IndexByte(m.buf, '\n')
		if i < 0 {
			if len(m.buf) > maxLine {
				if err := m.emit(string(m.buf), false); err != nil {
					return len(p), err
				}
				m.buf = m.buf[:0]
			}
			return len(p), nil
		}
		line := string(m.buf[:i])
		m.buf = m.buf[i+1:]
		if err := m.emit(line, true); err != nil {
			return len(p), err
		}
	}
}

func (m *maskedWriter) emit(line string, nl bool) error {
	s := maskCards(line)
	if nl {
		s += "\n"
	}
	_, err := io.WriteString(m.w, s)
	return err
}

// Flush writes a line not yet ended (a prompt).
func (m *maskedWriter) Flush() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.buf) > 0 {
		_ = m.emit(string(m.buf), false)
		m.buf = m.buf[:0]
	}
}

// isTerminal reports whether w is a character device (a terminal).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
