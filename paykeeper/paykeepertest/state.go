package paykeepertest

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/paysdk/payments"
)

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

// Invoice statuses. created is the service status of a new invoice, which
// the invoice history leaves out; revoked invoices become expired.
const (
	InvoiceCreated = "created"
	InvoiceSent    = "sent"
	InvoicePaid    = "paid"
	InvoiceExpired = "expired"
)

// DefaultPaymentSystemID is the payment system of payments that do not name
// one (the document's example payments use "3").
const DefaultPaymentSystemID = "3"

// defaultRefundsPerDay is the "refund" count of a user allowed to refund.
const defaultRefundsPerDay = "10"

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

// ---- payments ----

type payment struct {
	id            string
	amount        payments.Decimal
	refunded      payments.Decimal
	systemID      string
	clientID      string
	orderID       string
	uniqueID      string
	serviceName   string // as sent (may be a JSON object string)
	email         string
	phone         string
	clientIP      string
	status        string
	repeatCounter int
	hold          bool
	captured      bool
	batchDate     string
	pending       time.Time
	obtained      time.Time
	success       time.Time
	refunds       []refund
	receipts      []ReceiptRecord
	options       map[string]string
	paramIDs      [2]int64
}

type refund struct {
	id        int64
	number    int
	user      string
	amount    payments.Decimal
	remainder payments.Decimal
	at        time.Time
	cart      string
	sbpTo     string
}

// PaymentSpec describes a payment for [Server.AddPayment]. Only Amount is
// required.
type PaymentSpec struct {
	Amount          string // decimal roubles, "100.00" or "100"; required, positive
	Status          string // default StatusSuccess
	PaymentSystemID string // default DefaultPaymentSystemID
	ClientID        string // clientid: the payer's name or id
	OrderID         string // orderid
	UniqueID        string // unique_id, the transaction id; null when ""
	ServiceName     string
	ClientEmail     string
	ClientPhone     string
	// Hold makes a two-stage payment: authorised (status obtained, a
	// batch_date in its notification) until /change/payment/capture/.
	Hold bool
	// Created is pending_datetime; default now. obtain_datetime is one
	// second later for payments whose money was taken.
	Created time.Time
	// Options are extra keys for /info/options/byid/.
	Options map[string]string
}

// PaymentRecord is what the server holds about one payment.
type PaymentRecord struct {
	ID              string
	Amount          string // pay_amount, "100.00"
	RefundAmount    string // refund_amount, "0.00"
	Remainder       string // what may still be refunded, "100.00"
	PaymentSystemID string
	ClientID        string
	OrderID         string
	UniqueID        string
	ServiceName     string
	ClientEmail     string
	ClientPhone     string
	Status          string
	RepeatCounter   int
	Hold            bool   // a two-stage payment
	Captured        bool   // a two-stage payment that was captured
	BatchDate       string // the hold's capture date, "" for one-stage payments
	Pending         time.Time
	Obtained        time.Time // zero when the money was not taken
	Success         time.Time // zero until the merchant acknowledged
	Refunds         []RefundRecord
}

// RefundRecord is one refund of a payment.
type RefundRecord struct {
	ID         string
	Number     int    // refund_number, 1 for the first refund of the payment
	User       string // the login that made it
	Amount     string // "50.00"
	Remainder  string // what was left to refund after it
	Time       time.Time
	RefundCart string // the refund_cart field as sent, "" when absent
	// SBPRefundTo is the sbp_refund_to field as sent, "" when absent.
	SBPRefundTo string
}

func fixed(d payments.Decimal) string {
	s, err := d.StringFixed(2)
	if err != nil {
		return d.String()
	}
	return s
}

func (p *payment) remainder() payments.Decimal { return p.amount.Sub(p.refunded) }

