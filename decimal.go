package payments

import (
	"bytes"
	"fmt"
	"math"
	"math/big"
	"math/bits"
	"strconv"
	"strings"
)

// Money in this module is never a float64. Providers that count in minor
// units (kopecks) take and return int64; providers that send decimal strings
// ("1205.98", "31.6857") take and return Decimal. The conversions between the
// two are exact or fail.

// maxScale bounds the digits after the point a Decimal may carry, so that no
// input (an exponent like 1e999999999) can make the parser allocate without end.
const maxScale = 64

// maxBits bounds the digits of a Decimal to about 100, so what String prints
// always parses back.
const maxBits = 332

// Decimal is an exact decimal number: unscaled × 10^-scale. The zero value
// is 0. A Decimal is immutable and safe to copy.
type Decimal struct {
	unscaled *big.Int // nil means 0; never mutated after construction
	scale    int32    // digits after the point, 0..maxScale
}

var bigTen = big.NewInt(10)

// ParseDecimal reads a decimal such as "1205.98", "-0.5", "100", "1.5e3".
// Surrounding spaces are refused, as are commas, "NaN" and "Inf".
func ParseDecimal(s string) (Decimal, error) {
	if len(s) == 0 || len(s) > 200 {
		return Decimal{}, fmt.Errorf("payments: decimal %q: empty or too long", truncate(s))
	}
	mant, exp, hasExp := s, "", false
	if i := strings.IndexAny(s, "eE"); i >= 0 {
		mant, exp, hasExp = s[:i], s[i+1:], true
	}
	neg := false
	switch {
	case strings.HasPrefix(mant, "-"):
		neg, mant = true, mant[1:]
	case strings.HasPrefix(mant, "+"):
		mant = mant[1:]
	}
	intPart, frac := mant, ""
	if i := strings.IndexByte(mant, '.'); i >= 0 {
		intPart, frac = mant[:i], mant[i+1:]
	}
	if intPart == "" && frac == "" || !allDigits(intPart) || !allDigits(frac) {
		return Decimal{}, fmt.Errorf("payments: decimal %q: not a number", truncate(s))
	}
	scale := int64(len(frac))
	if hasExp {
		e, err := strconv.ParseInt(exp, 10, 32)
		if err != nil {
			return Decimal{}, fmt.Errorf("payments: decimal %q: bad exponent", truncate(s))
		}
		scale -= e
	}
	digits := strings.TrimLeft(intPart+frac, "0")
	u := new(big.Int)
	if digits != "" {
		u.SetString(digits, 10)
	}
	if scale < 0 {
		if -scale > maxScale*4 {
			return Decimal{}, fmt.Errorf("payments: decimal %q: out of range", truncate(s))
		}
		u.Mul(u, new(big.Int).Exp(bigTen, big.NewInt(-scale), nil))
		scale = 0
	}
	if u.BitLen() > maxBits {
		return Decimal{}, fmt.Errorf("%w: decimal %q has more than 100 digits", ErrOutOfRange, truncate(s))
	}
	if scale > maxScale {
		return Decimal{}, fmt.Errorf("payments: decimal %q: more than %d digits after the point", truncate(s), maxScale)
	}
	if neg {
		u.Neg(u)
	}
	return Decimal{unscaled: u, scale: int32(scale)}, nil
}

// MustDecimal is ParseDecimal that panics on error; for constants in tests
// and examples.
func MustDecimal(s string) Decimal {
	d, err := ParseDecimal(s)
	if err != nil {
		panic(err)
	}
	return d
}

// DecimalFromMinor returns minor × 10^-exp, e.g. DecimalFromMinor(12345, 2)
// is 123.45. exp must be 0..18.
func DecimalFromMinor(minor int64, exp int) Decimal {
	if exp < 0 || exp > 18 {
		panic("payments: DecimalFromMinor: exponent out of 0..18")
	}
	return Decimal{unscaled: big.NewInt(minor), scale: int32(exp)}
}

// Minor returns d in units of 10^-exp (kopecks for exp 2). It fails with
// ErrNotExact when d has more precision than that (0.005 in kopecks) and with
// an error when the result does not fit an int64.
func (d Decimal) Minor(exp int) (int64, error) {
	if exp < 0 || exp > 18 {
		return 0, fmt.Errorf("payments: exponent %d out of 0..18", exp)
	}
	u := d.int()
	shift := int64(exp) - int64(d.scale)
	if u.IsInt64() && u.Int64() != math.MinInt64 && shift >= -18 && shift <= 18 { // the common case, without allocating
		v := u.Int64()
		if shift >= 0 {
			p := pow10[shift]
			if hi, lo := bits.Mul64(uint64(abs64(v)), uint64(p)); hi == 0 && lo <= math.MaxInt64 {
				if v < 0 {
					return -int64(lo), nil
				}
				return int64(lo), nil
			}
		} else {
			p := pow10[-shift]
			if v%p != 0 {
				return 0, fmt.Errorf("%w: %s with %d decimals", ErrNotExact, d, exp)
			}
			return v / p, nil
		}
	}
	r := new(big.Int).Set(u)
	if shift >= 0 {
		r.Mul(r, new(big.Int).Exp(bigTen, big.NewInt(shift), nil))
	} else {
		var rem big.Int
		r.QuoRem(r, new(big.Int).Exp(bigTen, big.NewInt(-shift), nil), &rem)
		if rem.Sign() != 0 {
			return 0, fmt.Errorf("%w: %s with %d decimals", ErrNotExact, d, exp)
		}
	}
	if !r.IsInt64() {
		return 0, fmt.Errorf("%w: %s does not fit in int64 minor units", ErrOutOfRange, d)
	}
	return r.Int64(), nil
}

