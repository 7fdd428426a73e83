package paykeepertest

import "strconv"

// AddBinding saves a card for recurring charges as if a payer had bound it
// and returns its bank_id (digits, counting up from 500001).
func (s *Server) AddBinding() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := strconv.FormatInt(s.nextBindingID, 10)
	s.nextBindingID++
	s.bindings[id] = true
	return id
}

// hBindingExecute charges a saved card: a payment of sum for orderid (and
// the optional clientid, client_email, client_phone, service_name, cart),
// status success, answered {"result":"success","payment_id":"<id>"} as
// PayKeeper's Bitrix module reads it. An unknown bank_id is the fail object
// [MsgBindingNotFound], a sum not written "299.00" [MsgBadAmount]; nothing is
// charged then.
// Every accepted request charges again: nothing recognises a repeat.
func (s *Server) hBindingExecute(c *call) response {
	f := c.form
	amt, ok := exactAmount(f.Get("sum"))
	if !ok {
		return fail(MsgBadAmount)
	}
	if !s.bindings[f.Get("bank_id")] {
		return fail(MsgBindingNotFound)
	}
	p := s.addPaymentLocked(PaymentSpec{Status: StatusSuccess, ClientID: f.Get("clientid"), OrderID: f.Get("orderid"),
		ServiceName: f.Get("service_name"), ClientEmail: f.Get("client_email"), ClientPhone: f.Get("client_phone")}, amt)
	p.options["bank_id"] = f.Get("bank_id")
	if cart := f.Get("cart"); cart != "" {
		p.options["cart"] = cart
	}
	return jsonResponse(obj{{"result", "success"}, {"payment_id", p.ID}})
}
