package royalpay

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/internal/transport"
)

// CreateParams are the body of POST /api/v2/payments/ (the document's
// "Параметры запроса"). Sum and Type are required.
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
// Checked before sending: a positive Sum with at most two decimals, a known
// Type, a known Geo when set, an absolute http(s) CallbackURL when set.
//
// Resend safety: UNSAFE. The document offers no idempotency key and says
// nothing of duplicate outter_id values, so a second POST may create a
// second payment. A create is never sent again once a byte may have reached
// the provider: a lost answer, a 5xx or a 50020 ("Request timed out") is a
// *payments.OutcomeUnknownError whose Ref is p.OutterID. Reconcile through
// the callback for that outter_id before creating another payment.
func (c *Client) CreatePayment(ctx context.Context, p CreateParams) (Payment, error) {
	body, err := encodeCreate(p)
	if err != nil {
		return Payment{}, err
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
		return Payment{}, err
	}
	pay, err := decodePayment(resp.Body)
	if err != nil {
		// A 2xx came back: the payment was most likely created.
		return Payment{}, &payments.OutcomeUnknownError{Provider: provider, Op: "create", Ref: p.OutterID, Err: malformed("create", resp.Body, err)}
	}
	return pay, nil
}

// GetPayment reads one payment by the provider's id (GET
// /api/v2/payments/{id}/). The provider asks merchants to confirm a callback
// this way. Not in the document: integrators use it (see spec notes).
//
// Resend safety: a read; always safe.
func (c *Client) GetPayment(ctx context.Context, id int64) (Payment, error) {
	if id <= 0 {
		return Payment{}, &payments.ValidationError{Field: "id", Reason: "must be positive"}
	}
	resp, err := c.t.Do(ctx, &transport.Request{
		Op:     "get",
		Kind:   transport.Read,
		Method: http.MethodGet,
		Path:   "/api/v2/payments/" + strconv.FormatInt(id, 10) + "/",
	})
	if err != nil {
		return Payment{}, err
	}
	pay, err := decodePayment(resp.Body)
	if err != nil {
		return Payment{}, malformed("get", resp.Body, err)
	}
	return pay, nil
}

// encodeCreate validates p and writes the body, keys in the order of the
// document's examples.
func encodeCreate(p CreateParams) ([]byte, error) {
	switch {
	case p.Sum.Sign() <= 0:
		return nil, &payments.ValidationError{Field: "Sum", Reason: "must be positive"}
	case p.Sum.Scale() > 2:
		if _, err := p.Sum.StringFixed(2); err != nil {
			return nil, &payments.ValidationError{Field: "Sum", Reason: "more than two digits after the point"}
		}
	}
	if !p.Type.Known() {
		return nil, &payments.ValidationError{Field: "Type", Reason: fmt.Sprintf("%q is not a transfer type of the document", string(p.Type))}
	}
	if p.Geo != "" && !p.Geo.Known() {
		return nil, &payments.ValidationError{Field: "Geo", Reason: fmt.Sprintf("%q is not a geo of the document (Cyrillic names such as %q)", string(p.Geo), string(GeoRussia))}
	}
	if p.CallbackURL != "" {
		u, err := url.Parse(p.CallbackURL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return nil, &payments.ValidationError{Field: "CallbackURL", Reason: "must be an absolute http(s) URL"}
		}
	}
	for name, v := range map[string]string{"Bank": p.Bank, "ClientID": p.ClientID, "OutterID": p.OutterID, "ClientIP": p.ClientIP} {
		if !utf8.ValidString(v) || len(v) > 255 {
			return nil, &payments.ValidationError{Field: name, Reason: "not valid UTF-8 or longer than 255 bytes"}
		}
	}
	var b bytes.Buffer
	sum := p.Sum.String()
	if p.Sum.Scale() > 2 {
		sum, _ = p.Sum.StringFixed(2)
	}
	b.WriteString(`{"sum":` + strings.TrimPrefix(sum, "+"))
	field := func(k, v string) {
		if v != "" {
			b.WriteString(`,"` + k + `":`)
			b.Write(jsonString(v))
		}
	}
	field("type", string(p.Type))
	if p.IntrabankTransfer {
		b.WriteString(`,"is_intrabank_transfer":true`)
	}
	field("bank", p.Bank)
	field("client_id", p.ClientID)
	field("client_ip", p.ClientIP)
	field("outter_id", p.OutterID)
	field("geo", string(p.Geo))
	if p.AllowAnotherAmount {
		b.WriteString(`,"is_allow_another_amount":true`)
	}
	field("callback_url", p.CallbackURL)
	b.WriteByte('}')
	return b.Bytes(), nil
}
