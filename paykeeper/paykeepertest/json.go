package paykeepertest

import (
	"bytes"
	"fmt"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// The server writes JSON as PHP's json_encode does with default flags: keys in
// a fixed order, compact, every non-ASCII character as \uXXXX and "/" as "\/".
// Clients must decode it as any JSON; nothing here is exotic JSON.

// kv is one member of an ordered JSON object.
type kv struct {
	k string
	v any
}

// obj is an ordered JSON object. Values may be string, nil, bool, int,
// int64, number (a numeric token written as is), obj, []obj, []any or
// []string.
type obj []kv

// number is a JSON number token written verbatim, e.g. "120.50".
type number string

func (o *obj) add(k string, v any) { *o = append(*o, kv{k, v}) }

// strOrNull is s, or nil (JSON null) when s is empty.
func strOrNull(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func encode(v any) []byte {
	var b bytes.Buffer
	writeValue(&b, v)
	return b.Bytes()
}

func writeValue(b *bytes.Buffer, v any) {
	switch x := v.(type) {
	case nil:
		b.WriteString("null")
	case string:
		writeString(b, x)
	case bool:
		b.WriteString(strconv.FormatBool(x))
	case int:
		b.WriteString(strconv.Itoa(x))
	case int64:
		b.WriteString(strconv.FormatInt(x, 10))
	case number:
		b.WriteString(string(x))
	case obj:
		b.WriteByte('{')
		for i, m := range x {
			if i > 0 {
				b.WriteByte(',')
			}
			writeString(b, m.k)
			b.WriteByte(':')
			writeValue(b, m.v)
		}
		b.WriteByte('}')
	case []obj:
		b.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				b.WriteByte(',')
			}
			writeValue(b, e)
		}
		b.WriteByte(']')
	case []any:
		b.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				b.WriteByte(',')
			}
			writeValue(b, e)
		}
		b.WriteByte(']')
	case []string:
		b.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				b.WriteByte(',')
			}
			writeString(b, e)
		}
		b.WriteByte(']')
	default:
		panic(fmt.Sprintf("paykeepertest: cannot encode %T", v))
	}
}

const hexDigits = "0123456789abcdef"

func writeString(b *bytes.Buffer, s string) {
	b.WriteByte('"')
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		switch {
		case r == '"':
			b.WriteString(`\"`)
		case r == '\\':
			b.WriteString(`\\`)
		case r == '/':
			b.WriteString(`\/`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20:
			b.WriteString(`\u00`)
			b.WriteByte(hexDigits[r>>4])
			b.WriteByte(hexDigits[r&0xf])
		case r < utf8.RuneSelf:
			b.WriteByte(byte(r))
		default:
			if r1, r2 := utf16.EncodeRune(r); r1 != utf8.RuneError {
				writeU(b, r1)
				writeU(b, r2)
			} else {
				writeU(b, r)
			}
		}
	}
	b.WriteByte('"')
}

func writeU(b *bytes.Buffer, r rune) {
	b.WriteString(`\u`)
	for shift := 12; shift >= 0; shift -= 4 {
		b.WriteByte(hexDigits[(r>>uint(shift))&0xf])
	}
}
