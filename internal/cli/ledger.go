package cli

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/internal/payoutjob"
	"github.com/paysdk/payments/ledger"
	"github.com/paysdk/payments/payout"
)

// ledgerPage is how many records one List of a scan reads: ls, export and
// stats never hold the whole ledger. A variable for the tests.
var ledgerPage = 500

// ledgerCommand is "payments ledger": the payout ledger of PAYMENTS_STORE.
func (a *app) ledgerCommand() *cobra.Command {
	c := &cobra.Command{
		Use:   "ledger",
		Short: "The payout ledger (PAYMENTS_STORE): list, show, stats, export, and the CSV batch job",
		Long: `The payout ledger of PAYMENTS_STORE: a SQLite file (default payouts.db; it must
exist, except for "ledger run") or a postgres:// URL.

Card numbers are sealed in the ledger; with PAYOUTS_CARD_KEYS set (the keys
the job sealed them with) they show as their first six and last four digits,
else as "sealed". No output shows a card number whole.`,
	}
	c.AddCommand(a.ledgerLsCommand(), a.ledgerShowCommand(), a.ledgerStatsCommand(), a.ledgerExportCommand(), a.ledgerRunCommand())
	return c
}

// ledgerQuery is the record filter of ls and export.
type ledgerQuery struct {
	status    []string
	provider  string
	refs      []string
	open      bool
	olderThan time.Duration
	since     string
	until     string
	after     string

	// parsed
	filter   ledger.Filter
	from, to time.Time // CreatedAt in [from, to); zero: no bound
}

func (q *ledgerQuery) flags(c *cobra.Command) {
	f := c.Flags()
	f.StringArrayVar(&q.status, "status", nil, "keep records in `STATUS` (repeatable): "+statusList())
	f.StringVar(&q.provider, "provider", "", "keep records bound to `PROVIDER` (popolni, qiwitopup, royalpay)")
	f.StringArrayVar(&q.refs, "ref", nil, "keep the record of `REF` (repeatable)")
	f.BoolVar(&q.open, "open", false, "keep records still in the work queue (not final, or final and not yet reported)")
	f.DurationVar(&q.olderThan, "older-than", 0, "keep records created more than `DURATION` ago (e.g. 1h, 30m)")
	f.StringVar(&q.since, "since", "", "keep records created at or after `TIME` (RFC 3339, or a duration: 2h means 2 hours ago)")
	f.StringVar(&q.until, "until", "", "keep records created before `TIME` (RFC 3339, or a duration ago)")
	f.StringVar(&q.after, "after", "", "start after `REF` (records are in ref order: the cursor ls prints when there are more)")
}

func statusList() string {
	s := make([]string, len(ledger.Statuses))
	for i, st := range ledger.Statuses {
		s[i] = string(st)
	}
	return strings.Join(s, ", ")
}

// parse checks the flags (exit 2) and builds the store's filter.
func (q *ledgerQuery) parse(now time.Time) error {
	for _, s := range q.status {
		for _, one := range strings.Split(s, ",") {
			st := ledger.Status(strings.TrimSpace(one))
			if !st.Valid() {
				return usageError("--status %q: want one of %s", one, statusList())
			}
			if !slices.Contains(q.filter.Status, st) {
				q.filter.Status = append(q.filter.Status, st)
			}
		}
	}
	if q.olderThan < 0 {
		return usageError("--older-than %s: a duration is positive", q.olderThan)
	}
	var err error
	if q.from, err = timeFlag("since", q.since, now); err != nil {
		return err
	}
	if q.to, err = timeFlag("until", q.until, now); err != nil {
		return err
	}
	if q.olderThan > 0 {
		if t := now.Add(-q.olderThan); q.to.IsZero() || t.Before(q.to) {
			q.to = t
		}
	}
	q.filter.Provider = q.provider
	q.filter.Refs = q.refs
	q.filter.Open = q.open
	q.filter.After = q.after
	return nil
}

// timeFlag reads an RFC 3339 time or a duration before now.
func timeFlag(name, v string, now time.Time) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	if d, err := time.ParseDuration(v); err == nil && d >= 0 {
		return now.Add(-d), nil
	}
	return time.Time{}, usageError("--%s %q: want an RFC 3339 time (2025-01-02T15:04:05Z) or a duration ago (2h)", name, v)
}

