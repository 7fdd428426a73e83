package paykeepertest

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

var hex32 = regexp.MustCompile(`^[0-9a-f]{32}$`)

func TestTLSAndClientOptions(t *testing.T) {
	srv := newTestServer(t)
	if !strings.HasPrefix(srv.URL(), "https://"+Host+":") {
		t.Fatalf("URL = %q", srv.URL())
	}
	if !strings.HasPrefix(srv.Addr(), "127.0.0.1:") {
		t.Fatalf("Addr = %q", srv.Addr())
	}
	if len(srv.ClientOptions()) != 3 {
		t.Fatalf("ClientOptions: %d options", len(srv.ClientOptions()))
	}
	if !bytes.Contains(srv.CACertPEM(), []byte("BEGIN CERTIFICATE")) {
		t.Fatal("CACertPEM is not a PEM certificate")
	}
	// A client that does not trust the test CA is refused.
	plain := &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, srv.Addr())
		},
	}}
	if _, err := plain.Get(srv.URL() + "/info/settings/token/"); err == nil {
		t.Fatal("a client without the CA connected")
	}
	r := get(t, srv, "/info/settings/token/", nil)
	if r.status != 200 {
		t.Fatalf("status %d", r.status)
	}
}

func TestBasicAuth(t *testing.T) {
	srv := newTestServer(t)
	for _, c := range []struct{ user, pass string }{{"", ""}, {DefaultUser, "wrong"}, {"nobody", DefaultPassword}} {
		r := getAs(t, srv, c.user, c.pass, "/info/payments/byid/", url.Values{"id": {"1"}})
		if r.status != 401 {
			t.Fatalf("%q/%q: status %d", c.user, c.pass, r.status)
		}
		if !strings.HasPrefix(r.header.Get("Content-Type"), "text/html") || !bytes.Contains(r.body, []byte("<form")) {
			t.Fatalf("401 is not the HTML login page: %s %s", r.header.Get("Content-Type"), r.body)
		}
		if r.header.Get("WWW-Authenticate") == "" {
			t.Fatal("no WWW-Authenticate")
		}
	}
	// POSTs need Basic auth too, even with a valid token.
	tok := srv.Token()
	r := rawPost(t, srv, "", "", "/change/payment/repeatcnt/", url.Values{"id": {"1"}, "token": {tok}})
	if r.status != 401 {
		t.Fatalf("POST without auth: %d", r.status)
	}
	// Custom credentials.
	srv2 := newTestServer(t, WithCredentials("shop", "pw"))
	if r := getAs(t, srv2, "shop", "pw", "/info/user/settings/", nil); r.status != 200 || r.obj(t)["user"] != "shop" {
		t.Fatalf("custom credentials: %d %s", r.status, r.body)
	}
	if r := get(t, srv2, "/info/user/settings/", nil); r.status != 401 {
		t.Fatalf("default credentials on a custom server: %d", r.status)
	}
	// Recorded without Authorization.
	for _, rec := range srv.Requests() {
		if rec.Header.Get("Authorization") != "" {
			t.Fatal("Authorization recorded")
		}
	}
}

func TestTokenIssueRotationAndCheck(t *testing.T) {
	clk := newClock()
	srv := newTestServer(t, WithClock(clk.now), WithTokenLifetime(time.Hour))
	tok := fetchToken(t, srv, DefaultUser, DefaultPassword)
	if !hex32.MatchString(tok) {
		t.Fatalf("token %q is not 32 hex", tok)
	}
	if again := fetchToken(t, srv, DefaultUser, DefaultPassword); again != tok {
		t.Fatal("the token changed within its lifetime")
	}
	if n := srv.TokenFetches(); n != 2 {
		t.Fatalf("TokenFetches = %d", n)
	}
	id := srv.AddPayment(PaymentSpec{Amount: "10.00"})
	form := func(token string) url.Values {
		return url.Values{"id": {id}, "amount": {"1.00"}, "partial": {"true"}, "token": {token}}
	}
	const bad = `{"result":"fail","msg":"\u0422\u043e\u043a\u0435\u043d \u0431\u0435\u0437\u043e\u043f\u0430\u0441\u043d\u043e\u0441\u0442\u0438 \u043d\u0435 \u0432\u0435\u0440\u0435\u043d.","error_code":67}`

	// No token, a wrong one: code 67, byte for byte the observed body.
	for _, tk := range []string{"", "fd50e47596cff6c63c7ea0a633c0d2a8"} {
		f := form(tk)
		if tk == "" {
			f.Del("token")
		}
		r := rawPost(t, srv, DefaultUser, DefaultPassword, "/change/payment/reverse/", f)
		if r.status != 200 || string(r.body) != bad {
			t.Fatalf("token %q: %d %s", tk, r.status, r.body)
		}
	}
	// A JSON body carries no form fields.
	req, _ := http.NewRequest("POST", srv.URL()+"/change/payment/reverse/",
		strings.NewReader(`{"id":"`+id+`","amount":"1.00","partial":"true","token":"`+tok+`"}`))
	req.Header.Set("Content-Type", "application/json")
	if r := do(t, srv, req, DefaultUser, DefaultPassword); string(r.body) != bad {
		t.Fatalf("JSON body: %s", r.body)
	}
	if p, _ := srv.Payment(id); p.RefundAmount != "0.00" {
		t.Fatal("a POST with a bad token changed state")
	}
	// The current token works.
	wantSuccess(t, rawPost(t, srv, DefaultUser, DefaultPassword, "/change/payment/reverse/", form(tok)))

	// Past its lifetime the token is replaced.
	clk.advance(time.Hour)
	r := rawPost(t, srv, DefaultUser, DefaultPassword, "/change/payment/reverse/", form(tok))
	if string(r.body) != bad {
		t.Fatalf("expired token accepted: %s", r.body)
	}
	tok2 := fetchToken(t, srv, DefaultUser, DefaultPassword)
	if tok2 == tok || !hex32.MatchString(tok2) {
		t.Fatalf("new token %q (old %q)", tok2, tok)
	}
	wantSuccess(t, rawPost(t, srv, DefaultUser, DefaultPassword, "/change/payment/reverse/", form(tok2)))

	// RotateToken forces a change.
	tok3 := srv.RotateToken()
	if tok3 == tok2 || srv.Token() != tok3 {
		t.Fatal("RotateToken did not replace the token")
	}
	if r := rawPost(t, srv, DefaultUser, DefaultPassword, "/change/payment/reverse/", form(tok2)); string(r.body) != bad {
		t.Fatalf("rotated-out token accepted: %s", r.body)
	}

	// The token is masked in the record, its validity kept.
	var valid, invalid int
	for _, rec := range srv.Requests() {
		if rec.Method != "POST" {
			continue
		}
		if v := rec.Form.Get("token"); v != "" && v != MaskedToken {
			t.Fatalf("token recorded in clear: %q", v)
		}
		if rec.TokenValid {
			valid++
		} else {
			invalid++
		}
	}
	if valid != 2 || invalid != 5 {
		t.Fatalf("valid %d invalid %d", valid, invalid)
	}
}

func TestDefaultTokenLifetimeIs24h(t *testing.T) {
	clk := newClock()
	srv := newTestServer(t, WithClock(clk.now))
	tok := srv.Token()
	clk.advance(24*time.Hour - time.Second)
	if srv.Token() != tok {
		t.Fatal("token changed before 24h")
	}
	clk.advance(time.Second)
	if srv.Token() == tok {
		t.Fatal("token not changed after 24h")
	}
}

func TestPHPStyleJSON(t *testing.T) {
	srv := newTestServer(t)
	r := get(t, srv, "/info/organization/notifications/", nil)
	for _, want := range []string{`\u0412\u041d\u0418\u041c\u0410\u041d\u0418\u0415`, `https:\/\/paykeeper.ru\/paykeeper\/pay\/tech\/`, `<strong>`} {
		if !bytes.Contains(r.body, []byte(want)) {
			t.Fatalf("body lacks %s: %s", want, r.body)
		}
	}
	if !strings.HasPrefix(r.header.Get("Content-Type"), "application/json") {
		t.Fatalf("Content-Type %q", r.header.Get("Content-Type"))
	}
	a := r.arr(t)
	if len(a) != 2 || a[0]["type"] != "important" || a[1]["link_caption"] != "Обратиться в службу поддержки" {
		t.Fatalf("notifications: %v", a)
	}
}

