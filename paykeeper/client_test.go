package paykeeper

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jarcoal/httpmock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/internal/transport"
)

const base = "https://demo.server.paykeeper.ru"

func fixture(t testing.TB, name string) string {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	require.NoError(t, err)
	return string(b)
}

type seen struct {
	mu   sync.Mutex
	reqs []*http.Request
	form []url.Values
}

func (s *seen) add(r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := url.Values{}
	if r.Body != nil {
		b, _ := io.ReadAll(r.Body)
		f, _ = url.ParseQuery(string(b))
	}
	s.reqs = append(s.reqs, r)
	s.form = append(s.form, f)
}

// mockClient routes GET /info/settings/token/ to a token answer and every
// other request to answer.
func mockClient(t testing.TB, answer func(r *http.Request, form url.Values) (int, string)) (*Client, *seen, *atomic.Int32) {
	t.Helper()
	mock := httpmock.NewMockTransport()
	s := &seen{}
	var tokens atomic.Int32
	mock.RegisterNoResponder(func(r *http.Request) (*http.Response, error) {
		s.add(r)
		if r.URL.Path == "/info/settings/token/" {
			n := tokens.Add(1)
			return httpmock.NewStringResponse(200, fmt.Sprintf(`{"token":"%032d"}`, n)), nil
		}
		s.mu.Lock()
		f := s.form[len(s.form)-1]
		s.mu.Unlock()
		st, body := answer(r, f)
		return httpmock.NewStringResponse(st, body), nil
	})
	c, err := New(Credentials{User: "demo", Password: "hunter2-pk"}, payments.WithBaseURL(base), payments.WithTransport(mock),
		payments.WithLimiter(payments.Unlimited()), payments.WithRetry(payments.RetryPolicy{MaxAttempts: 2, BaseDelay: time.Millisecond, MaxDelay: time.Millisecond}))
	require.NoError(t, err)
	return c, s, &tokens
}

func answerWith(body string) func(*http.Request, url.Values) (int, string) {
	return func(*http.Request, url.Values) (int, string) { return 200, body }
}

var day1, day2 = time.Date(2014, 4, 14, 0, 0, 0, 0, moscow), time.Date(2014, 6, 14, 0, 0, 0, 0, moscow)

func TestStatisticsOfTheDocument(t *testing.T) {
	ctx := context.Background()
	c, s, _ := mockClient(t, answerWith(fixture(t, "systems_sums.json")))
	sums, err := c.SystemSums(ctx, day1, day2)
	require.NoError(t, err)
	require.Len(t, sums, 1)
	assert.Equal(t, "WebMoney", sums[0].SystemDescription)
	assert.Equal(t, "566.00", sums[0].Success.String())
	assert.Equal(t, "RUR", sums[0].Currency)
	assert.Equal(t, "/info/systems/sums/?end=2014-06-14&start=2014-04-14", s.reqs[0].URL.RequestURI())

	c, _, _ = mockClient(t, answerWith(fixture(t, "systems_allsum.json")))
	tot, err := c.TotalSums(ctx, day1, day2)
	require.NoError(t, err)
	assert.Equal(t, "10932.00", tot.Success.String())

	c, _, _ = mockClient(t, answerWith(fixture(t, "systems_details.json")))
	series, err := c.SystemSeries(ctx, day1, day2)
	require.NoError(t, err)
	require.Len(t, series[0].Points, 6)
	assert.True(t, series[0].Points[0].Time.Equal(time.Unix(1394380800, 0)), "milliseconds, as the example shows")
	assert.Equal(t, "331", series[0].Points[2].Amount.String())

	_, err = c.SystemSums(ctx, day2, day1)
	assert.ErrorIs(t, err, payments.ErrInvalidRequest)
}

