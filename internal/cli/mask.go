package cli

import (
	"bytes"
	"io"
	"os"
	"strings"
	"sync"

	"github.com/paysdk/payments"
)

// maskCards masks every card number in s: a run of 13 to 19 digits (spaces
// or dashes between them allowed) that passes the Luhn check keeps its first
// six and last four digits, the rest become '*'. A run of more than 19
// digits, or one failing Luhn, is no card number and stays as it is, so that
// long references print whole (a reference of 13 to 19 digits that happens
// to pass Luhn prints masked: the safe side).
func maskCards(s string) string {
	var b strings.Builder
	last := 0 // s[last:i] not yet copied
	for i := 0; i < len(s); {
		if !isDigit(s[i]) || (i > 0 && isDigit(s[i-1])) {
			i++
			continue
		}
		end, n := i, 0
		var digits []byte
		for j := i; j < len(s); j++ {
			if isDigit(s[j]) {
				n++
				digits = append(digits, s[j])
				end = j + 1
			} else if !((s[j] == ' ' || s[j] == '-') && j+1 < len(s) && isDigit(s[j+1]) && j > i && isDigit(s[j-1])) {
				break
			}
		}
		if n >= 13 && n <= 19 && payments.LuhnValid(string(digits)) {
			b.WriteString(s[last:i])
			seen := 0
			for k := i; k < end; k++ {
				c := s[k]
				if isDigit(c) {
					if seen >= 6 && seen < n-4 {
						c = '*'
					}
					seen++
				}
				b.WriteByte(c)
			}
			last = end
		}
		i = end
	}
	if last == 0 {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

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
