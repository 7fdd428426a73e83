package royalpaytest

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"math/big"
	"slices"
	"strconv"
	"strings"
	"time"
)

// object is a JSON object that keeps its keys in order. Values are what
// encoding/json renders: nil, strings, numbers, bools, slices, *object.
type object []member

type member struct {
	key string
	val any
}

func (o *object) add(k string, v any) { *o = append(*o, member{k, v}) }

// remove drops the named keys.
func (o *object) remove(keys ...string) {
	*o = slices.DeleteFunc(*o, func(m member) bool { return slices.Contains(keys, m.key) })
}

// MarshalJSON renders o in its key order.
func (o *object) MarshalJSON() ([]byte, error) {
	members := make([]string, len(*o))
	for i, m := range *o {
		members[i] = string(marshal(m.key)) + ":" + string(marshal(m.val))
	}
	return []byte("{" + strings.Join(members, ",") + "}"), nil
}

func (o *object) bytes() []byte { return marshal(o) }

// marshal renders v compactly, without HTML escaping, as DRF's JSONRenderer
// does (UTF-8, no \u escapes for Cyrillic).
func marshal(v any) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		panic(fmt.Sprintf("royalpaytest: cannot render %T: %v", v, err))
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}

// nullable is s, or JSON null for "".
func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// moscow is the offset the document's timestamps carry.
var moscow = time.FixedZone("MSK", 3*60*60)

func formatTime(t time.Time) string { return t.In(moscow).Format("2006-01-02T15:04:05.000000-07:00") }

// luhn appends the Luhn check digit to digits.
func luhn(digits string) string {
	sum := 0
	for i := range len(digits) { // from the right; the check digit will be rightmost, so the first here doubles
		d := int(digits[len(digits)-1-i] - '0')
		if i%2 == 0 {
			d = [10]int{0, 2, 4, 6, 8, 1, 3, 5, 7, 9}[d] // the digits of 2d, summed
		}
		sum += d
	}
	return digits + strconv.Itoa((10-sum%10)%10)
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails (crypto/rand panics rather)
	return b
}

func newUUID() string {
	b := randomBytes(16)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// divRound returns a/b rounded half up; a >= 0, b > 0.
func divRound(a, b int64) int64 { return (2*a + b) / (2 * b) }

// fixed4 renders n × 1e-4 with 4 places; n >= 0.
func fixed4(n *big.Int) string {
	s := fmt.Sprintf("%05d", n) // at least "0.0000"
	return s[:len(s)-4] + "." + s[len(s)-4:]
}

// parseRequestTimeout reads X-Request-Timeout as [Request.RequestTimeout]
// says.
func parseRequestTimeout(v string) time.Duration {
	v = strings.TrimSpace(v)
	if v != "" && strings.Trim(v, "0123456789.") == "" {
		v += "s"
	}
	if d, err := time.ParseDuration(v); err == nil && d > 0 {
		return d
	}
	return 0
}
