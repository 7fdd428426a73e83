package ledgerui

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/ledger"
	"github.com/paysdk/payments/payout"
)

// queries times the store queries of one page.
type queries struct {
	n    int
	d    time.Duration
	each []string // "counts 1.2"
}

func (q *queries) do(name string, f func() error) error {
	t := time.Now()
	err := f()
	d := time.Since(t)
	q.d += d
	q.n++
	q.each = append(q.each, name+" "+ms(d))
	return err
}

// page is what the template renders.
type page struct {
	Title    string
	Base     string // relative path to the Handler's root: "./" or "../"
	Refresh  int64  // milliseconds
	AsOf     string
	Queries  int
	QueryDur time.Duration
	Each     string // each query's milliseconds
	Error    string

	// overview
	Overview   bool
	NoBrowse   bool
	Statuses   []ledger.Status
	Counts     []countRow
	Total      countRow
	Unfinished []recordView
	UnfNext    string
	UnfFirst   string
	Chart      *chart
	Events     []eventView
	EvNext     string
	EvFirst    string

	// search
	Search   bool
	NotFound string

	// one payout
	Record   *recordView
	Timeline []stepView
	NoHist   bool
}

type countRow struct {
	Provider string
	Cells    []int // per Statuses
	Total    int
	Oldest   string
}

type recordView struct {
	Ref, Link, Provider, Amount, To, Status, ProviderID string
	Code, Message, LastError                            string
	Sends, Polls                                        int
	Created, Sent, Accepted, Final, Updated, Next, Age  string
	Reported                                            bool
}

type stepView struct {
	Seq, Missing                                   int
	At, Status, Provider, Code, Message, LastError string
	Sends, Polls                                   int
}

type eventView struct {
	Received, Provider, ProviderID, State, OrderRef, CheckoutID, Amount, Handled string
}

func ms(d time.Duration) string {
	return strconv.FormatFloat(float64(d.Microseconds())/1000, 'f', 1, 64)
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02 15:04:05Z")
}

// age says d in its two largest units.
func age(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	d = d.Truncate(time.Second)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d/time.Second))
	case d < time.Hour:
		return fmt.Sprintf("%dm%02ds", int(d/time.Minute), int(d%time.Minute/time.Second))
	case d < 24*time.Hour:
		return fmt.Sprintf("%dh%02dm", int(d/time.Hour), int(d%time.Hour/time.Minute))
	default:
		return fmt.Sprintf("%dd%02dh", int(d/(24*time.Hour)), int(d%(24*time.Hour)/time.Hour))
	}
}

var mask = payments.MaskPAN

func (h *Handler) newPage(title, base string) *page {
	return &page{Title: title, Base: base, Refresh: h.opts.Refresh.Milliseconds(), AsOf: stamp(h.opts.Now())}
}

// account shows a destination's account: a card number masked, a sealed
// one opened only to be masked, or "sealed".
func (h *Handler) account(ctx context.Context, r ledger.Record) string {
	d := r.To
	if d.Kind == payout.Card && !payments.LuhnValid(d.Account) {
		if h.opts.Cards == nil {
			d.Account = "sealed"
		} else if pan, err := h.opts.Cards.Open(ctx, r.Ref, d.Account); err != nil {
			d.Account = "sealed (does not open)"
		} else {
			d.Account = mask(pan)
			if d.Account == pan && len(pan) > 10 { // not masked: never show it
				d.Account = pan[:6] + "…" + pan[len(pan)-4:]
			}
		}
	}
	return mask(d.String())
}

func (h *Handler) view(ctx context.Context, r ledger.Record, now time.Time) recordView {
	v := recordView{
		Ref: mask(r.Ref), Link: "payout/" + url.PathEscape(r.Ref), Provider: mask(r.Provider),
		Amount: mask(r.Amount.String()), To: h.account(ctx, r), Status: string(r.Status),
		ProviderID: mask(r.ProviderID), Code: mask(r.Code), Message: mask(r.Message), LastError: mask(r.LastError),
		Sends: r.Sends, Polls: r.Polls,
		Created: stamp(r.CreatedAt), Sent: stamp(r.SentAt), Accepted: stamp(r.AcceptedAt), Final: stamp(r.FinalAt),
		Updated: stamp(r.UpdatedAt), Next: stamp(r.NextAt), Reported: r.Reported,
	}
	if !r.CreatedAt.IsZero() {
		v.Age = age(now.Sub(r.CreatedAt))
	}
	return v
}

