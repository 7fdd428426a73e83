package payments

import (
	"encoding/json"
	"errors"
	"math"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseDecimalAndMinorBoundaries(t *testing.T) {
	cases := []struct {
		in    string
		exp   int
		minor int64
		err   error
	}{
		{"0.01", 2, 1, nil},
		{"0.005", 2, 0, ErrNotExact},
		{"1205.98", 2, 120598, nil},
		{"100", 2, 10000, nil},
		{"100.0", 2, 10000, nil},
		{"-12.30", 2, -1230, nil},
		{"31.6857", 4, 316857, nil},
		{"31.6857", 2, 0, ErrNotExact},
		{"1.5e3", 0, 1500, nil},
		{"92233720368547758.07", 2, math.MaxInt64, nil},
		{"0.000000000000000001", 18, 1, nil},
	}
	for _, c := range cases {
		got, err := ParseMinor(c.in, c.exp)
		if c.err != nil {
			assert.ErrorIs(t, err, c.err, c.in)
			continue
		}
		require.NoError(t, err, c.in)
		assert.Equal(t, c.minor, got, c.in)
	}
	_, err := ParseMinor("92233720368547758.08", 2)
	assert.ErrorIs(t, err, ErrOutOfRange, "one kopeck past int64 overflows")
}

func TestParseDecimalRefuses(t *testing.T) {
	for _, s := range []string{"", " 1", "1 ", "1,5", "NaN", "Inf", "--1", "1.2.3", ".", "e5", "1e", "1e+", "0x10", "1e999999999", "1e-999"} {
		_, err := ParseDecimal(s)
		assert.Error(t, err, "%q", s)
	}
}

func TestDecimalString(t *testing.T) {
	for in, want := range map[string]string{"1205.98": "1205.98", "-0.5": "-0.5", "0.05": "0.05", "100.0": "100.0", "+7": "7", "1e2": "100", "-0": "0"} {
		assert.Equal(t, want, MustDecimal(in).String(), in)
	}
	assert.Equal(t, "0.50", FormatMinor(50, 2))
	assert.Equal(t, "-123.45", FormatMinor(-12345, 2))
	assert.Equal(t, "-92233720368547758.08", FormatMinor(math.MinInt64, 2))
	s, err := MustDecimal("500").StringFixed(2)
	require.NoError(t, err)
	assert.Equal(t, "500.00", s)
	s, err = MustDecimal("1.500").StringFixed(2)
	require.NoError(t, err)
	assert.Equal(t, "1.50", s)
	_, err = MustDecimal("1.505").StringFixed(2)
	assert.ErrorIs(t, err, ErrNotExact)
}

func TestDecimalArithmetic(t *testing.T) {
	a, b := MustDecimal("0.1"), MustDecimal("0.2")
	assert.True(t, a.Add(b).Equal(MustDecimal("0.3")), "no float error")
	assert.Equal(t, 0, MustDecimal("1.50").Cmp(MustDecimal("1.5")))
	assert.Equal(t, -1, MustDecimal("-1").Cmp(MustDecimal("0.001")))
	assert.Equal(t, "-0.1", a.Sub(b).String())
	assert.Equal(t, "-0.1", a.Neg().String())
	var zero Decimal
	assert.True(t, zero.IsZero())
	assert.Equal(t, "0", zero.String())
	assert.Equal(t, 1, a.Sign())
}

func TestDecimalJSON(t *testing.T) {
	var v struct {
		A Decimal `json:"a"`
		B Decimal `json:"b"`
		C Decimal `json:"c"`
	}
	require.NoError(t, json.Unmarshal([]byte(`{"a":"1205.98","b":31.6857,"c":null}`), &v))
	assert.Equal(t, "1205.98", v.A.String())
	assert.Equal(t, "31.6857", v.B.String())
	assert.True(t, v.C.IsZero())
	out, err := json.Marshal(v)
	require.NoError(t, err)
	assert.Equal(t, `{"a":"1205.98","b":"31.6857","c":"0"}`, string(out))
	assert.Error(t, json.Unmarshal([]byte(`{"a":"12,5"}`), &v))
	assert.Error(t, json.Unmarshal([]byte(`{"a":true}`), &v))
}

func TestDecimalFromMinorRoundTrip(t *testing.T) {
	for _, m := range []int64{0, 1, -1, 99, 100, 123456789, math.MaxInt64, math.MinInt64} {
		got, err := DecimalFromMinor(m, 2).Minor(2)
		require.NoError(t, err)
		assert.Equal(t, m, got, strconv.FormatInt(m, 10))
	}
}

func FuzzParseDecimal(f *testing.F) {
	for _, s := range []string{"1205.98", "31.6857", "-0.005", "1e3", "0.01", "", "9999999999999999999999.99"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDecimal(s)
		if err != nil {
			return
		}
		// What String prints parses back to the same number.
		back, err := ParseDecimal(d.String())
		if err != nil || !back.Equal(d) {
			t.Fatalf("%q → %q does not round-trip: %v", s, d.String(), err)
		}
		if m, err := d.Minor(2); err == nil {
			if !DecimalFromMinor(m, 2).Equal(d) {
				t.Fatalf("%q: Minor(2)=%d is not exact", s, m)
			}
		} else if !errors.Is(err, ErrNotExact) && !errors.Is(err, ErrOutOfRange) {
			t.Fatalf("%q: unexpected error %v", s, err)
		}
	})
}

// The allocation-free path of Minor agrees with the exact one on the edges.
func TestMinorFastPathEdges(t *testing.T) {
	cases := map[string]struct {
		exp  int
		want int64
		err  error
	}{
		"92233720368547758.07":  {2, math.MaxInt64, nil},
		"-92233720368547758.08": {2, math.MinInt64, nil},
		"92233720368547758.08":  {2, 0, ErrOutOfRange},
		"0.005":                 {2, 0, ErrNotExact},
		"-0.50":                 {2, -50, nil},
		"1.5":                   {0, 0, ErrNotExact},
		"123":                   {18, 0, ErrOutOfRange},
		"9":                     {18, 9e18, nil},
		"1.000000000000000000":  {0, 1, nil},
	}
	for in, c := range cases {
		got, err := MustDecimal(in).Minor(c.exp)
		if c.err != nil {
			assert.ErrorIs(t, err, c.err, in)
			continue
		}
		require.NoError(t, err, in)
		assert.Equal(t, c.want, got, in)
	}
}

func TestLuhnValid(t *testing.T) {
	for number, want := range map[string]bool{
		"4111111111111111": true, "4111111111111112": false, "378282246310005": true,
		"6011111111111117": true, "79161234567": false, "0": true, "": false, "4111 1111": false, "411111111111111a": false,
	} {
		if got := LuhnValid(number); got != want {
			t.Errorf("LuhnValid(%q) = %v, want %v", number, got, want)
		}
	}
}
