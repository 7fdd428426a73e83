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
	if t.IsZero() {
		return false
	}
	if !d.from.IsZero() && t.Before(d.from) {
		return false
	}
	if !d.to.IsZero() && !t.Before(d.to.AddDate(0, 0, 1)) {
		return false
	}
	return true
}

// parseRange reads two YYYY-MM-DD parameters; absent ones leave the bound
// open, malformed ones fail.
func parseRange(q url.Values, startKey, endKey string) (dateRange, bool) {
	var d dateRange
	for _, p := range []struct {
		key string
		dst *time.Time
	}{{startKey, &d.from}, {endKey, &d.to}} {
		v := q.Get(p.key)
		if v == "" {
			continue
		}
		t, err := time.ParseInLocation(dateLayout, v, Moscow)
		if err != nil {
			return d, false
		}
		*p.dst = t
	}
	return d, true
}

func dt(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.In(Moscow).Format(dateTimeLayout)
}

func fmtDT(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(Moscow).Format(dateTimeLayout)
}
