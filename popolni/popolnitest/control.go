package popolnitest

import (
	"time"

	"github.com/paysdk/payments/internal/fakeserver"
)

// paymentView is a payment as the control API lists it.
type paymentView struct {
	TransactionID int64     `json:"transaction_id"`
	Amount        int64     `json:"amount_kopecks"`
	Msisdn        string    `json:"msisdn"`
	Status        int       `json:"status"`
	Polls         int       `json:"polls"`
	Created       time.Time `json:"created"`
}

func paymentJSON(p PaymentRecord) paymentView {
	return paymentView{TransactionID: p.TransactionID, Amount: p.Amount, Msisdn: p.Msisdn,
		Status: p.Status, Polls: p.Polls, Created: p.Created.UTC()}
}

type balanceJSON struct {
	Current     int64 `json:"current_kopecks"`
	CreditLimit int64 `json:"credit_limit_kopecks"`
}

// controlOps are the operations of the control API: the shared fault
// switches and the Server's own methods.
func (s *Server) controlOps() []fakeserver.ControlOp {
	pays := fakeserver.Records[int64, PaymentRecord, paymentView]{Noun: "payment", Param: "id",
		All: s.Payments, Get: s.Payment, View: paymentJSON}
	return append(fakeserver.FaultOps(&s.Faults, s.Count),
		pays.ListOp("payments", "every payment, oldest first"),
		pays.GetOp("payment", "the payment with transaction id"),
		fakeserver.ControlOp{Name: "balance", Read: true,
			Doc: "the balance and credit limit, in kopecks",
			Do: func(*fakeserver.Args) (any, error) {
				cur, credit := s.Balance()
				return balanceJSON{cur, credit}, nil
			}},
		fakeserver.ControlOp{Name: "set_balance", Params: []string{"current", "credit_limit?"},
			Doc: "set the balance (and the credit limit, default 0), in kopecks",
			Do: func(a *fakeserver.Args) (any, error) {
				cur, credit := a.Int64("current", 0), a.Int64("credit_limit", 0)
				if err := a.Err(); err != nil {
					return nil, err
				}
				s.SetBalance(cur, credit)
				return balanceJSON{cur, credit}, nil
			}},
		fakeserver.ControlOp{Name: "complete", Params: []string{"id"},
			Doc: "move payment id to its final status (3, or what fail_account or blacklist say)",
			Do: func(a *fakeserver.Args) (any, error) {
				id, err := pays.Key(a)
				if err != nil {
					return nil, err
				}
				return pays.Found(id, s.Complete(id))
			}},
		fakeserver.ControlOp{Name: "set_status", Params: []string{"id", "status"},
			Doc: "set the status of payment id to any code (3 debits the balance, leaving 3 credits it back)",
			Do: func(a *fakeserver.Args) (any, error) {
				id, st := a.Int64("id", 0), a.Int("status", 0)
				if err := a.Err(); err != nil {
					return nil, err
				}
				return pays.Found(id, s.SetStatus(id, st))
			}},
		fakeserver.ControlOp{Name: "fail_account", Params: []string{"msisdn", "status"},
			Doc: "make payments to msisdn end in status (e.g. 121) instead of 3; status 3 undoes it",
			Do: func(a *fakeserver.Args) (any, error) {
				st := a.Int("status", 0)
				if err := a.Err(); err != nil {
					return nil, err
				}
				s.FailAccount(a.String("msisdn"), st)
				return nil, nil
			}},
		fakeserver.ControlOp{Name: "blacklist", Params: []string{"msisdn"},
			Doc: "put msisdn on the blacklist: new payments get 423, pending ones end in 423",
			Do: func(a *fakeserver.Args) (any, error) {
				s.Blacklist(a.String("msisdn"))
				return nil, nil
			}},
		fakeserver.ControlOp{Name: "not_found_once", Params: []string{"id"},
			Doc: "the next status query for payment id answers 125 once",
			Do: func(a *fakeserver.Args) (any, error) {
				id, err := pays.Existing(a)
				if err != nil {
					return nil, err
				}
				s.NotFoundOnce(id)
				return nil, nil
			}},
		fakeserver.ControlOp{Name: "set_latency", Params: []string{"d"},
			Doc: "answer every later request d after it arrived (e.g. 600ms; 0 for none): popolni's own processing and a distant network",
			Do: func(a *fakeserver.Args) (any, error) {
				d := a.Duration("d", 0)
				if err := a.Err(); err != nil {
					return nil, err
				}
				if d < 0 || d > time.Minute {
					return nil, fakeserver.BadRequestf("d: %v is not between 0 and 1m", d)
				}
				s.SetLatency(d)
				return nil, nil
			}},
		fakeserver.ControlOp{Name: "set_api_enabled", Params: []string{"on"},
			Doc: "switch the API on or off (off: 403 \"API disabled\")",
			Do: func(a *fakeserver.Args) (any, error) {
				on := a.Bool("on", true)
				if err := a.Err(); err != nil {
					return nil, err
				}
				s.SetAPIEnabled(on)
				return nil, nil
			}},
	)
}
