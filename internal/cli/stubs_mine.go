package cli

import (
	"errors"

	"github.com/spf13/cobra"
)

func (a *app) balanceCommand() *cobra.Command {
	return &cobra.Command{Use: "balance URL", Args: cobra.ExactArgs(1), RunE: func(*cobra.Command, []string) error { return errors.New("not built yet") }}
}
func (a *app) payinCommand() *cobra.Command     { return &cobra.Command{Use: "payin"} }
func (a *app) paykeeperCommand() *cobra.Command { return &cobra.Command{Use: "paykeeper"} }
func (a *app) royalpayCommand() *cobra.Command  { return &cobra.Command{Use: "royalpay"} }
func (a *app) payoutCommand() *cobra.Command    { return &cobra.Command{Use: "payout"} }
func (a *app) urlsHelpTopic() *cobra.Command    { return &cobra.Command{Use: "urls"} }
