package paykeeper

import (
	"context"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/internal/testcheck"
)

func demoBinding() BindingCharge {
	return BindingCharge{BankID: "500001", OrderID: "R-2001", Amount: payments.MustDecimal("299"), ClientID: "Иванов Иван",
		Email: "client@example.com", Phone: "+79161234567", ServiceName: "Подписка, месяц 2",
		Cart: []CartItem{{Name: "Подписка", Price: payments.MustDecimal("299"), Quantity: payments.MustDecimal("1"), Sum: payments.MustDecimal("299"), Tax: "none"}}}
}

// The charge goes on the wire field for field as the fixture (the Bitrix
// module's executeBinding fields) plus the token.
func TestChargeBindingOnTheWire(t *testing.T) {
	c, s, _ := mockClient(t, answerWith(`[{"result":"success","payment_id":"97460"}]`))
	id, err := c.ChargeBinding(context.Background(), demoBinding())
	require.NoError(t, err)
	assert.Equal(t, "97460", id)
	last := len(s.reqs) - 1
	assert.Equal(t, http.MethodPost, s.reqs[last].Method)
	assert.Equal(t, "/change/binding/execute/", s.reqs[last].URL.Path)
	want := fixtureValues(t, "binding_execute_request.json")
	want.Set("token", "00000000000000000000000000000001")
	assert.Equal(t, want, s.form[last])
}

func TestChargeBindingSucceedsOnlyWithAPaymentID(t *testing.T) {
	for body, want := range map[string]testcheck.Outcome{
		`{"result":"success","payment_id":"97460"}`:            testcheck.Done,
		`{"result":"success","payment_id":97460}`:              testcheck.Done,
		`[{"result":"success","payment_id":"97460"}]`:          testcheck.Done,
		`{"result":"success"}`:                                 testcheck.Unknown,
		`{"payment_id":"97460"}`:                               testcheck.Unknown,
		`{"result":"success","payment_id":""}`:                 testcheck.Unknown,
		`{"result":"success","payment_id":"A-1"}`:              testcheck.Unknown,
		`{"result":"success","payment_id":-1}`:                 testcheck.Unknown,
		`{"result":"success","payment_id":null}`:               testcheck.Unknown,
		`{"result":"success","payment_id":"1","msg":"Ошибка"}`: testcheck.Unknown,
		`{"result":"fail","msg":"Привязка не найдена."}`:       testcheck.Refused,
	} {
		c, _ := mockAnswers(t, answer{200, body, nil})
		id, err := c.ChargeBinding(context.Background(), BindingCharge{BankID: "1", OrderID: "R-1", Amount: payments.MustDecimal("1")})
		testcheck.WriteOutcome(t, err, want)
		if want == testcheck.Done {
			assert.Equal(t, "97460", id, body)
		} else {
			assert.Empty(t, id, body)
		}
	}
}

func TestChargeBindingRefusesBadInputBeforeSending(t *testing.T) {
	c, s, tokens := mockClient(t, answerWith(`{"result":"success","payment_id":"1"}`))
	ok := BindingCharge{BankID: "500001", OrderID: "R-1", Amount: payments.MustDecimal("1")}
	for name, mut := range map[string]func(*BindingCharge){
		"bank id letters": func(p *BindingCharge) { p.BankID = "bind-77" },
		"bank id empty":   func(p *BindingCharge) { p.BankID = "" },
		"no order":        func(p *BindingCharge) { p.OrderID = "" },
		"zero":            func(p *BindingCharge) { p.Amount = payments.Decimal{} },
		"three places":    func(p *BindingCharge) { p.Amount = payments.MustDecimal("1.001") },
		"negative":        func(p *BindingCharge) { p.Amount = payments.MustDecimal("-5") },
		"bad email":       func(p *BindingCharge) { p.Email = "\xff" },
		"bad cart":        func(p *BindingCharge) { p.Cart = []CartItem{{Name: "x"}} },
	} {
		p := ok
		mut(&p)
		_, err := c.ChargeBinding(context.Background(), p)
		var ve *payments.ValidationError
		assert.ErrorAs(t, err, &ve, name)
	}
	assert.Empty(t, s.reqs, "nothing sent")
	assert.Zero(t, tokens.Load())
}
