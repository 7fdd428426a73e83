package paykeepertest

import (
	"net/url"
	"time"
)

// Moscow is the zone of every datetime PayKeeper sends and reads
// ("YYYY-MM-DD HH:MM:SS", no suffix): UTC+3 without daylight saving.
var Moscow = time.FixedZone("MSK", 3*3600)

const (
	dateTimeLayout = "2006-01-02 15:04:05"
	dateLayout     = "2006-01-02"
)

// dateRange is an inclusive range of Moscow dates; a zero bound is open.
type dateRange struct{ from, to time.Time }

func (d dateRange) has(t time.Time) bool {
	return !t.IsZero() && (d.from.IsZero() || !t.Before(d.from)) && (d.to.IsZero() || t.Before(d.to.AddDate(0, 0, 1)))
}

// parseRange reads two YYYY-MM-DD parameters; absent ones leave the bound
// open, malformed ones fail.
func parseRange(q url.Values, startKey, endKey string) (dateRange, bool) {
	from, err1 := parseDate(q.Get(startKey))
	to, err2 := parseDate(q.Get(endKey))
	return dateRange{from, to}, err1 == nil && err2 == nil
}

func parseDate(v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	return time.ParseInLocation(dateLayout, v, Moscow)
}

// dt is a datetime as PayKeeper writes it, null when t is zero.
func dt(t time.Time) any { return strOrNull(fmtDT(t)) }

func fmtDT(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(Moscow).Format(dateTimeLayout)
}
