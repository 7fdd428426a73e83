package payments_test

// The secret probe over telemetry (issue 18): what the SDK records in spans
// and metrics, through an OpenTelemetry SDK of the test's own, carries no
// password, token, signature key, Authorization value, card number or
// phone number, and the metrics carry only low-cardinality attributes, for
// operations of all four providers that succeed, are refused, lose their
// answer, and for notifications genuine and forged.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/payin"
	"github.com/paysdk/payments/payin/paykeeperpayin"
	"github.com/paysdk/payments/payin/royalpaypayin"
	"github.com/paysdk/payments/paykeeper/paykeepertest"
	"github.com/paysdk/payments/payout"
	"github.com/paysdk/payments/payout/popolnipayout"
	"github.com/paysdk/payments/payout/qiwipayout"
	"github.com/paysdk/payments/payout/royalpaypayout"
	"github.com/paysdk/payments/popolni"
	"github.com/paysdk/payments/popolni/popolnitest"
	"github.com/paysdk/payments/qiwitopup"
	"github.com/paysdk/payments/qiwitopup/qiwitopuptest"
	"github.com/paysdk/payments/royalpay"
	"github.com/paysdk/payments/royalpay/royalpaytest"
)

// probePhone is the phone number of the probe's mobile payouts: no span or
// metric may show it either.
const probePhone = "79995550123"

// probeRPPayoutToken is the RoyalPay payout token.
const probeRPPayoutToken = "Probe-RPPayout-6a1d"

// telemetrySecrets are the strings no span and no metric may show.
var telemetrySecrets = []string{
	probePassword, basicToken(probeLogin, probePassword), probePKToken, probeRPToken, probeRPPayoutToken,
	probeBearer, probeSeed, probeCard, probeCardMiddle, probePhone,
}

// lowCardinality are the only attribute keys a metric data point may carry.
var lowCardinality = map[attribute.Key]bool{
	"payments.provider": true, "payments.operation": true, "payments.outcome": true, "payments.refusal.kind": true,
	"payments.reason": true, "payments.result": true, "payments.state": true,
	"http.request.method": true, "http.response.status_code": true, "server.address": true, "error.type": true,
}

// telemetryProbe is an OpenTelemetry SDK recording everything in memory.
type telemetryProbe struct {
	spans  *tracetest.SpanRecorder
	reader *sdkmetric.ManualReader
	opts   []payments.Option
}

func newTelemetryProbe(t *testing.T) *telemetryProbe {
	p := &telemetryProbe{spans: tracetest.NewSpanRecorder(), reader: sdkmetric.NewManualReader()}
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(p.spans))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(p.reader))
	t.Cleanup(func() {
		_ = tp.Shutdown(context.Background())
		_ = mp.Shutdown(context.Background())
	})
	p.opts = []payments.Option{payments.WithTracerProvider(tp), payments.WithMeterProvider(mp)}
	return p
}

// check fails t for every secret in an ended span (its name, attributes,
// events and their attributes, status, links) or in a metric data point's
// attributes, and for every metric attribute outside lowCardinality or
// holding one of refs. It returns the number of spans and data points
// looked at.
func (p *telemetryProbe) check(t *testing.T, secrets, refs []string) (spans, points int) {
	t.Helper()
	for _, s := range p.spans.Ended() {
		var b strings.Builder
		fmt.Fprintf(&b, "span %q status %q %q\n", s.Name(), s.Status().Code, s.Status().Description)
		writeAttrs(&b, s.Attributes())
		for _, e := range s.Events() {
			fmt.Fprintf(&b, "event %q\n", e.Name)
			writeAttrs(&b, e.Attributes)
		}
		for _, l := range s.Links() {
			writeAttrs(&b, l.Attributes)
		}
		assertNoLeak(t, "span "+s.Name(), b.String(), secrets)
		spans++
	}

	var rm metricdata.ResourceMetrics
	if err := p.reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			for _, set := range pointAttrs(t, m) {
				var b strings.Builder
				writeAttrs(&b, set.ToSlice())
				assertNoLeak(t, "metric "+m.Name, b.String(), secrets)
				for _, kv := range set.ToSlice() {
					if !lowCardinality[kv.Key] {
						t.Errorf("metric %s has attribute %s=%s, not a low-cardinality key", m.Name, kv.Key, kv.Value.String())
					}
					for _, ref := range refs {
						if kv.Value.String() == ref {
							t.Errorf("metric %s has the reference %s in %s", m.Name, ref, kv.Key)
						}
					}
				}
				points++
			}
		}
	}
	return spans, points
}

