package paykeeper

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/jarcoal/httpmock"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/internal/testcheck"
)

// The fuzz targets read each answer the way the document describes it,
// apart from the client's decoder, and hold the client to it in both
// directions: every error is typed and secret-free, a write is nil only for
// its documented success answer, a definite refusal only for an answer that
// proves nothing was done, and outcome-unknown otherwise.

// docObject is the answer as one JSON object, or the one object of an
// array of one (PayKeeper's own modules unwrap [{...}] on change/*).
func docObject(body []byte) (map[string]any, bool) {
	d := json.NewDecoder(bytes.NewReader(body))
	d.UseNumber()
	var v any
	if d.Decode(&v) != nil {
		return nil, false
	}
	if _, err := d.Token(); err != io.EOF { // something after the value, even half a token
		return nil, false
	}
	if list, ok := v.([]any); ok {
		if len(list) != 1 {
			return nil, false
		}
		v = list[0]
	}
	m, ok := v.(map[string]any)
	return m, ok
}

// docFail is the fail object of section 7: {"result":"fail","msg":"..."}.
func docFail(body []byte) bool {
	m, ok := docObject(body)
	if !ok {
		return false
	}
	_, msg := m["msg"].(string)
	return m["result"] == "fail" && msg
}

// docResultSuccess is the answer of every change of sections 2, 3 and 5:
// { 'result' : success }.
func docResultSuccess(body []byte) bool {
	m, ok := docObject(body)
	return ok && m["result"] == "success"
}

// docInvoiceCreated is the answer of section 3.4: invoice_id (digits) and
// invoice (the e-mail's HTML).
func docInvoiceCreated(body []byte) bool {
	m, ok := docObject(body)
	if !ok {
		return false
	}
	if r, has := m["result"]; has && r != "success" {
		return false
	}
	var id string
	switch v := m["invoice_id"].(type) {
	case string:
		id = v
	case json.Number:
		id = v.String()
	}
	if id == "" || len(id) > 32 || strings.Trim(id, "0123456789") != "" {
		return false
	}
	_, html := m["invoice"].(string)
	return html
}

// docPaymentCharged is the answer of /change/binding/execute/ as PayKeeper's
// Bitrix module reads it: result success, a payment_id of digits, no msg.
func docPaymentCharged(body []byte) bool {
	m, ok := docObject(body)
	if !ok || m["result"] != "success" {
		return false
	}
	if _, has := m["msg"]; has {
		return false
	}
	var id string
	switch v := m["payment_id"].(type) {
	case string:
		id = v
	case json.Number:
		id = v.String()
	}
	return id != "" && len(id) <= 20 && strings.Trim(id, "0123456789") == ""
}

// docReceiptPrinted is the answer of the receipt writes: result success and
// a receipt_id of digits.
func docReceiptPrinted(body []byte) bool {
	m, ok := docObject(body)
	if !ok || m["result"] != "success" {
		return false
	}
	var id string
	switch v := m["receipt_id"].(type) {
	case string:
		id = v
	case json.Number:
		id = v.String()
	}
	return id != "" && len(id) <= 20 && strings.Trim(id, "0123456789") == ""
}

// writeOutcome is what an answer proves about a write. retried: the
// transport sends this kind again on 429, 500, 502, 503 and 504, so such an
// answer after the first attempt proves nothing about the first.
func writeOutcome(status int, body []byte, success func([]byte) bool, retried bool) testcheck.Outcome {
	body = bytes.Trim(body, " \t\r\n")
	if retried {
		switch status {
		case 429, 500, 502, 503, 504:
			return testcheck.Unknown
		}
	}
	switch {
	case docFail(body):
		return testcheck.Refused
	case status >= 200 && status < 300 && isLoginPage(body):
		return testcheck.Refused
	case status >= 200 && status < 300 && success(body):
		return testcheck.Done
	case status >= 400 && status < 500 && status != 429:
		return testcheck.Refused
	}
	return testcheck.Unknown
}