// keep reports whether r is in the query's time bounds.
func (q *ledgerQuery) keep(r ledger.Record) bool {
	if !q.from.IsZero() && r.CreatedAt.Before(q.from) {
		return false
	}
	if !q.to.IsZero() && !r.CreatedAt.Before(q.to) {
		return false
	}
	return true
}

// scan calls each for every record the query selects, in ref order, a page
// at a time; each returns false to stop.
func (q *ledgerQuery) scan(ctx context.Context, st ledger.Store, each func(ledger.Record) (bool, error)) error {
	f := q.filter
	f.Limit = ledgerPage
	for {
		recs, err := st.List(ctx, f)
		if err != nil {
			return err
		}
		for _, r := range recs {
			if !q.keep(r) {
				continue
			}
			more, err := each(r)
			if err != nil || !more {
				return err
			}
		}
		if len(recs) < f.Limit {
			return nil
		}
		f.After = recs[len(recs)-1].Ref
	}
}

// openLedger opens the store for reading, and the card keys to show sealed
// card numbers masked with (none without PAYOUTS_CARD_KEYS).
func (a *app) openLedger(ctx context.Context) (ledger.Store, ledger.Cards, error) {
	st, err := a.openStore(ctx)
	if err != nil {
		return nil, nil, err
	}
	v := a.env(payoutjob.CardKeysEnv)
	if v == "" {
		return st, nil, nil
	}
	k, err := payoutjob.ParseKeys(v, payoutjob.CardKeysEnv)
	if err == nil {
		var cards ledger.Cards
		if cards, err = k.Cards(); err == nil {
			return st, cards, nil
		}
	}
	st.Close()
	return nil, nil, withCode(ExitBadInput, err)
}

// shown is r as the commands show it: a sealed card number opened (when
// cards can) and masked to its first six and last four digits, else
// "sealed"; every text masked.
func shown(ctx context.Context, cards ledger.Cards, r ledger.Record) ledger.Record {
	if r.To.Kind == payout.Card && strings.HasPrefix(r.To.Account, "enc:") {
		acct := "sealed"
		if cards != nil {
			if pan, err := cards.Open(ctx, r.Ref, r.To.Account); err == nil {
				acct = payments.MaskPAN(pan)
			}
		}
		r.To.Account = acct
	}
	r.To.Account = payments.MaskPAN(r.To.Account)
	r.Code, r.Message, r.LastError = payments.MaskPAN(r.Code), payments.MaskPAN(r.Message), payments.MaskPAN(r.LastError)
	return r
}

// age is how long ago t was, to the second; "-" for the zero time.
func age(now, t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return now.Sub(t).Round(time.Second).String()
}

