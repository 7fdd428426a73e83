package royalpay

import (
	"context"
	"strconv"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/internal/config"
	"github.com/paysdk/payments/internal/telemetry"
)

// telemetryOf is the telemetry of the tracer and meter providers opts give
// (payments.WithTracerProvider, WithMeterProvider; the global ones when
// none): the providers both of the client's transports record their
// attempts with. New calls it after transport.New has applied the same
// options without an error.
//
// It stands in for transport.Client.Operation, which internal/transport
// does not have yet: with that method, operation below calls it on the
// transport the method sends on, and this function (and the import of
// internal/config) goes.
func telemetryOf(opts []payments.Option) *telemetry.Telemetry {
	var s config.Settings
	for _, o := range opts {
		_ = config.ApplyOption(o, &s) // applied once already by transport.New, without an error
	}
	return telemetry.New(s.TracerProvider, s.MeterProvider)
}

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
