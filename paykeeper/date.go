package paykeeper

import (
	"fmt"
	"time"
)

// Date is a calendar day in Moscow, as PayKeeper's YYYY-MM-DD parameters
// take it (an invoice's expiry). The zero Date is "not set".
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// DateOf returns the Moscow day of t.
func DateOf(t time.Time) Date {
	m := t.In(moscow)
	return Date{Year: m.Year(), Month: m.Month(), Day: m.Day()}
}

// IsZero reports the zero Date.
func (d Date) IsZero() bool { return d == Date{} }

// String is the date as PayKeeper reads it: YYYY-MM-DD.
func (d Date) String() string { return fmt.Sprintf("%04d-%02d-%02d", d.Year, int(d.Month), d.Day) }

// Start is the first moment of the day in Moscow.
func (d Date) Start() time.Time { return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, moscow) }

// valid reports a real calendar day of the years 1..9999.
func (d Date) valid() bool {
	t := time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, time.UTC)
	return d.Year >= 1 && d.Year <= 9999 && t.Year() == d.Year && t.Month() == d.Month && t.Day() == d.Day
}
