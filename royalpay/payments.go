package royalpay

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/internal/transport"
)

// CreateParams are the body of POST /api/v2/payments/ (the document's
// "Параметры запроса"). Sum and Type are required; see Validate for what is
// checked before sending.
type CreateParams struct {
	// Sum in the payment's currency (major units: 1500 is 1500 roubles), at
	// most two digits after the point. Sent as a JSON number.
	Sum payments.Decimal
	// Type is the transfer type.
	Type TransferType
	// Bank is the bank asked for: "Sber", "Tinkoff", "Alfa", "Ozon", "Vtb"...
	Bank string
	// IntrabankTransfer asks for a transfer inside one bank (Ozon→Ozon,
	// Alfa→Alfa, Sber→Sber). Sent only when true.
	IntrabankTransfer bool
	// ClientID is the merchant's id of the payer.
	ClientID string
	// OutterID is the merchant's id of this payment (outter_id, the
	// provider's spelling). Strongly advised: it is the only way to find a
	// payment whose create answer was lost (its callback carries it).
	OutterID string
	// Geo defaults to Russia at the provider when empty.
	Geo Geo
	// AllowAnotherAmount lets the payer change the amount. Sent only when true.
	AllowAnotherAmount bool
	// CallbackURL receives the status callbacks; an absolute http(s) URL.
	CallbackURL string
	// RedirectURL, SuccessRedirectURL and FailRedirectURL are where the
	// payer's browser goes after paying (after a success, after a failure).
	// Not in the v2 document's request table (its answer has redirect_url,
	// "URL для перенаправления пользователя после оплаты"). Where they are
	// seen sent, it is not on v2: the Royal Finance adapter of
	// imfoxboy/Eight-Connect sends all three ("redirect_url",
	// "success_redirect_url", "fail_redirect_url", adapter.py pay) on POST
	// /api/v1/payments/, with v1's field names amount and transfer_method
	// (its docstring says /api/v2/payments/, its request goes to v1); the
	// form API's page takes them on /api/v1/orders/; a PHP integration has
	// them only commented out on v2. That the v2 create reads them is
	// UNCONFIRMED: it may ignore them (DRF drops unknown fields), so the
	// payer may not be redirected. Sent only when set; absolute http(s)
	// URLs.
	RedirectURL        string
	SuccessRedirectURL string
	FailRedirectURL    string
	// ClientIP is the payer's IP. Not in the document; sent by integrations
	// (cross-border) and echoed back as client_ip.
	ClientIP string
	// RequestTimeout, when set, is sent as X-Request-Timeout (whole seconds):
	// the provider answers 50020 if it cannot finish in time. That answer is
	// payments.ErrOutcomeUnknown for a create.
	RequestTimeout time.Duration
}

// String shows the parameters (they hold no secret).
func (p CreateParams) String() string {
	return fmt.Sprintf("royalpay.CreateParams{Sum: %s, Type: %s, Bank: %s, OutterID: %s, Geo: %s}", p.Sum, p.Type, p.Bank, p.OutterID, p.Geo)
}

