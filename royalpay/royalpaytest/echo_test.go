package royalpaytest

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

func TestEchoFaultsCarryTheTokenAndCreateNothing(t *testing.T) {
	srv := NewServer(WithT(t), WithToken("echo-secret-token"))
	send := func(method, path, body string) (int, string, string) {
		t.Helper()
		req, err := http.NewRequest(method, srv.URL()+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Token echo-secret-token")
		req.Header.Set("Content-Type", "application/json")
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header.Get("Content-Type"), string(b)
	}
	create := `{"sum":1500,"type":"to_sbp_number","outter_id":"E-1"}`

	srv.EchoNext(1, 502)
	st, ct, body := send(http.MethodPost, createPath, create)
	if st != 502 || !strings.HasPrefix(ct, "text/plain") || !strings.HasPrefix(body, "Authorization: Token echo-secret-token\n") || !strings.Contains(body, create) {
		t.Fatalf("EchoNext: %d %s %q", st, ct, body)
	}

	srv.EchoJSONNext(1, 400)
	st, ct, body = send(http.MethodPost, createPath, create)
	var detail struct{ Detail string }
	if st != 400 || ct != "application/json" || json.Unmarshal([]byte(body), &detail) != nil || !strings.Contains(detail.Detail, "Token echo-secret-token") {
		t.Fatalf("EchoJSONNext: %d %s %q", st, ct, body)
	}

	srv.EchoGetNext(1, 500)
	st, _, body = send(http.MethodGet, createPath+"1/", "")
	if st != 500 || !strings.Contains(body, "GET /api/v2/payments/1/") || !strings.Contains(body, "echo-secret-token") {
		t.Fatalf("EchoGetNext: %d %q", st, body)
	}

	if n := len(srv.Payments()); n != 0 {
		t.Fatalf("an echo created %d payments", n)
	}
	if srv.Count(OpCreate) != 2 || srv.Count(OpGet) != 1 {
		t.Fatalf("counts: create %d, get %d", srv.Count(OpCreate), srv.Count(OpGet))
	}
	for _, r := range srv.Requests() {
		if r.Header.Get("Authorization") != "" {
			t.Fatal("the request log keeps no Authorization")
		}
	}
}