func writeAttrs(b *strings.Builder, kvs []attribute.KeyValue) {
	for _, kv := range kvs {
		fmt.Fprintf(b, "%s=%s\n", kv.Key, kv.Value.String())
	}
}

// pointAttrs are the attribute sets of m's data points, whatever its kind.
func pointAttrs(t *testing.T, m metricdata.Metrics) []attribute.Set {
	var out []attribute.Set
	switch d := m.Data.(type) {
	case metricdata.Sum[int64]:
		for _, p := range d.DataPoints {
			out = append(out, p.Attributes)
		}
	case metricdata.Sum[float64]:
		for _, p := range d.DataPoints {
			out = append(out, p.Attributes)
		}
	case metricdata.Gauge[int64]:
		for _, p := range d.DataPoints {
			out = append(out, p.Attributes)
		}
	case metricdata.Gauge[float64]:
		for _, p := range d.DataPoints {
			out = append(out, p.Attributes)
		}
	case metricdata.Histogram[int64]:
		for _, p := range d.DataPoints {
			out = append(out, p.Attributes)
		}
	case metricdata.Histogram[float64]:
		for _, p := range d.DataPoints {
			out = append(out, p.Attributes)
		}
	case metricdata.ExponentialHistogram[int64]:
		for _, p := range d.DataPoints {
			out = append(out, p.Attributes)
		}
	case metricdata.ExponentialHistogram[float64]:
		for _, p := range d.DataPoints {
			out = append(out, p.Attributes)
		}
	default:
		t.Errorf("metric %s: data of type %T the probe does not read", m.Name, m.Data)
	}
	return out
}

// TestTelemetryOfEchoedRequestsCarriesNoSecret sends every call of the
// echo probe (each provider's write and read, against a server that echoes
// the request, credentials included, in every error form) with telemetry on,
// and looks for the secrets in every span and metric recorded.
func TestTelemetryOfEchoedRequestsCarriesNoSecret(t *testing.T) {
	echo := newEchoServer(t)
	probe := newTelemetryProbe(t)
	for _, m := range echoModes() {
		for _, c := range echoCalls() {
			if !m.tokenOK && c.provider != "paykeeper" {
				continue
			}
			echo.set(m)
			cl, err := c.call(context.Background(), echo.options(c.provider, probe.opts...))
			if cl != nil {
				cl.Close()
			}
			if err == nil {
				t.Fatalf("%s.%s: no error for an echo answered %d", c.provider, c.op, m.status)
			}
		}
	}
	spans, points := probe.check(t, telemetrySecrets, []string{"1000000001", "1001", "301", "order-1"})
	if spans == 0 || points == 0 {
		t.Fatalf("the probe saw %d spans and %d metric points: telemetry did not reach it", spans, points)
	}
}

