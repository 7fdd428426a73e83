package payoutjob

import (
	"bytes"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/paysdk/payments"
)

// checkHeader says what is wrong with the file's first line, or "".
func checkHeader(rec []string) string {
	if slices.Equal(rec, header) {
		return ""
	}
	names := make([]string, len(rec))
	for i, f := range rec {
		names[i] = strings.ToLower(strings.TrimSpace(f))
	}
	sorted, want := slices.Clone(names), slices.Clone(header)
	slices.Sort(sorted)
	slices.Sort(want)
	if slices.Equal(sorted, want) && !slices.Equal(names, header) {
		return fmt.Sprintf("the header names the columns in another order, %s: the job reads them by position as ref,amount,account; "+
			"put the columns in that order (are ref and account swapped?)", show(strings.Join(rec, ",")))
	}
	return fmt.Sprintf("the header must be ref,amount,account, not %s", show(strings.Join(rec, ",")))
}

// intlPhones are the country codes the job takes a phone's form from, and
// how many digits follow each: the countries of the former USSR, which the
// providers serve. The job uses it only to tell a ref column holding phone
// numbers; each provider checks its own phones (payout.Client.Check).
var intlPhones = []struct {
	code     string
	min, max int
}{
	{"7", 10, 10}, {"370", 8, 8}, {"371", 8, 8}, {"372", 7, 8}, {"373", 8, 8}, {"374", 8, 8}, {"375", 9, 9},
	{"380", 9, 9}, {"992", 9, 9}, {"993", 8, 8}, {"994", 9, 9}, {"995", 9, 9}, {"996", 9, 9}, {"998", 9, 9},
}

// AccountLike says what s looks like when it looks like an account: "a
// card number" (13 to 19 digits passing the Luhn check) or "a phone
// number" (a country code of intlPhones and that country's length); else
// "". 1000000001, the form of the demo's refs, is neither.
func AccountLike(s string) string {
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return ""
		}
	}
	if cardForm.MatchString(s) && payments.LuhnValid(s) {
		return "a card number"
	}
	for _, c := range intlPhones {
		if rest, ok := strings.CutPrefix(s, c.code); ok && len(rest) >= c.min && len(rest) <= c.max && rest[0] != '0' {
			return "a phone number"
		}
	}
	return ""
}

// maxEcho is how much of a field an error shows.
const maxEcho = 64

// show is s for an error: at most maxEcho bytes of it, quoted, then card
// numbers masked (maskDigits; after quoting, whose escapes can put digits
// next to digits: "\x01" before 57916123456); a longer field says how long
// it was.
func show(s string) string {
	if len(s) <= maxEcho {
		return maskDigits(strconv.Quote(s))
	}
	i := maxEcho
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return fmt.Sprintf("%s... (%d bytes in all)", maskDigits(strconv.Quote(s[:i])), len(s))
}

// maskDigits masks every run of 13 or more digits in s (single spaces or
// dashes between digits allowed, as card numbers are written) down to its
// first six and last four digits. It is payments.MaskPAN without the upper
// bound of 19: a card number with a digit more, or two card numbers in a
// row, is a run of 20 or more digits that holds a card number whole.
func maskDigits(s string) string {
	var b strings.Builder
	last := 0 // s[last:i] not yet copied
	for i := 0; i < len(s); {
		if !isDigit(s[i]) {
			i++
			continue
		}
		end, n := i, 0
		for j := i; j < len(s); j++ {
			if isDigit(s[j]) {
				n++
				end = j + 1
			} else if !((s[j] == ' ' || s[j] == '-') && j+1 < len(s) && isDigit(s[j+1])) {
				break
			}
		}
		if n >= 13 {
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

// maxLine bounds every line the job prints, in bytes.
const maxLine = 1024

// maskedWriter writes whole lines to w, each with its card numbers masked
// (maskDigits) and cut to maxLine bytes: the job's own lines, the final:
// lines and the ledger's log all go through one. Safe for concurrent use.
type maskedWriter struct {
	mu  sync.Mutex
	w   io.Writer
	buf []byte // a line not yet ended
}

func newMaskedWriter(w io.Writer) *maskedWriter { return &maskedWriter{w: w} }

// Write writes every line p ends; the rest waits for its newline (or
// Flush).
func (m *maskedWriter) Write(p []byte) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.buf = append(m.buf, p...)
	for {
		i := bytes.IndexByte(m.buf, '\n')
		if i < 0 {
			return len(p), nil
		}
		line := string(m.buf[:i])
		m.buf = m.buf[i+1:]
		if err := m.emit(line); err != nil {
			return len(p), err
		}
	}
}

// Flush writes a last line that has no newline.
func (m *maskedWriter) Flush() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.buf) > 0 {
		m.emit(string(m.buf))
		m.buf = nil
	}
}

func (m *maskedWriter) emit(line string) error {
	line = maskDigits(line)
	if len(line) > maxLine {
		tail := fmt.Sprintf("... (a line of %d bytes, cut)", len(line))
		i := maxLine - len(tail)
		for i > 0 && !utf8.RuneStart(line[i]) {
			i--
		}
		line = line[:i] + tail
	}
	_, err := io.WriteString(m.w, line+"\n")
	return err
}
