package royalpay

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/jarcoal/httpmock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/paysdk/payments"
)

const base = "https://royal-finance.org"

func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	require.NoError(t, err)
	return b
}

type sent struct {
	method, path string
	header       http.Header
	body         []byte
}

func mockClient(t *testing.T, status int, body string) (*Client, *[]sent) {
	t.Helper()
	mock := httpmock.NewMockTransport()
	var log []sent
	mock.RegisterNoResponder(func(r *http.Request) (*http.Response, error) {
		var b []byte
		if r.Body != nil {
			b, _ = io.ReadAll(r.Body)
		}
		log = append(log, sent{r.Method, r.URL.Path, r.Header.Clone(), b})
		resp := httpmock.NewStringResponse(status, body)
		resp.Header.Set("Content-Type", "application/json")
		return resp, nil
	})
	c, err := New(Credentials{Token: "sk_test_secret_token"}, payments.WithBaseURL(base), payments.WithTransport(mock),
		payments.WithLimiter(payments.Unlimited()),
		payments.WithRetry(payments.RetryPolicy{MaxAttempts: 3, BaseDelay: time.Millisecond, MaxDelay: time.Millisecond}))
	require.NoError(t, err)
	return c, &log
}

// The document's thirteen request examples, as CreateParams.
var docRequests = []CreateParams{
	{Sum: payments.MustDecimal("1500"), Type: TypeSBP, Bank: "Tinkoff", ClientID: "client_ABC123", OutterID: "ORD-982134", Geo: GeoRussia, AllowAnotherAmount: true, CallbackURL: "https://yourdomain.com/payment/callback"},
	{Sum: payments.MustDecimal("1800"), Type: TypeCard, Bank: "Sber", ClientID: "client_001", OutterID: "CARD-99122", Geo: GeoRussia, CallbackURL: "https://yourdomain.com/payment/callback"},
	{Sum: payments.MustDecimal("1000"), Type: TypeSBP, IntrabankTransfer: true, Bank: "Alfa", ClientID: "client_ABC123", OutterID: "ORD-982134", Geo: GeoRussia, AllowAnotherAmount: true, CallbackURL: "https://yourdomain.com/payment/callback"},
	{Sum: payments.MustDecimal("500"), Type: TypeCard, IntrabankTransfer: true, Bank: "Ozon", Geo: GeoRussia, OutterID: "OZ-55511", ClientID: "client_7721"},
	{Sum: payments.MustDecimal("2000"), Type: TypeSBP, IntrabankTransfer: true, Bank: "Alfa", ClientID: "CL-992", OutterID: "ORDER-ALFA-8844", Geo: GeoRussia},
	{Sum: payments.MustDecimal("2500"), Type: TypeAccount, Bank: "VTB", ClientID: "AC-551", OutterID: "ACC-12345", Geo: GeoRussia},
	{Sum: payments.MustDecimal("3200"), Type: TypeTransgranNumber, ClientID: "TG-202", OutterID: "TG-REQ-882", Geo: GeoAzerbaijan},
	{Sum: payments.MustDecimal("900"), Type: TypeTransgranSBP, ClientID: "TG-SBP-77", OutterID: "TG-SBP-REQ-994", Geo: GeoKazakhstan},
	{Sum: payments.MustDecimal("450"), Type: TypeYandexTips, ClientID: "YANDEX-TIPS-91", OutterID: "TIPS-5521", Geo: GeoRussia, CallbackURL: "https://yourdomain.com/payment/callback"},
	{Sum: payments.MustDecimal("1000"), Type: TypeNSPK, ClientID: "1234", OutterID: "NSPK-001", Bank: "Alfa", Geo: GeoRussia, CallbackURL: "https://yourdomain.com/payment/callback"},
	{Sum: payments.MustDecimal("300"), Type: TypeMobileCommerce, ClientID: "MOB-22", Bank: "Alfa", OutterID: "MOB-PAY-4411", Geo: GeoRussia},
	{Sum: payments.MustDecimal("300"), Type: TypeQRCode, ClientID: "MOB-22", Bank: "Alfa", OutterID: "MOB-PAY-4411", Geo: GeoRussia},
	{Sum: payments.MustDecimal("10000"), Type: TypeAccount, Geo: GeoMongolia},
}