func TestStatistics(t *testing.T) {
	clk := newClock()
	srv := newTestServer(t, WithClock(clk.now))
	day := func(d int) time.Time { return time.Date(2014, 5, d, 12, 0, 0, 0, Moscow) }
	srv.AddPayment(PaymentSpec{Amount: "566.00", PaymentSystemID: "1", Created: day(1)})
	srv.AddPayment(PaymentSpec{Amount: "100.50", PaymentSystemID: "1", Created: day(2), Status: StatusStuck})
	srv.AddPayment(PaymentSpec{Amount: "20", PaymentSystemID: "6", Created: day(2), Status: StatusObtained})
	srv.AddPayment(PaymentSpec{Amount: "999", PaymentSystemID: "6", Created: day(2), Status: StatusFailed})
	srv.AddPayment(PaymentSpec{Amount: "5", PaymentSystemID: "1", Created: day(20)})

	list := get(t, srv, "/info/systems/list/", nil).arr(t)
	if len(list) != len(PaymentSystems) || keys(list[0]) != "id,site_description,system_description" {
		t.Fatalf("systems list: %v", list)
	}
	if list[1]["id"] != "2" || list[1]["system_description"] != "Qiwi" || list[1]["site_description"] != "Visa Qiwi Wallet" {
		t.Fatalf("systems list: %v", list[1])
	}

	q := url.Values{"start": {"2014-05-01"}, "end": {"2014-05-10"}}
	sums := get(t, srv, "/info/systems/sums/", q).arr(t)
	bySys := map[any]map[string]any{}
	for _, s := range sums {
		bySys[s["id"]] = s
	}
	if keys(sums[0]) != "account,currency,id,site_description,stuck,success,system_description" {
		t.Fatalf("sums keys: %s", keys(sums[0]))
	}
	if s := bySys["1"]; s["success"] != "666.50" || s["account"] != "566.00" || s["stuck"] != "100.50" || s["currency"] != "RUR" {
		t.Fatalf("sums of 1: %v", s)
	}
	if s := bySys["6"]; s["success"] != "20.00" || s["account"] != "0.00" {
		t.Fatalf("sums of 6: %v", s)
	}
	all := get(t, srv, "/info/systems/allsum/", q).obj(t)
	if keys(all) != "account,stuck,success" || all["success"] != "686.50" || all["account"] != "566.00" || all["stuck"] != "100.50" {
		t.Fatalf("allsum: %v", all)
	}
	if r := get(t, srv, "/info/systems/allsum/", url.Values{"start": {"01.05.2014"}}); r.obj(t)["result"] != "fail" {
		t.Fatalf("bad date: %s", r.body)
	}

	det := get(t, srv, "/info/systems/sums/details/", q).arr(t)
	if len(det) != 2 || det[0]["payment_system_id"] != "1" || det[0]["label"] != "WebMoney Transfer" {
		t.Fatalf("details: %v", det)
	}
	data := det[0]["data"].([]any)
	if len(data) != 10 {
		t.Fatalf("%d points for 10 days", len(data))
	}
	p0 := data[0].([]any)
	if fmt.Sprint(p0[0]) != fmt.Sprint(time.Date(2014, 5, 1, 0, 0, 0, 0, Moscow).UnixMilli()) || fmt.Sprint(p0[1]) != "566.00" {
		t.Fatalf("first point %v", p0)
	}
	long := get(t, srv, "/info/systems/sums/details/", url.Values{"start": {"2014-01-01"}, "end": {"2014-12-31"}}).arr(t)
	if n := len(long[0]["data"].([]any)); n != 30 {
		t.Fatalf("%d points for a year", n)
	}
}

var listKeys = "clientid,id,obtain_datetime,orderid,pay_amount,payment_system_id,pending_datetime,refund_amount,repeat_counter,status,success_datetime,unique_id"

func TestPaymentsByDate(t *testing.T) {
	srv := newTestServer(t)
	at := time.Date(2014, 5, 14, 15, 59, 0, 0, Moscow)
	id1 := srv.AddPayment(PaymentSpec{Amount: "1", ClientID: "Ivan Ivonov", PaymentSystemID: "3", Created: at})
	id2 := srv.AddPayment(PaymentSpec{Amount: "2.5", OrderID: "A-2", PaymentSystemID: "1", Created: at.Add(time.Hour), Status: StatusCanceled})
	id3 := srv.AddPayment(PaymentSpec{Amount: "3", PaymentSystemID: "3", Created: at.AddDate(0, 1, 0)})

	q := url.Values{"start": {"2014-05-14"}, "end": {"2014-05-14"}, "from": {"0"}, "limit": {"100"},
		"status[]": {"success", "canceled"}, "payment_system_id[]": {"3", "1"}}
	ps := get(t, srv, "/info/payments/bydate/", q).arr(t)
	if len(ps) != 2 || ps[0]["id"] != id2 || ps[1]["id"] != id1 {
		t.Fatalf("bydate: %v", ps)
	}
	p := ps[1]
	if keys(p) != listKeys {
		t.Fatalf("keys %s", keys(p))
	}
	if p["pay_amount"] != "1.00" || p["refund_amount"] != "0.00" || p["clientid"] != "Ivan Ivonov" || p["orderid"] != nil ||
		p["payment_system_id"] != "3" || p["unique_id"] != nil || p["status"] != "success" || p["repeat_counter"] != "0" ||
		p["pending_datetime"] != "2014-05-14 15:59:00" || p["obtain_datetime"] != "2014-05-14 15:59:01" ||
		p["success_datetime"] != "2014-05-14 15:59:01" {
		t.Fatalf("payment %v", p)
	}
	if c := ps[0]; c["obtain_datetime"] != nil || c["success_datetime"] != nil || c["pay_amount"] != "2.50" {
		t.Fatalf("canceled payment %v", c)
	}
	// Filters.
	q2 := cloneValues(q)
	q2["status[]"] = []string{"success"}
	if ps := get(t, srv, "/info/payments/bydate/", q2).arr(t); len(ps) != 1 || ps[0]["id"] != id1 {
		t.Fatalf("status filter: %v", ps)
	}
	q2 = cloneValues(q)
	q2.Set("end", "2014-06-30")
	q2.Set("limit", "1")
	q2.Set("from", "1")
	if ps := get(t, srv, "/info/payments/bydate/", q2).arr(t); len(ps) != 1 || ps[0]["id"] != id2 {
		t.Fatalf("from/limit: %v", ps)
	}
	q2.Set("from", "0")
	if ps := get(t, srv, "/info/payments/bydate/", q2).arr(t); len(ps) != 1 || ps[0]["id"] != id3 {
		t.Fatalf("newest first: %v", ps)
	}
	// Without status[] or payment_system_id[]: empty array.
	for _, drop := range []string{"status[]", "payment_system_id[]"} {
		q2 := cloneValues(q)
		q2.Del(drop)
		if r := get(t, srv, "/info/payments/bydate/", q2); string(r.body) != "[]" {
			t.Fatalf("without %s: %s", drop, r.body)
		}
	}
	// The indexed and the literal encodings.
	raw := "start=2014-05-14&end=2014-05-14&from=0&limit=10&status%5B0%5D=success&status%5B1%5D=canceled&payment_system_id[]=3&payment_system_id[]=1"
	req, _ := http.NewRequest("GET", srv.URL()+"/info/payments/bydate/?"+raw, nil)
	if ps := do(t, srv, req, DefaultUser, DefaultPassword).arr(t); len(ps) != 2 {
		t.Fatalf("indexed encoding: %v", ps)
	}
	// Counts.
	cnt := get(t, srv, "/info/payments/bydatecount/", url.Values{"start": {"2014-05-01"}, "end": {"2014-06-30"}}).obj(t)
	if keys(cnt) != "fullcount,payment_systems,statuses" {
		t.Fatalf("bydatecount keys %s", keys(cnt))
	}
	if fmt.Sprint(cnt["statuses"]) != "[map[count:1 status:canceled] map[count:2 status:success]]" ||
		fmt.Sprint(cnt["payment_systems"]) != "[map[count:1 payment_system_id:1] map[count:2 payment_system_id:3]]" ||
		fmt.Sprint(cnt["fullcount"]) != "[map[count:3]]" {
		t.Fatalf("bydatecount %v", cnt)
	}
	cnt = get(t, srv, "/info/payments/bydatecount/", url.Values{"status[]": {"success"}, "payment_system_id[]": {"3"}}).obj(t)
	if fmt.Sprint(cnt["fullcount"]) != "[map[count:2]]" {
		t.Fatalf("filtered bydatecount %v", cnt)
	}
}

