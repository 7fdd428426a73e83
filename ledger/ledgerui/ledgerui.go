// Package ledgerui serves a read-only web page of a payout ledger
// (ledger.Store): how many payouts are in each state at each provider, the
// unfinished ones oldest first with the provider's latest answer, a search by
// reference, one payout's timeline, the payouts finalised per minute as a
// chart, and the pay-in notifications recorded. The page refreshes itself
// (a small script fetches the page's fragment every Options.Refresh) and
// says how long its store queries took.
//
// It only reads: it answers GET and HEAD, has no form that posts and no
// button that moves money. Every list is paginated by key and every count
// comes from the store's indexed queries ([ledger.BrowseStore]): a page over
// a ledger of millions of records never scans it. A store without
// BrowseStore gets the counts by status (Store.Count) and a note saying the
// rest needs a BrowseStore.
//
// Card numbers are masked everywhere (first six and last four digits): in
// destinations, provider texts, errors and notifications. Assets are
// embedded (no CDN, no font), every value is escaped by html/template, and
// every answer carries a strict Content-Security-Policy.
//
// # Protecting it
//
// The page shows payouts: mount it where only operators reach it. Two ways:
//
//   - Options.Token: every request needs "Authorization: Bearer <token>", or
//     opens the page once as ?token=<token>, which sets an HttpOnly,
//     SameSite=Strict cookie (holding a digest of the token, not the token)
//     and redirects to the same page without the token in its address.
//     Tokens are compared in constant time; anything else gets 401.
//   - Your own authentication middleware in front of the Handler (session,
//     SSO, mTLS), with Options.Token left empty.
//
// The Handler works under any prefix: mount it with http.StripPrefix, or set
// Options.Prefix; its links are relative.
package ledgerui

import (
	"crypto/sha256"
	"crypto/subtle"
	"embed"
	"encoding/hex"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/ledger"
)

// Options configure a Handler. The zero value is usable.
type Options struct {
	// Token, when set, is required of every request (see the package
	// documentation). At least 16 characters, no spaces or control
	// characters.
	Token string
	// Cards, when set, opens sealed card numbers only to mask them (first
	// six and last four digits). Without it a sealed card number shows as
	// "sealed".
	Cards ledger.Cards
	// Refresh is how often the page fetches its content again; 5 s when 0,
	// at least 250 ms.
	Refresh time.Duration
	// PageSize is how many rows a list shows per page; 50 when 0, at most
	// 500.
	PageSize int
	// Now is the clock (ages, the chart's window); time.Now when nil.
	Now func() time.Time
	// ChartWindow is how far back the chart of payouts finalised per
	// minute goes; 3 h when 0, at most 24 h.
	ChartWindow time.Duration
	// Prefix, when set ("/admin/ledger"), is stripped from request paths
	// by the Handler itself; leave it empty under http.StripPrefix.
	Prefix string
}

// Handler is the page: an http.Handler to mount in the merchant's admin
// server. It is safe for concurrent use.
type Handler struct {
	store   ledger.Store
	browse  ledger.BrowseStore // nil: the store is no BrowseStore
	history ledger.HistoryStore
	opts    Options
	cookie  string // hex digest of the token the cookie holds; "" without a token
	tmpl    *template.Template
}

//go:embed assets
var assets embed.FS

const cookieName = "ledgerui"