var pow10 = [19]int64{1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18}

func abs64(v int64) int64 {
	if v < 0 {
		return -v // never MinInt64: the caller leaves that to the slow path
	}
	return v
}

func (d Decimal) int() *big.Int {
	if d.unscaled == nil {
		return new(big.Int)
	}
	return d.unscaled
}

// Sign returns -1, 0 or +1.
func (d Decimal) Sign() int { return d.int().Sign() }

// IsZero reports whether d is 0.
func (d Decimal) IsZero() bool { return d.Sign() == 0 }

// Cmp compares d and o: -1 if d < o, 0 if equal (1.50 equals 1.5), +1 if d > o.
func (d Decimal) Cmp(o Decimal) int {
	if d.scale == o.scale {
		return d.int().Cmp(o.int())
	}
	a, b := align(d, o)
	return a.Cmp(b)
}

// Equal reports whether d and o are the same number.
func (d Decimal) Equal(o Decimal) bool { return d.Cmp(o) == 0 }

// Add returns d + o, exactly.
func (d Decimal) Add(o Decimal) Decimal {
	a, b := align(d, o)
	return Decimal{unscaled: new(big.Int).Add(a, b), scale: max(d.scale, o.scale)}
}

// Sub returns d - o, exactly.
func (d Decimal) Sub(o Decimal) Decimal {
	a, b := align(d, o)
	return Decimal{unscaled: new(big.Int).Sub(a, b), scale: max(d.scale, o.scale)}
}

// Neg returns -d.
func (d Decimal) Neg() Decimal {
	return Decimal{unscaled: new(big.Int).Neg(d.int()), scale: d.scale}
}

// Scale returns the number of digits after the point d carries.
func (d Decimal) Scale() int { return int(d.scale) }

func align(d, o Decimal) (*big.Int, *big.Int) {
	a, b := d.int(), o.int()
	switch {
	case d.scale < o.scale:
		a = new(big.Int).Mul(a, new(big.Int).Exp(bigTen, big.NewInt(int64(o.scale-d.scale)), nil))
	case o.scale < d.scale:
		b = new(big.Int).Mul(b, new(big.Int).Exp(bigTen, big.NewInt(int64(d.scale-o.scale)), nil))
	}
	return a, b
}

// String returns d with the digits after the point it was parsed with:
// "1205.98", "100.0", "-0.50".
func (d Decimal) String() string {
	u := d.int()
	s := new(big.Int).Abs(u).String()
	if d.scale > 0 {
		if len(s) <= int(d.scale) {
			s = strings.Repeat("0", int(d.scale)-len(s)+1) + s
		}
		s = s[:len(s)-int(d.scale)] + "." + s[len(s)-int(d.scale):]
	}
	if u.Sign() < 0 {
		s = "-" + s
	}
	return s
}

// StringFixed returns d with exactly places digits after the point
// ("500.00" for 500 and 2). It fails with ErrNotExact rather than round.
func (d Decimal) StringFixed(places int) (string, error) {
	if places < 0 || places > maxScale {
		return "", fmt.Errorf("payments: %d places out of range", places)
	}
	if int(d.scale) > places {
		// Drop trailing zeros if they are all that is cut.
		m, err := d.Minor(places)
		if err != nil {
			return "", err
		}
		return Decimal{unscaled: big.NewInt(m), scale: int32(places)}.String(), nil
	}
	u := new(big.Int).Mul(d.int(), new(big.Int).Exp(bigTen, big.NewInt(int64(places)-int64(d.scale)), nil))
	return Decimal{unscaled: u, scale: int32(places)}.String(), nil
}

// MarshalText writes String.
func (d Decimal) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText reads what ParseDecimal reads.
func (d *Decimal) UnmarshalText(b []byte) error {
	v, err := ParseDecimal(string(b))
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// MarshalJSON writes a JSON string ("1205.98"), which no JSON reader turns
// into a float by accident.
func (d Decimal) MarshalJSON() ([]byte, error) { return []byte(`"` + d.String() + `"`), nil }

// UnmarshalJSON accepts a JSON number (1205.98) or a string ("1205.98"),
// exactly. null and "" leave d unchanged.
func (d *Decimal) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if string(b) == "null" || string(b) == `""` {
		return nil
	}
	if len(b) >= 2 && b[0] == '"' && b[len(b)-1] == '"' {
		s, err := strconv.Unquote(string(b))
		if err != nil {
			return fmt.Errorf("payments: decimal: %w", err)
		}
		b = []byte(strings.TrimSpace(s))
	}
	return d.UnmarshalText(b)
}

// FormatMinor writes minor units as a decimal string with exp digits after
// the point: FormatMinor(50, 2) is "0.50", FormatMinor(-12345, 2) "-123.45".
func FormatMinor(minor int64, exp int) string {
	return DecimalFromMinor(minor, exp).String()
}

// ParseMinor reads a decimal string into units of 10^-exp, exactly:
// ParseMinor("0.01", 2) is 1; ParseMinor("0.005", 2) fails with ErrNotExact.
func ParseMinor(s string, exp int) (int64, error) {
	d, err := ParseDecimal(s)
	if err != nil {
		return 0, err
	}
	return d.Minor(exp)
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func truncate(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}
