// Command observability runs a small payout batch and a few pay-ins on the
// embedded fake servers with OpenTelemetry turned on, and shows what an
// on-call engineer would look at: the spans of every operation, ledger step
// and notification, and the payments_* metrics in Prometheus's text format.
//
//	go run ./examples/observability                  # run, print the metric counts, exit
//	go run ./examples/observability -serve           # and keep serving /metrics until ^C
//	go run ./examples/observability -traces -        # spans on stdout instead of a file
//
// What it does, on the fakes only (no variable of the provider examples is
// read, no real provider is called):
//
//   - pays three payouts through popolni.club with the payout ledger (package
//     ledger, on an SQLite store in a temporary folder); the first request
//     that pays loses its answer (the fake processes it, then drops the
//     connection, on every attempt), so that payout is outcome-unknown until
//     the ledger's status poll settles it as succeeded;
//   - pays one payout to a number the fake blacklists: refused, failed;
//   - takes three pay-ins (two PayKeeper invoices, one RoyalPay SBP payment),
//     each notified by the fake to one payin.NewHandler and confirmed through
//     the provider's API, and posts one forged PayKeeper notification (a bad
//     signature), which the handler refuses without calling any API.
//
// OpenTelemetry is set up the way an application does it: a tracer provider
// (go.opentelemetry.io/otel/sdk/trace) exporting with stdouttrace, one JSON
// span a line, to the file -traces (default a new file in the temporary
// folder, named at the end; "-" for stdout), and a meter provider
// (go.opentelemetry.io/otel/sdk/metric) read by the Prometheus exporter
// (go.opentelemetry.io/otel/exporters/prometheus), served at /metrics on
// -listen (default 127.0.0.1:0, a free port). The providers go to the
// clients explicitly (payments.WithTracerProvider, WithMeterProvider) and
// are also set as the global ones (otel.SetTracerProvider,
// SetMeterProvider), which the ledger and the notification handlers use
// when they are given none. A library never sets the globals; an
// application may.
//
// Without -serve the command scrapes its own /metrics once at the end and
// prints the payments_* lines whose values do not depend on timing
// (counters and the counts of histograms, without the status polls, whose
// number depends on how fast the fake moves), sorted, and exits 0. With
// -serve it prints the same, then serves /metrics until interrupted.
//
// The fakes' credentials never reach a span, a metric or a log line; the
// module's secret probe (secrets_test.go) checks that for every provider.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	"go.opentelemetry.io/otel/exporters/stdout/stdouttrace"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/ledger"
	"github.com/paysdk/payments/ledger/sqlitestore"
	"github.com/paysdk/payments/payin"
	"github.com/paysdk/payments/payin/paykeeperpayin"
	"github.com/paysdk/payments/payin/royalpaypayin"
	"github.com/paysdk/payments/paykeeper/paykeepertest"
	"github.com/paysdk/payments/payout"
	"github.com/paysdk/payments/payout/popolnipayout"
	"github.com/paysdk/payments/popolni"
	"github.com/paysdk/payments/popolni/popolnitest"
	"github.com/paysdk/payments/royalpay/royalpaytest"
)

// config is what the flags set.
type config struct {
	traces string // file for the spans; "" a new temporary file, "-" stdout
	listen string // address of /metrics
	serve  bool   // keep serving /metrics until ctx ends
}

func main() {
	var cfg config
	flag.StringVar(&cfg.traces, "traces", "", `file the spans are written to, one JSON span a line (default: a new file in the temporary folder; "-": stdout)`)
	flag.StringVar(&cfg.listen, "listen", "127.0.0.1:0", "address the Prometheus /metrics endpoint listens on")
	flag.BoolVar(&cfg.serve, "serve", false, "keep serving /metrics after the demo until interrupted")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Stdout, os.Stderr, cfg); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}