// CreatePayment asks the provider for requisites to show a payer (POST
// /api/v2/payments/) and returns the created payment: its id, the
// requisites for p.Type and the links. The payment starts "created"; its
// outcome arrives by callback (see CallbackHandler) or through GetPayment.
//
// Checked before sending (a *payments.ValidationError, nothing sent): see
// CreateParams.Validate.
//
// Success is only the document's success answer ("Пример успешного ответа
// (200 OK)"): a JSON object with a positive id, a positive sum and one of the
// document's statuses. Any other 2xx answer is ErrOutcomeUnknown: something
// answered as if the payment was made, and nothing says it was not.
//
// Resend safety: UNSAFE, never sent twice. The document ("Параметры
// запроса") offers no idempotency key and says nothing of a repeated
// outter_id, so a second POST may create a second payment. Once a byte may
// have reached the provider the create is not sent again, and these are a
// *payments.OutcomeUnknownError whose Ref is p.OutterID:
//   - a lost or unreadable answer;
//   - a 5xx, and the document's "500 ... code 50020" ("Если запрос
//     обрабатывается дольше установленного лимита (X-Request-Timeout),
//     сервер вернёт ошибку с кодом 50020": the work may go on behind it);
//   - 429 and 503: the document's error table does not list them, so
//     nothing says the request was left alone.
//
// Reconcile through the callback for that outter_id before creating another
// payment. Nothing sent (a dial failure, a closed client, a context ended
// before sending) and the document's definite refusals are returned as what
// they are, never as ErrOutcomeUnknown: 40005/40006 "No available cards."
// (ErrNoAvailableCards), 30002 "Payment creation failed" (ErrCreationFailed),
// 50000 "Client is blocked" (ErrClientBlocked), 10401 and 401/403
// (credentials), 400 (the request), 404.
func (c *Client) CreatePayment(ctx context.Context, p CreateParams) (_ Payment, err error) {
	ctx, obs := c.operation(ctx, "create", p.OutterID)
	defer func() { obs.End(err) }()
	if ctx == nil {
		return Payment{}, payments.ErrNilContext
	}
	body, err := encodeCreate(p)
	if err != nil {
		return Payment{}, err
	}
	if c.t == nil {
		return Payment{}, errNoPayinToken
	}
	req := &transport.Request{
		Op:          "create",
		Kind:        transport.UnsafeWrite,
		Ref:         p.OutterID,
		Method:      http.MethodPost,
		Path:        "/api/v2/payments/",
		ContentType: "application/json",
		Body:        body,
	}
	if p.RequestTimeout > 0 {
		secs := int64((p.RequestTimeout + time.Second - 1) / time.Second)
		req.Header = http.Header{"X-Request-Timeout": {strconv.FormatInt(secs, 10)}}
	}
	resp, err := c.t.Do(ctx, req)
	if err != nil {
		return Payment{}, definiteRefusal(err)
	}
	pay, err := decodePayment(resp.Body)
	if err == nil {
		err = createdShape(pay)
	}
	if err != nil {
		// A 2xx came back: the payment may well have been created.
		return Payment{}, &payments.OutcomeUnknownError{Provider: provider, Op: "create", Ref: p.OutterID,
			Err: c.t.Malformed("create", resp.Status, resp.Body, err)}
	}
	setProviderID(obs, pay.ID)
	return pay, nil
}

// definiteRefusal unwraps an outcome-unknown create whose answer carries one
// of the document's codes that say nothing was created (sent with another
// HTTP status than the document's): the refusal itself is the answer.
func definiteRefusal(err error) error {
	var (
		ou  *payments.OutcomeUnknownError
		api *payments.APIError
	)
	if !errors.As(err, &ou) || !errors.As(ou.Err, &api) {
		return err
	}
	switch api.Code {
	case CodeNoAvailableCards, CodeNoAvailableCards2, CodeCreationFailed, CodeClientBlocked, CodeNotAuthenticated:
		return api
	}
	return err
}

// createdShape checks a decoded create answer against the document's
// success answer: a positive id, a positive sum, a documented status.
func createdShape(p Payment) error {
	switch {
	case p.ID <= 0:
		return errors.New("id: not a positive integer")
	case p.Sum.Sign() <= 0:
		return errors.New("sum: missing or not positive")
	case !p.Status.Known():
		return fmt.Errorf("status: %q is not a status of the document", string(p.Status))
	}
	return nil
}

