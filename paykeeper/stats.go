package paykeeper

import (
	"context"
	"net/url"
	"strconv"
	"time"

	"github.com/paysdk/payments"
)

// PaymentSystem is one payment system of the cabinet (section 1.1).
type PaymentSystem struct {
	ID                string
	SystemDescription string // the system's own name
	SiteDescription   string // the name shown to payers
}

// SystemSum is what one payment system took in a period (section 1.2).
type SystemSum struct {
	PaymentSystem
	Success  payments.Decimal // reached the settlement account
	Account  payments.Decimal // reached the shop's account
	Stuck    payments.Decimal // taken with an error (notification not acknowledged)
	Currency string
}

// Totals are the sums of all payment systems for a period (section 1.4).
type Totals struct {
	Success, Account, Stuck payments.Decimal
}

// SeriesPoint is one point of a payment system's intake over time.
type SeriesPoint struct {
	Time   time.Time
	Amount payments.Decimal
}

// Series is one payment system's intake over a period (section 1.3): a point
// a day up to 30 days, 30 averaged points beyond.
type Series struct {
	PaymentSystemID string
	Label           string
	Points          []SeriesPoint
}

// PaymentSystems lists the payment systems (GET /info/systems/list/).
// A read; always safe.
func (c *Client) PaymentSystems(ctx context.Context) (_ []PaymentSystem, err error) {
	ctx, obs := c.operation(ctx, "systems-list", "")
	defer func() { obs.End(err) }()
	if err := checkCtx(ctx); err != nil {
		return nil, err
	}
	resp, err := c.get(ctx, "systems-list", "/info/systems/list/", nil)
	if err != nil {
		return nil, err
	}
	return decodeList(c, "systems-list", resp, readSystem)
}

func readSystem(r *record) PaymentSystem {
	return PaymentSystem{ID: r.str("id", "payment_system_id"), SystemDescription: r.str("system_description"), SiteDescription: r.str("site_description")}
}

func period(start, end time.Time) (url.Values, error) {
	if start.IsZero() || end.IsZero() || end.Before(start) {
		return nil, &payments.ValidationError{Field: "period", Reason: "start and end are required, end not before start"}
	}
	return url.Values{"start": {date(start)}, "end": {date(end)}}, nil
}

// SystemSums returns each payment system's sums for the days start..end
// (GET /info/systems/sums/). A read; always safe.
func (c *Client) SystemSums(ctx context.Context, start, end time.Time) (_ []SystemSum, err error) {
	ctx, obs := c.operation(ctx, "systems-sums", "")
	defer func() { obs.End(err) }()
	if err := checkCtx(ctx); err != nil {
		return nil, err
	}
	q, err := period(start, end)
	if err != nil {
		return nil, err
	}
	resp, err := c.get(ctx, "systems-sums", "/info/systems/sums/", q)
	if err != nil {
		return nil, err
	}
	return decodeList(c, "systems-sums", resp, func(r *record) SystemSum {
		return SystemSum{PaymentSystem: readSystem(r), Success: r.dec("success"), Account: r.dec("account"), Stuck: r.dec("stuck"), Currency: r.str("currency")}
	})
}

// TotalSums returns the sums of all payment systems for start..end
// (GET /info/systems/allsum/). A read; always safe.
func (c *Client) TotalSums(ctx context.Context, start, end time.Time) (_ Totals, err error) {
	ctx, obs := c.operation(ctx, "systems-allsum", "")
	defer func() { obs.End(err) }()
	if err := checkCtx(ctx); err != nil {
		return Totals{}, err
	}
	q, err := period(start, end)
	if err != nil {
		return Totals{}, err
	}
	resp, err := c.get(ctx, "systems-allsum", "/info/systems/allsum/", q)
	if err != nil {
		return Totals{}, err
	}
	return decodeOne(c, "systems-allsum", resp, func(r *record) Totals {
		return Totals{Success: r.dec("success"), Account: r.dec("account"), Stuck: r.dec("stuck")}
	})
}

// SystemSeries returns each payment system's intake over start..end, for
// a chart (GET /info/systems/sums/details/). The document says the
// timestamps are Unix seconds while its example shows milliseconds; both
// are read. A read; always safe.
func (c *Client) SystemSeries(ctx context.Context, start, end time.Time) (_ []Series, err error) {
	ctx, obs := c.operation(ctx, "systems-details", "")
	defer func() { obs.End(err) }()
	if err := checkCtx(ctx); err != nil {
		return nil, err
	}
	q, err := period(start, end)
	if err != nil {
		return nil, err
	}
	resp, err := c.get(ctx, "systems-details", "/info/systems/sums/details/", q)
	if err != nil {
		return nil, err
	}
	return decodeList(c, "systems-details", resp, func(r *record) Series {
		s := Series{PaymentSystemID: r.str("payment_system_id"), Label: r.str("label")}
		var raw [][]any
		if data, ok := r.m["data"]; ok && string(data) != "null" {
			if err := jsonNumberDecode(data, &raw); err != nil {
				r.fail("data", err)
				return s
			}
		}
		for _, pt := range raw {
			if len(pt) != 2 {
				r.fail("data", errBadPoint)
				return s
			}
			ts, err1 := strconv.ParseInt(numText(pt[0]), 10, 64)
			amt, err2 := payments.ParseDecimal(numText(pt[1]))
			if err1 != nil || err2 != nil {
				r.fail("data", errBadPoint)
				return s
			}
			t := time.Unix(ts, 0)
			if ts > 1e11 { // milliseconds, as in the document's example
				t = time.UnixMilli(ts)
			}
			s.Points = append(s.Points, SeriesPoint{Time: t.In(moscow), Amount: amt})
		}
		return s
	})
}