// run runs the demo, printing what happened and the deterministic metric
// lines to out and what varies from run to run (addresses, file names, the
// ledger's errors as they happen) to info.
func run(ctx context.Context, out, info io.Writer, cfg config) (err error) {
	// Traces: every span, one JSON object a line, to the file or stdout.
	traceOut := out
	tracePath := "stdout"
	if cfg.traces != "-" {
		var f *os.File
		if cfg.traces == "" {
			f, err = os.CreateTemp("", "payments-traces-*.jsonl")
		} else {
			f, err = os.Create(cfg.traces)
		}
		if err != nil {
			return err
		}
		defer f.Close()
		traceOut, tracePath = f, f.Name()
	}
	spanExporter, err := stdouttrace.New(stdouttrace.WithWriter(traceOut))
	if err != nil {
		return err
	}
	res := resource.NewSchemaless(attribute.String("service.name", "payments-observability-example"))
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(spanExporter), sdktrace.WithResource(res))
	defer func() {
		// Shutdown flushes the spans still batched: the file is complete
		// once run returns.
		if e := tp.Shutdown(context.WithoutCancel(ctx)); e != nil && err == nil {
			err = e
		}
	}()

	// Metrics: the Prometheus exporter is a reader of the meter provider;
	// its own registry, served at /metrics.
	reg := prometheus.NewRegistry()
	metricReader, err := otelprom.New(otelprom.WithRegisterer(reg), otelprom.WithoutScopeInfo())
	if err != nil {
		return err
	}
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(metricReader), sdkmetric.WithResource(res))
	defer func() { _ = mp.Shutdown(context.WithoutCancel(ctx)) }()

	// The clients take the providers explicitly. The ledger and the
	// notification handlers use the global providers unless given theirs
	// (ledger.Options.TracerProvider / MeterProvider, the handlers'
	// fields), so the application sets the globals too. A library never
	// does; an application may, once, at start.
	otel.SetTracerProvider(tp)
	otel.SetMeterProvider(mp)
	tel := []payments.Option{payments.WithTracerProvider(tp), payments.WithMeterProvider(mp)}

	ln, err := net.Listen("tcp", cfg.listen)
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	metricsServer := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = metricsServer.Serve(ln) }()
	defer metricsServer.Close()
	metricsURL := "http://" + ln.Addr().String() + "/metrics"
	fmt.Fprintln(info, "metrics:", metricsURL)

	dir, err := os.MkdirTemp("", "payments-observability")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	store, err := sqlitestore.Open(ctx, filepath.Join(dir, "payments.db"), sqlitestore.Exclusive())
	if err != nil {
		return err
	}
	defer store.Close()

	// The demo's own HTTP client (the forged notification, the scrape),
	// whose connections are closed when run returns.
	httpc := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 30 * time.Second}

	if err := payouts(ctx, out, info, store, tel); err != nil {
		return err
	}
	if err := payins(ctx, out, httpc, store, tel); err != nil {
		return err
	}

	lines, err := scrape(ctx, httpc, metricsURL)
	if err != nil {
		return err
	}
	fmt.Fprintln(out, "metrics (the counts that do not depend on timing):")
	for _, l := range lines {
		fmt.Fprintln(out, l)
	}
	fmt.Fprintln(info, "traces:", tracePath)
	if cfg.serve {
		fmt.Fprintln(info, "serving", metricsURL, "until interrupted")
		<-ctx.Done()
	}
	return nil
}

// The demo's payouts: three to pay, one to a number the fake blacklists.
var (
	batch = []payout.Request{
		{Ref: "1000000001", Amount: payments.MustMoney("150.00", "RUB"), To: payout.Destination{Kind: payout.Mobile, Account: "79161234501"}},
		{Ref: "1000000002", Amount: payments.MustMoney("250.00", "RUB"), To: payout.Destination{Kind: payout.Mobile, Account: "79161234502"}},
		{Ref: "1000000003", Amount: payments.MustMoney("350.00", "RUB"), To: payout.Destination{Kind: payout.Mobile, Account: "79161234503"}},
	}
	blacklisted = payout.Request{Ref: "1000000004", Amount: payments.MustMoney("450.00", "RUB"),
		To: payout.Destination{Kind: payout.Mobile, Account: "79161234504"}}
)

