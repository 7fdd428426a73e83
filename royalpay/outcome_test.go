package royalpay

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/internal/transport"
	"github.com/paysdk/payments/royalpay/royalpaytest"
)

func fakeClient(t *testing.T, srv *royalpaytest.Server, opts ...payments.Option) *Client {
	t.Helper()
	c, err := New(Credentials{Token: srv.Token()}, append(append(srv.ClientOptions(), payments.WithTestTiming()), opts...)...)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func sbp(outter string) CreateParams {
	return CreateParams{Sum: payments.MustDecimal("1500"), Type: TypeSBP, OutterID: outter}
}

// 429 and 503 are not in the document's error table: nothing says a create
// answered so was left alone, so it is sent once and is outcome-unknown,
// keeping the answer's category. A read is asked again.
func TestCreateAnswered429Or503IsSentOnceAndOutcomeUnknown(t *testing.T) {
	srv := royalpaytest.NewServer(royalpaytest.WithT(t))
	c := fakeClient(t, srv)
	for _, tc := range []struct {
		status int
		body   string
		cat    error
	}{
		{429, `{"detail": "Request was throttled. Expected available in 5 seconds."}`, payments.ErrRateLimited},
		{503, `Service Unavailable`, payments.ErrUnavailable},
	} {
		before := srv.Count(royalpaytest.OpCreate)
		srv.FailNext(4, tc.status, tc.body)
		_, err := c.CreatePayment(context.Background(), sbp(fmt.Sprint("ORD-", tc.status)))
		var ou *payments.OutcomeUnknownError
		require.ErrorAs(t, err, &ou, tc.status)
		assert.Equal(t, fmt.Sprint("ORD-", tc.status), ou.Ref)
		assert.ErrorIs(t, err, tc.cat, tc.status)
		var api *payments.APIError
		require.ErrorAs(t, err, &api)
		assert.Equal(t, tc.status, api.HTTPStatus)
		assert.Equal(t, before+1, srv.Count(royalpaytest.OpCreate), "%d: sent exactly once", tc.status)
		srv.Reset()
		// Spend the rest of the queue so the next case starts clean.
		for i := 0; i < 3; i++ {
			_, _ = c.CreatePayment(context.Background(), sbp("drain"))
		}
	}
	srv.FailGetNext(1, 503, "busy")
	before := srv.Count(royalpaytest.OpGet)
	_, err := c.GetPayment(context.Background(), 999999)
	assert.ErrorIs(t, err, payments.ErrNotFound, "asked again after the 503")
	// The 503 asked again, its 404 once more without the trailing slash.
	assert.Equal(t, before+3, srv.Count(royalpaytest.OpGet))
}

// ErrOutcomeUnknown means the provider may have the payment, nothing else.
func TestCreateOutcomeUnknownOnlyWhenThePaymentMayExist(t *testing.T) {
	srv := royalpaytest.NewServer(royalpaytest.WithT(t))
	c := fakeClient(t, srv)

	// The document's refusal codes say nothing was created, whatever HTTP
	// status carries them.
	for _, tc := range []struct {
		status int
		body   string
		detail error
	}{
		{500, `{"error": "No available cards.", "code": 40005}`, ErrNoAvailableCards},
		{503, `{"error": "No available cards.", "code": 40006}`, ErrNoAvailableCards},
		{502, `{"error": "Payment creation failed", "code": "30002"}`, ErrCreationFailed},
		{500, `{"error": "Client is blocked. Reason: spam", "code": 50000}`, ErrClientBlocked},
	} {
		srv.FailNext(1, tc.status, tc.body)
		_, err := c.CreatePayment(context.Background(), sbp("ORD-refused"))
		assert.ErrorIs(t, err, tc.detail, tc.body)
		assert.NotErrorIs(t, err, payments.ErrOutcomeUnknown, tc.body)
	}
	srv.FailNext(1, 500, `{"error": {"code": 10401, "msg": "Учетные данные не были предоставлены."}}`)
	_, err := c.CreatePayment(context.Background(), sbp("ORD-refused"))
	assert.ErrorIs(t, err, payments.ErrUnauthorized)
	assert.NotErrorIs(t, err, payments.ErrOutcomeUnknown)

	// The provider's own timeout (50020) may hide a created payment.
	srv.FailNext(1, 500, `{"error": "Request timed out. The server took too long to respond.", "code": 50020}`)
	_, err = c.CreatePayment(context.Background(), sbp("ORD-50020"))
	assert.ErrorIs(t, err, ErrServerTimeout)
	assert.ErrorIs(t, err, payments.ErrOutcomeUnknown)

	// Nothing written: a closed client, a context ended before sending, a
	// refused connection.
	closed := fakeClient(t, srv)
	require.NoError(t, closed.Close())
	_, err = closed.CreatePayment(context.Background(), sbp("ORD-closed"))
	assert.ErrorIs(t, err, transport.ErrClosed)
	assert.NotErrorIs(t, err, payments.ErrOutcomeUnknown)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = c.CreatePayment(ctx, sbp("ORD-cancelled"))
	assert.ErrorIs(t, err, context.Canceled)
	assert.NotErrorIs(t, err, payments.ErrOutcomeUnknown)
	gone := royalpaytest.NewServer()
	goneClient := fakeClient(t, gone)
	gone.Close()
	_, err = goneClient.CreatePayment(context.Background(), sbp("ORD-refused-conn"))
	var te *payments.TransportError
	require.ErrorAs(t, err, &te)
	assert.False(t, te.Written)
	assert.NotErrorIs(t, err, payments.ErrOutcomeUnknown)
	assert.Empty(t, srv.Payments())
}

// A 2xx is a created payment only in the document's success shape; any
// other 2xx to a create is outcome-unknown (something answered as if it
// had acted), and to a read an error.
func TestOnlyTheDocumentedSuccessShapeIsSuccess(t *testing.T) {
	bodies := []string{
		``, `{}`, `null`, `[]`, `"ok"`, `{"ok":true}`, `<html><body>OK</body></html>`,
		`{"id": 10442449}`,
		`{"id": 10442449, "sum": "1500.00"}`,
		`{"id": 10442449, "status": "created"}`,
		`{"id": 0, "sum": "1500.00", "status": "created"}`,
		`{"id": -5, "sum": "1500.00", "status": "created"}`,
		`{"ID": 10442449, "SUM": "1500.00", "STATUS": "created"}`,
		`{"id": 10442449, "sum": "1500.00", "status": "created"} trailing`,
		`{"id": null, "sum": "1500.00", "status": "created"}`,
	}
	for _, b := range bodies {
		c, log := mockClient(t, 200, b)
		_, err := c.CreatePayment(context.Background(), sbp("ORD-shape"))
		assert.ErrorIs(t, err, payments.ErrOutcomeUnknown, "create answered 200 %q", b)
		assert.Len(t, *log, 1)
		_, err = c.GetPayment(context.Background(), 10442449)
		assert.Error(t, err, "get answered 200 %q", b)
		assert.NotErrorIs(t, err, payments.ErrOutcomeUnknown)
	}
	// A create answer must show a positive sum and a documented status; a
	// read returns a status the document does not list as it is (its State
	// is StateUnknown), and any sum that is not negative.
	for _, b := range []string{`{"id": 10442449, "sum": "0", "status": "created"}`, `{"id": 10442449, "sum": "1500.00", "status": "pending"}`} {
		c, _ := mockClient(t, 200, b)
		_, err := c.CreatePayment(context.Background(), sbp("ORD-shape"))
		assert.ErrorIs(t, err, payments.ErrOutcomeUnknown, "create answered 200 %q", b)
		_, err = c.GetPayment(context.Background(), 10442449)
		assert.NoError(t, err, b)
	}
	c, _ := mockClient(t, 200, `{"id": 10442449, "sum": "-1", "status": "created"}`)
	_, err := c.GetPayment(context.Background(), 10442449)
	assert.Error(t, err)
	// A read must answer for the id asked.
	c, _ = mockClient(t, 200, `{"id": 7, "sum": "1500.00", "status": "completed"}`)
	_, err = c.GetPayment(context.Background(), 10442449)
	assert.ErrorIs(t, err, payments.ErrUnavailable)
	// The document's example is success for both; 201 too (DRF's create).
	for _, st := range []int{200, 201} {
		c, _ = mockClient(t, st, string(fixture(t, "create_response_sbp.json")))
		_, err = c.CreatePayment(context.Background(), sbp("ORD-shape"))
		assert.NoError(t, err)
		_, err = c.GetPayment(context.Background(), 10442449)
		assert.NoError(t, err)
	}
}

func TestNilContextIsAnErrorNotAPanic(t *testing.T) {
	c, log := mockClient(t, 200, string(fixture(t, "create_response_sbp.json")))
	var nilCtx context.Context
	_, err := c.CreatePayment(nilCtx, docRequests[0])
	assert.ErrorIs(t, err, payments.ErrNilContext)
	assert.ErrorIs(t, err, payments.ErrInvalidRequest)
	_, err = c.GetPayment(nilCtx, 1)
	assert.ErrorIs(t, err, payments.ErrNilContext)
	assert.Empty(t, *log)

	// The callback handler never sees a nil context (net/http gives one), but
	// a nil request is refused too.
	h := &CallbackHandler{Client: c, BearerToken: "cb", Handle: func(context.Context, Event) error { t.Fatal("called"); return nil }}
	_, err = h.HandleCallback(nil)
	assert.Error(t, err)
}

// Close releases the client's connections: no goroutine is left behind
// once the client is closed, while the fake server still runs.
func TestCloseLeavesNoGoroutine(t *testing.T) {
	srv := royalpaytest.NewServer(royalpaytest.WithT(t))
	// The server's own goroutines are not the client's.
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	c, err := New(Credentials{Token: srv.Token()}, append(srv.ClientOptions(), payments.WithTestTiming())...)
	require.NoError(t, err)
	p, err := c.CreatePayment(context.Background(), sbp("ORD-leak"))
	require.NoError(t, err)
	_, err = c.GetPayment(context.Background(), p.ID)
	require.NoError(t, err)
	require.NoError(t, c.Close())
	require.NoError(t, c.Close(), "twice is fine")

	before := srv.Count(royalpaytest.OpCreate)
	_, err = c.CreatePayment(context.Background(), sbp("ORD-after-close"))
	assert.ErrorIs(t, err, transport.ErrClosed)
	assert.Equal(t, before, srv.Count(royalpaytest.OpCreate), "nothing sent after Close")
}

// The whole flow (create, callback, confirmation) and then Close of
// everything: nothing left.
func TestFullFlowThenCloseLeavesNoGoroutine(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	srv := royalpaytest.NewServer(royalpaytest.WithCallbackToken("cb-static-token"))
	c, err := New(Credentials{Token: srv.Token()}, append(srv.ClientOptions(), payments.WithTestTiming())...)
	require.NoError(t, err)
	got := make(chan Event, 1)
	hook := httptest.NewServer(&CallbackHandler{Client: c, BearerToken: "cb-static-token",
		Handle: func(_ context.Context, e Event) error { got <- e; return nil }})
	p := sbp("ORD-flow")
	p.CallbackURL = hook.URL
	pay, err := c.CreatePayment(context.Background(), p)
	require.NoError(t, err)
	res, err := srv.Complete(pay.ID)
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, res.Status)
	assert.Equal(t, StatusCompleted, (<-got).Status())
	require.NoError(t, c.Close())
	hook.Close()
	srv.Close()
}

