package qiwitopup

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jarcoal/httpmock"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/internal/testcheck"
)

// FuzzClientAnswers sends any status and body a server could answer through
// every call. In both directions:
//
//   - every error is typed and free of the password; a pay error is
//     outcome-unknown, unless the answer is a documented refusal (request
//     code 150 or 339 and no payment);
//   - a call succeeds only on its documented success shape, checked here by
//     a parser of its own (answerShape): HTTP 200, a <response>, a
//     <result-code> of 0 or none, and the elements and attributes the
//     document makes mandatory. A pay answered with XML that lacks the
//     payment's status, result-code or final-status is never a success.
func FuzzClientAnswers(f *testing.F) {
	for _, name := range []string{"topup_ru_02_response.xml", "topup-status_ru_02_response.xml", "topup_sbp_ru_02_response.xml", "check-deposit_ru_03_response.xml", "get-balance_ru_02_response.xml", "topup_mobile_ru_05_response.xml", "check-user_ru_02_response.xml"} {
		f.Add(200, fixture(f, name))
	}
	f.Add(500, []byte("<html>"))
	f.Add(200, []byte(`<response><payment transaction-number='12345678' status='60'/></response>`))
	f.Add(200, []byte(`<response><payment transaction-number='12345678' status='60' result-code='0' final-status='true'/></response>`))
	f.Add(200, []byte(`<response><result-code fatal="true">150</result-code></response>`))
	f.Add(200, []byte(`<response><result-code fatal="true">150</result-code><exist>1</exist><deposit-possible>1</deposit-possible></response>`))
	f.Add(200, []byte(`<response><result-code>0</result-code><exist>yes</exist><deposit-possible>1</deposit-possible></response>`))
	f.Add(200, []byte(`<response/>`))
	f.Add(201, fixture(f, "topup_ru_02_response.xml"))
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		if status < 100 || status > 999 {
			return
		}
		const pw = "fuzz-secret-pw"
		mock := httpmock.NewMockTransport()
		mock.RegisterNoResponder(func(*http.Request) (*http.Response, error) { return httpmock.NewBytesResponse(status, body), nil })
		c, err := New(PasswordAuth("123", pw), payments.WithTransport(mock), payments.WithLimiter(payments.Unlimited()),
			payments.WithRetry(payments.RetryPolicy{MaxAttempts: 2, BaseDelay: time.Microsecond, MaxDelay: time.Microsecond}))
		if err != nil {
			t.Fatal(err)
		}
		shape := answerShape(status, body)
		ctx := context.Background()

		p, err := c.PayWallet(ctx, WalletPayment{Common: Common{TransactionNumber: "12345678", Amount: 100}, Phone: "79181234567", NonCash: true})
		testcheck.TypedError(t, err, pw)
		testcheck.NoSuccessUnless(t, err, shape.pay, "pay", status, body)
		if err == nil && p.TransactionNumber != "12345678" {
			t.Fatalf("pay answered another payment: %v", p)
		}
		if err != nil {
			want := testcheck.Unknown
			if shape.refusal {
				want = testcheck.Refused
			}
			testcheck.WriteOutcome(t, err, want, pw)
		}

		res, err := c.Status(ctx, StatusQuery{TransactionNumber: "12345678"})
		testcheck.TypedError(t, err, pw)
		testcheck.NoSuccessUnless(t, err, shape.status, "status", status, body)
		if err == nil && len(res) != 1 {
			t.Fatalf("status answered %d results for one query", len(res))
		}
		_, err = c.CheckDepositPossible(ctx, "79181234567", true, "")
		testcheck.TypedError(t, err, pw)
		testcheck.NoSuccessUnless(t, err, shape.deposit, "check-deposit-possible", status, body)
		_, err = c.CheckUser(ctx, "79181234567", "")
		testcheck.TypedError(t, err, pw)
		testcheck.NoSuccessUnless(t, err, shape.user, "check-user", status, body)
		_, err = c.Ping(ctx)
		testcheck.TypedError(t, err, pw)
		testcheck.NoSuccessUnless(t, err, shape.ping, "ping", status, body)
		_, err = c.ProviderByPhone(ctx, "9161234567")
		testcheck.TypedError(t, err, pw)
		testcheck.NoSuccessUnless(t, err, shape.provider, "get-provider", status, body)
	})
}

