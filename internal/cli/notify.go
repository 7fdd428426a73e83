package cli

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/paykeeper"
	"github.com/paysdk/payments/royalpay"
)

// The variables notify verify reads (the drivers' names: paykeeperpayin,
// royalpaypayin, royalpaypayout).
const (
	envPayKeeperUser     = "PAYKEEPER_USER"
	envPayKeeperPassword = "PAYKEEPER_PASSWORD"
	envPayKeeperURL      = "PAYKEEPER_URL"
	envPayKeeperSecret   = "PAYKEEPER_SECRET"

	envRoyalPayToken         = "ROYALPAY_TOKEN"
	envRoyalPayURL           = "ROYALPAY_URL"
	envRoyalPayPayoutToken   = "ROYALPAY_PAYOUT_TOKEN"
	envRoyalPayPayoutURL     = "ROYALPAY_PAYOUT_URL"
	envRoyalPayCallbackToken = "ROYALPAY_CALLBACK_TOKEN"
)

// notifyMaxBody is the handlers' default body cap (paykeeper
// NotificationHandler, royalpay CallbackHandler and PayoutCallbackHandler:
// MaxBodyBytes 0 means 64 KiB): a body over it is what they answer 413.
const notifyMaxBody = 64 << 10

// notifyMaxFile caps the captured file: the body's cap and room for the
// request line and headers; a larger file is refused unread (exit 2).
const notifyMaxFile = 1 << 20

// notifyBodyShown caps the body as printed.
const notifyBodyShown = 4 << 10

// The results of a check.
const (
	checkOK      = "ok"
	checkFailed  = "failed"
	checkSkipped = "skipped"
	checkError   = "error" // could not be made (the API did not answer): exit 1
)

// notifyCheck is one line of the report.
type notifyCheck struct {
	Check  string `json:"check"`
	Result string `json:"result"`
	Detail string `json:"detail"`
}

// notifyReport is what notify verify prints (--json: this object).
type notifyReport struct {
	Provider string            `json:"provider"`
	Kind     string            `json:"kind"`
	OK       bool              `json:"ok"`
	Checks   []notifyCheck     `json:"checks"`
	Headers  map[string]string `json:"headers,omitempty"`
	Body     string            `json:"body"`

	code    int    // the exit status
	codeWhy string // why, for stderr, when not 0
}

// add appends a check; after a failure, later checks are skipped, as the
// handlers stop at their first refusal.
func (r *notifyReport) add(check, result, detail string) {
	r.Checks = append(r.Checks, notifyCheck{Check: check, Result: result, Detail: detail})
}

// failed reports whether a check failed or could not be made so far.
func (r *notifyReport) failed() string {
	for _, c := range r.Checks {
		if c.Result == checkFailed || c.Result == checkError {
			return c.Check
		}
	}
	return ""
}

// notifyCommand is "payments notify" and its verify subcommand.
func (a *app) notifyCommand() *cobra.Command {
	c := &cobra.Command{
		Use:   "notify",
		Short: "Check a provider's notification by hand (a captured request)",
	}
	c.AddCommand(a.notifyVerifyCommand())
	return c
}