func (a *app) ledgerLsCommand() *cobra.Command {
	var q ledgerQuery
	limit := 100
	c := &cobra.Command{
		Use:   "ls",
		Short: "List the ledger's records (ref order), filtered",
		Long: `List the ledger's records in ref order: ref, provider, status, amount,
destination (card numbers masked), the provider's latest code, age (since
the record was made) and the last update. At most --limit records; when
there are more, a last line says so and gives the --after cursor for the
next page. With --json: an array of records.

Times (--since, --until, --older-than) are the records' creation times.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			now := time.Now()
			if err := q.parse(now); err != nil {
				return err
			}
			if limit < 1 {
				return usageError("--limit %d: want at least 1", limit)
			}
			st, cards, err := a.openLedger(ctx)
			if err != nil {
				return err
			}
			defer st.Close()
			recs := []ledger.Record{}
			more := false
			err = q.scan(ctx, st, func(r ledger.Record) (bool, error) {
				if len(recs) == limit {
					more = true
					return false, nil
				}
				recs = append(recs, shown(ctx, cards, r))
				return true, nil
			})
			if err != nil {
				return err
			}
			if err := a.emit(recs, func(w io.Writer) {
				row(w, "REF", "PROVIDER", "STATUS", "AMOUNT", "DESTINATION", "CODE", "AGE", "UPDATED")
				for _, r := range recs {
					row(w, r.Ref, r.Provider, string(r.Status), r.Amount, r.To.String(), r.Code, age(now, r.CreatedAt), r.UpdatedAt)
				}
			}); err != nil {
				return err
			}
			switch {
			case more:
				a.say("more records: the next page with --after %s", recs[len(recs)-1].Ref)
			case len(recs) == 0 && !a.jsonOut:
				a.say("no records")
			}
			return nil
		},
	}
	q.flags(c)
	c.Flags().IntVar(&limit, "limit", limit, "list at most `N` records")
	return c
}

// stepView is a timeline step as show prints it.
type stepView struct {
	At        time.Time     `json:"at"`
	Status    ledger.Status `json:"status"`
	Provider  string        `json:"provider,omitempty"`
	Code      string        `json:"code,omitempty"`
	Message   string        `json:"message,omitempty"`
	LastError string        `json:"last_error,omitempty"`
	Sends     int           `json:"sends"`
	Polls     int           `json:"polls"`
}

// timeline is r's steps: the store's history when it keeps one
// (ledger.HistoryStore), else what the record's own timestamps say (its
// latest code and text at the last one).
func timeline(ctx context.Context, st ledger.Store, r ledger.Record) ([]stepView, bool, error) {
	if hs, ok := st.(ledger.HistoryStore); ok {
		steps, err := hs.History(ctx, r.Ref)
		if err != nil {
			return nil, true, err
		}
		out := make([]stepView, len(steps))
		for i, s := range steps {
			out[i] = stepView{At: s.At, Status: s.Status, Provider: s.Provider, Code: payments.MaskPAN(s.Code),
				Message: payments.MaskPAN(s.Message), LastError: payments.MaskPAN(s.LastError), Sends: s.Sends, Polls: s.Polls}
		}
		return out, true, nil
	}
	var out []stepView
	add := func(t time.Time, s ledger.Status, text string) {
		if !t.IsZero() {
			out = append(out, stepView{At: t, Status: s, Provider: r.Provider, Message: text})
		}
	}
	add(r.CreatedAt, ledger.Recorded, "recorded")
	add(r.SentAt, ledger.InFlight, "first send")
	add(r.AcceptedAt, ledger.Pending, "the provider has the payout")
	add(r.FinalAt, r.Status, "final")
	if n := len(out); n > 0 && !r.Status.Final() && r.UpdatedAt.After(out[n-1].At) {
		add(r.UpdatedAt, r.Status, "latest")
	}
	if len(out) > 0 {
		last := &out[len(out)-1]
		last.Code, last.LastError = r.Code, r.LastError
		if r.Message != "" {
			last.Message = r.Message
		}
		last.Sends, last.Polls = r.Sends, r.Polls
	}
	return out, false, nil
}

func (a *app) ledgerShowCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "show REF",
		Short: "Show one record and its timeline (exit 5 when the ledger has no such ref)",
		Long: `Show one record of the ledger and its timeline: each step with its time, the
provider's code and text. A store that keeps a history (ledger.HistoryStore)
gives every step; else the timeline is the record's own timestamps (made,
first sent, accepted, final) with its latest code and text.
Exit status 5 when the ledger has no record REF.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			st, cards, err := a.openLedger(ctx)
			if err != nil {
				return err
			}
			defer st.Close()
			r, err := st.Get(ctx, args[0])
			if err != nil {
				if errors.Is(err, payments.ErrNotFound) {
					return withCode(ExitNotFound, fmt.Errorf("the ledger has no record %s", args[0]))
				}
				return err
			}
			r = shown(ctx, cards, r)
			steps, full, err := timeline(ctx, st, r)
			if err != nil {
				return err
			}
			v := struct {
				Record   ledger.Record `json:"record"`
				Timeline []stepView    `json:"timeline"`
				History  bool          `json:"history"` // the store's history, not the record's timestamps
			}{r, steps, full}
			return a.emit(v, func(w io.Writer) {
				row(w, "ref", r.Ref)
				row(w, "provider", r.Provider)
				row(w, "status", string(r.Status))
				row(w, "amount", r.Amount)
				row(w, "destination", r.To.String())
				row(w, "provider id", r.ProviderID)
				row(w, "code", r.Code)
				row(w, "message", r.Message)
				row(w, "last error", r.LastError)
				row(w, "sends", r.Sends)
				row(w, "polls", r.Polls)
				row(w, "reported", r.Reported)
				row(w, "created", r.CreatedAt)
				row(w, "updated", r.UpdatedAt)
				row(w, "next", r.NextAt)
				fmt.Fprintln(w)
				title := "TIMELINE (the record's timestamps; the store keeps no history)"
				if full {
					title = "TIMELINE"
				}
				row(w, title)
				row(w, "TIME", "STATUS", "PROVIDER", "CODE", "TEXT", "SENDS", "POLLS")
				for _, s := range steps {
					text := s.Message
					if s.LastError != "" {
						text = strings.TrimSpace(text + " (error: " + s.LastError + ")")
					}
					row(w, s.At, string(s.Status), s.Provider, s.Code, text, s.Sends, s.Polls)
				}
			})
		},
	}
}

