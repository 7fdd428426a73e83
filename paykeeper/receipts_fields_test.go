package paykeeper

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/paykeeper/paykeepertest"
)

func refundCart() []CartItem {
	return []CartItem{{Name: "Возврат", Price: payments.MustDecimal("500"), Quantity: payments.MustDecimal("1"), Sum: payments.MustDecimal("500"), Tax: "none", PaymentType: "full"}}
}

// A refund receipt goes on the wire field for field as the fixture: the
// fields pretix's plugin sent with type refund (commit 9381e77), refund_id
// among them, plus is_post_sale=false (the client always says it) and the
// token.
func TestRefundReceiptOnTheWire(t *testing.T) {
	c, s, _ := mockClient(t, answerWith(`{"result":"success","receipt_id":"3303"}`))
	id, err := c.PrintReceipt(context.Background(), ReceiptParams{PaymentID: "97452", Type: ReceiptRefund, Amount: payments.MustDecimal("500"),
		Contact: "client@example.com", Cart: refundCart(), RefundID: "2", ReceiptKey: "A-1001-refund-2"})
	require.NoError(t, err)
	assert.Equal(t, "3303", id)
	last := len(s.reqs) - 1
	assert.Equal(t, "/change/receipt/print/", s.reqs[last].URL.Path)
	want := fixtureValues(t, "receipt_refund_print_request.json")
	want.Set("token", "00000000000000000000000000000001")
	assert.Equal(t, want, s.form[last])
}

// A receipt not tied to a payment leaves payment_id out, and only when
// asked for explicitly.
func TestReceiptWithoutPayment(t *testing.T) {
	c, s, _ := mockClient(t, answerWith(`{"result":"success","receipt_id":"3304"}`))
	_, err := c.PrintReceipt(context.Background(), ReceiptParams{NoPayment: true, Type: ReceiptSale, Amount: payments.MustDecimal("500"),
		Cart: refundCart(), ReceiptKey: "cash-desk-7"})
	require.NoError(t, err)
	last := len(s.reqs) - 1
	assert.NotContains(t, s.form[last], "payment_id")
	assert.Equal(t, "cash-desk-7", s.form[last].Get("receipt_key"))

	n := len(s.reqs)
	for name, p := range map[string]ReceiptParams{
		"both":                  {NoPayment: true, PaymentID: "1", Type: ReceiptSale, Amount: payments.MustDecimal("1"), Cart: refundCart()},
		"refund id on a sale":   {PaymentID: "1", Type: ReceiptSale, Amount: payments.MustDecimal("1"), Cart: refundCart(), RefundID: "2"},
		"refund id too long":    {PaymentID: "1", Type: ReceiptRefund, Amount: payments.MustDecimal("1"), Cart: refundCart(), RefundID: strings.Repeat("7", 65)},
		"refund id control":     {PaymentID: "1", Type: ReceiptRefund, Amount: payments.MustDecimal("1"), Cart: refundCart(), RefundID: "2\n3"},
		"refund id spaced":      {PaymentID: "1", Type: ReceiptRefund, Amount: payments.MustDecimal("1"), Cart: refundCart(), RefundID: " 2"},
		"no payment, no switch": {Type: ReceiptRefund, Amount: payments.MustDecimal("1"), Cart: refundCart()},
	} {
		_, err := c.PrintReceipt(context.Background(), p)
		var ve *payments.ValidationError
		assert.ErrorAs(t, err, &ve, name)
	}
	assert.Len(t, s.reqs, n, "refused before sending")
}

// Against the fake: a refund receipt is recorded with its refund_id and
// moves no money; an unattached receipt is recorded apart.
func TestRefundReceiptMovesNoMoney(t *testing.T) {
	srv, c, id := fakeWithPayment(t, paykeepertest.PaymentSpec{Amount: "1500.00", OrderID: "A-1001"})
	before, ok := srv.Payment(id)
	require.True(t, ok)
	_, err := c.PrintReceipt(context.Background(), ReceiptParams{PaymentID: id, Type: ReceiptRefund, Amount: payments.MustDecimal("500"),
		Cart: refundCart(), RefundID: "2"})
	require.NoError(t, err)
	after, _ := srv.Payment(id)
	assert.Equal(t, before.Status, after.Status, "a receipt refunds nothing")
	assert.Equal(t, 0, srv.Count(paykeepertest.OpReverse))
	rs := srv.Receipts(id)
	require.Len(t, rs, 1)
	assert.Equal(t, "refund", rs[0].Type)
	assert.Equal(t, "2", rs[0].RefundID)
	refunds, err := c.Refunds(context.Background(), id)
	require.NoError(t, err)
	assert.Empty(t, refunds)

	rid, err := c.PrintReceipt(context.Background(), ReceiptParams{NoPayment: true, Type: ReceiptSale, Amount: payments.MustDecimal("500"), Cart: refundCart()})
	require.NoError(t, err)
	un := srv.UnboundReceipts()
	require.Len(t, un, 1)
	assert.Equal(t, rid, un[0].ID)
	assert.Empty(t, un[0].PaymentID)
	assert.Len(t, srv.Receipts(id), 1)
}

// FuzzReceiptFields: whatever the refund id, payment id and receipt key,
// PrintReceipt never panics; what it refuses is not sent, and what it sends
// carries them exactly, payment_id only when tied to a payment.
func FuzzReceiptFields(f *testing.F) {
	f.Add("2", "97452", "A-1", false, true)
	f.Add("", "", "k", true, false)
	f.Add("2\x00", "0", "", false, true)
	f.Add(strings.Repeat("я", 65), "1", "", false, true)
	f.Fuzz(func(t *testing.T, refundID, paymentID, key string, noPayment, refund bool) {
		c, s, _ := mockClient(t, answerWith(`{"result":"success","receipt_id":"1"}`))
		typ := ReceiptSale
		if refund {
			typ = ReceiptRefund
		}
		_, err := c.PrintReceipt(context.Background(), ReceiptParams{PaymentID: paymentID, NoPayment: noPayment, Type: typ,
			Amount: payments.MustDecimal("1"), Cart: refundCart(), RefundID: refundID, ReceiptKey: key})
		if err != nil {
			for _, r := range s.reqs {
				assert.NotEqual(t, "/change/receipt/print/", r.URL.Path, "refused, yet sent")
			}
			return
		}
		last := len(s.reqs) - 1
		form := s.form[last]
		assert.Equal(t, refundID, form.Get("refund_id"))
		_, hasRefund := form["refund_id"]
		assert.Equal(t, refundID != "", hasRefund)
		assert.True(t, refundID == "" || refund, "refund_id only on a refund receipt")
		_, tied := form["payment_id"]
		assert.Equal(t, !noPayment, tied)
		if tied {
			assert.Equal(t, paymentID, form.Get("payment_id"))
		}
	})
}
