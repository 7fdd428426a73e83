package paykeepertest

import (
	"encoding/json"
	"strconv"
	"time"
)

// MsgReceiptBadType and MsgReceiptBadCart refuse a receipt (the fake's own
// wording).
const (
	MsgReceiptBadType = "Неверный тип чека."
	MsgReceiptBadCart = "Неверно указана корзина чека."
)

// ReceiptRecord is one 54-FZ receipt the server printed for a payment.
type ReceiptRecord struct {
	ID         string
	PaymentID  string
	Type       string // "sale" or "refund"
	PostSale   bool
	Sum        string // "1500.00"
	Contact    string
	Cart       string // as sent
	ReceiptKey string
	RefundID   string // refund_id, as sent
	Time       time.Time
}

func (r ReceiptRecord) json() obj {
	return obj{{"id", r.ID}, {"payment_id", r.PaymentID}, {"type", r.Type}, {"is_post_sale", boolStr(r.PostSale)},
		{"sum", r.Sum}, {"contact", strOrNull(r.Contact)}, {"receipt_key", strOrNull(r.ReceiptKey)}, {"refund_id", strOrNull(r.RefundID)}, {"datetime", dt(r.Time)}}
}

// Receipts returns the receipts printed for a payment.
func (s *Server) Receipts(paymentID string) []ReceiptRecord {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.payments[paymentID]
	if p == nil {
		return nil
	}
	return append([]ReceiptRecord(nil), p.receipts...)
}

func (s *Server) addReceiptLocked(p *payment, r ReceiptRecord) string {
	s.nextReceiptID++
	r.ID = strconv.FormatInt(s.nextReceiptID, 10)
	r.PaymentID = p.ID
	r.Time = s.now()
	p.receipts = append(p.receipts, r)
	return r.ID
}

// hPostSaleReceipt prints the final-settlement receipt of a payment whose
// money was taken: {"result":"success","receipt_id":"<id>"}. Every request
// prints one more: nothing recognises a repeat.
func (s *Server) hPostSaleReceipt(c *call) response {
	p := s.payments[c.form.Get("id")]
	if p == nil {
		return fail(MsgPaymentNotFound)
	}
	if !moneyTaken(p.Status) && p.Status != StatusPartiallyRefunded && p.Status != StatusRefunded {
		return fail(MsgNotRefundable)
	}
	id := s.addReceiptLocked(p, ReceiptRecord{Type: "sale", PostSale: true, Sum: fixed(p.amount), Contact: p.ClientEmail, Cart: p.options["cart"]})
	return jsonResponse(obj{{"result", "success"}, {"receipt_id", id}})
}

// UnboundReceipts returns the receipts printed with no payment_id (a
// receipt "с произвольными атрибутами", not tied to a payment).
func (s *Server) UnboundReceipts() []ReceiptRecord {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]ReceiptRecord(nil), s.unboundReceipts...)
}

// hReceiptPrint prints an arbitrary receipt, of a payment (payment_id) or of
// none (no payment_id): type sale or refund, sum_cashless with two
// decimals, cart a JSON array, the optional refund_id (kept as sent). It
// moves no money: a refund receipt leaves the payment as it was. Every
// request prints one more, receipt_key or not: the fake, like the client,
// does not assume PayKeeper deduplicates by it.
func (s *Server) hReceiptPrint(c *call) response {
	f := c.form
	typ := f.Get("type")
	if typ != "sale" && typ != "refund" {
		return fail(MsgReceiptBadType)
	}
	sum := f.Get("sum_cashless")
	if _, ok := exactAmount(sum); !ok {
		return fail(MsgBadAmount)
	}
	var items []json.RawMessage
	if json.Unmarshal([]byte(f.Get("cart")), &items) != nil || len(items) == 0 {
		return fail(MsgReceiptBadCart)
	}
	r := ReceiptRecord{Type: typ, PostSale: truthy(f.Get("is_post_sale")), Sum: sum, Contact: f.Get("contact"),
		Cart: f.Get("cart"), ReceiptKey: f.Get("receipt_key"), RefundID: f.Get("refund_id")}
	if _, tied := f["payment_id"]; !tied {
		s.nextReceiptID++
		r.ID = strconv.FormatInt(s.nextReceiptID, 10)
		r.Time = s.now()
		s.unboundReceipts = append(s.unboundReceipts, r)
		return jsonResponse(obj{{"result", "success"}, {"receipt_id", r.ID}})
	}
	p := s.payments[f.Get("payment_id")]
	if p == nil {
		return fail(MsgPaymentNotFound)
	}
	id := s.addReceiptLocked(p, r)
	return jsonResponse(obj{{"result", "success"}, {"receipt_id", id}})
}

// receiptsJSON lists a payment's receipts as an array of {id, payment_id,
// type, is_post_sale, sum, contact, receipt_key, refund_id, datetime}: the
// fake's choice, no source shows PayKeeper's shape.
func (p *payment) receiptsJSON() any { return mapped(p.receipts, ReceiptRecord.json) }
