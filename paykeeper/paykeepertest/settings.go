package paykeepertest

import (
	"net/mail"
	"net/url"
	"regexp"
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
	return func(c *config) { c.refundAllowed = refund }
}

// SetRefundAllowed grants or withdraws the administrator's right to refund
// (its "refund" count becomes 10 or 0), as [WithUserRights] sets it.
func (s *Server) SetRefundAllowed(allowed bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
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
	out := make([]User, len(s.users))
	for i, u := range s.users {
		out[i] = u.User
	}
	return out
}

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
	for i, k := range settingOrder {
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

func (s *Server) hOrgFields(*call) response {
	out := []obj{}
	for _, f := range s.fields {
		out = append(out, f.json())
	}
	return jsonResponse(out)
}

func (s *Server) hOrgReportEmails(*call) response {
	out := []obj{}
	for _, e := range s.reportEmails {
		out = append(out, obj{{"id", strconv.Itoa(e.id)}, {"email", e.email}})
	}
	return jsonResponse(out)
}

func (s *Server) hOrgUsers(*call) response {
	out := []obj{}
	for _, u := range s.users {
		out = append(out, obj{{"id", u.ID}, {"login", u.Login}, {"refund", u.Refund}, {"admin", boolStr(u.Admin)}})
	}
	return jsonResponse(out)
}

func (s *Server) hChangeSetting(c *call) response {
	name := c.form.Get("name")
	if !editableSettings[name] {
		return fail(MsgUnknownSetting)
	}
	if _, ok := c.form["value"]; !ok {
		return success() // "Если новое значение не указано модификации не произойдет."
	}
	value := c.form.Get("value")
	switch name {
	case "informer_type":
		if value != "post" && value != "email" {
			return fail(MsgBadSettingValue)
		}
	case "smtp_use_custom":
		if value != "true" && value != "false" {
			return fail(MsgBadSettingValue)
		}
	case "skip_default_pages":
		if value != "on" && value != "off" && value != "true" && value != "false" {
			return fail(MsgBadSettingValue)
		}
	case "smtp_port":
		if n, err := strconv.Atoi(value); err != nil || n <= 0 || n > 65535 {
			return fail(MsgBadSettingValue)
		}
	}
	s.settings[name] = value
	return success()
}

var fieldTypes = map[string]bool{"sum": true, "clientid": true, "orderid": true, "text": true, "phone": true, "email": true, "bool": true}

func (s *Server) hChangeFormField(c *call) response {
	name := c.form.Get("pk_name")
	if name == "sum" {
		return fail(MsgSumField)
	}
	var fld *formField
	for _, f := range s.fields {
		if f.name == name {
			fld = f
		}
	}
	if fld == nil {
		return fail(MsgFieldNotFound)
	}
	has := func(k string) (string, bool) {
		vs, ok := c.form[k]
		if !ok || len(vs) == 0 {
			return "", false
		}
		return vs[0], true
	}
	for _, k := range []string{"required", "enabled"} {
		if v, ok := has(k); ok && v != "true" && v != "false" {
			return fail(MsgBadFieldValue)
		}
	}
	if v, ok := has("type"); ok && !fieldTypes[v] {
		return fail(MsgBadFieldValue)
	}
	if v, ok := has("order"); ok {
		if n, err := strconv.Atoi(v); err != nil || n < 0 || n > 10000 {
			return fail(MsgBadFieldValue)
		}
	}
	for k, dst := range map[string]*string{
		"displayed_name": &fld.displayed, "placeholder": &fld.placeholder, "required": &fld.required,
		"enabled": &fld.enabled, "type": &fld.typ, "order": &fld.order,
	} {
		if v, ok := has(k); ok {
			*dst = v
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
	for i, e := range s.reportEmails {
		if err == nil && e.id == id {
			s.reportEmails = append(s.reportEmails[:i:i], s.reportEmails[i+1:]...)
			return success()
		}
	}
	return fail(MsgEmailNotFound)
}

var digitsRE = regexp.MustCompile(`^[0-9]{1,6}$`)

// userValues validates the optional refund and admin fields.
func userValues(f url.Values) bool {
	if v, ok := f["refund"]; ok && !digitsRE.MatchString(strings.Join(v, "")) {
		return false
	}
	if v, ok := f["admin"]; ok && v[0] != "true" && v[0] != "false" {
		return false
	}
	return true
}

func (s *Server) userByLoginLocked(login string) *user {
	for _, u := range s.users {
		if u.Login == login {
			return u
		}
	}
	return nil
}

func (s *Server) hUserAdd(c *call) response {
	login, password := strings.TrimSpace(c.form.Get("login")), c.form.Get("password")
	if login == "" || password == "" {
		return fail(MsgBadUser)
	}
	if !userValues(c.form) {
		return fail(MsgBadFieldValue)
	}
	if s.userByLoginLocked(login) != nil {
		return fail(MsgUserExists)
	}
	u := &user{User: User{ID: s.nextUserID, Login: login, Password: password, Refund: "0"}}
	if v := c.form.Get("refund"); v != "" {
		u.Refund = v
	}
	u.Admin = c.form.Get("admin") == "true"
	s.nextUserID++
	s.users = append(s.users, u)
	return success()
}

// findUserLocked finds the user of a change request by id, or by login
// when no id is sent.
func (s *Server) findUserLocked(f url.Values) *user {
	if idText := f.Get("id"); idText != "" {
		id, err := strconv.Atoi(idText)
		for _, u := range s.users {
			if err == nil && u.ID == id {
				return u
			}
		}
		return nil
	}
	if login := f.Get("login"); login != "" {
		return s.userByLoginLocked(login)
	}
	return nil
}

func (s *Server) hUserUpdate(c *call) response {
	u := s.findUserLocked(c.form)
	if u == nil {
		return fail(MsgUserNotFound)
	}
	if !userValues(c.form) {
		return fail(MsgBadFieldValue)
	}
	if login := strings.TrimSpace(c.form.Get("login")); login != "" && login != u.Login {
		if s.userByLoginLocked(login) != nil {
			return fail(MsgUserExists)
		}
		u.Login = login
	}
	if p := c.form.Get("password"); p != "" {
		u.Password = p
	}
	if v := c.form.Get("refund"); v != "" {
		u.Refund = v
	}
	if v := c.form.Get("admin"); v != "" {
		u.Admin = v == "true"
	}
	return success()
}

func (s *Server) hUserDelete(c *call) response {
	u := s.findUserLocked(url.Values{"id": {c.form.Get("id")}})
	if u == nil || c.form.Get("id") == "" {
		return fail(MsgUserNotFound)
	}
	if u == c.user {
		return fail(MsgDeleteSelf)
	}
	for i, x := range s.users {
		if x == u {
			s.users = append(s.users[:i:i], s.users[i+1:]...)
			break
		}
	}
	return success()
}