// shape says which documented answers a status and body are, by the
// document's tables, independently of the client's decoder.
type shape struct {
	pay, refusal, status, deposit, user, ping, provider bool
}

type anyNode struct {
	XMLName xml.Name
	Attrs   []xml.Attr `xml:",any,attr"`
	Text    string     `xml:",chardata"`
	Kids    []anyNode  `xml:",any"`
}

func (n anyNode) attr(name string) (string, bool) {
	for _, a := range n.Attrs {
		if a.Name.Local == name {
			return strings.TrimSpace(a.Value), true
		}
	}
	return "", false
}

func (n anyNode) kids(name string) []anyNode {
	var out []anyNode
	for _, k := range n.Kids {
		if k.XMLName.Local == name {
			out = append(out, k)
		}
	}
	return out
}

func isInt(s string) bool { _, err := strconv.Atoi(strings.TrimSpace(s)); return err == nil }

func isFlag(s string) bool {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "0", "1", "true", "false":
		return true
	}
	return false
}

func answerShape(status int, body []byte) shape {
	if status != 200 {
		return shape{}
	}
	d := xml.NewDecoder(bytes.NewReader(body))
	d.Strict = true
	d.CharsetReader = func(label string, in io.Reader) (io.Reader, error) {
		if strings.EqualFold(label, "utf-8") || strings.EqualFold(label, "utf8") {
			return in, nil
		}
		return nil, errors.New("not utf-8")
	}
	var root anyNode
	if err := d.Decode(&root); err != nil || root.XMLName.Local != "response" {
		return shape{}
	}
	code, hasCode := 0, false
	if rc := root.kids("result-code"); len(rc) > 0 {
		n, err := strconv.Atoi(strings.TrimSpace(rc[0].Text))
		if err != nil {
			return shape{} // the client cannot read it either
		}
		code, hasCode = n, true
	}
	ok := code == 0
	pays := root.kids("payment")
	for _, w := range root.kids("payments") {
		pays = append(pays, w.kids("payment")...)
	}
	var s shape
	for _, p := range pays {
		txn, _ := p.attr("transaction-number")
		st, hasSt := p.attr("status")
		rc, hasRC := p.attr("result-code")
		if !hasRC {
			rc, hasRC = p.attr("result-\u0441ode") // the document's Cyrillic typo
		}
		fs, hasFS := p.attr("final-status")
		if txn == "12345678" && hasSt && isInt(st) && hasRC && isInt(rc) && hasFS && isFlag(fs) {
			s.pay = ok
		}
	}
	s.refusal = hasCode && (code == 150 || code == 339) && len(pays) == 0
	s.status = hasCode && ok || !hasCode && len(pays) > 0
	exist, possible := root.kids("exist"), root.kids("deposit-possible")
	if len(exist) > 0 && len(possible) > 0 && isFlag(exist[0].Text) && isFlag(possible[0].Text) {
		no := strings.TrimSpace(possible[0].Text) == "0" || strings.EqualFold(strings.TrimSpace(possible[0].Text), "false")
		requestCode := code == 13 || code == 150 || code == 300 || code == 339
		s.deposit = ok || no && !requestCode
	}
	s.user = ok && len(exist) > 0 && isFlag(exist[0].Text)
	s.ping = ok && len(root.kids("balances")) > 0
	if pr := root.kids("provider"); ok && len(pr) > 0 {
		id, _ := pr[0].attr("id")
		n, err := strconv.ParseInt(id, 10, 64)
		s.provider = err == nil && n > 0
	}
	return s
}