func TestPaymentsOfTheDocument(t *testing.T) {
	ctx := context.Background()
	c, s, _ := mockClient(t, answerWith(fixture(t, "payments_bydate.json")))
	f := PaymentFilter{Start: day1, End: day2, Statuses: []PaymentStatus{PaymentSuccess, PaymentCanceled, PaymentFailed}, PaymentSystemIDs: []string{"9", "1"}}
	var got []Payment
	for p, err := range c.Payments(ctx, f) {
		require.NoError(t, err)
		got = append(got, p)
	}
	require.Len(t, got, 1, "a short page ends the iteration")
	p := got[0]
	assert.Equal(t, "97452", p.ID)
	assert.Equal(t, "1.00", p.Amount.String())
	assert.Empty(t, p.OrderID, "null is absent")
	assert.Equal(t, PaymentSuccess, p.Status)
	assert.Equal(t, payments.StateSucceeded, p.Status.State())
	assert.True(t, p.Obtained.Equal(time.Date(2014, 5, 14, 11, 59, 1, 0, time.UTC)), "Moscow was UTC+4 in 2014: %v", p.Obtained)
	q := s.reqs[0].URL.Query()
	assert.Equal(t, []string{"success", "canceled", "failed"}, q["status[]"])
	assert.Equal(t, []string{"9", "1"}, q["payment_system_id[]"])
	assert.Equal(t, "0", q.Get("from"))
	assert.Equal(t, "100", q.Get("limit"))
	assert.Contains(t, s.reqs[0].URL.RawQuery, "status[]=success", "the document's bracket form")

	for _, bad := range []PaymentFilter{{Start: day1, End: day2, PaymentSystemIDs: []string{"1"}}, {Start: day1, End: day2, Statuses: AllPaymentStatuses}} {
		for _, err := range c.Payments(ctx, bad) {
			assert.ErrorIs(t, err, payments.ErrInvalidRequest)
		}
	}

	c, _, _ = mockClient(t, answerWith(fixture(t, "payments_bydatecount.txt")))
	counts, err := c.CountPayments(ctx, f)
	require.NoError(t, err)
	assert.Equal(t, PaymentCounts{ByStatus: map[PaymentStatus]int64{PaymentCanceled: 14, PaymentSuccess: 71, PaymentFailed: 3},
		BySystem: map[string]int64{"1": 47, "6": 41}, Total: 88}, counts)

	c, s, _ = mockClient(t, answerWith("["+fixture(t, "payments_byid.json")+"]"))
	one, err := c.GetPayment(ctx, "97452")
	require.NoError(t, err, "byid answers an array of one")
	assert.Equal(t, "10000.00", one.Amount.String())
	assert.Equal(t, "id=97452", s.reqs[0].URL.RawQuery)
	c, _, _ = mockClient(t, answerWith(fixture(t, "payments_byid.json")))
	_, err = c.GetPayment(ctx, "97452")
	require.NoError(t, err, "and an object is read too")

	c, _, _ = mockClient(t, answerWith(fixture(t, "options_byid.json")))
	opts, err := c.PaymentOptions(ctx, "105842")
	require.NoError(t, err)
	assert.Equal(t, "5***********8624", opts["CARD_NUMBER"])
	assert.Equal(t, "AUTHENTICATED", opts["3DSECURE"])

	c, _, _ = mockClient(t, answerWith(fixture(t, "refunds_bypaymentid.json")))
	refunds, err := c.Refunds(ctx, "436")
	require.NoError(t, err)
	assert.Equal(t, "22570.00", refunds[0].Amount.String())
	assert.Equal(t, "0.00", refunds[0].Remainder.String(), "the document's 'reminder'")
	assert.Equal(t, RefundDone, refunds[0].Status)
}

func TestInvoicesOfTheDocument(t *testing.T) {
	ctx := context.Background()
	c, _, _ := mockClient(t, answerWith(fixture(t, "invoice_byid.json")))
	inv, err := c.GetInvoice(ctx, "20110115085347329")
	require.NoError(t, err)
	assert.Equal(t, "1205.98", inv.Amount.String())
	assert.Equal(t, InvoicePaid, inv.Status)
	assert.Equal(t, "1337", inv.OrderID)
	assert.True(t, inv.Created.Equal(time.Date(2011, 1, 15, 5, 53, 47, 0, time.UTC)), "2011 Moscow is UTC+3: %v", inv.Created)

	c, s, _ := mockClient(t, answerWith(fixture(t, "invoice_listcount.json")))
	n, err := c.CountInvoices(ctx, InvoiceFilter{Start: day1, End: day2, Statuses: []InvoiceStatus{InvoiceExpired, InvoiceSent, InvoicePaid}})
	require.NoError(t, err)
	assert.Equal(t, InvoiceCounts{ByStatus: map[InvoiceStatus]int64{InvoicePaid: 7, InvoiceExpired: 9, InvoiceSent: 1}, Total: 17}, n)
	assert.Equal(t, "2014-04-14", s.reqs[0].URL.Query().Get("start_date"))

	c, _, _ = mockClient(t, answerWith(`{"result":"fail","msg":"Счёт не найден."}`))
	_, err = c.GetInvoice(ctx, "1")
	assert.ErrorIs(t, err, payments.ErrNotFound)
	assert.ErrorIs(t, err, ErrInvoiceNotFound)
}