func (p *payment) record() PaymentRecord {
	r := PaymentRecord{
		ID: p.id, Amount: fixed(p.amount), RefundAmount: fixed(p.refunded), Remainder: fixed(p.remainder()),
		PaymentSystemID: p.systemID, ClientID: p.clientID, OrderID: p.orderID, UniqueID: p.uniqueID,
		ServiceName: p.serviceName, ClientEmail: p.email, ClientPhone: p.phone,
		Status: p.status, RepeatCounter: p.repeatCounter, Hold: p.hold, Captured: p.captured,
		BatchDate: p.batchDate, Pending: p.pending, Obtained: p.obtained, Success: p.success,
	}
	for _, f := range p.refunds {
		r.Refunds = append(r.Refunds, RefundRecord{
			ID: strconv.FormatInt(f.id, 10), Number: f.number, User: f.user,
			Amount: fixed(f.amount), Remainder: fixed(f.remainder), Time: f.at, RefundCart: f.cart, SBPRefundTo: f.sbpTo,
		})
	}
	return r
}

// moneyTaken reports whether status means the payer was charged.
func moneyTaken(status string) bool {
	switch status {
	case StatusObtained, StatusSuccess, StatusStuck:
		return true
	}
	return false
}

func validPaymentStatus(s string) bool {
	switch s {
	case StatusPending, StatusObtained, StatusCanceled, StatusSuccess, StatusFailed,
		StatusStuck, StatusRefunded, StatusRefunding, StatusPartiallyRefunded:
		return true
	}
	return false
}

// AddPayment stores a payment as if a payer had made it and returns its id
// (ids are numeric strings counting up from 97452, the document's example).
// No notification is sent: call [Server.Notify] for that. It panics on an
// Amount that is not a positive decimal or an unknown Status, which are
// mistakes in the test.
func (s *Server) AddPayment(spec PaymentSpec) string {
	amount, err := payments.ParseDecimal(spec.Amount)
	if err != nil || amount.Sign() <= 0 {
		panic(fmt.Sprintf("paykeepertest: AddPayment: amount %q is not a positive decimal", spec.Amount))
	}
	if spec.Status == "" {
		spec.Status = StatusSuccess
		if spec.Hold {
			spec.Status = StatusObtained
		}
	}
	if !validPaymentStatus(spec.Status) {
		panic(fmt.Sprintf("paykeepertest: AddPayment: unknown status %q", spec.Status))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addPaymentLocked(spec, amount).id
}

func (s *Server) addPaymentLocked(spec PaymentSpec, amount payments.Decimal) *payment {
	created := spec.Created
	if created.IsZero() {
		created = s.now()
	}
	if spec.PaymentSystemID == "" {
		spec.PaymentSystemID = DefaultPaymentSystemID
	}
	p := &payment{
		id:          strconv.FormatInt(s.nextPaymentID, 10),
		amount:      amount,
		systemID:    spec.PaymentSystemID,
		clientID:    spec.ClientID,
		orderID:     spec.OrderID,
		uniqueID:    spec.UniqueID,
		serviceName: spec.ServiceName,
		email:       spec.ClientEmail,
		phone:       spec.ClientPhone,
		clientIP:    "81.5.119.7",
		status:      spec.Status,
		hold:        spec.Hold,
		pending:     created,
		options:     map[string]string{},
	}
	s.nextPaymentID++
	for k, v := range spec.Options {
		p.options[k] = v
	}
	p.paramIDs = [2]int64{s.nextParamID, s.nextParamID + 1}
	s.nextParamID += 2
	switch p.status {
	case StatusPending, StatusCanceled, StatusFailed:
	default:
		p.obtained = created.Add(time.Second)
	}
	switch p.status {
	case StatusSuccess, StatusRefunded, StatusPartiallyRefunded, StatusRefunding:
		p.success = p.obtained
		if p.hold {
			p.captured = true
		}
	}
	if p.hold {
		p.batchDate = p.obtained.In(Moscow).AddDate(0, 0, 5).Format(dateLayout)
	}
	if p.status == StatusRefunded {
		p.refunded = amount
	}
	s.payments[p.id] = p
	s.paymentOrder = append(s.paymentOrder, p.id)
	return p
}

// Payment returns the payment with id, if the server has it.
func (s *Server) Payment(id string) (PaymentRecord, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.payments[id]
	if p == nil {
		return PaymentRecord{}, false
	}
	return p.record(), true
}

// Payments returns every stored payment in the order they were created.
func (s *Server) Payments() []PaymentRecord {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]PaymentRecord, 0, len(s.paymentOrder))
	for _, id := range s.paymentOrder {
		out = append(out, s.payments[id].record())
	}
	return out
}