// GetPayment reads one payment by the provider's id (GET
// /api/v2/payments/{id}/). The provider asks merchants to confirm a callback
// this way. Not in the document: integrators use it (see the package
// documentation), so its exact path is unconfirmed. The Royal Finance
// adapter of imfoxboy/Eight-Connect sends it without the trailing slash
// (adapter.py _verify_payin_status); the SDK sends one, as Django routes
// with APPEND_SLASH, and asks the other form (the same host and path
// without the slash) once, and only once, when the first answer is
//   - a 404, until one form has answered a 2xx on this client: from then
//     on that form is asked first and its 404 is the payment's (not
//     found), with no second request;
//   - a 301 or 308 whose Location is the same scheme, host and path but
//     for the trailing slash.
//
// Any other redirect (another host, another path, a query) is returned as
// the error it is. A 404 on both forms is payments.ErrNotFound, with the
// second answer's HTTP status and the provider's text.
//
// The answer must be a payment object with the id asked for, a sum and a
// status; anything else is an error (never a zero Payment). A status the
// document does not list is returned as it is: its State is StateUnknown.
//
// Resend safety: a read; always safe, retried by the client.
func (c *Client) GetPayment(ctx context.Context, id int64) (_ Payment, err error) {
	idText := strconv.FormatInt(id, 10)
	ctx, obs := c.operation(ctx, "get", idText)
	defer func() { obs.End(err) }()
	if ctx == nil {
		return Payment{}, payments.ErrNilContext
	}
	if id <= 0 {
		return Payment{}, &payments.ValidationError{Field: "id", Reason: "must be positive"}
	}
	if c.t == nil {
		return Payment{}, errNoPayinToken
	}
	path := "/api/v2/payments/" + idText + "/"
	resp, err := readEither(ctx, c.t, "get", &c.formsOf().payment, [2]string{path, strings.TrimSuffix(path, "/")}, true)
	if err != nil {
		return Payment{}, err
	}
	pay, err := decodePayment(resp.Body)
	if err == nil {
		switch {
		case pay.ID != id:
			err = fmt.Errorf("id: %d, not the %d asked for", pay.ID, id)
		case pay.Sum.Sign() < 0:
			err = errors.New("sum: negative")
		}
	}
	if err != nil {
		return Payment{}, c.t.Malformed("get", resp.Status, resp.Body, err)
	}
	setProviderID(obs, pay.ID)
	return pay, nil
}

// Limits checked before sending. The document states none: these are ours,
// to refuse nonsense with a typed error instead of sending it. The provider
// may enforce lower ones and answer 400 (nothing created).
const (
	// maxSumDigits: sum goes out as a JSON number, which a server may read
	// as a double (Python's json does for a number with a point); a double
	// keeps 15 significant decimal digits exactly, so no more are sent.
	maxSumDigits = 15
	// maxTextBytes caps bank, client_id, outter_id and client_ip: 255 is
	// the usual database column of such an id.
	maxTextBytes = 255
	// maxURLBytes caps callback_url: longer URLs are not carried reliably
	// by browsers, proxies and servers.
	maxURLBytes = 2048
)

// Validate reports the first problem of p as a *payments.ValidationError
// (matching payments.ErrInvalidRequest); CreatePayment calls it before
// sending anything. Checked:
//   - Sum: positive, at most two digits after the point, at most 15 digits
//     written with two after the point (so 13 before it);
//   - Type: one of the document's transfer types; Geo: empty or one of the
//     document's Cyrillic names;
//   - Bank, ClientID, OutterID: valid UTF-8 of at most 255 bytes, no control
//     character, no space at either end (the provider's framework, Django REST
//     Framework, trims text fields, so an outter_id " A" would come back "A"
//     in callbacks and lookups);
//   - ClientIP: empty or an IP address;
//   - CallbackURL: empty or an absolute http(s) URL with a host, no space or
//     control character, at most 2048 bytes;
//   - RequestTimeout: not negative.
func (p CreateParams) Validate() error {
	if p.Sum.Sign() <= 0 {
		return &payments.ValidationError{Field: "Sum", Reason: "must be positive"}
	}
	fixed, err := p.Sum.StringFixed(2)
	if err != nil {
		return &payments.ValidationError{Field: "Sum", Reason: "more than two digits after the point"}
	}
	if n := len(strings.TrimLeft(strings.ReplaceAll(fixed, ".", ""), "+0")); n > maxSumDigits {
		return &payments.ValidationError{Field: "Sum", Reason: fmt.Sprintf("more than %d digits", maxSumDigits)}
	}
	if !p.Type.Known() {
		return &payments.ValidationError{Field: "Type", Reason: fmt.Sprintf("%q is not a transfer type of the document", truncateRunes(string(p.Type), 40))}
	}
	if p.Geo != "" && !p.Geo.Known() {
		return &payments.ValidationError{Field: "Geo", Reason: fmt.Sprintf("%q is not a geo of the document (Cyrillic names such as %q)", truncateRunes(string(p.Geo), 40), string(GeoRussia))}
	}
	for _, f := range []struct{ name, v string }{{"Bank", p.Bank}, {"ClientID", p.ClientID}, {"OutterID", p.OutterID}, {"ClientIP", p.ClientIP}} {
		if reason := checkText(f.v, maxTextBytes); reason != "" {
			return &payments.ValidationError{Field: f.name, Reason: reason}
		}
	}
	if p.ClientIP != "" {
		if _, err := netip.ParseAddr(p.ClientIP); err != nil {
			return &payments.ValidationError{Field: "ClientIP", Reason: "not an IP address"}
		}
	}
	for _, f := range []struct{ name, v string }{{"CallbackURL", p.CallbackURL}, {"RedirectURL", p.RedirectURL},
		{"SuccessRedirectURL", p.SuccessRedirectURL}, {"FailRedirectURL", p.FailRedirectURL}} {
		if err := checkURL(f.name, f.v); err != nil {
			return err
		}
	}
	if p.RequestTimeout < 0 {
		return &payments.ValidationError{Field: "RequestTimeout", Reason: "negative"}
	}
	return nil
}

