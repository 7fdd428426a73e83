package royalpay

import (
	"errors"

	"github.com/paysdk/payments"
)

// TransferType is how the payer is asked to pay: the document's `type`.
type TransferType string

// The transfer types of the document (request parameter `type` and the
// numbered examples).
const (
	// TypeSBP: the payer pays by SBP to a phone number (sbp_phone_number).
	TypeSBP TransferType = "to_sbp_number"
	// TypeCard: the payer transfers to a bank card (card_number).
	TypeCard TransferType = "to_card_number"
	// TypeAccount: the payer transfers to a bank account (account_number).
	TypeAccount TransferType = "to_account_number"
	// TypeTransgranNumber: a cross-border transfer to a number; integrations
	// see a tpay_link to send the payer to.
	TypeTransgranNumber TransferType = "to_transgran_number"
	// TypeTransgranSBP: a cross-border transfer through SBP.
	TypeTransgranSBP TransferType = "to_transgran_sbp"
	// TypeYandexTips: Yandex Tips (tips_id, nspk_url, sbp_phone_number).
	TypeYandexTips TransferType = "to_yandex_tips"
	// TypeNSPK: an NSPK QR code (qr_code).
	TypeNSPK TransferType = "nspk"
	// TypeMobileCommerce: mobile commerce, answered like SBP.
	TypeMobileCommerce TransferType = "to_mobile_commerce"
	// TypeQuasiEcom: quasi-e-commerce; listed in the parameter table, with no
	// example in the document.
	TypeQuasiEcom TransferType = "to_quasi_ecom"
	// TypeQRCode: an NSPK QR link with an account number (qr_code_link,
	// account_number). In the document's examples (12), not in its parameter table.
	TypeQRCode TransferType = "with_qr_code"
)

var transferTypes = []TransferType{TypeSBP, TypeCard, TypeAccount, TypeTransgranNumber, TypeTransgranSBP,
	TypeYandexTips, TypeNSPK, TypeMobileCommerce, TypeQuasiEcom, TypeQRCode}

// Known reports whether t is one of the document's transfer types.
func (t TransferType) Known() bool {
	for _, k := range transferTypes {
		if t == k {
			return true
		}
	}
	return false
}

// Geo is the country the payment is processed for. The API expects the
// Cyrillic country names below, not ISO codes; empty means the provider's
// default, Russia.
type Geo string

// The geos of the document.
const (
	GeoRussia     Geo = "Россия"
	GeoAzerbaijan Geo = "Азербайджан"
	GeoKazakhstan Geo = "Казахстан"
	GeoUzbekistan Geo = "Узбекистан"
	GeoKyrgyzstan Geo = "Кыргызстан"
	// GeoMongolia appears only in the document's example 13.
	GeoMongolia Geo = "Монголия"
)

var geos = []Geo{GeoRussia, GeoAzerbaijan, GeoKazakhstan, GeoUzbekistan, GeoKyrgyzstan, GeoMongolia}

// Known reports whether g is one of the document's geos.
func (g Geo) Known() bool {
	for _, k := range geos {
		if g == k {
			return true
		}
	}
	return false
}

// Status is a payment status of the document's table.
type Status string

// The statuses of the document.
const (
	// StatusCreated: "Заявка создана, ожидает оплаты" — waiting for the payer.
	StatusCreated Status = "created"
	// StatusCanceled: "Платёж отменён" (for example on timeout). Final.
	StatusCanceled Status = "canceled"
	// StatusRefund: "Платёж возвращён". Final.
	StatusRefund Status = "refund"
	// StatusCompleted: "Платёж успешно завершён" — the money arrived. Final.
	StatusCompleted Status = "completed"
	// StatusDeleted: "Платёж перевели в статус удалено". Final; the money did
	// not arrive through this payment.
	StatusDeleted Status = "deleted"
)

// State maps the status to payments.State; an unknown status is StateUnknown.
func (s Status) State() payments.State {
	switch s {
	case StatusCreated:
		return payments.StatePending
	case StatusCompleted:
		return payments.StateSucceeded
	case StatusCanceled, StatusDeleted:
		return payments.StateCanceled
	case StatusRefund:
		return payments.StateRefunded
	}
	return payments.StateUnknown
}

// Known reports whether s is one of the document's five statuses.
func (s Status) Known() bool { return s.State() != payments.StateUnknown }

// Final reports whether the status can no longer change.
func (s Status) Final() bool { return s.State().Final() }

// The provider's error codes of the document's error table.
const (
	CodeNoAvailableCards  = "40005" // "No available cards."
	CodeNoAvailableCards2 = "40006" // the same text, seen on the sibling platform
	CodeCreationFailed    = "30002" // "Payment creation failed" (sent as a string)
	CodeNotAuthenticated  = "10401" // "Учетные данные не были предоставлены."
	CodeClientBlocked     = "50000" // "Client is blocked. Reason: ..."
	CodeServerTimeout     = "50020" // "Request timed out. The server took too long to respond."
)

// Provider-specific details of an *payments.APIError, for errors.Is.
var (
	// ErrNoAvailableCards (40005, 40006): no requisites free right now. Nothing
	// was created: try again later, or with another bank or type.
	ErrNoAvailableCards = errors.New("royalpay: no available cards")
	// ErrCreationFailed (30002): the provider failed to create the payment.
	ErrCreationFailed = errors.New("royalpay: payment creation failed")
	// ErrClientBlocked (50000): the merchant's client is blocked; the text
	// carries the reason.
	ErrClientBlocked = errors.New("royalpay: client is blocked")
	// ErrServerTimeout (50020): the provider ran past X-Request-Timeout. A
	// create may or may not have happened: it comes wrapped in
	// payments.ErrOutcomeUnknown.
	ErrServerTimeout = errors.New("royalpay: request timed out at the provider")
)

// codeError maps a provider code to its category and detail.
func codeError(code string) (category, detail error) {
	switch code {
	case CodeNoAvailableCards, CodeNoAvailableCards2:
		return payments.ErrDeclined, ErrNoAvailableCards
	case CodeCreationFailed:
		return payments.ErrDeclined, ErrCreationFailed
	case CodeNotAuthenticated:
		return payments.ErrUnauthorized, nil
	case CodeClientBlocked:
		return payments.ErrForbidden, ErrClientBlocked
	case CodeServerTimeout:
		return payments.ErrUnavailable, ErrServerTimeout
	}
	return nil, nil
}