func TestSettingsOfTheDocument(t *testing.T) {
	ctx := context.Background()
	c, _, _ := mockClient(t, answerWith(fixture(t, "user_settings.json")))
	us, err := c.UserSettings(ctx)
	require.NoError(t, err)
	assert.Equal(t, UserSettings{User: "admin", RefundAllowed: true, Refunds: 0, Admin: true}, us)

	c, _, _ = mockClient(t, answerWith(fixture(t, "organization_fields.json")))
	ff, err := c.FormFields(ctx)
	require.NoError(t, err)
	assert.Equal(t, "clientid", ff[0].Name)
	assert.False(t, ff[0].Required, "the example repeats required; JSON keeps the last")
	assert.Equal(t, int64(20), ff[0].Order)

	c, s, _ := mockClient(t, answerWith(`{"result":"success"}`))
	require.NoError(t, c.ChangeSetting(ctx, "informer_url", "https://shop.example/pk"))
	assert.Equal(t, "informer_url", s.form[1].Get("name"))
	assert.ErrorIs(t, c.ChangeSetting(ctx, "shopname", "x"), payments.ErrInvalidRequest)
	assert.ErrorIs(t, c.ChangeFormField(ctx, FormFieldChange{Name: "sum"}), payments.ErrInvalidRequest)
	assert.Len(t, s.reqs, 2, "refused before sending")
	yes := true
	require.NoError(t, c.ChangeFormField(ctx, FormFieldChange{Name: "client_email", Required: &yes}))
	assert.Equal(t, url.Values{"pk_name": {"client_email"}, "required": {"true"}, "token": {fmt.Sprintf("%032d", 1)}}, s.form[2])
}

func TestTokenIsFetchedOnceAndSentInTheForm(t *testing.T) {
	c, s, tokens := mockClient(t, answerWith(`{"result":"success"}`))
	var wg sync.WaitGroup
	for i := 0; i < 100; i++ {
		wg.Add(1)
		go func() { defer wg.Done(); assert.NoError(t, c.ResetNotificationCounter(context.Background(), "42")) }()
	}
	wg.Wait()
	assert.EqualValues(t, 1, tokens.Load(), "100 concurrent POSTs, one token fetch")
	for i, r := range s.reqs {
		if r.Method == http.MethodPost {
			assert.Equal(t, "application/x-www-form-urlencoded", r.Header.Get("Content-Type"))
			assert.Equal(t, fmt.Sprintf("%032d", 1), s.form[i].Get("token"))
			assert.Empty(t, r.URL.RawQuery, "the token goes in the body")
		}
	}
}

func TestRejectedTokenIsRefreshedAndThePostSentOnceMore(t *testing.T) {
	var posts atomic.Int32
	c, _, tokens := mockClient(t, func(r *http.Request, f url.Values) (int, string) {
		if posts.Add(1) == 1 {
			return 200, `{"result":"fail","msg":"\u0422\u043e\u043a\u0435\u043d \u0431\u0435\u0437\u043e\u043f\u0430\u0441\u043d\u043e\u0441\u0442\u0438 \u043d\u0435 \u0432\u0435\u0440\u0435\u043d.","error_code":67}`
		}
		return 200, `{"result":"success"}`
	})
	require.NoError(t, c.RefundPayment(context.Background(), RefundParams{PaymentID: "97452", Amount: payments.MustDecimal("10")}))
	assert.EqualValues(t, 2, tokens.Load())
	assert.EqualValues(t, 2, posts.Load())

	// A second rejection is not retried again.
	c, _, _ = mockClient(t, answerWith(`{"result":"fail","msg":"Токен безопасности не верен."}`))
	err := c.RefundPayment(context.Background(), RefundParams{PaymentID: "97452", Full: true})
	assert.ErrorIs(t, err, ErrTokenRejected)
	assert.ErrorIs(t, err, ErrRefused)
	assert.NotErrorIs(t, err, payments.ErrOutcomeUnknown)
}

