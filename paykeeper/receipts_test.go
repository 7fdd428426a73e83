package paykeeper

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/internal/testcheck"
)

// The receipt goes on the wire field for field as the fixture (pretix's
// fields) plus the token.
func TestPrintReceiptOnTheWire(t *testing.T) {
	c, s, _ := mockClient(t, answerWith(`[{"result":"success","receipt_id":"3301"}]`))
	id, err := c.PrintReceipt(context.Background(), ReceiptParams{PaymentID: "97452", Type: ReceiptSale, PostSale: true,
		Amount: payments.MustDecimal("1500"), Contact: "client@example.com", ReceiptKey: "A-1001-final",
		Cart: []CartItem{{Name: "Доставка", Price: payments.MustDecimal("1500"), Quantity: payments.MustDecimal("1"), Sum: payments.MustDecimal("1500"), Tax: "none", PaymentType: "full"}}})
	require.NoError(t, err)
	assert.Equal(t, "3301", id)
	last := len(s.reqs) - 1
	assert.Equal(t, "/change/receipt/print/", s.reqs[last].URL.Path)
	want := fixtureValues(t, "receipt_print_request.json")
	want.Set("token", "00000000000000000000000000000001")
	assert.Equal(t, want, s.form[last])
}

func TestPostSaleReceiptOnTheWire(t *testing.T) {
	c, s, _ := mockClient(t, answerWith(`{"result":"success","receipt_id":3302}`))
	id, err := c.PostSaleReceipt(context.Background(), "97452")
	require.NoError(t, err)
	assert.Equal(t, "3302", id)
	last := len(s.reqs) - 1
	assert.Equal(t, http.MethodPost, s.reqs[last].Method)
	assert.Equal(t, "/change/payment/post-sale-receipt/", s.reqs[last].URL.Path)
	assert.Equal(t, []string{"id", "token"}, sortedKeys(s.form[last]))
	assert.Equal(t, "97452", s.form[last].Get("id"))
}

func sortedKeys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

func TestReceiptWritesSucceedOnlyWithAReceiptID(t *testing.T) {
	for body, want := range map[string]testcheck.Outcome{
		`{"result":"success","receipt_id":"1"}`:    testcheck.Done,
		`[{"result":"success","receipt_id":1}]`:    testcheck.Done,
		`{"result":"success"}`:                     testcheck.Unknown,
		`{"receipt_id":"1"}`:                       testcheck.Unknown,
		`{"result":"success","receipt_id":"x"}`:    testcheck.Unknown,
		`{"result":"fail","msg":"Чек уже создан"}`: testcheck.Refused,
	} {
		c, _ := mockAnswers(t, answer{200, body, nil})
		_, err := c.PostSaleReceipt(context.Background(), "1")
		testcheck.WriteOutcome(t, err, want)
	}
}

func TestReceiptInputRefusedBeforeSending(t *testing.T) {
	c, s, _ := mockClient(t, answerWith(`{"result":"success","receipt_id":"1"}`))
	cart := []CartItem{{Name: "x", Price: payments.MustDecimal("1"), Quantity: payments.MustDecimal("1"), Sum: payments.MustDecimal("1"), Tax: "none"}}
	for name, p := range map[string]ReceiptParams{
		"no payment":   {Type: ReceiptSale, Amount: payments.MustDecimal("1"), Cart: cart},
		"bad type":     {PaymentID: "1", Type: "sell", Amount: payments.MustDecimal("1"), Cart: cart},
		"three places": {PaymentID: "1", Type: ReceiptRefund, Amount: payments.MustDecimal("1.001"), Cart: cart},
		"no cart":      {PaymentID: "1", Type: ReceiptSale, Amount: payments.MustDecimal("1")},
		"bad cart":     {PaymentID: "1", Type: ReceiptSale, Amount: payments.MustDecimal("1"), Cart: []CartItem{{Name: "x"}}},
	} {
		_, err := c.PrintReceipt(context.Background(), p)
		var ve *payments.ValidationError
		assert.ErrorAs(t, err, &ve, name)
	}
	_, err := c.PostSaleReceipt(context.Background(), "97 452")
	var ve *payments.ValidationError
	assert.ErrorAs(t, err, &ve)
	assert.Empty(t, s.reqs)
}