func TestCreateSendsEachOfTheDocumentsRequests(t *testing.T) {
	for i, p := range docRequests {
		c, log := mockClient(t, 200, string(fixture(t, "create_response_sbp.json")))
		_, err := c.CreatePayment(context.Background(), p)
		require.NoError(t, err, "example %d", i+1)
		require.Len(t, *log, 1)
		s := (*log)[0]
		assert.Equal(t, "POST", s.method)
		assert.Equal(t, "/api/v2/payments/", s.path, "trailing slash: Django cannot redirect a POST")
		assert.JSONEq(t, string(fixture(t, fmt.Sprintf("create_request_%02d.json", i+1))), string(s.body), "example %d", i+1)
		assert.Equal(t, "Token sk_test_secret_token", s.header.Get("Authorization"))
		assert.Equal(t, "application/json", s.header.Get("Content-Type"))
	}
}

func TestCreateDecodesTheDocumentsAnswer(t *testing.T) {
	c, _ := mockClient(t, 200, string(fixture(t, "create_response_sbp.json")))
	p, err := c.CreatePayment(context.Background(), docRequests[0])
	require.NoError(t, err)
	msk := time.FixedZone("", 3*3600)
	assert.Equal(t, int64(10442449), p.ID)
	assert.Equal(t, "2500.00", p.Sum.String())
	assert.Equal(t, StatusCreated, p.Status)
	assert.Equal(t, payments.StatePending, p.Status.State())
	assert.Equal(t, TypeSBP, p.Type)
	assert.Equal(t, "Alfa", p.Bank)
	assert.Equal(t, "Альфа Банк", p.BankName)
	assert.Equal(t, "044525593", p.BIK)
	assert.Equal(t, "Рубль", p.Currency)
	assert.Equal(t, "Testov Tester Testik", p.FullName)
	assert.Equal(t, "+79874563174", p.SBPPhoneNumber)
	assert.Equal(t, "AC-551", p.ClientID)
	assert.Equal(t, "ACC-12345", p.OutterID)
	assert.Equal(t, "Россия", p.WorkCountry)
	assert.Equal(t, "https://pay-dev.royalsfinance.app/deeplink/4f90b0cd-1d74-467f-8bdc-9ab1ef414814", p.DeeplinkURL)
	assert.Empty(t, p.CardNumber)
	assert.Empty(t, p.QRCode)
	assert.True(t, p.CreatedAt.Equal(time.Date(2025, 11, 27, 14, 1, 26, 617629000, msk)))
	require.NotNil(t, p.Detail)
	d := p.Detail
	assert.Equal(t, int64(9336278), d.ID)
	for got, want := range map[string]string{d.Course.String(): "78.90", d.Rate.String(): "0.00", d.CourseWithRate.String(): "78.90",
		d.AmountInUSDT.String(): "31.6857", d.AccumulatedRate.String(): "9.00", d.AmountWithRate.String(): "2275.0000", d.AmountInUSDTWithRate.String(): "28.8340"} {
		assert.Equal(t, want, got)
	}
	assert.True(t, d.UpdatedAt.Equal(time.Date(2025, 11, 27, 14, 1, 26, 798317000, msk)))
}

func TestDistinguishingFieldsOfTheDocument(t *testing.T) {
	// The document's "Отличающее поле" snippets, merged into the SBP answer.
	cases := map[string]func(Payment) string{
		`{"id":1,"sum":1,"status":"created","card_number": "9999999999999999"}`:                                                                                         func(p Payment) string { return p.CardNumber },
		`{"id":1,"sum":1,"status":"created","account_number": "55555555555555555"}`:                                                                                     func(p Payment) string { return p.AccountNumber },
		`{"id":1,"sum":1,"status":"created","tips_id": "111111111111", "nspk_url": "https://qr.nspk.ru/csdl;jfcnsdkcjsdnfclsjfds", "sbp_phone_number": "+79874563174"}`: func(p Payment) string { return p.TipsID + " " + p.NSPKURL },
		`{"id":1,"sum":1,"status":"created","qr_code": "https://rf-static.ams3.digitaloceanspaces.com/production/ams3/payment_qr_codes/BankCard_70301_qr.png"}`:         func(p Payment) string { return p.QRCode },
		`{"id":1,"sum":1,"status":"created","qr_code_link": "https://qr_link.png", "account_number": "102267134323420005476"}`:                                          func(p Payment) string { return p.QRCodeLink + " " + p.AccountNumber },
		`{"id":1,"sum":1,"status":"created","tpay_link":"https://t.example/pay"}`:                                                                                       func(p Payment) string { return p.TPayLink },
		`{"id":"42","sum":7000,"status":"created","tips_id":111111111111}`:                                                                                              func(p Payment) string { return fmt.Sprint(p.ID, " ", p.Sum, " ", p.TipsID) },
		`{"id":1,"sum":1,"status":"created","bank_card":"777744******7414"}`:                                                                                            func(p Payment) string { return p.CardNumber },
	}
	want := []string{"9999999999999999", "55555555555555555", "111111111111 https://qr.nspk.ru/csdl;jfcnsdkcjsdnfclsjfds",
		"https://rf-static.ams3.digitaloceanspaces.com/production/ams3/payment_qr_codes/BankCard_70301_qr.png",
		"https://qr_link.png 102267134323420005476", "https://t.example/pay", "42 7000 111111111111", "777744******7414"}
	got := map[string]bool{}
	for body, f := range cases {
		p, err := decodePayment([]byte(body))
		require.NoError(t, err, body)
		got[f(p)] = true
	}
	for _, w := range want {
		assert.True(t, got[w], w)
	}
}