// statsView is what stats prints.
type statsView struct {
	// Total counts every record of the ledger by status.
	Total map[ledger.Status]int `json:"total"`
	// Queue is the work queue by provider and status.
	Queue []ledger.Stat `json:"queue"`
	// OldestOpen is the oldest record not final yet, if any.
	OldestOpen *oldestView `json:"oldest_open"`
}

type oldestView struct {
	Ref        string        `json:"ref"`
	Provider   string        `json:"provider"`
	Status     ledger.Status `json:"status"`
	CreatedAt  time.Time     `json:"created_at"`
	AgeSeconds int64         `json:"age_seconds"`
}

func (a *app) ledgerStatsCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "stats",
		Short: "Count the records by status, the work queue by provider, and the oldest unfinished record",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			st, _, err := a.openLedger(ctx)
			if err != nil {
				return err
			}
			defer st.Close()
			now := time.Now()
			v, err := ledgerStats(ctx, st, now)
			if err != nil {
				return err
			}
			return a.emit(v, func(w io.Writer) {
				row(w, "STATUS", "RECORDS")
				for _, s := range ledger.Statuses {
					row(w, string(s), v.Total[s])
				}
				fmt.Fprintln(w)
				row(w, "PROVIDER", "STATUS", "IN QUEUE", "OLDEST AGE")
				for _, q := range v.Queue {
					row(w, q.Provider, string(q.Status), q.Count, age(now, q.Oldest))
				}
				fmt.Fprintln(w)
				if o := v.OldestOpen; o != nil {
					row(w, "oldest unfinished:", o.Ref, o.Provider, string(o.Status), "created "+cell(o.CreatedAt), age(now, o.CreatedAt)+" ago")
				} else {
					row(w, "oldest unfinished:", "none")
				}
			})
		},
	}
}

// openStatuses are the statuses that are not final.
var openStatuses = []ledger.Status{ledger.Recorded, ledger.InFlight, ledger.Pending}

// ledgerStats counts the ledger: totals by Store.Count, the queue by
// StatsStore.Stats when the store has it (else from a scan of the queue),
// the oldest unfinished record from a scan of the unfinished ones.
func ledgerStats(ctx context.Context, st ledger.Store, now time.Time) (statsView, error) {
	total, err := st.Count(ctx)
	if err != nil {
		return statsView{}, err
	}
	if total == nil {
		total = map[ledger.Status]int{}
	}
	v := statsView{Total: total, Queue: []ledger.Stat{}}
	ss, hasStats := st.(ledger.StatsStore)
	if hasStats {
		if v.Queue, err = ss.Stats(ctx); err != nil {
			return statsView{}, err
		}
	} else {
		byKey := map[[2]string]*ledger.Stat{}
		q := ledgerQuery{filter: ledger.Filter{Open: true}}
		err := q.scan(ctx, st, func(r ledger.Record) (bool, error) {
			k := [2]string{r.Provider, string(r.Status)}
			s := byKey[k]
			if s == nil {
				s = &ledger.Stat{Provider: r.Provider, Status: r.Status}
				byKey[k] = s
			}
			s.Count++
			if s.Oldest.IsZero() || r.CreatedAt.Before(s.Oldest) {
				s.Oldest = r.CreatedAt
			}
			return true, nil
		})
		if err != nil {
			return statsView{}, err
		}
		for _, s := range byKey {
			v.Queue = append(v.Queue, *s)
		}
		slices.SortFunc(v.Queue, func(a, b ledger.Stat) int {
			if c := strings.Compare(a.Provider, b.Provider); c != 0 {
				return c
			}
			return slices.Index(ledger.Statuses, a.Status) - slices.Index(ledger.Statuses, b.Status)
		})
	}
	if total[ledger.Recorded]+total[ledger.InFlight]+total[ledger.Pending] == 0 {
		return v, nil
	}
	q := ledgerQuery{filter: ledger.Filter{Status: openStatuses}}
	var oldest *ledger.Record
	err = q.scan(ctx, st, func(r ledger.Record) (bool, error) {
		if oldest == nil || r.CreatedAt.Before(oldest.CreatedAt) {
			r := r
			oldest = &r
		}
		return true, nil
	})
	if err != nil {
		return statsView{}, err
	}
	if oldest != nil {
		v.OldestOpen = &oldestView{Ref: oldest.Ref, Provider: oldest.Provider, Status: oldest.Status,
			CreatedAt: oldest.CreatedAt, AgeSeconds: int64(now.Sub(oldest.CreatedAt) / time.Second)}
	}
	return v, nil
}