func TestPaymentByIDAndDetails(t *testing.T) {
	srv := newTestServer(t)
	id := srv.AddPayment(PaymentSpec{Amount: "10000", ClientID: "Konstantin Semenov", OrderID: "140514-74-9",
		ServiceName: "Uslugi po perevodu", ClientEmail: "info@example.com", ClientPhone: "+79112511000",
		Options: map[string]string{"extra": "1"}})
	r := get(t, srv, "/info/payments/byid/", url.Values{"id": {id}})
	a := r.arr(t)
	if len(a) != 1 || a[0]["id"] != id || a[0]["pay_amount"] != "10000.00" || keys(a[0]) != listKeys {
		t.Fatalf("byid: %s", r.body)
	}
	if r := get(t, srv, "/info/payments/byid/", url.Values{"id": {"1"}}); string(r.body) != "[]" {
		t.Fatalf("unknown byid: %s", r.body)
	}
	opt := get(t, srv, "/info/options/byid/", url.Values{"id": {id}}).obj(t)
	if opt["orderid"] != "140514-74-9" || opt["service_name"] != "Uslugi po perevodu" || opt["client_email"] != "info@example.com" ||
		opt["client_phone"] != "+79112511000" || opt["RESULT"] != "OK" || opt["3DSECURE"] != "AUTHENTICATED" ||
		opt["CARD_NUMBER"] != "5***********8624" || opt["extra"] != "1" || opt["client_ip"] == nil {
		t.Fatalf("options: %v", opt)
	}
	params := get(t, srv, "/info/params/byid/", url.Values{"id": {id}}).arr(t)
	if len(params) != 2 || keys(params[0]) != "field,id,payment_id,value" || params[0]["payment_id"] != id ||
		params[0]["field"] != "RESULT" || params[1]["value"] != "000" {
		t.Fatalf("params: %v", params)
	}
	log := get(t, srv, "/info/httplog/byid/", url.Values{"id": {id}}).arr(t)
	if len(log) != 1 || keys(log[0]) != "body,datetime,id,ip,payment_id,request_method,request_uri" || log[0]["payment_id"] != id {
		t.Fatalf("httplog: %v", log)
	}
	pend := srv.AddPayment(PaymentSpec{Amount: "1", Status: StatusPending})
	if r := get(t, srv, "/info/params/byid/", url.Values{"id": {pend}}); string(r.body) != "[]" {
		t.Fatalf("params of a pending payment: %s", r.body)
	}
	if r := get(t, srv, "/info/refunds/bypaymentid/", url.Values{"id": {id}}); string(r.body) != "[]" {
		t.Fatalf("refunds of an unrefunded payment: %s", r.body)
	}
}

func TestPaymentsSearch(t *testing.T) {
	srv := newTestServer(t)
	at := time.Date(2024, 3, 1, 10, 0, 0, 0, Moscow)
	a := srv.AddPayment(PaymentSpec{Amount: "1", OrderID: "5a3a-0001", Created: at})
	b := srv.AddPayment(PaymentSpec{Amount: "1", OrderID: "ORDER-77", ClientID: "Петров", Created: at})
	srv.AddPayment(PaymentSpec{Amount: "1", OrderID: "5a3a-0002", Created: at.AddDate(0, 1, 0)})
	q := url.Values{"beg_date": {"2024-03-01"}, "end_date": {"2024-03-31"}}
	for query, want := range map[string]string{"5a3a*": a, "order-77": b, "петров": b} {
		q.Set("query", query)
		ps := get(t, srv, "/info/payments/search/", q).arr(t)
		if len(ps) != 1 || ps[0]["id"] != want || keys(ps[0]) != listKeys {
			t.Fatalf("search %q: %v", query, ps)
		}
	}
	q.Set("query", "nothing")
	if r := get(t, srv, "/info/payments/search/", q); string(r.body) != "[]" {
		t.Fatalf("no match: %s", r.body)
	}
}

func TestRefunds(t *testing.T) {
	clk := newClock()
	srv := newTestServer(t, WithClock(clk.now))
	id := srv.AddPayment(PaymentSpec{Amount: "22570.00"})
	rev := func(f url.Values) result { return post(t, srv, "/change/payment/reverse/", f) }

	wantSuccess(t, rev(url.Values{"id": {id}, "amount": {"570.00"}, "partial": {"true"}}))
	p, _ := srv.Payment(id)
	if p.Status != StatusPartiallyRefunded || p.RefundAmount != "570.00" || p.Remainder != "22000.00" {
		t.Fatalf("after a partial refund: %+v", p)
	}
	wantFail(t, rev(url.Values{"id": {id}, "amount": {"22000.01"}, "partial": {"true"}}), MsgRefundExceeds)
	wantFail(t, rev(url.Values{"id": {id}, "amount": {"-1"}, "partial": {"true"}}), MsgBadAmount)
	wantFail(t, rev(url.Values{"id": {id}, "amount": {"1.001"}, "partial": {"true"}}), MsgBadAmount)
	wantFail(t, rev(url.Values{"id": {id}, "amount": {"abc"}, "partial": {"true"}}), MsgBadAmount)
	wantFail(t, rev(url.Values{"id": {id}, "amount": {"100.00"}, "partial": {"false"}}), MsgFullRefundAmount)
	wantFail(t, rev(url.Values{"id": {id}, "amount": {"1.00"}, "partial": {"true"}, "refund_cart": {"{not json"}}), MsgBadRefundCart)
	wantFail(t, rev(url.Values{"id": {"1"}, "amount": {"1.00"}, "partial": {"true"}}), MsgPaymentNotFound)

	clk.advance(time.Minute)
	cart := `[{"name":"Товар","price":1000,"quantity":1,"sum":1000,"tax":"none"}]`
	wantSuccess(t, rev(url.Values{"id": {id}, "amount": {"1000"}, "partial": {"true"}, "refund_cart": {cart}}))
	// Full refund of the rest, without an amount (as the document says).
	wantSuccess(t, rev(url.Values{"id": {id}, "partial": {"false"}}))
	p, _ = srv.Payment(id)
	if p.Status != StatusRefunded || p.RefundAmount != "22570.00" || p.Remainder != "0.00" || len(p.Refunds) != 3 {
		t.Fatalf("after the full refund: %+v", p)
	}
	if p.Refunds[1].RefundCart != cart {
		t.Fatalf("refund_cart not kept: %q", p.Refunds[1].RefundCart)
	}
	wantFail(t, rev(url.Values{"id": {id}, "amount": {"1.00"}, "partial": {"true"}}), MsgNotRefundable)

	list := get(t, srv, "/info/refunds/bypaymentid/", url.Values{"id": {id}}).arr(t)
	if len(list) != 3 {
		t.Fatalf("refunds: %v", list)
	}
	if keys(list[0]) != "amount,datetime,id,payment_id,refund_number,remainder,reminder,status,user" {
		t.Fatalf("refund keys %s", keys(list[0]))
	}
	want := [][3]string{{"570.00", "22000.00", "1"}, {"1000.00", "21000.00", "2"}, {"21000.00", "0.00", "3"}}
	for i, w := range want {
		r := list[i]
		if r["amount"] != w[0] || r["remainder"] != w[1] || r["reminder"] != w[1] || r["refund_number"] != w[2] ||
			r["payment_id"] != id || r["user"] != DefaultUser || r["status"] != "done" {
			t.Fatalf("refund %d: %v", i, r)
		}
	}
	if list[0]["datetime"] != "2024-05-14 15:59:00" || list[1]["datetime"] != "2024-05-14 16:00:00" {
		t.Fatalf("refund datetimes %v %v", list[0]["datetime"], list[1]["datetime"])
	}
	if p := get(t, srv, "/info/payments/byid/", url.Values{"id": {id}}).arr(t)[0]; p["status"] != "refunded" || p["refund_amount"] != "22570.00" {
		t.Fatalf("byid after refunds: %v", p)
	}

	// A full refund with the exact amount and partial=true for the whole remainder.
	id2 := srv.AddPayment(PaymentSpec{Amount: "50"})
	wantSuccess(t, rev(url.Values{"id": {id2}, "amount": {"50.00"}, "partial": {"false"}}))
	id3 := srv.AddPayment(PaymentSpec{Amount: "50"})
	wantSuccess(t, rev(url.Values{"id": {id3}, "amount": {"50"}, "partial": {"true"}}))
	for _, x := range []string{id2, id3} {
		if p, _ := srv.Payment(x); p.Status != StatusRefunded {
			t.Fatalf("payment %s: %s", x, p.Status)
		}
	}
	// Payments whose money was not taken cannot be refunded.
	for _, st := range []string{StatusPending, StatusCanceled, StatusFailed} {
		x := srv.AddPayment(PaymentSpec{Amount: "5", Status: st})
		wantFail(t, rev(url.Values{"id": {x}, "partial": {"false"}}), MsgNotRefundable)
	}
}

