package paykeeper

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/paysdk/payments"
)

// notificationVectors are the test vectors of the spec (§4.2). The RAAS one
// checks the hashes only: its id is not a payment number and its sum has no
// decimals, so ParseNotification refuses it before the signature.
var notificationVectors = []struct {
	name, id, sum, clientID, orderID, secret, key, ack string
	parses                                             bool
}{
	{"spec", "301", "100.00", "Иванов Иван", "ORDER-42", "s3cr3t", "6637eed64399e3c206ad40b2c347c1aa", "OK ae837258fb03b8e2c6d4873963f2d56b", true},
	{"raas", "aaaa-bbbb-cccc-dddd", "10000", "Test client", "123", "verysecretseed", "93664c68d471bb790389a00f4b8409a2", "OK 48d62ebbadd1f3f583f24685fcb5369d", false},
}

func notificationForm(id, sum, clientID, orderID, key string, extra ...string) url.Values {
	v := url.Values{"id": {id}, "sum": {sum}, "clientid": {clientID}, "orderid": {orderID}, "key": {key}}
	for i := 0; i+1 < len(extra); i += 2 {
		v.Set(extra[i], extra[i+1])
	}
	return v
}

func notificationRequest(method string, body string) *http.Request {
	r := httptest.NewRequest(method, "/paykeeper/informer", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return r
}

// notificationRecorder is a Handle that records what it gets.
type notificationRecorder struct {
	got []Notification
	err error
}

func (r *notificationRecorder) handle(_ context.Context, n Notification) error {
	r.got = append(r.got, n)
	return r.err
}

func TestNotificationSpecVectors(t *testing.T) {
	for _, v := range notificationVectors {
		t.Run(v.name, func(t *testing.T) {
			assert.Equal(t, v.key, notificationMD5(v.id, v.sum, v.clientID, v.orderID, v.secret))
			assert.Equal(t, v.ack, AckNotification(v.id, v.secret))
			if !v.parses {
				_, err := ParseNotification(notificationForm(v.id, v.sum, v.clientID, v.orderID, v.key), v.secret)
				assert.ErrorIs(t, err, ErrNotificationInvalid)
				return
			}

			n, err := ParseNotification(notificationForm(v.id, v.sum, v.clientID, v.orderID, v.key), v.secret)
			require.NoError(t, err)
			assert.Equal(t, v.id, n.ID)
			assert.Equal(t, v.sum, n.SumText)
			assert.True(t, payments.MustDecimal(v.sum).Equal(n.Sum))
			assert.Equal(t, v.clientID, n.ClientID)
			assert.Equal(t, v.orderID, n.OrderID)
			assert.Equal(t, v.key, n.Key)

			// Upper-case hex is accepted too (the official bitrix17 module compares case-insensitively).
			_, err = ParseNotification(notificationForm(v.id, v.sum, v.clientID, v.orderID, strings.ToUpper(v.key)), v.secret)
			assert.NoError(t, err)

			// Through the handler: exactly the ack, 200, text/plain.
			rec := &notificationRecorder{}
			h := &NotificationHandler{Secret: v.secret, SkipConfirmation: true, Handle: rec.handle}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, notificationRequest(http.MethodPost, notificationForm(v.id, v.sum, v.clientID, v.orderID, v.key).Encode()))
			assert.Equal(t, http.StatusOK, w.Code)
			assert.Equal(t, []byte(v.ack), w.Body.Bytes())
			assert.Equal(t, "text/plain; charset=utf-8", w.Header().Get("Content-Type"))
			require.Len(t, rec.got, 1)
			assert.Equal(t, v.id, rec.got[0].ID)
		})
	}
}

