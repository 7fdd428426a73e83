package royalpaytest

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// TestPaymentReadForm: with WithPaymentReadForm only one form of the read
// is routed; the other answers 404, is counted as OpGet and is not
// reported as an unknown route. Without it both forms are served.
func TestPaymentReadForm(t *testing.T) {
	for _, tc := range []struct {
		name          string
		opts          []Option
		slash, noSlsh int
	}{
		{"both", nil, 200, 200},
		{"slash only", []Option{WithPaymentReadForm(true)}, 200, 404},
		{"no slash only", []Option{WithPaymentReadForm(false)}, 404, 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newTestServer(t, tc.opts...)
			id := createOK(t, s, `{"sum":10,"type":"to_sbp_number"}`).id(t)
			for path, want := range map[string]int{fmt.Sprintf("%s%d/", createPath, id): tc.slash, fmt.Sprintf("%s%d", createPath, id): tc.noSlsh} {
				got := mustDo(t, s.Client(), newReq(t, s, http.MethodGet, path, ""))
				if want == 404 {
					expect(t, got, 404, `{"detail":"Страница не найдена."}`)
				} else if got.status != want || decode(t, got.body).id(t) != id {
					t.Fatalf("GET %s: %d %s", path, got.status, got.body)
				}
			}
			if n := s.Count(OpGet); n != 2 {
				t.Fatalf("Count(OpGet) = %d, want 2", n)
			}
			if n := s.Count(OpUnknown); n != 0 {
				t.Fatalf("Count(OpUnknown) = %d", n)
			}
		})
	}
}

// TestAccountReadVersion: both /api/v1/accounts/me (the document's) and
// /api/v2/accounts/me are served by default; WithAccountReadVersion keeps
// one, the other answering 404 counted as OpAccount.
func TestAccountReadVersion(t *testing.T) {
	for _, tc := range []struct {
		name   string
		opts   []Option
		v1, v2 int
	}{
		{"both", nil, 200, 200},
		{"v1 only", []Option{WithAccountReadVersion(1)}, 200, 404},
		{"v2 only", []Option{WithAccountReadVersion(2)}, 404, 200},
		{"3 is not a version: both", []Option{WithAccountReadVersion(3)}, 200, 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newTestServer(t, tc.opts...)
			for path, want := range map[string]int{"/api/v1/accounts/me": tc.v1, "/api/v2/accounts/me": tc.v2} {
				got := mustDo(t, s.Client(), newReq(t, s, http.MethodGet, path, ""))
				if want == 404 {
					expect(t, got, 404, `{"detail":"Страница не найдена."}`)
				} else {
					expect(t, got, 200, `{"id":1,"username":"merchant","balance":"1000000.00","currency":"RUB"}`)
				}
			}
			if n := s.Count(OpAccount); n != 2 {
				t.Fatalf("Count(OpAccount) = %d, want 2", n)
			}
		})
	}
}

// TestPayoutCreateOmit: the named fields leave the create's answer only;
// the payout is made and its lookup answers every field.
func TestPayoutCreateOmit(t *testing.T) {
	s := newTestServer(t, WithPayoutCreateOmit("status", "outter_id"))
	req := newReq(t, s, http.MethodPost, payoutPath, `{"method":"INTERBANK","requisite":"4111111111111111","amount":10,"outter_id":"OM-1"}`)
	req.Header.Set("Authorization", "Token "+DefaultPayoutToken)
	got := mustDo(t, s.Client(), req)
	if got.status != 201 {
		t.Fatalf("create: %d %s", got.status, got.body)
	}
	a := decode(t, got.body)
	if _, has := a["status"]; has {
		t.Fatalf("status answered: %s", got.body)
	}
	if _, has := a["outter_id"]; has {
		t.Fatalf("outter_id answered: %s", got.body)
	}
	if a.id(t) != firstPayoutID || a.str("requisite") != "4111111111111111" {
		t.Fatalf("answered %s", got.body)
	}
	ps := s.PayoutsByOutterID("OM-1")
	if len(ps) != 1 || ps[0].Status != PayoutPending {
		t.Fatalf("held %+v", ps)
	}
	look := newReq(t, s, http.MethodGet, payoutPath+"?outter_id=OM-1", "")
	look.Header.Set("Authorization", "Token "+DefaultPayoutToken)
	got = mustDo(t, s.Client(), look)
	if got.status != 200 || !containsAll(got.body, `"status":"pending"`, `"outter_id":"OM-1"`) {
		t.Fatalf("lookup: %d %s", got.status, got.body)
	}
}

func containsAll(s string, subs ...string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}