// payouts pays the batch through the ledger on popolni's fake, the first
// pay losing its answer, then the payout the fake refuses.
func payouts(ctx context.Context, out, info io.Writer, store ledger.Store, tel []payments.Option) error {
	srv := popolnitest.NewServer(popolnitest.WithRateLimit(1000), popolnitest.WithStepsPerPoll(2))
	defer srv.Close()
	srv.Blacklist(blacklisted.To.Account)
	opts := append(srv.ClientOptions(), tel...)
	// Two attempts a request, 20 ms apart, 20 requests a second: quick, and
	// the limiter's waits still show in payments.limiter.wait.duration.
	opts = append(opts, payments.WithRetry(payments.RetryPolicy{MaxAttempts: 2, BaseDelay: 20 * time.Millisecond, MaxDelay: 100 * time.Millisecond}),
		payments.WithRateLimit(20, 2))
	client, err := payout.Open(ctx, popolnipayout.Scheme+"://",
		payments.OpenCredentials(popolni.Credentials{Login: srv.Login(), Password: srv.Password()}),
		payments.OpenClientOptions(opts...))
	if err != nil {
		return err
	}
	defer client.Close()

	finals := make(chan ledger.Record, len(batch)+1)
	l, err := ledger.New(store, ledger.Options{
		PollInterval: 20 * time.Millisecond,
		Backoff:      20 * time.Millisecond,
		// One send at a time, so the lost answers below are both attempts
		// of the same pay request.
		Sends:   1,
		OnError: func(err error) { fmt.Fprintln(info, "ledger:", payments.MaskPAN(err.Error())) },
		OnFinal: func(_ context.Context, r ledger.Record) error {
			finals <- r
			return nil
		},
	}, client)
	if err != nil {
		return err
	}
	runCtx, stop := context.WithCancel(ctx)
	ran := make(chan error, 1)
	go func() { ran <- l.Run(runCtx) }()
	defer func() {
		stop()
		<-ran
	}()

	// The first pay request is processed by popolni and its answer lost,
	// on both attempts: the payout is outcome-unknown until the ledger asks
	// its status.
	srv.DropNextOp("pay", 2)
	if _, err := l.Submit(ctx, batch...); err != nil {
		return err
	}
	if err := await(ctx, finals, len(batch), out); err != nil {
		return err
	}
	if _, err := l.Submit(ctx, blacklisted); err != nil {
		return err
	}
	return await(ctx, finals, 1, out)
}

