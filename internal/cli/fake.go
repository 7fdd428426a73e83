package cli

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/paykeeper/paykeepertest"
	"github.com/paysdk/payments/popolni/popolnitest"
	"github.com/paysdk/payments/qiwitopup/qiwitopuptest"
	"github.com/paysdk/payments/royalpay/royalpaytest"
)

// fakeProviders are the fakes "payments fake" serves, in the order their
// ports are given.
var fakeProviders = []string{"popolni", "qiwitopup", "paykeeper", "royalpay"}

// fakeControlPrefix is the path of the fakes' control API
// (fakeserver.ControlPrefix; the command layer does not import the fakes'
// kit).
const fakeControlPrefix = "/_fake/"

// defaultFakeBalance is the balance the fakes start with: generous, so a
// test run never runs dry by accident.
const defaultFakeBalance = "1000000.00"

type fakeFlags struct {
	host      string
	port      int
	caFile    string
	envOut    string
	balance   string
	notifyURL string
}

// fakeCommand is "payments fake": the SDK's provider fakes served over
// real TLS until interrupted, and "payments fake control" to drive them.
func (a *app) fakeCommand() *cobra.Command {
	f := &fakeFlags{}
	c := &cobra.Command{
		Use:   "fake [PROVIDER...|all]",
		Short: "Serve the SDK's fake providers over real TLS for integration tests (and drive them: fake control)",
		Long: `Serve the SDK's fake providers (popolni, qiwitopup, paykeeper, royalpay; all
by default) over real TLS until interrupted (Ctrl-C, SIGTERM), for the
merchant's integration tests and for teams in other languages: the fakes
of popolnitest, qiwitopuptest, paykeepertest and royalpaytest, which the
SDK's own tests use.

Each fake gets its own port (--port N gives N, N+1, ... in the order
popolni, qiwitopup, paykeeper, royalpay; 0, the default, any free ports)
and a certificate for 127.0.0.1 and localhost from its own test CA; the
CAs go to one PEM bundle (--ca-file). Once every fake listens, the
command writes --env-out last (mode 0600, atomically, so a script can
wait for it): every variable the drivers read to reach the fakes, with
credentials made for this run, plus PAYMENTS_CA_FILE, SSL_CERT_FILE and
PAYMENTS_FAKE_<PROVIDER>_URL (the fake's root, for its control API) and
PAYMENTS_FAKE_<PROVIDER>_PORT. The
credentials are only in that file, never printed:

  payments fake &
  payments --env-file payments-fake.env balance popolni://

Every fake also answers a control API under /_fake/ on its port: JSON
in, JSON out (see docs/fakes.md, and "payments fake control").`,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.runFake(cmd.Context(), f, args)
		},
	}
	fl := c.Flags()
	fl.StringVar(&f.host, "host", "127.0.0.1", "listen on `HOST` (the certificates cover 127.0.0.1 and localhost only)")
	fl.IntVar(&f.port, "port", 0, "the first `PORT`; each further provider gets the next (0: any free ports)")
	fl.StringVar(&f.caFile, "ca-file", "payments-fake-ca.pem", "write the fakes' CA bundle to `PATH`")
	fl.StringVar(&f.envOut, "env-out", "payments-fake.env", "write the KEY=VALUE env file (with the credentials) to `PATH`")
	fl.StringVar(&f.balance, "balance", defaultFakeBalance, "the starting balance in roubles (popolni, qiwitopup, royalpay)")
	fl.StringVar(&f.notifyURL, "notify-url", "", "where the fakes POST notifications: PayKeeper's informer, RoyalPay's payout callbacks (`URL`)")
	c.AddCommand(a.fakeControlCommand())
	return c
}

// runningFake is one fake being served.
type runningFake struct {
	provider string
	root     string // https://127.0.0.1:PORT
	url      string // the API URL the driver takes
	port     int
	caPEM    []byte
	env      []envVar
	close    func()
}

type envVar struct {
	key, value string
	secret     bool
}

