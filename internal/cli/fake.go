package cli

import (
	"errors"

	"github.com/spf13/cobra"
)

// fakeCommand is the fake command (owned by its own file; a placeholder until it lands).
func (a *app) fakeCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "fake",
		Short: "not built yet",
		RunE: func(*cobra.Command, []string) error {
			return errors.New("fake: not built yet")
		},
	}
}