// SetPaymentStatus sets the status of payment id to any of the Status
// constants (for example StatusRefunding, which the fake never reaches by
// itself), without notifications or other effects. It reports whether the
// payment exists and the status is known.
func (s *Server) SetPaymentStatus(id, status string) bool {
	if !validPaymentStatus(status) {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.payments[id]
	if p == nil {
		return false
	}
	p.status = status
	if moneyTaken(status) && p.obtained.IsZero() {
		p.obtained = s.now()
	}
	return true
}

// ---- invoices ----

type invoice struct {
	id          string
	status      string
	amount      payments.Decimal
	clientID    string
	orderID     string
	serviceName string
	email       string
	phone       string
	expiry      time.Time
	created     time.Time
	paid        time.Time
	paymentID   string
	cart        string // the form's cart field, "" when none
}

// InvoiceRecord is what the server holds about one invoice.
type InvoiceRecord struct {
	ID          string // 17 digits
	Status      string // InvoiceCreated, InvoiceSent, InvoicePaid or InvoiceExpired
	Amount      string // "1205.98"
	ClientID    string
	OrderID     string
	ServiceName string // as sent: a plain string or a JSON object string
	ClientEmail string
	ClientPhone string
	Expiry      time.Time
	Created     time.Time
	Paid        time.Time // zero until paid
	PaymentID   string    // the payment that paid it, "" until paid
}

func (v *invoice) record() InvoiceRecord {
	return InvoiceRecord{
		ID: v.id, Status: v.status, Amount: fixed(v.amount), ClientID: v.clientID, OrderID: v.orderID,
		ServiceName: v.serviceName, ClientEmail: v.email, ClientPhone: v.phone,
		Expiry: v.expiry, Created: v.created, Paid: v.paid, PaymentID: v.paymentID,
	}
}

// expireDueLocked moves unpaid invoices past their expiry to expired.
func (s *Server) expireDueLocked() {
	now := s.now()
	for _, v := range s.invoices {
		if (v.status == InvoiceCreated || v.status == InvoiceSent) && !now.Before(v.expiry) {
			v.status = InvoiceExpired
		}
	}
}

// Invoice returns the invoice with id, if the server has it.
func (s *Server) Invoice(id string) (InvoiceRecord, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expireDueLocked()
	v := s.invoices[id]
	if v == nil {
		return InvoiceRecord{}, false
	}
	return v.record(), true
}

// Invoices returns every invoice in the order they were created.
func (s *Server) Invoices() []InvoiceRecord {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expireDueLocked()
	out := make([]InvoiceRecord, 0, len(s.invoiceOrder))
	for _, id := range s.invoiceOrder {
		out = append(out, s.invoices[id].record())
	}
	return out
}

// ExpireInvoice makes an unpaid invoice expired at once, as if its expiry
// had passed. It reports whether the invoice exists and was unpaid.
func (s *Server) ExpireInvoice(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	v := s.invoices[id]
	if v == nil || v.status == InvoicePaid {
		return false
	}
	v.status = InvoiceExpired
	return true
}

// PayInvoice pays invoice id as a payer would on its page: a payment for the
// invoice's amount, clientid, orderid and service name is created (status
// obtained), the invoice becomes paid with paymentid set, and the payment is
// notified as [Server.Notify] does (becoming success when the merchant
// acknowledges, stuck when not, success when no informer URL is set). It
// returns the payment id; the notification is in [Server.Notifications]. It
// fails when the invoice does not exist or is paid or expired.
func (s *Server) PayInvoice(id string) (string, error) {
	s.mu.Lock()
	s.expireDueLocked()
	v := s.invoices[id]
	switch {
	case v == nil:
		s.mu.Unlock()
		return "", fmt.Errorf("paykeepertest: no invoice %s", id)
	case v.status == InvoicePaid || v.status == InvoiceExpired:
		s.mu.Unlock()
		return "", fmt.Errorf("paykeepertest: invoice %s is %s", id, v.status)
	}
	p := s.addPaymentLocked(PaymentSpec{
		Status: StatusObtained, ClientID: v.clientID, OrderID: v.orderID, ServiceName: v.serviceName,
		ClientEmail: v.email, ClientPhone: v.phone,
	}, v.amount)
	if cart := cartOf(v.serviceName); cart != "" {
		p.options["cart"] = cart
	}
	if v.cart != "" {
		p.options["cart"] = v.cart
	}
	v.status = InvoicePaid
	v.paid = p.obtained
	v.paymentID = p.id
	s.mu.Unlock()
	_, _ = s.Notify(p.id)
	return p.id, nil
}

// serviceObject parses a service_name sent as a JSON object; ok is false for
// a plain string.
func serviceObject(sn string) (map[string]json.RawMessage, bool) {
	if len(sn) == 0 || sn[0] != '{' {
		return nil, false
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal([]byte(sn), &m); err != nil {
		return nil, false
	}
	return m, true
}

// displayServiceName is the service name a payer sees: the "service_name"
// member of a JSON service_name, or the plain string.
func displayServiceName(sn string) string {
	m, ok := serviceObject(sn)
	if !ok {
		return sn
	}
	var name string
	if raw, ok := m["service_name"]; ok {
		_ = json.Unmarshal(raw, &name)
	}
	return name
}

// cartOf returns the cart of a JSON service_name as a JSON string holding
// the array (how /info/options/byid/ carries it), or "".
func cartOf(sn string) string {
	m, ok := serviceObject(sn)
	if !ok {
		return ""
	}
	raw, ok := m["cart"]
	if !ok {
		return ""
	}
	var str string
	if json.Unmarshal(raw, &str) == nil {
		return str // already a JSON string holding the array
	}
	return string(raw)
}

// ---- users ----

type user struct {
	id        int
	login     string
	password  string
	refund    string // refunds per day; "0" means no refunds
	admin     bool
	lastIP    string
	lastVisit time.Time
}

func (u *user) refundAllowed() bool {
	n, err := strconv.Atoi(u.refund)
	return err == nil && n > 0
}

// SetRefundAllowed grants or withdraws the administrator's right to refund
// (its "refund" count becomes 10 or 0), as [WithUserRights] sets it.
func (s *Server) SetRefundAllowed(allowed bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.users[0]
	switch {
	case !allowed:
		u.refund = "0"
	case !u.refundAllowed():
		u.refund = defaultRefundsPerDay
	}
}

// User is one cabinet user as /info/organization/users/ lists it.
type User struct {
	ID       int
	Login    string
	Password string
	Refund   string // refunds per day; "0" means the user may not refund
	Admin    bool
}

// Users returns the cabinet's users; the first is the administrator of
// [WithCredentials].
func (s *Server) Users() []User {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]User, len(s.users))
	for i, u := range s.users {
		out[i] = User{ID: u.id, Login: u.login, Password: u.password, Refund: u.refund, Admin: u.admin}
	}
	return out
}

