package cli

import (
	"errors"

	"github.com/spf13/cobra"
)

// reconcileCommand is the reconcile command (owned by its own file; a placeholder until it lands).
func (a *app) reconcileCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "reconcile",
		Short: "not built yet",
		RunE: func(*cobra.Command, []string) error {
			return errors.New("reconcile: not built yet")
		},
	}
}