// The id and the sum are checked for their form before the signature: a
// re-cut key can only move characters between them, and these forms leave
// it few ways to do so.
func TestNotificationIDAndSumFormsComeFirst(t *testing.T) {
	const secret = "s3cr3t"
	for _, c := range []struct{ id, sum string }{
		{"301", "100"},     // no decimals (the old "100" → "100.00" normalisation made more re-cuts valid)
		{"302", "99.5"},    // one decimal
		{"303", "1.000"},   // three
		{"304", "0100.00"}, // leading zero
		{"305", "0.00"},    // nothing paid
		{"306", "-1.00"},
		{"307", "1e2.00"},
		{"030", "1.00"}, // leading zero in the id
		{"30a", "1.00"},
		{"0", "1.00"},
		{"123456789012345678901", "1.00"}, // 21 digits
		{" 301", "100.00"},
		{"301", " 100.00"},
	} {
		key := notificationMD5(c.id, c.sum, "", "", secret) // a valid signature does not help
		_, err := ParseNotification(notificationForm(c.id, c.sum, "", "", key), secret)
		assert.ErrorIs(t, err, ErrNotificationInvalid, "%q %q", c.id, c.sum)
		assert.NotErrorIs(t, err, ErrBadSignature, "the form is checked first")
	}
	for _, sum := range []string{"0.50", "100.00", "999999999999999.99"} {
		key := notificationMD5("7", sum, "", "", secret)
		_, err := ParseNotification(notificationForm("7", sum, "", "", key), secret)
		assert.NoError(t, err, sum)
	}

	// Missing clientid and orderid count as empty strings.
	key := notificationMD5("304", "1.00", "", "", secret)
	_, err := ParseNotification(url.Values{"id": {"304"}, "sum": {"1.00"}, "key": {key}}, secret)
	assert.NoError(t, err)

	// What the forms cannot stop: 301 + 100.00 re-cut as 30 + 1100.00 keeps
	// the key. Only the API tells them apart (NotificationHandler.Client).
	v := notificationVectors[0]
	n, err := ParseNotification(notificationForm("30", "1100.00", v.clientID, v.orderID, v.key), v.secret)
	require.NoError(t, err, "the signature has no separators")
	assert.Equal(t, "30", n.ID)
	assert.Nil(t, n.Payment, "nothing confirmed it")
}

func TestNotificationBadSignatureIs403AndHandleNotCalled(t *testing.T) {
	v := notificationVectors[0]
	cases := map[string]url.Values{
		"wrong key":       notificationForm(v.id, v.sum, v.clientID, v.orderID, "00000000000000000000000000000000"),
		"short key":       notificationForm(v.id, v.sum, v.clientID, v.orderID, v.key[:31]),
		"tampered sum":    notificationForm(v.id, "1000.00", v.clientID, v.orderID, v.key),
		"tampered order":  notificationForm(v.id, v.sum, v.clientID, "ORDER-43", v.key),
		"tampered client": notificationForm(v.id, v.sum, "Петров Пётр", v.orderID, v.key),
		"other secret":    notificationForm(v.id, v.sum, v.clientID, v.orderID, notificationMD5(v.id, v.sum, v.clientID, v.orderID, "other")),
	}
	for name, form := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := ParseNotification(form, v.secret)
			assert.ErrorIs(t, err, ErrBadSignature)

			rec := &notificationRecorder{}
			h := &NotificationHandler{Secret: v.secret, SkipConfirmation: true, Handle: rec.handle}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, notificationRequest(http.MethodPost, form.Encode()))
			assert.Equal(t, http.StatusForbidden, w.Code)
			assert.False(t, strings.HasPrefix(w.Body.String(), "OK"), w.Body.String())
			assert.Empty(t, rec.got, "Handle must not be called")

			_, err = h.HandleNotification(notificationRequest(http.MethodPost, form.Encode()))
			var ne *NotificationError
			require.ErrorAs(t, err, &ne)
			assert.Equal(t, http.StatusForbidden, ne.Status)
			assert.ErrorIs(t, err, ErrBadSignature)
		})
	}
}