func TestConcurrentRefundsNeverExceedTheRemainder(t *testing.T) {
	srv := newTestServer(t)
	id := srv.AddPayment(PaymentSpec{Amount: "10.00"})
	tok := srv.Token()
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequest("POST", srv.URL()+"/change/payment/reverse/",
				strings.NewReader(url.Values{"id": {id}, "amount": {"1.00"}, "partial": {"true"}, "token": {tok}}.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.SetBasicAuth(DefaultUser, DefaultPassword)
			resp, err := srv.Client().Do(req)
			if err == nil {
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		}()
	}
	wg.Wait()
	p, _ := srv.Payment(id)
	if p.RefundAmount != "10.00" || len(p.Refunds) != 10 || p.Status != StatusRefunded {
		t.Fatalf("after 20 concurrent refunds of 1.00: %+v", p)
	}
}

func TestRefundRights(t *testing.T) {
	srv := newTestServer(t, WithUserRights(false))
	id := srv.AddPayment(PaymentSpec{Amount: "100"})
	us := get(t, srv, "/info/user/settings/", nil).obj(t)
	if keys(us) != "admin,refund,refund_allow,refund_allowed,user" || us["refund_allow"] != "false" || us["refund"] != "0" || us["admin"] != "true" || us["user"] != DefaultUser {
		t.Fatalf("user settings: %v", us)
	}
	wantFail(t, post(t, srv, "/change/payment/reverse/", url.Values{"id": {id}, "partial": {"false"}}), MsgRefundForbidden)
	if p, _ := srv.Payment(id); p.Status != StatusSuccess {
		t.Fatalf("status %s", p.Status)
	}
	srv.SetRefundAllowed(true)
	if us := get(t, srv, "/info/user/settings/", nil).obj(t); us["refund_allow"] != "true" || us["refund_allowed"] != "true" || us["refund"] == "0" {
		t.Fatalf("user settings: %v", us)
	}
	wantSuccess(t, post(t, srv, "/change/payment/reverse/", url.Values{"id": {id}, "partial": {"false"}}))

	// Rights through the users API: a non-admin without refunds.
	wantSuccess(t, post(t, srv, "/change/user/add/", url.Values{"login": {"clerk"}, "password": {"pw"}, "refund": {"0"}, "admin": {"false"}}))
	id2 := srv.AddPayment(PaymentSpec{Amount: "100"})
	wantFail(t, postAs(t, srv, "clerk", "pw", "/change/payment/reverse/", url.Values{"id": {id2}, "partial": {"false"}}), MsgRefundForbidden)
	wantSuccess(t, post(t, srv, "/change/user/update/", url.Values{"id": {"2"}, "refund": {"5"}}))
	r := postAs(t, srv, "clerk", "pw", "/change/payment/reverse/", url.Values{"id": {id2}, "partial": {"false"}})
	wantSuccess(t, r)
	refunds := get(t, srv, "/info/refunds/bypaymentid/", url.Values{"id": {id2}}).arr(t)
	if refunds[0]["user"] != "clerk" {
		t.Fatalf("refund user %v", refunds[0]["user"])
	}
}

func TestHoldAndCapture(t *testing.T) {
	srv := newTestServer(t)
	hold := srv.AddPayment(PaymentSpec{Amount: "300.00", Hold: true})
	p, _ := srv.Payment(hold)
	if p.Status != StatusObtained || p.BatchDate == "" || !p.Hold || p.Captured {
		t.Fatalf("hold: %+v", p)
	}
	// A partial reversal lowers the capture; the hold stays authorised.
	wantSuccess(t, post(t, srv, "/change/payment/reverse/", url.Values{"id": {hold}, "amount": {"100.00"}, "partial": {"true"}}))
	if p, _ = srv.Payment(hold); p.Status != StatusObtained || p.Remainder != "200.00" {
		t.Fatalf("after partial reversal: %+v", p)
	}
	wantSuccess(t, post(t, srv, "/change/payment/capture/", url.Values{"id": {hold}}))
	if p, _ = srv.Payment(hold); !p.Captured || p.Status != StatusPartiallyRefunded {
		t.Fatalf("after capture: %+v", p)
	}
	wantFail(t, post(t, srv, "/change/payment/capture/", url.Values{"id": {hold}}), MsgNotHold)

	plain := srv.AddPayment(PaymentSpec{Amount: "1"})
	wantFail(t, post(t, srv, "/change/payment/capture/", url.Values{"id": {plain}}), MsgNotHold)
	wantFail(t, post(t, srv, "/change/payment/capture/", url.Values{"id": {"42"}}), MsgPaymentNotFound)

	full := srv.AddPayment(PaymentSpec{Amount: "50", Hold: true})
	wantSuccess(t, post(t, srv, "/change/payment/capture/", url.Values{"id": {full}}))
	if p, _ = srv.Payment(full); p.Status != StatusSuccess {
		t.Fatalf("captured hold: %s", p.Status)
	}
	// Reversing a whole authorisation cancels it.
	cancel := srv.AddPayment(PaymentSpec{Amount: "70", Hold: true})
	wantSuccess(t, post(t, srv, "/change/payment/reverse/", url.Values{"id": {cancel}, "partial": {"false"}}))
	if p, _ = srv.Payment(cancel); p.Status != StatusCanceled {
		t.Fatalf("reversed hold: %s", p.Status)
	}
	wantFail(t, post(t, srv, "/change/payment/capture/", url.Values{"id": {cancel}}), MsgNotHold)
}

func TestInvoiceLifecycle(t *testing.T) {
	clk := newClock()
	hook, secret := ackServer(t, true)
	srv := newTestServer(t, WithClock(clk.now), WithNotifications(hook.URL, secret))

	r := post(t, srv, "/change/invoice/preview/", url.Values{
		"pay_amount": {"1205.98"}, "clientid": {"Иванов Иван"}, "orderid": {"1337"},
		"service_name": {"Document delivery"}, "client_email": {"ivanov@example.com"}, "client_phone": {"+79254973590"},
	})
	pv := r.obj(t)
	if keys(pv) != "invoice,invoice_id,invoice_url" {
		t.Fatalf("preview: %s", r.body)
	}
	id, _ := pv["invoice_id"].(string)
	if !regexp.MustCompile(`^20240514155900\d{3}$`).MatchString(id) {
		t.Fatalf("invoice_id %q", id)
	}
	if pv["invoice_url"] != srv.URL()+"/bill/"+id+"/" {
		t.Fatalf("invoice_url %v", pv["invoice_url"])
	}
	if h, _ := pv["invoice"].(string); !strings.HasPrefix(h, "<HTML>") || !strings.Contains(h, "1205.98") || !strings.Contains(h, "Иванов Иван") {
		t.Fatalf("invoice HTML %q", h)
	}
	// The payer's page, without authentication.
	if b := do(t, srv, mustReq("GET", pv["invoice_url"].(string)), "", ""); b.status != 200 || !bytes.Contains(b.body, []byte("1205.98")) {
		t.Fatalf("bill page: %d %s", b.status, b.body)
	}

	inv := get(t, srv, "/info/invoice/byid/", url.Values{"id": {id}}).obj(t)
	if keys(inv) != "client_email,client_phone,clientid,created_datetime,expiry_datetime,id,orderid,paid_datetime,pay_amount,paymentid,service_name,status,user_id" {
		t.Fatalf("invoice keys %s", keys(inv))
	}
	if inv["status"] != "created" || inv["pay_amount"] != "1205.98" || inv["created_datetime"] != "2024-05-14 15:59:00" ||
		inv["expiry_datetime"] != "2024-05-18 00:00:00" || inv["paid_datetime"] != nil || inv["paymentid"] != nil || inv["clientid"] != "Иванов Иван" {
		t.Fatalf("invoice %v", inv)
	}
	listQ := url.Values{"status[]": {"sent", "paid", "expired"}, "start_date": {"2024-05-01"}, "end_date": {"2024-05-31"}, "from": {"0"}, "limit": {"10"}}
	if r := get(t, srv, "/info/invoice/list/", listQ); string(r.body) != "[]" {
		t.Fatalf("created invoices are listed: %s", r.body)
	}
	wantSuccess(t, post(t, srv, "/change/invoice/send/", url.Values{"id": {id}}))
	list := get(t, srv, "/info/invoice/list/", listQ).arr(t)
	if len(list) != 1 || list[0]["status"] != "sent" || list[0]["id"] != id {
		t.Fatalf("list after send: %v", list)
	}
	if r := get(t, srv, "/info/invoice/list/", url.Values{"start_date": {"2024-05-01"}}); string(r.body) != "[]" {
		t.Fatalf("list without status[]: %s", r.body)
	}

	clk.advance(time.Hour)
	pid, err := srv.PayInvoice(id)
	if err != nil {
		t.Fatal(err)
	}
	inv = get(t, srv, "/info/invoice/byid/", url.Values{"id": {id}}).obj(t)
	if inv["status"] != "paid" || inv["paymentid"] != pid || inv["paid_datetime"] != "2024-05-14 16:59:01" {
		t.Fatalf("paid invoice %v", inv)
	}
	p, _ := srv.Payment(pid)
	if p.Status != StatusSuccess || p.Amount != "1205.98" || p.ClientID != "Иванов Иван" || p.OrderID != "1337" {
		t.Fatalf("payment of the invoice %+v", p)
	}
	ns := srv.Notifications()
	if len(ns) != 1 || !ns[0].Acknowledged || ns[0].PaymentID != pid || ns[0].Form.Get("sum") != "1205.98" {
		t.Fatalf("notifications %+v", ns)
	}
	wantFail(t, post(t, srv, "/change/invoice/send/", url.Values{"id": {id}}), MsgInvoicePaid)
	wantFail(t, post(t, srv, "/change/invoice/revoke/", url.Values{"id": {id}}), MsgInvoicePaid)
	if _, err := srv.PayInvoice(id); err == nil {
		t.Fatal("paid twice")
	}

	// Revoke, ExpireInvoice and expiry by the clock.
	mk := func(extra url.Values) string {
		f := url.Values{"pay_amount": {"10"}}
		for k, v := range extra {
			f[k] = v
		}
		return post(t, srv, "/change/invoice/preview/", f).obj(t)["invoice_id"].(string)
	}
	rv := mk(nil)
	wantSuccess(t, post(t, srv, "/change/invoice/revoke/", url.Values{"id": {rv}}))
	wantFail(t, post(t, srv, "/change/invoice/send/", url.Values{"id": {rv}}), MsgInvoiceExpired)
	ex := mk(nil)
	if !srv.ExpireInvoice(ex) {
		t.Fatal("ExpireInvoice")
	}
	if _, err := srv.PayInvoice(ex); err == nil {
		t.Fatal("paid an expired invoice")
	}
	clock := mk(url.Values{"expiry": {"2024-05-15 12:00:00"}})
	if v, _ := srv.Invoice(clock); v.Status != InvoiceCreated {
		t.Fatalf("status %s", v.Status)
	}
	clk.advance(24 * time.Hour)
	if st := get(t, srv, "/info/invoice/byid/", url.Values{"id": {clock}}).obj(t)["status"]; st != "expired" {
		t.Fatalf("after expiry: %v", st)
	}
	cnt := get(t, srv, "/info/invoice/listcount/", url.Values{"start_date": {"2024-05-01"}, "end_date": {"2024-05-31"}}).obj(t)
	if fmt.Sprint(cnt) != "map[fullcount:[map[count:4]] statuses:[map[count:1 status:paid] map[count:3 status:expired]]]" {
		t.Fatalf("listcount %v", cnt)
	}
	// Errors.
	wantFail(t, get(t, srv, "/info/invoice/byid/", url.Values{"id": {"20140402085214805"}}), MsgInvoiceNotFound)
	wantFail(t, post(t, srv, "/change/invoice/send/", url.Values{"id": {"1"}}), MsgInvoiceNotFound)
	wantFail(t, post(t, srv, "/change/invoice/preview/", url.Values{"pay_amount": {"0"}}), MsgBadAmount)
	wantFail(t, post(t, srv, "/change/invoice/preview/", url.Values{"pay_amount": {"1"}, "expiry": {"15.05.2025"}}), MsgBadExpiry)
	wantFail(t, post(t, srv, "/change/invoice/preview/", url.Values{"pay_amount": {"1"}, "expiry": {"2020-01-01"}}), MsgBadExpiry)
	wantFail(t, post(t, srv, "/change/invoice/preview/", url.Values{"pay_amount": {"1"}, "service_name": {`{"service_name":`}}), MsgBadServiceName)
}

func TestInvoiceServiceNameJSON(t *testing.T) {
	hook, secret := ackServer(t, true)
	srv := newTestServer(t, WithNotifications(hook.URL, secret))
	sn := `{"service_name":"Заказ №5","user_result_callback":"https://shop.example/ok","cart":[{"name":"Товар","price":100,"quantity":2,"sum":200,"tax":"none"}]}`
	id := post(t, srv, "/change/invoice/preview/", url.Values{"pay_amount": {"200.00"}, "service_name": {sn}, "expiry": {"2099-01-01"}}).obj(t)["invoice_id"].(string)
	inv := get(t, srv, "/info/invoice/byid/", url.Values{"id": {id}}).obj(t)
	if inv["service_name"] != sn || inv["expiry_datetime"] != "2099-01-01 00:00:00" {
		t.Fatalf("service_name not kept as sent: %v", inv)
	}
	pid, err := srv.PayInvoice(id)
	if err != nil {
		t.Fatal(err)
	}
	opt := get(t, srv, "/info/options/byid/", url.Values{"id": {pid}}).obj(t)
	if opt["service_name"] != "Заказ №5" || !strings.HasPrefix(fmt.Sprint(opt["cart"]), `[{"name":"Товар"`) {
		t.Fatalf("options %v", opt)
	}
	if n := srv.Notifications(); n[0].Form.Get("service_name") != "Заказ №5" {
		t.Fatalf("notified service_name %q", n[0].Form.Get("service_name"))
	}
}

// ackServer is a merchant notification endpoint that verifies the key and
// acknowledges (or, with ack false, refuses).
func ackServer(t *testing.T, ack bool) (*httptest.Server, string) {
	t.Helper()
	const secret = "s3cr3t"
	h := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		f := r.PostForm
		if f.Get("key") != SignNotification(f.Get("id"), f.Get("sum"), f.Get("clientid"), f.Get("orderid"), secret) {
			_, _ = io.WriteString(w, "Error! Hash mismatch")
			return
		}
		if !ack {
			_, _ = io.WriteString(w, "OK")
			return
		}
		_, _ = io.WriteString(w, NotificationAck(f.Get("id"), secret))
	}))
	t.Cleanup(h.Close)
	return h, secret
}

