package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/paysdk/payments"
)

// emit prints v as indented JSON with --json, else calls table with a
// tabwriter over the output (flushed after).
func (a *app) emit(v any, table func(w io.Writer)) error {
	if a.jsonOut {
		enc := json.NewEncoder(a.out)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	}
	tw := tabwriter.NewWriter(a.out, 0, 0, 2, ' ', 0)
	table(tw)
	return tw.Flush()
}

// row writes one tab-separated table row.
func row(w io.Writer, cells ...any) {
	s := make([]string, len(cells))
	for i, c := range cells {
		s[i] = cell(c)
	}
	fmt.Fprintln(w, strings.Join(s, "\t"))
}

// cell formats one table cell: money as amount and currency, times in UTC
// to the second, the zero time and "" as "-".
func cell(c any) string {
	switch v := c.(type) {
	case time.Time:
		if v.IsZero() {
			return "-"
		}
		return v.UTC().Format(time.RFC3339)
	case payments.Money:
		if v.Currency == "" && v.Amount.IsZero() {
			return "-"
		}
		return fixed(v) + " " + v.Currency
	case string:
		if v == "" {
			return "-"
		}
		// a tab or a line break in a provider's text would break the table
		return strings.NewReplacer("\t", " ", "\n", " ", "\r", " ").Replace(v)
	case nil:
		return "-"
	}
	return cell(fmt.Sprint(c))
}

// say prints a line for people: on stderr with --json (stdout is for
// the JSON), on stdout otherwise.
func (a *app) say(format string, args ...any) {
	w := io.Writer(a.out)
	if a.jsonOut {
		w = a.errOut
	}
	fmt.Fprintf(w, format+"\n", args...)
}

// fixed is m's amount with the currency's digits after the point ("50.00"
// RUB), or as it is when the currency has no known minor unit.
func fixed(m payments.Money) string {
	if f, err := m.Fixed(); err == nil {
		return f
	}
	return m.Amount.String()
}
