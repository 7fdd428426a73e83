package qiwitopuptest

import (
	"time"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/internal/fakeserver"
)

// paymentView is a payment as the control API lists it; the account is
// masked when it is a card number.
type paymentView struct {
	TransactionNumber string    `json:"transaction_number"`
	TxnID             string    `json:"txn_id"`
	ServiceID         int       `json:"service_id"`
	Account           string    `json:"account"`
	Amount            string    `json:"amount"`
	Currency          string    `json:"currency"`
	Status            int       `json:"status"`
	ResultCode        int       `json:"result_code"`
	Final             bool      `json:"final"`
	Polls             int       `json:"polls"`
	Created           time.Time `json:"created"`
}

func paymentJSON(p PaymentRecord) paymentView {
	return paymentView{TransactionNumber: p.TransactionNumber, TxnID: p.TxnID, ServiceID: p.ServiceID,
		Account: payments.MaskPAN(p.Account), Amount: p.Amount, Currency: p.ToCCY, Status: p.Status,
		ResultCode: p.ResultCode, Final: p.FinalStatus, Polls: p.Polls, Created: p.Created.UTC()}
}

type balanceView struct {
	Currency string `json:"currency"`
	Amount   string `json:"amount"`
}

// controlOps are the operations of the control API: the shared fault
// switches and the Server's own methods.
func (s *Server) controlOps() []fakeserver.ControlOp {
	pays := fakeserver.Records[string, PaymentRecord, paymentView]{Noun: "payment", Param: "txn",
		All: s.Payments, Get: s.Payment, View: paymentJSON}
	return append(fakeserver.FaultOps(&s.Faults, s.Count),
		pays.ListOp("payments", "every payment, oldest first"),
		pays.GetOp("payment", "the payment with transaction number txn"),
		fakeserver.ControlOp{Name: "balance", Params: []string{"currency?"}, Read: true,
			Doc: "the agent balance in currency (default 643, RUB)",
			Do: func(a *fakeserver.Args) (any, error) {
				ccy := a.String("currency")
				if ccy == "" {
					ccy = DefaultCurrency
				}
				b := s.Balance(ccy)
				if b == "" {
					return nil, fakeserver.NotFoundf("no agent account in %q", ccy)
				}
				return balanceView{ccy, b}, nil
			}},
		fakeserver.ControlOp{Name: "set_balance", Params: []string{"amount", "currency?"},
			Doc: "set (or open) the agent account in currency (default 643) to amount (\"10000.00\")",
			Do: func(a *fakeserver.Args) (any, error) {
				ccy := a.String("currency")
				if ccy == "" {
					ccy = DefaultCurrency
				}
				if err := s.SetBalance(ccy, a.String("amount")); err != nil {
					return nil, fakeserver.BadRequestf("%v", err)
				}
				return balanceView{ccy, s.Balance(ccy)}, nil
			}},
		fakeserver.ControlOp{Name: "complete", Params: []string{"txn"},
			Doc: "move payment txn straight to 60 (or its fail_account outcome)",
			Do: func(a *fakeserver.Args) (any, error) {
				return pays.Found(a.String("txn"), s.Complete(a.String("txn")))
			}},
		fakeserver.ControlOp{Name: "set_status", Params: []string{"txn", "status", "result_code?"},
			Doc: "set the status (and result-code, default 0) of payment txn; the balance follows",
			Do: func(a *fakeserver.Args) (any, error) {
				st, rc := a.Int("status", 0), a.Int("result_code", 0)
				if err := a.Err(); err != nil {
					return nil, err
				}
				return pays.Found(a.String("txn"), s.SetStatus(a.String("txn"), st, rc))
			}},
		fakeserver.ControlOp{Name: "fail_account", Params: []string{"account", "result_code"},
			Doc: "make payments to account end in 160 with result_code (e.g. 300); 0 undoes it",
			Do: func(a *fakeserver.Args) (any, error) {
				rc := a.Int("result_code", 0)
				if err := a.Err(); err != nil {
					return nil, err
				}
				s.FailAccount(a.String("account"), rc)
				return nil, nil
			}},
		fakeserver.ControlOp{Name: "add_wallet", Params: []string{"phone", "identified?"},
			Doc: "register a QIWI wallet for phone (identified: default true)",
			Do: func(a *fakeserver.Args) (any, error) {
				id := a.Bool("identified", true)
				if err := a.Err(); err != nil {
					return nil, err
				}
				s.AddWallet(a.String("phone"), id)
				return nil, nil
			}},
		fakeserver.ControlOp{Name: "block_account", Params: []string{"account"},
			Doc: "forbid new payments to account (319)",
			Do: func(a *fakeserver.Args) (any, error) {
				s.BlockAccount(a.String("account"))
				return nil, nil
			}},
		fakeserver.ControlOp{Name: "error_next", Params: []string{"n?", "code", "fatal?"},
			Doc: "answer the next n (1) requests with only the request-level result-code (e.g. 13), fatal default false",
			Do: func(a *fakeserver.Args) (any, error) {
				n, code, fatal := a.Count("n", 1), a.Int("code", 0), a.Bool("fatal", false)
				if err := a.Err(); err != nil {
					return nil, err
				}
				s.ErrorNext(n, code, fatal)
				return nil, nil
			}},
	)
}
