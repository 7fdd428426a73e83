package paykeeperpayin

import (
	"context"
	"time"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/payin"
	"github.com/paysdk/payments/paykeeper"
)

// Payments is payin.Lister: PayKeeper's payment registry for the period.
// It reads the cabinet's payment systems (GET /info/systems/list/, section
// 1.1), since the registry "В случае если не указан параметр status[] или
// payment_system_id[] выводится пустой массив" (section 2.1), and then the
// payments of every system in every status (GET /info/payments/bydate/,
// paged by paykeeper.Client.Payments). The registry selects whole days in
// Moscow time (start and end are YYYY-MM-DD, both days included), by the
// payment's creation (pending_datetime); Payments asks for the Moscow days
// that since and until fall on and keeps the payments created in
// [since, until). A zero since is refused with a
// *payments.ValidationError: the registry is listed by day and has no
// "from the beginning". Each payment's State is its status's
// (paykeeper.PaymentStatus.State), Amount its pay_amount in RUB, Raw the
// paykeeper.Payment. In form mode without the cabinet login it is
// payments.ErrNotSupported. A read: always safe.
func (d *Driver) Payments(ctx context.Context, since, until time.Time) ([]payin.Payment, error) {
	if d.c == nil {
		return nil, noCabinet("payments")
	}
	if since.IsZero() {
		return nil, &payments.ValidationError{Field: "since", Reason: "PayKeeper's payment registry is listed by day: give the period's start"}
	}
	if until.IsZero() {
		until = time.Now()
	}
	if until.Before(since) {
		return nil, &payments.ValidationError{Field: "until", Reason: "the period ends before it starts"}
	}
	systems, err := d.c.PaymentSystems(ctx)
	if err != nil {
		return nil, err
	}
	if len(systems) == 0 {
		return nil, nil
	}
	f := paykeeper.PaymentFilter{Start: since, End: until, Statuses: paykeeper.AllPaymentStatuses}
	for _, s := range systems {
		f.PaymentSystemIDs = append(f.PaymentSystemIDs, s.ID)
	}
	var out []payin.Payment
	for p, err := range d.c.Payments(ctx, f) {
		if err != nil {
			return nil, err
		}
		if !p.Pending.IsZero() && (p.Pending.Before(since) || !p.Pending.Before(until)) {
			continue
		}
		out = append(out, payin.Payment{Provider: Scheme, ID: p.ID, OrderRef: p.OrderID, Amount: rub(p.Amount),
			State: p.Status.State(), Created: p.Pending, Raw: p})
	}
	return out, nil
}

var _ payin.Lister = (*Driver)(nil)