func TestTokenExpiresAfter24Hours(t *testing.T) {
	c, _, tokens := mockClient(t, answerWith(`{"result":"success"}`))
	now := time.Now()
	c.tok.now = func() time.Time { return now }
	require.NoError(t, c.ResetNotificationCounter(context.Background(), "1"))
	now = now.Add(TokenLifetime - time.Minute)
	require.NoError(t, c.ResetNotificationCounter(context.Background(), "1"))
	assert.EqualValues(t, 1, tokens.Load())
	now = now.Add(2 * time.Minute)
	require.NoError(t, c.ResetNotificationCounter(context.Background(), "1"))
	assert.EqualValues(t, 2, tokens.Load())
}

func TestRefundOnTheWire(t *testing.T) {
	c, s, _ := mockClient(t, answerWith(`{"result":"success"}`))
	ctx := context.Background()
	require.NoError(t, c.RefundPayment(ctx, RefundParams{PaymentID: "436", Full: true}))
	assert.Equal(t, "false", s.form[1].Get("partial"))
	assert.Empty(t, s.form[1].Get("amount"), "a full refund gives no amount (the document)")
	require.NoError(t, c.RefundPayment(ctx, RefundParams{PaymentID: "436", Amount: payments.MustDecimal("100.5"),
		Cart: []CartItem{{Name: "Товар", Price: payments.MustDecimal("100.5"), Quantity: payments.MustDecimal("1"), Sum: payments.MustDecimal("100.5"), Tax: "none"}}}))
	assert.Equal(t, "100.50", s.form[2].Get("amount"))
	assert.Equal(t, "true", s.form[2].Get("partial"))
	assert.Equal(t, `[{"name":"Товар","price":100.50,"quantity":1,"sum":100.50,"tax":"none"}]`, s.form[2].Get("refund_cart"))
	for _, bad := range []RefundParams{{}, {PaymentID: "1", Amount: payments.MustDecimal("-1")}, {PaymentID: "1", Amount: payments.MustDecimal("0.001")},
		{PaymentID: "1", Cart: []CartItem{{Name: "x"}}}, {PaymentID: "1", Full: true, Cart: []CartItem{{Name: "x"}}}} {
		assert.ErrorIs(t, c.RefundPayment(ctx, bad), payments.ErrInvalidRequest)
	}
	assert.Len(t, s.reqs, 3)

	// A full refund carries the receipt cart too, and the SBP refund target.
	require.NoError(t, c.RefundPayment(ctx, RefundParams{PaymentID: "436", Full: true, SBPRefundTo: "79161234567",
		Cart: []CartItem{{Name: "Товар", Price: payments.MustDecimal("1"), Quantity: payments.MustDecimal("2"), Sum: payments.MustDecimal("2"), Tax: "vat20"}}}))
	assert.Equal(t, url.Values{"id": {"436"}, "partial": {"false"}, "token": {s.form[1].Get("token")}, "sbp_refund_to": {"79161234567"},
		"refund_cart": {`[{"name":"Товар","price":1.00,"quantity":2,"sum":2.00,"tax":"vat20"}]`}}, s.form[3])
	assert.ErrorIs(t, c.RefundPayment(ctx, RefundParams{PaymentID: "1", Full: true, SBPRefundTo: "\xff"}), payments.ErrInvalidRequest)
	assert.Len(t, s.reqs, 4)
}

