package qiwitopup

import (
	"context"
	"strconv"
	"strings"

	"go.opentelemetry.io/otel/attribute"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/internal/telemetry"
)

// batchSize is the span attribute of a status operation: how many payments
// it asked about (spans only).
const batchSize = attribute.Key("payments.batch.size")

// operation starts the client's operation name (the Op of the
// transport.Request it sends) for ref in ctx. The caller ends it with its
// final error.
func (c *Client) operation(ctx context.Context, name, ref string) (context.Context, *telemetry.Op) {
	return c.tel.Operation(ctx, provider, name, ref)
}

// endPay ends a pay operation with err, or, when QIWI answered with the
// payment, with the payment's own error: a payment-level result-code in a
// 200 body (220 is refused for funds, with code 220) or a final failure.
// The span carries QIWI's txn_id, the result-code and the payment's state.
func endPay(op *telemetry.Op, p Payment, err error) {
	if op == nil {
		return
	}
	if err == nil {
		if op.Span.IsRecording() {
			setPayment(op, p)
		}
		err = p.Err()
	}
	op.End(err)
}

// endStatus ends a status operation: not_found when QIWI's answer had none
// of the payments asked about, else the request's error (a payment that
// failed is a successful read). For a single payment found the span
// carries its txn_id, result-code and state.
func endStatus(op *telemetry.Op, res []StatusResult, err error) {
	if op == nil {
		return
	}
	if err == nil && len(res) > 0 {
		found := false
		for _, r := range res {
			found = found || r.Found
		}
		if op.Span.IsRecording() {
			op.Span.SetAttributes(batchSize.Int(len(res)))
			if len(res) == 1 && found {
				setPayment(op, res[0].Payment)
			}
		}
		if !found {
			err = &payments.APIError{Provider: provider, Op: "status", HTTPStatus: 200,
				Message: "no payment in the answer for the transaction-numbers asked", Category: payments.ErrNotFound}
		}
	}
	op.End(err)
}

// setPayment puts what QIWI said of a payment on the operation's span:
// its txn_id, result-code and normalized state.
func setPayment(op *telemetry.Op, p Payment) {
	if p.TxnID != "" {
		op.Span.SetAttributes(telemetry.ProviderID.String(p.TxnID))
	}
	op.Span.SetAttributes(telemetry.ProviderCode.String(strconv.Itoa(int(p.ResultCode))),
		telemetry.State.String(p.State().String()))
}

// endCode ends an operation whose answer is not an error but carries a
// result-code (check-deposit-possible's 204 "not possible"): the code goes
// on the span.
func endCode(op *telemetry.Op, code ResultCode, err error) {
	if op == nil {
		return
	}
	if err == nil && op.Span.IsRecording() {
		op.Span.SetAttributes(telemetry.ProviderCode.String(strconv.Itoa(int(code))))
	}
	op.End(err)
}

// refOf is the payments.ref of a status operation: the transaction
// numbers asked, the first eight of them.
func refOf(qs []StatusQuery) string {
	var b strings.Builder
	for i, q := range qs {
		if i == 8 {
			b.WriteString(",…(" + strconv.Itoa(len(qs)-8) + " more)")
			break
		}
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(q.TransactionNumber)
	}
	return b.String()
}