func mustReq(method, u string) *http.Request {
	r, err := http.NewRequest(method, u, nil)
	if err != nil {
		panic(err)
	}
	return r
}

func TestSignerTestVectors(t *testing.T) {
	if k := SignNotification("301", "100.00", "Иванов Иван", "ORDER-42", "s3cr3t"); k != "6637eed64399e3c206ad40b2c347c1aa" {
		t.Fatalf("key %s", k)
	}
	if a := NotificationAck("301", "s3cr3t"); a != "OK ae837258fb03b8e2c6d4873963f2d56b" {
		t.Fatalf("ack %s", a)
	}
	if k := SignNotification("aaaa-bbbb-cccc-dddd", "10000", "Test client", "123", "verysecretseed"); k != "93664c68d471bb790389a00f4b8409a2" {
		t.Fatalf("RAAS key %s", k)
	}
	if a := NotificationAck("aaaa-bbbb-cccc-dddd", "verysecretseed"); a != "OK 48d62ebbadd1f3f583f24685fcb5369d" {
		t.Fatalf("RAAS ack %s", a)
	}
	f := NotificationForm(map[string]string{"id": "301", "sum": "100.00", "clientid": "Иванов Иван", "orderid": "ORDER-42", "ps_id": "3"}, "s3cr3t")
	if f.Get("key") != "6637eed64399e3c206ad40b2c347c1aa" || f.Get("ps_id") != "3" || f.Get("id") != "301" {
		t.Fatalf("form %v", f)
	}
}

