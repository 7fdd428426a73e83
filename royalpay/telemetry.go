package royalpay

import (
	"context"
	"strconv"

	"github.com/paysdk/payments/internal/telemetry"
)

// operation starts the SDK operation op (the name its transport.Request
// carries, on the pay-in or the payout transport alike, so the transport
// adds its attempts to it instead of starting a span of its own) with the
// reference ref ("" for none) in ctx. The caller ends it with its final
// error, what the answer meant: a create refused with one of the
// document's codes under a 5xx is a refusal, not outcome-unknown; an
// empty payout lookup is not found. A Client not made by New records
// nothing.
func (c *Client) operation(ctx context.Context, op, ref string) (context.Context, *telemetry.Op) {
	return c.tel.Operation(ctx, provider, op, ref)
}

// setProviderID puts id, RoyalPay's id of the payment or payout the
// answer carried, on the operation's span when the span records (0 is
// left out).
func setProviderID(o *telemetry.Op, id int64) {
	if o != nil && id != 0 && o.Span.IsRecording() {
		o.Span.SetAttributes(telemetry.ProviderID.String(strconv.FormatInt(id, 10)))
	}
}
