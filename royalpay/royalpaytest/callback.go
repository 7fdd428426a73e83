package royalpaytest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/internal/fakeserver"
)

// DefaultCallbackTimeout bounds one callback POST made by the default
// callback client (see [WithCallbackClient]).
const DefaultCallbackTimeout = 5 * time.Second

// WithCallbackToken makes every callback carry "Authorization: Bearer
// <token>": the static bearer token the provider documents for its payout
// callbacks ("вы передаёте в заголовке статичный токен вида Authorization:
// Bearer {static_token}"). Without it (the default) callbacks carry no
// Authorization header.
func WithCallbackToken(token string) Option {
	return func(c *config) { c.callbackToken = token }
}

// WithCallbackClient sets the client the server POSTs callbacks with. The
// default is a plain client (system roots, no proxy) with a
// [DefaultCallbackTimeout] timeout that does not follow redirects, so that an
// http:// receiver on loopback, such as an httptest.Server, works. Pass
// httptest.Server.Client() for an httptest.NewTLSServer receiver. A nil c
// keeps the default.
func WithCallbackClient(c *http.Client) Option {
	return func(cfg *config) { cfg.callbackClient = c }
}

// WithAutoComplete makes every payment move to "completed" d after its
// creation, sending its callback, as a payer paying at once would, unless it
// has left "created" by then. Zero or less (the default) disables it.
func WithAutoComplete(d time.Duration) Option {
	return func(c *config) { c.autoComplete = d }
}

// maxCallbackAnswer caps how much of a receiver's answer is kept.
const maxCallbackAnswer = 64 << 10

// CallbackResult is one callback the server sent, or tried to send.
type CallbackResult struct {
	URL    string // where it was POSTed; "" when the payment has no callback_url (nothing sent)
	Status int    // the receiver's HTTP status; 0 when no answer came
	Body   []byte // the receiver's answer body (its first 64 KiB)
	Err    error  // a transport error (refused, timed out, server closed...), or nil

	PaymentID int64
	Payload   []byte // the JSON body that was sent
}

// Callbacks returns the callbacks sent since the start or the last
// [Server.Reset], in the order they finished.
func (s *Server) Callbacks() []CallbackResult { return s.callbacks.Requests() }

// Reset forgets the recorded requests and callbacks. Payments, the id
// counters, the block and queued faults stay.
func (s *Server) Reset() {
	s.Fake.Reset()
	s.callbacks.Reset()
}

// newCallbackLog makes a list of callbacks sent (by URL, for its Count).
func newCallbackLog() *fakeserver.Log[CallbackResult] {
	return fakeserver.NewLog(func(c *CallbackResult) string { return c.URL }, func(c CallbackResult) CallbackResult {
		c.Body = append([]byte(nil), c.Body...)
		c.Payload = append([]byte(nil), c.Payload...)
		return c
	})
}

// Complete moves payment id to "completed" (the payer paid), bumps its
// updated_at and, when the payment has a callback_url, POSTs the callback
// there and waits for the answer. The error is non-nil only when the server
// has no payment id; what the receiver did is in the CallbackResult. Moves
// are not checked against the current status: completing twice sends two
// callbacks, as a provider resending would.
func (s *Server) Complete(id int64) (CallbackResult, error) { return s.move(id, StatusCompleted, "") }

// Cancel moves payment id to "canceled" (for example the payer never paid),
// as Complete does.
func (s *Server) Cancel(id int64) (CallbackResult, error) { return s.move(id, StatusCanceled, "") }

// Refund moves payment id to "refund" (the payment was returned), as
// Complete does.
func (s *Server) Refund(id int64) (CallbackResult, error) { return s.move(id, StatusRefund, "") }

// Delete moves payment id to "deleted", as Complete does. The payment stays
// readable through GET with that status.
func (s *Server) Delete(id int64) (CallbackResult, error) { return s.move(id, StatusDeleted, "") }

// move sets the status of payment id, if it is in status from ("" for any),
// and posts its callback.
func (s *Server) move(id int64, status, from string) (CallbackResult, error) {
	s.mu.Lock()
	p := s.payments.byID[id]
	if p == nil {
		s.mu.Unlock()
		return CallbackResult{}, fmt.Errorf("royalpaytest: no payment %d", id)
	}
	if from != "" && p.Status != from {
		s.mu.Unlock()
		return CallbackResult{}, nil
	}
	p.Status = status
	p.UpdatedAt = s.now()
	target, payload := p.CallbackURL, p.callbackPayload()
	s.mu.Unlock()
	return s.deliver(s.cbCtx, id, target, payload, s.callbacks), nil
}

