package paykeepertest

import (
	"errors"
	"slices"
	"time"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/internal/fakeserver"
)

// paymentView is a payment as the control API lists it.
type paymentView struct {
	ID           string     `json:"id"`
	Amount       string     `json:"amount"`
	RefundAmount string     `json:"refund_amount"`
	Status       string     `json:"status"`
	ClientID     string     `json:"clientid"`
	OrderID      string     `json:"orderid"`
	ServiceName  string     `json:"service_name"`
	Hold         bool       `json:"hold,omitempty"`
	Repeats      int        `json:"repeat_counter"`
	Pending      time.Time  `json:"pending"`
	Obtained     *time.Time `json:"obtained,omitempty"`
}

func paymentJSON(p PaymentRecord) paymentView {
	v := paymentView{ID: p.ID, Amount: p.Amount, RefundAmount: p.RefundAmount, Status: p.Status,
		ClientID: p.ClientID, OrderID: p.OrderID, ServiceName: p.ServiceName, Hold: p.Hold,
		Repeats: p.RepeatCounter, Pending: p.Pending.UTC()}
	if !p.Obtained.IsZero() {
		t := p.Obtained.UTC()
		v.Obtained = &t
	}
	return v
}

type invoiceView struct {
	ID        string    `json:"id"`
	Status    string    `json:"status"`
	Amount    string    `json:"amount"`
	ClientID  string    `json:"clientid"`
	OrderID   string    `json:"orderid"`
	Expiry    time.Time `json:"expiry"`
	PaymentID string    `json:"payment_id"`
}

func invoiceJSON(v InvoiceRecord) invoiceView {
	return invoiceView{ID: v.ID, Status: v.Status, Amount: v.Amount, ClientID: v.ClientID,
		OrderID: v.OrderID, Expiry: v.Expiry.UTC(), PaymentID: v.PaymentID}
}

// notificationView is a notification as the control API shows it: the
// merchant's answer (its first KiB), not the signed form.
type notificationView struct {
	PaymentID    string `json:"payment_id"`
	URL          string `json:"url"`
	Status       int    `json:"status"`
	Acknowledged bool   `json:"acknowledged"`
	Answer       string `json:"answer"`
	Error        string `json:"error,omitempty"`
}

func notificationJSON(n NotificationResult) notificationView {
	v := notificationView{PaymentID: n.PaymentID, URL: n.URL, Status: n.Status, Acknowledged: n.Acknowledged,
		Answer: string(n.Body[:min(len(n.Body), 1024)])}
	if n.Err != nil {
		v.Error = n.Err.Error()
	}
	return v
}

// controlOps are the operations of the control API: the shared fault
// switches and the Server's own methods.
func (s *Server) controlOps() []fakeserver.ControlOp {
	pays := fakeserver.Records[string, PaymentRecord, paymentView]{Noun: "payment", Param: "id",
		All: s.Payments, Get: s.Payment, View: paymentJSON}
	invoices := fakeserver.Records[string, InvoiceRecord, invoiceView]{Noun: "invoice", Param: "id",
		All: s.Invoices, Get: s.Invoice, View: invoiceJSON}
	return append(fakeserver.FaultOps(&s.Faults, s.Count),
		pays.ListOp("payments", "every payment, oldest first"),
		pays.GetOp("payment", "the payment with id"),
		fakeserver.ControlOp{Name: "add_payment", Params: []string{"amount", "status?", "orderid?", "clientid?", "service_name?", "hold?"},
			Doc: "store a payment as if a payer had made it (status default success, obtained for a hold); no notification (see notify)",
			Do: func(a *fakeserver.Args) (any, error) {
				spec := PaymentSpec{Amount: a.String("amount"), Status: a.String("status"), OrderID: a.String("orderid"),
					ClientID: a.String("clientid"), ServiceName: a.String("service_name"), Hold: a.Bool("hold", false)}
				if err := a.Err(); err != nil {
					return nil, err
				}
				if d, err := payments.ParseDecimal(spec.Amount); err != nil || d.Sign() <= 0 {
					return nil, fakeserver.BadRequestf("amount: %q is not a positive decimal", spec.Amount)
				}
				if spec.Status != "" && !slices.Contains(paymentStatuses, spec.Status) {
					return nil, fakeserver.BadRequestf("status: %q is none of %v", spec.Status, paymentStatuses)
				}
				return pays.Show(s.AddPayment(spec))
			}},
		fakeserver.ControlOp{Name: "set_status", Params: []string{"id", "status"},
			Doc: "set the status of payment id (pending, obtained, success, stuck, refunding...), without a notification",
			Do: func(a *fakeserver.Args) (any, error) {
				id, st := a.String("id"), a.String("status")
				if err := pays.Check(id); err != nil {
					return nil, err
				}
				if !s.SetPaymentStatus(id, st) {
					return nil, fakeserver.BadRequestf("status: %q is none of %v", st, paymentStatuses)
				}
				return pays.Show(id)
			}},
		fakeserver.ControlOp{Name: "notify", Params: []string{"id"},
			Doc: "POST the notification of payment id to the informer URL (--notify-url) and wait for the answer",
			Do: func(a *fakeserver.Args) (any, error) {
				id, err := pays.Existing(a)
				if err != nil {
					return nil, err
				}
				res, err := s.Notify(id)
				if errors.Is(err, ErrNoInformer) {
					return nil, fakeserver.BadRequestf("no informer URL: start the fake with --notify-url (informer_type post)")
				} else if err != nil {
					return nil, err
				}
				return notificationJSON(res), nil
			}},
		fakeserver.ControlOp{Name: "notifications", Read: true,
			Doc: "the notifications sent, in the order they finished",
			Do: func(*fakeserver.Args) (any, error) {
				return fakeserver.ListViews(s.Notifications(), notificationJSON), nil
			}},
		invoices.ListOp("invoices", "every invoice, oldest first"),
		fakeserver.ControlOp{Name: "pay_invoice", Params: []string{"id"},
			Doc: "pay invoice id as a payer would: a payment is made and notified; answers the payment",
			Do: func(a *fakeserver.Args) (any, error) {
				id, err := invoices.Existing(a)
				if err != nil {
					return nil, err
				}
				pid, err := s.PayInvoice(id)
				if err != nil {
					return nil, err
				}
				return pays.Show(pid)
			}},
		fakeserver.ControlOp{Name: "expire_invoice", Params: []string{"id"},
			Doc: "make unpaid invoice id expired",
			Do: func(a *fakeserver.Args) (any, error) {
				id, err := invoices.Existing(a)
				if err != nil {
					return nil, err
				}
				if !s.ExpireInvoice(id) {
					return nil, fakeserver.BadRequestf("invoice %q is paid", id)
				}
				return nil, nil
			}},
	)
}
