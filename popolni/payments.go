package popolni

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/internal/transport"
)

// MinAmount is the smallest payment the document allows, in kopecks.
const MinAmount = 100

// opWaitFinal names WaitFinal in its errors.
const opWaitFinal = "wait-final"

// Pay sends a batch of top-ups in one request (document section 2) and
// returns one Result per payment, in the order given. A request without
// errors answers status 0 for every payment; a payment can also come back
// 101, 124, 208 or 215 at once (see Result.Err). Poll with Status or
// WaitFinal until each is final.
//
// Checked before anything is sent: a non-empty batch; positive IDs, none
// repeated; Amount at least MinAmount; Account and NoticePhone digits only.
//
// Resend safety: SAFE. The document's status table says of 124 "Невозможно
// создать платёж – платёж с таким номером уже был создан ранее" — a second
// payment with the same transactionId is never created — so a batch whose
// answer was lost (connection dropped, 5xx) is sent again with the same IDs.
// A 124 answering such a resend is our own first attempt having landed: Pay
// then asks StatusConfirmed for those IDs (a 125 asked once more) and
// returns their real status instead of 124; if a status still cannot be
// read, Pay's error is a *payments.OutcomeUnknownError naming those IDs,
// never a not-found. A 124 on a first attempt is a real duplicate (the ID
// was used before).
//
// Errors: a *payments.ValidationError before sending; a *payments.APIError
// for a refusal (403 texts as Denial details, 503 rate limit after the
// retries); a *payments.OutcomeUnknownError when the batch may have been
// accepted but no readable answer came back (a lost answer, a server error,
// or anything but the document's 200 with one result per payment) — call
// Status (or Pay again with the same batch, which is safe) to learn what
// happened. A result whose status the document does not list is no
// success either: its Err is outcome-unknown.
//
// Telemetry: one operation span "popolni pay" (payments.ref: the ids) whose
// outcome is what popolni said of the payments, not only of the request
// (see payments.WithTracerProvider): a lone payment answered 101 is refused
// for funds with code 101, an undocumented status is outcome-unknown. A
// batch of several takes the outcome of its first payment that neither
// succeeded nor stays pending (an undocumented status before a refusal),
// and its span has one "payment" event per such payment (its id, code,
// outcome and refusal kind).
func (c *Client) Pay(ctx context.Context, batch []Payment) ([]Result, error) {
	return c.pay(ctx, batch, nil)
}

// pay is Pay; members are the Batcher callers whose payments batch
// carries, linked from the operation's span.
func (c *Client) pay(ctx context.Context, batch []Payment, members []member) (results []Result, err error) {
	if ctx == nil {
		return nil, payments.ErrNilContext
	}
	ids := make([]int64, len(batch))
	for i, p := range batch {
		ids[i] = p.ID
	}
	ref := refOf(ids)
	ctx, op := c.operation(ctx, "pay", ref)
	defer func() { endPay(op, results, err) }()
	linkMembers(op, members)
	body, err := encodePay(batch)
	if err != nil {
		return nil, err
	}
	results, resent, err := c.post(ctx, &transport.Request{
		Op:   "pay",
		Kind: transport.IdempotentWrite,
		Ref:  ref,
		Body: body,
	}, ids)
	if err != nil {
		return nil, err
	}
	if resent {
		if err := c.resolveOwnDuplicates(ctx, results); err != nil {
			return results, err
		}
	}
	return results, nil
}

// resolveOwnDuplicates replaces the 124s of a resent batch with the status of
// the payment our earlier attempt created, read under the document's 125
// rule (StatusConfirmed).
func (c *Client) resolveOwnDuplicates(ctx context.Context, results []Result) error {
	var dup []int64
	for _, r := range results {
		if r.Status == StatusDuplicate {
			dup = append(dup, r.ID)
		}
	}
	if len(dup) == 0 {
		return nil
	}
	status, err := c.StatusConfirmed(ctx, dup...)
	if err != nil {
		return &payments.OutcomeUnknownError{Provider: provider, Op: "pay", Ref: refOf(dup),
			Err: fmt.Errorf("resent batch answered 124 and the status check failed: %w", err)}
	}
	by := make(map[int64]Status, len(status))
	for _, r := range status {
		by[r.ID] = r.Status
	}
	var missing []int64
	for i := range results {
		if st, ok := by[results[i].ID]; ok && results[i].Status == StatusDuplicate {
			if st == StatusNotFound || st == StatusDuplicate {
				missing = append(missing, results[i].ID)
				continue
			}
			results[i].Status = st
		}
	}
	if len(missing) > 0 {
		return &payments.OutcomeUnknownError{Provider: provider, Op: "pay", Ref: refOf(missing),
			Err: errors.New("resent batch answered 124 but the status request twice answered 125")}
	}
	return nil
}

