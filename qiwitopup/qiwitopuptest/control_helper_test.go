package qiwitopuptest

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// control calls the control API at the 127.0.0.1 URL, as a program in
// another language would (no host pinning), trusting the fake's CA.
func control(t *testing.T, s *Server, method, op, body string) (int, string) {
	t.Helper()
	url := "https://" + s.Addr() + "/_fake/" + op
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: s.base.Client().Transport.(*http.Transport).TLSClientConfig.Clone()}}
	defer c.CloseIdleConnections()
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}
