package royalpaytest

import (
	"context"
	"fmt"
)

// WithPayoutCallbackURL sets where payout callbacks go (the provider's admins
// set it: "Настройка callback выполняется на стороне админов").
func WithPayoutCallbackURL(u string) Option {
	return func(c *config) { c.payoutCallback = u }
}

// PayoutCallbacks returns the payout callbacks sent, in order.
func (s *Server) PayoutCallbacks() []CallbackResult { return s.payoutCallbacks.Requests() }

// SetPayoutCallbackURL sets where payout callbacks go ("" sends none).
func (s *Server) SetPayoutCallbackURL(u string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.payoutCallback = u
}

// WaitConfirm moves payout id to wait_confirm and posts its callback. A 2xx
// answer confirms it, as the adapter of imfoxboy/Eight-Connect observes
// ("For payout wait_confirm - just return OK to activate payout"): the
// payout moves to in_progress. Any other answer, or none, leaves it in
// wait_confirm.
func (s *Server) WaitConfirm(id int64) (CallbackResult, error) {
	res, err := s.movePayout(id, PayoutWaitConfirm)
	if err == nil && res.Status >= 200 && res.Status < 300 {
		s.mu.Lock()
		if p := s.payouts.byID[id]; p.Status == PayoutWaitConfirm {
			p.Status = PayoutInProgress
		}
		s.mu.Unlock()
	}
	return res, err
}

// CompletePayout moves payout id to completed and posts its callback.
func (s *Server) CompletePayout(id int64) (CallbackResult, error) {
	return s.movePayout(id, PayoutCompleted)
}

// FailPayout moves payout id to failed_to_send_payout and posts its callback.
func (s *Server) FailPayout(id int64) (CallbackResult, error) { return s.movePayout(id, PayoutFailed) }

// CancelPayout moves payout id to canceled and posts its callback.
func (s *Server) CancelPayout(id int64) (CallbackResult, error) {
	return s.movePayout(id, PayoutCanceled)
}

// movePayout sets the status of payout id and posts its callback.
func (s *Server) movePayout(id int64, status string) (CallbackResult, error) {
	s.mu.Lock()
	p := s.payouts.byID[id]
	if p == nil {
		s.mu.Unlock()
		return CallbackResult{}, fmt.Errorf("royalpaytest: no payout %d", id)
	}
	p.Status = status
	target := s.payoutCallback
	o := &object{
		{"id", p.ID},
		{"status", p.Status},
		{"amount", p.Amount * 100}, // the callback page: minor units
		{"outter_id", p.OutterID},
		{"receipts", []string{}},
		{"X-Request-Id", newUUID()},
	}
	s.mu.Unlock()
	ctx, cancel := context.WithTimeout(s.cbCtx, DefaultCallbackTimeout)
	defer cancel()
	return s.deliver(ctx, id, target, o.bytes(), s.payoutCallbacks), nil
}