// fakeEntry is one fake in the command's output.
type fakeEntry struct {
	Provider   string `json:"provider"`
	URL        string `json:"url"`
	ControlURL string `json:"control_url"`
	Port       int    `json:"port"`
}

// fakeReport is the command's output (--json): never a credential.
type fakeReport struct {
	Fakes   []fakeEntry       `json:"fakes"`
	CAFile  string            `json:"ca_file"`
	EnvFile string            `json:"env_file"`
	Env     map[string]string `json:"env"`
}

func (a *app) runFake(ctx context.Context, f *fakeFlags, args []string) error {
	providers, err := fakeSelection(args)
	if err != nil {
		return err
	}
	if f.port < 0 || f.port > 0 && f.port+len(providers)-1 > 65535 {
		return usageError("--port: %d is not a port for %d fakes (0 for any free ports)", f.port, len(providers))
	}
	if f.host == "" {
		return usageError("--host: empty")
	}
	kopecks, err := payments.ParseMinor(f.balance, 2)
	if err != nil || kopecks < 0 {
		return usageError("--balance: %q is not an amount in roubles with at most 2 decimals", f.balance)
	}
	if f.notifyURL != "" {
		u, err := url.Parse(f.notifyURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return usageError("--notify-url: not an http:// or https:// URL")
		}
	}
	if f.caFile == "" || f.envOut == "" {
		return usageError("--ca-file and --env-out need a path")
	}
	caPath, err := filepath.Abs(f.caFile)
	if err != nil {
		return usageError("--ca-file: %v", err)
	}
	envPath, err := filepath.Abs(f.envOut)
	if err != nil {
		return usageError("--env-out: %v", err)
	}
	// A file of an earlier run must not be taken for this run's.
	if err := os.Remove(envPath); err != nil && !errors.Is(err, os.ErrNotExist) {
		return withCode(ExitError, fmt.Errorf("--env-out: %w", err))
	}

	var fakes []*runningFake
	defer func() {
		for _, rf := range fakes {
			rf.close()
		}
	}()
	for i, p := range providers {
		port := 0
		if f.port > 0 {
			port = f.port + i
		}
		rf, err := startFake(p, net.JoinHostPort(f.host, strconv.Itoa(port)), urlHost(f.host), kopecks, f.notifyURL)
		if err != nil {
			return withCode(ExitError, err)
		}
		fakes = append(fakes, rf)
	}

	var bundle bytes.Buffer
	for _, rf := range fakes {
		bundle.Write(rf.caPEM)
	}
	if err := writeFileAtomic(caPath, bundle.Bytes(), 0o644); err != nil {
		return withCode(ExitError, fmt.Errorf("--ca-file: %w", err))
	}

	report := fakeReport{CAFile: caPath, EnvFile: envPath, Env: map[string]string{}}
	var envText strings.Builder
	fmt.Fprintf(&envText, "# payments fake: %s; the credentials are made for this run only\n", strings.Join(providers, " "))
	add := func(v envVar) {
		fmt.Fprintf(&envText, "%s=%s\n", v.key, envQuote(v.value))
		if !v.secret {
			report.Env[v.key] = v.value
		}
	}
	for _, rf := range fakes {
		report.Fakes = append(report.Fakes, fakeEntry{Provider: rf.provider, URL: rf.url, ControlURL: rf.root + fakeControlPrefix, Port: rf.port})
		for _, v := range rf.env {
			add(v)
		}
		add(envVar{key: fakeURLVar(rf.provider), value: rf.root})
		add(envVar{key: strings.TrimSuffix(fakeURLVar(rf.provider), "_URL") + "_PORT", value: strconv.Itoa(rf.port)})
	}
	add(envVar{key: envCAFile, value: caPath})
	add(envVar{key: "SSL_CERT_FILE", value: caPath})

	if err := a.emit(report, func(w io.Writer) {
		row(w, "PROVIDER", "URL", "CONTROL")
		for _, e := range report.Fakes {
			row(w, e.Provider, e.URL, e.ControlURL)
		}
		fmt.Fprintf(w, "\nCA bundle: %s\n", caPath)
		keys := make([]string, 0, len(report.Env))
		for k := range report.Env {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			fmt.Fprintf(w, "export %s=%s\n", k, shellQuote(report.Env[k]))
		}
	}); err != nil {
		return err
	}
	a.say("credentials: in %s (payments --env-file %s ...)", f.envOut, f.envOut)
	// Last, once every fake listens: a script waits for this file.
	if err := writeFileAtomic(envPath, []byte(envText.String()), 0o600); err != nil {
		return withCode(ExitError, fmt.Errorf("--env-out: %w", err))
	}
	a.say("serving until interrupted (Ctrl-C)")
	a.flush()
	<-ctx.Done()
	return nil
}

