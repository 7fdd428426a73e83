package paykeeper

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/internal/transport"
)

// UserSettings are the current user's settings (section 4.1).
type UserSettings struct {
	User          string
	RefundAllowed bool
	// Refunds is how many refunds the user may make a day.
	Refunds int64
	Admin   bool
}

// UserSettings returns the current user's settings (GET /info/user/settings/).
// A read; always safe.
func (c *Client) UserSettings(ctx context.Context) (_ UserSettings, err error) {
	ctx, obs := c.operation(ctx, "user-settings", "")
	defer func() { obs.End(err) }()
	if err := checkCtx(ctx); err != nil {
		return UserSettings{}, err
	}
	resp, err := c.get(ctx, "user-settings", "/info/user/settings/", nil)
	if err != nil {
		return UserSettings{}, err
	}
	return decodeOne(c, "user-settings", resp, func(r *record) UserSettings {
		// The document's table says refund_allowed, its example refund_allow.
		allowed := r.bool("refund_allowed") || r.bool("refund_allow")
		return UserSettings{User: r.str("user"), RefundAllowed: allowed, Refunds: r.int("refund"), Admin: r.bool("admin")}
	})
}

// Visit is the user's last visit to the cabinet (section 4.2).
type Visit struct {
	IP   string
	Time time.Time
}

// LastVisit returns the user's last visit (GET /info/user/lastvisit/).
// A read; always safe.
func (c *Client) LastVisit(ctx context.Context) (_ Visit, err error) {
	ctx, obs := c.operation(ctx, "user-lastvisit", "")
	defer func() { obs.End(err) }()
	if err := checkCtx(ctx); err != nil {
		return Visit{}, err
	}
	resp, err := c.get(ctx, "user-lastvisit", "/info/user/lastvisit/", nil)
	if err != nil {
		return Visit{}, err
	}
	return decodeOne(c, "user-lastvisit", resp, func(r *record) Visit { return Visit{IP: r.str("ip"), Time: r.time("datetime")} })
}

// OrganizationSettings are the cabinet's settings (section 4.3). A user who
// is not an administrator gets only the first four.
type OrganizationSettings struct {
	ShopName, ShopDomain, LegalName, PayKeeperID string
	SupportEmail                                 string
	InformerType                                 string // "post" or "email"
	InformerURL                                  string
	// InformerSeed is the notification secret word. It never prints.
	InformerSeed                 string
	SMTPUseCustom                bool
	SMTPHost, SMTPPort, SMTPUser string
	SMTPPassword                 string // never prints
	SkipDefaultPages             bool
	SuccessURL, FailURL          string
	All                          map[string]string // every setting as sent, secrets included
}

// String hides the secret word and the SMTP password.
func (s OrganizationSettings) String() string {
	return fmt.Sprintf("paykeeper.OrganizationSettings{ShopName: %s, ShopDomain: %s, InformerType: %s, InformerURL: %s, InformerSeed: [REDACTED], SMTPPassword: [REDACTED]}",
		s.ShopName, s.ShopDomain, s.InformerType, s.InformerURL)
}

// GoString is String.
func (s OrganizationSettings) GoString() string { return s.String() }

// Format prints String for every verb: %d, %x and the others would
// otherwise print the fields, the secret word and All among them.
func (s OrganizationSettings) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, s.String()) }

// LogValue hides the secret word and the SMTP password (and leaves All out).
func (s OrganizationSettings) LogValue() slog.Value {
	return slog.GroupValue(slog.String("shopname", s.ShopName), slog.String("shopdomain", s.ShopDomain),
		slog.String("informer_type", s.InformerType), slog.String("informer_url", s.InformerURL),
		slog.String("informer_seed", "[REDACTED]"), slog.String("smtp_password", "[REDACTED]"))
}

