package cli

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/ledger"
	"github.com/paysdk/payments/ledger/pgstore"
	"github.com/paysdk/payments/ledger/sqlitestore"
	"github.com/paysdk/payments/payin"
	_ "github.com/paysdk/payments/payin/paykeeperpayin" // registers paykeeper:// for payin.Open
	_ "github.com/paysdk/payments/payin/royalpaypayin"  // registers royalpay:// for payin.Open
	"github.com/paysdk/payments/payout"
	_ "github.com/paysdk/payments/payout/popolnipayout"  // registers popolni://
	_ "github.com/paysdk/payments/payout/qiwipayout"     // registers qiwitopup://
	_ "github.com/paysdk/payments/payout/royalpaypayout" // registers royalpay:// for payout.Open
)

// The command's own variables.
const (
	envEnvFile = "PAYMENTS_ENV_FILE"
	envCAFile  = "PAYMENTS_CA_FILE"
	envStore   = "PAYMENTS_STORE"
)

// maxEnvFile caps an env file (and a CA file): they are small.
const maxEnvFile = 1 << 20

// lookupEnv reads a variable: the env files' value first (they were named
// for this run), then the environment's.
func (a *app) lookupEnv(name string) (string, bool) {
	if a.fileEnv == nil && a.envErr == nil {
		a.fileEnv, a.envErr = a.readEnvFiles()
	}
	if v, ok := a.fileEnv[name]; ok {
		return v, true
	}
	return a.osEnv(name)
}

// env is lookupEnv's value, "" when unset.
func (a *app) env(name string) string {
	v, _ := a.lookupEnv(name)
	return v
}

// checkEnv reads the env files now, so that a bad one is refused (exit 2)
// before anything else happens.
func (a *app) checkEnv() error {
	a.lookupEnv("")
	return a.envErr
}

func (a *app) readEnvFiles() (map[string]string, error) {
	var files []string
	if v, ok := a.osEnv(envEnvFile); ok && v != "" {
		files = append(files, strings.Split(v, string(os.PathListSeparator))...)
	}
	files = append(files, a.envFiles...)
	out := map[string]string{}
	for _, f := range files {
		if f == "" {
			continue
		}
		if err := parseEnvFile(f, out); err != nil {
			return map[string]string{}, withCode(ExitBadInput, err)
		}
	}
	return out, nil
}

// parseEnvFile reads KEY=VALUE lines into out: blank lines and lines
// starting with # are skipped, "export " before a key is allowed, a value
// may be in double quotes (Go escapes) or single quotes (literal). No error
// shows a value: it may be a secret.
func parseEnvFile(path string, out map[string]string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("env file: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxEnvFile+1))
	if err != nil {
		return fmt.Errorf("env file %s: %w", path, err)
	}
	if len(data) > maxEnvFile {
		return fmt.Errorf("env file %s: larger than %d bytes", path, maxEnvFile)
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64<<10), maxEnvFile)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		line = strings.TrimPrefix(line, "export ")
		k, v, ok := strings.Cut(line, "=")
		k = strings.TrimSpace(k)
		if !ok || !envName(k) {
			return fmt.Errorf("env file %s:%d: not a KEY=VALUE line (KEY: letters, digits and _, not starting with a digit)", path, n)
		}
		v = strings.TrimSpace(v)
		switch {
		case len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"':
			u, err := strconv.Unquote(v)
			if err != nil {
				return fmt.Errorf("env file %s:%d: %s: a bad double-quoted value", path, n, k)
			}
			v = u
		case len(v) >= 2 && v[0] == '\'' && v[len(v)-1] == '\'':
			v = v[1 : len(v)-1]
		}
		out[k] = v
	}
	return sc.Err()
}

func envName(s string) bool {
	if s == "" || (s[0] >= '0' && s[0] <= '9') {
		return false
	}
	for _, c := range s {
		if !(c == '_' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// openOptions are the options every opener gets: the environment (env
// files first), and the CA bundle of PAYMENTS_CA_FILE.
func (a *app) openOptions() ([]payments.OpenOption, error) {
	if err := a.checkEnv(); err != nil {
		return nil, err
	}
	opts := []payments.OpenOption{payments.OpenEnv(a.lookupEnv)}
	if path := a.env(envCAFile); path != "" {
		pem, err := readSmallFile(path)
		if err != nil {
			return nil, withCode(ExitBadInput, fmt.Errorf("%s: %w", envCAFile, err))
		}
		opts = append(opts, payments.OpenClientOptions(payments.WithRootCAsPEM(pem)))
	}
	return opts, nil
}

func readSmallFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxEnvFile+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxEnvFile {
		return nil, fmt.Errorf("%s: larger than %d bytes", path, maxEnvFile)
	}
	return data, nil
}

// openPayout opens a payout client for the provider URL rawURL.
func (a *app) openPayout(ctx context.Context, rawURL string) (*payout.Client, error) {
	opts, err := a.openOptions()
	if err != nil {
		return nil, err
	}
	return payout.Open(ctx, rawURL, opts...)
}

// openPayin opens a pay-in client for the provider URL rawURL.
func (a *app) openPayin(ctx context.Context, rawURL string) (*payin.Client, error) {
	opts, err := a.openOptions()
	if err != nil {
		return nil, err
	}
	return payin.Open(ctx, rawURL, opts...)
}

// storeWhere is PAYMENTS_STORE, or the default SQLite file.
func (a *app) storeWhere() string {
	if w := a.env(envStore); w != "" {
		return w
	}
	return "payouts.db"
}

func isPostgres(where string) bool {
	return strings.HasPrefix(where, "postgres://") || strings.HasPrefix(where, "postgresql://")
}

// openStore opens the ledger's store of PAYMENTS_STORE for reading: a
// SQLite file must exist already (a read never makes an empty ledger), and
// is opened shared, so that it can be read while a job works it.
func (a *app) openStore(ctx context.Context) (ledger.Store, error) {
	if err := a.checkEnv(); err != nil {
		return nil, err
	}
	where := a.storeWhere()
	if isPostgres(where) {
		return pgstore.Open(ctx, where, pgstore.Options{})
	}
	if where != sqlitestore.Memory {
		if _, err := os.Stat(where); err != nil {
			return nil, withCode(ExitBadInput, fmt.Errorf("no ledger at %s (%v): set %s to the ledger's SQLite file or postgres:// URL", where, err, envStore))
		}
	}
	return sqlitestore.Open(ctx, where)
}
