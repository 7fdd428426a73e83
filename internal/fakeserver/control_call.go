package fakeserver

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// CallControl calls control operation op of the fake served by b with method
// and body, at its 127.0.0.1 URL as a program in another language would (no
// host pinning), trusting the fake's CA, and returns the status and the
// body of the answer; op may carry a query string ("count?op=pay"). It is
// for the fakes' tests: a request that fails ends the test.
func CallControl(t testing.TB, b *Base, method, op, body string) (int, string) {
	t.Helper()
	url := "https://" + b.Addr() + ControlPrefix + op
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: b.Client().Transport.(*http.Transport).TLSClientConfig.Clone()}}
	defer c.CloseIdleConnections()
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	got, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(got)
}