// exportHeader is the header of export's CSV.
var exportHeader = []string{"ref", "provider", "status", "amount", "currency", "kind", "account", "bank", "provider_id",
	"code", "message", "last_error", "sends", "polls", "reported", "created_at", "sent_at", "accepted_at", "final_at", "updated_at"}

func (a *app) ledgerExportCommand() *cobra.Command {
	var q ledgerQuery
	format := "csv"
	c := &cobra.Command{
		Use:   "export",
		Short: "Write every record the filters select, as CSV or JSON (card numbers masked)",
		Long: `Write every record the filters select (the filters of ls, without a limit),
in ref order, read from the store a page at a time:

  --format csv   a header line, then one record a line (the default)
  --format json  one JSON array of records, as ls --json prints them
                 (--json means --format json)

Card numbers are masked (first six and last four digits), or "sealed"
without PAYOUTS_CARD_KEYS. Times are RFC 3339 in UTC, empty when the step has
not happened.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if a.jsonOut && !cmd.Flags().Changed("format") {
				format = "json"
			}
			if format != "csv" && format != "json" {
				return usageError("--format %q: want csv or json", format)
			}
			if err := q.parse(time.Now()); err != nil {
				return err
			}
			st, cards, err := a.openLedger(ctx)
			if err != nil {
				return err
			}
			defer st.Close()
			if format == "json" {
				return a.exportJSON(ctx, st, cards, &q)
			}
			return a.exportCSV(ctx, st, cards, &q)
		},
	}
	q.flags(c)
	c.Flags().StringVar(&format, "format", format, "`csv` or json")
	return c
}

func (a *app) exportCSV(ctx context.Context, st ledger.Store, cards ledger.Cards, q *ledgerQuery) error {
	w := csv.NewWriter(a.out)
	if err := w.Write(exportHeader); err != nil {
		return err
	}
	ts := func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format(time.RFC3339Nano)
	}
	err := q.scan(ctx, st, func(r ledger.Record) (bool, error) {
		r = shown(ctx, cards, r)
		err := w.Write([]string{r.Ref, r.Provider, string(r.Status), r.Amount.Amount.String(), r.Amount.Currency,
			string(r.To.Kind), r.To.Account, r.To.Bank, r.ProviderID, r.Code, r.Message, r.LastError,
			strconv.Itoa(r.Sends), strconv.Itoa(r.Polls), strconv.FormatBool(r.Reported),
			ts(r.CreatedAt), ts(r.SentAt), ts(r.AcceptedAt), ts(r.FinalAt), ts(r.UpdatedAt)})
		w.Flush()
		return err == nil, err
	})
	w.Flush()
	if err != nil {
		return err
	}
	return w.Error()
}

func (a *app) exportJSON(ctx context.Context, st ledger.Store, cards ledger.Cards, q *ledgerQuery) error {
	if _, err := io.WriteString(a.out, "["); err != nil {
		return err
	}
	n := 0
	err := q.scan(ctx, st, func(r ledger.Record) (bool, error) {
		b, err := json.Marshal(shown(ctx, cards, r))
		if err != nil {
			return false, err
		}
		sep := ",\n  "
		if n == 0 {
			sep = "\n  "
		}
		n++
		_, err = io.WriteString(a.out, sep+string(b))
		return err == nil, err
	})
	if err != nil {
		return err
	}
	end := "\n]\n"
	if n == 0 {
		end = "]\n"
	}
	_, err = io.WriteString(a.out, end)
	return err
}