func TestNotificationMissingOrRepeatedFieldsAre400(t *testing.T) {
	v := notificationVectors[0]
	full := notificationForm(v.id, v.sum, v.clientID, v.orderID, v.key)
	for _, drop := range []string{"id", "sum", "key"} {
		form := url.Values{}
		for k, vs := range full {
			if k != drop {
				form[k] = vs
			}
		}
		_, err := ParseNotification(form, v.secret)
		assert.ErrorIs(t, err, ErrNotificationInvalid, drop)

		rec := &notificationRecorder{}
		w := httptest.NewRecorder()
		(&NotificationHandler{Secret: v.secret, SkipConfirmation: true, Handle: rec.handle}).ServeHTTP(w, notificationRequest(http.MethodPost, form.Encode()))
		assert.Equal(t, http.StatusBadRequest, w.Code, drop)
		assert.Empty(t, rec.got)
	}
	// A repeated signed field is ambiguous (PHP takes the last value, Go the first).
	form := notificationForm(v.id, v.sum, v.clientID, v.orderID, v.key)
	form.Add("sum", "1.00")
	_, err := ParseNotification(form, v.secret)
	assert.ErrorIs(t, err, ErrNotificationInvalid)

	// A signed sum that is not a number.
	key := notificationMD5("9", "abc", "", "", "s")
	_, err = ParseNotification(url.Values{"id": {"9"}, "sum": {"abc"}, "key": {key}}, "s")
	assert.ErrorIs(t, err, ErrNotificationInvalid)

	// No secret, no verification.
	_, err = ParseNotification(full, "")
	assert.Error(t, err)
	assert.NotErrorIs(t, err, ErrBadSignature)
}

func TestNotificationHandleErrorIsNotAcknowledged(t *testing.T) {
	v := notificationVectors[0]
	body := notificationForm(v.id, v.sum, v.clientID, v.orderID, v.key).Encode()
	boom := errors.New("database down")
	rec := &notificationRecorder{err: boom}
	h := &NotificationHandler{Secret: v.secret, SkipConfirmation: true, Handle: rec.handle}

	w := httptest.NewRecorder()
	h.ServeHTTP(w, notificationRequest(http.MethodPost, body))
	assert.Equal(t, http.StatusInternalServerError, w.Code)
	assert.NotContains(t, w.Body.String(), "OK")
	assert.NotContains(t, w.Body.String(), "database down", "internal errors stay internal")
	require.Len(t, rec.got, 1)

	n, err := h.HandleNotification(notificationRequest(http.MethodPost, body))
	assert.ErrorIs(t, err, boom)
	var ne *NotificationError
	require.ErrorAs(t, err, &ne)
	assert.Equal(t, http.StatusInternalServerError, ne.Status)
	assert.Equal(t, v.id, n.ID, "the notification comes back with the Handle error")

	// PayKeeper sends it again; now Handle succeeds and the same ack comes back.
	rec.err = nil
	for range 2 {
		w = httptest.NewRecorder()
		h.ServeHTTP(w, notificationRequest(http.MethodPost, body))
		assert.Equal(t, http.StatusOK, w.Code)
		assert.Equal(t, v.ack, w.Body.String())
	}
	assert.Len(t, rec.got, 4)
}

func TestNotificationHandlerMisconfigured(t *testing.T) {
	v := notificationVectors[0]
	body := notificationForm(v.id, v.sum, v.clientID, v.orderID, v.key).Encode()
	rec := &notificationRecorder{}
	for name, h := range map[string]*NotificationHandler{
		"no secret": {Handle: rec.handle, SkipConfirmation: true},
		"no handle": {Secret: v.secret, SkipConfirmation: true},
		// Neither a client to confirm with nor the explicit choice not to.
		"no client": {Secret: v.secret, Handle: rec.handle},
	} {
		assert.ErrorIs(t, h.Validate(), payments.ErrInvalidRequest, name)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, notificationRequest(http.MethodPost, body))
		assert.Equal(t, http.StatusInternalServerError, w.Code, name)
		assert.False(t, strings.HasPrefix(w.Body.String(), "OK"), name)
	}
	assert.Empty(t, rec.got)
	assert.NoError(t, (&NotificationHandler{Secret: v.secret, Handle: rec.handle, SkipConfirmation: true}).Validate())
}

