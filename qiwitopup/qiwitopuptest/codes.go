package qiwitopuptest

// Request-level codes (the documents' "request processing" table).
const (
	codeOK      = 0
	codeAuth    = 150
	codeUnknown = 300
	codeIP      = 339
)

// Payment statuses.
const (
	statusAccepted  = 50
	statusCrediting = 52
	statusSuccess   = 60
	statusDeclined  = 150
	statusCancelled = 160
)

// requestMessages are the Russian texts of the request-level codes.
var requestMessages = map[int]string{
	13:  "Повторите запрос через минуту",
	150: "Ошибка авторизации",
	204: "Недостаточный статус идентификации кошелька для проведения платежа",
	319: "Запрет на пополнение учетной записи данного номера телефона",
	339: "Ограничение по IP адресу",
}

// paymentMessages are the Russian texts of the payment result-codes (the RU
// error table); a code the table does not have has none.
var paymentMessages = map[int]string{
	0:   "Ok",
	155: "Запрещен прием платежей в пользу данного сервиса",
	204: "Недостаточный статус идентификации кошелька для проведения платежа",
	215: "Запрос проведения платежа содержит уже существующий номер транзакции платежа, но другие реквизиты платежа",
	220: "Недостаточно средств на счете для проведения платежа",
	241: "Сумма платежа меньше допустимой",
	242: "Сумма платежа больше допустимой",
	298: "Учетная запись Клиента с введенным номером телефона не может быть зарегистрирована в системе QIWI Wallet. Ошибочный номер телефона Клиента",
	300: "Неизвестная ошибка обработки платежа",
	316: "Попытка авторизации заблокированного Контрагента",
	319: "Запрет на пополнение учетной записи данного номера телефона",
	700: "Превышен месячный лимит на операции",
	702: "Превышен лимит на остаток учетной записи Клиента в системе QIWI Wallet",
}
