package cli

import (
	"context"
	"errors"
	"fmt"

	"github.com/paysdk/payments"
	"github.com/paysdk/payments/payout"
)

// The exit statuses of every command. They are part of the command's
// interface: scripts branch on them (see exitCodesHelp).
const (
	ExitOK             = 0   // done; for reconcile and notify verify: no difference, every check passed
	ExitError          = 1   // the provider, the store, the network: nothing says what happened to a payout
	ExitBadInput       = 2   // the command line, a variable, a URL, a file: refused before anything was sent
	ExitRefused        = 3   // the provider refused: no money moved under this request
	ExitOutcomeUnknown = 4   // the provider may have the payout: settle it with "payout wait", never a new ref
	ExitNotFound       = 5   // the provider or the ledger knows no such reference
	ExitDifference     = 6   // reconcile found a difference; notify verify found a check that failed
	ExitInterrupted    = 130 // interrupted (Ctrl-C, SIGTERM) before the command was done
)

// exitCodesHelp is the table the root command's help shows.
const exitCodesHelp = `Exit status:
  0    done (reconcile: no difference; notify verify: every check passed)
  1    an error: the provider, the store or the network did not answer as documented
  2    bad input: the command line, a variable, a URL or a file; nothing was sent
  3    refused by the provider: no money moved under this request
  4    outcome unknown: the provider may have the payout; settle it with
       "payments payout wait URL REF", never by sending under a new reference
  5    not found: the provider or the ledger knows no such reference
  6    a difference (reconcile) or a failed check (notify verify)
  130  interrupted before the command was done`

// exitError is an error that carries its exit status. Commands return it
// when the status is not what the error's kind would give (a difference
// found, a check failed) or when the message is already printed.
type exitError struct {
	code int
	err  error // nil: nothing more to print
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.err.Error()
}

func (e *exitError) Unwrap() error { return e.err }

// withCode returns err with the exit status code.
func withCode(code int, err error) error { return &exitError{code: code, err: err} }

// silent is an exit status whose message the command printed already.
func silent(code int) error { return &exitError{code: code} }

// usageError is a command-line mistake (exit 2).
func usageError(format string, a ...any) error {
	return withCode(ExitBadInput, fmt.Errorf(format, a...))
}

// exitCode maps an error to the documented exit status.
func exitCode(err error) int {
	var ee *exitError
	var ve *payments.ValidationError
	switch {
	case err == nil:
		return ExitOK
	case errors.As(err, &ee):
		return ee.code
	case errors.Is(err, payments.ErrOutcomeUnknown):
		// Before any other kind: an unknown outcome is never a refusal,
		// whatever it wraps.
		return ExitOutcomeUnknown
	case errors.Is(err, context.Canceled):
		return ExitInterrupted
	case errors.As(err, &ve):
		return ExitBadInput
	case errors.Is(err, payments.ErrNotFound):
		return ExitNotFound
	case payout.Refusal(err):
		return ExitRefused
	}
	return ExitError
}
