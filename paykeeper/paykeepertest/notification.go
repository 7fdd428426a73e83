package paykeepertest

import (
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// WithNotifications configures the informer as the cabinet would with
// informer_type=post: notifications are POSTed to url and signed with secret
// (the informer_seed). The same settings can be changed later through
// /change/organization/setting/ or [Server.SetSetting]. Without it the
// informer type is "email" and payments become success without a POST.
func WithNotifications(url, secret string) Option {
	return func(s *Server) {
		s.settings["informer_type"], s.settings["informer_url"], s.settings["informer_seed"] = "post", url, secret
		if url == "" {
			s.settings["informer_type"], s.settings["informer_seed"] = "email", ""
		}
	}
}

// WithNotificationClient sets the client the server POSTs notifications
// with, for example an httptest TLS server's Client(). The default client
// has a [DefaultNotificationTimeout] timeout and does not follow redirects.
func WithNotificationClient(hc *http.Client) Option {
	return func(s *Server) { s.notifyClient = hc }
}

// maxNotificationAnswer caps how much of the merchant's answer is kept.
const maxNotificationAnswer = 64 << 10

// NotificationResult is one POST notification the server sent, or tried to
// send, to the informer URL.
type NotificationResult struct {
	PaymentID string
	URL       string     // where it was POSTed
	Form      url.Values // the fields sent, key included
	Status    int        // the merchant's HTTP status; 0 when no answer came
	Body      []byte     // the merchant's answer (its first 64 KiB)
	// Acknowledged tells whether the merchant answered 200 with exactly
	// "OK " + md5(id + secret) ([NotificationAck]).
	Acknowledged bool
	Err          error // a transport error, or nil
}

// SignNotification returns the key of a notification: the lowercase hex
// md5 of id + sum + clientid + orderid + secret (the informer_seed), the
// strings as sent (sum with two decimals, "100.00"; an absent clientid or
// orderid as "").
func SignNotification(id, sum, clientid, orderid, secret string) string {
	return md5hex(id + sum + clientid + orderid + secret)
}

// NotificationAck returns the only answer that acknowledges a notification:
// "OK " + the lowercase hex md5 of id + secret.
func NotificationAck(id, secret string) string { return "OK " + md5hex(id+secret) }

// NotificationForm returns fields as notification form values with the key
// added (computed over id, sum, clientid and orderid of fields), for
// testing a notification handler without a server:
//
//	form := paykeepertest.NotificationForm(map[string]string{"id": "301", "sum": "100.00"}, secret)
//	req := httptest.NewRequest("POST", "/paykeeper", strings.NewReader(form.Encode()))
func NotificationForm(fields map[string]string, secret string) url.Values {
	v := url.Values{}
	for k, x := range fields {
		v.Set(k, x)
	}
	v.Set("key", SignNotification(fields["id"], fields["sum"], fields["clientid"], fields["orderid"], secret))
	return v
}

func md5hex(s string) string {
	h := md5.Sum([]byte(s))
	return hex.EncodeToString(h[:])
}

type informer struct{ url, secret string }

// informerLocked returns the POST informer settings, or nil when
// informer_type is not post or there is no informer_url.
func (s *Server) informerLocked() *informer {
	if s.settings["informer_type"] != "post" || s.settings["informer_url"] == "" {
		return nil
	}
	return &informer{url: s.settings["informer_url"], secret: s.settings["informer_seed"]}
}

// ErrNoInformer is returned by [Server.Notify] when notifications are not set
// up (informer_type post with an informer_url).
var ErrNoInformer = errors.New("paykeepertest: no POST informer: set WithNotifications or informer_type=post and informer_url")

// Notifications returns the notifications sent since the start or the last
// [Server.Reset], in the order they finished.
func (s *Server) Notifications() []NotificationResult {
	s.mu.Lock()
	defer s.mu.Unlock()
	return mapped(s.notifications, func(n NotificationResult) NotificationResult {
		n.Form, n.Body = cloneValues(n.Form), append([]byte(nil), n.Body...)
		return n
	})
}

// Notify POSTs the notification of payment paymentID to the informer URL
// and waits for the answer, as PayKeeper does when a payment is obtained.
// Acknowledged, an obtained or stuck payment becomes success (an
// uncaptured hold stays obtained) and gets its success_datetime; not
// acknowledged, it becomes stuck and its repeat_counter grows by one. The
// error is non-nil only when nothing could be sent: no such payment, its
// money was not taken (status other than obtained, success, stuck), or no
// informer is set up ([ErrNoInformer]). What the merchant did is in the
// result, which [Server.Notifications] also records.
func (s *Server) Notify(paymentID string) (NotificationResult, error) {
	s.mu.Lock()
	p := s.payments[paymentID]
	if p == nil {
		s.mu.Unlock()
		return NotificationResult{}, fmt.Errorf("paykeepertest: no payment %s", paymentID)
	}
	if !moneyTaken(p.Status) {
		s.mu.Unlock()
		return NotificationResult{}, fmt.Errorf("paykeepertest: payment %s is %s: nothing to notify", paymentID, p.Status)
	}
	inf := s.informerLocked()
	if inf == nil {
		// The e-mail informer: nothing to acknowledge.
		s.markInformedLocked(p)
		s.mu.Unlock()
		return NotificationResult{}, ErrNoInformer
	}
	sum := fixed(p.amount)
	form := url.Values{"id": {p.ID}, "sum": {sum}, "clientid": {p.ClientID}, "orderid": {p.OrderID},
		"key": {SignNotification(p.ID, sum, p.ClientID, p.OrderID, inf.secret)}, "service_name": {displayServiceName(p.ServiceName)},
		"client_email": {p.ClientEmail}, "client_phone": {p.ClientPhone}, "ps_id": {p.PaymentSystemID},
		"obtain_datetime": {p.Obtained.In(Moscow).Format(dateTimeLayout)}, "pk_hostname": {Host}}
	if p.Hold && !p.Captured {
		form.Set("batch_date", p.BatchDate)
	}
	s.mu.Unlock()

	res := NotificationResult{PaymentID: paymentID, URL: inf.url, Form: form}
	req, err := http.NewRequestWithContext(s.notifyCtx, http.MethodPost, inf.url, strings.NewReader(form.Encode()))
	var resp *http.Response
	if err == nil {
		req.Header = http.Header{"Content-Type": {"application/x-www-form-urlencoded"}, "User-Agent": {"PayKeeper informer"}}
		resp, err = s.notifyClient.Do(req)
	}
	if err == nil {
		defer resp.Body.Close()
		res.Status = resp.StatusCode
		res.Body, err = io.ReadAll(io.LimitReader(resp.Body, maxNotificationAnswer))
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxNotificationAnswer))
	}
	res.Err = err
	res.Acknowledged = err == nil && res.Status == http.StatusOK && string(res.Body) == NotificationAck(paymentID, inf.secret)

	s.mu.Lock()
	if res.Acknowledged {
		s.markInformedLocked(p)
	} else {
		p.RepeatCounter++
		p.Status = StatusStuck
	}
	s.notifications = append(s.notifications, res)
	s.mu.Unlock()
	return res, nil
}

// markInformedLocked records that the merchant learnt of payment p.
// An uncaptured hold stays (or becomes again) obtained.
func (s *Server) markInformedLocked(p *payment) {
	if p.Success.IsZero() {
		p.Success = s.now()
	}
	switch held := p.Hold && !p.Captured; {
	case held && p.Status == StatusStuck:
		p.Status = StatusObtained
	case !held && (p.Status == StatusObtained || p.Status == StatusStuck):
		p.Status = StatusSuccess
	}
}