// fakeSelection is the providers named by args (all of them for none or
// "all"), in port order, each once.
func fakeSelection(args []string) ([]string, error) {
	want := map[string]bool{}
	for _, a := range args {
		switch {
		case a == "all":
			for _, p := range fakeProviders {
				want[p] = true
			}
		case slices.Contains(fakeProviders, a):
			want[a] = true
		default:
			return nil, usageError("no fake %q: the fakes are %s, or all", a, strings.Join(fakeProviders, ", "))
		}
	}
	var out []string
	for _, p := range fakeProviders {
		if want[p] || len(args) == 0 {
			out = append(out, p)
		}
	}
	return out, nil
}

// urlHost is the host the URLs name for the listening host: 127.0.0.1 for
// an unspecified address (the certificates cover it).
func urlHost(host string) string {
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		return "127.0.0.1"
	}
	return host
}

func fakeURLVar(provider string) string {
	return "PAYMENTS_FAKE_" + strings.ToUpper(provider) + "_URL"
}

// startFake starts the fake of provider on addr. The fakes' constructors
// panic when they cannot listen (as httptest.NewServer does); that panic
// is this error.
func startFake(provider, addr, host string, kopecks int64, notifyURL string) (rf *runningFake, err error) {
	defer func() {
		if p := recover(); p != nil {
			rf = nil
			// The panic value of a listener that cannot be made wraps the
			// *net.OpError of net.Listen.
			var oe *net.OpError
			if e, ok := p.(error); ok && errors.As(e, &oe) {
				err = fmt.Errorf("fake %s: cannot listen on %s: %v", provider, addr, oe.Err)
				return
			}
			err = fmt.Errorf("fake %s: %v", provider, p)
		}
	}()
	amount := payments.FormatMinor(kopecks, 2)
	rf = &runningFake{provider: provider}
	var srvAddr string
	switch provider {
	case "popolni":
		login, pw := "partner-"+randomHex(4), randomHex(16)
		s := popolnitest.NewServer(popolnitest.WithAddr(addr), popolnitest.WithCredentials(login, pw),
			popolnitest.WithBalance(kopecks, 0))
		srvAddr, rf.caPEM, rf.close = s.Addr(), s.CACertPEM(), s.Close
		rf.root = "https://" + net.JoinHostPort(host, portOf(srvAddr))
		rf.url = rf.root + "/api"
		rf.env = []envVar{{key: "POPOLNI_URL", value: rf.url}, {key: "POPOLNI_LOGIN", value: login, secret: true},
			{key: "POPOLNI_PASSWORD", value: pw, secret: true}}
	case "qiwitopup":
		term, pw := randomDigits(8), randomHex(16)
		s := qiwitopuptest.NewServer(qiwitopuptest.WithAddr(addr), qiwitopuptest.WithTerminalID(term),
			qiwitopuptest.WithPassword(pw), qiwitopuptest.WithBalance(qiwitopuptest.DefaultCurrency, amount))
		srvAddr, rf.caPEM, rf.close = s.Addr(), s.CACertPEM(), s.Close
		rf.root = "https://" + net.JoinHostPort(host, portOf(srvAddr))
		rf.url = rf.root + qiwitopuptest.PathTopup
		rf.env = []envVar{{key: "QIWI_URL", value: rf.url}, {key: "QIWI_TERMINAL_ID", value: term, secret: true},
			{key: "QIWI_PASSWORD", value: pw, secret: true}}
	case "paykeeper":
		user, pw, secret := "merchant-"+randomHex(4), randomHex(16), randomHex(16)
		opts := []paykeepertest.Option{paykeepertest.WithAddr(addr), paykeepertest.WithCredentials(user, pw)}
		if notifyURL != "" {
			opts = append(opts, paykeepertest.WithNotifications(notifyURL, secret))
		}
		s := paykeepertest.NewServer(opts...)
		if notifyURL == "" {
			s.SetSetting("informer_seed", secret)
		}
		srvAddr, rf.caPEM, rf.close = s.Addr(), s.CACertPEM(), s.Close
		rf.root = "https://" + net.JoinHostPort(host, portOf(srvAddr))
		rf.url = rf.root
		rf.env = []envVar{{key: "PAYKEEPER_URL", value: rf.url}, {key: "PAYKEEPER_USER", value: user, secret: true},
			{key: "PAYKEEPER_PASSWORD", value: pw, secret: true}, {key: "PAYKEEPER_SECRET", value: secret, secret: true}}
	case "royalpay":
		tok, ptok, cbtok := randomHex(20), randomHex(20), randomHex(20)
		opts := []royalpaytest.Option{royalpaytest.WithAddr(addr), royalpaytest.WithToken(tok),
			royalpaytest.WithPayoutToken(ptok), royalpaytest.WithCallbackToken(cbtok), royalpaytest.WithBalance(amount)}
		if notifyURL != "" {
			opts = append(opts, royalpaytest.WithPayoutCallbackURL(notifyURL))
		}
		s := royalpaytest.NewServer(opts...)
		srvAddr, rf.caPEM, rf.close = s.Addr(), s.CACertPEM(), s.Close
		rf.root = "https://" + net.JoinHostPort(host, portOf(srvAddr))
		rf.url = rf.root
		rf.env = []envVar{{key: "ROYALPAY_URL", value: rf.url}, {key: "ROYALPAY_PAYOUT_URL", value: rf.url},
			{key: "ROYALPAY_TOKEN", value: tok, secret: true}, {key: "ROYALPAY_PAYOUT_TOKEN", value: ptok, secret: true},
			{key: "ROYALPAY_CALLBACK_TOKEN", value: cbtok, secret: true}}
	default:
		return nil, usageError("no fake %q", provider)
	}
	rf.port, _ = strconv.Atoi(portOf(srvAddr))
	return rf, nil
}

