package popolni

import (
	"strconv"
)

// The exact fast paths of the wire forms. The answers popolni sends are
// small and always of one shape; reading them through encoding/json into
// maps of raw messages (the general decoders of types.go, which keep every
// rule: exact keys, integral floats, nothing after the value) costs a map
// and a copy per key. scanner reads that one shape byte by byte (keys in
// either order, any JSON white space) and gives up on anything else
// (another key, a float, an escape, a repeated key, a status outside
// int32): the general decoder then reads the answer, so what is accepted
// and what it means never depends on the path taken.

// scanner reads one JSON text of the document's shapes.
type scanner struct {
	b []byte
	i int
}

func (s *scanner) space() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// eat consumes c after optional white space.
func (s *scanner) eat(c byte) bool {
	s.space()
	if s.i < len(s.b) && s.b[s.i] == c {
		s.i++
		return true
	}
	return false
}

// key consumes `"k":` for one of the keys the document spells, and returns
// which (-1: another key, or one written with an escape).
func (s *scanner) key(keys ...string) int {
	s.space()
	if s.i >= len(s.b) || s.b[s.i] != '"' {
		return -1
	}
	start := s.i + 1
	end := start
	for end < len(s.b) && s.b[end] != '"' && s.b[end] != '\\' && s.b[end] >= 0x20 {
		end++
	}
	if end >= len(s.b) || s.b[end] != '"' {
		return -1
	}
	k := -1
	for j, want := range keys {
		if string(s.b[start:end]) == want {
			k = j
			break
		}
	}
	s.i = end + 1
	if k < 0 || !s.eat(':') {
		return -1
	}
	return k
}

// integer consumes a JSON integer (-?(0|[1-9][0-9]*), no fraction or
// exponent) that fits an int64.
func (s *scanner) integer() (int64, bool) {
	s.space()
	start := s.i
	if s.i < len(s.b) && s.b[s.i] == '-' {
		s.i++
	}
	digits := s.i
	for s.i < len(s.b) && s.b[s.i] >= '0' && s.b[s.i] <= '9' {
		s.i++
	}
	switch {
	case s.i == digits, s.b[digits] == '0' && s.i-digits > 1: // no digit, or a leading zero
		return 0, false
	case s.i < len(s.b) && (s.b[s.i] == '.' || s.b[s.i] == 'e' || s.b[s.i] == 'E'):
		return 0, false // an integral float: the general decoder's
	}
	n, err := strconv.ParseInt(string(s.b[start:s.i]), 10, 64)
	return n, err == nil
}

// object reads `{"a":N,"b":N}` with keys a and b once each, in either order.
func (s *scanner) object(a, b string) (va, vb int64, ok bool) {
	if !s.eat('{') {
		return 0, 0, false
	}
	var seen [2]bool
	var v [2]int64
	for n := 0; n < 2; n++ {
		if n == 1 && !s.eat(',') {
			return 0, 0, false
		}
		k := s.key(a, b)
		if k < 0 || seen[k] {
			return 0, 0, false
		}
		seen[k] = true
		if v[k], ok = s.integer(); !ok {
			return 0, 0, false
		}
	}
	if !s.eat('}') {
		return 0, 0, false
	}
	return v[0], v[1], true
}

// end reports whether only white space is left.
func (s *scanner) end() bool {
	s.space()
	return s.i == len(s.b)
}

// scanResults is decodeResults' fast path: `[{"transactionId":N,"status":S},...]`.
func scanResults(body []byte) ([]Result, bool) {
	s := scanner{b: body}
	if !s.eat('[') {
		return nil, false
	}
	out := make([]Result, 0, 1+len(body)/40) // an item is about 40 bytes
	if s.eat(']') {
		return out, s.end()
	}
	for {
		id, st, ok := s.object("transactionId", "status")
		if !ok || st < -1<<31 || st > 1<<31-1 {
			return nil, false
		}
		out = append(out, Result{ID: id, Status: Status(st)})
		if s.eat(']') {
			return out, s.end()
		}
		if !s.eat(',') {
			return nil, false
		}
	}
}

// scanBalance is decodeBalance's fast path: `{"currentBalance":N,"creditLimit":N}`.
func scanBalance(body []byte) (Balance, bool) {
	s := scanner{b: body}
	cur, lim, ok := s.object("currentBalance", "creditLimit")
	if !ok || !s.end() {
		return Balance{}, false
	}
	return Balance{Current: cur, CreditLimit: lim}, true
}

// appendPay writes the document's pay body for a validated batch (ids,
// amounts and template ids are integers, accounts and notice phones digits
// only: nothing to escape), byte for byte what encoding/json writes for
// []wirePayment.
func appendPay(b []byte, wire []wirePayment) []byte {
	b = append(b, '[')
	for i, p := range wire {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"transactionId":`...)
		b = strconv.AppendInt(b, p.TransactionID, 10)
		b = append(b, `,"amount":`...)
		b = strconv.AppendInt(b, p.Amount, 10)
		if p.MsisdnNotice != "" {
			b = append(b, `,"msisdnNotice":"`...)
			b = append(b, p.MsisdnNotice...)
			b = append(b, '"')
		}
		b = append(b, `,"msisdn":"`...)
		b = append(b, p.Msisdn...)
		b = append(b, `","templateId":`...)
		b = strconv.AppendInt(b, p.TemplateID, 10)
		b = append(b, '}')
	}
	return append(b, ']')
}

// appendStatusQuery writes the document's status body for ids,
// `[{"transactionId":N,"status":0},...]`, byte for byte what encoding/json
// writes for []wireStatusQuery.
func appendStatusQuery(b []byte, ids []int64) []byte {
	b = append(b, '[')
	for i, id := range ids {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"transactionId":`...)
		b = strconv.AppendInt(b, id, 10)
		b = append(b, `,"status":0}`...)
	}
	return append(b, ']')
}
