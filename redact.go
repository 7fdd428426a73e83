package payments

import "strings"

// MaskPAN returns s with every run of 13 to 19 digits (a card number, with or
// without single spaces or dashes between groups) reduced to its first six
// and last four digits: "4111111111111111" becomes "411111******1111".
// Shorter runs (phone numbers, amounts, ids) are left alone. Provider texts
// and account numbers go through it before they reach an error or a log.
func MaskPAN(s string) string {
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
		if n >= 13 && n <= 19 {
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

// LuhnValid reports whether number, all digits, passes the Luhn check that
// every card number carries in its last digit. It is false for an empty
// number or any non-digit.
func LuhnValid(number string) bool {
	if number == "" {
		return false
	}
	sum, double := 0, false
	for i := len(number) - 1; i >= 0; i-- {
		c := number[i]
		if c < '0' || c > '9' {
			return false
		}
		d := int(c - '0')
		if double {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
		double = !double
	}
	return sum%10 == 0
}
