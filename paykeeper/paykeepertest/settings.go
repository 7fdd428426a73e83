package paykeepertest

import (
	"net/mail"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// user is a cabinet user and its last visit.
type user struct {
	User
	lastIP    string
	lastVisit time.Time
}

func (u *user) refundAllowed() bool {
	n, err := strconv.Atoi(u.Refund)
	return err == nil && n > 0
}

// defaultRefundsPerDay is the "refund" count of a user allowed to refund.
const defaultRefundsPerDay = "10"

// WithUserRights sets whether the administrator may refund (default true).
// Without the right /change/payment/reverse/ answers a fail object, as the
// document says: "Возврат могут делать только пользователи с включённой
// функцией возврата". [Server.SetRefundAllowed] changes it later.
func WithUserRights(refund bool) Option {
	return func(s *Server) { s.setRefundAllowedLocked(refund) }
}

// SetRefundAllowed grants or withdraws the administrator's right to refund
// (its "refund" count becomes 10 or 0), as [WithUserRights] sets it.
func (s *Server) SetRefundAllowed(allowed bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.setRefundAllowedLocked(allowed)
}

func (s *Server) setRefundAllowedLocked(allowed bool) {
	u := s.users[0]
	switch {
	case !allowed:
		u.Refund = "0"
	case !u.refundAllowed():
		u.Refund = defaultRefundsPerDay
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
	return mapped(s.users, func(u *user) User { return u.User })
}

// defaultSettings are the organization settings in the order
// /info/organization/settings/ lists them (the document's example); the
// first four are visible to every user, the rest to administrators only.
var defaultSettings = [][2]string{
	{"shopname", "Магазин example.com"}, {"shopdomain", "http://example.com"}, {"legal_name", "ООО МАГАЗИН"},
	{"paykeeper_id", "140221-031-1"}, {"support_email", "support@example.com"}, {"informer_type", "email"},
	{"informer_url", ""}, {"informer_seed", ""}, {"smtp_use_custom", "false"}, {"smtp_user", ""},
	{"smtp_password", ""}, {"smtp_host", ""}, {"smtp_port", ""}, {"skip_default_pages", "off"},
	{"success_url", "http://example.com/success/"}, {"fail_url", "http://example.com/fail/"},
}

// editableSettings are the names /change/organization/setting/ accepts (the
// document's table 5.1.1), each with the values it takes (any when none).
var editableSettings = map[string][]string{
	"support_email": nil, "informer_url": nil, "informer_seed": nil, "smtp_host": nil, "smtp_port": nil,
	"smtp_user": nil, "smtp_password": nil, "success_url": nil, "fail_url": nil,
	"informer_type": {"post", "email"}, "smtp_use_custom": {"true", "false"},
	"skip_default_pages": {"on", "off", "true", "false"},
}

func (s *Server) initSettings() {
	s.settings = map[string]string{}
	for _, kv := range defaultSettings {
		s.settings[kv[0]] = kv[1]
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
	return mapped(s.reportEmails, func(e reportEmail) string { return e.email })
}

// hUserSettings answers the current user. The document's table calls the
// refund flag refund_allowed and its example refund_allow: both are sent.
func (s *Server) hUserSettings(c *call) response {
	u := c.user
	allowed := boolStr(u.refundAllowed())
	return jsonResponse(obj{
		{"user", u.Login}, {"refund_allow", allowed}, {"refund_allowed", allowed},
		{"refund", u.Refund}, {"admin", boolStr(u.Admin)},
	})
}

// hUserLastVisit answers the visit before this request, or this one on the
// first visit.
func (s *Server) hUserLastVisit(c *call) response {
	ip, at := c.user.lastIP, c.user.lastVisit
	if at.IsZero() {
		ip, at = c.ip, s.now()
	}
	return jsonResponse(obj{{"ip", ip}, {"datetime", dt(at)}})
}

func (s *Server) hOrgSettings(c *call) response {
	o := obj{}
	for i, kv := range defaultSettings {
		k := kv[0]
		if i >= 4 && !c.user.Admin {
			break
		}
		if strings.HasPrefix(k, "smtp_") && k != "smtp_use_custom" && s.settings["smtp_use_custom"] != "true" {
			continue
		}
		o.add(k, s.settings[k])
	}
	return jsonResponse(o)
}

func (s *Server) hOrgNotifications(*call) response {
	return jsonResponse([]obj{
		{
			{"type", "important"},
			{"message", "<strong>ВНИМАНИЕ:</strong> ДО КОНЦА ОПЛАЧЕННОГО ПЕРИОДА ПОДДЕРЖКИ И ОБНОВЛЕНИЙ <strong>ОСТАЛОСЬ 10 ДНЕЙ</strong>"},
			{"link", "https://paykeeper.ru/paykeeper/pay/tech/"},
			{"link_caption", "ПРОДЛИТЬ"},
		},
		{
			{"type", "bottom"},
			{"message", "до конца оплаченного периода обновлений <br /> и поддержки <em>осталось 255 дней</em>"},
			{"link", "https://paykeeper.ru/paykeeper/pay/tech/"},
			{"link_caption", "Обратиться в службу поддержки"},
		},
	})
}

func (s *Server) hOrgFields(*call) response { return jsonResponse(mapped(s.fields, (*formField).json)) }

func (s *Server) hOrgReportEmails(*call) response {
	return jsonResponse(mapped(s.reportEmails, func(e reportEmail) obj {
		return obj{{"id", strconv.Itoa(e.id)}, {"email", e.email}}
	}))
}

func (s *Server) hOrgUsers(*call) response {
	return jsonResponse(mapped(s.users, func(u *user) obj {
		return obj{{"id", u.ID}, {"login", u.Login}, {"refund", u.Refund}, {"admin", boolStr(u.Admin)}}
	}))
}

func (s *Server) hChangeSetting(c *call) response {
	name, value := c.form.Get("name"), c.form.Get("value")
	values, ok := editableSettings[name]
	if !ok {
		return fail(MsgUnknownSetting)
	}
	if !c.form.Has("value") {
		return success() // "Если новое значение не указано модификации не произойдет."
	}
	port, err := strconv.Atoi(value)
	if len(values) > 0 && !slices.Contains(values, value) || name == "smtp_port" && (err != nil || port <= 0 || port > 65535) {
		return fail(MsgBadSettingValue)
	}
	s.settings[name] = value
	return success()
}

var fieldTypes = []string{"sum", "clientid", "orderid", "text", "phone", "email", "bool"}

func (s *Server) hChangeFormField(c *call) response {
	f, name := c.form, c.form.Get("pk_name")
	if name == "sum" {
		return fail(MsgSumField)
	}
	i := slices.IndexFunc(s.fields, func(fld *formField) bool { return fld.name == name })
	if i < 0 {
		return fail(MsgFieldNotFound)
	}
	order, err := strconv.Atoi(f.Get("order"))
	if f.Has("required") && !isBool(f.Get("required")) || f.Has("enabled") && !isBool(f.Get("enabled")) ||
		f.Has("type") && !slices.Contains(fieldTypes, f.Get("type")) || f.Has("order") && (err != nil || order < 0 || order > 10000) {
		return fail(MsgBadFieldValue)
	}
	fld := s.fields[i]
	for k, dst := range map[string]*string{
		"displayed_name": &fld.displayed, "placeholder": &fld.placeholder, "required": &fld.required,
		"enabled": &fld.enabled, "type": &fld.typ, "order": &fld.order,
	} {
		if f.Has(k) {
			*dst = f.Get(k)
		}
	}
	return success()
}

func (s *Server) hAddReportEmail(c *call) response {
	email := strings.TrimSpace(c.form.Get("email"))
	if a, err := mail.ParseAddress(email); err != nil || a.Address != email {
		return fail(MsgBadEmail)
	}
	s.reportEmails = append(s.reportEmails, reportEmail{id: s.nextEmailID, email: email})
	s.nextEmailID++
	return success()
}

func (s *Server) hDeleteReportEmail(c *call) response {
	id, err := strconv.Atoi(c.form.Get("id"))
	i := slices.IndexFunc(s.reportEmails, func(e reportEmail) bool { return err == nil && e.id == id })
	if i < 0 {
		return fail(MsgEmailNotFound)
	}
	s.reportEmails = slices.Delete(s.reportEmails, i, i+1)
	return success()
}

var digitsRE = regexp.MustCompile(`^[0-9]{1,6}$`)

// userValues validates the optional refund and admin fields.
func userValues(f url.Values) bool {
	return (!f.Has("refund") || digitsRE.MatchString(strings.Join(f["refund"], ""))) && (!f.Has("admin") || isBool(f["admin"][0]))
}

// userLocked finds a user by id or, when id is "", by login.
func (s *Server) userLocked(id, login string) *user {
	n, err := strconv.Atoi(id)
	for _, u := range s.users {
		if id != "" && err == nil && u.ID == n || id == "" && login != "" && u.Login == login {
			return u
		}
	}
	return nil
}

// apply makes the changes f sends to password, refund and admin.
func (u *user) apply(f url.Values) {
	if v := f.Get("password"); v != "" {
		u.Password = v
	}
	if v := f.Get("refund"); v != "" {
		u.Refund = v
	}
	if v := f.Get("admin"); v != "" {
		u.Admin = v == "true"
	}
}

func (s *Server) hUserAdd(c *call) response {
	login := strings.TrimSpace(c.form.Get("login"))
	switch {
	case login == "" || c.form.Get("password") == "":
		return fail(MsgBadUser)
	case !userValues(c.form):
		return fail(MsgBadFieldValue)
	case s.userLocked("", login) != nil:
		return fail(MsgUserExists)
	}
	u := &user{User: User{ID: s.nextUserID, Login: login, Refund: "0"}}
	u.apply(c.form)
	s.nextUserID++
	s.users = append(s.users, u)
	return success()
}

// hUserUpdate changes the user named by id or, without one, by login.
func (s *Server) hUserUpdate(c *call) response {
	u := s.userLocked(c.form.Get("id"), c.form.Get("login"))
	login := strings.TrimSpace(c.form.Get("login"))
	switch {
	case u == nil:
		return fail(MsgUserNotFound)
	case !userValues(c.form):
		return fail(MsgBadFieldValue)
	case login != "" && login != u.Login && s.userLocked("", login) != nil:
		return fail(MsgUserExists)
	}
	if login != "" {
		u.Login = login
	}
	u.apply(c.form)
	return success()
}

func (s *Server) hUserDelete(c *call) response {
	u := s.userLocked(c.form.Get("id"), "")
	if u == nil {
		return fail(MsgUserNotFound)
	}
	if u == c.user {
		return fail(MsgDeleteSelf)
	}
	s.users = slices.DeleteFunc(s.users, func(x *user) bool { return x == u })
	return success()
}
