package royalpaytest

import (
	"encoding/json"
	"time"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/internal/fakeserver"
)

// paymentView is a pay-in payment as the control API lists it.
type paymentView struct {
	ID          int64     `json:"id"`
	Sum         string    `json:"sum"`
	Type        string    `json:"type"`
	Status      string    `json:"status"`
	OutterID    string    `json:"outter_id"`
	ClientID    string    `json:"client_id"`
	CallbackURL string    `json:"callback_url"`
	Created     time.Time `json:"created"`
}

func paymentJSON(p PaymentRecord) paymentView {
	return paymentView{ID: p.ID, Sum: p.Sum, Type: p.Type, Status: p.Status, OutterID: p.OutterID,
		ClientID: p.ClientID, CallbackURL: p.CallbackURL, Created: p.CreatedAt.UTC()}
}

// payoutView is a payout as the control API lists it; the requisite is
// masked when it is a card number.
type payoutView struct {
	ID        int64     `json:"id"`
	Method    string    `json:"method"`
	Requisite string    `json:"requisite"`
	Amount    int64     `json:"amount"`
	Bank      string    `json:"bank"`
	OutterID  string    `json:"outter_id"`
	Status    string    `json:"status"`
	Polls     int       `json:"polls"`
	Created   time.Time `json:"created"`
}

func payoutJSONView(p PayoutRecord) payoutView {
	return payoutView{ID: p.ID, Method: p.Method, Requisite: payments.MaskPAN(p.Requisite), Amount: p.Amount,
		Bank: p.Bank, OutterID: p.OutterID, Status: p.Status, Polls: p.Polls, Created: p.CreatedAt.UTC()}
}

// callbackView is a callback as the control API shows it: where it went and
// the receiver's answer (its first KiB).
type callbackView struct {
	ID     int64  `json:"id"`
	URL    string `json:"url"`
	Status int    `json:"status"`
	Answer string `json:"answer"`
	Error  string `json:"error,omitempty"`
}

func callbackJSON(c CallbackResult) callbackView {
	v := callbackView{ID: c.PaymentID, URL: c.URL, Status: c.Status, Answer: string(c.Body[:min(len(c.Body), 1024)])}
	if c.Err != nil {
		v.Error = c.Err.Error()
	}
	return v
}

func callbacksJSON(cs []CallbackResult) []callbackView {
	out := make([]callbackView, len(cs))
	for i, c := range cs {
		out[i] = callbackJSON(c)
	}
	return out
}

