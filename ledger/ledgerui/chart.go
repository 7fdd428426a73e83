package ledgerui

import (
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/paysdk/payments/ledger"
)

// chart is the inline SVG of the payouts finalised per minute: one bar per
// minute, stacked by provider and outcome.
type chart struct {
	Width, Height int
	Bars          []bar
	Series        []series
	Ticks         []tick
	Max           int
	Total         int
	Minutes       int
	PlotTop       int
	PlotBottom    int
	PlotLeft      int
	PlotRight     int
}

type bar struct {
	X, Y, W, H string
	Fill       string
	Title      string
}

type series struct {
	Name  string
	Fill  string
	Total int
}

type tick struct {
	X     string
	Label string
}

// Succeeded payouts take greens and blues, failed ones reds and oranges.
var (
	okFills   = []string{"#2e7d32", "#1565c0", "#00838f", "#558b2f", "#283593", "#00695c"}
	failFills = []string{"#c62828", "#ef6c00", "#ad1457", "#f9a825", "#6a1b9a", "#8d6e63"}
)

func drawChart(buckets []ledger.Bucket, since, now time.Time) *chart {
	c := &chart{Width: 960, Height: 220, PlotLeft: 44, PlotRight: 950, PlotTop: 10, PlotBottom: 190}
	since = since.UTC().Truncate(time.Minute)
	minutes := int(now.Sub(since)/time.Minute) + 1
	if minutes < 1 {
		minutes = 1
	}
	c.Minutes = minutes
	type key struct {
		provider string
		status   ledger.Status
	}
	perMinute := make([]map[key]int, minutes)
	totals := make([]int, minutes)
	seriesTotal := map[key]int{}
	for _, b := range buckets {
		i := int(b.Minute.UTC().Sub(since) / time.Minute)
		if i < 0 || i >= minutes || b.Count <= 0 {
			continue
		}
		if perMinute[i] == nil {
			perMinute[i] = map[key]int{}
		}
		k := key{b.Provider, b.Status}
		perMinute[i][k] += b.Count
		totals[i] += b.Count
		seriesTotal[k] += b.Count
		c.Total += b.Count
	}
	var keys []key
	for k := range seriesTotal {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].status != keys[j].status {
			return keys[i].status == ledger.Succeeded
		}
		return keys[i].provider < keys[j].provider
	})
	fill := map[key]string{}
	nOK, nFail := 0, 0
	for _, k := range keys {
		if k.status == ledger.Succeeded {
			fill[k] = okFills[nOK%len(okFills)]
			nOK++
		} else {
			fill[k] = failFills[nFail%len(failFills)]
			nFail++
		}
		c.Series = append(c.Series, series{Name: mask(k.provider) + " " + string(k.status), Fill: fill[k], Total: seriesTotal[k]})
	}
	for _, t := range totals {
		c.Max = max(c.Max, t)
	}
	if c.Max == 0 {
		return c
	}
	plotW := float64(c.PlotRight - c.PlotLeft)
	plotH := float64(c.PlotBottom - c.PlotTop)
	bw := plotW / float64(minutes)
	f := func(v float64) string { return strconv.FormatFloat(v, 'f', 2, 64) }
	for i, m := range perMinute {
		if m == nil {
			continue
		}
		x := float64(c.PlotLeft) + float64(i)*bw
		y := float64(c.PlotBottom)
		minute := since.Add(time.Duration(i) * time.Minute)
		for _, k := range keys {
			n := m[k]
			if n == 0 {
				continue
			}
			hgt := plotH * float64(n) / float64(c.Max)
			y -= hgt
			c.Bars = append(c.Bars, bar{
				X: f(x), Y: f(y), W: f(max(bw-0.5, 0.5)), H: f(hgt), Fill: fill[k],
				Title: fmt.Sprintf("%s %s %s: %d", minute.Format("15:04"), mask(k.provider), k.status, n),
			})
		}
	}
	step := 30
	if minutes <= 60 {
		step = 10
	} else if minutes > 6*60 {
		step = 120
	}
	for i := 0; i < minutes; i++ {
		if m := since.Add(time.Duration(i) * time.Minute); (m.Hour()*60+m.Minute())%step == 0 {
			c.Ticks = append(c.Ticks, tick{X: f(float64(c.PlotLeft) + (float64(i)+0.5)*bw), Label: m.Format("15:04")})
		}
	}
	return c
}
