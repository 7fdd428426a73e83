package paykeepertest

import (
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/paysdk/payments"
)

// arrayParam collects a PHP array parameter in any of its encodings:
// name[]=a&name[]=b, name[0]=a&name[1]=b, and a plain name=a.
func arrayParam(q url.Values, name string) []string {
	var out []string
	out = append(out, q[name+"[]"]...)
	type idx struct {
		i int
		v []string
	}
	var indexed []idx
	for k, vs := range q {
		rest, ok := strings.CutPrefix(k, name+"[")
		if !ok || !strings.HasSuffix(rest, "]") || rest == "]" {
			continue
		}
		n, err := strconv.Atoi(strings.TrimSuffix(rest, "]"))
		if err != nil {
			continue
		}
		indexed = append(indexed, idx{n, vs})
	}
	sort.Slice(indexed, func(a, b int) bool { return indexed[a].i < indexed[b].i })
	for _, e := range indexed {
		out = append(out, e.v...)
	}
	out = append(out, q[name]...)
	return out
}

func set(vs []string) map[string]bool {
	m := make(map[string]bool, len(vs))
	for _, v := range vs {
		m[v] = true
	}
	return m
}

// page reads from and limit; a missing or malformed limit means no limit.
func page(q url.Values) (from, limit int) {
	from, _ = strconv.Atoi(q.Get("from"))
	if from < 0 {
		from = 0
	}
	limit, err := strconv.Atoi(q.Get("limit"))
	if err != nil || limit < 0 {
		limit = -1
	}
	return from, limit
}

func paginate[T any](xs []T, from, limit int) []T {
	if from >= len(xs) {
		return nil
	}
	xs = xs[from:]
	if limit >= 0 && limit < len(xs) {
		xs = xs[:limit]
	}
	return xs
}

func fixed(d payments.Decimal) string {
	s, err := d.StringFixed(2)
	if err != nil {
		return d.String()
	}
	return s
}

// amountField parses a money parameter: positive, at most 2 places.
func amountField(v string) (payments.Decimal, bool) {
	d, err := payments.ParseDecimal(strings.TrimSpace(v))
	if err != nil || d.Sign() <= 0 {
		return d, false
	}
	if _, err := d.StringFixed(2); err != nil {
		return d, false
	}
	return d, true
}

// exactAmount reads a sum that must be written as the client writes it,
// "990.00": positive, two decimals, no sign, exponent, space or leading
// zero. The form's sign covers the fields' text run together, so a looser
// sum would let text move between sum and clientid under the same sign.
func exactAmount(v string) (payments.Decimal, bool) {
	d, ok := amountField(v)
	return d, ok && fixed(d) == v
}

func truthy(v string) bool {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "true", "1", "on", "yes":
		return true
	}
	return false
}

func boolStr(b bool) string { return strconv.FormatBool(b) }
