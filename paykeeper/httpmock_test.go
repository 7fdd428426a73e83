package paykeeper_test

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
	"github.com/paysdk/payments/paykeeper"
)

// These tests plug httpmock itself in with payments.WithTransport, as a
// merchant's unit tests do: a RoundTripper the SDK cannot see into.

const (
	mockBase     = "https://demo.server.paykeeper.ru"
	tokenRoute   = "GET " + mockBase + "/info/settings/token/"
	reverseRoute = "POST " + mockBase + "/change/payment/reverse/"
	byIDRoute    = "GET " + mockBase + "/info/payments/byid/"
)

func mockPayKeeper(t *testing.T) (*paykeeper.Client, *httpmock.MockTransport) {
	t.Helper()
	mock := httpmock.NewMockTransport()
	mock.RegisterResponder("GET", mockBase+"/info/settings/token/",
		httpmock.NewStringResponder(200, `{"token":"fd50e47596cff6c63c7ea0a633c0d2a8"}`))
	c, err := paykeeper.New(paykeeper.Credentials{User: "demo", Password: "mock-password-pk"},
		payments.WithBaseURL(mockBase), payments.WithTransport(mock), payments.WithTestTiming())
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return c, mock
}

// A partial refund answered by an error of the merchant's transport (an
// httpmock error responder) may have reached PayKeeper: it is sent once and
// is outcome-unknown, carrying the payment id to read Refunds by.
func TestHTTPMockRefundAnsweredByTransportErrorIsSentOnceAndOutcomeUnknown(t *testing.T) {
	c, mock := mockPayKeeper(t)
	mock.RegisterResponder("POST", mockBase+"/change/payment/reverse/",
		httpmock.NewErrorResponder(errors.New("tracing proxy: upstream reset")))
	err := c.RefundPayment(context.Background(), paykeeper.RefundParams{PaymentID: "97452", Amount: payments.MustDecimal("10")})
	require.Error(t, err)
	assert.Equal(t, 1, mock.GetCallCountInfo()[reverseRoute], "sent exactly once")
	assert.ErrorIs(t, err, payments.ErrOutcomeUnknown)
	var ou *payments.OutcomeUnknownError
	require.ErrorAs(t, err, &ou)
	assert.Equal(t, "97452", ou.Ref)
	var te *payments.TransportError
	require.ErrorAs(t, err, &te)
	assert.True(t, te.Written)
}

// A refund the mock has no responder for: httpmock answers with its own
// error, which the SDK cannot tell from a lost answer either.
func TestHTTPMockRefundWithNoResponderIsOutcomeUnknown(t *testing.T) {
	c, mock := mockPayKeeper(t) // only the token is answered
	var refunds int
	mock.RegisterNoResponder(func(r *http.Request) (*http.Response, error) {
		if r.URL.Path == "/change/payment/reverse/" {
			refunds++
		}
		return httpmock.ConnectionFailure(r)
	})
	err := c.RefundPayment(context.Background(), paykeeper.RefundParams{PaymentID: "97452", Full: true})
	assert.ErrorIs(t, err, payments.ErrOutcomeUnknown)
	assert.ErrorIs(t, err, httpmock.NoResponderFound)
	assert.Equal(t, 1, refunds, "sent exactly once")
	assert.Equal(t, 1, mock.GetCallCountInfo()[tokenRoute])
}

// A read answered by a transport error is retried as the table says: every
// attempt of WithTestTiming (4), and it is never outcome-unknown.
func TestHTTPMockReadAnsweredByTransportErrorIsRetried(t *testing.T) {
	c, mock := mockPayKeeper(t)
	mock.RegisterResponder("GET", mockBase+"/info/payments/byid/",
		httpmock.NewErrorResponder(errors.New("tracing proxy: upstream reset")))
	_, err := c.GetPayment(context.Background(), "97452")
	require.Error(t, err)
	assert.Equal(t, 4, mock.GetCallCountInfo()[byIDRoute])
	assert.NotErrorIs(t, err, payments.ErrOutcomeUnknown)
	assert.ErrorIs(t, err, payments.ErrUnavailable)
}

// A test double says "this request never left" with payments.ErrNotSent
// (wrapped or not): the refund was not sent, so it is tried again as the
// table says (every attempt of WithTestTiming) and is never outcome-unknown.
func TestHTTPMockRefundNotSentIsRetriedAndNotOutcomeUnknown(t *testing.T) {
	c, mock := mockPayKeeper(t)
	mock.RegisterResponder("POST", mockBase+"/change/payment/reverse/",
		httpmock.NewErrorResponder(fmt.Errorf("dial tcp: connection refused: %w", payments.ErrNotSent)))
	err := c.RefundPayment(context.Background(), paykeeper.RefundParams{PaymentID: "97452", Amount: payments.MustDecimal("10")})
	require.Error(t, err)
	assert.Equal(t, 4, mock.GetCallCountInfo()[reverseRoute])
	assert.NotErrorIs(t, err, payments.ErrOutcomeUnknown)
	assert.ErrorIs(t, err, payments.ErrNotSent)
	var te *payments.TransportError
	require.ErrorAs(t, err, &te)
	assert.False(t, te.Written)

	// Refused once, then answered: one refund.
	c, mock = mockPayKeeper(t)
	mock.RegisterResponder("POST", mockBase+"/change/payment/reverse/",
		httpmock.NewErrorResponder(payments.ErrNotSent).Once().Then(httpmock.NewStringResponder(200, `{"result":"success"}`)))
	require.NoError(t, c.RefundPayment(context.Background(), paykeeper.RefundParams{PaymentID: "97452", Full: true}))
	assert.Equal(t, 2, mock.GetCallCountInfo()[reverseRoute])
}