// StatusConfirmed is Status under the document's rule for 125 (section 3):
// "Для статуса 125 необходима повторная проверка статуса – этот статус может
// вернуть для существующего платежа в момент перехода платежа из одной
// очереди (ожидания) в другую очередь (оплаченных или отмененных), если
// статус платежа при повторном опросе статуса равен 125, то такого платежа
// действительно нет." It sends one status request for ids and, when some
// answer 125, one more request asking only those again, and returns one
// Result per id in the order given: the second answer for the ids asked
// twice, so a Result says StatusNotFound only when both requests said 125,
// and a blacklisted payment's 125 (it alternates 125, 423) comes back as
// its 423. At most two requests, whatever the number of ids.
//
// The second request follows the first as the client's limiter allows
// (200 ms apart at the document's 5 requests a second), not after the poll
// interval: the document gives no pause for the re-check, and a payment
// that is still between queues then reads 125 twice. A caller that knows
// the payment exists (a 124 answered its Pay) must not take that for "not
// there": it is an unknown outcome, and WaitFinal polls on.
//
// An error of either request is the call's error (no partial answer): the
// first one's when it failed, else the re-ask's. Resend safety: reads;
// always safe.
func (c *Client) StatusConfirmed(ctx context.Context, ids ...int64) ([]Result, error) {
	return statusConfirmed(ctx, c.Status, ids)
}

// statusConfirmed is StatusConfirmed over status: the client's or a
// Batcher's.
func statusConfirmed(ctx context.Context, status func(context.Context, ...int64) ([]Result, error), ids []int64) ([]Result, error) {
	res, err := status(ctx, ids...)
	if err != nil {
		return nil, err
	}
	var again []int64
	asked := make(map[int64]bool)
	for _, r := range res {
		if r.Status == StatusNotFound && !asked[r.ID] {
			asked[r.ID] = true
			again = append(again, r.ID)
		}
	}
	if len(again) == 0 {
		return res, nil
	}
	second, err := status(ctx, again...)
	if err != nil {
		return nil, err
	}
	by := make(map[int64]Status, len(second))
	for _, r := range second {
		by[r.ID] = r.Status
	}
	out := make([]Result, len(res))
	for i, r := range res {
		if st, ok := by[r.ID]; ok {
			r.Status = st
		}
		out[i] = r
	}
	return out, nil
}

// Status asks the current status of payments (document section 3) and
// returns one Result per id, in the order given. The request is the
// document's `[{"transactionId":N,"status":0},...]`, each id once. An
// answer that is not one result per id asked (extra, missing or repeated
// ids), or not HTTP 200, is a malformed-answer error.
//
// A 125 (not found) must be asked again before it is believed: it can
// answer for an existing payment moving between queues. StatusConfirmed
// and WaitFinal do so.
//
// Resend safety: a read; always safe.
//
// Telemetry: one operation span "popolni status" (payments.ref: the ids),
// not_found when every id answered 125.
func (c *Client) Status(ctx context.Context, ids ...int64) ([]Result, error) {
	return c.status(ctx, ids, nil)
}

// status is Status; members are the Batcher callers whose ids the request
// carries, linked from the operation's span.
func (c *Client) status(ctx context.Context, ids []int64, members []member) (results []Result, err error) {
	if ctx == nil {
		return nil, payments.ErrNilContext
	}
	ref := refOf(ids)
	ctx, op := c.operation(ctx, "status", ref)
	defer func() { endStatus(op, results, err) }()
	linkMembers(op, members)
	if len(ids) == 0 {
		return nil, &payments.ValidationError{Field: "ids", Reason: errNoIDs.Error()}
	}
	for i, id := range ids {
		if id <= 0 {
			return nil, &payments.ValidationError{Field: fmt.Sprintf("ids[%d]", i), Reason: "transaction id must be positive"}
		}
	}
	body := appendStatusQuery(make([]byte, 0, 40*len(ids)+2), distinct(ids)) // asked once, answered for each time it was given
	results, _, err = c.post(ctx, &transport.Request{Op: "status", Kind: transport.Read, Ref: ref, Body: body}, ids)
	return results, err
}

// post sends a JSON array to the API and reads the answer, one Result per
// id. A 2xx that is not the document's 200 with one result per id is
// ErrOutcomeUnknown for a write (the request was taken in) and a plain
// malformed-answer error for a read. resent reports
// that an earlier attempt may have reached popolni.
func (c *Client) post(ctx context.Context, req *transport.Request, ids []int64) (results []Result, resent bool, err error) {
	req.Method, req.ContentType = http.MethodPost, "application/json"
	resp, err := c.t.Do(ctx, req)
	if err != nil {
		return nil, false, err
	}
	err = notOK(resp)
	if err == nil {
		results, err = decodeResults(resp.Body)
	}
	if err == nil {
		results, err = inOrder(ids, results)
	}
	if err != nil {
		bad := c.malformed(req.Op, resp, err)
		if req.Kind != transport.Read {
			return nil, false, &payments.OutcomeUnknownError{Provider: provider, Op: req.Op, Ref: req.Ref, Err: bad}
		}
		return nil, false, bad
	}
	return results, resp.Resent, nil
}