func (a *app) notifyVerifyCommand() *cobra.Command {
	var bodyOnly, payout bool
	var headers []string
	c := &cobra.Command{
		Use:   "verify paykeeper|royalpay FILE",
		Short: "Run the SDK handlers' checks on a captured notification, and confirm it through the API",
		Long: `verify runs on a captured notification the checks the SDK's handlers run
(paykeeper.NotificationHandler; royalpay.CallbackHandler, or with --payout
royalpay.PayoutCallbackHandler) and prints each check's result: ok, failed,
skipped (with the reason), or error (could not be made). Nothing is sent to
the merchant's handler, and nothing that moves money is sent to the provider.

FILE is the raw HTTP request as captured: the request line, the headers, a
blank line and the body (httputil.DumpRequest, nc, a proxy's log). Without a
Content-Length header the body is the rest of the file, less one final line
break. With --body-only FILE is the body alone (less one final line break),
and --header 'Name: value' gives the headers that matter
(Content-Type, Authorization). "-" reads standard input. FILE is at most
1 MiB; a body over the handlers' 64 KiB fails the size check.

The checks, in the handlers' order; after a failed check the later ones are
skipped, as the handler stops there:

  paykeeper   request (POST, a form), size, form (id, sum, key: the fields'
              shape), signature (key = md5(id+sum+clientid+orderid+secret)
              with PAYKEEPER_SECRET), confirmation (GetPayment: the same id,
              sum and order id, money taken; PAYKEEPER_USER,
              PAYKEEPER_PASSWORD, PAYKEEPER_URL)
  royalpay    request (POST), authentication ("Authorization: Bearer" with
              ROYALPAY_CALLBACK_TOKEN), size, shape (id, status),
              confirmation (GetPayment with ROYALPAY_TOKEN, ROYALPAY_URL;
              with --payout PayoutByOutterID with ROYALPAY_PAYOUT_TOKEN and
              ROYALPAY_PAYOUT_URL or ROYALPAY_URL), then state and amount
              (the callback's against the API's)

Without the API's credentials the confirmation is skipped: a valid signature
alone does not make a notification genuine (a PayKeeper key can be re-cut),
so confirm one before acting on it. Without PAYKEEPER_SECRET or
ROYALPAY_CALLBACK_TOKEN the signature or authentication check is reported
"skipped" and the exit status is 2 (when nothing failed), since the
notification was not fully checked.

No secret is printed: an Authorization value shows as "Bearer …(N chars)",
PayKeeper's key never, the body only with card numbers masked.

Exit status: 0 every check that ran passed; 6 a check failed; 1 the API
could not be asked (network, the provider's error); 2 an unreadable FILE,
bad flags, or a secret missing for the signature check.`,
		Example: `  payments notify verify paykeeper captured.http
  payments notify verify --env-file prod.env royalpay --payout - < callback.http
  payments notify verify paykeeper --body-only --header 'Content-Type: application/x-www-form-urlencoded' body.txt`,
		Args:      cobra.ExactArgs(2),
		ValidArgs: []string{"paykeeper", "royalpay"},
		RunE: func(cmd *cobra.Command, args []string) error {
			provider := args[0]
			switch provider {
			case "paykeeper":
				if payout {
					return usageError("--payout is for royalpay: PayKeeper notifies payments only")
				}
			case "royalpay":
			default:
				return usageError("unknown provider %q: want paykeeper or royalpay", provider)
			}
			if len(headers) > 0 && !bodyOnly {
				return usageError("--header goes with --body-only: a captured request has its own headers")
			}
			if err := a.checkEnv(); err != nil {
				return err
			}
			data, err := a.readNotifyFile(args[1])
			if err != nil {
				return withCode(ExitBadInput, err)
			}
			req, err := parseCaptured(data, bodyOnly, headers)
			if err != nil {
				return withCode(ExitBadInput, err)
			}
			var rep *notifyReport
			if provider == "paykeeper" {
				rep = a.verifyPayKeeper(cmd.Context(), req)
			} else {
				rep = a.verifyRoyalPay(cmd.Context(), req, payout)
			}
			if err := a.emit(rep, rep.table); err != nil {
				return err
			}
			if rep.code != ExitOK {
				return withCode(rep.code, errors.New(rep.codeWhy))
			}
			return nil
		},
	}
	c.Flags().BoolVar(&bodyOnly, "body-only", false, "FILE is the body alone, not a whole HTTP request")
	c.Flags().StringArrayVar(&headers, "header", nil, "a header of the request, `'Name: value'`, with --body-only (repeatable)")
	c.Flags().BoolVar(&payout, "payout", false, "royalpay: a payout callback (PayoutCallbackHandler), not a pay-in's")
	return c
}

