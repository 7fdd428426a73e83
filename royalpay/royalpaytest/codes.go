package royalpaytest

import "github.com/paysdk/payments/internal/fakeserver"

// Payment statuses (the document's "Статусы платежей").
const (
	StatusCreated   = "created"   // Заявка создана, ожидает оплаты
	StatusCanceled  = "canceled"  // Платёж отменён
	StatusRefund    = "refund"    // Платёж возвращён
	StatusCompleted = "completed" // Платёж успешно завершён
	StatusDeleted   = "deleted"   // Платёж перевели в статус удалено
)

// Messages more than one answer uses.
const (
	msgRequired  = "Обязательное поле."
	msgJSONParse = "JSON parse error - %s"
	msgTooLarge  = "Request body too large."
	msgNotFound  = "Страница не найдена."
	msgNoAuth    = "Учетные данные не были предоставлены."
	msgNoCards   = "No available cards."
	msgTimeout   = "Request timed out. The server took too long to respond."
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

// The provider's own fault kinds.
const (
	faultRefusal       = fakeserver.FaultCustom + iota // 400 {"error": Body, "code": Code}, Code as a string with Flag
	faultServerTimeout                                 // the payment created, then the timeout's 500
	faultEcho                                          // the request echoed back, credentials included
)

func (s *Server) refuse(n int, msg string, code int, codeText bool) {
	fakeserver.Enqueue(&s.Faults, n, fakeserver.Fault{Kind: faultRefusal, Body: msg, Code: code, Flag: codeText})
}

// NoCardsNext answers the next n create requests 400 {"error": "No
// available cards.", "code": 40005}, the document's "no card available to
// accept the payment right now". Nothing is created.
func (s *Server) NoCardsNext(n int) { s.refuse(n, msgNoCards, 40005, false) }

// NoCards40006Next is NoCardsNext with "code": 40006, the same text under the
// code seen on the sibling 4Pay platform.
func (s *Server) NoCards40006Next(n int) { s.refuse(n, msgNoCards, 40006, false) }

// CreationFailedNext answers the next n create requests 400 {"error":
// "Payment creation failed", "code": "30002"}, with the code as a JSON string,
// as the document prints it. Nothing is created.
func (s *Server) CreationFailedNext(n int) { s.refuse(n, "Payment creation failed", 30002, true) }

// ServerTimeoutNext creates the payment of each of the next n create
// requests and then answers 500 {"error": "Request timed out. The server took
// too long to respond.", "code": 50020}: the client cannot know the payment
// exists and must reconcile (by outter_id, or by the callback).
func (s *Server) ServerTimeoutNext(n int) {
	fakeserver.Enqueue(&s.Faults, n, fakeserver.Fault{Kind: faultServerTimeout})
}