// WaitFinal polls Status for ids until every payment is final, pausing the
// client's poll interval (DefaultPollInterval, the document's minimum of 10
// seconds) between requests, and returns one Result per id in the order
// given.
//
// It applies the document's 125 rule: a first 125 is asked again at the next
// poll and only a second 125 in a row is final (the payment does not exist).
// A blacklisted payment alternates 125 and 423; 423 is final when seen.
//
// Transient failures (rate limit, network, 5xx, unreadable answer) are
// polled through. Credentials, access or input errors end the wait. When ctx
// ends it returns what it knows — payments never heard of have
// StatusUnknown — together with ctx's error wrapped as "popolni wait-final:
// context canceled" (errors.Is matches context.Canceled or
// context.DeadlineExceeded, and the context's cause).
func (c *Client) WaitFinal(ctx context.Context, ids ...int64) ([]Result, error) {
	return waitFinal(ctx, c.pollInterval, c.Status, nil, ids)
}

// waitFinal is the polling loop of Client.WaitFinal and Batcher.WaitFinal:
// status asks the provider (directly or through a Batcher), and an error
// matching one of stop ends the wait as credentials, access and input
// errors do.
func waitFinal(ctx context.Context, interval time.Duration, status func(context.Context, ...int64) ([]Result, error), stop []error, ids []int64) ([]Result, error) {
	if ctx == nil {
		return nil, payments.ErrNilContext
	}
	if len(ids) == 0 {
		return nil, &payments.ValidationError{Field: "ids", Reason: errNoIDs.Error()}
	}
	known := make(map[int64]Status, len(ids))
	done := make(map[int64]bool, len(ids))
	notFound := make(map[int64]bool)
	var pending []int64
	for _, id := range ids {
		if _, seen := known[id]; !seen {
			known[id] = StatusUnknown
			pending = append(pending, id)
		}
	}
	snapshot := func() []Result {
		out := make([]Result, len(ids))
		for i, id := range ids {
			out[i] = Result{ID: id, Status: known[id]}
		}
		return out
	}
	stop = append(stop, payments.ErrUnauthorized, payments.ErrForbidden, payments.ErrInvalidRequest)
	for first := true; ; first = false {
		if !first {
			t := time.NewTimer(interval)
			select {
			case <-ctx.Done():
				t.Stop()
				return snapshot(), ctxErr(ctx, opWaitFinal)
			case <-t.C:
			}
		}
		res, err := status(ctx, pending...)
		if err != nil {
			if ctx.Err() != nil {
				return snapshot(), ctxErr(ctx, opWaitFinal)
			}
			for _, s := range stop {
				if errors.Is(err, s) {
					return snapshot(), err
				}
			}
			continue // rate limited, unavailable, unreadable: ask again later
		}
		for _, r := range res {
			switch {
			case r.Status == StatusNotFound && notFound[r.ID]:
				known[r.ID], done[r.ID] = r.Status, true // second 125 in a row: believed
			case r.Status == StatusNotFound:
				notFound[r.ID] = true // keep the last real status; ask again
				if known[r.ID] == StatusUnknown {
					known[r.ID] = r.Status
				}
			default:
				notFound[r.ID] = false
				known[r.ID] = r.Status
				done[r.ID] = r.Status.Final()
			}
		}
		next := pending[:0:0]
		for _, id := range pending {
			if !done[id] {
				next = append(next, id)
			}
		}
		if pending = next; len(pending) == 0 {
			return snapshot(), nil
		}
	}
}

// Balance asks the partner's current balance and credit limit (document
// section 4: GET https://popolni.club/api?balance=).
//
// Resend safety: a read; always safe.
//
// Telemetry: one operation span "popolni balance".
func (c *Client) Balance(ctx context.Context) (_ Balance, err error) {
	if ctx == nil {
		return Balance{}, payments.ErrNilContext
	}
	ctx, op := c.operation(ctx, "balance", "")
	defer func() { op.End(err) }()
	resp, err := c.t.Do(ctx, &transport.Request{
		Op:       "balance",
		Kind:     transport.Read,
		Method:   http.MethodGet,
		RawQuery: "balance=",
	})
	if err != nil {
		return Balance{}, err
	}
	err = notOK(resp)
	var b Balance
	if err == nil {
		b, err = decodeBalance(resp.Body)
	}
	if err != nil {
		return Balance{}, c.malformed("balance", resp, err)
	}
	return b, nil
}

