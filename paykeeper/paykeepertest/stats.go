package paykeepertest

import (
	"time"

	"github.com/paysdk/payments"
)

// PaymentSystems lists the merchant's payment systems (read only) as
// /info/systems/list/ answers them: id, system_description, site_description.
var PaymentSystems = [][3]string{
	{"1", "WebMoney", "WebMoney Transfer"},
	{"2", "Qiwi", "Visa Qiwi Wallet"},
	{"3", "Card", "Банковская карта Visa, MasterCard, Мир"},
	{"6", "RSB", "Russian Standart Bank"},
	{"9", "SBP", "Система быстрых платежей"},
}

func systemJSON(ps [3]string) obj {
	return obj{{"id", ps[0]}, {"system_description", ps[1]}, {"site_description", ps[2]}}
}

func (s *Server) hSystemsList(*call) response {
	return jsonResponse(mapped(PaymentSystems, systemJSON))
}

// sums are the three balances of the statistics: success counts every
// payment whose money was taken (obtained, success, stuck, partially
// refunded), account those the merchant acknowledged (success, partially
// refunded), stuck the unacknowledged ones; each net of refunds.
type sums struct{ success, account, stuck payments.Decimal }

func (x *sums) add(p *payment) {
	net := p.remainder()
	if moneyTaken(p.Status) || p.Status == StatusPartiallyRefunded {
		x.success = x.success.Add(net)
	}
	switch p.Status {
	case StatusSuccess, StatusPartiallyRefunded:
		x.account = x.account.Add(net)
	case StatusStuck:
		x.stuck = x.stuck.Add(net)
	}
}

func (x sums) json() obj {
	return obj{{"success", fixed(x.success)}, {"account", fixed(x.account)}, {"stuck", fixed(x.stuck)}}
}

func (s *Server) sumsLocked(rng dateRange, system string) sums {
	var x sums
	for _, p := range s.payments {
		if (system == "" || p.PaymentSystemID == system) && rng.has(p.Obtained) {
			x.add(p)
		}
	}
	return x
}

func (s *Server) hSystemsSums(c *call) response {
	rng, ok := parseRange(c.q, "start", "end")
	if !ok {
		return fail(MsgBadDate)
	}
	return jsonResponse(mapped(PaymentSystems, func(ps [3]string) obj {
		return append(append(systemJSON(ps), s.sumsLocked(rng, ps[0]).json()...), kv{"currency", "RUR"})
	}))
}

func (s *Server) hSystemsAllSum(c *call) response {
	rng, ok := parseRange(c.q, "start", "end")
	if !ok {
		return fail(MsgBadDate)
	}
	return jsonResponse(s.sumsLocked(rng, "").json())
}

// hSystemsDetails answers per payment system with payments in the period a
// series of [timestamp in milliseconds, amount]: one point per day for up to
// 30 days, else 30 points over equal spans (the document's example
// timestamps are milliseconds, though its text says seconds). A missing
// bound makes the period the 30 days up to today.
func (s *Server) hSystemsDetails(c *call) response {
	rng, ok := parseRange(c.q, "start", "end")
	if !ok {
		return fail(MsgBadDate)
	}
	if rng.from.IsZero() || rng.to.IsZero() {
		n := s.now().In(Moscow)
		today := time.Date(n.Year(), n.Month(), n.Day(), 0, 0, 0, 0, Moscow)
		rng = dateRange{from: today.AddDate(0, 0, -29), to: today}
	}
	days := int(rng.to.Sub(rng.from).Hours()/24) + 1
	if days < 1 {
		return jsonResponse([]obj{})
	}
	points := min(days, 30)
	out := []obj{}
	for _, ps := range PaymentSystems {
		buckets := make([]sums, points)
		found := false
		for _, p := range s.payments {
			if p.PaymentSystemID == ps[0] && rng.has(p.Obtained) {
				day := int(p.Obtained.Sub(rng.from).Hours() / 24)
				buckets[day*points/days].add(p)
				found = true
			}
		}
		if !found {
			continue
		}
		data := []any{}
		for i := range buckets {
			start := rng.from.AddDate(0, 0, i*days/points)
			data = append(data, []any{start.UnixMilli(), number(fixed(buckets[i].success))})
		}
		out = append(out, obj{{"payment_system_id", ps[0]}, {"label", ps[2]}, {"data", data}})
	}
	return jsonResponse(out)
}