// The receipts answer's shape is unknown: the plausible ones are read, the
// rest refused as unreadable, never a panic.
func TestReceiptsDecodedDefensively(t *testing.T) {
	for body, n := range map[string]int{
		`[{"id":"1","type":"sale","sum":"10.00"},{"receipt_id":2,"type":"refund"}]`: 2,
		`{"id":"1","type":"sale"}`:             1,
		`{"receipts":[{"id":"1"},{"id":"2"}]}`: 2,
		`{"data":[{"id":"1"}]}`:                1,
		`[]`:                                   0,
		`[null,{"id":"5","card":"4111111111111111"}]`: 1,
	} {
		c, _, _ := mockClient(t, answerWith(body))
		rs, err := c.Receipts(context.Background(), "1")
		require.NoError(t, err, body)
		require.Len(t, rs, n, body)
		for _, r := range rs {
			assert.NotEmpty(t, r.ID, body)
			assert.True(t, json.Valid(r.Raw), body)
			assert.NotContains(t, r.Fields["card"], "4111111111111111")
		}
	}
	for _, body := range []string{`<html>`, `"x"`, `{"receipts":"x"}`, `[1]`} {
		c, _, _ := mockClient(t, answerWith(body))
		_, err := c.Receipts(context.Background(), "1")
		assert.Error(t, err, body)
	}
	// A long receipt id is an id, not a card number to mask.
	c, _, _ := mockClient(t, answerWith(`[{"id":"20261130123456789","sum":"10.00"},{"receipt_id":2026113012345678}]`))
	rs, err := c.Receipts(context.Background(), "1")
	require.NoError(t, err)
	require.Len(t, rs, 2)
	assert.Equal(t, "20261130123456789", rs[0].ID)
	assert.Equal(t, "2026113012345678", rs[1].ID)
}

func TestGetPaymentDetailsKeepsUnknownFields(t *testing.T) {
	c, s, _ := mockClient(t, answerWith(`[{"id":"97452","pay_amount":"1500.00","status":"success","orderid":"A-1","card_number":"411111******1111","bank_id":"500001","extra":{"a":1}}]`))
	d, err := c.GetPaymentDetails(context.Background(), "97452")
	require.NoError(t, err)
	assert.Equal(t, "97452", d.ID)
	assert.Equal(t, "1500.00", d.Amount.String())
	assert.Equal(t, PaymentSuccess, d.Status)
	assert.Equal(t, []string{"bank_id", "card_number", "extra"}, sortedKeys(d.Extra))
	assert.JSONEq(t, `{"a":1}`, string(d.Extra["extra"]))
	assert.Equal(t, "true", s.reqs[0].URL.Query().Get("advanced"))
	assert.Equal(t, "97452", s.reqs[0].URL.Query().Get("id"))

	c, _, _ = mockClient(t, answerWith(`[]`))
	_, err = c.GetPaymentDetails(context.Background(), "1")
	assert.ErrorIs(t, err, ErrPaymentNotFound)
	c, _, _ = mockClient(t, answerWith(`[{"id":"2"}]`))
	_, err = c.GetPaymentDetails(context.Background(), "1")
	assert.Error(t, err, "another payment")
}

func TestErrorTotalsOfTheFixture(t *testing.T) {
	c, s, _ := mockClient(t, answerWith(fixture(t, "errors_total.json")))
	e, err := c.ErrorTotals(context.Background())
	require.NoError(t, err)
	assert.Equal(t, "/info/errors/total/", s.reqs[0].URL.Path)
	assert.Equal(t, ErrorTotals{Total: 7, Groups: []ErrorGroup{{Code: "05", Total: 5, Description: "Отказ банка-эмитента"},
		{Code: "51", Total: 2, Description: "Недостаточно средств"}}}, e)
	for _, body := range []string{`{"total":"x"}`, `{"totalWithGroup":"x"}`, `null`, `<html>`} {
		c, _, _ := mockClient(t, answerWith(body))
		_, err := c.ErrorTotals(context.Background())
		assert.Error(t, err, body)
	}
}