// TestTelemetryOfTheFakesCarriesNoSecret runs payouts (card and mobile) on
// popolni, QIWI and RoyalPay and pay-ins on PayKeeper and RoyalPay, all
// through their fakes set to the probe's credentials, with telemetry on:
// successes, refusals, lost answers, reads that find nothing, genuine
// notifications and forged ones. No span or metric may show a secret, a
// card number or the phone, and metrics only low-cardinality attributes.
func TestTelemetryOfTheFakesCarriesNoSecret(t *testing.T) {
	ctx := context.Background()
	probe := newTelemetryProbe(t)
	opts := func(base []payments.Option) payments.OpenOption {
		return payments.OpenClientOptions(append(append(base, payments.WithTestTiming()), probe.opts...)...)
	}
	card := payout.Destination{Kind: payout.Card, Account: probeCard}
	mobile := payout.Destination{Kind: payout.Mobile, Account: probePhone}
	rub := func(s string) payments.Money { return payments.MustMoney(s, "RUB") }
	var refs []string
	send := func(c *payout.Client, ref string, amount payments.Money, to payout.Destination) error {
		refs = append(refs, ref)
		_, err := c.Send(ctx, payout.Request{Ref: ref, Amount: amount, To: to})
		return err
	}

	t.Run("popolni", func(t *testing.T) {
		srv := popolnitest.NewServer(popolnitest.WithT(t), popolnitest.WithCredentials(probeLogin, probePassword),
			popolnitest.WithRateLimit(10000), popolnitest.WithStepsPerPoll(2))
		defer srv.Close()
		c, err := payout.Open(ctx, popolnipayout.Scheme+"://",
			payments.OpenCredentials(popolni.Credentials{Login: probeLogin, Password: probePassword}), opts(srv.ClientOptions()))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		mustOK(t, send(c, "1000000101", rub("100.00"), card))
		mustOK(t, send(c, "1000000102", rub("100.00"), mobile))
		_, _ = c.Get(ctx, "1000000101")
		_, _ = c.Get(ctx, "1000000109") // not found
		srv.DropNextOp("pay", 4)        // every attempt's answer lost
		mustFail(t, send(c, "1000000103", rub("100.00"), card), payments.ErrOutcomeUnknown)
		srv.Blacklist(probePhone)
		_ = send(c, "1000000104", rub("100.00"), mobile) // 423: refused
		srv.FailNext(4, http.StatusServiceUnavailable, "Too many requests")
		_ = send(c, "1000000105", rub("100.00"), card)
		srv.FailNext(1, http.StatusUnauthorized, "Incorrect auth data")
		_ = send(c, "1000000106", rub("100.00"), card)
	})

	t.Run("qiwitopup", func(t *testing.T) {
		srv := qiwitopuptest.NewServer(qiwitopuptest.WithT(t), qiwitopuptest.WithTerminalID(probeTerminal),
			qiwitopuptest.WithPassword(probePassword), qiwitopuptest.WithStepsPerPoll(2))
		defer srv.Close()
		c, err := payout.Open(ctx, qiwipayout.Scheme+"://",
			payments.OpenCredentials(qiwitopup.PasswordAuth(probeTerminal, probePassword)), opts(srv.ClientOptions()))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		mustOK(t, send(c, "1000000201", rub("100.00"), card))
		_ = send(c, "1000000202", rub("100.00"), mobile)
		_, _ = c.Get(ctx, "1000000201")
		_, _ = c.Get(ctx, "1000000209") // not found
		srv.DropNextOp("pay", 4)
		_ = send(c, "1000000203", rub("100.00"), card)
		srv.DropNextOp("pay", 0)
		srv.FailNext(4, http.StatusServiceUnavailable, "<html>busy</html>")
		_ = send(c, "1000000204", rub("100.00"), card)
		_ = send(c, "1000000205", rub("99999999.00"), card) // over the fake's limit or balance: refused
	})

	t.Run("royalpay payouts", func(t *testing.T) {
		srv := royalpaytest.NewServer(royalpaytest.WithT(t), royalpaytest.WithToken(probeRPToken),
			royalpaytest.WithPayoutToken(probeRPPayoutToken))
		defer srv.Close()
		c, err := payout.Open(ctx, royalpaypayout.Scheme+"://",
			payments.OpenCredentials(royalpay.Credentials{Token: probeRPToken, PayoutToken: probeRPPayoutToken}), opts(srv.ClientOptions()))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		mustOK(t, send(c, "rp-out-1", rub("500.00"), card))
		_, _ = c.Get(ctx, "rp-out-1")
		_, _ = c.Get(ctx, "rp-out-9")      // not found
		srv.DropNextOp("create_payout", 1) // the driver may find it by its Ref
		_ = send(c, "rp-out-2", rub("500.00"), card)
		srv.FailNext(4, http.StatusServiceUnavailable, `{"error":"busy"}`)
		_ = send(c, "rp-out-3", rub("500.00"), card)
		_ = send(c, "rp-out-4", rub("0.01"), card) // below any minimum: refused
	})

	t.Run("pay-ins and notifications", func(t *testing.T) {
		pkSrv := paykeepertest.NewServer(paykeepertest.WithT(t), paykeepertest.WithCredentials(probeLogin, probePassword),
			paykeepertest.WithNotifications("http://127.0.0.1:1/set-below", probeSeed))
		defer pkSrv.Close()
		pk, err := payin.Open(ctx, paykeeperpayin.Scheme+"://", payments.OpenEnv(envOf(map[string]string{
			paykeeperpayin.EnvURL: pkSrv.URL(), paykeeperpayin.EnvUser: probeLogin,
			paykeeperpayin.EnvPassword: probePassword, paykeeperpayin.EnvSecret: probeSeed,
		})), opts(pkSrv.ClientOptions()))
		if err != nil {
			t.Fatal(err)
		}
		defer pk.Close()
		rpSrv := royalpaytest.NewServer(royalpaytest.WithT(t), royalpaytest.WithToken(probeRPToken), royalpaytest.WithCallbackToken(probeBearer))
		defer rpSrv.Close()
		rp, err := payin.Open(ctx, royalpaypayin.Scheme+"://", payments.OpenEnv(envOf(map[string]string{
			royalpaypayin.EnvURL: rpSrv.URL(), royalpaypayin.EnvToken: probeRPToken, royalpaypayin.EnvCallbackToken: probeBearer,
		})), opts(rpSrv.ClientOptions()))
		if err != nil {
			t.Fatal(err)
		}
		defer rp.Close()

		events := make(chan payin.Event, 8)
		h, err := payin.NewHandler(func(_ context.Context, e payin.Event) error { events <- e; return nil }, pk, rp)
		if err != nil {
			t.Fatal(err)
		}
		hs := httptest.NewServer(h)
		defer hs.Close()
		pkSrv.SetSetting("informer_url", hs.URL+"/paykeeper")

		refs = append(refs, "A-2001", "A-2002", "ORD-3001", "ORD-3002")
		co, err := pk.Create(ctx, payin.Request{OrderRef: "A-2001", Amount: rub("990.00"), Description: "probe",
			Customer: payin.Customer{Name: "Probe", Email: "probe@example.com", Phone: "+" + probePhone}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := pkSrv.PayInvoice(co.ID); err != nil {
			t.Fatal(err)
		}
		<-events // genuine, confirmed through the API
		pkSrv.DropNextOp("invoice-preview", 4)
		_, _ = pk.Create(ctx, payin.Request{OrderRef: "A-2002", Amount: rub("990.00")}) // lost answer
		pkSrv.DropNextOp("invoice-preview", 0)
		_, _ = pk.Get(ctx, "999999") // not found

		rco, err := rp.Create(ctx, payin.Request{OrderRef: "ORD-3001", Amount: rub("1500.00"), Method: payin.SBP, Bank: "Tinkoff",
			CallbackURL: hs.URL + "/royalpay"})
		if err != nil {
			t.Fatal(err)
		}
		id, _ := strconv.ParseInt(rco.ID, 10, 64)
		if _, err := rpSrv.Complete(id); err != nil {
			t.Fatal(err)
		}
		<-events
		rpSrv.FailNext(4, http.StatusServiceUnavailable, `{"error":"busy"}`)
		_, _ = rp.Create(ctx, payin.Request{OrderRef: "ORD-3002", Amount: rub("1500.00"), Method: payin.SBP, Bank: "Tinkoff"})

		// Forged: a PayKeeper notification signed without the secret, with
		// a card number in it, and a RoyalPay callback with a wrong bearer
		// token that contains the right one.
		form := url.Values{"id": {"301"}, "sum": {"100.00"}, "clientid": {"Probe"}, "orderid": {"A-2001"},
			"key": {"0123456789abcdef0123456789abcdef"}, "card_number": {probeCard}, "client_phone": {probePhone}}
		post(t, hs.URL+"/paykeeper", "application/x-www-form-urlencoded", form.Encode(), "")
		post(t, hs.URL+"/royalpay", "application/json", `{"id":`+rco.ID+`,"status":"completed","sum":"1500.00"}`, "Bearer "+probeBearer+"-forged")
		post(t, hs.URL+"/royalpay", "application/json", `{"id":`+rco.ID+`,"status":"completed","sum":"1500.00"}`, "Basic "+basicToken(probeLogin, probePassword))
	})

	spans, points := probe.check(t, telemetrySecrets, refs)
	if spans == 0 || points == 0 {
		t.Fatalf("the probe saw %d spans and %d metric points: telemetry did not reach it", spans, points)
	}
	// Each provider's operations reached the probe.
	seen := map[string]bool{}
	for _, s := range probe.spans.Ended() {
		for _, kv := range s.Attributes() {
			if kv.Key == "payments.provider" {
				seen[kv.Value.AsString()] = true
			}
		}
	}
	for _, p := range []string{"popolni", "qiwitopup", "paykeeper", "royalpay"} {
		if !seen[p] {
			t.Errorf("no span of %s reached the probe (saw %v)", p, seen)
		}
	}
}

// post sends a forged notification and expects it refused.
func post(t *testing.T, u, contentType, body, authorization string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, u, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", contentType)
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode == http.StatusOK {
		t.Errorf("a forged notification to %s was accepted", u)
	}
}

func envOf(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func mustOK(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func mustFail(t *testing.T, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("got %v, want %v", err, want)
	}
}
