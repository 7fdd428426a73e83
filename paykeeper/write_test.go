package paykeeper

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/jarcoal/httpmock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/internal/testcheck"
)

// writeCase is one write of the client, run against a mocked answer.
type writeCase struct {
	name, path string
	unsafe     bool // sent once: never resent by the transport
	ref        string
	run        func(ctx context.Context, c *Client) error
}

var createdInvoiceBody = `{"invoice_id":"20120229133742255","invoice_url":"https://demo.server.paykeeper.ru/bill/20120229133742255/","invoice":"<HTML>"}`

// everyWrite lists every POST of the client.
func everyWrite() []writeCase {
	yes, three := true, 3
	name := "Имя"
	return []writeCase{
		{"refund partial", "/change/payment/reverse/", true, "436", func(ctx context.Context, c *Client) error {
			return c.RefundPayment(ctx, RefundParams{PaymentID: "436", Amount: payments.MustDecimal("10")})
		}},
		{"refund full", "/change/payment/reverse/", true, "436", func(ctx context.Context, c *Client) error {
			return c.RefundPayment(ctx, RefundParams{PaymentID: "436", Full: true})
		}},
		{"capture", "/change/payment/capture/", true, "436", func(ctx context.Context, c *Client) error { return c.CapturePayment(ctx, "436") }},
		{"repeatcnt", "/change/payment/repeatcnt/", false, "436", func(ctx context.Context, c *Client) error {
			return c.ResetNotificationCounter(ctx, "436")
		}},
		{"invoice create", "/change/invoice/preview/", true, "A-1", func(ctx context.Context, c *Client) error {
			_, err := c.CreateInvoice(ctx, InvoiceParams{Amount: payments.MustDecimal("990"), OrderID: "A-1"})
			return err
		}},
		{"invoice send", "/change/invoice/send/", true, "20120229133742255", func(ctx context.Context, c *Client) error {
			return c.SendInvoice(ctx, "20120229133742255")
		}},
		{"invoice revoke", "/change/invoice/revoke/", false, "20120229133742255", func(ctx context.Context, c *Client) error {
			return c.RevokeInvoice(ctx, "20120229133742255")
		}},
		{"setting", "/change/organization/setting/", false, "informer_url", func(ctx context.Context, c *Client) error {
			return c.ChangeSetting(ctx, "informer_url", "https://shop.example/pk")
		}},
		{"formfield", "/change/organization/formfield/", false, "clientid", func(ctx context.Context, c *Client) error {
			return c.ChangeFormField(ctx, FormFieldChange{Name: "clientid", DisplayedName: &name, Required: &yes})
		}},
		{"add report email", "/change/organization/addreportemail/", true, "a@example.com", func(ctx context.Context, c *Client) error {
			return c.AddReportEmail(ctx, "a@example.com")
		}},
		{"delete report email", "/change/organization/deletereportemail/", false, "1", func(ctx context.Context, c *Client) error {
			return c.DeleteReportEmail(ctx, "1")
		}},
		{"add user", "/change/user/add/", true, "clerk", func(ctx context.Context, c *Client) error {
			return c.AddUser(ctx, NewUser{Login: "clerk", Password: "clerk-pw", Refunds: 1})
		}},
		{"update user", "/change/user/update/", false, "2", func(ctx context.Context, c *Client) error {
			return c.UpdateUser(ctx, UserUpdate{ID: "2", Refunds: &three})
		}},
		{"delete user", "/change/user/delete/", false, "2", func(ctx context.Context, c *Client) error { return c.DeleteUser(ctx, "2") }},
		{"post-sale receipt", "/change/payment/post-sale-receipt/", true, "436", func(ctx context.Context, c *Client) error {
			_, err := c.PostSaleReceipt(ctx, "436")
			return err
		}},
		{"print receipt", "/change/receipt/print/", true, "436", func(ctx context.Context, c *Client) error {
			_, err := c.PrintReceipt(ctx, ReceiptParams{PaymentID: "436", Type: ReceiptSale, Amount: payments.MustDecimal("10"),
				Cart: []CartItem{{Name: "x", Price: payments.MustDecimal("10"), Quantity: payments.MustDecimal("1"), Sum: payments.MustDecimal("10"), Tax: "none"}}})
			return err
		}},
		{"binding execute", "/change/binding/execute/", true, "R-1", func(ctx context.Context, c *Client) error {
			_, err := c.ChargeBinding(ctx, BindingCharge{BankID: "500001", OrderID: "R-1", Amount: payments.MustDecimal("299")})
			return err
		}},
	}
}

const loginPage = `<!DOCTYPE html><html lang="ru"><head><title>PayKeeper: вход в личный кабинет</title></head>
<body><form class="login" method="post" action="/login/"><input type="text" name="login"><input type="password" name="password"></form></body></html>`

type answer struct {
	status int
	body   string
	header http.Header
}