// OrganizationSettings returns the cabinet's settings (GET
// /info/organization/settings/). A read; always safe.
func (c *Client) OrganizationSettings(ctx context.Context) (_ OrganizationSettings, err error) {
	ctx, obs := c.operation(ctx, "organization-settings", "")
	defer func() { obs.End(err) }()
	if err := checkCtx(ctx); err != nil {
		return OrganizationSettings{}, err
	}
	resp, err := c.get(ctx, "organization-settings", "/info/organization/settings/", nil)
	if err != nil {
		return OrganizationSettings{}, err
	}
	return decodeOne(c, "organization-settings", resp, func(r *record) OrganizationSettings {
		all := make(map[string]string, len(r.m))
		for k := range r.m {
			all[k] = r.str(k)
		}
		return OrganizationSettings{ShopName: r.str("shopname"), ShopDomain: r.str("shopdomain"), LegalName: r.str("legal_name"),
			PayKeeperID: r.str("paykeeper_id"), SupportEmail: r.str("support_email"), InformerType: r.str("informer_type"),
			InformerURL: r.str("informer_url"), InformerSeed: r.str("informer_seed"), SMTPUseCustom: r.bool("smtp_use_custom"),
			SMTPHost: r.str("smtp_host"), SMTPPort: r.str("smtp_port"), SMTPUser: r.str("smtp_user"), SMTPPassword: r.str("smtp_password"),
			SkipDefaultPages: r.bool("skip_default_pages"), SuccessURL: r.str("success_url"), FailURL: r.str("fail_url"), All: all}
	})
}

// Notice is a message of the cabinet's information block (section 4.4).
type Notice struct {
	Type        string // important, bottom, bottom_important
	MessageHTML string
	Link        string
	LinkCaption string
}

// Notices returns the information block's messages (GET
// /info/organization/notifications/). A read; always safe.
func (c *Client) Notices(ctx context.Context) (_ []Notice, err error) {
	ctx, obs := c.operation(ctx, "organization-notifications", "")
	defer func() { obs.End(err) }()
	if err := checkCtx(ctx); err != nil {
		return nil, err
	}
	resp, err := c.get(ctx, "organization-notifications", "/info/organization/notifications/", nil)
	if err != nil {
		return nil, err
	}
	return decodeList(c, "organization-notifications", resp, func(r *record) Notice {
		return Notice{Type: r.str("type"), MessageHTML: r.str("message"), Link: r.str("link"), LinkCaption: r.str("link_caption")}
	})
}

// FormField is a field of the payment form, payments and invoices (section 4.5).
type FormField struct {
	Name          string // pk_name
	DisplayedName string
	Required      bool
	Placeholder   string
	Enabled       bool
	Type          string // sum, clientid, orderid, text, phone, email, bool
	Order         int64
}

// FormFields returns the form fields (GET /info/organization/fields/).
// A read; always safe.
func (c *Client) FormFields(ctx context.Context) (_ []FormField, err error) {
	ctx, obs := c.operation(ctx, "organization-fields", "")
	defer func() { obs.End(err) }()
	if err := checkCtx(ctx); err != nil {
		return nil, err
	}
	resp, err := c.get(ctx, "organization-fields", "/info/organization/fields/", nil)
	if err != nil {
		return nil, err
	}
	return decodeList(c, "organization-fields", resp, func(r *record) FormField {
		return FormField{Name: r.str("pk_name"), DisplayedName: r.str("displayed_name"), Required: r.bool("required"),
			Placeholder: r.str("placeholder"), Enabled: r.bool("enabled"), Type: r.str("type"), Order: r.int("order")}
	})
}

// ReportEmail is an address of the payment report mailing list (section 4.6).
type ReportEmail struct {
	ID, Email string
}

// ReportEmails returns the report mailing list (GET
// /info/organization/reportemails/). A read; always safe.
func (c *Client) ReportEmails(ctx context.Context) (_ []ReportEmail, err error) {
	ctx, obs := c.operation(ctx, "organization-reportemails", "")
	defer func() { obs.End(err) }()
	if err := checkCtx(ctx); err != nil {
		return nil, err
	}
	resp, err := c.get(ctx, "organization-reportemails", "/info/organization/reportemails/", nil)
	if err != nil {
		return nil, err
	}
	return decodeList(c, "organization-reportemails", resp, func(r *record) ReportEmail {
		return ReportEmail{ID: r.str("id"), Email: r.str("email")}
	})
}