// New returns the page of store. It errs (a *payments.ValidationError) on a
// nil store or an option out of its range.
func New(store ledger.Store, opts Options) (*Handler, error) {
	bad := func(field, reason string) error {
		return &payments.ValidationError{Field: "ledgerui." + field, Reason: reason}
	}
	switch {
	case store == nil:
		return nil, bad("store", "a ledger.Store is required")
	case opts.Refresh < 0 || opts.Refresh > 0 && opts.Refresh < 250*time.Millisecond:
		return nil, bad("Refresh", "0 (5 s), or 250 ms and more")
	case opts.PageSize < 0 || opts.PageSize > 500:
		return nil, bad("PageSize", "0 (50) to 500")
	case opts.ChartWindow < 0 || opts.ChartWindow > 24*time.Hour:
		return nil, bad("ChartWindow", "0 (3 h) to 24 h")
	case opts.Prefix != "" && (!strings.HasPrefix(opts.Prefix, "/") || strings.HasSuffix(opts.Prefix, "/")):
		return nil, bad("Prefix", `a path starting with "/" and not ending with one`)
	}
	if opts.Token != "" {
		if len(opts.Token) < 16 {
			return nil, bad("Token", "at least 16 characters")
		}
		for _, c := range opts.Token {
			if c <= ' ' || c == 0x7f {
				return nil, bad("Token", "no spaces or control characters")
			}
		}
	}
	if opts.Refresh == 0 {
		opts.Refresh = 5 * time.Second
	}
	if opts.PageSize == 0 {
		opts.PageSize = 50
	}
	if opts.ChartWindow == 0 {
		opts.ChartWindow = 3 * time.Hour
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	h := &Handler{store: store, opts: opts}
	h.browse, _ = store.(ledger.BrowseStore)
	h.history, _ = store.(ledger.HistoryStore)
	if opts.Token != "" {
		h.cookie = digest(opts.Token)
	}
	t, err := template.New("page.html").Funcs(template.FuncMap{"ms": ms}).ParseFS(assets, "assets/page.html")
	if err != nil {
		return nil, fmt.Errorf("ledgerui: templates: %w", err)
	}
	h.tmpl = t
	return h, nil
}

func digest(token string) string {
	s := sha256.Sum256([]byte("ledgerui cookie\x00" + token))
	return hex.EncodeToString(s[:])
}

// The Content-Security-Policy of every answer: no inline script or style,
// nothing from elsewhere.
const csp = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// ServeHTTP answers GET and HEAD: the overview at "/", a payout at
// "/payout/{ref}", a search at "/search?ref=", the assets under "/assets/".
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd.Set("Content-Security-Policy", csp)
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "no-referrer")
	hd.Set("X-Frame-Options", "DENY")
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		hd.Set("Allow", "GET, HEAD")
		h.plain(w, http.StatusMethodNotAllowed, "405: this page only reads (GET, HEAD)")
		return
	}
	p := r.URL.Path
	if h.opts.Prefix != "" {
		rest, ok := strings.CutPrefix(p, h.opts.Prefix)
		if !ok || (rest != "" && !strings.HasPrefix(rest, "/")) {
			h.plain(w, http.StatusNotFound, "404: not found")
			return
		}
		p = rest
	}
	mount := mountOf(r, p)
	if !h.authorized(w, r, mount, p) {
		return
	}
	switch {
	case p == "":
		http.Redirect(w, r, mount+"/", http.StatusSeeOther)
	case p == "/":
		h.overview(w, r)
	case p == "/search":
		h.search(w, r, mount)
	case p == "/assets/app.css" || p == "/assets/app.js":
		h.asset(w, p[len("/assets/"):])
	case strings.HasPrefix(p, "/payout/") && len(p) > len("/payout/") && !strings.Contains(p[len("/payout/"):], "/"):
		h.payout(w, r, p[len("/payout/"):])
	default:
		h.plain(w, http.StatusNotFound, "404: not found")
	}
}

// mountOf is the path the Handler is mounted at, as the client sees it: the
// request's own path without p (what is left once a prefix is stripped).
func mountOf(r *http.Request, p string) string {
	u, err := url.ParseRequestURI(r.RequestURI)
	if err != nil {
		return ""
	}
	if m, ok := strings.CutSuffix(u.Path, p); ok {
		return m
	}
	return ""
}

func (h *Handler) authorized(w http.ResponseWriter, r *http.Request, mount, p string) bool {
	if h.opts.Token == "" {
		return true
	}
	if auth := r.Header.Get("Authorization"); len(auth) > 7 && strings.EqualFold(auth[:7], "bearer ") {
		if h.match(digest(strings.TrimSpace(auth[7:]))) {
			return true
		}
	}
	if c, err := r.Cookie(cookieName); err == nil && h.match(c.Value) {
		return true
	}
	q := r.URL.Query()
	if q.Has("token") && h.match(digest(q.Get("token"))) {
		http.SetCookie(w, &http.Cookie{
			Name: cookieName, Value: h.cookie, Path: mount + "/",
			HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil,
		})
		q.Del("token")
		loc := mount + p
		if len(q) > 0 {
			loc += "?" + q.Encode()
		}
		http.Redirect(w, r, loc, http.StatusSeeOther)
		return false
	}
	w.Header().Set("WWW-Authenticate", `Bearer realm="ledger"`)
	h.plain(w, http.StatusUnauthorized, "401: this page needs its token (Authorization: Bearer, or ?token= once)")
	return false
}

// match compares a digest with the token's in constant time.
func (h *Handler) match(d string) bool {
	return subtle.ConstantTimeCompare([]byte(d), []byte(h.cookie)) == 1
}

func (h *Handler) plain(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	fmt.Fprintln(w, msg)
}

func (h *Handler) asset(w http.ResponseWriter, name string) {
	b, err := assets.ReadFile("assets/" + name)
	if err != nil {
		h.plain(w, http.StatusNotFound, "404: not found")
		return
	}
	ct := "text/css; charset=utf-8"
	if strings.HasSuffix(name, ".js") {
		ct = "text/javascript; charset=utf-8"
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Cache-Control", "private, max-age=300")
	w.Write(b)
}
