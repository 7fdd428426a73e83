package paykeeper

import (
	"context"

	"github.com/paysdk/payments/internal/telemetry"
)

// operation starts the SDK operation op (the name its transport.Request
// carries, so the transport adds its attempts to it instead of starting a
// span of its own) with the reference ref ("" for none) in ctx. The caller
// ends it with its final error, what PayKeeper's answer meant: a fail
// object in a 200 answer is a refusal, a lost write's answer
// outcome-unknown. A Client not made by New records nothing.
func (c *Client) operation(ctx context.Context, op, ref string) (context.Context, *telemetry.Op) {
	return c.tel.Operation(ctx, provider, op, ref)
}

// setProviderID puts id, PayKeeper's id of what the operation created or
// read, on its span when the span records ("" is left out).
func setProviderID(o *telemetry.Op, id string) {
	if o != nil && id != "" && o.Span.IsRecording() {
		o.Span.SetAttributes(telemetry.ProviderID.String(id))
	}
}
