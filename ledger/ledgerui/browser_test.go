package ledgerui_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/paysdk/payments/ledger"
	"github.com/paysdk/payments/ledger/ledgerui"
	"github.com/paysdk/payments/payout"
)

// chromium finds Debian's Chromium; without it the browser test skips with
// one loud line, and fails under CI=true.
func chromium(t *testing.T) string {
	t.Helper()
	for _, p := range []string{"/usr/bin/chromium", "chromium", "chromium-browser"} {
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("ledgerui: no Chromium (/usr/bin/chromium): the browser test cannot run under CI=true; apt-get install -y chromium")
	}
	t.Skip("!!! ledgerui: BROWSER TEST SKIPPED: no Chromium at /usr/bin/chromium (apt-get install -y chromium) !!!")
	return ""
}

// TestBrowser drives Chromium over the page mounted under a prefix with a
// token: the counts in the DOM, a click to a record, a search, no full card
// number in any DOM, an auto-refresh that shows a payout finalised after the
// page loaded, and a full-page screenshot.
func TestBrowser(t *testing.T) {
	exe := chromium(t)
	start := time.Now()
	s := seeded(t)
	h := newHandler(t, s, ledgerui.Options{Token: token, Cards: cards(t), Refresh: 300 * time.Millisecond})
	mux := http.NewServeMux()
	mux.Handle("/ops/ledger/", http.StripPrefix("/ops/ledger", h))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(exe), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1280, 900))
	defer cancelAlloc()
	bctx, cancelBrowser := chromedp.NewContext(actx)
	defer cancelBrowser()

	text := func(sel string) string {
		t.Helper()
		// read in one evaluation: the refresh swaps the nodes every 300 ms
		q, _ := json.Marshal(sel)
		v, err := chromedp.Run(bctx, chromedp.Evaluate[string](`(function(){var n=document.querySelector(`+string(q)+`);return n?n.textContent:"<none>";})()`))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return strings.TrimSpace(v)
	}
	noCardNumber := func(where string) {
		t.Helper()
		html, err := chromedp.Run(bctx, chromedp.Evaluate[string](`document.documentElement.outerHTML`))
		if err != nil {
			t.Fatal(err)
		}
		for _, bad := range []string{pan, "4111 1111", "<script>alert", "<img src=x"} {
			if strings.Contains(html, bad) {
				t.Errorf("%s: %q in the DOM", where, bad)
			}
		}
	}
	do := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(bctx, steps...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}

	// wait evaluates a predicate in the page until it holds; an error (a
	// page navigating away) is one more try
	wait := func(what, pred string) {
		t.Helper()
		deadline := time.Now().Add(60 * time.Second)
		for {
			ok, err := chromedp.Run(bctx, chromedp.Evaluate[bool](pred))
			if err == nil && ok {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: not after 60 s (%v)", what, err)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}

	// ?token= once: the cookie carries the rest, the page's own fetches too.
	do("open", chromedp.Navigate(srv.URL+"/ops/ledger/?token="+token), chromedp.WaitVisible(chromedp.CSS("#total")))
	loc, _ := chromedp.Run(bctx, chromedp.Location())
	if strings.Contains(loc, "token") {
		t.Errorf("the token stayed in the address: %s", loc)
	}
	for status, n := range map[string]string{"recorded": "1", "in_flight": "1", "pending": "2", "succeeded": "30", "failed": "10", "total": "44"} {
		if got := text(`#total td[data-status="` + status + `"]`); got != n {
			t.Errorf("%s: %q in the DOM, want %s", status, got, n)
		}
	}
	noCardNumber("overview")

	// a payout finalised after the page loaded shows up without a reload
	sealed, err := cards(t).Seal(ctx, "fresh-1", pan)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Insert(ctx, t0.Add(-2*time.Minute), []ledger.Record{{Ref: "fresh-1", Provider: "qiwi", Amount: money(t, "99.00"),
		To: payout.Destination{Kind: payout.Card, Account: sealed}, Status: ledger.Succeeded, Code: "0",
		Message: "paid to " + pan, FinalAt: t0.Add(-30 * time.Second)}}, nil); err != nil {
		t.Fatal(err)
	}
	wait("the page refreshing itself to show the new final payout", `document.querySelector('#total td[data-status="succeeded"]').textContent === "31"`)
	if !strings.Contains(text("#chart"), "qiwi succeeded: 1") {
		t.Error("the chart's legend did not refresh")
	}
	noCardNumber("overview refreshed")
	shot, err := chromedp.Run(bctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	saveScreenshot(t, shot)

	// open a record: click (again if the refresh swapped the link under the
	// click)
	for i := 0; ; i++ {
		err := chromedp.Do(bctx, chromedp.Click(chromedp.CSS(`a.ref[href="payout/card-1"]`)))
		if err == nil {
			break
		}
		if i == 50 {
			t.Fatalf("click card-1: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	wait("the record page of card-1", `location.pathname === "/ops/ledger/payout/card-1" && document.querySelector("dd.to") !== null`)
	if got := text("dd.to"); got != "card:411111******1111" {
		t.Errorf("destination %q", got)
	}
	if tl := text("ol.timeline"); !strings.Contains(tl, "#1") || !strings.Contains(tl, "pending") {
		t.Errorf("timeline %q", tl)
	}
	noCardNumber("record")

	// search a reference, then one that is not there (the search form is
	// outside the refreshed part)
	do("search old-2", chromedp.SendKeys(chromedp.CSS("#ref"), "old-2"), chromedp.Submit(chromedp.CSS("#ref")))
	wait("the record page of old-2", `location.pathname === "/ops/ledger/payout/old-2" && document.querySelector("#record h1") !== null`)
	if got := text("#record h1"); !strings.Contains(got, "old-2") || !strings.Contains(got, "in_flight") {
		t.Errorf("search landed on %q", got)
	}
	noCardNumber("search")
	do("search missing", chromedp.SendKeys(chromedp.CSS("#ref"), "no-such-ref"), chromedp.Submit(chromedp.CSS("#ref")))
	wait("not found", `location.pathname === "/ops/ledger/search" && document.querySelector("p.notfound") !== null`)
	if got := text("p.notfound"); !strings.Contains(got, "no-such-ref") {
		t.Errorf("not found says %q", got)
	}
	t.Logf("browser test: %v", time.Since(start).Round(time.Millisecond))
}

// saveScreenshot writes the PNG under testdata/artifacts (gitignored) and,
// with UPDATE_SCREENSHOT=1, to docs/ledgerui.png.
func saveScreenshot(t *testing.T, png []byte) {
	t.Helper()
	if len(png) < 8 || string(png[1:4]) != "PNG" {
		t.Fatalf("the screenshot is not a PNG (%d bytes)", len(png))
	}
	dir := filepath.Join("testdata", "artifacts")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "overview.png")
	if err := os.WriteFile(p, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s (%d bytes)", p, len(png))
	if os.Getenv("UPDATE_SCREENSHOT") == "1" {
		doc := filepath.Join("..", "..", "docs", "ledgerui.png")
		if err := os.WriteFile(doc, png, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("screenshot: %s updated", doc)
	}
}