// User is a cabinet user (section 4.7).
type User struct {
	ID, Login string
	Refunds   int64 // refunds a day; 0: no refunds
	Admin     bool
}

// Users returns the cabinet's users (GET /info/organization/users/).
// A read; always safe.
func (c *Client) Users(ctx context.Context) (_ []User, err error) {
	ctx, obs := c.operation(ctx, "organization-users", "")
	defer func() { obs.End(err) }()
	if err := checkCtx(ctx); err != nil {
		return nil, err
	}
	resp, err := c.get(ctx, "organization-users", "/info/organization/users/", nil)
	if err != nil {
		return nil, err
	}
	return decodeList(c, "organization-users", resp, func(r *record) User {
		return User{ID: r.str("id"), Login: r.str("login"), Refunds: r.int("refund"), Admin: r.bool("admin")}
	})
}

// The settings ChangeSetting accepts (section 5.1).
var changeableSettings = map[string]bool{"support_email": true, "informer_type": true, "informer_url": true, "informer_seed": true,
	"smtp_use_custom": true, "smtp_host": true, "smtp_port": true, "smtp_user": true, "smtp_password": true,
	"skip_default_pages": true, "success_url": true, "fail_url": true}

// secretSettings are the settings whose values never appear in an error.
var secretSettings = map[string]bool{"informer_seed": true, "smtp_password": true}

// ChangeSetting sets one setting (POST /change/organization/setting/,
// section 5.1): support_email, informer_type, informer_url, informer_seed,
// smtp_*, skip_default_pages, success_url, fail_url. nil means
// {"result":"success"} came back; any other answer but a fail object is
// payments.ErrOutcomeUnknown. Resend safety: safe, resent by the client;
// setting a value twice sets it once.
func (c *Client) ChangeSetting(ctx context.Context, name, value string) (err error) {
	ctx, obs := c.operation(ctx, "organization-setting", "")
	defer func() { obs.End(err) }()
	if err := checkCtx(ctx); err != nil {
		return err
	}
	if !changeableSettings[name] {
		return &payments.ValidationError{Field: "name", Reason: fmt.Sprintf("%q is not a setting the document lets change", name)}
	}
	if name == "informer_type" && value != "post" && value != "email" {
		return &payments.ValidationError{Field: "value", Reason: "informer_type is post or email"}
	}
	w := write{op: "organization-setting", path: "/change/organization/setting/", kind: transport.IdempotentWrite, ref: name,
		form: url.Values{"name": {name}, "value": {value}}}
	if secretSettings[name] {
		w.secrets = []string{value}
	}
	_, err = c.post(ctx, w)
	return err
}

// FormFieldChange changes a form field; nil fields stay as they are.
type FormFieldChange struct {
	Name          string // pk_name; "sum" cannot be changed
	DisplayedName *string
	Required      *bool
	Placeholder   *string
	Enabled       *bool
	Type          *string
	Order         *int
}

