package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/paysdk/payments/paykeeper/paykeepertest"
)

// update rewrites testdata/demo.golden with what the demo prints: run
// `go test ./examples/observability -run TestDemoOutput -update` after a
// change of the instruments, and read the diff before committing it.
var update = flag.Bool("update", false, "rewrite testdata/demo.golden")

// TestDemoOutput runs the demo as `make demo` does and compares what it
// prints, the deterministic metric lines included, with
// testdata/demo.golden; it checks the spans it wrote to its file.
func TestDemoOutput(t *testing.T) {
	// The demo closes its servers, clients, store and providers.
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	traces := filepath.Join(t.TempDir(), "traces.jsonl")
	var out, info bytes.Buffer
	require.NoError(t, run(ctx, &out, &info, config{traces: traces, listen: "127.0.0.1:0"}), "info: %s", &info)

	golden := filepath.Join("testdata", "demo.golden")
	if *update {
		require.NoError(t, os.MkdirAll("testdata", 0o755))
		require.NoError(t, os.WriteFile(golden, out.Bytes(), 0o644))
	}
	want, err := os.ReadFile(golden)
	require.NoError(t, err)
	assert.Equal(t, string(want), out.String(), "the demo's output differs from %s (rerun with -update once the change is meant)", golden)

	// Whatever the golden file says: the lost answer is counted once, and
	// the forged notification, when the handlers count notifications, is
	// refused for its signature.
	assert.Contains(t, out.String(), "\n"+`payments_outcome_unknown_total{payments_operation="pay",payments_provider="popolni"} 1`+"\n")
	assert.Contains(t, out.String(), "\nforged notification paykeeper A-1001: 403 Forbidden\n")
	if strings.Contains(out.String(), "payments_notifications_total") {
		assert.Regexp(t, regexp.MustCompile(`\npayments_notifications_total\{[^}]*payments_provider="paykeeper"[^}]*payments_reason="signature"[^}]*payments_result="refused"[^}]*\} 1\n`), out.String())
	}
	for _, l := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		if strings.HasPrefix(l, "payments_") {
			assert.True(t, deterministic(l), "printed a line that depends on timing: %s", l)
		}
	}

	spans := readSpans(t, traces)
	lost := spans.named("popolni pay", map[string]string{"payments.outcome": "outcome_unknown"})
	require.Len(t, lost, 1, "one pay lost its answer")
	attempts := spans.children(lost[0])
	require.Len(t, attempts, 2, "both attempts of the lost pay are its children")
	for _, a := range attempts {
		assert.Equal(t, "popolni pay attempt", a.Name)
		assert.Equal(t, "true", a.attr("payments.maybe_written"))
	}
	assert.NotEmpty(t, spans.named("popolni status", nil), "the ledger asked the status of the lost payout")
	for _, ref := range []string{"1000000002", "1000000003"} {
		assert.Len(t, spans.named("popolni pay", map[string]string{"payments.ref": ref, "payments.outcome": "ok"}), 1, "the pay of %s", ref)
	}

	// The fakes' secrets appear nowhere the demo writes.
	raw, err := os.ReadFile(traces)
	require.NoError(t, err)
	for _, secret := range []string{payKeeperSecret, royalPayBearer, paykeepertest.DefaultPassword} {
		assert.NotContains(t, string(raw), secret)
		assert.NotContains(t, out.String(), secret)
		assert.NotContains(t, info.String(), secret)
	}
}

// TestDemoServe runs the demo with -serve: after the demo, /metrics is
// served until the context ends, and run then returns nil.
func TestDemoServe(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	serveCtx, stop := context.WithCancel(ctx)
	defer stop()
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		err := run(serveCtx, io.Discard, pw, config{traces: filepath.Join(t.TempDir(), "traces.jsonl"), listen: "127.0.0.1:0", serve: true})
		pw.Close()
		done <- err
	}()
	var metricsURL string
	sc := bufio.NewScanner(pr)
	for sc.Scan() {
		line := sc.Text()
		if u, ok := strings.CutPrefix(line, "metrics: "); ok {
			metricsURL = u
		}
		if strings.HasPrefix(line, "serving ") {
			break
		}
	}
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	require.NotEmpty(t, metricsURL, "the demo named its /metrics URL")

	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr}).Get(metricsURL)
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Contains(t, string(body), `payments_outcome_unknown_total{payments_operation="pay",payments_provider="popolni"} 1`)
	assert.Contains(t, string(body), "# TYPE payments_operation_duration_seconds histogram")

	stop()
	require.NoError(t, <-done)
}

// span is what the test reads of a stdouttrace span.
type span struct {
	Name        string
	SpanContext struct{ SpanID string }
	Parent      struct{ SpanID string }
	Attributes  []struct {
		Key   string
		Value struct{ Value any }
	}
}

func (s span) attr(key string) string {
	for _, a := range s.Attributes {
		if a.Key == key {
			b, _ := json.Marshal(a.Value.Value)
			return strings.Trim(string(b), `"`)
		}
	}
	return ""
}

type spanList []span

// readSpans reads the demo's trace file: one JSON span a line.
func readSpans(t *testing.T, path string) spanList {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	var spans spanList
	dec := json.NewDecoder(f)
	for dec.More() {
		var s span
		require.NoError(t, dec.Decode(&s))
		spans = append(spans, s)
	}
	require.NotEmpty(t, spans)
	return spans
}

// named returns the spans called name whose attributes include attrs.
func (l spanList) named(name string, attrs map[string]string) []span {
	var out []span
next:
	for _, s := range l {
		if s.Name != name {
			continue
		}
		for k, v := range attrs {
			if s.attr(k) != v {
				continue next
			}
		}
		out = append(out, s)
	}
	return out
}

// children returns the spans whose parent is p.
func (l spanList) children(p span) []span {
	var out []span
	for _, s := range l {
		if s.Parent.SpanID == p.SpanContext.SpanID {
			out = append(out, s)
		}
	}
	return out
}
