package cli

import (
	"errors"

	"github.com/spf13/cobra"
)

// notifyCommand is the notify command (owned by its own file; a placeholder until it lands).
func (a *app) notifyCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "notify",
		Short: "not built yet",
		RunE: func(*cobra.Command, []string) error {
			return errors.New("notify: not built yet")
		},
	}
}