// checkURL refuses a non-empty v that is not an absolute http(s) URL.
func checkURL(field, v string) error {
	if v == "" {
		return nil
	}
	if reason := checkText(v, maxURLBytes); reason != "" {
		return &payments.ValidationError{Field: field, Reason: reason}
	}
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Hostname() == "" || u.Opaque != "" || strings.ContainsAny(v, " \t") {
		// The URL is not quoted: it may carry credentials.
		return &payments.ValidationError{Field: field, Reason: "must be an absolute http(s) URL"}
	}
	return nil
}

// checkText is the reason v is refused as a text field of at most max
// bytes, or "".
func checkText(v string, max int) string {
	switch {
	case !utf8.ValidString(v):
		return "not valid UTF-8"
	case len(v) > max:
		return fmt.Sprintf("%d bytes, longer than %d", len(v), max)
	case strings.IndexFunc(v, unicode.IsControl) >= 0:
		return "contains a control character"
	case strings.TrimSpace(v) != v:
		return "space at the start or the end (the provider trims it)"
	}
	return ""
}

// truncateRunes cuts s to n runes for an error message.
func truncateRunes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n]) + "…"
}

// encodeCreate validates p and writes the body, keys in the order of the
// document's examples.
func encodeCreate(p CreateParams) ([]byte, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	sum := p.Sum.String()
	if p.Sum.Scale() > 2 {
		sum, _ = p.Sum.StringFixed(2)
	}
	b := make([]byte, 0, 256)
	b = append(b, `{"sum":`...)
	b = append(b, strings.TrimPrefix(sum, "+")...)
	field := func(k, v string) {
		if v != "" {
			b = append(b, `,"`...)
			b = append(b, k...)
			b = append(b, `":`...)
			b = appendJSONString(b, v)
		}
	}
	field("type", string(p.Type))
	if p.IntrabankTransfer {
		b = append(b, `,"is_intrabank_transfer":true`...)
	}
	field("bank", p.Bank)
	field("client_id", p.ClientID)
	field("client_ip", p.ClientIP)
	field("outter_id", p.OutterID)
	field("geo", string(p.Geo))
	if p.AllowAnotherAmount {
		b = append(b, `,"is_allow_another_amount":true`...)
	}
	field("callback_url", p.CallbackURL)
	field("redirect_url", p.RedirectURL)
	field("success_redirect_url", p.SuccessRedirectURL)
	field("fail_redirect_url", p.FailRedirectURL)
	return append(b, '}'), nil
}

// slashRedirect reports the path to ask instead when err is a 301 or 308
// answer to path whose Location differs from the request's URL only by
// the trailing slash: same scheme, host and path otherwise, no user, query
// or fragment.
func slashRedirect(base *url.URL, path string, err error) (string, bool) {
	var mv *movedTo
	if err == nil || !errors.As(err, &mv) {
		return "", false
	}
	prefix := strings.TrimSuffix(base.Path, "/")
	reqURL := *base
	reqURL.Path = prefix + "/" + strings.TrimPrefix(path, "/")
	reqURL.RawPath = ""
	loc, perr := reqURL.Parse(mv.location)
	if perr != nil || loc.Scheme != reqURL.Scheme || loc.Host != reqURL.Host || loc.User != nil ||
		loc.RawQuery != "" || loc.ForceQuery || loc.Fragment != "" || loc.Opaque != "" || loc.Path == reqURL.Path {
		return "", false
	}
	if strings.TrimSuffix(loc.Path, "/") != strings.TrimSuffix(reqURL.Path, "/") {
		return "", false
	}
	alt, ok := strings.CutPrefix(loc.Path, prefix+"/")
	if !ok {
		return "", false
	}
	return "/" + alt, true
}
