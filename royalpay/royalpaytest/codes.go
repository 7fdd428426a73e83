package royalpaytest

import (
	"net/http"

	"github.com/paysdk/payments/internal/fakeserver"
)

// Payment statuses (the document's "Статусы платежей").
const (
	StatusCreated   = "created"   // Заявка создана, ожидает оплаты
	StatusCanceled  = "canceled"  // Платёж отменён
	StatusRefund    = "refund"    // Платёж возвращён
	StatusCompleted = "completed" // Платёж успешно завершён
	StatusDeleted   = "deleted"   // Платёж перевели в статус удалено
)

// Validation and error messages. Required and invalid-choice follow the
// texts the SDK expects; the others are Django REST Framework's Russian
// translations (DRF leaves "Must be a valid boolean." and "Not a valid
// string." untranslated).
const (
	msgRequired     = "Обязательное поле."
	msgNull         = "Это поле не может быть null."
	msgNumber       = "Требуется численное значение."
	msgTooLong      = "Слишком длинное значение."
	msgMaxDigits    = "Убедитесь, что в числе не больше %d знаков."
	msgMaxPlaces    = "Убедитесь, что в числе не больше %d знаков в дробной части."
	msgMaxWhole     = "Убедитесь, что в числе не больше %d знаков в целой части."
	msgMinValue     = "Убедитесь, что значение больше или равно %s."
	msgChoice       = "\"%s\" is not a valid choice."
	msgString       = "Not a valid string."
	msgBoolean      = "Must be a valid boolean."
	msgURL          = "Введите корректный URL."
	msgNotDict      = "Недопустимые данные. Ожидался dictionary, но был получен %s."
	msgUnsupported  = "Неподдерживаемый тип данных \"%s\" в запросе."
	msgJSONParse    = "JSON parse error - %s"
	msgTooLarge     = "Request body too large."
	msgNotFound     = "Страница не найдена."
	msgNoAuth       = "Учетные данные не были предоставлены."
	msgBadToken     = "Недопустимый токен."
	msgNoCards      = "No available cards."
	msgCreateFailed = "Payment creation failed"
	msgBlocked      = "Client is blocked. Reason: "
	msgTimeout      = "Request timed out. The server took too long to respond."
)

type response = fakeserver.Answer

// jsonResponse renders v (an *object, []*object...) as the answer.
func jsonResponse(status int, v any) response {
	return response{Status: status, Type: "application/json", Body: marshal(v)}
}

// detailResponse is DRF's {"detail": "..."}.
func detailResponse(status int, msg string) response {
	return jsonResponse(status, &object{{"detail", msg}})
}

// errorResponse is the document's {"error": "...", "code": ...}.
func errorResponse(status int, msg string, code any) response {
	return jsonResponse(status, &object{{"error", msg}, {"code", code}})
}

func timeoutResponse() response {
	return errorResponse(http.StatusInternalServerError, msgTimeout, 50020)
}

// The provider's own fault kinds.
const (
	faultNoCards = fakeserver.FaultCustom + iota
	faultNoCards40006
	faultCreationFailed
	faultServerTimeout
	faultEcho // the request echoed back, credentials included
)

func (s *Server) queue(n int, kind fakeserver.FaultKind) {
	fakeserver.Enqueue(&s.Faults, n, fakeserver.Fault{Kind: kind})
}

// NoCardsNext answers the next n create requests 400 {"error": "No
// available cards.", "code": 40005}, the document's "no card available to
// accept the payment right now". Nothing is created.
func (s *Server) NoCardsNext(n int) { s.queue(n, faultNoCards) }

// NoCards40006Next is NoCardsNext with "code": 40006, the same text under the
// code seen on the sibling 4Pay platform.
func (s *Server) NoCards40006Next(n int) { s.queue(n, faultNoCards40006) }

// CreationFailedNext answers the next n create requests 400 {"error":
// "Payment creation failed", "code": "30002"}, with the code as a JSON string,
// as the document prints it. Nothing is created.
func (s *Server) CreationFailedNext(n int) { s.queue(n, faultCreationFailed) }

// ServerTimeoutNext creates the payment of each of the next n create
// requests and then answers 500 {"error": "Request timed out. The server took
// too long to respond.", "code": 50020}: the client cannot know the payment
// exists and must reconcile (by outter_id, or by the callback).
func (s *Server) ServerTimeoutNext(n int) { s.queue(n, faultServerTimeout) }