// controlOps are the operations of the control API: the shared fault
// switches (which queue for pay-in creates) and the Server's own methods.
func (s *Server) controlOps() []fakeserver.ControlOp {
	// move is a status change that sends a callback.
	move := func(name, doc string, f func(int64) (CallbackResult, error), payout bool) fakeserver.ControlOp {
		return fakeserver.ControlOp{Name: name, Params: []string{"id"}, Doc: doc,
			Do: func(a *fakeserver.Args) (any, error) {
				id := a.Int64("id", 0)
				if err := a.Err(); err != nil {
					return nil, err
				}
				if _, ok := s.Payment(id); !ok && !payout {
					return nil, fakeserver.NotFoundf("no payment %d", id)
				}
				if _, ok := s.Payout(id); !ok && payout {
					return nil, fakeserver.NotFoundf("no payout %d", id)
				}
				res, err := f(id)
				if err != nil {
					return nil, err
				}
				return callbackJSON(res), nil
			}}
	}
	queue := func(name, doc string, f func(n int)) fakeserver.ControlOp {
		return fakeserver.ControlOp{Name: name, Params: []string{"n?"}, Doc: doc,
			Do: func(a *fakeserver.Args) (any, error) {
				n := a.Count("n", 1)
				if err := a.Err(); err != nil {
					return nil, err
				}
				f(n)
				return nil, nil
			}}
	}
	return append(fakeserver.FaultOps(&s.Faults, s.Count),
		fakeserver.ControlOp{Name: "payments", Read: true,
			Doc: "every pay-in payment, oldest first",
			Do: func(*fakeserver.Args) (any, error) {
				ps := s.Payments()
				out := make([]paymentView, len(ps))
				for i, p := range ps {
					out[i] = paymentJSON(p)
				}
				return out, nil
			}},
		fakeserver.ControlOp{Name: "payment", Params: []string{"id"}, Read: true,
			Doc: "the pay-in payment with id",
			Do: func(a *fakeserver.Args) (any, error) {
				id := a.Int64("id", 0)
				if err := a.Err(); err != nil {
					return nil, err
				}
				p, ok := s.Payment(id)
				if !ok {
					return nil, fakeserver.NotFoundf("no payment %d", id)
				}
				return paymentJSON(p), nil
			}},
		fakeserver.ControlOp{Name: "payouts", Read: true,
			Doc: "every payout, oldest first",
			Do: func(*fakeserver.Args) (any, error) {
				ps := s.Payouts()
				out := make([]payoutView, len(ps))
				for i, p := range ps {
					out[i] = payoutJSONView(p)
				}
				return out, nil
			}},
		fakeserver.ControlOp{Name: "payout", Params: []string{"id"}, Read: true,
			Doc: "the payout with id",
			Do: func(a *fakeserver.Args) (any, error) {
				id := a.Int64("id", 0)
				if err := a.Err(); err != nil {
					return nil, err
				}
				p, ok := s.Payout(id)
				if !ok {
					return nil, fakeserver.NotFoundf("no payout %d", id)
				}
				return payoutJSONView(p), nil
			}},
		move("complete", "move pay-in payment id to completed and POST its callback to its callback_url", s.Complete, false),
		move("cancel", "move pay-in payment id to canceled and POST its callback", s.Cancel, false),
		move("refund", "move pay-in payment id to refund and POST its callback", s.Refund, false),
		move("delete", "move pay-in payment id to deleted and POST its callback", s.Delete, false),
		fakeserver.ControlOp{Name: "set_amount", Params: []string{"id", "sum"},
			Doc: "change the sum of pay-in payment id (one made with is_allow_another_amount)",
			Do: func(a *fakeserver.Args) (any, error) {
				id := a.Int64("id", 0)
				if err := a.Err(); err != nil {
					return nil, err
				}
				if _, ok := s.Payment(id); !ok {
					return nil, fakeserver.NotFoundf("no payment %d", id)
				}
				if err := s.SetAmount(id, a.String("sum")); err != nil {
					return nil, err
				}
				p, _ := s.Payment(id)
				return paymentJSON(p), nil
			}},
		fakeserver.ControlOp{Name: "send_callback", Params: []string{"id", "payload"},
			Doc: "POST payload (a JSON text) as it is to the callback_url of pay-in payment id",
			Do: func(a *fakeserver.Args) (any, error) {
				id := a.Int64("id", 0)
				if err := a.Err(); err != nil {
					return nil, err
				}
				if _, ok := s.Payment(id); !ok {
					return nil, fakeserver.NotFoundf("no payment %d", id)
				}
				if !json.Valid([]byte(a.String("payload"))) {
					return nil, fakeserver.BadRequestf("payload: not a JSON text")
				}
				res, err := s.SendCallback(id, []byte(a.String("payload")))
				if err != nil {
					return nil, err
				}
				return callbackJSON(res), nil
			}},
		move("wait_confirm", "move payout id to wait_confirm and POST its callback; a 2xx answer moves it to in_progress", s.WaitConfirm, true),
		move("complete_payout", "move payout id to completed and POST its callback (--notify-url)", s.CompletePayout, true),
		move("fail_payout", "move payout id to failed_to_send_payout and POST its callback", s.FailPayout, true),
		move("cancel_payout", "move payout id to canceled and POST its callback", s.CancelPayout, true),
		fakeserver.ControlOp{Name: "callbacks", Read: true,
			Doc: "the pay-in callbacks sent, in the order they finished",
			Do:  func(*fakeserver.Args) (any, error) { return callbacksJSON(s.Callbacks()), nil }},
		fakeserver.ControlOp{Name: "payout_callbacks", Read: true,
			Doc: "the payout callbacks sent, in the order they finished",
			Do:  func(*fakeserver.Args) (any, error) { return callbacksJSON(s.PayoutCallbacks()), nil }},
		fakeserver.ControlOp{Name: "block_client", Params: []string{"reason"},
			Doc: "answer every create 403 \"Client is blocked\" from now on; an empty reason unblocks",
			Do: func(a *fakeserver.Args) (any, error) {
				s.BlockClient(a.String("reason"))
				return nil, nil
			}},
		queue("drop_payout_next", "create the next n (1) payouts, then lose the answer", s.DropPayoutNext),
		fakeserver.ControlOp{Name: "fail_payout_next", Params: []string{"n?", "status?", "body?"},
			Doc: "answer the next n (1) payout creates with status (500) and body, creating nothing",
			Do: func(a *fakeserver.Args) (any, error) {
				n, st := a.Count("n", 1), a.Int("status", 500)
				if st < 100 || st > 599 {
					return nil, fakeserver.BadRequestf("status: %d is not an HTTP status", st)
				}
				if err := a.Err(); err != nil {
					return nil, err
				}
				s.FailPayoutNext(n, st, a.String("body"))
				return nil, nil
			}},
		queue("drop_get_next", "close the connection of the next n (1) payment reads without an answer", s.DropGetNext),
		queue("no_cards_next", "refuse the next n (1) pay-in creates with 40005 (no cards)", s.NoCardsNext),
		queue("creation_failed_next", "refuse the next n (1) pay-in creates with 30002 (creation failed)", s.CreationFailedNext),
		queue("server_timeout_next", "create the next n (1) pay-ins, then answer 500 with 50020 (timeout)", s.ServerTimeoutNext),
	)
}