// mockAnswers answers the token route with a token and every other request
// with a; posts counts the POSTs.
func mockAnswers(t testing.TB, a answer) (*Client, *atomic.Int32) {
	t.Helper()
	mock := httpmock.NewMockTransport()
	var posts atomic.Int32
	mock.RegisterNoResponder(func(r *http.Request) (*http.Response, error) {
		if r.URL.Path == "/info/settings/token/" {
			return httpmock.NewStringResponse(200, `{"token":"fd50e47596cff6c63c7ea0a633c0d2a8"}`), nil
		}
		if r.Method == http.MethodPost {
			posts.Add(1)
		}
		resp := httpmock.NewStringResponse(a.status, a.body)
		for k, v := range a.header {
			resp.Header[k] = v
		}
		return resp, nil
	})
	c, err := New(Credentials{User: "demo", Password: "hunter2-pk"}, payments.WithBaseURL(base), payments.WithTransport(mock), payments.WithTestTiming())
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return c, &posts
}

// TestWriteIsDoneOnlyOnTheDocumentedSuccess runs every write against every
// kind of answer: nil only for the document's success answer, a definite
// refusal only for an answer that proves nothing was done, outcome-unknown
// (keeping the HTTP status) for the rest.
func TestWriteIsDoneOnlyOnTheDocumentedSuccess(t *testing.T) {
	const (
		done    = testcheck.Done
		refused = testcheck.Refused
		unknown = testcheck.Unknown
	)
	answers := []struct {
		name string
		a    answer
		want testcheck.Outcome
	}{
		{"success", answer{200, `{"result":"success"}`, nil}, done},
		{"success in an array of one", answer{200, `[{"result":"success"}]`, nil}, done},
		{"success with a receipt", answer{200, `{"result":"success","receipt_id":"7"}`, nil}, done},
		{"empty object", answer{200, `{}`, nil}, unknown},
		{"null", answer{200, `null`, nil}, unknown},
		{"empty array", answer{200, `[]`, nil}, unknown},
		{"pending", answer{200, `{"result":"pending"}`, nil}, unknown},
		{"Success", answer{200, `{"result":"Success"}`, nil}, unknown},
		{"result true", answer{200, `{"result":true}`, nil}, unknown},
		{"random bytes", answer{200, "\x8a\x01garbage\xff", nil}, unknown},
		{"empty body", answer{200, ``, nil}, unknown},
		{"two objects", answer{200, `{"result":"success"}{"result":"success"}`, nil}, unknown},
		{"array of two", answer{200, `[{"result":"success"},{"result":"success"}]`, nil}, unknown},
		{"cut off", answer{200, `{"result":"succ`, nil}, unknown},
		{"fail object", answer{200, `{"result":"fail","msg":"Операция невозможна","error_code":12}`, nil}, refused},
		{"fail object in an array", answer{200, `[{"result":"fail","msg":"Операция невозможна"}]`, nil}, refused},
		{"fail without msg", answer{200, `{"result":"fail"}`, nil}, unknown},
		{"HTML page", answer{200, `<!DOCTYPE html><html><head><title>PayKeeper</title></head><body>Личный кабинет</body></html>`, nil}, unknown},
		{"login page", answer{200, loginPage, nil}, refused},
		{"201 success", answer{201, `{"result":"success"}`, nil}, done},
		{"500 text", answer{500, `oops`, nil}, unknown},
		{"500 success", answer{500, `{"result":"success"}`, nil}, unknown},
		{"502", answer{502, `<html>Bad Gateway</html>`, nil}, unknown},
		{"520", answer{520, `origin error`, nil}, unknown},
		{"400", answer{400, `bad request`, nil}, refused},
		{"401 login page", answer{401, loginPage, nil}, refused},
		{"404", answer{404, `<html>Not Found</html>`, nil}, refused},
		{"303 to the login page", answer{303, ``, http.Header{"Location": {"/login/"}}}, refused},
		{"302 elsewhere", answer{302, ``, http.Header{"Location": {"/info/payments/"}}}, unknown},
		{"429", answer{429, `slow down`, nil}, unknown},
		{"503", answer{503, `maintenance`, nil}, unknown},
	}
	for _, w := range everyWrite() {
		for _, a := range answers {
			t.Run(w.name+"/"+a.name, func(t *testing.T) {
				want := a.want
				if (w.path == "/change/invoice/preview/" || w.path == "/change/binding/execute/") && want == done {
					want = unknown // not the answer of section 3.4, no payment_id
				}
				if strings.Contains(w.path, "receipt") && want == done && !strings.Contains(a.a.body, "receipt_id") {
					want = unknown // no receipt_id
				}
				c, _ := mockAnswers(t, a.a)
				err := w.run(context.Background(), c)
				testcheck.WriteOutcome(t, err, want, "hunter2-pk", "fd50e47596cff6c63c7ea0a633c0d2a8")
				if err == nil {
					return
				}
				var api *payments.APIError
				require.ErrorAs(t, err, &api, "a typed APIError under it")
				assert.Equal(t, a.a.status, api.HTTPStatus, "the HTTP status is kept")
				var ou *payments.OutcomeUnknownError
				if errors.As(err, &ou) {
					assert.Equal(t, w.ref, ou.Ref)
				}
				if strings.Contains(a.name, "fail object") {
					assert.ErrorIs(t, err, ErrRefused)
					assert.Equal(t, "Операция невозможна", api.Message, "the provider's text is kept")
				}
			})
		}
		t.Run(w.name+"/500 with a fail object", func(t *testing.T) {
			c, _ := mockAnswers(t, answer{500, `{"result":"fail","msg":"Ошибка"}`, nil})
			err := w.run(context.Background(), c)
			if w.unsafe {
				// Sent once, refused by PayKeeper itself: nothing was done.
				testcheck.WriteOutcome(t, err, refused)
			} else {
				// Sent again after the first 500, which stays unknown.
				testcheck.WriteOutcome(t, err, unknown)
			}
			assert.ErrorIs(t, err, ErrRefused)
		})
	}
}

