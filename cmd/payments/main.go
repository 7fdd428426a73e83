// Command payments is the on-call engineer's tool for the payments SDK:
// provider balances and payouts by URL, the payout ledger, notifications
// checked by hand, reconciliation of the ledger against the providers, and
// the SDK's fake providers served for integration tests.
//
//	go install github.com/paysdk/payments/cmd/payments@latest
//	payments --help
//
// Every command and its flags are described by "payments help COMMAND";
// shell completion scripts come from "payments completion bash|zsh|fish|powershell".
package main

import (
	"os"

	"github.com/paysdk/payments/internal/cli"
)

func main() { os.Exit(cli.Main()) }
