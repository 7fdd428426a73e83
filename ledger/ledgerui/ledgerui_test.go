package ledgerui_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/paysdk/payments/ledger"
	"github.com/paysdk/payments/ledger/ledgerui"
)

func newHandler(t testing.TB, s ledger.Store, o ledgerui.Options) *ledgerui.Handler {
	t.Helper()
	if o.Now == nil {
		o.Now = func() time.Time { return t0 }
	}
	h, err := ledgerui.New(s, o)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// do serves one request and returns the answer and its body.
func do(t testing.TB, h http.Handler, method, target string, hdr ...string) (*http.Response, string) {
	t.Helper()
	r := httptest.NewRequest(method, target, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Set(hdr[i], hdr[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	res := w.Result()
	b, _ := io.ReadAll(res.Body)
	return res, string(b)
}

func wantStatus(t *testing.T, res *http.Response, body string, code int) {
	t.Helper()
	if res.StatusCode != code {
		t.Fatalf("%s %s: status %d, want %d; body:\n%.2000s", res.Request.Method, res.Request.URL, res.StatusCode, code, body)
	}
}

const wantCSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

func TestOverviewCountsAndHeaders(t *testing.T) {
	h := newHandler(t, seeded(t), ledgerui.Options{Cards: cards(t)})
	res, body := do(t, h, "GET", "/")
	wantStatus(t, res, body, 200)
	for k, v := range map[string]string{
		"Content-Security-Policy": wantCSP, "X-Content-Type-Options": "nosniff",
		"Referrer-Policy": "no-referrer", "Cache-Control": "no-store", "Content-Type": "text/html; charset=utf-8",
	} {
		if got := res.Header.Get(k); got != v {
			t.Errorf("%s: %q, want %q", k, got, v)
		}
	}
	for status, n := range map[string]string{"recorded": "1", "in_flight": "1", "pending": "2", "succeeded": "30", "failed": "10", "total": "44"} {
		if !strings.Contains(body, `data-status="`+status+`">`+n+`<`) {
			t.Errorf("total of %s is not %s:\n%s", status, n, between(body, `id="total"`, "</tr>"))
		}
	}
	// per provider: popolni has 1 recorded, 1 pending, 30 succeeded
	if !regexp.MustCompile(`<tr><td>popolni</td><td class="num">1</td><td class="num">0</td><td class="num">1</td><td class="num">30</td><td class="num">0</td><td class="num">32</td>`).MatchString(body) {
		t.Errorf("popolni's row is wrong:\n%s", between(body, "<tbody>", "</tbody>"))
	}
	// unfinished, oldest first, with age and the provider's answer
	i1, i2, i3 := strings.Index(body, `href="payout/old-1"`), strings.Index(body, `href="payout/old-2"`), strings.Index(body, `href="payout/card-1"`)
	if i1 < 0 || i2 < i1 || i3 < i2 {
		t.Errorf("unfinished not oldest first: %d %d %d", i1, i2, i3)
	}
	for _, want := range []string{"3h00m", "<code>7</code> card 411111******1111 accepted", "queries: 4 in", `src="./assets/app.js"`, `data-refresh="5000"`} {
		if !strings.Contains(body, want) {
			t.Errorf("no %q in the overview", want)
		}
	}
	if strings.Contains(body, `href="payout/fin-`) {
		t.Error("a final payout is listed as unfinished")
	}
	// chart: bars and a legend by provider and outcome
	if n := strings.Count(body, "<rect x="); n < 40 {
		t.Errorf("%d bars, want one per final at least (40 finals in distinct minutes or stacked)", n)
	}
	for _, want := range []string{"popolni succeeded: 30", "qiwi failed: 10", "(40)"} {
		if !strings.Contains(body, want) {
			t.Errorf("chart: no %q", want)
		}
	}
	// notifications, newest first
	if i, j := strings.Index(body, "rp-3"), strings.Index(body, "pk-1"); i < 0 || j < i {
		t.Errorf("notifications not newest first: rp-3 at %d, pk-1 at %d", i, j)
	}
}

func between(s, from, to string) string {
	i := strings.Index(s, from)
	if i < 0 {
		return ""
	}
	j := strings.Index(s[i:], to)
	if j < 0 {
		return s[i:]
	}
	return s[i : i+j]
}

func TestReadOnlyMethods(t *testing.T) {
	h := newHandler(t, seeded(t), ledgerui.Options{})
	for _, m := range []string{"POST", "PUT", "PATCH", "DELETE", "OPTIONS"} {
		for _, p := range []string{"/", "/payout/old-1", "/search?ref=old-1"} {
			res, body := do(t, h, m, p)
			wantStatus(t, res, body, 405)
			if res.Header.Get("Allow") != "GET, HEAD" || res.Header.Get("Content-Security-Policy") != wantCSP {
				t.Errorf("%s %s: headers %v", m, p, res.Header)
			}
		}
	}
	res, body := do(t, h, "HEAD", "/")
	wantStatus(t, res, body, 200)
	res, body = do(t, h, "GET", "/nothing/here")
	wantStatus(t, res, body, 404)
	// no form posts, no button but the search's
	_, body = do(t, h, "GET", "/")
	if strings.Contains(strings.ToLower(body), `method="post"`) || strings.Count(body, "<button") != 1 || strings.Count(body, "<form") != 1 {
		t.Error("the page has a form that posts, or a button other than the search's")
	}
}

func TestToken(t *testing.T) {
	h := newHandler(t, seeded(t), ledgerui.Options{Token: token})
	mux := http.NewServeMux()
	mux.Handle("/admin/ledger/", http.StripPrefix("/admin/ledger", h))

	for _, hdr := range [][]string{nil, {"Authorization", "Bearer wrong-token-0123456789"}, {"Authorization", "Basic " + token},
		{"Cookie", "ledgerui=" + token}, {"Cookie", "ledgerui=00"}} {
		res, body := do(t, mux, "GET", "/admin/ledger/", hdr...)
		wantStatus(t, res, body, 401)
		if strings.Contains(body, token) {
			t.Fatal("the 401 shows the token")
		}
	}
	res, body := do(t, mux, "GET", "/admin/ledger/?token=wrong-token-0123456789")
	wantStatus(t, res, body, 401)
	res, body = do(t, mux, "GET", "/admin/ledger/", "Authorization", "Bearer "+token)
	wantStatus(t, res, body, 200)
	res, body = do(t, mux, "GET", "/admin/ledger/payout/old-1", "Authorization", "bearer "+token)
	wantStatus(t, res, body, 200)

	res, body = do(t, mux, "GET", "/admin/ledger/search?ref=old-1", "Authorization", "Bearer "+token)
	wantStatus(t, res, body, 303)
	if loc := res.Header.Get("Location"); loc != "/admin/ledger/payout/old-1" {
		t.Errorf("search under a prefix: Location %q", loc)
	}

	// ?token= once: a cookie, and a redirect to the page without the token
	res, body = do(t, mux, "GET", "/admin/ledger/payout/old-1?token="+token+"&fragment=1")
	wantStatus(t, res, body, 303)
	if loc := res.Header.Get("Location"); loc != "/admin/ledger/payout/old-1?fragment=1" {
		t.Errorf("Location %q", loc)
	}
	cs := res.Cookies()
	if len(cs) != 1 || !cs[0].HttpOnly || cs[0].SameSite != http.SameSiteStrictMode || cs[0].Path != "/admin/ledger/" {
		t.Fatalf("cookie %+v", cs)
	}
	if strings.Contains(cs[0].Value, token) {
		t.Error("the cookie holds the token itself")
	}
	res, body = do(t, mux, "GET", "/admin/ledger/", "Cookie", cs[0].Name+"="+cs[0].Value)
	wantStatus(t, res, body, 200)
	if strings.Contains(body, token) {
		t.Error("the page shows the token")
	}

	if _, err := ledgerui.New(seeded(t), ledgerui.Options{Token: "short"}); err == nil {
		t.Error("a 5-character token is taken")
	}
}

func TestMountedUnderPrefix(t *testing.T) {
	h := newHandler(t, seeded(t), ledgerui.Options{Prefix: "/ops/ledger"})
	res, body := do(t, h, "GET", "/ops/ledger")
	wantStatus(t, res, body, 303)
	if loc := res.Header.Get("Location"); loc != "/ops/ledger/" {
		t.Errorf("Location %q", loc)
	}
	res, body = do(t, h, "GET", "/ops/ledger/payout/old-1")
	wantStatus(t, res, body, 200)
	if !strings.Contains(body, `href="../assets/app.css"`) || !strings.Contains(body, `action="../search"`) {
		t.Error("a payout page's links are not relative to the mount")
	}
	res, body = do(t, h, "GET", "/ops/ledger/assets/app.js")
	wantStatus(t, res, body, 200)
	if res.Header.Get("Content-Type") != "text/javascript; charset=utf-8" || !strings.Contains(body, "fragment") {
		t.Errorf("app.js: %v", res.Header)
	}
	res, body = do(t, h, "GET", "/other/")
	wantStatus(t, res, body, 404)
	res, body = do(t, h, "GET", "/ops/ledgerX/")
	wantStatus(t, res, body, 404)
}

func TestUnfinishedPagination(t *testing.T) {
	h := newHandler(t, seeded(t), ledgerui.Options{PageSize: 2})
	_, body := do(t, h, "GET", "/")
	refs := func(body string) []string {
		var out []string
		for _, m := range regexp.MustCompile(`<a class="ref" href="payout/([^"]+)"`).FindAllStringSubmatch(between(body, `id="unfinished"`, "</section>"), -1) {
			out = append(out, m[1])
		}
		return out
	}
	if got := refs(body); strings.Join(got, ",") != "old-1,old-2" {
		t.Fatalf("first page %v", got)
	}
	next := regexp.MustCompile(`<a class="next" href="([^"]+)">next page`).FindStringSubmatch(body)
	if next == nil {
		t.Fatal("no next page link")
	}
	u := strings.ReplaceAll(next[1], "&amp;", "&")
	if !strings.Contains(u, "after=") {
		t.Fatalf("next link %q has no cursor", u)
	}
	res, body := do(t, h, "GET", "/"+strings.TrimPrefix(u, "./"))
	wantStatus(t, res, body, 200)
	if got := refs(body); strings.Join(got, ",") != "card-1,xss-1" {
		t.Fatalf("second page %v", got)
	}
	if strings.Contains(body, ">next page<") || !strings.Contains(body, ">first page<") {
		t.Error("the last page links a next page, or no first page")
	}
	res, body = do(t, h, "GET", "/?after=garbage")
	wantStatus(t, res, body, 400)

	// notifications, one per page, by time
	h = newHandler(t, seeded(t), ledgerui.Options{PageSize: 1})
	_, body = do(t, h, "GET", "/")
	if !strings.Contains(body, "rp-3") || strings.Contains(body, "rp-2") {
		t.Fatal("first page of notifications is not the newest alone")
	}
	older := regexp.MustCompile(`<a class="next" href="([^"]+)">older`).FindStringSubmatch(body)
	if older == nil {
		t.Fatal("no older link")
	}
	_, body = do(t, h, "GET", "/"+strings.TrimPrefix(strings.ReplaceAll(older[1], "&amp;", "&"), "./"))
	if !strings.Contains(body, "rp-2") || strings.Contains(body, "rp-3") {
		t.Fatal("second page of notifications is not the second newest alone")
	}
}

func TestSearch(t *testing.T) {
	h := newHandler(t, seeded(t), ledgerui.Options{})
	res, body := do(t, h, "GET", "/search?ref=card-1")
	wantStatus(t, res, body, 303)
	if loc := res.Header.Get("Location"); loc != "/payout/card-1" {
		t.Errorf("Location %q", loc)
	}
	res, body = do(t, h, "GET", "/search?ref=no-such-ref")
	wantStatus(t, res, body, 404)
	if !strings.Contains(body, "Not found") || !strings.Contains(body, "<code>no-such-ref</code>") {
		t.Error("no 'not found' for a missing ref")
	}
	res, body = do(t, h, "GET", "/search?ref=old")
	wantStatus(t, res, body, 404) // exact refs only
	res, body = do(t, h, "GET", "/search?ref=")
	wantStatus(t, res, body, 303)
	res, body = do(t, h, "GET", "/payout/no-such-ref")
	wantStatus(t, res, body, 404)
}

func TestTimeline(t *testing.T) {
	s := seeded(t)
	ctx := context.Background()
	recs, err := s.Claim(ctx, "test", t0, time.Minute, 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		if r.Ref == "old-1" {
			r.Status, r.Sends, r.Code, r.Message = ledger.Pending, 1, "P1", "queued "+pan
			if _, err := s.Save(ctx, "test", t0.Add(time.Second), time.Minute, []ledger.Record{r}); err != nil {
				t.Fatal(err)
			}
			r.Status, r.Code, r.Message, r.FinalAt = ledger.Succeeded, "S0", "paid", t0.Add(2*time.Second)
			if _, err := s.Save(ctx, "test", t0.Add(2*time.Second), 0, []ledger.Record{r}); err != nil {
				t.Fatal(err)
			}
		}
	}
	h := newHandler(t, s, ledgerui.Options{})
	res, body := do(t, h, "GET", "/payout/old-1")
	wantStatus(t, res, body, 200)
	tl := between(body, `<ol class="timeline">`, "</ol>")
	for _, want := range []string{"#1", "2026-12-07 09:00:00Z", "#2", "<code>P1</code> queued 411111******1111", "#3", "2026-12-07 12:00:02Z", "<code>S0</code> paid", "sends 1, polls 0"} {
		if !strings.Contains(tl, want) {
			t.Errorf("timeline: no %q in\n%s", want, tl)
		}
	}
	if strings.Index(tl, "#1") > strings.Index(tl, "#3") {
		t.Error("timeline not oldest first")
	}
	if !strings.Contains(body, "queries: 2 in") {
		t.Error("the record page does not say its queries")
	}
	// a ref that needs escaping in a path
	res, body = do(t, h, "GET", "/payout/"+url.PathEscape("a b"))
	wantStatus(t, res, body, 404)
	if !strings.Contains(body, "<code>a b</code>") {
		t.Error("escaped ref not unescaped")
	}
}

func TestFragment(t *testing.T) {
	h := newHandler(t, seeded(t), ledgerui.Options{Refresh: 1500 * time.Millisecond})
	_, full := do(t, h, "GET", "/")
	res, frag := do(t, h, "GET", "/?fragment=1")
	wantStatus(t, res, frag, 200)
	if strings.Contains(frag, "<html") || strings.Contains(frag, "<main") || strings.Contains(frag, "<form") {
		t.Error("the fragment is a whole page")
	}
	if !strings.Contains(frag, `data-status="total">44<`) || !strings.Contains(frag, "queries: 4 in") {
		t.Error("the fragment lacks the counts or the query time")
	}
	if !strings.Contains(full, `data-refresh="1500"`) || !strings.Contains(full, `<main id="live">`) {
		t.Error("the page does not carry its refresh period")
	}
	if res.Header.Get("Cache-Control") != "no-store" {
		t.Error("fragment cached")
	}
}

// storeOnly hides every optional interface of a store.
type storeOnly struct{ ledger.Store }

func TestStoreWithoutBrowse(t *testing.T) {
	h := newHandler(t, storeOnly{seeded(t)}, ledgerui.Options{})
	res, body := do(t, h, "GET", "/")
	wantStatus(t, res, body, 200)
	if !strings.Contains(body, "need a store that implements ledger.BrowseStore") || !strings.Contains(body, "queries: 1 in") {
		t.Error("no note about BrowseStore, or more than the one Count query")
	}
	if !strings.Contains(body, `<td class="num">30</td><td class="num">10</td><td class="num">44</td>`) {
		t.Errorf("counts by status missing:\n%s", between(body, "<tbody>", "</tbody>"))
	}
	res, body = do(t, h, "GET", "/payout/old-1")
	wantStatus(t, res, body, 200)
	if !strings.Contains(body, "keeps no history") {
		t.Error("no note about history")
	}
}

func TestNewChecksOptions(t *testing.T) {
	s := seeded(t)
	for _, o := range []ledgerui.Options{{PageSize: -1}, {PageSize: 501}, {Refresh: -1}, {Refresh: time.Millisecond}, {ChartWindow: 25 * time.Hour},
		{Prefix: "ops"}, {Prefix: "/ops/"}, {Token: "has a space in it ok"}} {
		if _, err := ledgerui.New(s, o); err == nil {
			t.Errorf("%+v taken", o)
		}
	}
	if _, err := ledgerui.New(nil, ledgerui.Options{}); err == nil {
		t.Error("nil store taken")
	}
}