func portOf(addr string) string {
	_, port, _ := net.SplitHostPort(addr)
	return port
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24 and later)
	return hex.EncodeToString(b)
}

func randomDigits(n int) string {
	var b strings.Builder
	for i := range n {
		max := int64(10)
		if i == 0 {
			max = 9 // no leading zero
		}
		d, _ := rand.Int(rand.Reader, big.NewInt(max))
		if i == 0 {
			d.Add(d, big.NewInt(1))
		}
		b.WriteString(d.String())
	}
	return b.String()
}

// envQuote writes a value for an env file: as it is when it holds only
// characters every reader takes, else double-quoted.
func envQuote(v string) string {
	for _, c := range v {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("_-.:/@+,%=", c)) {
			return strconv.Quote(v)
		}
	}
	return v
}

// shellQuote quotes v for a POSIX shell when it needs it.
func shellQuote(v string) string {
	if envQuote(v) == v {
		return v
	}
	return "'" + strings.ReplaceAll(v, "'", `'\''`) + "'"
}

// writeFileAtomic writes data to path through a temporary file in the same
// directory and a rename, so a reader sees either no file or all of it.
func writeFileAtomic(path string, data []byte, mode os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // a no-op once renamed
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// maxControlAnswer caps a control API answer read by "fake control".
const maxControlAnswer = 8 << 20

func (a *app) fakeControlCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "control PROVIDER [OP [KEY=VALUE...]]",
		Short: "Call a running fake's control API: complete a payment, lose the next answer, list the payments...",
		Long: `Call the control API of a fake started by "payments fake" (the "stripe
trigger" of this tool): POST /_fake/OP with the KEY=VALUE parameters as a
JSON object, and print the answer as a table, or as JSON with --json.
Without OP it lists the fake's operations and their parameters.

The fake's root comes from PAYMENTS_FAKE_<PROVIDER>_URL and its CA from
PAYMENTS_CA_FILE, both in the env file the fake wrote:

  payments --env-file payments-fake.env fake control popolni payments
  payments --env-file payments-fake.env fake control popolni complete id=1001
  payments --env-file payments-fake.env fake control royalpay drop_next_op op=payout_create

Exit status: 2 when the fake refuses the parameters, 5 when it knows no
such operation or object, 1 when it cannot be reached.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.runFakeControl(cmd.Context(), args[0], args[1:])
		},
	}
}

func (a *app) runFakeControl(ctx context.Context, provider string, args []string) error {
	if !slices.Contains(fakeProviders, provider) {
		return usageError("no fake %q: the fakes are %s", provider, strings.Join(fakeProviders, ", "))
	}
	op := ""
	if len(args) > 0 {
		op, args = args[0], args[1:]
		if !controlName(op) {
			return usageError("%q is not an operation name (lower case letters, digits and _)", op)
		}
	}
	params := map[string]string{}
	for _, kv := range args {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || !controlName(k) {
			return usageError("%q is not KEY=VALUE (KEY: lower case letters, digits and _)", kv)
		}
		if _, dup := params[k]; dup {
			return usageError("%s given twice", k)
		}
		params[k] = v
	}
	if err := a.checkEnv(); err != nil {
		return err
	}
	rootVar := fakeURLVar(provider)
	root := a.env(rootVar)
	if root == "" {
		return usageError("%s is not set: start \"payments fake\" and pass --env-file payments-fake.env", rootVar)
	}
	u, err := url.Parse(root)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return usageError("%s: not an https:// URL", rootVar)
	}
	caPath := a.env(envCAFile)
	if caPath == "" {
		return usageError("%s is not set: it names the CA bundle \"payments fake\" wrote", envCAFile)
	}
	pem, err := readSmallFile(caPath)
	if err != nil {
		return withCode(ExitBadInput, fmt.Errorf("%s: %w", envCAFile, err))
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return usageError("%s: %s holds no PEM certificate", envCAFile, caPath)
	}
	hc := &http.Client{
		Timeout: 2 * time.Minute, // notify and callbacks wait for the receiver
		Transport: &http.Transport{
			TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12},
			Proxy:           nil,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	defer hc.CloseIdleConnections()

	target := strings.TrimSuffix(root, "/") + fakeControlPrefix + op
	var req *http.Request
	if op == "" {
		req, err = http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	} else {
		body, _ := json.Marshal(params)
		req, err = http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
		if req != nil {
			req.Header.Set("Content-Type", "application/json")
		}
	}
	if err != nil {
		return usageError("%s: %v", rootVar, err)
	}
	resp, err := hc.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return withCode(ExitError, fmt.Errorf("fake %s: %w", provider, err))
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxControlAnswer+1))
	if err != nil {
		return withCode(ExitError, fmt.Errorf("fake %s: reading the answer: %w", provider, err))
	}
	if len(data) > maxControlAnswer {
		return withCode(ExitError, fmt.Errorf("fake %s: the answer is over %d bytes", provider, maxControlAnswer))
	}
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Error string `json:"error"`
		}
		msg := strings.TrimSpace(string(data[:min(len(data), 512)]))
		if json.Unmarshal(data, &e) == nil && e.Error != "" {
			msg = e.Error
		}
		code := ExitError
		switch resp.StatusCode {
		case http.StatusBadRequest, http.StatusMethodNotAllowed, http.StatusRequestEntityTooLarge:
			code = ExitBadInput
		case http.StatusNotFound:
			code = ExitNotFound
		}
		return withCode(code, fmt.Errorf("fake %s: %s (HTTP %d)", provider, msg, resp.StatusCode))
	}
	if a.jsonOut {
		var out bytes.Buffer
		if err := json.Indent(&out, data, "", "  "); err != nil {
			return withCode(ExitError, fmt.Errorf("fake %s: the answer is not JSON", provider))
		}
		out.WriteByte('\n')
		_, err := a.out.Write(out.Bytes())
		return err
	}
	v, err := decodeOrdered(data)
	if err != nil {
		return withCode(ExitError, fmt.Errorf("fake %s: the answer is not JSON", provider))
	}
	if op == "" {
		v = controlIndexTable(v)
	}
	return a.emit(nil, func(w io.Writer) { printOrdered(w, v) })
}

func controlName(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// object is a JSON object with its keys in the order they came.
type object []field

type field struct {
	key string
	val any // object, []any, json.Number, string, bool or nil
}

// decodeOrdered decodes one JSON text, keeping the order of object keys
// (the fakes write their fields in a meaningful order).
func decodeOrdered(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	v, err := decodeValue(dec, 0)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("trailing data")
	}
	return v, nil
}

func decodeValue(dec *json.Decoder, depth int) (any, error) {
	if depth > 64 {
		return nil, errors.New("nested too deep")
	}
	t, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch t := t.(type) {
	case json.Delim:
		switch t {
		case '{':
			var o object
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return nil, err
				}
				k, _ := kt.(string)
				v, err := decodeValue(dec, depth+1)
				if err != nil {
					return nil, err
				}
				o = append(o, field{k, v})
			}
			_, err := dec.Token()
			return o, err
		case '[':
			arr := []any{}
			for dec.More() {
				v, err := decodeValue(dec, depth+1)
				if err != nil {
					return nil, err
				}
				arr = append(arr, v)
			}
			_, err := dec.Token()
			return arr, err
		}
		return nil, errors.New("unexpected delimiter")
	default:
		return t, nil
	}
}

// controlIndexTable is the index's ops list, the part worth a table.
func controlIndexTable(v any) any {
	if o, ok := v.(object); ok {
		for _, f := range o {
			if f.key == "ops" {
				return f.val
			}
		}
	}
	return v
}

// printOrdered prints an object as KEY VALUE rows, an array of objects as
// a table whose columns are the first object's keys, anything else as it
// is.
func printOrdered(w io.Writer, v any) {
	switch v := v.(type) {
	case object:
		for _, f := range v {
			row(w, f.key, scalarText(f.val))
		}
	case []any:
		if len(v) == 0 {
			fmt.Fprintln(w, "(none)")
			return
		}
		first, ok := v[0].(object)
		if !ok {
			for _, x := range v {
				row(w, scalarText(x))
			}
			return
		}
		head := make([]any, len(first))
		for i, f := range first {
			head[i] = strings.ToUpper(f.key)
		}
		row(w, head...)
		for _, x := range v {
			o, _ := x.(object)
			cells := make([]any, len(first))
			for i, f := range first {
				cells[i] = ""
				for _, g := range o {
					if g.key == f.key {
						cells[i] = scalarText(g.val)
					}
				}
			}
			row(w, cells...)
		}
	default:
		row(w, scalarText(v))
	}
}

// scalarText renders a value for a table cell; objects and arrays as
// compact JSON.
func scalarText(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	case json.Number:
		return v.String()
	case bool:
		return strconv.FormatBool(v)
	case []any:
		parts := make([]string, len(v))
		for i, x := range v {
			parts[i] = scalarJSON(x)
		}
		return "[" + strings.Join(parts, ",") + "]"
	case object:
		parts := make([]string, len(v))
		for i, f := range v {
			k, _ := json.Marshal(f.key)
			parts[i] = string(k) + ":" + scalarJSON(f.val)
		}
		return "{" + strings.Join(parts, ",") + "}"
	}
	return fmt.Sprint(v)
}

func scalarJSON(v any) string {
	if s, ok := v.(string); ok {
		b, _ := json.Marshal(s)
		return string(b)
	}
	if v == nil {
		return "null"
	}
	return scalarText(v)
}
