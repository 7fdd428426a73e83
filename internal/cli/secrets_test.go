package cli

import (
	"regexp"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// secretFlag matches a flag name that would take a secret. No command has
// one: flags show in ps and stay in shell history.
var secretFlag = regexp.MustCompile(`(?i)pass|secret|token|key|login|cred|auth|seed|pin|cvv|cvc|pan\b`)

// TestNoFlagTakesASecret walks every command of the tree: no flag's name
// says it takes a secret, and no flag's default value is one.
func TestNoFlagTakesASecret(t *testing.T) {
	root := newApp(IO{}).rootCommand()
	n := 0
	walk(root, func(c *cobra.Command) {
		for _, fs := range []*pflag.FlagSet{c.LocalFlags(), c.PersistentFlags()} {
			fs.VisitAll(func(f *pflag.Flag) {
				n++
				if secretFlag.MatchString(f.Name) {
					t.Errorf("%s --%s: a flag named like a secret (flags show in ps and shell history: read it from the environment or an --env-file)", c.CommandPath(), f.Name)
				}
			})
		}
	})
	if n < 10 {
		t.Fatalf("walked %d flags: the tree is not what this test thinks", n)
	}
}