func TestNotifications(t *testing.T) {
	clk := newClock()
	type got struct {
		form url.Values
		ct   string
	}
	var mu sync.Mutex
	var received []got
	reply := "ok"
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		mu.Lock()
		received = append(received, got{r.PostForm, r.Header.Get("Content-Type")})
		mode := reply
		mu.Unlock()
		switch mode {
		case "ok":
			_, _ = io.WriteString(w, NotificationAck(r.PostForm.Get("id"), "seed"))
		case "json":
			_, _ = io.WriteString(w, `{"status":"ok"}`)
		case "500":
			http.Error(w, NotificationAck(r.PostForm.Get("id"), "seed"), 500)
		case "newline":
			_, _ = io.WriteString(w, NotificationAck(r.PostForm.Get("id"), "seed")+"\n")
		}
	}))
	defer hook.Close()
	srv := newTestServer(t, WithClock(clk.now), WithNotifications(hook.URL+"/pk", "seed"))

	id := srv.AddPayment(PaymentSpec{Amount: "100", Status: StatusObtained, ClientID: "Иванов Иван", OrderID: "ORDER-42",
		ServiceName: "Услуга", ClientEmail: "a@example.com", ClientPhone: "+7900", PaymentSystemID: "9"})
	res, err := srv.Notify(id)
	if err != nil || !res.Acknowledged || res.Status != 200 || res.Err != nil || res.URL != hook.URL+"/pk" {
		t.Fatalf("Notify: %+v %v", res, err)
	}
	f := received[0].form
	if received[0].ct != "application/x-www-form-urlencoded" {
		t.Fatalf("Content-Type %q", received[0].ct)
	}
	want := map[string]string{
		"id": id, "sum": "100.00", "clientid": "Иванов Иван", "orderid": "ORDER-42", "service_name": "Услуга",
		"client_email": "a@example.com", "client_phone": "+7900", "ps_id": "9",
		"obtain_datetime": "2024-05-14 15:59:01", "pk_hostname": Host,
		"key": SignNotification(id, "100.00", "Иванов Иван", "ORDER-42", "seed"),
	}
	for k, v := range want {
		if f.Get(k) != v {
			t.Fatalf("field %s = %q, want %q", k, f.Get(k), v)
		}
	}
	if _, ok := f["batch_date"]; ok {
		t.Fatal("batch_date on a one-stage payment")
	}
	p, _ := srv.Payment(id)
	if p.Status != StatusSuccess || p.RepeatCounter != 0 || p.Success.IsZero() {
		t.Fatalf("after ack: %+v", p)
	}

	// Anything but exactly "OK <md5>" with 200 is not an acknowledgement.
	for i, mode := range []string{"json", "500", "newline"} {
		mu.Lock()
		reply = mode
		mu.Unlock()
		id := srv.AddPayment(PaymentSpec{Amount: "5", Status: StatusObtained})
		res, err := srv.Notify(id)
		if err != nil || res.Acknowledged {
			t.Fatalf("%s: acknowledged: %+v %v", mode, res, err)
		}
		p, _ := srv.Payment(id)
		if p.Status != StatusStuck || p.RepeatCounter != 1 {
			t.Fatalf("%s: %+v", mode, p)
		}
		if bd := get(t, srv, "/info/payments/byid/", url.Values{"id": {id}}).arr(t)[0]; bd["status"] != "stuck" || bd["repeat_counter"] != "1" || bd["success_datetime"] != nil {
			t.Fatalf("%s: byid %v", mode, bd)
		}
		if i == 0 {
			// Resending while refused counts up; repeatcnt resets and resends.
			_, _ = srv.Notify(id)
			if p, _ := srv.Payment(id); p.RepeatCounter != 2 {
				t.Fatalf("repeat_counter %d", p.RepeatCounter)
			}
			mu.Lock()
			reply = "ok"
			mu.Unlock()
			wantSuccess(t, post(t, srv, "/change/payment/repeatcnt/", url.Values{"id": {id}}))
			if p, _ := srv.Payment(id); p.Status != StatusSuccess || p.RepeatCounter != 0 {
				t.Fatalf("after repeatcnt: %+v", p)
			}
		}
	}

	// A hold carries batch_date and stays obtained when acknowledged.
	mu.Lock()
	reply = "ok"
	mu.Unlock()
	hold := srv.AddPayment(PaymentSpec{Amount: "7", Hold: true})
	res, _ = srv.Notify(hold)
	if !res.Acknowledged || res.Form.Get("batch_date") != "2024-05-19" {
		t.Fatalf("hold notification %+v", res)
	}
	if p, _ := srv.Payment(hold); p.Status != StatusObtained {
		t.Fatalf("hold after ack: %s", p.Status)
	}

	// Errors: unknown payment, money not taken, no informer.
	if _, err := srv.Notify("1"); err == nil {
		t.Fatal("notified an unknown payment")
	}
	if _, err := srv.Notify(srv.AddPayment(PaymentSpec{Amount: "1", Status: StatusPending})); err == nil {
		t.Fatal("notified a pending payment")
	}
	wantFail(t, post(t, srv, "/change/payment/repeatcnt/", url.Values{"id": {"1"}}), MsgPaymentNotFound)
	if n := len(srv.Notifications()); n != 7 {
		t.Fatalf("%d notifications recorded", n)
	}

	// The informer settings come from the organization settings.
	wantSuccess(t, post(t, srv, "/change/organization/setting/", url.Values{"name": {"informer_type"}, "value": {"email"}}))
	id = srv.AddPayment(PaymentSpec{Amount: "1", Status: StatusObtained})
	if _, err := srv.Notify(id); !errors.Is(err, ErrNoInformer) {
		t.Fatalf("without informer: %v", err)
	}
	if p, _ := srv.Payment(id); p.Status != StatusSuccess {
		t.Fatalf("e-mail informer: %s", p.Status)
	}
}

func TestNotificationUnreachable(t *testing.T) {
	hook := httptest.NewServer(http.NotFoundHandler())
	u := hook.URL
	hook.Close()
	srv := newTestServer(t, WithNotifications(u, "x"))
	id := srv.AddPayment(PaymentSpec{Amount: "1", Status: StatusObtained})
	res, err := srv.Notify(id)
	if err != nil || res.Err == nil || res.Acknowledged || res.Status != 0 {
		t.Fatalf("%+v %v", res, err)
	}
	if p, _ := srv.Payment(id); p.Status != StatusStuck {
		t.Fatalf("status %s", p.Status)
	}
}

func TestNotificationClientTLS(t *testing.T) {
	hook := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		_, _ = io.WriteString(w, NotificationAck(r.PostForm.Get("id"), "k"))
	}))
	defer hook.Close()
	srv := newTestServer(t, WithNotifications(hook.URL, "k"), WithNotificationClient(hook.Client()))
	res, err := srv.Notify(srv.AddPayment(PaymentSpec{Amount: "1", Status: StatusObtained}))
	if err != nil || !res.Acknowledged {
		t.Fatalf("%+v %v", res, err)
	}
}