func TestNotificationHold(t *testing.T) {
	const secret = "s"
	key := notificationMD5("500", "250.00", "", "A-1", secret)
	n, err := ParseNotification(notificationForm("500", "250.00", "", "A-1", key, "batch_date", "2026-08-25"), secret)
	require.NoError(t, err)
	assert.True(t, n.Hold)
	assert.Equal(t, "2026-08-25", n.BatchDate)

	for _, bd := range []string{"", "  "} {
		n, err = ParseNotification(notificationForm("500", "250.00", "", "A-1", key, "batch_date", bd), secret)
		require.NoError(t, err)
		assert.False(t, n.Hold, "batch_date %q", bd)
	}
	n, err = ParseNotification(notificationForm("500", "250.00", "", "A-1", key), secret)
	require.NoError(t, err)
	assert.False(t, n.Hold)
}

func TestNotificationAllFieldsKept(t *testing.T) {
	const secret = "s"
	key := notificationMD5("301", "100.00", "", "0b6b2c5e-uuid", secret)
	form := notificationForm("301", "100.00", "", "0b6b2c5e-uuid", key,
		"pk_hostname", "paykeeper.test",
		"ps_id", "12",
		"client_email", "a@example.com",
		"client_phone", "+79990000000",
		"service_name", "service",
		"fop_receipt_key", "RK-1",
		"bank_id", "bind-77",
		"card_number", "411111******1111",
		"card_holder", "IVAN IVANOV",
		"card_expiry", "12/29",
		"obtain_datetime", "2026-08-24 11:30:50",
		"bank_payer_id", "P-9",
		"status", "success",
	)
	n, err := ParseNotification(form, secret)
	require.NoError(t, err)
	assert.Equal(t, "12", n.PSID)
	assert.Equal(t, "a@example.com", n.ClientEmail)
	assert.Equal(t, "+79990000000", n.ClientPhone)
	assert.Equal(t, "service", n.ServiceName)
	assert.Equal(t, "RK-1", n.FOPReceiptKey)
	assert.Equal(t, "bind-77", n.BankID)
	assert.Equal(t, "411111******1111", n.CardNumber)
	assert.Equal(t, "IVAN IVANOV", n.CardHolder)
	assert.Equal(t, "12/29", n.CardExpiry)
	want := time.Date(2026, 8, 24, 8, 30, 50, 0, time.UTC)
	assert.True(t, want.Equal(n.ObtainDatetime), n.ObtainDatetime)
	_, off := n.ObtainDatetime.Zone()
	assert.Equal(t, 3*3600, off, "Moscow time")
	assert.Len(t, n.Fields, len(form))
	for k := range form {
		assert.Equal(t, form.Get(k), n.Fields[k], k)
	}
	assert.Equal(t, "paykeeper.test", n.Fields["pk_hostname"])
	assert.Equal(t, "success", n.Fields["status"])

	// An unreadable date is not an error; it stays in Fields.
	form.Set("obtain_datetime", "yesterday")
	n, err = ParseNotification(form, secret)
	require.NoError(t, err)
	assert.True(t, n.ObtainDatetime.IsZero())
	assert.Equal(t, "yesterday", n.Fields["obtain_datetime"])
}

