package royalpay_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/jarcoal/httpmock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/royalpay"
)

// These tests plug httpmock itself in with payments.WithTransport, as a
// merchant's unit tests do: a RoundTripper the SDK cannot see into.

const (
	mockBase      = "https://royal-finance.org"
	createRoute   = "POST " + mockBase + "/api/v2/payments/"
	getRoute      = "GET " + mockBase + "/api/v2/payments/10442449/"
	createdAnswer = `{"id":10442449,"sum":"2500.00","status":"created","type":"to_sbp_number","outter_id":"ACC-12345","client_id":"AC-551"}`
)

func mockRoyalPay(t *testing.T) (*royalpay.Client, *httpmock.MockTransport) {
	t.Helper()
	mock := httpmock.NewMockTransport()
	c, err := royalpay.New(royalpay.Credentials{Token: "sk_test_mock_token"},
		payments.WithBaseURL(mockBase), payments.WithTransport(mock), payments.WithTestTiming())
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return c, mock
}

func sbpCreate(ref string) royalpay.CreateParams {
	return royalpay.CreateParams{Sum: payments.MustDecimal("2500"), Type: royalpay.TypeSBP, Bank: "Alfa",
		ClientID: "AC-551", OutterID: ref, Geo: royalpay.GeoRussia}
}

// A create answered by an error of the merchant's transport (here an
// httpmock error responder) may have reached RoyalPay: it is sent once and
// is outcome-unknown, carrying the outter_id to reconcile by.
func TestHTTPMockCreateAnsweredByTransportErrorIsSentOnceAndOutcomeUnknown(t *testing.T) {
	c, mock := mockRoyalPay(t)
	mock.RegisterResponder("POST", mockBase+"/api/v2/payments/",
		httpmock.NewErrorResponder(errors.New("tracing proxy: upstream reset")))
	_, err := c.CreatePayment(context.Background(), sbpCreate("ORD-MOCK-1"))
	require.Error(t, err)
	assert.Equal(t, 1, mock.GetCallCountInfo()[createRoute], "sent exactly once")
	assert.ErrorIs(t, err, payments.ErrOutcomeUnknown)
	var ou *payments.OutcomeUnknownError
	require.ErrorAs(t, err, &ou)
	assert.Equal(t, "ORD-MOCK-1", ou.Ref)
	var te *payments.TransportError
	require.ErrorAs(t, err, &te)
	assert.True(t, te.Written)
}

// A create the mock has no responder for: httpmock answers with its own
// error, which the SDK cannot tell from a lost answer either.
func TestHTTPMockCreateWithNoResponderIsOutcomeUnknown(t *testing.T) {
	c, mock := mockRoyalPay(t)
	var attempts int
	mock.RegisterNoResponder(func(r *http.Request) (*http.Response, error) {
		attempts++
		return httpmock.ConnectionFailure(r)
	})
	_, err := c.CreatePayment(context.Background(), sbpCreate("ORD-MOCK-2"))
	assert.ErrorIs(t, err, payments.ErrOutcomeUnknown)
	assert.ErrorIs(t, err, httpmock.NoResponderFound)
	assert.Equal(t, 1, attempts, "sent exactly once")
}

// A read answered by a transport error is retried as the table says: every
// attempt of WithTestTiming (4), and it is never outcome-unknown.
func TestHTTPMockReadAnsweredByTransportErrorIsRetried(t *testing.T) {
	c, mock := mockRoyalPay(t)
	mock.RegisterResponder("GET", mockBase+"/api/v2/payments/10442449/",
		httpmock.NewErrorResponder(errors.New("tracing proxy: upstream reset")))
	_, err := c.GetPayment(context.Background(), 10442449)
	require.Error(t, err)
	assert.Equal(t, 4, mock.GetCallCountInfo()[getRoute])
	assert.NotErrorIs(t, err, payments.ErrOutcomeUnknown)
	assert.ErrorIs(t, err, payments.ErrUnavailable)
}

// A test double says "this request never left" with payments.ErrNotSent
// (wrapped or not): the create was not sent, so it is tried again as the
// table says (every attempt of WithTestTiming) and is never outcome-unknown.
func TestHTTPMockCreateNotSentIsRetriedAndNotOutcomeUnknown(t *testing.T) {
	c, mock := mockRoyalPay(t)
	mock.RegisterResponder("POST", mockBase+"/api/v2/payments/",
		httpmock.NewErrorResponder(fmt.Errorf("dial tcp: connection refused: %w", payments.ErrNotSent)))
	_, err := c.CreatePayment(context.Background(), sbpCreate("ORD-MOCK-3"))
	require.Error(t, err)
	assert.Equal(t, 4, mock.GetCallCountInfo()[createRoute])
	assert.NotErrorIs(t, err, payments.ErrOutcomeUnknown)
	assert.ErrorIs(t, err, payments.ErrNotSent)
	var te *payments.TransportError
	require.ErrorAs(t, err, &te)
	assert.False(t, te.Written)

	// Refused once, then answered: one payment.
	c, mock = mockRoyalPay(t)
	mock.RegisterResponder("POST", mockBase+"/api/v2/payments/",
		httpmock.NewErrorResponder(payments.ErrNotSent).Once().Then(httpmock.NewStringResponder(200, createdAnswer)))
	pay, err := c.CreatePayment(context.Background(), sbpCreate("ACC-12345"))
	require.NoError(t, err)
	assert.Equal(t, int64(10442449), pay.ID)
	assert.Equal(t, 2, mock.GetCallCountInfo()[createRoute])
}