func TestCreateInvoiceSucceedsOnlyOnTheDocumentedAnswer(t *testing.T) {
	for body, want := range map[string]testcheck.Outcome{
		createdInvoiceBody: testcheck.Done,
		`{"invoice_id":20120229133742255,"invoice":"<HTML>"}`:               testcheck.Done, // the document's example: a number
		`[{"invoice_id":"1","invoice":""}]`:                                 testcheck.Done,
		`{"invoice_id":"1","invoice":"<p>","result":"success"}`:             testcheck.Done,
		`{"result":"success"}`:                                              testcheck.Unknown,
		`{"invoice_id":"20120229133742255"}`:                                testcheck.Unknown, // no invoice
		`{"invoice":"<HTML>"}`:                                              testcheck.Unknown,
		`{"invoice_id":"","invoice":"<HTML>"}`:                              testcheck.Unknown,
		`{"invoice_id":"A-1","invoice":"<HTML>"}`:                           testcheck.Unknown, // "Строка из символов 0-9"
		`{"invoice_id":-1,"invoice":"<HTML>"}`:                              testcheck.Unknown,
		`{"invoice_id":1.5,"invoice":"<HTML>"}`:                             testcheck.Unknown,
		`{"invoice_id":"1","invoice":null}`:                                 testcheck.Unknown,
		`{"invoice_id":"1","invoice":"<p>","result":"pending"}`:             testcheck.Unknown,
		`{"result":"fail","msg":"Неверно указана сумма.","invoice_id":"1"}`: testcheck.Refused,
	} {
		c, _ := mockAnswers(t, answer{200, body, nil})
		inv, err := c.CreateInvoice(context.Background(), InvoiceParams{Amount: payments.MustDecimal("1"), OrderID: "A-1"})
		testcheck.WriteOutcome(t, err, want)
		if want == testcheck.Done {
			assert.True(t, allDigits(inv.ID), body)
		}
	}
}

// TestUnsafeWritesAreSentOnceOn429And503: the document says nothing of 429
// or 503, so an unsafe write answered so may have been carried out: sent
// once, outcome-unknown, the status kept.
func TestUnsafeWritesAreSentOnceOn429And503(t *testing.T) {
	for _, w := range everyWrite() {
		for _, st := range []int{http.StatusTooManyRequests, http.StatusServiceUnavailable} {
			c, posts := mockAnswers(t, answer{st, `busy`, http.Header{"Retry-After": {"0"}}})
			err := w.run(context.Background(), c)
			assert.ErrorIs(t, err, payments.ErrOutcomeUnknown, "%s %d", w.name, st)
			var api *payments.APIError
			require.ErrorAs(t, err, &api)
			assert.Equal(t, st, api.HTTPStatus, w.name)
			if st == 429 {
				assert.ErrorIs(t, err, payments.ErrRateLimited)
			} else {
				assert.ErrorIs(t, err, payments.ErrUnavailable)
			}
			if w.unsafe {
				assert.EqualValues(t, 1, posts.Load(), "%s %d: sent exactly once", w.name, st)
			} else {
				assert.Greater(t, posts.Load(), int32(1), "%s %d: an idempotent write is resent", w.name, st)
			}
		}
	}
}

// A refusal of the token is retried with a fresh token once; a refusal on a
// resent idempotent write cannot say the first attempt did nothing.
func TestRefusalAfterAResendIsOutcomeUnknown(t *testing.T) {
	mock := httpmock.NewMockTransport()
	var posts atomic.Int32
	mock.RegisterNoResponder(func(r *http.Request) (*http.Response, error) {
		if r.URL.Path == "/info/settings/token/" {
			return httpmock.NewStringResponse(200, `{"token":"fd50e47596cff6c63c7ea0a633c0d2a8"}`), nil
		}
		if posts.Add(1) == 1 {
			return httpmock.NewStringResponse(502, `bad gateway`), nil // maybe deleted
		}
		return httpmock.NewStringResponse(200, `{"result":"fail","msg":"Адрес не найден."}`), nil
	})
	c, err := New(Credentials{User: "demo", Password: "hunter2-pk"}, payments.WithBaseURL(base), payments.WithTransport(mock), payments.WithTestTiming())
	require.NoError(t, err)
	err = c.DeleteReportEmail(context.Background(), "1")
	assert.ErrorIs(t, err, payments.ErrOutcomeUnknown, "the first attempt may have deleted it")
	assert.ErrorIs(t, err, ErrRefused)
	assert.EqualValues(t, 2, posts.Load())
}