func TestNotificationBodyCap(t *testing.T) {
	v := notificationVectors[0]
	body := notificationForm(v.id, v.sum, v.clientID, v.orderID, v.key).Encode()
	rec := &notificationRecorder{}

	// Padding with an unknown field past the default 64 KiB.
	big := body + "&pad=" + strings.Repeat("x", 64<<10)
	w := httptest.NewRecorder()
	(&NotificationHandler{Secret: v.secret, SkipConfirmation: true, Handle: rec.handle}).ServeHTTP(w, notificationRequest(http.MethodPost, big))
	assert.Equal(t, http.StatusRequestEntityTooLarge, w.Code)

	// A custom cap: exactly at the cap passes, one byte over does not.
	h := &NotificationHandler{Secret: v.secret, SkipConfirmation: true, Handle: rec.handle, MaxBodyBytes: int64(len(body))}
	w = httptest.NewRecorder()
	h.ServeHTTP(w, notificationRequest(http.MethodPost, body))
	assert.Equal(t, http.StatusOK, w.Code)
	w = httptest.NewRecorder()
	h.ServeHTTP(w, notificationRequest(http.MethodPost, body+"&"))
	assert.Equal(t, http.StatusRequestEntityTooLarge, w.Code)
	assert.Len(t, rec.got, 1)

	// A server-side http.MaxBytesReader is a 413 too.
	r := notificationRequest(http.MethodPost, big)
	r.Body = http.MaxBytesReader(httptest.NewRecorder(), r.Body, 100)
	_, err := (&NotificationHandler{Secret: v.secret, SkipConfirmation: true, Handle: rec.handle}).HandleNotification(r)
	var ne *NotificationError
	require.ErrorAs(t, err, &ne)
	assert.Equal(t, http.StatusRequestEntityTooLarge, ne.Status)
}

func TestNotificationMethodAndContentType(t *testing.T) {
	v := notificationVectors[0]
	body := notificationForm(v.id, v.sum, v.clientID, v.orderID, v.key).Encode()
	rec := &notificationRecorder{}
	h := &NotificationHandler{Secret: v.secret, SkipConfirmation: true, Handle: rec.handle}

	for _, m := range []string{http.MethodGet, http.MethodHead, http.MethodPut} {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, notificationRequest(m, body))
		assert.Equal(t, http.StatusMethodNotAllowed, w.Code, m)
		assert.Equal(t, http.MethodPost, w.Header().Get("Allow"))
	}
	// Query-string fields are not read: only the body counts.
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/paykeeper/informer?"+body, nil))
	assert.Equal(t, http.StatusMethodNotAllowed, w.Code)
	w = httptest.NewRecorder()
	h.ServeHTTP(w, notificationRequest(http.MethodPost, ""))
	assert.Equal(t, http.StatusBadRequest, w.Code)

	r := notificationRequest(http.MethodPost, `{"id":"301"}`)
	r.Header.Set("Content-Type", "application/json")
	w = httptest.NewRecorder()
	h.ServeHTTP(w, r)
	assert.Equal(t, http.StatusUnsupportedMediaType, w.Code)

	// A charset parameter, or no content type at all, is fine.
	for _, ct := range []string{"application/x-www-form-urlencoded; charset=UTF-8", ""} {
		r = notificationRequest(http.MethodPost, body)
		r.Header.Set("Content-Type", ct)
		w = httptest.NewRecorder()
		h.ServeHTTP(w, r)
		assert.Equal(t, http.StatusOK, w.Code, ct)
		assert.Equal(t, v.ack, w.Body.String())
	}

	// A malformed form body.
	w = httptest.NewRecorder()
	h.ServeHTTP(w, notificationRequest(http.MethodPost, "id=%zz&"+body))
	assert.Equal(t, http.StatusBadRequest, w.Code)
	assert.Len(t, rec.got, 2)
}

func TestNotificationExactReplyOverHTTP(t *testing.T) {
	v := notificationVectors[0]
	rec := &notificationRecorder{}
	srv := httptest.NewServer(&NotificationHandler{Secret: v.secret, SkipConfirmation: true, Handle: rec.handle})
	defer srv.Close()

	resp, err := http.PostForm(srv.URL, notificationForm(v.id, v.sum, v.clientID, v.orderID, v.key))
	require.NoError(t, err)
	defer resp.Body.Close()
	got, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "text/plain; charset=utf-8", resp.Header.Get("Content-Type"))
	assert.Equal(t, []byte("OK ae837258fb03b8e2c6d4873963f2d56b"), got, "no newline, nothing else")
	assert.Equal(t, int64(len("OK ae837258fb03b8e2c6d4873963f2d56b")), resp.ContentLength)
	require.Len(t, rec.got, 1)
	assert.Equal(t, "Иванов Иван", rec.got[0].ClientID)
}

