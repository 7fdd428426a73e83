package royalpay

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"strings"
)

// ErrCallbackAuth is the error of a callback whose Authorization header is
// not "Bearer <the agreed static token>": missing, another scheme, or
// another token.
var ErrCallbackAuth = errors.New("bad or missing bearer token")

// ErrCallbackNotConfirmed is the cause of a callback the API does not bear
// out (see CallbackMismatchError).
var ErrCallbackNotConfirmed = errors.New("royalpay: callback not confirmed by the API")

// CheckCallbackAuth checks the Authorization header value of a callback
// against token, in constant time: it must be exactly "Bearer " and token.
// That is the provider's documented authentication of its callbacks
// (payout/callback.html: "Для подтверждения подлинности каждого запроса вы
// передаёте в заголовке статичный токен вида: Authorization: Bearer
// {static_token}"), which CallbackHandler and PayoutCallbackHandler run
// when their BearerToken is set.
//
// It returns nil or ErrCallbackAuth, which shows neither value. An empty
// token is no authentication: it returns ErrCallbackAuth too.
func CheckCallbackAuth(authorization, token string) error {
	got, ok := strings.CutPrefix(authorization, "Bearer ")
	if token == "" || !ok || subtle.ConstantTimeCompare([]byte(got), []byte(token)) != 1 {
		return ErrCallbackAuth
	}
	return nil
}

// CallbackMismatchError is a callback the API does not bear out: a pay-in
// callback whose outter_id is not the payment's, or a payout callback whose
// id is not that of the payout the API has under its outter_id. It wraps
// ErrCallbackNotConfirmed.
type CallbackMismatchError struct {
	Payout bool  // a payout callback (else a pay-in's)
	ID     int64 // the callback's id
}

// Error says what differs, in the handlers' words; it quotes no outter_id.
func (e *CallbackMismatchError) Error() string {
	if e.Payout {
		return fmt.Sprintf("payout %d: the API does not have it under that outter_id", e.ID)
	}
	return fmt.Sprintf("payment %d: callback outter_id does not match the API's", e.ID)
}

// Unwrap returns ErrCallbackNotConfirmed.
func (e *CallbackMismatchError) Unwrap() error { return ErrCallbackNotConfirmed }

// ConfirmCallback compares a pay-in callback with the payment GetPayment
// returned for its id, as CallbackHandler does (step 6): when both carry an
// outter_id, the callback's must be the payment's (or its form's). The
// provider asks merchants to trust its API, not the callback body, so the
// status and the sum to act on are the payment's; this check only refuses
// a callback that names another order. It returns nil or a
// *CallbackMismatchError. It sends nothing.
func ConfirmCallback(cb Callback, p Payment) error {
	if cb.OutterID != "" && p.OutterID != "" && cb.OutterID != p.OutterID && cb.OutterID != p.OutterIDFromForm {
		return &CallbackMismatchError{ID: cb.ID}
	}
	return nil
}

// ConfirmPayoutCallback compares a payout callback with the payout
// PayoutByOutterID returned for its outter_id, as PayoutCallbackHandler
// does (step 5): the same id and outter_id. It returns nil or a
// *CallbackMismatchError. It sends nothing.
func ConfirmPayoutCallback(cb PayoutCallback, p Payout) error {
	if p.ID != cb.ID || p.OutterID != cb.OutterID {
		return &CallbackMismatchError{Payout: true, ID: cb.ID}
	}
	return nil
}