// await prints n final records from finals, sorted by Ref.
func await(ctx context.Context, finals <-chan ledger.Record, n int, out io.Writer) error {
	timer := time.NewTimer(30 * time.Second)
	defer timer.Stop()
	var lines []string
	for len(lines) < n {
		select {
		case r := <-finals:
			lines = append(lines, "payout "+r.String())
		case <-timer.C:
			return fmt.Errorf("%d of %d payouts final after 30 s", len(lines), n)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	slices.Sort(lines)
	for _, l := range lines {
		fmt.Fprintln(out, l)
	}
	return nil
}

// The fakes' notification secrets.
const (
	payKeeperSecret = "demo-informer-seed"
	royalPayBearer  = "demo-callback-token"
)

// payins takes two PayKeeper pay-ins and a RoyalPay one through one
// notification handler, and posts it a forged PayKeeper notification.
func payins(ctx context.Context, out io.Writer, httpc *http.Client, store ledger.Store, tel []payments.Option) error {
	pkSrv := paykeepertest.NewServer(paykeepertest.WithNotifications("http://127.0.0.1:1/set-below", payKeeperSecret))
	defer pkSrv.Close()
	pk, err := payin.Open(ctx, paykeeperpayin.Scheme+"://", env(map[string]string{
		paykeeperpayin.EnvURL: pkSrv.URL(), paykeeperpayin.EnvUser: paykeepertest.DefaultUser,
		paykeeperpayin.EnvPassword: paykeepertest.DefaultPassword, paykeeperpayin.EnvSecret: payKeeperSecret,
	}), payments.OpenClientOptions(append(pkSrv.ClientOptions(), tel...)...))
	if err != nil {
		return err
	}
	defer pk.Close()
	rpSrv := royalpaytest.NewServer(royalpaytest.WithCallbackToken(royalPayBearer))
	defer rpSrv.Close()
	rp, err := payin.Open(ctx, royalpaypayin.Scheme+"://", env(map[string]string{
		royalpaypayin.EnvURL: rpSrv.URL(), royalpaypayin.EnvToken: rpSrv.Token(), royalpaypayin.EnvCallbackToken: royalPayBearer,
	}), payments.OpenClientOptions(append(rpSrv.ClientOptions(), tel...)...))
	if err != nil {
		return err
	}
	defer rp.Close()

	// Each confirmed notification is recorded once in the store before the
	// provider is acknowledged (ledger.Notifications), then handed here.
	var mu sync.Mutex
	var events []string
	got := make(chan struct{}, 8)
	handler, err := payin.NewHandler(ledger.Notifications(store, func(_ context.Context, e payin.Event) error {
		mu.Lock()
		events = append(events, fmt.Sprintf("notification %s %s: %s %s, confirmed by the API", e.Provider, e.OrderRef, e.State, e.Amount))
		mu.Unlock()
		got <- struct{}{}
		return nil
	}), pk, rp)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.Handle("/notify/", handler)
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = hs.Serve(ln) }()
	defer hs.Close()
	notify := "http://" + ln.Addr().String() + "/notify/"
	pkSrv.SetSetting("informer_url", notify+"paykeeper")

	for _, r := range []payin.Request{
		{OrderRef: "A-1001", Amount: payments.MustMoney("990.00", "RUB"), Description: "Подписка",
			Customer: payin.Customer{Name: "Иванов Иван", Email: "ivanov@example.com"}},
		{OrderRef: "A-1002", Amount: payments.MustMoney("1990.00", "RUB"), Description: "Подписка на год",
			Customer: payin.Customer{Name: "Петров Пётр", Email: "petrov@example.com"}},
	} {
		co, err := pk.Create(ctx, r)
		if err != nil {
			return err
		}
		if _, err := pkSrv.PayInvoice(co.ID); err != nil {
			return err
		}
	}
	co, err := rp.Create(ctx, payin.Request{OrderRef: "ORD-982134", Amount: payments.MustMoney("1500.00", "RUB"),
		Method: payin.SBP, Bank: "Tinkoff", CallbackURL: notify + "royalpay"})
	if err != nil {
		return err
	}
	id, err := strconv.ParseInt(co.ID, 10, 64)
	if err != nil {
		return err
	}
	if _, err := rpSrv.Complete(id); err != nil {
		return err
	}
	timer := time.NewTimer(30 * time.Second)
	defer timer.Stop()
	for range 3 {
		select {
		case <-got:
		case <-timer.C:
			return errors.New("a notification did not arrive from the fakes")
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	mu.Lock()
	slices.Sort(events)
	for _, e := range events {
		fmt.Fprintln(out, e)
	}
	mu.Unlock()

	// A forged notification: a genuine-looking payment whose signature was
	// made without the secret. The handler refuses it before any API call.
	form := url.Values{"id": {"999"}, "sum": {"100000.00"}, "clientid": {"Мошенник"}, "orderid": {"A-1001"},
		"key": {"00000000000000000000000000000000"}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, notify+"paykeeper", strings.NewReader(form.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := httpc.Do(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	fmt.Fprintln(out, "forged notification paykeeper A-1001:", resp.Status)
	if resp.StatusCode == http.StatusOK {
		return errors.New("the forged notification was accepted")
	}
	return nil
}

// env is an OpenEnv of exactly m.
func env(m map[string]string) payments.OpenOption {
	return payments.OpenEnv(func(k string) (string, bool) { v, ok := m[k]; return v, ok })
}

// scrape reads metricsURL once and returns its deterministic payments_*
// lines, sorted.
func scrape(ctx context.Context, httpc *http.Client, metricsURL string) ([]string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, metricsURL, nil)
	if err != nil {
		return nil, err
	}
	resp, err := httpc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET /metrics: %s", resp.Status)
	}
	var lines []string
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if deterministic(sc.Text()) {
			lines = append(lines, sc.Text())
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	slices.Sort(lines)
	return lines, nil
}

// deterministic tells whether a line of the Prometheus text format is a
// payments_* sample whose value does not depend on timing: a counter, or
// the count of a histogram, and not of a status poll (the ledger polls as
// often as the fake takes to move). Durations (_sum, _bucket), the limiter
// wait's count (one per attempt, polls included) and the ledger's ages and
// gauges read from the store (refreshed on their own clock) are left out.
func deterministic(line string) bool {
	if !strings.HasPrefix(line, "payments_") {
		return false
	}
	name, _, _ := strings.Cut(line, "{")
	name, _, _ = strings.Cut(name, " ")
	switch {
	case strings.HasPrefix(name, "payments_limiter_"):
		return false
	case strings.HasSuffix(name, "_total"), strings.HasSuffix(name, "_count"):
	default:
		return false
	}
	return !strings.Contains(line, `payments_operation="status"`)
}