// ChangeFormField changes a form field (POST /change/organization/formfield/,
// section 5.2). The sum field is refused before sending, as the document
// says the server refuses it. nil means {"result":"success"} came back.
// Resend safety: safe, resent by the client; the same change twice is one
// change.
func (c *Client) ChangeFormField(ctx context.Context, f FormFieldChange) (err error) {
	ctx, obs := c.operation(ctx, "organization-formfield", "")
	defer func() { obs.End(err) }()
	if err := checkCtx(ctx); err != nil {
		return err
	}
	if f.Name == "" {
		return &payments.ValidationError{Field: "Name", Reason: "required"}
	}
	if f.Name == "sum" {
		return &payments.ValidationError{Field: "Name", Reason: "the sum field cannot be changed (the document: an error is returned)"}
	}
	form := url.Values{"pk_name": {f.Name}}
	if f.DisplayedName != nil {
		form.Set("displayed_name", *f.DisplayedName)
	}
	if f.Required != nil {
		form.Set("required", strconv.FormatBool(*f.Required))
	}
	if f.Placeholder != nil {
		form.Set("placeholder", *f.Placeholder)
	}
	if f.Enabled != nil {
		form.Set("enabled", strconv.FormatBool(*f.Enabled))
	}
	if f.Type != nil {
		switch *f.Type {
		case "sum", "clientid", "orderid", "text", "phone", "email", "bool":
		default:
			return &payments.ValidationError{Field: "Type", Reason: "sum, clientid, orderid, text, phone, email or bool"}
		}
		form.Set("type", *f.Type)
	}
	if f.Order != nil {
		if *f.Order < 0 || *f.Order > 10000 {
			return &payments.ValidationError{Field: "Order", Reason: "0 to 10000"}
		}
		form.Set("order", strconv.Itoa(*f.Order))
	}
	_, err = c.post(ctx, write{op: "organization-formfield", path: "/change/organization/formfield/", kind: transport.IdempotentWrite, ref: f.Name, form: form})
	return err
}

// AddReportEmail adds an address to the report mailing list (POST
// /change/organization/addreportemail/, section 5.3). nil means
// {"result":"success"} came back. Resend safety: unsafe (a resend may add it
// twice); a lost answer is ErrOutcomeUnknown: check ReportEmails.
func (c *Client) AddReportEmail(ctx context.Context, email string) (err error) {
	ctx, obs := c.operation(ctx, "organization-addreportemail", "")
	defer func() { obs.End(err) }()
	if err := checkCtx(ctx); err != nil {
		return err
	}
	if len(email) > maxTextLen {
		return &payments.ValidationError{Field: "email", Reason: fmt.Sprintf("too long: at most %d characters", maxTextLen)}
	}
	if !strings.Contains(email, "@") || strings.ContainsAny(email, " \r\n") {
		return &payments.ValidationError{Field: "email", Reason: "not an e-mail address"}
	}
	_, err = c.post(ctx, write{op: "organization-addreportemail", path: "/change/organization/addreportemail/", kind: transport.UnsafeWrite, ref: email,
		form: url.Values{"email": {email}}})
	return err
}

// DeleteReportEmail removes an address by its id (POST
// /change/organization/deletereportemail/, section 5.4). nil means
// {"result":"success"} came back. Resend safety: safe, resent by the client
// after a lost answer; a resend of a delete that was done is refused (the
// address is gone), and the client then reports outcome-unknown, not the
// refusal.
func (c *Client) DeleteReportEmail(ctx context.Context, id string) (err error) {
	ctx, obs := c.operation(ctx, "organization-deletereportemail", id)
	defer func() { obs.End(err) }()
	if err := checkCtx(ctx); err != nil {
		return err
	}
	if err := checkID("id", id); err != nil {
		return err
	}
	_, err = c.post(ctx, write{op: "organization-deletereportemail", path: "/change/organization/deletereportemail/", kind: transport.IdempotentWrite, ref: id,
		form: url.Values{"id": {id}}})
	return err
}

// NewUser is a cabinet user to add (section 5.6).
type NewUser struct {
	Login    string
	Password string // never printed
	Refunds  int    // refunds a day; 0 forbids refunds
	Admin    bool
}

// String hides the password.
func (u NewUser) String() string {
	return fmt.Sprintf("paykeeper.NewUser{Login: %s, Password: [REDACTED], Refunds: %d, Admin: %t}", u.Login, u.Refunds, u.Admin)
}

// GoString is String.
func (u NewUser) GoString() string { return u.String() }

// Format prints String for every verb (%d would print the password).
func (u NewUser) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, u.String()) }

// LogValue hides the password.
func (u NewUser) LogValue() slog.Value {
	return slog.GroupValue(slog.String("login", u.Login), slog.String("password", "[REDACTED]"),
		slog.Int("refunds", u.Refunds), slog.Bool("admin", u.Admin))
}