func TestCreateRefusesBadInputBeforeSending(t *testing.T) {
	ok := docRequests[0]
	cases := map[string]func(*CreateParams){
		"Sum":         func(p *CreateParams) { p.Sum = payments.Decimal{} },
		"Type":        func(p *CreateParams) { p.Type = "to_moon" },
		"Geo":         func(p *CreateParams) { p.Geo = "Russia" },
		"CallbackURL": func(p *CreateParams) { p.CallbackURL = "/relative" },
	}
	cases["Sum "] = func(p *CreateParams) { p.Sum = payments.MustDecimal("-1") }
	cases["Sum  "] = func(p *CreateParams) { p.Sum = payments.MustDecimal("10.005") }
	for field, mutate := range cases {
		p := ok
		mutate(&p)
		c, log := mockClient(t, 200, "{}")
		_, err := c.CreatePayment(context.Background(), p)
		var ve *payments.ValidationError
		require.ErrorAs(t, err, &ve, field)
		assert.Equal(t, field[:len(ve.Field)], ve.Field)
		assert.Empty(t, *log, field)
	}
	c, log := mockClient(t, 200, "{}")
	_, err := c.GetPayment(context.Background(), 0)
	assert.ErrorIs(t, err, payments.ErrInvalidRequest)
	assert.Empty(t, *log)
}

func TestEveryErrorShape(t *testing.T) {
	cases := []struct {
		status         int
		body           string
		code, msg      string
		cat, detail    error
		outcomeUnknown bool
	}{
		{400, `{"error": "No available cards.", "code": 40005}`, "40005", "No available cards.", payments.ErrDeclined, ErrNoAvailableCards, false},
		{400, `{"error": "No available cards.", "code": 40006}`, "40006", "No available cards.", payments.ErrDeclined, ErrNoAvailableCards, false},
		{400, `{"error": "Payment creation failed", "code": "30002"}`, "30002", "Payment creation failed", payments.ErrDeclined, ErrCreationFailed, false},
		{403, `{"error": {"code": 10401, "msg": "Учетные данные не были предоставлены."}}`, "10401", "Учетные данные не были предоставлены.", payments.ErrUnauthorized, nil, false},
		{403, `{"error": "Client is blocked. Reason: spam", "code": 50000}`, "50000", "Client is blocked. Reason: spam", payments.ErrForbidden, ErrClientBlocked, false},
		{401, `{"detail": "Недопустимый токен."}`, "", "Недопустимый токен.", payments.ErrUnauthorized, nil, false},
		{403, `{"detail": "Недостаточно прав."}`, "", "Недостаточно прав.", payments.ErrForbidden, nil, false},
		{400, `{"sum": ["Обязательное поле."], "type": ["\"x\" is not a valid choice."]}`, "", `sum: Обязательное поле.; type: "x" is not a valid choice.`, payments.ErrInvalidRequest, nil, false},
		{401, `Unauthorized`, "", "Unauthorized", payments.ErrUnauthorized, nil, false},
		{404, `<html><title>Not Found</title></html>`, "", "HTML page: Not Found", payments.ErrNotFound, nil, false},
		{500, `{"error": "Request timed out. The server took too long to respond.", "code": 50020}`, "50020", "Request timed out. The server took too long to respond.", payments.ErrUnavailable, ErrServerTimeout, true},
		{500, `Internal Server Error`, "", "Internal Server Error", payments.ErrUnavailable, nil, true},
	}
	for _, tc := range cases {
		c, log := mockClient(t, tc.status, tc.body)
		_, err := c.CreatePayment(context.Background(), docRequests[0])
		require.Error(t, err, tc.body)
		var api *payments.APIError
		require.ErrorAs(t, err, &api, tc.body)
		assert.Equal(t, tc.status, api.HTTPStatus, tc.body)
		assert.Equal(t, tc.code, api.Code, tc.body)
		assert.Equal(t, tc.msg, api.Message, tc.body)
		assert.ErrorIs(t, err, tc.cat, tc.body)
		if tc.detail != nil {
			assert.ErrorIs(t, err, tc.detail, tc.body)
		}
		assert.Equal(t, tc.outcomeUnknown, errorsIsUnknown(err), tc.body)
		assert.Len(t, *log, 1, "a create is sent once: %s", tc.body)
	}
}