func (h *Handler) render(w http.ResponseWriter, r *http.Request, code int, p *page, q *queries) {
	p.Queries, p.QueryDur, p.Each = q.n, q.d, strings.Join(q.each, ", ")
	name := "page"
	if r.URL.Query().Get("fragment") == "1" {
		name = "content"
	}
	var b bytes.Buffer
	if err := h.tmpl.ExecuteTemplate(&b, name, p); err != nil {
		h.plain(w, http.StatusInternalServerError, "500: the page did not render")
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", "text/html; charset=utf-8")
	hd.Set("Cache-Control", "no-store")
	hd.Set("Content-Length", strconv.Itoa(b.Len()))
	w.WriteHeader(code)
	w.Write(b.Bytes())
}

// storeErr is what a page says of a store's error: masked, and escaped by
// the template.
func storeErr(what string, err error) string {
	return mask(fmt.Sprintf("%s: %v", what, err))
}

// parseAfter reads the unfinished list's cursor: "<CreatedAt in unix
// microseconds>.<ref>".
func parseAfter(s string) (time.Time, string, bool) {
	us, ref, ok := strings.Cut(s, ".")
	if !ok || ref == "" {
		return time.Time{}, "", false
	}
	n, err := strconv.ParseInt(us, 10, 64)
	if err != nil {
		return time.Time{}, "", false
	}
	return time.UnixMicro(n).UTC(), ref, true
}

func link(q url.Values, key, value string) string {
	c := url.Values{}
	for k, v := range q {
		if k != "fragment" && k != key {
			c[k] = v
		}
	}
	if value != "" {
		c.Set(key, value)
	}
	if len(c) == 0 {
		return "./"
	}
	return "./?" + c.Encode()
}

func (h *Handler) overview(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	now := h.opts.Now()
	p := h.newPage("Payout ledger", "./")
	p.Overview = true
	p.Statuses = ledger.Statuses
	var q queries
	in := r.URL.Query()
	var afterCreated, before time.Time
	var afterRef string
	if a := in.Get("after"); a != "" {
		var ok bool
		if afterCreated, afterRef, ok = parseAfter(a); !ok {
			h.plain(w, http.StatusBadRequest, "400: after is <unix microseconds>.<ref>")
			return
		}
	}
	if b := in.Get("before"); b != "" {
		n, err := strconv.ParseInt(b, 10, 64)
		if err != nil {
			h.plain(w, http.StatusBadRequest, "400: before is unix microseconds")
			return
		}
		before = time.UnixMicro(n).UTC()
	}
	var errs []string
	if h.browse == nil {
		p.NoBrowse = true
		var m map[ledger.Status]int
		if err := q.do("counts", func() (err error) { m, err = h.store.Count(ctx); return }); err != nil {
			errs = append(errs, storeErr("counts", err))
		} else {
			row := countRow{Provider: "all providers"}
			for _, s := range ledger.Statuses {
				row.Cells = append(row.Cells, m[s])
				row.Total += m[s]
			}
			p.Counts, p.Total = []countRow{row}, row
		}
		p.Error = strings.Join(errs, "; ")
		h.render(w, r, http.StatusOK, p, &q)
		return
	}
	var stats []ledger.Stat
	if err := q.do("counts", func() (err error) { stats, err = h.browse.Counts(ctx); return }); err != nil {
		errs = append(errs, storeErr("counts", err))
	}
	p.Counts, p.Total = countRows(stats)

	var recs []ledger.Record
	n := h.opts.PageSize
	if err := q.do("unfinished", func() (err error) { recs, err = h.browse.Unfinished(ctx, afterCreated, afterRef, n+1); return }); err != nil {
		errs = append(errs, storeErr("unfinished", err))
	}
	if len(recs) > n {
		last := recs[n-1]
		recs = recs[:n]
		p.UnfNext = link(in, "after", strconv.FormatInt(last.CreatedAt.UnixMicro(), 10)+"."+last.Ref)
	}
	if afterRef != "" {
		p.UnfFirst = link(in, "after", "")
	}
	for _, rec := range recs {
		p.Unfinished = append(p.Unfinished, h.view(ctx, rec, now))
	}

	since := now.Add(-h.opts.ChartWindow).Truncate(time.Minute)
	var buckets []ledger.Bucket
	if err := q.do("finals", func() (err error) { buckets, err = h.browse.Finals(ctx, since); return }); err != nil {
		errs = append(errs, storeErr("finals", err))
	}
	p.Chart = drawChart(buckets, since, now)

	var evs []ledger.Event
	if err := q.do("notifications", func() (err error) { evs, err = h.browse.RecentEvents(ctx, before, n+1); return }); err != nil {
		errs = append(errs, storeErr("notifications", err))
	}
	if len(evs) > n {
		evs = evs[:n]
		p.EvNext = link(in, "before", strconv.FormatInt(evs[n-1].ReceivedAt.UnixMicro(), 10))
	}
	if !before.IsZero() {
		p.EvFirst = link(in, "before", "")
	}
	for _, e := range evs {
		v := eventView{
			Received: stamp(e.ReceivedAt), Provider: mask(e.Provider), ProviderID: mask(e.ProviderID),
			State: e.State.String(), OrderRef: mask(e.OrderRef), CheckoutID: mask(e.CheckoutID),
			Amount: mask(e.Amount.String()), Handled: stamp(e.HandledAt),
		}
		p.Events = append(p.Events, v)
	}
	p.Error = strings.Join(errs, "; ")
	h.render(w, r, http.StatusOK, p, &q)
}

func countRows(stats []ledger.Stat) ([]countRow, countRow) {
	idx := map[ledger.Status]int{}
	for i, s := range ledger.Statuses {
		idx[s] = i
	}
	total := countRow{Provider: "all providers", Cells: make([]int, len(ledger.Statuses))}
	byProv := map[string]*countRow{}
	var rows []countRow
	var names []string
	oldest := map[string]time.Time{}
	for _, s := range stats {
		i, ok := idx[s.Status]
		if !ok {
			continue
		}
		row := byProv[s.Provider]
		if row == nil {
			row = &countRow{Provider: mask(s.Provider), Cells: make([]int, len(ledger.Statuses))}
			byProv[s.Provider] = row
			names = append(names, s.Provider)
		}
		row.Cells[i] += s.Count
		row.Total += s.Count
		total.Cells[i] += s.Count
		total.Total += s.Count
		if !s.Status.Final() && !s.Oldest.IsZero() && (oldest[s.Provider].IsZero() || s.Oldest.Before(oldest[s.Provider])) {
			oldest[s.Provider] = s.Oldest
		}
	}
	sort.Strings(names)
	for _, name := range names {
		row := byProv[name]
		row.Oldest = stamp(oldest[name])
		rows = append(rows, *row)
	}
	return rows, total
}

// maxRef bounds what a search reads.
const maxRef = 256

func (h *Handler) search(w http.ResponseWriter, r *http.Request, mount string) {
	ref := strings.TrimSpace(r.URL.Query().Get("ref"))
	if ref == "" {
		http.Redirect(w, r, mount+"/", http.StatusSeeOther)
		return
	}
	p := h.newPage("Search", "./")
	p.Search = true
	var q queries
	if len(ref) <= maxRef {
		var err error
		q.do("get", func() error { _, err = h.store.Get(r.Context(), ref); return err })
		switch {
		case err == nil:
			http.Redirect(w, r, mount+"/payout/"+url.PathEscape(ref), http.StatusSeeOther)
			return
		case !errors.Is(err, payments.ErrNotFound):
			p.Error = storeErr("search", err)
			h.render(w, r, http.StatusInternalServerError, p, &q)
			return
		}
	}
	p.NotFound = mask(ref)
	h.render(w, r, http.StatusNotFound, p, &q)
}

func (h *Handler) payout(w http.ResponseWriter, r *http.Request, ref string) {
	ctx := r.Context()
	p := h.newPage("Payout", "../")
	var q queries
	if len(ref) > maxRef {
		p.NotFound = mask(ref)
		h.render(w, r, http.StatusNotFound, p, &q)
		return
	}
	var rec ledger.Record
	err := q.do("get", func() (err error) { rec, err = h.store.Get(ctx, ref); return })
	switch {
	case errors.Is(err, payments.ErrNotFound):
		p.NotFound = mask(ref)
		h.render(w, r, http.StatusNotFound, p, &q)
		return
	case err != nil:
		p.Error = storeErr("payout", err)
		h.render(w, r, http.StatusInternalServerError, p, &q)
		return
	}
	v := h.view(ctx, rec, h.opts.Now())
	v.Link = url.PathEscape(rec.Ref)
	p.Record = &v
	p.Title = "Payout " + v.Ref
	if h.history == nil {
		p.NoHist = true
	} else {
		var steps []ledger.Step
		if err := q.do("timeline", func() (err error) { steps, err = h.history.History(ctx, ref); return }); err != nil {
			p.Error = storeErr("timeline", err)
		}
		prev := 0
		for _, s := range steps {
			p.Timeline = append(p.Timeline, stepView{
				Seq: s.Seq, Missing: max(0, s.Seq-prev-1), At: stamp(s.At), Status: string(s.Status),
				Provider: mask(s.Provider), Code: mask(s.Code), Message: mask(s.Message), LastError: mask(s.LastError),
				Sends: s.Sends, Polls: s.Polls,
			})
			prev = s.Seq
		}
	}
	h.render(w, r, http.StatusOK, p, &q)
}