// encodePay validates the batch and writes the document's request body.
func encodePay(batch []Payment) ([]byte, error) {
	if len(batch) == 0 {
		return nil, &payments.ValidationError{Field: "payments", Reason: "the batch is empty"}
	}
	seen := make(map[int64]int, len(batch))
	wire := make([]wirePayment, len(batch))
	for i, p := range batch {
		field := func(name string) string { return fmt.Sprintf("payments[%d].%s", i, name) }
		switch {
		case p.ID <= 0:
			return nil, &payments.ValidationError{Field: field("ID"), Reason: "transaction id must be positive"}
		case p.Amount < MinAmount:
			return nil, &payments.ValidationError{Field: field("Amount"), Reason: fmt.Sprintf("%d kopecks is below the minimum of %d", p.Amount, MinAmount)}
		case p.Account == "":
			return nil, &payments.ValidationError{Field: field("Account"), Reason: "empty"}
		case !digits(p.Account):
			return nil, &payments.ValidationError{Field: field("Account"), Reason: "digits only, with the country code and no '+'"}
		case p.NoticePhone != "" && !digits(p.NoticePhone):
			return nil, &payments.ValidationError{Field: field("NoticePhone"), Reason: "digits only"}
		case p.TemplateID < 0:
			return nil, &payments.ValidationError{Field: field("TemplateID"), Reason: "negative"}
		}
		if j, dup := seen[p.ID]; dup {
			return nil, &payments.ValidationError{Field: field("ID"), Reason: fmt.Sprintf("repeats payments[%d].ID in the same batch", j)}
		}
		seen[p.ID] = i
		wire[i] = wirePayment{TransactionID: p.ID, Amount: p.Amount, MsisdnNotice: p.NoticePhone, Msisdn: p.Account, TemplateID: p.TemplateID}
	}
	return appendPay(make([]byte, 0, 96*len(wire)), wire), nil
}

// notOK refuses a 2xx answer other than the document's 200 ("При успешной
// обработке запроса, сервер отдает синхронный ответ с HTTP-кодом ответа
// 200"): nothing says what a 201 or a 204 means.
func notOK(resp *transport.Response) error {
	if resp.Status != http.StatusOK {
		return fmt.Errorf("HTTP %d, where the document answers 200", resp.Status)
	}
	return nil
}

// inOrder matches an answer to the ids asked, in the order asked: exactly
// one result for each distinct id and none for an id not asked. An answer
// about other payments, or two results for one, is no answer to this
// request.
func inOrder(ids []int64, got []Result) ([]Result, error) {
	if sameOrder(ids, got) {
		return got, nil
	}
	asked := make(map[int64]bool, len(ids))
	for _, id := range ids {
		asked[id] = true
	}
	by := make(map[int64]Status, len(got))
	for _, r := range got {
		if !asked[r.ID] {
			return nil, fmt.Errorf("a result for transactionId %d, which was not asked", r.ID)
		}
		if _, twice := by[r.ID]; twice {
			return nil, fmt.Errorf("two results for transactionId %d", r.ID)
		}
		by[r.ID] = r.Status
	}
	out := make([]Result, len(ids))
	for i, id := range ids {
		st, ok := by[id]
		if !ok {
			return nil, fmt.Errorf("no result for transactionId %d", id)
		}
		out[i] = Result{ID: id, Status: st}
	}
	return out, nil
}

// sameOrder reports whether got answers ids one for one in the order asked,
// ids all distinct: then it is inOrder's answer as it is.
func sameOrder(ids []int64, got []Result) bool {
	if len(got) != len(ids) || len(ids) > maxQuadratic {
		return false
	}
	for i, r := range got {
		if r.ID != ids[i] {
			return false
		}
		for _, prev := range ids[:i] {
			if prev == r.ID {
				return false
			}
		}
	}
	return true
}

// maxQuadratic is the most ids compared pairwise; more go through a map.
const maxQuadratic = 32

// distinct returns ids without repeats, in the order first given (ids
// itself when none repeats).
func distinct(ids []int64) []int64 {
	if len(ids) <= maxQuadratic {
		repeat := false
		for i := 1; i < len(ids) && !repeat; i++ {
			for _, prev := range ids[:i] {
				if prev == ids[i] {
					repeat = true
					break
				}
			}
		}
		if !repeat {
			return ids
		}
	}
	out := make([]int64, 0, len(ids))
	seen := make(map[int64]bool, len(ids))
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return len(s) <= 32
}

func refOf(ids []int64) string {
	b := make([]byte, 0, 11*min(len(ids), 8)+16)
	for i, id := range ids {
		if i == 8 {
			b = append(b, ",…("...)
			b = strconv.AppendInt(b, int64(len(ids)-8), 10)
			b = append(b, " more)"...)
			break
		}
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, id, 10)
	}
	return string(b)
}