// ---- organization settings, fields, report e-mails ----

// settingOrder is the order of /info/organization/settings/ (the document's
// example); the first four are visible to every user, the rest to
// administrators only.
var settingOrder = []string{
	"shopname", "shopdomain", "legal_name", "paykeeper_id", "support_email",
	"informer_type", "informer_url", "informer_seed", "smtp_use_custom",
	"smtp_user", "smtp_password", "smtp_host", "smtp_port",
	"skip_default_pages", "success_url", "fail_url",
}

// editableSettings are the names /change/organization/setting/ accepts
// (the document's table 5.1.1).
var editableSettings = map[string]bool{
	"support_email": true, "informer_type": true, "informer_url": true, "informer_seed": true,
	"smtp_use_custom": true, "smtp_host": true, "smtp_port": true, "smtp_user": true,
	"smtp_password": true, "skip_default_pages": true, "success_url": true, "fail_url": true,
}

func (s *Server) initSettings(cfg config) {
	s.settings = map[string]string{
		"shopname":           "Магазин example.com",
		"shopdomain":         "http://example.com",
		"legal_name":         "ООО МАГАЗИН",
		"paykeeper_id":       "140221-031-1",
		"support_email":      "support@example.com",
		"informer_type":      "email",
		"informer_url":       "",
		"informer_seed":      "",
		"smtp_use_custom":    "false",
		"smtp_user":          "",
		"smtp_password":      "",
		"smtp_host":          "",
		"smtp_port":          "",
		"skip_default_pages": "off",
		"success_url":        "http://example.com/success/",
		"fail_url":           "http://example.com/fail/",
	}
	if cfg.notifyURL != "" {
		s.settings["informer_type"] = "post"
		s.settings["informer_url"] = cfg.notifyURL
		s.settings["informer_seed"] = cfg.notifySecret
	}
	s.fields = []*formField{
		{name: "sum", displayed: "Сумма", placeholder: "", required: "true", enabled: "true", order: "10", typ: "sum"},
		{name: "clientid", displayed: "Фамилия Имя Отчество", placeholder: "Иванов Иван Иванович", required: "true", enabled: "true", order: "20", typ: "clientid"},
		{name: "orderid", displayed: "Номер заказа", placeholder: "", required: "false", enabled: "true", order: "30", typ: "orderid"},
		{name: "service_name", displayed: "Наименование услуги", placeholder: "", required: "false", enabled: "true", order: "40", typ: "text"},
		{name: "client_email", displayed: "E-mail", placeholder: "ivanov@example.com", required: "false", enabled: "true", order: "50", typ: "email"},
		{name: "client_phone", displayed: "Телефон", placeholder: "+7 (900) 000-00-00", required: "false", enabled: "true", order: "60", typ: "phone"},
	}
	s.reportEmails = []reportEmail{{id: 1, email: "support@paykeeper.ru"}}
	s.nextEmailID = 2
}