func TestNotificationNeverPrintsFullCardNumber(t *testing.T) {
	const pan = "4111111111111111"
	const secret = "s"
	key := notificationMD5("301", "100.00", "Ivan "+pan, "A-1", secret)
	n, err := ParseNotification(notificationForm("301", "100.00", "Ivan "+pan, "A-1", key,
		"card_number", pan, // a full number where a masked one belongs
		"card_holder", "4111 1111 1111 1111",
		"comment", "card "+pan,
		"obtain_datetime", "2026-08-24 11:30:50",
	), secret)
	require.NoError(t, err)

	type wrapper struct{ N Notification }
	outs := map[string]string{
		"%v":  fmt.Sprintf("%v", n),
		"%+v": fmt.Sprintf("%+v", n),
		"%#v": fmt.Sprintf("%#v", n),
		"%s":  fmt.Sprintf("%s", n),
		"%d":  fmt.Sprintf("%d", n),
		"%q":  fmt.Sprintf("%q", n),
		"ptr": fmt.Sprintf("%v", &n),
		"nst": fmt.Sprintf("%+v", wrapper{n}),
		"Str": n.String(),
		"GoS": n.GoString(),
	}
	for verb, out := range outs {
		assert.NotContains(t, out, pan, verb)
		assert.NotContains(t, out, "4111 1111 1111 1111", verb)
		assert.NotContains(t, out, key, verb+": the key is not printed")
	}
	assert.Contains(t, outs["%v"], "411111******1111")
	assert.Contains(t, outs["%v"], "ID:301")
	assert.Contains(t, outs["%v"], "Sum:100.00")
	assert.Contains(t, outs["%v"], "comment:card 411111******1111")
	assert.Contains(t, outs["%#v"], `paykeeper.Notification{ID:"301"`)
}

// The forms a notification's id and sum must have, written apart from the
// code that checks them.
var (
	fuzzID  = regexp.MustCompile(`^[1-9][0-9]{0,19}$`)
	fuzzSum = regexp.MustCompile(`^(0|[1-9][0-9]{0,14})\.[0-9]{2}$`)
)

func FuzzParseNotification(f *testing.F) {
	for _, v := range notificationVectors {
		f.Add(notificationForm(v.id, v.sum, v.clientID, v.orderID, v.key).Encode(), v.secret)
	}
	f.Add("id=1&sum=1e3&key=x&batch_date=2026-01-01&obtain_datetime=2026-08-24+11%3A30%3A50", "s")
	f.Add("id=1&id=2&sum=;&key=%zz", "s")
	f.Add("sum=99999999999999999999999999999999999999999999.999999&id=%00&key=", "s")
	f.Fuzz(func(t *testing.T, body, secret string) {
		form, _ := url.ParseQuery(body) // partial values on error, still parsed
		n, err := ParseNotification(form, secret)
		if err == nil {
			if n.ID == "" || n.SumText == "" || n.Key == "" || secret == "" {
				t.Fatalf("accepted %q without id, sum, key or secret", body)
			}
			if !fuzzID.MatchString(n.ID) || !fuzzSum.MatchString(n.SumText) || n.Sum.Sign() <= 0 {
				t.Fatalf("accepted id %q, sum %q", n.ID, n.SumText)
			}
			_ = n.String() + n.GoString()
		}
		// Re-signed with the raw sum, the signature must pass: only a
		// malformed form (or no secret) may fail then.
		if secret == "" || len(form["key"]) > 1 {
			return
		}
		form.Set("key", notificationMD5(form.Get("id"), form.Get("sum"), form.Get("clientid"), form.Get("orderid"), secret))
		n, err = ParseNotification(form, secret)
		if errors.Is(err, ErrBadSignature) {
			t.Fatalf("re-signed %q: %v", body, err)
		}
		if err == nil {
			if _, ferr := n.Sum.StringFixed(64); ferr != nil {
				t.Fatalf("sum %q: %v", n.SumText, ferr)
			}
			_ = fmt.Sprintf("%v %#v %d", n, n, n)
		}
	})
}
