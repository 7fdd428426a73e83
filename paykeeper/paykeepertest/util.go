package paykeepertest

import (
	"cmp"
	"encoding/json"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/paysdk/payments"
)

// arrayParam collects a PHP array parameter in any of its encodings:
// name[]=a&name[]=b, name[0]=a&name[1]=b, and a plain name=a.
func arrayParam(q url.Values, name string) []string {
	out := slices.Clone(q[name+"[]"])
	type idx struct {
		i int
		v []string
	}
	var indexed []idx
	for k, vs := range q {
		rest, ok := strings.CutPrefix(k, name+"[")
		if n, err := strconv.Atoi(strings.TrimSuffix(rest, "]")); ok && strings.HasSuffix(rest, "]") && err == nil {
			indexed = append(indexed, idx{n, vs})
		}
	}
	slices.SortFunc(indexed, func(a, b idx) int { return cmp.Compare(a.i, b.i) })
	for _, e := range indexed {
		out = append(out, e.v...)
	}
	return append(out, q[name]...)
}

// selects reports whether a list filter selects v: it does when it names v
// or names nothing.
func selects(filter []string, v string) bool { return len(filter) == 0 || slices.Contains(filter, v) }

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

// listPage answers the page of xs that the from and limit parameters
// select, or the fail object of a date parameter that did not parse.
func listPage[T any](q url.Values, xs []T, ok bool, toJSON func(T) obj) response {
	if !ok {
		return fail(MsgBadDate)
	}
	from, limit := page(q)
	return jsonResponse(mapped(paginate(xs, from, limit), toJSON))
}

// mapped returns f of each of xs, never nil.
func mapped[T, U any](xs []T, f func(T) U) []U {
	out := make([]U, 0, len(xs))
	for _, x := range xs {
		out = append(out, f(x))
	}
	return out
}

// counts lists {key: k, "count": "<n>"} for each k of order counted in n.
func counts(key string, order []string, n map[string]int) []obj {
	out := []obj{}
	for _, k := range order {
		if n[k] > 0 {
			out = append(out, obj{{key, k}, {"count", strconv.Itoa(n[k])}})
		}
	}
	return out
}

// jsonArray parses s as a JSON array (null counts as an empty one).
func jsonArray(s string) ([]json.RawMessage, bool) {
	var items []json.RawMessage
	err := json.Unmarshal([]byte(s), &items)
	return items, err == nil
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

func isBool(v string) bool { return v == "true" || v == "false" }
