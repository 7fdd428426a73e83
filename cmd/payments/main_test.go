package main

import (
	"errors"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/paysdk/payments/internal/cli"
	"github.com/paysdk/payments/internal/pgtest"
)

// TestMain lets the scripts run "payments" as a real program: testscript
// re-executes this test binary under that name.
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"payments": func() { os.Exit(cli.Main()) },
	})
}

// TestScripts runs testdata/script/*.txtar: the command as a user runs it,
// against "payments fake" started by the script, and the ledger on SQLite
// (and on PostgreSQL where a script asks for it, see the pg condition).
func TestScripts(t *testing.T) {
	testscript.Run(t, scriptParams(t, "testdata/script"))
}

// TestScriptsPostgres runs testdata/pg/*.txtar with PG_STORE set to a DSN
// of a fresh schema of the test database (internal/pgtest), one per script:
// the scripts set PAYMENTS_STORE=$PG_STORE. Without PostgreSQL it skips
// loudly, and fails under CI=true.
func TestScriptsPostgres(t *testing.T) {
	pgtest.DSN(t) // skips or fails here when there is no database
	p := scriptParams(t, "testdata/pg")
	setup := p.Setup
	p.Setup = func(e *testscript.Env) error {
		e.Vars = append(e.Vars, "PG_STORE="+pgtest.DSN(t))
		return setup(e)
	}
	testscript.Run(t, p)
}

func scriptParams(t *testing.T, dir string) testscript.Params {
	return testscript.Params{
		Dir:                 dir,
		RequireExplicitExec: true,
		Setup: func(e *testscript.Env) error {
			// The scripts see none of the developer's provider variables.
			e.Vars = append(e.Vars, "HOME="+e.WorkDir, "PAYMENTS_STORE=", "PAYMENTS_ENV_FILE=", "PAYMENTS_CA_FILE=")
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			// status N PROGRAM ARGS...: run PROGRAM and require exit status N
			// (the documented codes); stdout and stderr are kept for the
			// next stdout/stderr checks, as with exec.
			"status": func(ts *testscript.TestScript, neg bool, args []string) {
				if len(args) < 2 || neg {
					ts.Fatalf("usage: status N PROGRAM [ARGS...]")
				}
				want, err := strconv.Atoi(args[0])
				if err != nil {
					ts.Fatalf("status: %q is not a number", args[0])
				}
				got := 0
				if err := ts.Exec(args[1], args[2:]...); err != nil {
					var ee *exec.ExitError
					if !errors.As(err, &ee) {
						ts.Fatalf("status: %v", err)
					}
					got = ee.ExitCode()
				}
				if got != want {
					ts.Fatalf("exit status %d, want %d", got, want)
				}
			},
			// loadenv FILE: set the script's variables from FILE's KEY=VALUE
			// lines (the env file of "payments fake"), so that a script can
			// check that no output holds a credential: ! stdout $POPOLNI_PASSWORD.
			"loadenv": func(ts *testscript.TestScript, neg bool, args []string) {
				if len(args) != 1 || neg {
					ts.Fatalf("usage: loadenv FILE")
				}
				for _, line := range strings.Split(ts.ReadFile(args[0]), "\n") {
					line = strings.TrimSpace(line)
					if line == "" || strings.HasPrefix(line, "#") {
						continue
					}
					k, v, ok := strings.Cut(line, "=")
					if !ok {
						ts.Fatalf("loadenv: %s: not a KEY=VALUE line", args[0])
					}
					if u, err := strconv.Unquote(v); err == nil {
						v = u
					}
					ts.Setenv(k, v)
				}
			},
			// waitmatch REGEXP PROGRAM ARGS...: run PROGRAM again and again
			// (up to 90 s) until it exits 0 with a line of its stdout
			// matching REGEXP, e.g. until a fake has received some requests.
			"waitmatch": func(ts *testscript.TestScript, neg bool, args []string) {
				if len(args) < 2 || neg {
					ts.Fatalf("usage: waitmatch REGEXP PROGRAM [ARGS...]")
				}
				re, err := regexp.Compile("(?m)" + args[0])
				if err != nil {
					ts.Fatalf("waitmatch: %v", err)
				}
				deadline := time.Now().Add(90 * time.Second)
				for {
					if ts.Exec(args[1], args[2:]...) == nil && re.MatchString(ts.ReadFile("stdout")) {
						return
					}
					if time.Now().After(deadline) {
						ts.Fatalf("waitmatch: no line of %s's output matched %q within 90 s; last:\n%s", args[1], args[0], ts.ReadFile("stdout"))
					}
					time.Sleep(100 * time.Millisecond)
				}
			},
			// waitfile FILE: wait (up to 60 s) until FILE exists and is not
			// empty, e.g. the env file of a "payments fake" started in the
			// background.
			"waitfile": func(ts *testscript.TestScript, neg bool, args []string) {
				if len(args) != 1 {
					ts.Fatalf("usage: waitfile FILE")
				}
				path := ts.MkAbs(args[0])
				deadline := time.Now().Add(60 * time.Second)
				for {
					if st, err := os.Stat(path); err == nil && st.Size() > 0 {
						return
					}
					if time.Now().After(deadline) {
						ts.Fatalf("%s did not appear within 60 s", args[0])
					}
					time.Sleep(20 * time.Millisecond)
				}
			},
		},
	}
}