func errorsIsUnknown(err error) bool {
	var ou *payments.OutcomeUnknownError
	return errors.As(err, &ou) && ou.Ref == "ORD-982134"
}

func TestUnreadableCreateAnswerIsOutcomeUnknown(t *testing.T) {
	c, _ := mockClient(t, 200, `{"sum": "12"`)
	_, err := c.CreatePayment(context.Background(), docRequests[0])
	assert.ErrorIs(t, err, payments.ErrOutcomeUnknown)
	c, _ = mockClient(t, 200, `<html></html>`)
	_, err = c.GetPayment(context.Background(), 5)
	assert.ErrorIs(t, err, payments.ErrUnavailable)
	assert.NotErrorIs(t, err, payments.ErrOutcomeUnknown)
}

func TestGetPaymentPathAndRetry(t *testing.T) {
	c, log := mockClient(t, 200, string(fixture(t, "create_response_sbp.json")))
	p, err := c.GetPayment(context.Background(), 10442449)
	require.NoError(t, err)
	assert.Equal(t, int64(10442449), p.ID)
	assert.Equal(t, "/api/v2/payments/10442449/", (*log)[0].path)
	assert.Equal(t, "GET", (*log)[0].method)

	c, log = mockClient(t, 502, "Bad Gateway")
	_, err = c.GetPayment(context.Background(), 1)
	assert.ErrorIs(t, err, payments.ErrUnavailable)
	assert.Len(t, *log, 3, "a read is retried")
}

func TestRequestTimeoutHeader(t *testing.T) {
	c, log := mockClient(t, 200, string(fixture(t, "create_response_sbp.json")))
	p := docRequests[0]
	p.RequestTimeout = 1500 * time.Millisecond
	_, err := c.CreatePayment(context.Background(), p)
	require.NoError(t, err)
	assert.Equal(t, "2", (*log)[0].header.Get("X-Request-Timeout"))
}

func TestNewNeedsATokenAndABaseURL(t *testing.T) {
	_, err := New(Credentials{})
	assert.ErrorIs(t, err, payments.ErrInvalidRequest)
	_, err = New(Credentials{Token: "x"})
	assert.ErrorContains(t, err, "WithBaseURL")
	cred := Credentials{Token: "sk_live_secret"}
	for _, s := range []string{fmt.Sprint(cred), fmt.Sprintf("%#v", cred), fmt.Sprintf("%+v", cred)} {
		assert.NotContains(t, s, "sk_live_secret")
	}
}

func TestStatusStates(t *testing.T) {
	want := map[Status]payments.State{StatusCreated: payments.StatePending, StatusCompleted: payments.StateSucceeded,
		StatusCanceled: payments.StateCanceled, StatusDeleted: payments.StateCanceled, StatusRefund: payments.StateRefunded, "weird": payments.StateUnknown}
	for s, st := range want {
		assert.Equal(t, st, s.State(), string(s))
	}
	assert.True(t, StatusRefund.Final())
	assert.False(t, StatusCreated.Final())
}

func TestPaymentStringMasksCard(t *testing.T) {
	p := Payment{ID: 1, CardNumber: "9999999999999999"}
	for _, s := range []string{fmt.Sprint(p), fmt.Sprintf("%#v", p), fmt.Sprintf("%+v", []Payment{p})} {
		assert.NotContains(t, s, "9999999999999999")
	}
}