func TestCreateRefusesWhatTheProviderWouldMangle(t *testing.T) {
	ok := docRequests[0]
	cases := map[string]func(*CreateParams){
		"OutterID/long":        func(p *CreateParams) { p.OutterID = strings.Repeat("x", 10000) },
		"OutterID/space":       func(p *CreateParams) { p.OutterID = " ORD-1" },
		"OutterID/control":     func(p *CreateParams) { p.OutterID = "ORD\n1" },
		"OutterID/utf8":        func(p *CreateParams) { p.OutterID = "ORD\xff" },
		"ClientID/long":        func(p *CreateParams) { p.ClientID = strings.Repeat("я", 200) },
		"Bank/space":           func(p *CreateParams) { p.Bank = "Sber " },
		"ClientIP/not-ip":      func(p *CreateParams) { p.ClientIP = "localhost" },
		"CallbackURL/long":     func(p *CreateParams) { p.CallbackURL = "https://shop.example/" + strings.Repeat("a", 3000) },
		"CallbackURL/space":    func(p *CreateParams) { p.CallbackURL = "https://shop.example/a b" },
		"CallbackURL/scheme":   func(p *CreateParams) { p.CallbackURL = "ftp://shop.example/cb" },
		"CallbackURL/nohost":   func(p *CreateParams) { p.CallbackURL = "https:///cb" },
		"Sum/digits":           func(p *CreateParams) { p.Sum = payments.MustDecimal("12345678901234") },
		"Sum/zero":             func(p *CreateParams) { p.Sum = payments.MustDecimal("0.00") },
		"Type/empty":           func(p *CreateParams) { p.Type = "" },
		"Geo/latin":            func(p *CreateParams) { p.Geo = "Russia" },
		"RequestTimeout/minus": func(p *CreateParams) { p.RequestTimeout = -1 },
	}
	for name, mutate := range cases {
		p := ok
		mutate(&p)
		c, log := mockClient(t, 200, string(fixture(t, "create_response_sbp.json")))
		_, err := c.CreatePayment(context.Background(), p)
		var ve *payments.ValidationError
		require.ErrorAs(t, err, &ve, name)
		assert.Equal(t, strings.Split(name, "/")[0], ve.Field, name)
		assert.ErrorIs(t, err, payments.ErrInvalidRequest, name)
		assert.Empty(t, *log, "%s: nothing sent", name)
		assert.Equal(t, err, p.Validate(), name)
		assert.LessOrEqual(t, len(err.Error()), 300, "%s: the error does not quote the whole value", name)
	}
	// At the limits: accepted.
	p := ok
	p.OutterID, p.ClientIP = strings.Repeat("x", 255), "2001:db8::1"
	p.Sum = payments.MustDecimal("1234567890123.45")
	p.CallbackURL = "https://shop.example/" + strings.Repeat("a", 2048-len("https://shop.example/"))
	assert.NoError(t, p.Validate())
	require.True(t, errors.Is(ok.Validate(), nil))
}