// AddUser adds a cabinet user (POST /change/user/add/, section 5.6). nil
// means {"result":"success"} came back. Resend safety: unsafe (a resend may
// fail as a duplicate or add twice); a lost answer is ErrOutcomeUnknown:
// check Users.
func (c *Client) AddUser(ctx context.Context, u NewUser) (err error) {
	ctx, obs := c.operation(ctx, "user-add", "")
	defer func() { obs.End(err) }()
	if err := checkCtx(ctx); err != nil {
		return err
	}
	if u.Login == "" || u.Password == "" {
		return &payments.ValidationError{Field: "Login/Password", Reason: "required"}
	}
	if u.Refunds < 0 {
		return &payments.ValidationError{Field: "Refunds", Reason: "negative"}
	}
	form := url.Values{"login": {u.Login}, "password": {u.Password}, "refund": {strconv.Itoa(u.Refunds)}, "admin": {strconv.FormatBool(u.Admin)}}
	_, err = c.post(ctx, write{op: "user-add", path: "/change/user/add/", kind: transport.UnsafeWrite, ref: u.Login, form: form,
		secrets: []string{u.Password}})
	return err
}

// UserUpdate changes a cabinet user; empty or nil fields stay as they are.
type UserUpdate struct {
	ID       string
	Login    string
	Password string // never printed
	Refunds  *int
	Admin    *bool
}

// String hides the password.
func (u UserUpdate) String() string {
	return fmt.Sprintf("paykeeper.UserUpdate{ID: %s, Login: %s, Password: [REDACTED]}", u.ID, u.Login)
}

// GoString is String.
func (u UserUpdate) GoString() string { return u.String() }

// Format prints String for every verb (%d would print the password).
func (u UserUpdate) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, u.String()) }

// LogValue hides the password.
func (u UserUpdate) LogValue() slog.Value {
	return slog.GroupValue(slog.String("id", u.ID), slog.String("login", u.Login), slog.String("password", "[REDACTED]"))
}

// UpdateUser changes a cabinet user (POST /change/user/update/, section
// 5.7). nil means {"result":"success"} came back. Resend safety: safe,
// resent by the client; the same change twice is one change.
func (c *Client) UpdateUser(ctx context.Context, u UserUpdate) (err error) {
	ctx, obs := c.operation(ctx, "user-update", u.ID)
	defer func() { obs.End(err) }()
	if err := checkCtx(ctx); err != nil {
		return err
	}
	if err := checkID("ID", u.ID); err != nil {
		return err
	}
	form := url.Values{"id": {u.ID}}
	if u.Login != "" {
		form.Set("login", u.Login)
	}
	if u.Password != "" {
		form.Set("password", u.Password)
	}
	if u.Refunds != nil {
		if *u.Refunds < 0 {
			return &payments.ValidationError{Field: "Refunds", Reason: "negative"}
		}
		form.Set("refund", strconv.Itoa(*u.Refunds))
	}
	if u.Admin != nil {
		form.Set("admin", strconv.FormatBool(*u.Admin))
	}
	_, err = c.post(ctx, write{op: "user-update", path: "/change/user/update/", kind: transport.IdempotentWrite, ref: u.ID, form: form,
		secrets: []string{u.Password}})
	return err
}

// DeleteUser removes a cabinet user (POST /change/user/delete/, section
// 5.8). nil means {"result":"success"} came back. Resend safety: safe,
// resent by the client after a lost answer (which is then outcome-unknown if
// the resend is refused because the user is gone).
func (c *Client) DeleteUser(ctx context.Context, id string) (err error) {
	ctx, obs := c.operation(ctx, "user-delete", id)
	defer func() { obs.End(err) }()
	if err := checkCtx(ctx); err != nil {
		return err
	}
	if err := checkID("id", id); err != nil {
		return err
	}
	_, err = c.post(ctx, write{op: "user-delete", path: "/change/user/delete/", kind: transport.IdempotentWrite, ref: id, form: url.Values{"id": {id}}})
	return err
}