// FuzzClientAnswers sends any status and body a server could answer (the
// token endpoint excepted) through reads, the writes and an export: nothing
// panics, every error is typed and free of the password and the token, and
// each write's result agrees with what the answer proves.
func FuzzClientAnswers(f *testing.F) {
	for _, name := range []string{"payments_byid.json", "invoice_byid.json", "payments_bydatecount.txt", "refunds_bypaymentid.json"} {
		f.Add(200, []byte(fixture(f, name)))
	}
	for _, st := range []int{200, 500, 429, 503, 400, 302} {
		f.Add(st, []byte(`{"result":"fail","msg":"x","error_code":67}`))
		f.Add(st, []byte(`{"result":"success"}`))
	}
	f.Add(200, []byte(`{"invoice_id":"1","invoice_url":"u","invoice":"<p>"}`))
	f.Add(200, []byte(`[{"invoice_id":20120229133742255,"invoice":""}]`))
	f.Add(200, []byte(`[{"result":"success","payment_id":"97460"}]`))
	f.Add(200, []byte(`{"result":"success","payment_id":97460,"msg":"x"}`))
	f.Add(200, []byte(`{"result":"success","receipt_id":"3301"}`))
	f.Add(200, []byte(`{}`))
	f.Add(200, []byte(`null`))
	f.Add(200, []byte(`[]`))
	f.Add(200, []byte(`{"result":"pending"}`))
	f.Add(200, []byte(`{"r\u0065sult":"fail","msg":"escaped key"}`))
	f.Add(200, []byte("\u00a0{\"result\":\"success\"}"))
	f.Add(200, []byte(loginPage))
	f.Add(401, []byte(`<html>login</html>`))
	f.Add(200, []byte(`token fd50e47596cff6c63c7ea0a633c0d2a8 Basic ZGVtbzpmdXp6LXNlY3JldC1wdw==`))
	const password, token = "fuzz-secret-pw", "fd50e47596cff6c63c7ea0a633c0d2a8"
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		if status < 100 || status > 999 {
			return
		}
		mock := httpmock.NewMockTransport()
		mock.RegisterNoResponder(func(r *http.Request) (*http.Response, error) {
			if r.URL.Path == "/info/settings/token/" {
				return httpmock.NewStringResponse(200, `{"token":"`+token+`"}`), nil
			}
			return httpmock.NewBytesResponse(status, body), nil
		})
		c, err := New(Credentials{User: "demo", Password: password}, payments.WithBaseURL(base), payments.WithTransport(mock),
			payments.WithLimiter(payments.Unlimited()), payments.WithRetry(payments.RetryPolicy{MaxAttempts: 2, BaseDelay: 1, MaxDelay: 1}))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		ctx := context.Background()
		secrets := []string{password, "ZGVtbzpmdXp6LXNlY3JldC1wdw==", token}

		refund := writeOutcome(status, body, docResultSuccess, false)
		err = c.RefundPayment(ctx, RefundParams{PaymentID: "1", Amount: payments.MustDecimal("1")})
		testcheck.NoSuccessUnless(t, err, refund == testcheck.Done, "refund", status, body)
		testcheck.WriteOutcome(t, err, refund, secrets...)
		err = c.CapturePayment(ctx, "1")
		testcheck.WriteOutcome(t, err, refund, secrets...)
		err = c.ResetNotificationCounter(ctx, "1")
		testcheck.WriteOutcome(t, err, writeOutcome(status, body, docResultSuccess, true), secrets...)

		created := writeOutcome(status, body, docInvoiceCreated, false)
		inv, err := c.CreateInvoice(ctx, InvoiceParams{Amount: payments.MustDecimal("1"), OrderID: "A"})
		testcheck.NoSuccessUnless(t, err, created == testcheck.Done, "invoice create", status, body)
		testcheck.WriteOutcome(t, err, created, secrets...)
		if err == nil && (inv.ID == "" || !allDigits(inv.ID)) {
			t.Fatalf("invoice created without an id of digits: %+v", inv)
		}

		charged := writeOutcome(status, body, docPaymentCharged, false)
		pid, err := c.ChargeBinding(ctx, BindingCharge{BankID: "1", OrderID: "R-1", Amount: payments.MustDecimal("1")})
		testcheck.NoSuccessUnless(t, err, charged == testcheck.Done, "binding execute", status, body)
		testcheck.WriteOutcome(t, err, charged, secrets...)
		if err == nil && !allDigits(pid) {
			t.Fatalf("charged without a payment id of digits: %q", pid)
		}

		receipt := writeOutcome(status, body, docReceiptPrinted, false)
		rid, err := c.PostSaleReceipt(ctx, "1")
		testcheck.NoSuccessUnless(t, err, receipt == testcheck.Done, "post-sale receipt", status, body)
		testcheck.WriteOutcome(t, err, receipt, secrets...)
		if err == nil && !allDigits(rid) {
			t.Fatalf("post-sale receipt without a receipt id of digits: %q", rid)
		}
		rid, err = c.PrintReceipt(ctx, ReceiptParams{PaymentID: "1", Type: ReceiptSale, Amount: payments.MustDecimal("1"),
			Cart: []CartItem{{Name: "x", Price: payments.MustDecimal("1"), Quantity: payments.MustDecimal("1"), Sum: payments.MustDecimal("1"), Tax: "none"}}})
		testcheck.NoSuccessUnless(t, err, receipt == testcheck.Done, "receipt print", status, body)
		testcheck.WriteOutcome(t, err, receipt, secrets...)
		if err == nil && !allDigits(rid) {
			t.Fatalf("receipt printed without a receipt id of digits: %q", rid)
		}

		// Reads after the writes: the token is known to the client (and so
		// scrubbed) only once fetched.
		_, err = c.GetPayment(ctx, "1")
		testcheck.TypedError(t, err, secrets...)
		_, err = c.GetInvoice(ctx, "1")
		testcheck.TypedError(t, err, secrets...)
		_, err = c.CountPayments(ctx, PaymentFilter{Start: day1, End: day2})
		testcheck.TypedError(t, err, secrets...)
		_, err = c.Refunds(ctx, "1")
		testcheck.TypedError(t, err, secrets...)
		_, err = c.Receipts(ctx, "1")
		testcheck.TypedError(t, err, secrets...)
		_, err = c.GetPaymentDetails(ctx, "1")
		testcheck.TypedError(t, err, secrets...)
		_, err = c.ErrorTotals(ctx)
		testcheck.TypedError(t, err, secrets...)

		var buf bytes.Buffer
		_, err = c.ExportPayments(ctx, &buf, ExportFilter{PaymentFilter: PaymentFilter{Start: day1, End: day2, Statuses: AllPaymentStatuses, PaymentSystemIDs: []string{"1"}}, Limit: 10})
		testcheck.TypedError(t, err, secrets...)
	})
}
