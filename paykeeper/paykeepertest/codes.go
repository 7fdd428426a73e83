package paykeepertest

// Payment statuses (the document's Приложение 1 and the status[] values).
// obtained, stuck and success all mean the money was taken; canceled and
// failed that the payment did not happen.
const (
	StatusPending           = "pending"
	StatusObtained          = "obtained"
	StatusCanceled          = "canceled"
	StatusSuccess           = "success"
	StatusFailed            = "failed"
	StatusStuck             = "stuck"
	StatusRefunded          = "refunded"
	StatusRefunding         = "refunding"
	StatusPartiallyRefunded = "partially_refunded"
)

// paymentStatuses are the Status constants, in the order bydatecount
// counts them.
var paymentStatuses = []string{StatusPending, StatusObtained, StatusCanceled, StatusSuccess, StatusFailed,
	StatusStuck, StatusRefunded, StatusRefunding, StatusPartiallyRefunded}

// moneyTaken reports whether status means the payer was charged.
func moneyTaken(status string) bool {
	return status == StatusObtained || status == StatusSuccess || status == StatusStuck
}

// Invoice statuses. created is the service status of a new invoice, which
// the invoice history leaves out; revoked invoices become expired.
const (
	InvoiceCreated = "created"
	InvoiceSent    = "sent"
	InvoicePaid    = "paid"
	InvoiceExpired = "expired"
)

// ErrorCodeBadToken is the error_code of the fail object answered to a POST
// without the current security token.
const ErrorCodeBadToken = 67

// The fail messages the server answers. Only MsgBadToken and
// MsgInvoiceNotFound are verbatim from PayKeeper; the others are the fake's
// wording in the same style.
const (
	MsgBadToken         = "Токен безопасности не верен."
	MsgInvoiceNotFound  = "Счёт не найден."
	MsgPaymentNotFound  = "Платёж не найден."
	MsgRefundForbidden  = "У пользователя нет прав на возврат платежей."
	MsgRefundExceeds    = "Сумма возврата превышает остаток платежа."
	MsgBadAmount        = "Неверно указана сумма."
	MsgNotRefundable    = "Платёж в текущем статусе не может быть возвращён."
	MsgFullRefundAmount = "Сумма полного возврата должна совпадать с остатком платежа."
	MsgBadRefundCart    = "Неверный формат refund_cart."
	MsgNotHold          = "Платёж не является авторизованным двухстадийным платежом."
	MsgNoNotify         = "Платёж не может быть отправлен информеру."
	MsgInvoicePaid      = "Счёт уже оплачен."
	MsgInvoiceExpired   = "Срок действия счёта истёк."
	MsgBadExpiry        = "Неверный формат срока действия счёта."
	MsgBadServiceName   = "Неверный формат service_name."
	MsgSumField         = "Поле sum изменить нельзя."
	MsgFieldNotFound    = "Поле не найдено."
	MsgBadFieldValue    = "Неверное значение параметра поля."
	MsgUnknownSetting   = "Неизвестный параметр настроек."
	MsgBadSettingValue  = "Неверное значение параметра настроек."
	MsgBadEmail         = "Неверный адрес электронной почты."
	MsgEmailNotFound    = "Адрес не найден."
	MsgUserNotFound     = "Пользователь не найден."
	MsgUserExists       = "Пользователь с таким логином уже существует."
	MsgBadUser          = "Не указан логин или пароль пользователя."
	MsgDeleteSelf       = "Нельзя удалить текущего пользователя."
	MsgNotAdmin         = "Недостаточно прав для выполнения операции."
	MsgExportLimit      = "Количество элементов в выборке не может быть больше 1000."
	MsgExportType       = "Неверный тип файла."
)

// MsgBadDate answers a date parameter that is not YYYY-MM-DD.
const MsgBadDate = "Неверный формат даты."