func TestRefundIsNeverResent(t *testing.T) {
	for _, st := range []int{500, 502, 504} {
		var posts atomic.Int32
		c, _, _ := mockClient(t, func(*http.Request, url.Values) (int, string) { posts.Add(1); return st, "oops" })
		err := c.RefundPayment(context.Background(), RefundParams{PaymentID: "436", Amount: payments.MustDecimal("1")})
		assert.ErrorIs(t, err, payments.ErrOutcomeUnknown)
		var ou *payments.OutcomeUnknownError
		require.ErrorAs(t, err, &ou)
		assert.Equal(t, "436", ou.Ref)
		assert.EqualValues(t, 1, posts.Load())
	}
	// An HTML page that is not the login page proves nothing: the invoice
	// may have been created.
	c, _, _ := mockClient(t, answerWith(`<html>`))
	_, err := c.CreateInvoice(context.Background(), InvoiceParams{Amount: payments.MustDecimal("1"), OrderID: "A-1"})
	assert.ErrorIs(t, err, payments.ErrOutcomeUnknown)
}

func TestCreateInvoiceOnTheWire(t *testing.T) {
	c, s, _ := mockClient(t, answerWith(`{"invoice_id":"20120229133742255","invoice_url":"https://demo.server.paykeeper.ru/bill/20120229133742255/","invoice":"<HTML>"}`))
	inv, err := c.CreateInvoice(context.Background(), InvoiceParams{
		Amount: payments.MustDecimal("42.5"), ClientID: "Иванов Иван Иванович", OrderID: "Заказ № 10", Email: "test@example.com", Phone: "8 (910) 123-45-67",
		Service: ServiceName{Name: "Услуга", UserResultCallback: "https://shop.example/done", Lang: "ru",
			Cart: []CartItem{{Name: "Услуга", Price: payments.MustDecimal("42.5"), Quantity: payments.MustDecimal("1"), Sum: payments.MustDecimal("42.5"), Tax: "vat20"}}},
		Expiry: Date{2026, 12, 1},
	})
	require.NoError(t, err)
	assert.Equal(t, CreatedInvoice{ID: "20120229133742255", URL: "https://demo.server.paykeeper.ru/bill/20120229133742255/", PreviewHTML: "<HTML>"}, inv)
	f := s.form[1]
	assert.Equal(t, "42.50", f.Get("pay_amount"))
	assert.Equal(t, "Заказ № 10", f.Get("orderid"))
	assert.Equal(t, "Иванов Иван Иванович", f.Get("clientid"))
	assert.Equal(t, "2026-12-01", f.Get("expiry"), "a date: the document's YYYY-MM-DD, exclusive")
	assert.Equal(t, `{"service_name":"Услуга","user_result_callback":"https://shop.example/done","lang":"ru","cart":[{"name":"Услуга","price":42.50,"quantity":1,"sum":42.50,"tax":"vat20"}]}`, f.Get("service_name"))

	c, s, _ = mockClient(t, answerWith(`{"invoice_id":"1","invoice_url":"u","invoice":""}`))
	_, err = c.CreateInvoice(context.Background(), InvoiceParams{Amount: payments.MustDecimal("1"), Service: ServiceName{Name: "Plain"}})
	require.NoError(t, err)
	assert.Equal(t, "Plain", s.form[1].Get("service_name"), "a plain name stays plain")
}

func TestErrorsKeepStatusCodeAndText(t *testing.T) {
	c, _, _ := mockClient(t, func(*http.Request, url.Values) (int, string) {
		return 200, `[{"result":"fail","msg":"Сумма возврата превышает остаток","error_code":"12"}]`
	})
	err := c.RefundPayment(context.Background(), RefundParams{PaymentID: "1", Amount: payments.MustDecimal("5")})
	var api *payments.APIError
	require.ErrorAs(t, err, &api)
	assert.Equal(t, 200, api.HTTPStatus)
	assert.Equal(t, "12", api.Code)
	assert.Equal(t, "Сумма возврата превышает остаток", api.Message)
	assert.ErrorIs(t, err, payments.ErrDeclined)
	assert.NotErrorIs(t, err, payments.ErrOutcomeUnknown, "a refusal is an answer")

	c, _, _ = mockClient(t, func(*http.Request, url.Values) (int, string) { return 401, "Unauthorized" })
	_, err = c.UserSettings(context.Background())
	assert.ErrorIs(t, err, payments.ErrUnauthorized)
	assert.NotContains(t, err.Error(), "hunter2")
}

