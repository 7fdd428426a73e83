// Package payments is the shared vocabulary of the payment-provider clients in
// this module: client options, the rate [Limiter], the error model, the
// normalized payment [State] and exact money helpers.
//
// It knows no provider. Each provider lives in its own package
// (github.com/paysdk/payments/popolni, ...) and is built with the options
// declared here:
//
//	c, err := popolni.New(popolni.Credentials{Login: l, Password: p},
//		payments.WithLocalAddr("203.0.113.10"),
//		payments.WithLimiter(shared))
//
// # Errors
//
// Every error a client returns can be sorted with [errors.Is] against the
// sentinels of this package, whatever the provider: [ErrUnauthorized],
// [ErrForbidden], [ErrRateLimited], [ErrInvalidRequest], [ErrNotFound],
// [ErrDuplicate], [ErrInsufficientFunds], [ErrDeclined], [ErrUnavailable] and,
// the one that matters most, [ErrOutcomeUnknown]: the request may have been
// carried out by the provider, so the caller must reconcile through the
// provider's status call and must not send the same money movement blind.
//
// [*APIError] carries what the provider answered (HTTP status, code, text);
// [*TransportError] carries a network failure and whether any byte of the
// request was written; [*ValidationError] names the input that was refused
// before anything was sent.
//
// # Secrets
//
// No error, log line or %v of a value from this module contains a password,
// token, Authorization header or a full card number.
package payments