// Setting returns the organization setting name (as
// /info/organization/settings/ names it), "" when unknown.
func (s *Server) Setting(name string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.settings[name]
}

// SetSetting changes the organization setting name, as
// /change/organization/setting/ does but without validation. Setting
// informer_type to "post" with informer_url and informer_seed turns
// notifications on.
func (s *Server) SetSetting(name, value string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.settings[name] = value
}

type formField struct {
	name, displayed, placeholder, required, enabled, order, typ string
}

func (f *formField) json() obj {
	return obj{
		{"pk_name", f.name}, {"displayed_name", f.displayed}, {"placeholder", f.placeholder},
		{"required", f.required}, {"enabled", f.enabled}, {"order", f.order}, {"type", f.typ},
	}
}

type reportEmail struct {
	id    int
	email string
}

// ReportEmails returns the addresses of the payment report mailing list.
func (s *Server) ReportEmails() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, len(s.reportEmails))
	for i, e := range s.reportEmails {
		out[i] = e.email
	}
	return out
}

// sortedPayments returns the payments newest first (by pending_datetime,
// then id).
func (s *Server) sortedPaymentsLocked() []*payment {
	out := make([]*payment, 0, len(s.payments))
	for _, id := range s.paymentOrder {
		out = append(out, s.payments[id])
	}
	sort.SliceStable(out, func(i, j int) bool {
		if !out[i].pending.Equal(out[j].pending) {
			return out[i].pending.After(out[j].pending)
		}
		a, _ := strconv.ParseInt(out[i].id, 10, 64)
		b, _ := strconv.ParseInt(out[j].id, 10, 64)
		return a > b
	})
	return out
}