func TestExportStreamsAndChecksItsFilter(t *testing.T) {
	payload := string(xlsxLike(t, 100000))
	c, s, _ := mockClient(t, answerWith(payload))
	var buf strings.Builder
	f := ExportFilter{PaymentFilter: PaymentFilter{Start: day1, End: day2, Statuses: []PaymentStatus{PaymentSuccess}, PaymentSystemIDs: []string{"1"}}, Limit: 1000}
	n, err := c.ExportPayments(context.Background(), &buf, f)
	require.NoError(t, err)
	assert.EqualValues(t, len(payload), n)
	assert.Equal(t, payload, buf.String())
	q := s.reqs[0].URL.Query()
	assert.Equal(t, "xlsx", q.Get("type"))
	assert.Equal(t, "1000", q.Get("limit"))
	f.Limit = 1001
	_, err = c.ExportPayments(context.Background(), &buf, f)
	assert.ErrorIs(t, err, payments.ErrInvalidRequest)
	assert.Len(t, s.reqs, 1)

	c, _, _ = mockClient(t, answerWith(`{"result":"fail","msg":"Нет данных"}`))
	buf.Reset()
	f.Limit = 10
	_, err = c.ExportPayments(context.Background(), &buf, f)
	assert.ErrorIs(t, err, payments.ErrDeclined)
	assert.Zero(t, buf.Len(), "a JSON error never reaches the writer")
}

func TestSecretsDoNotPrint(t *testing.T) {
	cred := Credentials{User: "demo", Password: "hunter2-pk"}
	assert.NotContains(t, fmt.Sprintf("%v %+v %#v", cred, cred, cred), "hunter2")
	s := OrganizationSettings{InformerSeed: "seed-secret", SMTPPassword: "smtp-secret"}
	assert.NotContains(t, fmt.Sprintf("%v %+v %#v", s, s, s), "secret")
	u := NewUser{Login: "a", Password: "user-secret"}
	assert.NotContains(t, fmt.Sprintf("%v %+v %#v", u, u, u), "secret")
}

func TestStatusStates(t *testing.T) {
	for s, want := range map[PaymentStatus]payments.State{PaymentObtained: payments.StateSucceeded, PaymentStuck: payments.StateSucceeded,
		PaymentSuccess: payments.StateSucceeded, PaymentCanceled: payments.StateCanceled, PaymentFailed: payments.StateFailed,
		PaymentRefunded: payments.StateRefunded, PaymentPending: payments.StatePending, "odd": payments.StateUnknown} {
		assert.Equal(t, want, s.State(), string(s))
	}
	assert.True(t, PaymentStuck.MoneyTaken())
	assert.Equal(t, payments.StateCanceled, InvoiceExpired.State())
	assert.Equal(t, payments.StateRefunded, RefundDone.State())
}

func FuzzDecoders(f *testing.F) {
	for _, name := range []string{"systems_sums.json", "payments_bydate.json", "payments_byid.json", "invoice_byid.json", "payments_bydatecount.txt", "invoice_listcount.json", "refunds_bypaymentid.json", "errors_total.json"} {
		f.Add([]byte(fixture(f, name)))
	}
	f.Add([]byte(`{"receipts":[{"id":"1","sum":"1.00"}]}`))
	f.Add([]byte(`[{"result":"success","receipt_id":3301,"payment_id":"97452"}]`))
	f.Add([]byte(`{"result":"fail","msg":"x","error_code":67}`))
	c, _, _ := mockClient(f, answerWith(`{}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		resp := &transport.Response{Status: 200, Body: b}
		_, _ = decodeList(c, "x", resp, readPayment)
		_, _ = decodeOne(c, "x", resp, readInvoice)
		if m, err := mergedObjects(b); err == nil {
			_, _ = subList(m, "statuses")
			_, _ = fullCount(m)
		}
		_ = failEnvelope("x", 200, b)
		// The decoders of the receipts list and the write answers with an id.
		if list, err := receiptObjects(b); err == nil {
			for _, m := range list {
				r := readReceipt(m)
				if !json.Valid(r.Raw) {
					t.Fatalf("receipt Raw is not JSON: %q", r.Raw)
				}
			}
		}
		if m, err := writeObject(b); err == nil {
			_, _ = digitsField(m, "receipt_id")
			_, _ = digitsField(m, "payment_id")
		}
	})
}
