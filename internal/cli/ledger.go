package cli

import (
	"errors"

	"github.com/spf13/cobra"
)

// ledgerCommand is the ledger command (owned by its own file; a placeholder until it lands).
func (a *app) ledgerCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "ledger",
		Short: "not built yet",
		RunE: func(*cobra.Command, []string) error {
			return errors.New("ledger: not built yet")
		},
	}
}
