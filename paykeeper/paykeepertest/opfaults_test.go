package paykeepertest

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestDropNextOp: only requests of the named operation lose their answer,
// each is carried out first, other requests (the token fetch, reads) neither
// lose theirs nor use the switch up, and n <= 0 clears what is left.
func TestDropNextOp(t *testing.T) {
	srv := newTestServer(t)
	preview := func() error {
		tok := fetchToken(t, srv, DefaultUser, DefaultPassword) // another operation: answered
		form := url.Values{"pay_amount": {"10.00"}, "orderid": {"A-1"}, "token": {tok}}
		req, _ := http.NewRequest(http.MethodPost, srv.URL()+"/change/invoice/preview/", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(DefaultUser, DefaultPassword)
		resp, err := srv.Client().Do(req)
		if err == nil {
			resp.Body.Close()
		}
		return err
	}

	srv.DropNextOp(OpInvoicePreview, 2)
	for i := 0; i < 2; i++ {
		if err := preview(); err == nil {
			t.Fatalf("preview %d was answered", i)
		}
	}
	if got := len(srv.Invoices()); got != 2 {
		t.Fatalf("%d invoices after two dropped previews, want 2 (dropped requests are carried out)", got)
	}
	if err := preview(); err != nil {
		t.Fatalf("third preview: %v", err)
	}
	if n := srv.TokenFetches(); n != 3 {
		t.Fatalf("%d token fetches answered, want 3", n)
	}
	for _, r := range srv.Requests() {
		if r.Op == OpToken && r.Answered != http.StatusOK {
			t.Fatalf("token fetch answered %d", r.Answered)
		}
	}

	// A queued drop of one operation is cleared by n <= 0, and a drop for
	// another operation leaves previews alone.
	srv.DropNextOp(OpInvoicePreview, 1)
	srv.DropNextOp(OpInvoicePreview, 0)
	srv.DropNextOp(OpReverse, 1)
	if err := preview(); err != nil {
		t.Fatalf("preview after the drop was cleared: %v", err)
	}
	// That DropNextOp(op, 0) clears what is queued for op is tested
	// where the switch lives: fakeserver's TestFaultsDropNextOp.
}