func TestOrganizationSettings(t *testing.T) {
	srv := newTestServer(t, WithNotifications("http://mysite.ru/postinform.php", "secretpassword"))
	st := get(t, srv, "/info/organization/settings/", nil).obj(t)
	if keys(st) != "fail_url,informer_seed,informer_type,informer_url,legal_name,paykeeper_id,shopdomain,shopname,skip_default_pages,smtp_use_custom,success_url,support_email" {
		t.Fatalf("settings keys %s", keys(st))
	}
	if st["informer_type"] != "post" || st["informer_url"] != "http://mysite.ru/postinform.php" || st["informer_seed"] != "secretpassword" {
		t.Fatalf("informer settings %v", st)
	}
	set := func(name, value string) result {
		return post(t, srv, "/change/organization/setting/", url.Values{"name": {name}, "value": {value}})
	}
	wantSuccess(t, set("support_email", "help@shop.example"))
	wantSuccess(t, set("smtp_use_custom", "true"))
	wantSuccess(t, set("smtp_host", "ssl://smtp.yandex.ru"))
	wantFail(t, set("shopname", "x"), MsgUnknownSetting)
	wantFail(t, set("informer_type", "sms"), MsgBadSettingValue)
	wantSuccess(t, post(t, srv, "/change/organization/setting/", url.Values{"name": {"fail_url"}}))
	st = get(t, srv, "/info/organization/settings/", nil).obj(t)
	if st["support_email"] != "help@shop.example" || st["smtp_host"] != "ssl://smtp.yandex.ru" || st["fail_url"] != "http://example.com/fail/" || st["smtp_port"] == nil {
		t.Fatalf("settings after changes %v", st)
	}
	if srv.Setting("support_email") != "help@shop.example" {
		t.Fatal("Setting")
	}

	// Form fields.
	fields := get(t, srv, "/info/organization/fields/", nil).arr(t)
	if keys(fields[0]) != "displayed_name,enabled,order,pk_name,placeholder,required,type" {
		t.Fatalf("field keys %s", keys(fields[0]))
	}
	ff := func(f url.Values) result { return post(t, srv, "/change/organization/formfield/", f) }
	wantFail(t, ff(url.Values{"pk_name": {"sum"}, "displayed_name": {"x"}}), MsgSumField)
	wantFail(t, ff(url.Values{"pk_name": {"nope"}}), MsgFieldNotFound)
	wantFail(t, ff(url.Values{"pk_name": {"orderid"}, "order": {"10001"}}), MsgBadFieldValue)
	wantFail(t, ff(url.Values{"pk_name": {"orderid"}, "type": {"date"}}), MsgBadFieldValue)
	wantSuccess(t, ff(url.Values{"pk_name": {"orderid"}, "displayed_name": {"Номер счёта"}, "required": {"true"}, "order": {"5"}}))
	for _, f := range get(t, srv, "/info/organization/fields/", nil).arr(t) {
		if f["pk_name"] == "orderid" && (f["displayed_name"] != "Номер счёта" || f["required"] != "true" || f["order"] != "5" || f["enabled"] != "true") {
			t.Fatalf("changed field %v", f)
		}
	}

	// Report e-mails.
	wantSuccess(t, post(t, srv, "/change/organization/addreportemail/", url.Values{"email": {"buh@shop.example"}}))
	wantFail(t, post(t, srv, "/change/organization/addreportemail/", url.Values{"email": {"not an email"}}), MsgBadEmail)
	em := get(t, srv, "/info/organization/reportemails/", nil).arr(t)
	if len(em) != 2 || em[1]["id"] != "2" || em[1]["email"] != "buh@shop.example" || keys(em[0]) != "email,id" {
		t.Fatalf("report emails %v", em)
	}
	wantSuccess(t, post(t, srv, "/change/organization/deletereportemail/", url.Values{"id": {"1"}}))
	wantFail(t, post(t, srv, "/change/organization/deletereportemail/", url.Values{"id": {"1"}}), MsgEmailNotFound)
	if e := srv.ReportEmails(); len(e) != 1 || e[0] != "buh@shop.example" {
		t.Fatalf("ReportEmails %v", e)
	}
}

func TestUsers(t *testing.T) {
	srv := newTestServer(t)
	users := get(t, srv, "/info/organization/users/", nil)
	if !bytes.Contains(users.body, []byte(`"id":1,`)) {
		t.Fatalf("user id is not a number: %s", users.body)
	}
	add := func(f url.Values) result { return post(t, srv, "/change/user/add/", f) }
	wantSuccess(t, add(url.Values{"login": {"manager"}, "password": {"m-pw"}, "refund": {"3"}, "admin": {"false"}}))
	wantFail(t, add(url.Values{"login": {"manager"}, "password": {"x"}}), MsgUserExists)
	wantFail(t, add(url.Values{"login": {"x"}}), MsgBadUser)
	wantFail(t, add(url.Values{"login": {"y"}, "password": {"p"}, "admin": {"yes"}}), MsgBadFieldValue)
	list := get(t, srv, "/info/organization/users/", nil).arr(t)
	if len(list) != 2 || list[1]["login"] != "manager" || list[1]["refund"] != "3" || list[1]["admin"] != "false" || keys(list[1]) != "admin,id,login,refund" {
		t.Fatalf("users %v", list)
	}
	// The new user can log in, sees only the public settings and cannot change them.
	st := getAs(t, srv, "manager", "m-pw", "/info/organization/settings/", nil).obj(t)
	if keys(st) != "legal_name,paykeeper_id,shopdomain,shopname" {
		t.Fatalf("non-admin settings %v", st)
	}
	if us := getAs(t, srv, "manager", "m-pw", "/info/user/settings/", nil).obj(t); us["admin"] != "false" || us["refund_allow"] != "true" {
		t.Fatalf("non-admin user settings %v", us)
	}
	wantFail(t, postAs(t, srv, "manager", "m-pw", "/change/organization/setting/", url.Values{"name": {"fail_url"}, "value": {"x"}}), MsgNotAdmin)
	wantFail(t, postAs(t, srv, "manager", "m-pw", "/change/user/delete/", url.Values{"id": {"1"}}), MsgNotAdmin)
	// A new password changes what Basic auth accepts.
	wantSuccess(t, post(t, srv, "/change/user/update/", url.Values{"id": {"2"}, "password": {"new-pw"}, "admin": {"true"}}))
	if r := getAs(t, srv, "manager", "m-pw", "/info/user/settings/", nil); r.status != 401 {
		t.Fatalf("old password: %d", r.status)
	}
	if r := getAs(t, srv, "manager", "new-pw", "/info/user/settings/", nil); r.obj(t)["admin"] != "true" {
		t.Fatalf("new password: %s", r.body)
	}
	wantFail(t, post(t, srv, "/change/user/update/", url.Values{"id": {"9"}, "refund": {"1"}}), MsgUserNotFound)
	wantFail(t, post(t, srv, "/change/user/delete/", url.Values{"id": {"1"}}), MsgDeleteSelf)
	wantSuccess(t, post(t, srv, "/change/user/delete/", url.Values{"id": {"2"}}))
	wantFail(t, post(t, srv, "/change/user/delete/", url.Values{"id": {"2"}}), MsgUserNotFound)
	if r := getAs(t, srv, "manager", "new-pw", "/info/user/settings/", nil); r.status != 401 {
		t.Fatalf("deleted user: %d", r.status)
	}
	if u := srv.Users(); len(u) != 1 || u[0].Login != DefaultUser {
		t.Fatalf("Users %v", u)
	}
}

func TestLastVisit(t *testing.T) {
	clk := newClock()
	srv := newTestServer(t, WithClock(clk.now))
	lv := get(t, srv, "/info/user/lastvisit/", nil).obj(t)
	if keys(lv) != "datetime,ip" || lv["ip"] != "127.0.0.1" || lv["datetime"] != "2024-05-14 15:59:00" {
		t.Fatalf("first visit %v", lv)
	}
	clk.advance(time.Hour)
	if lv := get(t, srv, "/info/user/lastvisit/", nil).obj(t); lv["datetime"] != "2024-05-14 15:59:00" {
		t.Fatalf("second visit %v", lv)
	}
	if lv := get(t, srv, "/info/user/lastvisit/", nil).obj(t); lv["datetime"] != "2024-05-14 16:59:00" {
		t.Fatalf("third visit %v", lv)
	}
}

func TestExport(t *testing.T) {
	srv := newTestServer(t)
	id := srv.AddPayment(PaymentSpec{Amount: "12.34", ClientID: "Иванов & сын", Created: time.Date(2014, 5, 1, 10, 0, 0, 0, Moscow)})
	q := url.Values{"type": {"xlsx"}, "start": {"2014-04-14"}, "end": {"2014-06-14"}, "status[]": {"success"},
		"payment_system_id[]": {"3"}, "from": {"0"}, "limit": {"1000"}}
	r := get(t, srv, "/export/payments/", q)
	if r.status != 200 || r.header.Get("Content-Type") != XLSXContentType {
		t.Fatalf("export: %d %s", r.status, r.header.Get("Content-Type"))
	}
	sheet := readSheet(t, r.body)
	if !strings.Contains(sheet, "<t>"+id+"</t>") || !strings.Contains(sheet, "<t>12.34</t>") || !strings.Contains(sheet, "Иванов &amp; сын") {
		t.Fatalf("sheet %s", sheet)
	}
	q.Set("limit", "1001")
	wantFail(t, get(t, srv, "/export/payments/", q), MsgExportLimit)
	q.Set("limit", "10")
	q.Set("type", "csv")
	wantFail(t, get(t, srv, "/export/payments/", q), MsgExportType)
	q.Set("type", "xlsx")

	// Exactly the asked size, streamed.
	const size = 8<<20 + 12345
	srv.SetExportSize(size)
	req, _ := http.NewRequest("GET", srv.URL()+"/export/payments/?"+q.Encode(), nil)
	req.SetBasicAuth(DefaultUser, DefaultPassword)
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.ContentLength != size {
		t.Fatalf("Content-Length %d", resp.ContentLength)
	}
	var buf bytes.Buffer
	n, err := io.Copy(&buf, resp.Body)
	resp.Body.Close()
	if err != nil || n != size {
		t.Fatalf("read %d bytes: %v", n, err)
	}
	if s := readSheet(t, buf.Bytes()); !strings.Contains(s, "<t>"+id+"</t>") {
		t.Fatal("padded workbook lost its sheet")
	}
	// A size below the workbook's own is ignored.
	srv2 := newTestServer(t, WithExportSize(10))
	srv2.AddPayment(PaymentSpec{Amount: "1", Created: time.Date(2014, 5, 1, 10, 0, 0, 0, Moscow)})
	if r := get(t, srv2, "/export/payments/", q); len(r.body) <= 10 {
		t.Fatalf("%d bytes", len(r.body))
	} else {
		readSheet(t, r.body)
	}
	// Truncated export: half the bytes, properly framed.
	srv.SetExportSize(1 << 20)
	srv.TruncateNext(1)
	if r := get(t, srv, "/export/payments/", q); len(r.body) != 1<<19 {
		t.Fatalf("truncated export %d bytes", len(r.body))
	}
}