// SetAmount changes the sum of payment id, as when the payer paid another
// amount on a payment created with is_allow_another_amount. sum is a decimal
// ("1450", "1450.5"), positive, with at most 2 places. The merchant detail is
// recomputed and updated_at bumped; no callback is sent (the next status move
// reports the new amount). It fails when the payment does not exist, sum is
// not valid, or the payment was not created with is_allow_another_amount.
func (s *Server) SetAmount(id int64, sum string) error {
	d, err := payments.ParseDecimal(sum)
	if err != nil {
		return fmt.Errorf("royalpaytest: SetAmount: %w", err)
	}
	if whole, places := digits(d, false); places > maxPlaces || whole > maxWholeDigit || d.Cmp(payments.MustDecimal(minSum)) < 0 {
		return fmt.Errorf("royalpaytest: SetAmount: %q is not a positive amount with at most %d places and %d whole digits", sum, maxPlaces, maxWholeDigit)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.payments.byID[id]
	if p == nil {
		return fmt.Errorf("royalpaytest: no payment %d", id)
	}
	if !p.AllowAnotherAmount {
		return fmt.Errorf("royalpaytest: payment %d was not created with is_allow_another_amount", id)
	}
	p.setSum(d)
	now := s.now()
	p.UpdatedAt, p.detailUpdated = now, now
	return nil
}

// SendCallback POSTs payload, as it is, to the callback_url of payment id,
// with the headers of a real callback, and records it; for testing how a
// receiver copes with other shapes (amount as a number, sum for amount,
// form_outter_id...). The payment is not changed. It fails when the payment
// does not exist or has no callback_url.
func (s *Server) SendCallback(id int64, payload []byte) (CallbackResult, error) {
	p, ok := s.Payment(id)
	switch {
	case !ok:
		return CallbackResult{}, fmt.Errorf("royalpaytest: no payment %d", id)
	case p.CallbackURL == "":
		return CallbackResult{}, fmt.Errorf("royalpaytest: payment %d has no callback_url", id)
	}
	return s.deliver(s.cbCtx, id, p.CallbackURL, append([]byte(nil), payload...), s.callbacks), nil
}

// callbackPayload is {"id","status","amount","method"[,"outter_id"]}.
func (p *payment) callbackPayload() []byte {
	o := &object{
		{"id", p.ID},
		{"status", p.Status},
		{"amount", p.Sum},
		{"method", strings.TrimPrefix(p.Type, "to_")},
	}
	if p.OutterID != "" {
		o.add("outter_id", p.OutterID)
	}
	return o.bytes()
}

// deliver POSTs one callback (pay-in or payout) to target and records the
// result in log; with no target it sends and records nothing.
func (s *Server) deliver(ctx context.Context, id int64, target string, payload []byte, log *fakeserver.Log[CallbackResult]) CallbackResult {
	if target == "" {
		return CallbackResult{PaymentID: id}
	}
	res := &CallbackResult{URL: target, PaymentID: id, Payload: payload}
	defer log.Add(res)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(payload))
	if err != nil {
		res.Err = err
		return *res
	}
	req.Header.Set("Content-Type", "application/json")
	if s.callbackToken != "" {
		req.Header.Set("Authorization", "Bearer "+s.callbackToken)
	}
	resp, err := s.callbackClient.Do(req)
	if err != nil {
		res.Err = err
		return *res
	}
	defer resp.Body.Close()
	res.Status = resp.StatusCode
	res.Body, res.Err = io.ReadAll(io.LimitReader(resp.Body, maxCallbackAnswer))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxCallbackAnswer))
	return *res
}

// scheduleAutoComplete arms the auto-completion of payment id, if configured;
// Close disarms it.
func (s *Server) scheduleAutoComplete(id int64) {
	if s.autoComplete > 0 {
		s.acWG.Add(1)
		go func() {
			defer s.acWG.Done()
			if s.base.Wait(s.cbCtx, s.autoComplete) {
				s.autoCompleteNow(id)
			}
		}()
	}
}

// autoCompleteNow is what an auto-completion does: complete payment id if it
// is still "created" and the server is not closing.
func (s *Server) autoCompleteNow(id int64) {
	if s.cbCtx.Err() == nil {
		_, _ = s.move(id, StatusCompleted, StatusCreated)
	}
}
