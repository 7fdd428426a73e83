package payments_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/paysdk/payments"
)

type testCred struct{ Token string }

func params(t *testing.T, raw string, env map[string]string, opts ...payments.OpenOption) *payments.OpenParams {
	t.Helper()
	cfg, err := payments.NewOpenConfig(raw, append(opts, payments.OpenEnv(func(k string) (string, bool) { v, ok := env[k]; return v, ok }))...)
	if err != nil {
		t.Fatal(err)
	}
	return cfg.Params("base_url", "poll", "flag", "n", "rate")
}

func TestOpenParamsReadsDeclarations(t *testing.T) {
	p := params(t, "x://?poll=3s&flag=false&n=7&rate=2.5", map[string]string{"TOKEN": "s3cret", "URL_B": "https://b.example"})
	cred := payments.ReadCredentials(p, "x", func() testCred { return testCred{Token: p.Env("TOKEN")} })
	base := p.BaseURL("base_url", "URL_A", "URL_B")
	if err := p.Err(); err != nil {
		t.Fatal(err)
	}
	if cred.Token != "s3cret" || base != "https://b.example" {
		t.Fatalf("cred %q base %q", cred.Token, base)
	}
	if d := p.Duration("poll", time.Minute, "10s"); d != 3*time.Second {
		t.Errorf("poll %v", d)
	}
	if p.Bool("flag", true) {
		t.Error("flag=false read true")
	}
	if n := p.Int("n", 0, 1, 10, "1 to 10"); n != 7 {
		t.Errorf("n %d", n)
	}
	if r := p.Rate("rate", "positive"); r != 2.5 {
		t.Errorf("rate %v", r)
	}
	if len(p.Options()) != 1 {
		t.Errorf("%d options, want the base URL's", len(p.Options()))
	}
	// Absent parameters are their defaults.
	q := params(t, "x://", nil)
	if q.Duration("poll", time.Minute, "10s") != time.Minute || !q.Bool("flag", true) || q.Int("n", 4, 1, 10, "") != 4 || q.Err() != nil {
		t.Error("defaults not kept")
	}
}

func TestOpenParamsFirstRefusalWins(t *testing.T) {
	for raw, field := range map[string]string{
		"x://?bogus=1":            "url",
		"x://?poll=-1s":           "poll",
		"x://?poll=soon":          "poll",
		"x://?flag=maybe":         "flag",
		"x://?n=11":               "n",
		"x://?rate=NaN":           "rate",
		"x://?poll=1s&flag=2&n=0": "flag",
	} {
		p := params(t, raw, map[string]string{"TOKEN": "t"})
		p.Env("TOKEN")
		p.Duration("poll", 0, "10s")
		p.Bool("flag", false)
		p.Int("n", 0, 1, 10, "1 to 10")
		p.Rate("rate", "positive")
		var v *payments.ValidationError
		if !errors.As(p.Err(), &v) || v.Field != field {
			t.Errorf("%s: %v, want a refusal of %s", raw, p.Err(), field)
		}
	}
	p := params(t, "x://", map[string]string{"A": "1"})
	p.Env("A")
	p.Env("B")
	p.Env("C")
	var v *payments.ValidationError
	if !errors.As(p.Err(), &v) || v.Field != "B" {
		t.Errorf("missing B then C: %v, want B named", p.Err())
	}
}

func TestReadCredentialsRefusesAnotherType(t *testing.T) {
	p := params(t, "x://", nil, payments.OpenCredentials("user:hunter2"))
	called := false
	payments.ReadCredentials(p, "x", func() testCred { called = true; return testCred{} })
	err := p.Err()
	var v *payments.ValidationError
	if !errors.As(err, &v) || called {
		t.Fatalf("a string for testCred: %v (env read: %v)", err, called)
	}
	if !strings.Contains(err.Error(), "x takes payments_test.testCred, not string") || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("refusal %q", err)
	}
	p = params(t, "x://", nil, payments.OpenCredentials(testCred{Token: "given"}))
	if c := payments.ReadCredentials(p, "x", func() testCred { t.Error("env read"); return testCred{} }); c.Token != "given" || p.Err() != nil {
		t.Errorf("given credentials: %+v %v", c, p.Err())
	}
}