// readNotifyFile reads FILE ("-": standard input), at most notifyMaxFile.
func (a *app) readNotifyFile(path string) ([]byte, error) {
	var r io.Reader
	if path == "-" {
		r = a.stdin
	} else {
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		r = f
	}
	data, err := io.ReadAll(io.LimitReader(r, notifyMaxFile+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(data) > notifyMaxFile {
		return nil, fmt.Errorf("%s: larger than %d bytes: not a captured notification", path, notifyMaxFile)
	}
	return data, nil
}

// captured is a notification request as read from FILE.
type captured struct {
	method, target string // "" with --body-only
	header         http.Header
	body           []byte
	// problem is what is wrong with the request as an HTTP message (a
	// Content-Length that does not match the body): the request check
	// fails with it.
	problem string
}

// parseCaptured reads a raw HTTP request (net/http.ReadRequest), or with
// bodyOnly the body alone and headers as "Name: value" lines. A file that
// is not an HTTP request is an error (exit 2): no check can run.
func parseCaptured(data []byte, bodyOnly bool, headers []string) (captured, error) {
	if bodyOnly {
		c := captured{header: http.Header{}, body: trimFinalNewline(data)}
		for _, h := range headers {
			name, value, ok := strings.Cut(h, ":")
			name = strings.TrimSpace(name)
			if !ok || name == "" || strings.ContainsAny(name, " \t\r\n") || strings.ContainsAny(value, "\r\n") {
				return captured{}, fmt.Errorf("--header: want 'Name: value', got a line of %d characters without it", len(h))
			}
			c.header.Add(name, strings.TrimSpace(value))
		}
		return c, nil
	}
	br := bufio.NewReader(bytes.NewReader(data))
	r, err := http.ReadRequest(br)
	if err != nil {
		return captured{}, fmt.Errorf("not a captured HTTP request (request line, headers, blank line, body): %v; for a body alone use --body-only", clipErr(err))
	}
	c := captured{method: r.Method, target: r.RequestURI, header: r.Header}
	switch {
	case len(r.TransferEncoding) > 0:
		body, err := io.ReadAll(r.Body)
		if err != nil {
			c.problem = "the chunked body is cut or malformed: " + clipErr(err)
		}
		c.body = body
	default:
		rest, _ := io.ReadAll(br) // reads from memory: no error
		if _, ok := r.Header["Content-Length"]; ok {
			switch trimmed := trimFinalNewline(rest); {
			case int64(len(rest)) == r.ContentLength:
				c.body = rest
			case int64(len(trimmed)) == r.ContentLength:
				c.body = trimmed
			default:
				c.body = trimmed
				c.problem = fmt.Sprintf("Content-Length %d, but %d bytes follow the headers: the capture is cut or was edited", r.ContentLength, len(trimmed))
			}
		} else {
			c.body = trimFinalNewline(rest)
		}
	}
	return c, nil
}

// trimFinalNewline drops one final "\n" or "\r\n" (an editor's, echo's).
func trimFinalNewline(b []byte) []byte {
	b = bytes.TrimSuffix(b, []byte("\n"))
	return bytes.TrimSuffix(b, []byte("\r"))
}

// clipErr is err's text, card numbers masked and clipped: it may quote the
// file.
func clipErr(err error) string {
	s := payments.MaskPAN(err.Error())
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

// shownAuthorization is an Authorization value as printed: its scheme
// (when it is one) and its length, never the credential.
func shownAuthorization(v string) string {
	scheme, cred, ok := strings.Cut(v, " ")
	if !ok || scheme == "" || len(scheme) > 20 || strings.IndexFunc(scheme, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r == '-')
	}) >= 0 {
		return fmt.Sprintf("…(%d chars)", len(v))
	}
	return fmt.Sprintf("%s …(%d chars)", scheme, len(cred))
}

// shownHeaders are the headers that matter to the checks, as printed.
func shownHeaders(h http.Header) map[string]string {
	out := map[string]string{}
	for _, name := range []string{"Content-Type", "Content-Length", "X-Request-Id", "Authorization"} {
		vs := h.Values(name)
		if len(vs) == 0 {
			continue
		}
		v := strings.Join(vs, ", ")
		if name == "Authorization" {
			parts := make([]string, len(vs))
			for i, x := range vs {
				parts[i] = shownAuthorization(x)
			}
			v = strings.Join(parts, ", ")
		}
		out[name] = clipShown(payments.MaskPAN(v), 200)
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

func clipShown(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// table prints the report: the checks, then the headers and the body.
func (r *notifyReport) table(w io.Writer) {
	row(w, "CHECK", "RESULT", "DETAIL")
	for _, c := range r.Checks {
		row(w, c.Check, c.Result, c.Detail)
	}
	row(w)
	names := make([]string, 0, len(r.Headers))
	for k := range r.Headers {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		row(w, k+":", r.Headers[k])
	}
	row(w, "body:", r.Body)
}

// finish sets the exit status from the checks: 6 when one failed, else 1
// when one could not be made, else 2 when a secret was missing
// (missingSecret names it), else 0.
func (r *notifyReport) finish(missingSecret string) {
	for _, c := range r.Checks {
		if c.Result == checkFailed {
			r.code, r.codeWhy = ExitDifference, fmt.Sprintf("notify verify: the %s check failed", c.Check)
			return
		}
	}
	for _, c := range r.Checks {
		if c.Result == checkError {
			r.code, r.codeWhy = ExitError, fmt.Sprintf("notify verify: the %s check could not be made", c.Check)
			return
		}
	}
	if missingSecret != "" {
		r.code, r.codeWhy = ExitBadInput, fmt.Sprintf("notify verify: %s not set: the notification was not fully checked", missingSecret)
		return
	}
	r.OK = true
}

// requestCheck is the request line's and the message's check: a POST, and
// a body as its headers describe it. wantForm also wants a form body
// (PayKeeper's handler answers 415 to another Content-Type).
func requestCheck(rep *notifyReport, req captured, wantForm bool) {
	var detail []string
	if req.method != "" {
		if req.method != http.MethodPost {
			rep.add("request", checkFailed, "method "+clipShown(req.method, 20)+": the handler answers 405 to anything but POST")
			return
		}
		detail = append(detail, "POST "+clipShown(payments.MaskPAN(req.target), 100))
	}
	if req.problem != "" {
		rep.add("request", checkFailed, req.problem)
		return
	}
	if ct := req.header.Get("Content-Type"); wantForm && ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || mt != "application/x-www-form-urlencoded" {
			rep.add("request", checkFailed, fmt.Sprintf("Content-Type %q, want application/x-www-form-urlencoded: the handler answers 415", clipShown(payments.MaskPAN(ct), 60)))
			return
		}
		detail = append(detail, mt)
	}
	if len(detail) == 0 {
		rep.add("request", checkSkipped, "--body-only: no request line")
		return
	}
	rep.add("request", checkOK, strings.Join(detail, ", "))
}

// sizeCheck is the handlers' body cap.
func sizeCheck(rep *notifyReport, body []byte) {
	if len(body) > notifyMaxBody {
		rep.add("size", checkFailed, fmt.Sprintf("%d bytes, over the handlers' %d: they answer 413", len(body), notifyMaxBody))
		return
	}
	rep.add("size", checkOK, fmt.Sprintf("%d bytes (at most %d)", len(body), notifyMaxBody))
}

// skipRest marks the checks not run after a failure.
func skipRest(rep *notifyReport, checks ...string) {
	why := "the " + rep.failed() + " check failed (the handler stops there)"
	for _, c := range checks {
		rep.add(c, checkSkipped, why)
	}
}

// missingEnv lists the variables of names that are unset or empty.
func (a *app) missingEnv(names ...string) []string {
	var out []string
	for _, n := range names {
		if a.env(n) == "" {
			out = append(out, n)
		}
	}
	return out
}

// apiError records a confirmation the API could not give: "failed" for a
// payment or payout the API does not know, else "error" (exit 1, or the
// status of a bad configuration).
func apiError(rep *notifyReport, what string, err error) {
	if errors.Is(err, payments.ErrNotFound) {
		rep.add("confirmation", checkFailed, what+" unknown to the API: "+clipErr(err))
		return
	}
	rep.add("confirmation", checkError, clipErr(err))
}

// verifyPayKeeper runs NotificationHandler's checks on req.
func (a *app) verifyPayKeeper(ctx context.Context, req captured) *notifyReport {
	rep := &notifyReport{Provider: "paykeeper", Kind: "payment notification", Headers: shownHeaders(req.header)}
	form, formErr := url.ParseQuery(string(req.body))
	rep.Body = shownForm(form, formErr, req.body)
	requestCheck(rep, req, true)
	if rep.failed() != "" {
		skipRest(rep, "size", "form", "signature", "confirmation")
		rep.finish("")
		return rep
	}
	sizeCheck(rep, req.body)
	if rep.failed() != "" {
		skipRest(rep, "form", "signature", "confirmation")
		rep.finish("")
		return rep
	}
	if formErr == nil {
		formErr = paykeeper.CheckNotificationForm(form)
	} else {
		formErr = fmt.Errorf("not a form: %v", clipErr(formErr))
	}
	if formErr != nil {
		rep.add("form", checkFailed, clipErr(formErr))
		skipRest(rep, "signature", "confirmation")
		rep.finish("")
		return rep
	}
	n := paykeeper.Notification{ID: form.Get("id"), SumText: form.Get("sum"), ClientID: form.Get("clientid"), OrderID: form.Get("orderid")}
	n.Sum, _ = payments.ParseDecimal(n.SumText) // CheckNotificationForm parsed it
	rep.add("form", checkOK, fmt.Sprintf("payment %s, sum %s, order %s", n.ID, n.SumText, orDash(payments.MaskPAN(clipShown(n.OrderID, 64)))))

	missing := ""
	if secret := a.env(envPayKeeperSecret); secret == "" {
		missing = envPayKeeperSecret
		rep.add("signature", checkSkipped, envPayKeeperSecret+" not set")
	} else if parsed, err := paykeeper.ParseNotification(form, secret); err != nil {
		rep.add("signature", checkFailed, clipErr(err)+": not signed with "+envPayKeeperSecret)
		skipRest(rep, "confirmation")
		rep.finish("")
		return rep
	} else {
		n = parsed
		rep.add("signature", checkOK, "key = md5(id+sum+clientid+orderid+"+envPayKeeperSecret+")")
	}

	if miss := a.missingEnv(envPayKeeperUser, envPayKeeperPassword, envPayKeeperURL); len(miss) > 0 {
		rep.add("confirmation", checkSkipped, strings.Join(miss, ", ")+" not set: not confirmed through the API")
		rep.finish(missing)
		return rep
	}
	c, err := a.openPayin(ctx, "paykeeper://")
	if err != nil {
		rep.add("confirmation", checkError, clipErr(err))
		rep.finish(missing)
		return rep
	}
	defer c.Close()
	var pk *paykeeper.Client
	if !c.As(&pk) {
		rep.add("confirmation", checkError, "the paykeeper driver gave no *paykeeper.Client")
		rep.finish(missing)
		return rep
	}
	p, err := pk.GetPayment(ctx, n.ID)
	switch {
	case err != nil:
		apiError(rep, "payment "+n.ID, err)
	default:
		if err := paykeeper.ConfirmNotification(n, p); err != nil {
			rep.add("confirmation", checkFailed, clipErr(err)+fmt.Sprintf(" (API: sum %s, order %s, status %s)",
				p.Amount, orDash(payments.MaskPAN(clipShown(p.OrderID, 64))), p.Status))
		} else {
			rep.add("confirmation", checkOK, fmt.Sprintf("API: payment %s, sum %s, order %s, status %s", p.ID, p.Amount, orDash(payments.MaskPAN(clipShown(p.OrderID, 64))), p.Status))
		}
	}
	rep.finish(missing)
	return rep
}

// shownForm is a PayKeeper body as printed: its fields decoded, card
// numbers masked, the key hidden; an unreadable one is its raw text with
// card numbers masked.
func shownForm(form url.Values, err error, raw []byte) string {
	if err != nil || len(form) == 0 {
		return clipShown(payments.MaskPAN(string(raw)), notifyBodyShown)
	}
	keys := make([]string, 0, len(form))
	for k := range form {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		for _, v := range form[k] {
			if k == "key" {
				v = "[hidden]"
			}
			parts = append(parts, payments.MaskPAN(k)+"="+payments.MaskPAN(v))
		}
	}
	return clipShown(strings.Join(parts, " "), notifyBodyShown)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// verifyRoyalPay runs CallbackHandler's checks (PayoutCallbackHandler's
// with payout) on req, then compares the callback's state and amount with
// the API's.
func (a *app) verifyRoyalPay(ctx context.Context, req captured, payout bool) *notifyReport {
	kind := "payment callback"
	if payout {
		kind = "payout callback"
	}
	rep := &notifyReport{Provider: "royalpay", Kind: kind, Headers: shownHeaders(req.header)}
	body := bytes.TrimSpace(req.body)
	rep.Body = clipShown(payments.MaskPAN(string(body)), notifyBodyShown)
	rest := []string{"authentication", "size", "shape", "confirmation", "state", "amount"}
	requestCheck(rep, req, false)
	if rep.failed() != "" {
		skipRest(rep, rest...)
		rep.finish("")
		return rep
	}
	missing := ""
	auth := req.header.Values("Authorization")
	switch token := a.env(envRoyalPayCallbackToken); {
	case token == "":
		missing = envRoyalPayCallbackToken
		rep.add("authentication", checkSkipped, envRoyalPayCallbackToken+" not set")
	case len(auth) == 0:
		rep.add("authentication", checkFailed, "no Authorization header: the handler answers 401")
	case len(auth) > 1 || royalpay.CheckCallbackAuth(auth[0], token) != nil:
		rep.add("authentication", checkFailed, "Authorization "+shownAuthorization(strings.Join(auth, ", "))+" is not Bearer "+envRoyalPayCallbackToken+": the handler answers 401")
	default:
		rep.add("authentication", checkOK, "Bearer "+envRoyalPayCallbackToken)
	}
	if rep.failed() != "" {
		skipRest(rep, rest[1:]...)
		rep.finish("")
		return rep
	}
	sizeCheck(rep, req.body)
	if rep.failed() != "" {
		skipRest(rep, rest[2:]...)
		rep.finish("")
		return rep
	}
	if payout {
		a.royalPayPayout(ctx, rep, body, missing)
	} else {
		a.royalPayPayment(ctx, rep, body, missing)
	}
	return rep
}

func (a *app) royalPayPayment(ctx context.Context, rep *notifyReport, body []byte, missing string) {
	cb, err := royalpay.ParseCallback(body)
	if err != nil {
		rep.add("shape", checkFailed, clipErr(err))
		skipRest(rep, "confirmation", "state", "amount")
		rep.finish("")
		return
	}
	rep.add("shape", checkOK, fmt.Sprintf("payment %d, status %s, amount %s", cb.ID, clipShown(payments.MaskPAN(string(cb.Status)), 40), cb.Amount))
	if miss := a.missingEnv(envRoyalPayToken, envRoyalPayURL); len(miss) > 0 {
		why := strings.Join(miss, ", ") + " not set: not confirmed through the API"
		rep.add("confirmation", checkSkipped, why)
		rep.add("state", checkSkipped, why)
		rep.add("amount", checkSkipped, why)
		rep.finish(missing)
		return
	}
	rc, closeFn, err := a.royalPayClient(ctx, false)
	if err != nil {
		rep.add("confirmation", checkError, clipErr(err))
		skipRest(rep, "state", "amount")
		rep.finish(missing)
		return
	}
	defer closeFn()
	p, err := rc.GetPayment(ctx, cb.ID)
	if err == nil {
		err = royalpay.ConfirmCallback(cb, p)
		if err != nil {
			rep.add("confirmation", checkFailed, clipErr(err))
		}
	} else {
		apiError(rep, fmt.Sprintf("payment %d", cb.ID), err)
	}
	if err != nil {
		skipRest(rep, "state", "amount")
		rep.finish(missing)
		return
	}
	rep.add("confirmation", checkOK, fmt.Sprintf("API: payment %d, outter_id %s", p.ID, orDash(payments.MaskPAN(clipShown(p.OutterID, 64)))))
	if cb.Status == p.Status {
		rep.add("state", checkOK, "the callback's and the API's: "+string(p.Status))
	} else {
		rep.add("state", checkFailed, fmt.Sprintf("the callback says %s, the API %s: act on the API's", clipShown(payments.MaskPAN(string(cb.Status)), 40), p.Status))
	}
	switch {
	case cb.Amount.IsZero() && p.Sum.IsZero():
		rep.add("amount", checkOK, "none in either")
	case cb.Amount.Cmp(p.Sum) == 0:
		rep.add("amount", checkOK, "the callback's and the API's: "+p.Sum.String())
	default:
		rep.add("amount", checkFailed, fmt.Sprintf("the callback says %s, the API %s: act on the API's", cb.Amount, p.Sum))
	}
	rep.finish(missing)
}

func (a *app) royalPayPayout(ctx context.Context, rep *notifyReport, body []byte, missing string) {
	cb, err := royalpay.ParsePayoutCallback(body)
	if err == nil && cb.OutterID == "" {
		err = fmt.Errorf("%w: payout %d: no outter_id, so it cannot be confirmed", royalpay.ErrBadCallback, cb.ID)
	}
	if err != nil {
		rep.add("shape", checkFailed, clipErr(err))
		skipRest(rep, "confirmation", "state", "amount")
		rep.finish("")
		return
	}
	outter := payments.MaskPAN(clipShown(cb.OutterID, 64))
	rep.add("shape", checkOK, fmt.Sprintf("payout %d, outter_id %s, status %s, amount %s", cb.ID, outter, clipShown(payments.MaskPAN(string(cb.Status)), 40), cb.Amount))
	base := a.env(envRoyalPayPayoutURL)
	if base == "" {
		base = a.env(envRoyalPayURL)
	}
	var miss []string
	if a.env(envRoyalPayPayoutToken) == "" {
		miss = append(miss, envRoyalPayPayoutToken)
	}
	if base == "" {
		miss = append(miss, envRoyalPayPayoutURL+" (or "+envRoyalPayURL+")")
	}
	if len(miss) > 0 {
		why := strings.Join(miss, ", ") + " not set: not confirmed through the API"
		rep.add("confirmation", checkSkipped, why)
		rep.add("state", checkSkipped, why)
		rep.add("amount", checkSkipped, why)
		rep.finish(missing)
		return
	}
	rc, closeFn, err := a.royalPayClient(ctx, true)
	if err != nil {
		rep.add("confirmation", checkError, clipErr(err))
		skipRest(rep, "state", "amount")
		rep.finish(missing)
		return
	}
	defer closeFn()
	p, err := rc.PayoutByOutterID(ctx, cb.OutterID)
	if err == nil {
		err = royalpay.ConfirmPayoutCallback(cb, p)
		if err != nil {
			rep.add("confirmation", checkFailed, clipErr(err)+fmt.Sprintf(" (API: payout %d)", p.ID))
		}
	} else {
		apiError(rep, "payout outter_id "+outter, err)
	}
	if err != nil {
		skipRest(rep, "state", "amount")
		rep.finish(missing)
		return
	}
	rep.add("confirmation", checkOK, fmt.Sprintf("API: payout %d under outter_id %s", p.ID, outter))
	if string(cb.Status) == string(p.Status) {
		rep.add("state", checkOK, "the callback's and the API's: "+string(p.Status))
	} else {
		rep.add("state", checkFailed, fmt.Sprintf("the callback says %s, the API %s: act on the API's", clipShown(payments.MaskPAN(string(cb.Status)), 40), p.Status))
	}
	// The callback page gives the amount in minor units ("в копейках или
	// центах"); the API's answer is in major units (see
	// royalpay.PayoutParams). Either reading that matches passes.
	kopecks, minorErr := p.Amount.Minor(2)
	switch {
	case minorErr == nil && cb.Amount.Cmp(payments.DecimalFromMinor(kopecks, 0)) == 0:
		rep.add("amount", checkOK, fmt.Sprintf("the callback's %s minor units = the API's %s", cb.Amount, p.Amount))
	case cb.Amount.Cmp(p.Amount) == 0:
		rep.add("amount", checkOK, fmt.Sprintf("the callback's and the API's: %s (both in major units)", p.Amount))
	default:
		rep.add("amount", checkFailed, fmt.Sprintf("the callback says %s (minor units by the callback page), the API %s", cb.Amount, p.Amount))
	}
	rep.finish(missing)
}

// royalPayClient opens the RoyalPay client through the drivers (the
// pay-in's, or the payout's for payout callbacks), with the environment
// and PAYMENTS_CA_FILE.
func (a *app) royalPayClient(ctx context.Context, payout bool) (*royalpay.Client, func(), error) {
	var rc *royalpay.Client
	if payout {
		c, err := a.openPayout(ctx, "royalpay://")
		if err != nil {
			return nil, nil, err
		}
		if !c.As(&rc) {
			_ = c.Close()
			return nil, nil, errors.New("the royalpay payout driver gave no *royalpay.Client")
		}
		return rc, func() { _ = c.Close() }, nil
	}
	c, err := a.openPayin(ctx, "royalpay://")
	if err != nil {
		return nil, nil, err
	}
	if !c.As(&rc) {
		_ = c.Close()
		return nil, nil, errors.New("the royalpay pay-in driver gave no *royalpay.Client")
	}
	return rc, func() { _ = c.Close() }, nil
}
