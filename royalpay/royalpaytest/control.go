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

// controlOps are the operations of the control API: the shared fault
// switches (which queue for pay-in creates) and the Server's own methods.
func (s *Server) controlOps() []fakeserver.ControlOp {
	pays := fakeserver.Records[int64, PaymentRecord, paymentView]{Noun: "payment", Param: "id",
		All: s.Payments, Get: s.Payment, View: paymentJSON}
	payouts := fakeserver.Records[int64, PayoutRecord, payoutView]{Noun: "payout", Param: "id",
		All: s.Payouts, Get: s.Payout, View: payoutJSONView}
	// move is a status change of the payment or payout id (existing reads
	// it, 404 when there is none) that sends a callback.
	move := func(name, doc string, f func(int64) (CallbackResult, error), existing func(*fakeserver.Args) (int64, error)) fakeserver.ControlOp {
		return fakeserver.ControlOp{Name: name, Params: []string{"id"}, Doc: doc,
			Do: func(a *fakeserver.Args) (any, error) {
				id, err := existing(a)
				if err != nil {
					return nil, err
				}
				res, err := f(id)
				if err != nil {
					return nil, err
				}
				return callbackJSON(res), nil
			}}
	}
	callbacks := func(name, doc string, list func() []CallbackResult) fakeserver.ControlOp {
		return fakeserver.ControlOp{Name: name, Read: true, Doc: doc,
			Do: func(*fakeserver.Args) (any, error) { return fakeserver.ListViews(list(), callbackJSON), nil }}
	}
	return append(fakeserver.FaultOps(&s.Faults, s.Count),
		pays.ListOp("payments", "every pay-in payment, oldest first"),
		pays.GetOp("payment", "the pay-in payment with id"),
		payouts.ListOp("payouts", "every payout, oldest first"),
		payouts.GetOp("payout", "the payout with id"),
		move("complete", "move pay-in payment id to completed and POST its callback to its callback_url", s.Complete, pays.Existing),
		move("cancel", "move pay-in payment id to canceled and POST its callback", s.Cancel, pays.Existing),
		move("refund", "move pay-in payment id to refund and POST its callback", s.Refund, pays.Existing),
		move("delete", "move pay-in payment id to deleted and POST its callback", s.Delete, pays.Existing),
		fakeserver.ControlOp{Name: "set_amount", Params: []string{"id", "sum"},
			Doc: "change the sum of pay-in payment id (one made with is_allow_another_amount)",
			Do: func(a *fakeserver.Args) (any, error) {
				id, err := pays.Existing(a)
				if err != nil {
					return nil, err
				}
				if err := s.SetAmount(id, a.String("sum")); err != nil {
					return nil, err
				}
				return pays.Show(id)
			}},
		fakeserver.ControlOp{Name: "send_callback", Params: []string{"id", "payload"},
			Doc: "POST payload (a JSON text) as it is to the callback_url of pay-in payment id",
			Do: func(a *fakeserver.Args) (any, error) {
				id, err := pays.Existing(a)
				if err != nil {
					return nil, err
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
		move("wait_confirm", "move payout id to wait_confirm and POST its callback; a 2xx answer moves it to in_progress", s.WaitConfirm, payouts.Existing),
		move("complete_payout", "move payout id to completed and POST its callback (--notify-url)", s.CompletePayout, payouts.Existing),
		move("fail_payout", "move payout id to failed_to_send_payout and POST its callback", s.FailPayout, payouts.Existing),
		move("cancel_payout", "move payout id to canceled and POST its callback", s.CancelPayout, payouts.Existing),
		callbacks("callbacks", "the pay-in callbacks sent, in the order they finished", s.Callbacks),
		callbacks("payout_callbacks", "the payout callbacks sent, in the order they finished", s.PayoutCallbacks),
		fakeserver.ControlOp{Name: "block_client", Params: []string{"reason"},
			Doc: "answer every create 403 \"Client is blocked\" from now on; an empty reason unblocks",
			Do: func(a *fakeserver.Args) (any, error) {
				s.BlockClient(a.String("reason"))
				return nil, nil
			}},
		fakeserver.CountOp("drop_payout_next", "create the next n (1) payouts, then lose the answer", s.DropPayoutNext),
		fakeserver.FailOp("fail_payout_next", "answer the next n (1) payout creates with status (500) and body, creating nothing", s.FailPayoutNext),
		fakeserver.CountOp("drop_get_next", "close the connection of the next n (1) payment reads without an answer", s.DropGetNext),
		fakeserver.CountOp("no_cards_next", "refuse the next n (1) pay-in creates with 40005 (no cards)", s.NoCardsNext),
		fakeserver.CountOp("creation_failed_next", "refuse the next n (1) pay-in creates with 30002 (creation failed)", s.CreationFailedNext),
		fakeserver.CountOp("server_timeout_next", "create the next n (1) pay-ins, then answer 500 with 50020 (timeout)", s.ServerTimeoutNext),
	)
}