func readSheet(t *testing.T, b []byte) string {
	t.Helper()
	z, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatalf("not a zip: %v", err)
	}
	for _, f := range z.File {
		if f.Name == "xl/worksheets/sheet1.xml" {
			rc, err := f.Open()
			if err != nil {
				t.Fatal(err)
			}
			defer rc.Close()
			s, err := io.ReadAll(rc)
			if err != nil {
				t.Fatal(err)
			}
			return string(s)
		}
	}
	t.Fatal("no sheet")
	return ""
}

func TestFaults(t *testing.T) {
	srv := newTestServer(t)
	id := srv.AddPayment(PaymentSpec{Amount: "10"})
	tok := srv.Token()
	refund := func() (*http.Response, error) {
		req, _ := http.NewRequest("POST", srv.URL()+"/change/payment/reverse/",
			strings.NewReader(url.Values{"id": {id}, "amount": {"1"}, "partial": {"true"}, "token": {tok}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(DefaultUser, DefaultPassword)
		return srv.Client().Do(req)
	}

	// FailNext: not processed.
	srv.FailNext(1, 502, "<html>Bad Gateway</html>")
	resp, err := refund()
	if err != nil || resp.StatusCode != 502 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("FailNext: %v %v", resp, err)
	}
	resp.Body.Close()
	if p, _ := srv.Payment(id); p.RefundAmount != "0.00" {
		t.Fatal("FailNext processed the request")
	}
	srv.FailNext(1, 500, `{"result":"fail","msg":"x"}`)
	if r := get(t, srv, "/info/payments/byid/", url.Values{"id": {id}}); r.status != 500 || !strings.HasPrefix(r.header.Get("Content-Type"), "application/json") {
		t.Fatalf("FailNext JSON: %d", r.status)
	}

	// DropNext: processed, no answer.
	srv.DropNext(1)
	if resp, err := refund(); err == nil {
		resp.Body.Close()
		t.Fatal("DropNext answered")
	}
	if p, _ := srv.Payment(id); p.RefundAmount != "1.00" {
		t.Fatalf("DropNext did not process: %s", p.RefundAmount)
	}
	if srv.Count(OpReverse) != 2 {
		t.Fatalf("Count %d", srv.Count(OpReverse))
	}
	reqs := srv.Requests()
	if last := reqs[len(reqs)-1]; last.Answered != 0 || last.Form.Get("amount") != "1" || last.Form.Get("token") != MaskedToken || !last.TokenValid {
		t.Fatalf("dropped request record %+v", last)
	}

	// TruncateNext: half the JSON.
	srv.TruncateNext(1)
	r := get(t, srv, "/info/payments/byid/", url.Values{"id": {id}})
	full := get(t, srv, "/info/payments/byid/", url.Values{"id": {id}})
	if r.status != 200 || len(r.body) != len(full.body)/2 || !bytes.HasPrefix(full.body, r.body) {
		t.Fatalf("truncated %q", r.body)
	}

	// HTMLNext: 200 with HTML, processed.
	srv.HTMLNext(1)
	resp, err = refund()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") || string(b) != HTMLPage {
		t.Fatalf("HTMLNext: %d %s", resp.StatusCode, b)
	}
	if p, _ := srv.Payment(id); p.RefundAmount != "2.00" {
		t.Fatal("HTMLNext did not process")
	}

	// DelayNext: a client that gives up gets no answer; the work is done.
	srv.DelayNext(1, time.Hour)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL()+"/info/settings/token/", nil)
	req.SetBasicAuth(DefaultUser, DefaultPassword)
	if resp, err := srv.Client().Do(req); err == nil {
		resp.Body.Close()
		t.Fatal("delayed answer arrived")
	}
	srv.DelayNext(1, time.Millisecond)
	if r := get(t, srv, "/info/settings/token/", nil); r.status != 200 {
		t.Fatalf("short delay: %d", r.status)
	}

	// Faults are taken in order, by any known route.
	srv.FailNext(1, 503, "busy")
	srv.HTMLNext(1)
	if r := get(t, srv, "/info/user/settings/", nil); r.status != 503 || string(r.body) != "busy" {
		t.Fatalf("first fault %d", r.status)
	}
	if r := get(t, srv, "/info/user/settings/", nil); string(r.body) != HTMLPage {
		t.Fatal("second fault")
	}
	if r := get(t, srv, "/info/user/settings/", nil); r.status != 200 || r.obj(t)["user"] != DefaultUser {
		t.Fatal("no more faults")
	}

	srv.Reset()
	if len(srv.Requests()) != 0 || srv.TokenFetches() != 0 {
		t.Fatal("Reset")
	}
}

func TestUnknownRoutesFailLoudly(t *testing.T) {
	rec := &recorder{TB: t}
	srv := NewServer(WithT(rec))
	for _, c := range []struct{ method, path string }{
		{"GET", "/info/payments/byid"},      // no trailing slash
		{"GET", "/change/payment/reverse/"}, // wrong method
		{"POST", "/change/payment/create/"}, // reserved
		{"GET", "/change/organization/adduser/"},
		{"GET", "/api/v1/payments/"},
	} {
		req, _ := http.NewRequest(c.method, srv.URL()+c.path, nil)
		r := do(t, srv, req, DefaultUser, DefaultPassword)
		if r.status != 404 {
			t.Fatalf("%s %s: %d", c.method, c.path, r.status)
		}
	}
	if n := len(rec.got()); n != 5 {
		t.Fatalf("%d loud failures", n)
	}
	if srv.Count(OpUnknown) != 5 {
		t.Fatal("unknown route not recorded")
	}
	// Unknown routes do not use up faults.
	srv.FailNext(1, 500, "x")
	req, _ := http.NewRequest("GET", srv.URL()+"/nope/", nil)
	do(t, srv, req, DefaultUser, DefaultPassword)
	if r := get(t, srv, "/info/user/settings/", nil); r.status != 500 {
		t.Fatalf("fault skipped: %d", r.status)
	}
}

func TestAddPaymentPanicsOnBadInput(t *testing.T) {
	srv := newTestServer(t)
	for _, spec := range []PaymentSpec{{Amount: "0"}, {Amount: "1,5"}, {Amount: "1", Status: "paid"}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Fatalf("%+v: no panic", spec)
				}
			}()
			srv.AddPayment(spec)
		}()
	}
	if !srv.SetPaymentStatus(srv.AddPayment(PaymentSpec{Amount: "1"}), StatusRefunding) {
		t.Fatal("SetPaymentStatus")
	}
	if srv.SetPaymentStatus("nope", StatusSuccess) {
		t.Fatal("SetPaymentStatus on an unknown payment")
	}
}

func TestCloseIsIdempotentAndInterruptsDelays(t *testing.T) {
	srv := NewServer()
	srv.DelayNext(1, time.Hour)
	done := make(chan struct{})
	go func() {
		defer close(done)
		req, _ := http.NewRequest("GET", srv.URL()+"/info/settings/token/", nil)
		req.SetBasicAuth(DefaultUser, DefaultPassword)
		if resp, err := srv.Client().Do(req); err == nil {
			resp.Body.Close()
		}
	}()
	for srv.Count(OpToken) == 0 {
		time.Sleep(time.Millisecond)
	}
	srv.Close()
	srv.Close()
	<-done
}
